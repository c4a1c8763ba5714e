//! SQL over the devserver's materialization service: the seed tutorial's join in SQL gives the
//! first example's numbers, and every query equals what the runtime's own queries give, on a
//! server whose row cap makes every scan page by id ranges, in a new row order per request.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use arrow_array::{Array, Int64Array, RecordBatch, StringArray};
use cave_devserver::{BackgroundServer, RowOrder, ServerConfig};
use cave_runtime::Client;
use cave_runtime::cave_schema::Snapshot;
use cave_sql::Source;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/minnie65_public");

type Server = (BackgroundServer, std::path::PathBuf);

/// A devserver capped at 5,000 rows, rows in a new order per request, logging its requests to
/// a file of its own (`name`).
fn start(name: &str) -> Server {
    let log = std::env::temp_dir().join(format!("cave-sql-{name}-{}.jsonl", std::process::id()));
    let mut config = ServerConfig::new(SNAPSHOT);
    config.row_limit = 5_000;
    config.row_order = RowOrder::Random { seed: 17 };
    config.log_requests = Some(log.clone());
    // Started on a thread of its own: it runs its own runtime, which cannot start on a thread
    // of the test's.
    let server = std::thread::spawn(move || BackgroundServer::start(config))
        .join()
        .expect("the devserver's thread")
        .expect("the devserver starts");
    (server, log)
}

/// The server most tests share (kept for the whole test binary: a server must not be dropped
/// inside a runtime).
fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| start("shared"))
}

/// A server for the test that reads every request it sent from the log (the other tests run
/// at the same time).
fn alone() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| start("alone"))
}

fn client() -> Client {
    client_of(server())
}

fn client_of(server: &Server) -> Client {
    Client::builder("minnie65_public")
        .server(&server.0.base_url)
        .token("test-token")
        .token_search(None, false)
        .progress(false)
        .build()
        .unwrap()
}

async fn sql(query: &str) -> Vec<RecordBatch> {
    sql_on(server(), query).await
}

async fn sql_on(server: &Server, query: &str) -> Vec<RecordBatch> {
    let snapshot = Snapshot::load(SNAPSHOT).unwrap();
    let ctx = cave_sql::session(&client_of(server), &snapshot, Source::Version(1300)).unwrap();
    ctx.sql(query)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"))
}

/// `(key, count)` rows of a two-column answer.
fn counts(batches: &[RecordBatch]) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for b in batches {
        let keys = b
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .expect("a string key");
        let n = b
            .column(1)
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("a count");
        for i in 0..b.num_rows() {
            out.insert(keys.value(i).to_string(), n.value(i));
        }
    }
    out
}

/// The request log's query bodies since `from` lines.
fn bodies_since(server: &Server, from: usize) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(&server.1).unwrap_or_default();
    text.lines()
        .skip(from)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["path"].as_str().is_some_and(|p| p.ends_with("/query")))
        .filter_map(|l| serde_json::from_str(l["body"].as_str()?).ok())
        .collect()
}

fn log_lines(server: &Server) -> usize {
    std::fs::read_to_string(&server.1).map_or(0, |t| t.lines().count())
}

/// All rows of a runtime query (without DataFusion), at version 1300.
async fn whole(query: cave_runtime::TableQuery) -> RecordBatch {
    query
        .version(1300)
        .query(&client())
        .await
        .unwrap()
        .concat()
        .unwrap()
}

/// A column of `batch` as its array type.
fn column<A: Array + Clone + 'static>(batch: &RecordBatch, name: &str) -> A {
    batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_any()
        .downcast_ref::<A>()
        .unwrap_or_else(|| panic!("column {name} of another type"))
        .clone()
}

/// The seed tutorial in SQL (the example's).
const TUTORIAL: &str = include_str!("../examples/sql/tutorial.sql");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tutorial_join_in_sql_gives_the_first_examples_numbers() {
    let per_type = counts(&sql(TUTORIAL).await);
    // The first example's figures (cave-runtime/tests/tutorial.rs).
    assert_eq!(per_type["23P"], 571, "{per_type:?}");
    assert_eq!(per_type.values().sum::<i64>(), 1723);

    // The same computed from the runtime's own queries, without DataFusion.
    let types = whole(cave_runtime::TableQuery::new(
        "aibs_metamodel_celltypes_v661",
    ))
    .await;
    let roots: Int64Array = column(&types, "pt_root_id");
    let kinds: StringArray = column(&types, "cell_type");
    let mut per_root: BTreeMap<i64, usize> = BTreeMap::new();
    for i in 0..roots.len() {
        if roots.is_valid(i) {
            *per_root.entry(roots.value(i)).or_default() += 1;
        }
    }
    let type_of: BTreeMap<i64, String> = (0..roots.len())
        .filter(|&i| roots.is_valid(i) && per_root[&roots.value(i)] == 1)
        .map(|i| (roots.value(i), kinds.value(i).to_string()))
        .collect();
    let proofread = whole(
        cave_runtime::TableQuery::new("proofreading_status_and_strategy")
            .equal("status_axon", &true),
    )
    .await;
    let p: Int64Array = column(&proofread, "pt_root_id");
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for i in 0..p.len() {
        if let Some(t) = p.is_valid(i).then(|| type_of.get(&p.value(i))).flatten() {
            *expected.entry(t.clone()).or_default() += 1;
        }
    }
    assert_eq!(per_type, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_the_service_applies_are_sent_and_the_rest_applied_here() {
    let from = log_lines(alone());
    let rows = sql_on(
        alone(),
        "SELECT id, pt_root_id FROM proofreading_status_and_strategy \
         WHERE status_axon = true AND strategy_axon IN ('axon_fully_extended', 'axon_interareal') \
         AND id >= 0 AND pt_position_x > 0 AND pt_position_x < 2000000 \
         AND strategy_dendrite <> 'none'",
    )
    .await;
    let sql_ids: Vec<i64> = ids(&rows);
    let bodies = bodies_since(alone(), from);
    assert!(!bodies.is_empty());
    for body in &bodies {
        let t = "proofreading_status_and_strategy";
        assert_eq!(body["filter_equal_dict"][t]["status_axon"], true, "{body}");
        assert_eq!(
            body["filter_in_dict"][t]["strategy_axon"],
            serde_json::json!(["axon_fully_extended", "axon_interareal"]),
            "{body}"
        );
        assert_eq!(
            body["filter_notin_dict"][t]["strategy_dendrite"],
            serde_json::json!(["none"]),
            "{body}"
        );
        assert!(
            body["filter_spatial_dict"][t]["pt_position"].is_array(),
            "{body}"
        );
        let select = body["select_columns"][t]
            .as_array()
            .or(body["select_columns"].as_array());
        assert!(select.is_some(), "{body}");
    }
    // The same rows from the runtime, filtered here.
    let all = whole(cave_runtime::TableQuery::new(
        "proofreading_status_and_strategy",
    ))
    .await;
    let id: Int64Array = column(&all, "id");
    let axon: arrow_array::BooleanArray = column(&all, "status_axon");
    let sa: StringArray = column(&all, "strategy_axon");
    let sd: StringArray = column(&all, "strategy_dendrite");
    let x: arrow_array::Int32Array = column(&all, "pt_position_x");
    let mut expected: Vec<i64> = (0..all.num_rows())
        .filter(|&i| {
            axon.is_valid(i)
                && axon.value(i)
                && sa.is_valid(i)
                && ["axon_fully_extended", "axon_interareal"].contains(&sa.value(i))
                && sd.is_valid(i)
                && sd.value(i) != "none"
                && x.is_valid(i)
                && x.value(i) > 0
                && x.value(i) < 2_000_000
        })
        .map(|i| id.value(i))
        .collect();
    expected.sort_unstable();
    assert!(!expected.is_empty());
    assert_eq!(sql_ids, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_tables_are_joined_and_bare_and_counts_need_no_columns() {
    let joined =
        sql("SELECT COUNT(*) AS n, COUNT(pt_root_id) AS roots FROM aibs_metamodel_celltypes_v661")
            .await;
    let bare = sql(
        "SELECT COUNT(*) AS n, COUNT(target_id) AS targets FROM bare.aibs_metamodel_celltypes_v661",
    )
    .await;
    let first = |b: &[RecordBatch], c: usize| {
        b[0].column(c)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0)
    };
    assert_eq!(first(&joined, 0), 94_014);
    assert_eq!(first(&bare, 0), 94_014);
    assert_eq!(first(&bare, 1), 94_014);
    assert!(first(&joined, 1) > 90_000);
    // The bare table has no target columns.
    let snapshot = Snapshot::load(SNAPSHOT).unwrap();
    let ctx = cave_sql::session(&client(), &snapshot, Source::Version(1300)).unwrap();
    let e = ctx
        .sql("SELECT pt_root_id FROM bare.aibs_metamodel_celltypes_v661")
        .await
        .expect_err("no such column")
        .to_string();
    assert!(e.contains("pt_root_id"), "{e}");
    // LIMIT is sent when every filter is.
    let from = log_lines(server());
    let few = sql("SELECT id FROM nucleus_detection_v0 WHERE volume > 0 LIMIT 7").await;
    assert_eq!(few.iter().map(RecordBatch::num_rows).sum::<usize>(), 7);
    let limited = sql("SELECT id FROM nucleus_detection_v0 WHERE pt_root_id > 0 LIMIT 7").await;
    assert_eq!(limited.iter().map(RecordBatch::num_rows).sum::<usize>(), 7);
    assert!(
        bodies_since(server(), from).iter().any(|b| b["limit"] == 7),
        "{:?}",
        bodies_since(server(), from)
    );
}

/// The first column's ids, sorted.
fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    let mut out: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
            a.values().to_vec()
        })
        .collect();
    out.sort_unstable();
    out
}

/// `cave-sql` (the program behind `cave sql`): a table printed, the same rows written to
/// Parquet and CSV, and a clear error with exit code 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_prints_and_writes_the_rows() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_cave-sql"))
            .args([
                "--server",
                &server().0.base_url,
                "--snapshot",
                SNAPSHOT,
                "--version",
                "1300",
            ])
            .args(args)
            .env("CAVE_TOKEN", "test-token")
            .output()
            .expect("cave-sql runs")
    };
    let query = "SELECT strategy_axon, COUNT(*) AS n FROM proofreading_status_and_strategy \
                 WHERE status_axon = true GROUP BY strategy_axon ORDER BY n DESC";
    let out = run(&[query]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("| axon_partially_extended | 1459 |"),
        "{text}"
    );
    assert!(text.contains("4 rows"), "{text}");

    let dir = std::env::temp_dir().join(format!("cave-sql-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ctx = cave_sql::datafusion::prelude::SessionContext::new();
    for ext in ["parquet", "csv"] {
        let file = dir.join(format!("rows.{ext}"));
        let out = run(&[
            "--out",
            file.to_str().unwrap(),
            "SELECT id FROM nucleus_detection_v0 WHERE pt_position_x < 200000",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        let frame = if ext == "parquet" {
            ctx.read_parquet(file.to_str().unwrap(), Default::default())
                .await
                .unwrap()
        } else {
            ctx.read_csv(file.to_str().unwrap(), Default::default())
                .await
                .unwrap()
        };
        let back = frame.collect().await.unwrap();
        let n: usize = back.iter().map(RecordBatch::num_rows).sum();
        assert!(
            n > 0 && said.contains(&format!("wrote {n} rows")),
            "{said} vs {n}"
        );
        let direct = sql("SELECT id FROM nucleus_detection_v0 WHERE pt_position_x < 200000").await;
        assert_eq!(ids(&back), ids(&direct), "{ext}");
    }
    let _ = std::fs::remove_dir_all(&dir);

    let bad = run(&["--delta", "no-location", "SELECT 1"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("give NAME=LOCATION"));
    let bad = run(&["SELECT nope FROM nucleus_detection_v0"]);
    assert_eq!(bad.status.code(), Some(1));
    let e = String::from_utf8_lossy(&bad.stderr);
    assert!(e.starts_with("error: ") && e.contains("nope"), "{e}");
}

/// The seed tutorial's SQL, unchanged, on exports of its tables (the reference table
/// `aibs_metamodel_celltypes_v661` exported alone and joined with `nucleus_detection_v0`'s export
/// as the service joins it): the service's numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tutorial_join_runs_on_exports() {
    use cave_sql::datafusion::prelude::{SessionConfig, SessionContext};
    use cave_sql::delta::{ExportSpec, Partitioning, export, register_export_root};
    let out = std::env::temp_dir().join(format!("cave-sql-tutorial-{}", std::process::id()));
    for table in [
        "proofreading_status_and_strategy",
        "aibs_metamodel_celltypes_v661",
        "nucleus_detection_v0",
    ] {
        let spec = ExportSpec {
            buckets: 2,
            ..ExportSpec::new(table, Partitioning::Column("id".into()))
        };
        export(&client(), 1300, &spec, &out).await.unwrap();
    }
    let snapshot = Snapshot::load(SNAPSHOT).unwrap();
    // Tables named as on the service: the session's default schema is `export`.
    let ctx = SessionContext::new_with_config(
        SessionConfig::new().with_default_catalog_and_schema("datafusion", "export"),
    );
    let tables = register_export_root(&ctx, &out, "minnie65_public", 1300, Some(&snapshot))
        .await
        .unwrap();
    assert_eq!(tables.len(), 3);
    let on_exports = counts(&ctx.sql(TUTORIAL).await.unwrap().collect().await.unwrap());
    assert_eq!(on_exports["23P"], 571, "{on_exports:?}");
    assert_eq!(on_exports, counts(&sql(TUTORIAL).await));
    // The bare reference table is there too, without its target's columns.
    let bare = ctx
        .table("export_bare.aibs_metamodel_celltypes_v661")
        .await
        .unwrap();
    assert!(
        bare.schema()
            .field_with_unqualified_name("pt_root_id")
            .is_err()
    );
    // Typed rows of the reference table decode from its joined export, each with its target
    // row, and equal the typed query's but for the columns the export drops.
    let joined = ctx
        .sql("SELECT * FROM aibs_metamodel_celltypes_v661")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut from_export: Vec<minnie::AibsMetamodelCelltypesV661> =
        cave_runtime::rows_from_batches(&joined, None).unwrap();
    let mut from_query = client()
        .query(minnie::AibsMetamodelCelltypesV661::filter().version(1300))
        .await
        .unwrap()
        .into_vec();
    for r in &mut from_query {
        r.created = None;
        r.superceded_id = None;
        r.target.created = None;
    }
    from_export.sort_by_key(|r| r.id);
    from_query.sort_by_key(|r| r.id);
    assert!(from_export.len() > 100, "{}", from_export.len());
    assert_eq!(format!("{from_export:?}"), format!("{from_query:?}"));
    let _ = std::fs::remove_dir_all(&out);
}

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        tables = ["synapses_pni_2", "aibs_metamodel_celltypes_v661"]
    );
}

/// The exports of `synapses_pni_2` (written from the devserver's answers in CAVE's layout: by
/// `id`, by `pre_pt_root_id`, by the Morton code of `ctr_pt_position`, the other points WKB)
/// give the same rows as the service for the same SQL: the out-degree of the proofread cells,
/// and boxes on the Morton point and on a WKB point. Each query reads the export whose files
/// its filter skips; typed rows decode from the export's batches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_answer_the_same_sql_as_the_service() {
    use cave_sql::delta::{ExportSpec, Keyed, Partitioning, export, register_exports};
    let out = std::env::temp_dir().join(format!("cave-sql-export-{}", std::process::id()));
    let table = "synapses_pni_2";
    let mut written = Vec::new();
    for (by, buckets) in [
        (Partitioning::Column("id".into()), 4),
        (Partitioning::Column("pre_pt_root_id".into()), 8),
        (Partitioning::Morton, 8),
    ] {
        let spec = ExportSpec {
            buckets,
            ..ExportSpec::new(table, by)
        };
        written.push(export(&client(), 1300, &spec, &out).await.unwrap());
    }
    let base = out.join("minnie65_public/v1300/synapses_pni_2");
    let names: Vec<&str> = written.iter().map(|w| w.spec.as_str()).collect();
    assert_eq!(names, ["id", "pre_pt_root_id", "ctr_pt_position_morton"]);
    for w in &written {
        assert_eq!(w.dir, base.join(&w.spec));
        assert!(w.dir.join("_delta_log").is_dir());
        assert_eq!(w.rows, written[0].rows);
    }
    assert_eq!(written[1].bounds.len(), 7);
    // One folder per bucket, named as CAVE names them.
    let parts = |dir: &std::path::Path, prefix: &str| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with(prefix))
            })
            .count()
    };
    assert_eq!(parts(&written[1].dir, "pre_pt_root_id_partition="), 8);
    assert!(parts(&written[2].dir, "ctr_pt_position_morton_partition=") >= 2);

    let snapshot = Snapshot::load(SNAPSHOT).unwrap();
    let ctx = cave_sql::session(&client(), &snapshot, Source::Version(1300)).unwrap();
    let exports = register_exports(
        &ctx,
        "synapses_export",
        &out,
        "minnie65_public",
        1300,
        table,
    )
    .await
    .unwrap();
    // The raw export keeps pre/post positions as WKB; the table shows them as the service does.
    let raw = cave_sql::datafusion::prelude::SessionContext::new();
    cave_sql::delta::register_export(&raw, "one", written[0].dir.to_str().unwrap())
        .await
        .unwrap();
    let schema = |c: &cave_sql::datafusion::prelude::SessionContext, t: &str| {
        let c = c.clone();
        let t = t.to_string();
        async move {
            c.table(t.as_str())
                .await
                .unwrap()
                .schema()
                .as_arrow()
                .clone()
        }
    };
    let service_schema = schema(&ctx, table).await;
    let export_schema = schema(&ctx, "synapses_export").await;
    let named = |s: &arrow_schema::Schema| {
        s.fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect::<std::collections::BTreeSet<_>>()
    };
    let dropped = ["created", "deleted", "superceded_id"];
    let service_named: std::collections::BTreeSet<_> = named(&service_schema)
        .into_iter()
        .filter(|(n, _)| !dropped.contains(&n.as_str()))
        .collect();
    assert_eq!(named(&export_schema), service_named);
    assert_eq!(named(&schema(&raw, "one").await), service_named);

    let run = |q: String| {
        let ctx = ctx.clone();
        async move {
            ctx.sql(&q)
                .await
                .unwrap_or_else(|e| panic!("{q}: {e}"))
                .collect()
                .await
                .unwrap_or_else(|e| panic!("{q}: {e}"))
        }
    };
    let count = |b: &[RecordBatch]| {
        b[0].column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0)
    };
    let service_rows = count(&run(format!("SELECT COUNT(*) FROM {table}")).await);
    assert_eq!(written[0].rows as i64, service_rows);
    assert_eq!(
        count(&run("SELECT COUNT(*) FROM synapses_export".into()).await),
        service_rows
    );

    let out_degree = |t: &str| {
        format!(
            "SELECT pre_pt_root_id, COUNT(*) AS n FROM {t} \
             WHERE pre_pt_root_id IN (SELECT pt_root_id FROM proofreading_status_and_strategy WHERE status_axon = true) \
             GROUP BY pre_pt_root_id ORDER BY pre_pt_root_id"
        )
    };
    let pairs = |b: &[RecordBatch]| -> Vec<(i64, i64)> {
        b.iter()
            .flat_map(|b| {
                let k = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                let n = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
                (0..b.num_rows())
                    .map(|i| (k.value(i), n.value(i)))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let from_service = pairs(&run(out_degree(table)).await);
    assert!(from_service.len() > 10, "{}", from_service.len());
    assert_eq!(
        pairs(&run(out_degree("synapses_export")).await),
        from_service
    );

    // The same cells as a list: the `pre_pt_root_id` export is read, a few of its files.
    let roots: Vec<String> = from_service
        .iter()
        .take(5)
        .map(|(r, _)| r.to_string())
        .collect();
    let of_five = |t: &str| {
        format!(
            "SELECT pre_pt_root_id, COUNT(*) AS n FROM {t} WHERE pre_pt_root_id IN ({}) \
             GROUP BY pre_pt_root_id ORDER BY pre_pt_root_id",
            roots.join(", ")
        )
    };
    assert_eq!(
        pairs(&run(of_five("synapses_export")).await),
        from_service[..5]
    );
    let filter = |sql: &str| -> Vec<cave_sql::datafusion::prelude::Expr> {
        let plan = futures::executor::block_on(ctx.state().create_logical_plan(sql)).unwrap();
        let plan = ctx.state().optimize(&plan).unwrap();
        let mut found = Vec::new();
        use cave_sql::datafusion::common::tree_node::TreeNode;
        plan.apply(|node| {
            if let cave_sql::datafusion::logical_expr::LogicalPlan::TableScan(scan) = node
                && scan.table_name.table() == "synapses_export"
            {
                found.extend(scan.filters.iter().cloned());
            }
            Ok(cave_sql::datafusion::common::tree_node::TreeNodeRecursion::Continue)
        })
        .unwrap();
        found
    };
    let (chosen, _) = exports.choose(&filter(&of_five("synapses_export")));
    assert_eq!(chosen.keyed, Keyed::Column("pre_pt_root_id".into()));

    let in_box = |t: &str, p: &str| {
        format!(
            "SELECT id FROM {t} WHERE {p}_x BETWEEN 150000 AND 250000 \
             AND {p}_y BETWEEN 100000 AND 200000 AND {p}_z BETWEEN 15000 AND 22000"
        )
    };
    for point in ["ctr_pt_position", "post_pt_position"] {
        let a = ids(&run(in_box(table, point)).await);
        let b = ids(&run(in_box("synapses_export", point)).await);
        assert!(!a.is_empty());
        assert_eq!(a, b, "{point}");
    }
    let (chosen, range) = exports.choose(&filter(&in_box("synapses_export", "ctr_pt_position")));
    assert_eq!(chosen.keyed, Keyed::Morton("ctr_pt_position".into()));
    assert!(range.is_some());
    let (chosen, _) = exports.choose(&filter(&in_box("synapses_export", "post_pt_position")));
    assert_eq!(chosen.keyed, Keyed::Column("id".into()));

    // Typed rows decode from SQL's batches and equal the typed query's.
    let batches = run("SELECT * FROM synapses_pni_2 WHERE pre_pt_root_id IN (SELECT pt_root_id FROM proofreading_status_and_strategy WHERE status_axon = true)".into()).await;
    let mut from_sql: Vec<minnie::SynapsesPni2> =
        cave_runtime::rows_from_batches(&batches, None).unwrap();
    let proofread: Vec<cave_runtime::RootId> = from_service
        .iter()
        .map(|(r, _)| cave_runtime::RootId(*r))
        .collect();
    let mut from_query = client()
        .query(
            minnie::SynapsesPni2::filter()
                .pre_pt_root_id_in(proofread)
                .version(1300),
        )
        .await
        .unwrap()
        .into_vec();
    from_sql.sort_by_key(|r| r.id);
    from_query.sort_by_key(|r| r.id);
    assert!(from_sql.len() > 100, "{}", from_sql.len());
    assert_eq!(format!("{from_sql:?}"), format!("{from_query:?}"));
    // The command line reads the same exports as `export.<table>`.
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_cave-sql"))
        .args([
            "--server",
            &server().0.base_url,
            "--snapshot",
            SNAPSHOT,
            "--version",
            "1300",
        ])
        .arg("--exports")
        .arg(&out)
        .arg(of_five("export.synapses_pni_2"))
        .env("CAVE_TOKEN", "test-token")
        .output()
        .expect("cave-sql runs");
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let (root, n) = from_service[0];
    assert!(text.contains(&format!("| {root} | {n} ")), "{text}");
    assert!(text.contains("5 rows"), "{text}");

    // The same typed rows decode from the export's batches: every column equal to the typed
    // query's, but `created` and `superceded_id`, which the export drops (`None`).
    let batches = run("SELECT * FROM synapses_export WHERE pre_pt_root_id IN (SELECT pt_root_id FROM proofreading_status_and_strategy WHERE status_axon = true)".into()).await;
    let mut from_export: Vec<minnie::SynapsesPni2> =
        cave_runtime::rows_from_batches(&batches, None).unwrap();
    from_export.sort_by_key(|r| r.id);
    assert!(
        from_export
            .iter()
            .all(|r| r.created.is_none() && r.superceded_id.is_none())
    );
    for r in &mut from_query {
        assert!(r.created.is_some());
        r.created = None;
        r.superceded_id = None;
    }
    assert_eq!(format!("{from_export:?}"), format!("{from_query:?}"));
    // A batch without one of the other columns is still an error naming it.
    let no_valid = run("SELECT * EXCLUDE (valid) FROM synapses_export LIMIT 3".into()).await;
    let e = cave_runtime::rows_from_batches::<minnie::SynapsesPni2>(&no_valid, None).unwrap_err();
    assert!(e.to_string().contains("valid"), "{e}");
    let _ = std::fs::remove_dir_all(&out);
}
