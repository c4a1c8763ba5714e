//! The client end to end against the devserver: every filter kind gives exactly the rows the
//! same predicate picks from the whole table, reference tables come joined with their target,
//! selections and untyped queries give Arrow batches, positions follow `desired_resolution`,
//! results past the row cap are paged and stitched without loss, live queries run at a
//! timestamp, and faults (5xx, 429, cut bodies, wrong content types, missing tokens) end in a
//! retry that succeeds or in a clear error.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;

use cave_devserver::row_order::RowOrder;
use cave_devserver::{BackgroundServer, FaultSpec, ServerConfig};
use cave_runtime::{
    AnnotationId, Client, Compare, Error, Paging, RootId, Table, TableQuery, target,
};
use chrono::{Duration, TimeZone, Utc};

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = [
            "proofreading_status_and_strategy",
            "aibs_metamodel_celltypes_v661",
            "nucleus_detection_v0",
            "synapses_pni_2"
        ]
    );
}

use minnie::{
    AibsMetamodelCellType, AibsMetamodelCelltypesV661, NucleusDetectionV0,
    ProofreadingStatusAndStrategy, ProofreadingStrategy, SynapsesPni2,
};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const SYNAPSES: usize = 20_000;

fn snapshot_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/minnie65_public").to_string()
}

fn config(row_limit: usize) -> ServerConfig {
    let mut config = ServerConfig::new(snapshot_dir());
    config.sample.synapses = SYNAPSES;
    config.row_limit = row_limit;
    config
}

/// Start a server from a plain thread: a `BackgroundServer` owns a runtime, which cannot be
/// started (or dropped) inside the tests' async runtime.
fn start(config: ServerConfig) -> BackgroundServer {
    std::thread::spawn(move || BackgroundServer::start(config).expect("devserver starts"))
        .join()
        .unwrap()
}

/// The shared server with the engine's real row cap.
fn server() -> &'static BackgroundServer {
    static SERVER: OnceLock<BackgroundServer> = OnceLock::new();
    SERVER.get_or_init(|| start(config(200_000)))
}

/// A shared server whose row cap is small, so that queries need many pages.
fn small_cap_server() -> &'static BackgroundServer {
    static SERVER: OnceLock<BackgroundServer> = OnceLock::new();
    SERVER.get_or_init(|| start(config(700)))
}

/// The small cap, and the rows of every query in a new order, as PostgreSQL may answer
/// without an `ORDER BY`.
fn shuffling_small_cap_server() -> &'static BackgroundServer {
    static SERVER: OnceLock<BackgroundServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let mut config = config(700);
        config.row_order = RowOrder::Random { seed: 7 };
        start(config)
    })
}

fn client_of(server: &BackgroundServer) -> Client {
    Client::builder("minnie65_public")
        .server(&server.base_url)
        .token(TOKEN)
        .token_search(None, false)
        .progress(false)
        .build()
        .unwrap()
}

fn client() -> Client {
    client_of(server())
}

/// The whole synapse table, once.
async fn all_synapses() -> Vec<SynapsesPni2> {
    let rows = SynapsesPni2::filter().query(&client()).await.unwrap();
    assert_eq!(rows.len(), SYNAPSES);
    assert_eq!(rows.info().pages, 1);
    rows.into_vec()
}

fn ids<T, F: Fn(&T) -> AnnotationId>(rows: &[T], id: F) -> Vec<i64> {
    let mut ids: Vec<i64> = rows.iter().map(|r| id(r).0).collect();
    ids.sort_unstable();
    ids
}

fn synapse_ids(rows: &[SynapsesPni2]) -> Vec<i64> {
    ids(rows, |r| r.id)
}

fn expected(all: &[SynapsesPni2], keep: impl Fn(&SynapsesPni2) -> bool) -> Vec<i64> {
    let picked: Vec<SynapsesPni2> = all.iter().filter(|r| keep(r)).cloned().collect();
    synapse_ids(&picked)
}

#[tokio::test]
async fn every_filter_kind_picks_exactly_the_rows_of_its_predicate() {
    let all = all_synapses().await;
    let client = client();
    let some_root = all[7].pre_pt_root_id.unwrap();
    let other_root = all[99].pre_pt_root_id.unwrap();
    let median_size = {
        let mut sizes: Vec<f32> = all.iter().filter_map(|r| r.size).collect();
        sizes.sort_by(f32::total_cmp);
        sizes[sizes.len() / 2]
    };

    let cases: Vec<(&str, SynapsesPni2Filter, Vec<i64>)> = vec![
        (
            "equal",
            SynapsesPni2::filter().pre_pt_root_id(some_root),
            expected(&all, |r| r.pre_pt_root_id == Some(some_root)),
        ),
        (
            "in",
            SynapsesPni2::filter().pre_pt_root_id_in([some_root, other_root]),
            expected(&all, |r| {
                r.pre_pt_root_id == Some(some_root) || r.pre_pt_root_id == Some(other_root)
            }),
        ),
        (
            "not in (applied by the client: the server ignores it)",
            SynapsesPni2::filter().pre_pt_root_id_not_in([some_root, other_root]),
            expected(&all, |r| {
                r.pre_pt_root_id != Some(some_root) && r.pre_pt_root_id != Some(other_root)
            }),
        ),
        (
            "greater",
            SynapsesPni2::filter().size_gt(median_size),
            expected(&all, |r| r.size.is_some_and(|s| s > median_size)),
        ),
        (
            "greater or equal",
            SynapsesPni2::filter().size_ge(median_size),
            expected(&all, |r| r.size.is_some_and(|s| s >= median_size)),
        ),
        (
            "less",
            SynapsesPni2::filter().size_lt(median_size),
            expected(&all, |r| r.size.is_some_and(|s| s < median_size)),
        ),
        (
            "less or equal, and an id range",
            SynapsesPni2::filter()
                .size_le(median_size)
                .id_gt(all[10].id),
            expected(&all, |r| {
                r.size.is_some_and(|s| s <= median_size) && r.id.0 > all[10].id.0
            }),
        ),
    ];
    for (what, filter, want) in cases {
        let rows = filter.query(&client).await.unwrap();
        assert!(
            !want.is_empty() && want.len() < all.len(),
            "{what}: a real test"
        );
        assert_eq!(synapse_ids(&rows), want, "{what}");
    }

    // A box around the first synapse's position (bounds included, as the server does).
    let p = all[0].pre_pt_position;
    let (min, max) = (
        [p.x - 5000, p.y - 5000, p.z - 500],
        [p.x + 5000, p.y + 5000, p.z + 500],
    );
    let inside = |q: cave_runtime::Position| {
        (0..3).all(|k| q.voxels()[k] >= min[k] && q.voxels()[k] <= max[k])
    };
    let rows = SynapsesPni2::filter()
        .pre_pt_position_bbox(min, max)
        .query(&client)
        .await
        .unwrap();
    assert_eq!(
        synapse_ids(&rows),
        expected(&all, |r| inside(r.pre_pt_position))
    );
    assert!(rows.iter().any(|r| r.id == all[0].id));
}

type SynapsesPni2Filter = minnie::synapses_pni_2::Filter;

#[tokio::test]
async fn regex_and_enum_filters_on_the_proofreading_table() {
    let client = client();
    let all = ProofreadingStatusAndStrategy::filter()
        .query(&client)
        .await
        .unwrap();
    assert_eq!(all.len(), 1865);
    let by_regex = ProofreadingStatusAndStrategy::filter()
        .strategy_axon_regex("^axon_.*extended$")
        .query(&client)
        .await
        .unwrap();
    let want = all
        .iter()
        .filter(|r| {
            matches!(
                r.strategy_axon,
                ProofreadingStrategy::AxonFullyExtended
                    | ProofreadingStrategy::AxonPartiallyExtended
            )
        })
        .count();
    assert_eq!(by_regex.len(), want);
    assert_eq!(want, 1459 + 127);
    let not_none = ProofreadingStatusAndStrategy::filter()
        .strategy_axon_not_in([ProofreadingStrategy::None])
        .query(&client)
        .await
        .unwrap();
    assert_eq!(not_none.len(), 1865 - 149);
    assert_eq!(not_none.info().dropped_by_not_in, 149);
    let axon = ProofreadingStatusAndStrategy::filter()
        .status_axon(true)
        .query(&client)
        .await
        .unwrap();
    assert_eq!(axon.len(), 1723);
    assert!(axon.iter().all(|r| r.status_axon));
    assert!(
        axon.info()
            .notices
            .iter()
            .any(|n| n.starts_with("Table Owner Notice on proofreading_status_and_strategy")),
        "{:?}",
        axon.info()
    );
    assert_eq!(axon.info().version, Some(1300));
}

#[tokio::test]
async fn reference_tables_come_joined_with_their_target() {
    let client = client();
    let nuclei = NucleusDetectionV0::filter().query(&client).await.unwrap();
    let nucleus_root: BTreeMap<i64, Option<RootId>> =
        nuclei.iter().map(|n| (n.id.0, n.pt_root_id)).collect();
    let types = AibsMetamodelCelltypesV661::filter()
        .cell_type(AibsMetamodelCellType::_23p)
        .query(&client)
        .await
        .unwrap();
    assert!(!types.is_empty());
    for row in types.iter() {
        assert_eq!(row.cell_type, AibsMetamodelCellType::_23p);
        assert_eq!(row.target.id, row.target_id, "joined on target_id = id");
        assert_eq!(nucleus_root[&row.target.id.0], row.target.pt_root_id);
    }
    // A filter on the target's columns (the nucleus's root id).
    let root = types[3].target.pt_root_id.unwrap();
    let of_root = AibsMetamodelCelltypesV661::filter()
        .pt_root_id_in([root])
        .query(&client)
        .await
        .unwrap();
    assert!(!of_root.is_empty());
    assert!(of_root.iter().all(|r| r.target.pt_root_id == Some(root)));

    // The untyped path finds the reference in the table's metadata and joins the same way.
    let batches = TableQuery::new("aibs_metamodel_celltypes_v661")
        .version(1300)
        .equal("cell_type", "23P")
        .is_in(target("pt_root_id"), [root.0])
        .query(&client)
        .await
        .unwrap();
    assert_eq!(
        batches.num_rows(),
        of_root
            .iter()
            .filter(|r| r.cell_type == AibsMetamodelCellType::_23p)
            .count()
    );
    let names: Vec<&str> = batches
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert!(
        names.contains(&"id_ref") && names.contains(&"pt_position_x"),
        "{names:?}"
    );
}

#[tokio::test]
async fn selections_and_untyped_queries_give_record_batches() {
    let client = client();
    let selection = ProofreadingStatusAndStrategy::filter()
        .status_axon(true)
        .select([
            minnie::proofreading_status_and_strategy::Column::PtRootId,
            minnie::proofreading_status_and_strategy::Column::StrategyAxon,
        ]);
    let batches = selection.query(&client).await.unwrap();
    assert_eq!(batches.num_rows(), 1723);
    let names: Vec<&str> = batches
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    // Root ids bring their supervoxel ids along.
    assert_eq!(names, ["pt_supervoxel_id", "pt_root_id", "strategy_axon"]);
    let one = batches.concat().unwrap();
    assert_eq!(one.num_rows(), 1723);

    let untyped = TableQuery::new("synapses_pni_2")
        .version(1300)
        .compare("size", Compare::Greater, &100.0_f32)
        .limit(50)
        .query(&client)
        .await
        .unwrap();
    assert_eq!(untyped.num_rows(), 50);
    assert!(
        untyped
            .schema()
            .field_with_name("pre_pt_position_x")
            .is_ok()
    );

    let unknown = TableQuery::new("no_such_table")
        .version(1300)
        .query(&client)
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, Error::Http { status: 404, .. }),
        "{unknown}"
    );
    assert!(unknown.to_string().contains("no_such_table"), "{unknown}");
}

#[tokio::test]
async fn desired_resolution_scales_positions_and_says_so() {
    let client = client();
    let native = NucleusDetectionV0::filter()
        .limit(20)
        .query(&client)
        .await
        .unwrap();
    let nm = NucleusDetectionV0::filter()
        .limit(20)
        .desired_resolution([1.0, 1.0, 1.0])
        .query(&client)
        .await
        .unwrap();
    assert_eq!(native.info().resolution, Some([4.0, 4.0, 40.0]));
    assert_eq!(nm.info().resolution, Some([1.0, 1.0, 1.0]));
    for (a, b) in native.iter().zip(nm.iter()) {
        assert_eq!(a.id, b.id);
        assert_eq!(
            [b.pt_position.x, b.pt_position.y, b.pt_position.z],
            [
                a.pt_position.x * 4,
                a.pt_position.y * 4,
                a.pt_position.z * 40
            ]
        );
        assert_eq!(b.pt_position.resolution.to_f64(), [1.0, 1.0, 1.0]);
        assert_eq!(a.pt_position.resolution.to_f64(), [4.0, 4.0, 40.0]);
    }
    let bad = NucleusDetectionV0::filter()
        .desired_resolution([1.0, 0.0, 1.0])
        .query(&client)
        .await
        .unwrap_err();
    assert!(matches!(bad, Error::InvalidArgument(_)), "{bad}");
}

/// Each id once, and the set of ids.
fn distinct(ids: impl IntoIterator<Item = AnnotationId>) -> Vec<i64> {
    let mut ids: Vec<i64> = ids.into_iter().map(|id| id.0).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "a row came more than once");
    ids
}

#[tokio::test]
async fn results_past_the_row_cap_are_exact_whatever_the_row_order() {
    let whole = all_synapses().await;
    let all_ids = synapse_ids(&whole);
    let median_size = {
        let mut sizes: Vec<f32> = whole.iter().filter_map(|r| r.size).collect();
        sizes.sort_by(f32::total_cmp);
        sizes[sizes.len() / 2]
    };
    let t1300 = client().timestamp(1300).await.unwrap();
    let live_at = t1300 + Duration::hours(1);
    let live_whole = SynapsesPni2::filter()
        .live_query(&client(), live_at)
        .await
        .unwrap();
    assert_eq!(live_whole.info().pages, 1);
    for server in [small_cap_server(), shuffling_small_cap_server()] {
        let paged_client = client_of(server);
        let paged = SynapsesPni2::filter().query(&paged_client).await.unwrap();
        assert_eq!(distinct(paged.iter().map(|r| r.id)), all_ids);
        let info = paged.info();
        assert!(info.pages >= SYNAPSES.div_ceil(700), "{info:?}");
        assert_eq!(info.total, Some(SYNAPSES as u64));
        assert!(!info.paged_by_offset);
        // The same rows, whatever page they came in.
        let mut by_id: Vec<&SynapsesPni2> = paged.iter().collect();
        by_id.sort_by_key(|r| r.id);
        let mut whole_by_id: Vec<&SynapsesPni2> = whole.iter().collect();
        whole_by_id.sort_by_key(|r| r.id);
        assert!(by_id == whole_by_id, "rows differ");

        // A filter, untyped record batches, a stream and a live query: exact too.
        let big = SynapsesPni2::filter()
            .size_gt(median_size)
            .query(&paged_client)
            .await
            .unwrap();
        assert_eq!(
            distinct(big.iter().map(|r| r.id)),
            expected(&whole, |r| r.size.is_some_and(|s| s > median_size))
        );
        assert!(big.info().pages > 1);
        let batches = TableQuery::new("synapses_pni_2")
            .version(1300)
            .query(&paged_client)
            .await
            .unwrap();
        assert_eq!(
            distinct(int64s(&batches, "id").into_iter().map(AnnotationId)),
            all_ids
        );
        let mut stream = paged_client.stream(SynapsesPni2::filter()).await.unwrap();
        let mut streamed = Vec::new();
        while let Some(rows) = stream.next().await.unwrap() {
            assert!(rows.len() <= 700);
            streamed.extend(rows.into_iter().map(|r| r.id));
        }
        assert_eq!(distinct(streamed), all_ids);
        let live = SynapsesPni2::filter()
            .live_query(&paged_client, live_at)
            .await
            .unwrap();
        assert!(live.info().pages > 1);
        assert_eq!(
            distinct(live.iter().map(|r| r.id)),
            synapse_ids(&live_whole)
        );

        // Live (no counts) with a limit past the cap: capped answers of disjoint ranges
        // kept whole, that many rows, each once.
        let live_window = SynapsesPni2::filter()
            .limit(1500)
            .live_query(&paged_client, live_at)
            .await
            .unwrap();
        let live_ids = synapse_ids(&live_whole);
        let ids = distinct(live_window.iter().map(|r| r.id));
        assert_eq!(ids.len(), 1500);
        assert!(ids.iter().all(|id| live_ids.binary_search(id).is_ok()));

        // A limit past the cap: that many rows of the table, each once.
        let window = SynapsesPni2::filter()
            .limit(1500)
            .query(&paged_client)
            .await
            .unwrap();
        let ids = distinct(window.iter().map(|r| r.id));
        assert_eq!(ids.len(), 1500);
        assert!(ids.iter().all(|id| all_ids.binary_search(id).is_ok()));

        // Not-in filtering with a limit keeps going until the limit is reached after filtering.
        let excluded = whole[0].pre_pt_root_id.unwrap();
        let filtered = SynapsesPni2::filter()
            .pre_pt_root_id_not_in([excluded])
            .limit(1000)
            .query(&paged_client)
            .await
            .unwrap();
        assert_eq!(distinct(filtered.iter().map(|r| r.id)).len(), 1000);
        assert!(filtered.iter().all(|r| r.pre_pt_root_id != Some(excluded)));

        // An offset cannot be split by id: paged by offset, and the result says so.
        let offset = SynapsesPni2::filter()
            .offset(100)
            .limit(1500)
            .query(&paged_client)
            .await
            .unwrap();
        assert_eq!(offset.len(), 1500);
        assert!(offset.info().paged_by_offset);
        assert!(
            offset
                .info()
                .warnings
                .iter()
                .any(|w| w.contains("paged by offset because it has an offset")),
            "{:?}",
            offset.info().warnings
        );

        // One page only, when asked: the result says rows were left out.
        let one_page = Client::builder("minnie65_public")
            .server(&server.base_url)
            .token(TOKEN)
            .token_search(None, false)
            .paging(Paging::FirstPage)
            .build()
            .unwrap();
        let first = SynapsesPni2::filter().query(&one_page).await.unwrap();
        assert_eq!(first.len(), 700);
        assert!(first.info().truncated);
        assert!(
            first
                .info()
                .warnings
                .iter()
                .any(|w| w.contains("Limited query to 700 rows"))
        );

        // A sample bigger than a page cannot be paged (each page would be another sample).
        let sample = SynapsesPni2::filter()
            .random_sample(5000)
            .query(&paged_client)
            .await
            .unwrap_err();
        assert!(sample.to_string().contains("random sample"), "{sample}");
    }
}

#[tokio::test]
async fn a_reference_table_past_the_cap_is_split_by_its_own_id() {
    let cell_type = AibsMetamodelCellType::_23p;
    let whole = AibsMetamodelCelltypesV661::filter()
        .cell_type(cell_type.clone())
        .query(&client())
        .await
        .unwrap();
    assert_eq!(whole.info().pages, 1);
    assert!(whole.len() > 2_000, "{} rows: too few to page", whole.len());
    let want = distinct(whole.iter().map(|r| r.id));
    for server in [small_cap_server(), shuffling_small_cap_server()] {
        let paged = AibsMetamodelCelltypesV661::filter()
            .cell_type(cell_type.clone())
            .query(&client_of(server))
            .await
            .unwrap();
        assert_eq!(distinct(paged.iter().map(|r| r.id)), want);
        assert!(paged.info().pages > whole.len().div_ceil(700) - 1);
        // Each row with its own target, as in one page.
        let mut a: Vec<_> = paged.iter().map(|r| (r.id, r.target.id)).collect();
        let mut b: Vec<_> = whole.iter().map(|r| (r.id, r.target.id)).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
}

#[tokio::test]
async fn streams_hand_out_the_rows_of_every_page_as_they_come() {
    let whole = all_synapses().await;
    let paged_client = client_of(shuffling_small_cap_server());
    let mut stream = paged_client.stream(SynapsesPni2::filter()).await.unwrap();
    let mut ids = Vec::new();
    while let Some(rows) = stream.next().await.unwrap() {
        assert!(!rows.is_empty() && rows.len() <= 700, "one page at most");
        ids.extend(rows.iter().map(|r| r.id));
        // Rows come before the query is complete.
        assert_eq!(stream.info().rows, ids.len() as u64);
    }
    assert!(stream.info().pages >= SYNAPSES.div_ceil(700));
    assert_eq!(distinct(ids), synapse_ids(&whole));
    assert_eq!(
        stream.next().await.unwrap(),
        None,
        "a finished stream stays finished"
    );

    // Limits and not-in filters apply as in query().
    let excluded = whole[0].pre_pt_root_id.unwrap();
    let query = SynapsesPni2::filter()
        .pre_pt_root_id_not_in([excluded])
        .limit(1000);
    let mut stream = paged_client.stream(query.clone()).await.unwrap();
    let mut streamed = Vec::new();
    while let Some(rows) = stream.next().await.unwrap() {
        streamed.extend(rows);
    }
    assert_eq!(distinct(streamed.iter().map(|r| r.id)).len(), 1000);
    assert!(streamed.iter().all(|r| r.pre_pt_root_id != Some(excluded)));
    assert_eq!(stream.info().rows, 1000);

    // Untyped: record batches.
    let mut batches = TableQuery::new("synapses_pni_2")
        .version(1300)
        .limit(2000)
        .stream(&paged_client)
        .await
        .unwrap();
    let mut rows = 0;
    while let Some(b) = batches.next().await.unwrap() {
        assert!(b.schema().index_of("pre_pt_position_x").is_ok());
        rows += b.num_rows();
    }
    assert_eq!(rows, 2000);
    assert!(batches.info().pages >= 3);
}

#[test]
fn the_blocking_client_streams_rows() {
    let client = blocking(shuffling_small_cap_server());
    let mut iter = client.stream(SynapsesPni2::filter().limit(1500)).unwrap();
    let sizes: Vec<usize> = iter.by_ref().map(|rows| rows.unwrap().len()).collect();
    assert!(
        sizes.len() >= 3 && sizes.iter().all(|&n| n <= 700),
        "{sizes:?}"
    );
    assert_eq!(sizes.iter().sum::<usize>(), 1500);
    assert_eq!(iter.info().rows, 1500);
}

/// The values of an `Int64` column of `batches`, in order.
fn int64s(batches: &cave_runtime::Batches, column: &str) -> Vec<i64> {
    use arrow_array::{Array, Int64Array};
    let mut out = Vec::new();
    for b in batches.batches() {
        let c = b
            .column_by_name(column)
            .unwrap_or_else(|| panic!("no column {column} in {:?}", b.schema()));
        let c = c.as_any().downcast_ref::<Int64Array>().expect("int64");
        out.extend((0..c.len()).map(|i| c.value(i)));
    }
    out
}

fn column_names(batches: &cave_runtime::Batches) -> Vec<String> {
    batches
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect()
}

#[tokio::test]
async fn a_filter_streams_its_rows_and_gives_them_as_record_batches() {
    let whole = all_synapses().await;
    let paged_client = client_of(small_cap_server());
    let excluded = whole[0].pre_pt_root_id.unwrap();
    let filter = SynapsesPni2::filter()
        .pre_pt_root_id_not_in([excluded])
        .limit(1500);
    let queried = filter.clone().query(&paged_client).await.unwrap();
    assert_eq!(queried.len(), 1500);

    let mut stream = filter.clone().stream(&paged_client).await.unwrap();
    let (mut streamed, mut pieces) = (Vec::new(), 0);
    while let Some(rows) = stream.next().await.unwrap() {
        pieces += 1;
        streamed.extend(rows);
    }
    assert!(pieces > 1, "rows of several pages, as they came");
    // Any 1500 rows of the filter are its answer: a limit past the cap takes the rows of the
    // id ranges that come first.
    let allowed = expected(&whole, |r| r.pre_pt_root_id != Some(excluded));
    for ids in [
        distinct(streamed.iter().map(|r| r.id)),
        distinct(queried.iter().map(|r| r.id)),
    ] {
        assert_eq!(ids.len(), 1500);
        assert!(ids.iter().all(|id| allowed.binary_search(id).is_ok()));
    }
    assert_eq!(stream.info().rows, queried.info().rows);

    // The same request, for record batches: rows of the filter, not-in and limit applied.
    let batches = filter.batches(&paged_client).await.unwrap();
    assert_eq!(batches.num_rows(), 1500);
    let ids = distinct(int64s(&batches, "id").into_iter().map(AnnotationId));
    assert!(ids.iter().all(|id| allowed.binary_search(id).is_ok()));
    assert_eq!(batches.info().rows, 1500);
    assert!(column_names(&batches).contains(&"pre_pt_position_x".to_string()));

    // A reference table: joined with its target, shared names with `_ref`.
    let client = client();
    let filter = AibsMetamodelCelltypesV661::filter()
        .cell_type(AibsMetamodelCellType::_23p)
        .limit(50);
    let rows = filter.clone().query(&client).await.unwrap();
    let batches = filter.batches(&client).await.unwrap();
    let names = column_names(&batches);
    for name in [
        "id",
        "target_id",
        "cell_type",
        "id_ref",
        "pt_root_id",
        "volume",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
    assert_eq!(
        int64s(&batches, "target_id"),
        rows.iter().map(|r| r.target_id.0).collect::<Vec<_>>()
    );
    assert_eq!(int64s(&batches, "id_ref"), int64s(&batches, "target_id"));
}

#[tokio::test]
async fn a_typed_selection_picks_the_targets_id() {
    use minnie::aibs_metamodel_celltypes_v661::Column;
    let client = client();
    let filter = AibsMetamodelCelltypesV661::filter()
        .cell_type(AibsMetamodelCellType::_23p)
        .limit(40);
    let rows = filter.clone().query(&client).await.unwrap();
    let nucleus_ids: Vec<i64> = rows.iter().map(|r| r.target.id.0).collect();

    // The nucleus id alone: the target's `id` comes under its own name.
    let batches = filter
        .clone()
        .select([
            Column::CellType,
            Column::TargetRowId,
            Column::TargetPtRootId,
        ])
        .query(&client)
        .await
        .unwrap();
    let names = column_names(&batches);
    assert!(
        names.starts_with(&["cell_type".into(), "id".into()]),
        "{names:?}"
    );
    assert_eq!(int64s(&batches, "id"), nucleus_ids);

    // With the table's own `id` too, the target's is `id_ref`.
    let batches = filter
        .select([Column::Id, Column::TargetRowId])
        .query(&client)
        .await
        .unwrap();
    assert_eq!(column_names(&batches), ["id", "id_ref"]);
    assert_eq!(int64s(&batches, "id_ref"), nucleus_ids);
    assert_eq!(
        int64s(&batches, "id"),
        rows.iter().map(|r| r.id.0).collect::<Vec<_>>()
    );
}

#[test]
fn the_blocking_client_gives_record_batches() {
    let client = blocking(small_cap_server());
    let batches = client.batches(SynapsesPni2::filter().limit(1500)).unwrap();
    assert_eq!(batches.num_rows(), 1500);
    assert!(batches.info().pages >= 3);
}

#[tokio::test]
async fn live_queries_run_at_a_timestamp() {
    let client = client();
    let t1300 = client.timestamp(1300).await.unwrap();
    let at = t1300 + Duration::hours(1);
    let live = ProofreadingStatusAndStrategy::filter()
        .status_axon(true)
        .live_query(&client, at)
        .await
        .unwrap();
    assert_eq!(live.len(), 1723);
    assert_eq!(live.info().timestamp, Some(at));
    let live_ref = AibsMetamodelCelltypesV661::filter()
        .cell_type(AibsMetamodelCellType::_23p)
        .limit(10)
        .live_query(&client, at)
        .await
        .unwrap();
    assert_eq!(live_ref.len(), 10);
    assert!(live_ref.iter().all(|r| r.target.id == r.target_id));
    // At exactly a version's timestamp the server refuses a live query; the client asks for
    // the version instead.
    let exact = ProofreadingStatusAndStrategy::filter()
        .live_query(&client, t1300)
        .await
        .unwrap();
    assert_eq!(exact.len(), 1865);
    assert_eq!(exact.info().version, Some(1300));
}

#[tokio::test]
async fn info_versions_tables_and_metadata() {
    let client = client();
    let info = client.info().await.unwrap();
    assert_eq!(info.synapse_table.as_deref(), Some("synapses_pni_2"));
    assert_eq!(info.soma_table.as_deref(), Some("nucleus_detection_v0"));
    assert_eq!(info.viewer_resolution(), Some([4.0, 4.0, 40.0]));
    assert!(info.description.unwrap().contains("minnie65"));
    let versions = client.versions().await.unwrap();
    assert!(versions.contains(&1300));
    let metadata = client.versions_metadata().await.unwrap();
    assert_eq!(metadata.len(), versions.len());
    let t = client.timestamp(1300).await.unwrap();
    assert!(t > Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap());
    let tables = client.tables(Some(1300)).await.unwrap();
    assert!(tables.iter().any(|t| t == "synapses_pni_2"));
    let meta = client
        .table_metadata("aibs_metamodel_celltypes_v661", Some(1300))
        .await
        .unwrap();
    assert_eq!(
        meta.reference_table.as_deref(),
        Some("nucleus_detection_v0")
    );
    assert_eq!(
        meta.voxel_resolution,
        Some(AibsMetamodelCelltypesV661::VOXEL_RESOLUTION)
    );
    assert_eq!(
        client
            .count("proofreading_status_and_strategy", Some(1300))
            .await
            .unwrap(),
        1865
    );
    let missing = client.table_metadata("nope", Some(1300)).await.unwrap_err();
    assert_eq!(missing.status(), Some(404), "{missing}");
}

#[test]
fn the_blocking_client_runs_the_same_queries() {
    let client = cave_runtime::blocking::Client::new(client()).unwrap();
    let rows = client
        .query(ProofreadingStatusAndStrategy::filter().status_axon(true))
        .unwrap();
    assert_eq!(rows.len(), 1723);
    assert!(client.versions().unwrap().contains(&1300));
    let batches = client
        .query_table(
            TableQuery::new("nucleus_detection_v0")
                .version(1300)
                .limit(5),
        )
        .unwrap();
    assert_eq!(batches.num_rows(), 5);
}

#[tokio::test]
async fn the_blocking_client_refuses_to_block_an_async_runtime() {
    let client = cave_runtime::blocking::Client::new(client()).unwrap();
    let e = client.versions().unwrap_err();
    assert!(e.to_string().contains("inside an async runtime"), "{e}");
}

// ---- Faults: each test has its own server, since faults apply to every matching request,
// and uses the blocking client (plain tests may start and drop servers).

fn blocking(server: &BackgroundServer) -> cave_runtime::blocking::Client {
    cave_runtime::blocking::Client::new(client_of(server)).unwrap()
}

fn proofreading(
    server: &BackgroundServer,
) -> Result<cave_runtime::Rows<ProofreadingStatusAndStrategy>, Error> {
    blocking(server).query(ProofreadingStatusAndStrategy::filter())
}

fn fault_server(faults: Vec<FaultSpec>) -> BackgroundServer {
    let mut config = ServerConfig::new(snapshot_dir());
    config.sample.synapses = 100;
    config.faults = faults;
    BackgroundServer::start(config).unwrap()
}

const QUERY_PATH: &str = "/materialize/api/v3/datastack/minnie65_public/version/1300/table/";

#[test]
fn server_errors_are_retried_until_an_answer_comes() {
    let server = fault_server(vec![
        FaultSpec::status(503, 2, QUERY_PATH),
        FaultSpec::status(502, 1, QUERY_PATH),
    ]);
    let rows = proofreading(&server).unwrap();
    assert_eq!(rows.len(), 1865);
}

#[test]
fn retries_give_up_with_the_status_and_the_number_of_attempts() {
    let server = fault_server(vec![
        FaultSpec::parse(&format!("status=504,count=all,path={QUERY_PATH}")).unwrap(),
    ]);
    let started = std::time::Instant::now();
    let e = proofreading(&server).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(
            e,
            Error::Http {
                status: 504,
                attempts: 4,
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("proofreading_status_and_strategy/query") && text.contains("4 attempts"),
        "{text}"
    );
    // caveclient's backoff: 0 + 0.2 + 0.4 s.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );

    // A 500 is the server's answer, not a passing fault: no retry.
    let server = fault_server(vec![FaultSpec::status(500, 1, QUERY_PATH)]);
    let e = proofreading(&server).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Http {
                status: 500,
                attempts: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn retry_after_is_honoured_on_429() {
    let server = fault_server(vec![
        FaultSpec::parse(&format!(
            "status=429,retry_after=1,count=1,path={QUERY_PATH}"
        ))
        .unwrap(),
    ]);
    let started = std::time::Instant::now();
    let rows = proofreading(&server).unwrap();
    assert_eq!(rows.len(), 1865);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
}

#[test]
fn a_body_cut_short_is_retried_and_then_reported() {
    let server = fault_server(vec![
        FaultSpec::parse(&format!("truncate=100,count=1,path={QUERY_PATH}")).unwrap(),
    ]);
    let rows = proofreading(&server).unwrap();
    assert_eq!(rows.len(), 1865, "the second attempt gets the whole body");

    let server = fault_server(vec![
        FaultSpec::parse(&format!("truncate=100,count=all,path={QUERY_PATH}")).unwrap(),
    ]);
    let e = proofreading(&server).unwrap_err();
    assert!(matches!(e, Error::Transport { attempts: 4, .. }), "{e}");
    assert!(e.to_string().contains("cut short"), "{e}");
}

#[test]
fn a_wrong_content_type_is_a_clear_error() {
    let server = fault_server(vec![
        FaultSpec::parse(&format!("content_type=text/html,count=1,path={QUERY_PATH}")).unwrap(),
    ]);
    let e = proofreading(&server).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::BadResponse { .. }), "{text}");
    assert!(
        text.contains("data.arrow") && text.contains("text/html"),
        "{text}"
    );
}

#[test]
fn no_token_is_a_401_with_a_hint_and_a_bad_token_never_shows() {
    let server = server();
    let anonymous = Client::builder("minnie65_public")
        .server(&server.base_url)
        .token_search(None, false)
        .build()
        .unwrap();
    let anonymous = cave_runtime::blocking::Client::new(anonymous).unwrap();
    let e = anonymous.info().unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(&e, Error::Auth { status: 401, code, .. } if code == "no_token"),
        "{text}"
    );
    assert!(
        text.contains("CAVE_TOKEN") && text.contains("cave-secret.json"),
        "{text}"
    );

    let mut config = ServerConfig::new(snapshot_dir());
    config.sample.synapses = 100;
    config.token = Some("the-right-token-0000".into());
    let strict = BackgroundServer::start(config).unwrap();
    let secret = "wrong-secret-token-1234567890";
    let client = Client::builder("minnie65_public")
        .server(&strict.base_url)
        .token(secret)
        .token_search(None, false)
        .build()
        .unwrap();
    let client = cave_runtime::blocking::Client::new(client).unwrap();
    let e = client
        .query(ProofreadingStatusAndStrategy::filter())
        .unwrap_err();
    let text = format!("{e} {e:?} {client:?}");
    assert!(
        matches!(&e, Error::Auth { status: 401, code, .. } if code == "invalid_token"),
        "{text}"
    );
    assert!(text.contains("refused"), "{text}");
    assert!(!text.contains(secret), "the token must never show: {text}");
}

#[tokio::test]
async fn unknown_datastack_and_unreachable_server() {
    let e = Client::builder("no_such_stack")
        .server(&server().base_url)
        .token(TOKEN)
        .token_search(None, false)
        .build()
        .unwrap()
        .info()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("datastack"), "{e}");

    // A port nothing listens on: connection refused, retried, then reported.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let e = Client::builder("minnie65_public")
        .server(&url)
        .token(TOKEN)
        .token_search(None, false)
        .max_retries(1)
        .build()
        .unwrap()
        .info()
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Transport { attempts: 2, .. }), "{e}");
    assert!(e.to_string().contains(&url), "{e}");

    let e = Client::builder("minnie65_public")
        .server("ftp://x")
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Config(_)), "{e}");
}

/// The same answer with ZSTD, LZ4_FRAME and uncompressed Arrow buffers decodes to the same
/// batches (the client asks for ZSTD, as caveclient does; other servers may send the others).
#[test]
fn arrow_streams_decode_with_every_compression() {
    let url = format!(
        "{}{QUERY_PATH}nucleus_detection_v0/query?return_pyarrow=True&arrow_format=True&split_positions=True&direct_sql_pandas=True",
        server().base_url
    );
    // The bodies as sent: no content coding undone on the way.
    let agent = reqwest::blocking::Client::builder()
        .timeout(None)
        .no_gzip()
        .no_deflate()
        .no_brotli()
        .no_zstd()
        .build()
        .unwrap();
    let fetch = |encoding: &str| {
        let response = agent
            .post(&url)
            .header("Authorization", format!("Bearer {TOKEN}"))
            .header("Content-Type", "application/json")
            .header("Accept-Encoding", encoding)
            .body(r#"{"limit": 300}"#)
            .send()
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let body = response.bytes().unwrap().to_vec();
        let (schema, batches) = cave_runtime::read_stream(body.clone()).unwrap();
        (body, schema, batches)
    };
    let (zstd_body, schema, zstd) = fetch("zstd");
    let (lz4_body, lz4_schema, lz4) = fetch("lz4");
    let (plain_body, plain_schema, plain) = fetch("identity");
    // Three different encodings on the wire (else this test would prove nothing)...
    assert!(zstd_body.len() < plain_body.len() && lz4_body.len() < plain_body.len());
    assert_ne!(zstd_body, lz4_body);
    // ...and the same data once decoded.
    assert_eq!(schema, lz4_schema);
    assert_eq!(schema, plain_schema);
    assert_eq!(zstd, lz4);
    assert_eq!(zstd, plain);
    assert_eq!(zstd.iter().map(|b| b.num_rows()).sum::<usize>(), 300);
}

#[tokio::test]
async fn arguments_the_server_would_reject_fail_before_sending() {
    let client = client();
    let e = NucleusDetectionV0::filter()
        .pt_position_bbox([10, 10, 10], [20, 5, 30])
        .query(&client)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument(_)), "{e}");
    assert!(
        e.to_string().contains("pt_position") && e.to_string().contains("min < max"),
        "{e}"
    );
    let e = NucleusDetectionV0::filter()
        .limit(0)
        .query(&client)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("limit"), "{e}");
}

/// Why the client does not page by offset: with the rows of each request in a new order (as
/// PostgreSQL may answer a query without `ORDER BY`), pages by `offset` and `limit`, as
/// caveclient users write them, miss rows and repeat others; with a stable order they do not.
#[test]
fn offset_pages_miss_and_repeat_rows_when_the_order_changes_per_request() {
    use arrow_array::Array;
    let agent = reqwest::blocking::Client::builder()
        .timeout(None)
        .build()
        .unwrap();
    let pages_by_offset = |server: &BackgroundServer| -> Vec<i64> {
        let url = format!(
            "{}{QUERY_PATH}synapses_pni_2/query?return_pyarrow=True&arrow_format=True&split_positions=True&direct_sql_pandas=True",
            server.base_url
        );
        let mut ids = Vec::new();
        for page in 0..SYNAPSES.div_ceil(700) {
            let body = format!(
                r#"{{"select_columns": ["id"], "offset": {}, "limit": 700}}"#,
                page * 700
            );
            let response = agent
                .post(&url)
                .header("Authorization", format!("Bearer {TOKEN}"))
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let (_, batches) = cave_runtime::read_stream(response.bytes().unwrap()).unwrap();
            for b in batches {
                let c = b.column_by_name("id").unwrap();
                let c = c
                    .as_any()
                    .downcast_ref::<arrow_array::Int64Array>()
                    .unwrap();
                ids.extend(c.values().iter().copied());
            }
        }
        ids
    };
    let stable = pages_by_offset(small_cap_server());
    assert_eq!(stable.len(), SYNAPSES);
    assert_eq!(stable.iter().collect::<HashSet<_>>().len(), SYNAPSES);

    let shuffled = pages_by_offset(shuffling_small_cap_server());
    assert_eq!(shuffled.len(), SYNAPSES, "as many rows as the table has...");
    let distinct = shuffled.iter().collect::<HashSet<_>>().len();
    let missing = SYNAPSES - distinct;
    assert!(
        missing > SYNAPSES / 4,
        "...but {missing} of them are missing and as many are repeats"
    );
}

/// Synapse queries pick exactly the rows of their predicate, also past the cap with the rows
/// in a new order per request: roots 0 and autapses out by default (and counted in the
/// query's info), kept when asked, one root or several, the box on `post_pt_position`, more
/// filters through the table's own filter builder; typed, batches, streamed and live.
#[tokio::test]
async fn synapse_queries_pick_their_rows_past_the_cap_whatever_the_order() {
    let whole = all_synapses().await;
    let zero = Some(RootId(0));
    let has_zero = |r: &SynapsesPni2| r.pre_pt_root_id == zero || r.post_pt_root_id == zero;
    let autapse = |r: &SynapsesPni2| r.pre_pt_root_id == r.post_pt_root_id;
    assert!(
        whole.iter().filter(|r| has_zero(r)).count() > 20,
        "the sample has roots 0"
    );
    assert!(
        whole.iter().filter(|r| autapse(r)).count() > 20,
        "the sample has autapses"
    );
    // The busiest pre-synaptic cells (past the small cap together), one with an autapse.
    let mut outputs: BTreeMap<RootId, usize> = BTreeMap::new();
    for r in &whole {
        if let Some(pre) = r.pre_pt_root_id.filter(|p| p.0 != 0) {
            *outputs.entry(pre).or_default() += 1;
        }
    }
    let mut busiest: Vec<(RootId, usize)> = outputs.into_iter().collect();
    busiest.sort_by_key(|(root, n)| (std::cmp::Reverse(*n), *root));
    let cells: Vec<RootId> = busiest.iter().take(12).map(|(r, _)| *r).collect();
    let with_autapse = whole
        .iter()
        .find(|r| autapse(r) && !has_zero(r))
        .and_then(|r| r.pre_pt_root_id)
        .unwrap();
    let of_cells = |r: &SynapsesPni2| r.pre_pt_root_id.is_some_and(|p| cells.contains(&p));
    let post_box = whole
        .iter()
        .find(|r| r.post_pt_root_id == Some(with_autapse) && autapse(r))
        .map(|r| r.post_pt_position)
        .unwrap();
    let (min, max) = (
        [post_box.x - 40_000, post_box.y - 40_000, post_box.z - 2_000],
        [post_box.x + 40_000, post_box.y + 40_000, post_box.z + 2_000],
    );
    let in_box = |r: &SynapsesPni2| {
        let p = r.post_pt_position;
        (min[0]..=max[0]).contains(&p.x)
            && (min[1]..=max[1]).contains(&p.y)
            && (min[2]..=max[2]).contains(&p.z)
    };
    let live_at = client().timestamp(1300).await.unwrap() + Duration::hours(1);
    let live_whole = SynapsesPni2::filter()
        .live_query(&client(), live_at)
        .await
        .unwrap()
        .into_vec();
    for (capped, server) in [(false, server()), (true, shuffling_small_cap_server())] {
        let client = client_of(server);
        // Every synapse but roots 0 and autapses, then all of them.
        let all = minnie::Synapses::synapse_query()
            .query(&client)
            .await
            .unwrap();
        assert_eq!(
            distinct(all.iter().map(|r| r.id)),
            expected(&whole, |r| !has_zero(r) && !autapse(r))
        );
        let info = all.info();
        let zeros = whole.iter().filter(|r| has_zero(r)).count() as u64;
        let autapses_only = whole.iter().filter(|r| autapse(r) && !has_zero(r)).count() as u64;
        assert_eq!(
            (info.dropped_by_not_in, info.autapses_removed),
            (zeros, autapses_only)
        );
        assert!(!capped || info.pages > 1, "{info:?}");
        let everything = minnie::Synapses::synapse_query()
            .include_zeros(true)
            .keep_autapses()
            .query(&client)
            .await
            .unwrap();
        assert_eq!(
            distinct(everything.iter().map(|r| r.id)),
            synapse_ids(&whole)
        );

        // Several cells' outputs, with a typed extra filter; one cell's, batches and streamed.
        let outputs = minnie::Synapses::synapse_query()
            .pre_in(&cells)
            .filter(|f| f.size_gt(500.0))
            .query(&client)
            .await
            .unwrap();
        assert_eq!(
            distinct(outputs.iter().map(|r| r.id)),
            expected(&whole, |r| of_cells(r)
                && r.size.is_some_and(|s| s > 500.0)
                && !has_zero(r)
                && !autapse(r))
        );
        let one = |r: &SynapsesPni2| r.pre_pt_root_id == Some(with_autapse);
        let batches = minnie::Synapses::synapse_query()
            .pre(with_autapse)
            .batches(&client)
            .await
            .unwrap();
        assert_eq!(
            distinct(int64s(&batches, "id").into_iter().map(AnnotationId)),
            expected(&whole, |r| one(r) && !has_zero(r) && !autapse(r))
        );
        assert!(batches.info().autapses_removed > 0);
        let mut stream = minnie::Synapses::synapse_query()
            .pre_in(&cells)
            .keep_autapses()
            .stream(&client)
            .await
            .unwrap();
        let mut streamed = Vec::new();
        while let Some(rows) = stream.next().await.unwrap() {
            streamed.extend(rows.into_iter().map(|r| r.id));
        }
        assert_eq!(
            distinct(streamed),
            expected(&whole, |r| of_cells(r) && !has_zero(r))
        );

        // The inputs of a cell in a box, autapses kept; live, an hour after v1300.
        let boxed = minnie::Synapses::synapse_query()
            .post_in([with_autapse])
            .bounding_box(min, max)
            .keep_autapses()
            .query(&client)
            .await
            .unwrap();
        let want = expected(&whole, |r| {
            r.post_pt_root_id == Some(with_autapse) && in_box(r) && !has_zero(r)
        });
        assert!(
            whole
                .iter()
                .any(|r| autapse(r) && in_box(r) && r.post_pt_root_id == Some(with_autapse))
        );
        assert_eq!(distinct(boxed.iter().map(|r| r.id)), want);
        let live = minnie::Synapses::synapse_query()
            .pre_in(&cells)
            .timestamp(live_at)
            .query(&client)
            .await
            .unwrap();
        assert_eq!(
            distinct(live.iter().map(|r| r.id)),
            expected(&live_whole, |r| of_cells(r) && !has_zero(r) && !autapse(r))
        );

        // A limit counts the rows returned, after roots 0 and autapses are dropped.
        let some = minnie::Synapses::synapse_query()
            .limit(1_000)
            .query(&client)
            .await
            .unwrap();
        assert_eq!(some.len(), 1_000);
        assert!(some.iter().all(|r| !has_zero(r) && !autapse(r)));
        distinct(some.iter().map(|r| r.id));
    }
    // Counting would count what the client drops: refused, saying why.
    let e = client()
        .count_rows(minnie::Synapses::synapse_query().include_zeros(true))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("autapses are removed by the client"),
        "{e}"
    );
}
