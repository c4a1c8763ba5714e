//! Fault soak: thousands of queries of every kind (typed with filters, limits and offsets, a
//! join, not-in filters applied by the client, selections, untyped queries, streams of rows and
//! of batches; many of them paged past a small row cap) run concurrently from one client against a devserver that answers a
//! random, seeded fraction of requests with 500/502/503/504, 429 (`Retry-After: 0`, a few 1),
//! latency, bodies cut short and a wrong content type.
//!
//! The server answers every query in a new row order (`RowOrder::Random`), as PostgreSQL may
//! without an `ORDER BY`, so that paging past the cap cannot lean on a stable order.
//!
//! Property: every query either returns exactly the rows a fault-free run of the query
//! without offset and limit returns (the same rows, each once, in any order; with a limit,
//! that many of them; with an offset, which the client can only page by offset, that many of
//! them, not necessarily distinct: its result says it was paged by offset) or a clear error (`Error::Http` with the status and the attempts,
//! `Error::Transport` saying the body was cut short, `Error::BadResponse` naming the content
//! type): never wrong rows, never a panic, never a hang (each query has a deadline).
//!
//! `CAVE_SOAK_QUERIES` (default 2,000) sets the number of queries, `CAVE_SOAK_CONCURRENCY`
//! (default 12) how many run at once, `CAVE_SOAK_SEED` (default 1) the seed of the fault draws;
//! e.g. `CAVE_SOAK_QUERIES=30000 cargo test --release -p cave-runtime --test fault_soak -- --nocapture`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use cave_devserver::{BackgroundServer, FaultSpec, RowOrder, ServerConfig};
use cave_runtime::{Client, Compare, Error, RetryPolicy, RootId, TableQuery, target};

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
    AibsMetamodelCellType, AibsMetamodelCelltypesV661, ProofreadingStatusAndStrategy,
    ProofreadingStrategy, SynapsesPni2,
};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const SYNAPSES: usize = 10_000;
/// A small row cap, so that many queries take several pages.
const ROW_LIMIT: usize = 400;
/// Retries after the first attempt: few, so that some queries run out of them.
const MAX_RETRIES: u32 = 2;
/// A query that takes longer than this hangs (the slowest legitimate one waits 3 × 1 s for
/// `Retry-After: 1`, plus its pages).
const QUERY_DEADLINE: Duration = Duration::from_secs(30);

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}=`{v}` is not a number")),
        Err(_) => default,
    }
}

fn snapshot_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/minnie65_public").to_string()
}

fn client(server: &BackgroundServer, retry: RetryPolicy) -> Client {
    Client::builder("minnie65_public")
        .server(&server.base_url)
        .token(TOKEN)
        .token_search(None, false)
        .progress(false)
        .retry_policy(retry)
        .build()
        .unwrap()
}

/// One query of the soak, as data (so that it can run twice).
#[derive(Debug, Clone)]
enum Case {
    /// A neuron's input synapses.
    PostSynapses(RootId),
    /// The output synapses of two roots, a window of them.
    PreSynapses {
        roots: [RootId; 2],
        offset: u64,
        limit: u64,
    },
    /// A window of big synapses, often several pages.
    BigSynapses { size: f32, offset: u64, limit: u64 },
    /// Every synapse but a root's outputs, up to a limit (not-in is applied by the client, which
    /// keeps paging until the limit is reached after filtering).
    NotIn { root: RootId, limit: u64 },
    /// Proofreading rows of one axon strategy (1,459 rows for the biggest: 4 pages).
    Proofreading(ProofreadingStrategy),
    /// Cell types of some proofread roots: the server joins the nuclei.
    CellTypes {
        cell_type: AibsMetamodelCellType,
        roots: Vec<RootId>,
    },
    /// Two columns of the proofread rows (record batches).
    Selection,
    /// An untyped window of the nuclei.
    UntypedNuclei { offset: u64, limit: u64 },
    /// An untyped query with a comparison.
    UntypedSynapses { size: f32, limit: u64 },
    /// An untyped query of the reference table, joined, filtered on the target.
    UntypedJoin { roots: Vec<RootId> },
    /// Like `BigSynapses`, the rows handed out as they come (`Client::stream`).
    StreamSynapses { size: f32, offset: u64, limit: u64 },
    /// Like `UntypedNuclei`, the batches handed out as they come (`TableQuery::stream`).
    StreamNuclei { offset: u64, limit: u64 },
}

impl Case {
    /// The case with offset and limit 0: the same for every case of the same rows.
    fn without_bounds(&self) -> Case {
        let mut case = self.clone();
        match &mut case {
            Case::PreSynapses { offset, limit, .. }
            | Case::BigSynapses { offset, limit, .. }
            | Case::UntypedNuclei { offset, limit }
            | Case::StreamSynapses { offset, limit, .. }
            | Case::StreamNuclei { offset, limit } => (*offset, *limit) = (0, 0),
            Case::NotIn { limit, .. } | Case::UntypedSynapses { limit, .. } => *limit = 0,
            _ => {}
        }
        case
    }

    /// The case's offset and limit.
    fn bounds(&self) -> (u64, Option<u64>) {
        match self {
            Case::PreSynapses { offset, limit, .. }
            | Case::BigSynapses { offset, limit, .. }
            | Case::UntypedNuclei { offset, limit }
            | Case::StreamSynapses { offset, limit, .. }
            | Case::StreamNuclei { offset, limit } => (*offset, Some(*limit)),
            Case::NotIn { limit, .. } | Case::UntypedSynapses { limit, .. } => (0, Some(*limit)),
            Case::PostSynapses(_)
            | Case::Proofreading(_)
            | Case::CellTypes { .. }
            | Case::Selection
            | Case::UntypedJoin { .. } => (0, None),
        }
    }
}

/// What a query returned, comparable.
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Synapses(Vec<SynapsesPni2>),
    Proofreading(Vec<ProofreadingStatusAndStrategy>),
    CellTypes(Vec<AibsMetamodelCelltypesV661>),
    Batches(RecordBatch),
}

/// What a query must return: its rows without offset and limit (in id order), and its
/// offset and limit.
#[derive(Debug)]
struct Expected {
    full: Answer,
    offset: u64,
    limit: Option<u64>,
}

/// The key rows are put in order by: the `id`, else the root id (a selection without `id`).
fn key_column(batch: &RecordBatch) -> &arrow_array::Int64Array {
    let column = batch
        .column_by_name("id")
        .or_else(|| batch.column_by_name("pt_root_id"))
        .expect("an id or a root id column");
    column.as_any().downcast_ref().expect("int64 keys")
}

impl Answer {
    /// The rows in key order.
    fn sorted(self) -> Answer {
        match self {
            Answer::Synapses(mut r) => {
                r.sort_by_key(|r| r.id);
                Answer::Synapses(r)
            }
            Answer::Proofreading(mut r) => {
                r.sort_by_key(|r| r.id);
                Answer::Proofreading(r)
            }
            Answer::CellTypes(mut r) => {
                r.sort_by_key(|r| r.id);
                Answer::CellTypes(r)
            }
            Answer::Batches(b) => {
                let keys = key_column(&b);
                let mut order: Vec<u32> = (0..b.num_rows() as u32).collect();
                order.sort_by_key(|&i| keys.value(i as usize));
                let order = arrow_array::UInt32Array::from(order);
                let b = arrow_select::take::take_record_batch(&b, &order).unwrap();
                // Rows, not the pandas metadata of whichever page came first.
                let schema = arrow_schema::Schema::new(b.schema().fields().clone());
                Answer::Batches(RecordBatch::try_new(schema.into(), b.columns().to_vec()).unwrap())
            }
        }
    }

    /// Whether this is what `want` allows, else how it differs.
    fn check(self, want: &Expected) -> Result<(), String> {
        let full_rows = want.full.rows() as u64;
        if want.offset == 0 && want.limit.is_none_or(|l| l >= full_rows) {
            let got = self.sorted();
            return if got == want.full {
                Ok(())
            } else {
                Err(got.difference(&want.full))
            };
        }
        let n = want
            .limit
            .unwrap_or(u64::MAX)
            .min(full_rows.saturating_sub(want.offset));
        if self.rows() as u64 != n {
            return Err(format!("{} rows, want {n}", self.rows()));
        }
        // Each row one of the query's; distinct unless paged by offset.
        fn within<T: PartialEq + std::fmt::Debug, K: Ord + Copy>(
            got: &[T],
            full: &[T],
            key: impl Fn(&T) -> K,
            distinct: bool,
        ) -> Result<(), String> {
            let mut seen = std::collections::BTreeSet::new();
            for row in got {
                let k = key(row);
                let at = full
                    .binary_search_by_key(&k, &key)
                    .map_err(|_| format!("a row that is not the query's: {row:?}"))?;
                if full[at] != *row {
                    return Err(format!("row differs: got {row:?}, want {:?}", full[at]));
                }
                if !seen.insert(k) && distinct {
                    return Err(format!("a row came twice: {row:?}"));
                }
            }
            Ok(())
        }
        let distinct = want.offset == 0;
        match (&self, &want.full) {
            (Answer::Synapses(a), Answer::Synapses(b)) => within(a, b, |r| r.id, distinct),
            (Answer::Proofreading(a), Answer::Proofreading(b)) => within(a, b, |r| r.id, distinct),
            (Answer::CellTypes(a), Answer::CellTypes(b)) => within(a, b, |r| r.id, distinct),
            (Answer::Batches(a), Answer::Batches(b)) => {
                let (ka, kb) = (key_column(a), key_column(b));
                let mut seen = std::collections::BTreeSet::new();
                for i in 0..a.num_rows() {
                    let k = ka.value(i);
                    let at = kb
                        .values()
                        .binary_search(&k)
                        .map_err(|_| format!("a row of key {k} that is not the query's"))?;
                    if a.slice(i, 1).columns() != b.slice(at, 1).columns() {
                        return Err(format!("the row of key {k} differs"));
                    }
                    if !seen.insert(k) && distinct {
                        return Err(format!("the row of key {k} came twice"));
                    }
                }
                Ok(())
            }
            _ => Err("another kind of answer".into()),
        }
    }

    fn rows(&self) -> usize {
        match self {
            Answer::Synapses(r) => r.len(),
            Answer::Proofreading(r) => r.len(),
            Answer::CellTypes(r) => r.len(),
            Answer::Batches(b) => b.num_rows(),
        }
    }

    /// How `self` differs from `want`, for the failure message.
    fn difference(&self, want: &Answer) -> String {
        fn first<T: PartialEq + std::fmt::Debug>(got: &[T], want: &[T]) -> String {
            match got.iter().zip(want).position(|(a, b)| a != b) {
                Some(i) => format!("row {i} differs: got {:?}, want {:?}", got[i], want[i]),
                None => format!("{} rows, want {}", got.len(), want.len()),
            }
        }
        match (self, want) {
            (Answer::Synapses(a), Answer::Synapses(b)) => first(a, b),
            (Answer::Proofreading(a), Answer::Proofreading(b)) => first(a, b),
            (Answer::CellTypes(a), Answer::CellTypes(b)) => first(a, b),
            (Answer::Batches(a), Answer::Batches(b)) => format!(
                "{} rows × {} columns, want {} × {}",
                a.num_rows(),
                a.num_columns(),
                b.num_rows(),
                b.num_columns()
            ),
            _ => "another kind of answer".into(),
        }
    }
}

/// Run `case`; with `bounded` false, without its offset and limit.
async fn run(client: &Client, case: &Case, bounded: bool) -> Result<Answer, Error> {
    use minnie::proofreading_status_and_strategy::Column;
    let off = |o: &u64| if bounded { *o } else { 0 };
    let lim = |l: &u64| if bounded { *l } else { 1_000_000_000 };
    Ok(match case {
        Case::PostSynapses(root) => Answer::Synapses(
            SynapsesPni2::filter()
                .post_pt_root_id(*root)
                .query(client)
                .await?
                .into_vec(),
        ),
        Case::PreSynapses {
            roots,
            offset,
            limit,
        } => Answer::Synapses(
            SynapsesPni2::filter()
                .pre_pt_root_id_in(*roots)
                .offset(off(offset))
                .limit(lim(limit))
                .query(client)
                .await?
                .into_vec(),
        ),
        Case::BigSynapses {
            size,
            offset,
            limit,
        } => Answer::Synapses(
            SynapsesPni2::filter()
                .size_gt(*size)
                .offset(off(offset))
                .limit(lim(limit))
                .query(client)
                .await?
                .into_vec(),
        ),
        Case::NotIn { root, limit } => Answer::Synapses(
            SynapsesPni2::filter()
                .pre_pt_root_id_not_in([*root])
                .limit(lim(limit))
                .query(client)
                .await?
                .into_vec(),
        ),
        Case::Proofreading(strategy) => Answer::Proofreading(
            ProofreadingStatusAndStrategy::filter()
                .strategy_axon(strategy.clone())
                .query(client)
                .await?
                .into_vec(),
        ),
        Case::CellTypes { cell_type, roots } => Answer::CellTypes(
            AibsMetamodelCelltypesV661::filter()
                .cell_type(cell_type.clone())
                .pt_root_id_in(roots.iter().copied())
                .query(client)
                .await?
                .into_vec(),
        ),
        Case::Selection => Answer::Batches(
            ProofreadingStatusAndStrategy::filter()
                .status_axon(true)
                .select([Column::PtRootId, Column::StrategyAxon])
                .query(client)
                .await?
                .concat()?,
        ),
        Case::UntypedNuclei { offset, limit } => Answer::Batches(
            TableQuery::new("nucleus_detection_v0")
                .version(1300)
                .offset(off(offset))
                .limit(lim(limit))
                .query(client)
                .await?
                .concat()?,
        ),
        Case::UntypedSynapses { size, limit } => Answer::Batches(
            TableQuery::new("synapses_pni_2")
                .version(1300)
                .compare("size", Compare::Greater, size)
                .limit(lim(limit))
                .query(client)
                .await?
                .concat()?,
        ),
        Case::StreamSynapses {
            size,
            offset,
            limit,
        } => {
            let filter = SynapsesPni2::filter()
                .size_gt(*size)
                .offset(off(offset))
                .limit(lim(limit));
            let mut stream = client.stream(filter).await?;
            let mut rows = Vec::new();
            while let Some(chunk) = stream.next().await? {
                rows.extend(chunk);
            }
            Answer::Synapses(rows)
        }
        Case::StreamNuclei { offset, limit } => {
            let mut stream = TableQuery::new("nucleus_detection_v0")
                .version(1300)
                .offset(off(offset))
                .limit(lim(limit))
                .stream(client)
                .await?;
            let mut batches = Vec::new();
            while let Some(batch) = stream.next().await? {
                batches.push(batch);
            }
            let schema = stream.schema().expect("a schema after the rows").clone();
            Answer::Batches(arrow_select::concat::concat_batches(&schema, &batches).unwrap())
        }
        Case::UntypedJoin { roots } => Answer::Batches(
            TableQuery::new("aibs_metamodel_celltypes_v661")
                .version(1300)
                .is_in(target("pt_root_id"), roots.iter().map(|r| r.0))
                .query(client)
                .await?
                .concat()?,
        ),
    })
}

/// The cases, kinds interleaved, built from the fault-free tables.
async fn cases(client: &Client) -> Vec<Case> {
    let synapses = SynapsesPni2::filter()
        .query(client)
        .await
        .unwrap()
        .into_vec();
    assert_eq!(synapses.len(), SYNAPSES);
    let proofread = ProofreadingStatusAndStrategy::filter()
        .status_axon(true)
        .query(client)
        .await
        .unwrap()
        .into_vec();
    assert_eq!(proofread.len(), 1723);

    // Roots by how many synapses they have on each side, most first.
    let busiest = |side: fn(&SynapsesPni2) -> Option<RootId>| -> Vec<RootId> {
        let mut n: BTreeMap<i64, usize> = BTreeMap::new();
        for s in &synapses {
            if let Some(r) = side(s) {
                *n.entry(r.0).or_default() += 1;
            }
        }
        let mut roots: Vec<(usize, i64)> = n.into_iter().map(|(r, c)| (c, r)).collect();
        roots.sort_unstable_by(|a, b| b.cmp(a));
        roots.into_iter().map(|(_, r)| RootId(r)).collect()
    };
    let post = busiest(|s| s.post_pt_root_id);
    let pre = busiest(|s| s.pre_pt_root_id);
    let mut sizes: Vec<f32> = synapses.iter().filter_map(|s| s.size).collect();
    sizes.sort_by(f32::total_cmp);
    let size_at = |q: usize| sizes[sizes.len() * q / 100];
    let proofread_roots: Vec<RootId> = proofread.iter().filter_map(|r| r.pt_root_id).collect();
    let cell_types = [
        AibsMetamodelCellType::_23p,
        AibsMetamodelCellType::_4p,
        AibsMetamodelCellType::_5pIt,
        AibsMetamodelCellType::Bc,
    ];
    let strategies = [
        ProofreadingStrategy::AxonPartiallyExtended,
        ProofreadingStrategy::AxonFullyExtended,
        ProofreadingStrategy::AxonInterareal,
        ProofreadingStrategy::None,
    ];

    let mut cases = Vec::new();
    for i in 0..12usize {
        let chunk = |len: usize| -> Vec<RootId> {
            proofread_roots
                .iter()
                .cycle()
                .skip(i * 97)
                .take(len)
                .copied()
                .collect()
        };
        cases.push(Case::PostSynapses(post[i * 3]));
        cases.push(Case::PreSynapses {
            roots: [pre[i], pre[i + 20]],
            offset: (i % 3) as u64,
            limit: 5 + (i as u64 * 7) % 50,
        });
        cases.push(Case::BigSynapses {
            size: size_at(10 + i * 5),
            offset: (i as u64 * 37) % 300,
            limit: 100 + (i as u64 * 173) % 1_100,
        });
        cases.push(Case::Proofreading(strategies[i % strategies.len()].clone()));
        cases.push(Case::NotIn {
            root: pre[i],
            limit: 300 + (i as u64 * 211) % 900,
        });
        // The server's joins are slow in debug builds (a scan of 94,014 rows): fewer of them.
        if i % 3 == 0 {
            cases.push(Case::CellTypes {
                cell_type: cell_types[(i / 3) % cell_types.len()].clone(),
                roots: chunk(300 + i * 40),
            });
        }
        cases.push(Case::UntypedNuclei {
            offset: i as u64 * 1_000,
            limit: 50 + (i as u64 * 131) % 800,
        });
        cases.push(Case::UntypedSynapses {
            size: size_at(5 + i * 7),
            limit: 20 + (i as u64 * 59) % 600,
        });
        if i % 4 == 1 {
            cases.push(Case::UntypedJoin { roots: chunk(50) });
        }
        if i % 4 == 0 {
            cases.push(Case::Selection);
        }
        if i % 2 == 0 {
            cases.push(Case::StreamSynapses {
                size: size_at(15 + i * 5),
                offset: (i as u64 * 53) % 300,
                limit: 200 + (i as u64 * 157) % 1_000,
            });
        } else {
            cases.push(Case::StreamNuclei {
                offset: 500 + i as u64 * 900,
                limit: 100 + (i as u64 * 97) % 900,
            });
        }
    }
    cases
}

/// The mix of faults, on every path: about 40 % of the requests meet one (30 % one that fails
/// the attempt).
fn faults(seed: u64) -> Vec<FaultSpec> {
    [
        ("status=500", 0.02),
        ("status=502", 0.05),
        ("status=503", 0.05),
        ("status=504", 0.05),
        ("status=429,retry_after=0", 0.05),
        ("status=429,retry_after=1", 0.003),
        ("truncate=100", 0.06),
        ("truncate=3000", 0.04),
        ("content_type=text/html,method=POST", 0.015),
        ("latency_ms=30", 0.1),
        ("latency_ms=80", 0.02),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (text, rate))| {
        FaultSpec::parse(text)
            .unwrap()
            .with_rate(rate, seed * 1_000 + i as u64)
    })
    .collect()
}

/// How one query ended.
#[derive(Debug)]
enum Outcome {
    Exact,
    /// A clear error, by kind (`Http 503`, `Transport cut short`, ...).
    Clear(String),
    /// An error that is not one the faults explain, or lacks what it must say.
    Unclear(String),
    Wrong(String),
    Hung,
    Panicked(String),
}

/// Whether `e` is an error the faults explain, and says what it must: its kind, or why not.
fn classify(e: &Error) -> Result<String, String> {
    let text = e.to_string();
    let full = MAX_RETRIES + 1;
    match e {
        // A 500 is not retried; it may come after retried faults.
        Error::Http {
            status: 500,
            attempts,
            ..
        } if (1..=full).contains(attempts) && text.contains("HTTP 500") => Ok("Http 500".into()),
        Error::Http {
            status: status @ (429 | 502 | 503 | 504),
            attempts,
            ..
        } if *attempts == full
            && text.contains(&format!("HTTP {status}"))
            && text.contains(&format!("{full} attempts")) =>
        {
            Ok(format!("Http {status}"))
        }
        Error::Transport { attempts, .. } if *attempts == full && text.contains("cut short") => {
            Ok("Transport cut short".into())
        }
        Error::BadResponse { problem, .. }
            if problem.contains("text/html") && problem.contains("data.arrow") =>
        {
            Ok("BadResponse content type".into())
        }
        _ => Err(format!("{e:?}: {text}")),
    }
}

#[test]
fn every_query_under_faults_is_exact_or_a_clear_error() {
    let queries = env_usize("CAVE_SOAK_QUERIES", 2_000);
    let concurrency = env_usize("CAVE_SOAK_CONCURRENCY", 12).max(1);
    let seed = env_usize("CAVE_SOAK_SEED", 1) as u64;
    let mut config = ServerConfig::new(snapshot_dir());
    config.sample.synapses = SYNAPSES;
    config.sample.versions = vec![1300];
    config.row_limit = ROW_LIMIT;
    config.row_order = RowOrder::Random { seed };
    let whole = {
        // The same data with a cap no query reaches: the full answers in one page each.
        let mut config = config.clone();
        config.row_limit = 1 << 30;
        config.row_order = RowOrder::Stored;
        BackgroundServer::start(config).expect("devserver starts")
    };
    let server = BackgroundServer::start(config).expect("devserver starts");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // Fault-free answers first.
    let clean = client(&server, RetryPolicy::default());
    let one_page = client(&whole, RetryPolicy::default());
    let (cases, expected) = runtime.block_on(async {
        let cases = cases(&clean).await;
        let mut expected = Vec::new();
        let mut full_answers: BTreeMap<String, Answer> = BTreeMap::new();
        for case in &cases {
            // The clean answer, as it must be: the same rows as without offset and limit.
            let answer = run(&clean, case, true).await.unwrap();
            assert!(answer.rows() > 0, "{case:?} returns rows");
            let (offset, limit) = case.bounds();
            let unbounded = format!("{:?}", case.without_bounds());
            let full = match full_answers.get(&unbounded) {
                Some(full) => full.clone(),
                None => {
                    let full = run(&one_page, case, false).await.unwrap().sorted();
                    full_answers.insert(unbounded, full.clone());
                    full
                }
            };
            let want = Expected {
                full,
                offset,
                limit,
            };
            if let Err(why) = answer.check(&want) {
                panic!("{case:?} without faults: {why}");
            }
            expected.push(want);
        }
        (cases, expected)
    });
    let paged = expected
        .iter()
        .filter(|e| e.full.rows() > ROW_LIMIT && e.limit.is_none_or(|l| l > ROW_LIMIT as u64))
        .count();
    assert!(paged >= cases.len() / 5, "{paged} of the cases take pages");
    let clean_requests = server.requests();

    for spec in faults(seed) {
        server.faults().push(spec);
    }
    // A fresh client, so that its first GETs (info, versions, metadata) meet faults too; quick
    // backoff so that the soak is bounded.
    let soak = client(
        &server,
        RetryPolicy {
            max_retries: MAX_RETRIES,
            backoff_factor: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(2),
        },
    );
    let cases = Arc::new(cases);
    let expected = Arc::new(expected);
    let started = Instant::now();
    let outcomes: Vec<(usize, Outcome)> = runtime.block_on(async {
        let next = Arc::new(AtomicUsize::new(0));
        let mut workers = Vec::new();
        for _ in 0..concurrency {
            let (next, cases, expected, soak) =
                (next.clone(), cases.clone(), expected.clone(), soak.clone());
            workers.push(tokio::spawn(async move {
                let mut outcomes = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= queries {
                        return outcomes;
                    }
                    let c = i % cases.len();
                    let case = cases[c].clone();
                    let client = soak.clone();
                    // Its own task, so that a panic is caught and counted.
                    let task = tokio::spawn(async move {
                        tokio::time::timeout(QUERY_DEADLINE, run(&client, &case, true)).await
                    });
                    let outcome = match task.await {
                        Err(e) => Outcome::Panicked(e.to_string()),
                        Ok(Err(_)) => Outcome::Hung,
                        Ok(Ok(Ok(answer))) => match answer.check(&expected[c]) {
                            Ok(()) => Outcome::Exact,
                            Err(why) => Outcome::Wrong(why),
                        },
                        Ok(Ok(Err(e))) => match classify(&e) {
                            Ok(kind) => Outcome::Clear(kind),
                            Err(why) => Outcome::Unclear(why),
                        },
                    };
                    outcomes.push((c, outcome));
                }
            }));
        }
        let mut all = Vec::new();
        for w in workers {
            all.extend(w.await.expect("a worker ends"));
        }
        all
    });
    let elapsed = started.elapsed();
    let soak_requests = server.requests() - clean_requests;
    let counts = server.faults().counts();
    server.faults().clear();

    // After the faults, the same client answers exactly again.
    runtime.block_on(async {
        for (case, want) in cases.iter().zip(expected.iter()).take(10) {
            if let Err(why) = run(&soak, case, true).await.unwrap().check(want) {
                panic!("{case:?} after the faults: {why}");
            }
        }
    });

    let mut exact = 0;
    let mut clear: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems: Vec<String> = Vec::new();
    let (mut wrong, mut hung, mut panicked, mut unclear) = (0, 0, 0, 0);
    for (c, outcome) in &outcomes {
        match outcome {
            Outcome::Exact => exact += 1,
            Outcome::Clear(kind) => *clear.entry(kind.clone()).or_default() += 1,
            Outcome::Wrong(why) => {
                wrong += 1;
                problems.push(format!("WRONG ROWS {:?}: {why}", cases[*c]));
            }
            Outcome::Hung => {
                hung += 1;
                problems.push(format!("HUNG {:?}", cases[*c]));
            }
            Outcome::Panicked(why) => {
                panicked += 1;
                problems.push(format!("PANIC {:?}: {why}", cases[*c]));
            }
            Outcome::Unclear(why) => {
                unclear += 1;
                problems.push(format!("UNCLEAR ERROR {:?}: {why}", cases[*c]));
            }
        }
    }
    let errors: usize = clear.values().sum();
    let by_kind: Vec<String> = clear.iter().map(|(k, n)| format!("{k}: {n}")).collect();
    println!(
        "soak: {} queries ({} cases, {paged} paged; {concurrency} at once; seed {seed}), \
         {exact} ok (all exact), {errors} clear errors ({}), {wrong} wrong, {hung} hung, \
         {panicked} panicked, {unclear} unclear, {:.1} s",
        outcomes.len(),
        cases.len(),
        by_kind.join(", "),
        elapsed.as_secs_f64()
    );
    let fired: u64 = counts.iter().map(|c| c.fired).sum();
    println!(
        "soak: {soak_requests} requests ({:.2} a query), {fired} faults injected:",
        soak_requests as f64 / outcomes.len() as f64
    );
    for c in &counts {
        println!("  {:>5}  {}", c.fired, c.spec);
    }
    for p in problems.iter().take(20) {
        println!("{p}");
    }

    assert_eq!(outcomes.len(), queries);
    assert!(
        problems.is_empty(),
        "{} problems: {problems:#?}",
        problems.len()
    );
    assert!(exact >= queries / 2, "{exact} of {queries} ok");
    // Every kind of error the faults can cause shows up, so the test can tell them apart.
    for kind in [
        "Http 500",
        "Transport cut short",
        "BadResponse content type",
    ] {
        assert!(clear.contains_key(kind), "no {kind} among {by_kind:?}");
    }
    assert!(
        ["Http 429", "Http 502", "Http 503", "Http 504"]
            .iter()
            .filter(|k| clear.contains_key(**k))
            .count()
            >= 2,
        "retries that ran out: {by_kind:?}"
    );
    // Retries happened: more requests than queries need without faults.
    assert!(fired > 0 && soak_requests > outcomes.len() as u64);
    drop(runtime);
}
