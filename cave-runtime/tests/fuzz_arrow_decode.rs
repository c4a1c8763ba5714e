//! Fuzzing the Arrow IPC decoding of query answers: `response::read_stream`,
//! `response::BodyBatches` (the chunked `ipc::Chunks` reader) and `response::read_rows::<T>`
//! for generated row types of
//! `synapses_pni_2` and `proofreading_status_and_strategy`.
//!
//! Inputs:
//! - real response bodies made in-process by the devserver's encoder
//!   (`cave_devserver::query::encode::arrow_stream`) from small tables with known rows, in every
//!   compression (none, LZ4_FRAME, ZSTD), with a pandas index column, with a binary column, as
//!   several record batches, and one body big
//!   enough (over 1 MiB) for the multi-threaded path (workers decoding ahead);
//! - those bodies mutated: bits flipped, bytes overwritten, cut at random offsets and at every
//!   kind of boundary (message length, header, body, buffer), two bodies spliced, a message
//!   duplicated or dropped, and structure-aware edits of the message length prefixes, the
//!   buffers' uncompressed-length prefixes and the header's batch length, node lengths, null
//!   counts, buffer offsets and buffer lengths;
//! - arbitrary bytes, alone and after a real schema message;
//! - crafted headers (huge lengths) as explicit tests.
//!
//! Properties: nothing panics; nothing hangs (a watchdog thread aborts the run and saves the
//! input when one decode takes more than `FUZZ_TIMEOUT_SECS`, default 60); nothing allocates
//! absurdly (this test's allocator refuses any single allocation over 1 GiB: fallible callers get
//! an error, infallible ones abort the run after saving the input to `CARGO_TARGET_TMPDIR`); an
//! answer's row count is plausible for the bytes it came from; `read_stream`, chunked reading
//! with any chunk size and `read_rows` agree; unmodified bodies decode to exactly the rows they
//! were made from (so the test can fail), and a cut body is an error wherever it is cut (the
//! end-of-stream marker is required).
//!
//! What it found is in `tests/fuzz-regressions/` (README there), fixed in beb7411 and checked
//! by the `regression_*` tests: a batch without data columns came as endless empty chunks, and
//! an LZ4 buffer's declared length on the arrow-ipc fallback was allocated (a TiB: abort). That
//! fallback is gone: types the chunked reader does not read are refused.
//!
//! CI runs 600 cases per property, 16 of the big body, and the byte-by-byte tests over nine
//! bodies (about 7 s in debug on two cores; proptest picks a new seed each run). Run longer
//! with e.g. `PROPTEST_CASES=20000 cargo test --release -p cave-runtime --test fuzz_arrow_decode`
//! (the big body gets a twentieth of the cases); `FUZZ_EXHAUSTIVE=1` cuts every body at every
//! byte; `FUZZ_VERBOSE=1` (with `-- --nocapture`) prints what each case came to.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Float32Array, Int64Array, RecordBatch};
use arrow_ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow_ipc::{CompressionType, MessageHeader};
use cave_devserver::query::body::QueryBody;
use cave_devserver::query::encode::{self, Compression};
use cave_devserver::query::engine::{self, Frame, Options};
use cave_devserver::store::{TableBuilder, TableData};
use cave_runtime::cave_schema::Snapshot;
use cave_runtime::{AnnotationId, Resolution, RootId, SupervoxelId};
use cave_runtime::{BodyBatches, read_rows, read_stream};
use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use proptest::sample::Index;

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = ["synapses_pni_2", "proofreading_status_and_strategy"]
    );
}
use minnie::{ProofreadingStatusAndStrategy, ProofreadingStrategy, SynapsesPni2};

// ---------------------------------------------------------------------------------------------
// The allocator: refuses single allocations over 1 GiB, and keeps each thread's largest one

const HARD_CAP: usize = 1 << 30;

struct Guard;

thread_local! {
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static REFUSED_HERE: Cell<usize> = const { Cell::new(0) };
}
static REFUSED: AtomicUsize = AtomicUsize::new(0);

fn note(size: usize) -> bool {
    if size > HARD_CAP {
        REFUSED.fetch_add(1, Ordering::Relaxed);
        let _ = REFUSED_HERE.try_with(|r| r.set(r.get() + 1));
        refused(size);
        return false;
    }
    let _ = PEAK.try_with(|p| p.set(p.get().max(size)));
    true
}

unsafe impl GlobalAlloc for Guard {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !note(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !note(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !note(new_size) {
            return std::ptr::null_mut();
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Guard = Guard;

/// The largest single allocation of this thread while `f` runs.
fn peak_of<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = PEAK.with(|p| p.replace(0));
    let r = f();
    let peak = PEAK.with(|p| p.replace(before.max(p.get())));
    (r, peak)
}

// ---------------------------------------------------------------------------------------------
// The watchdog: a decode that runs too long aborts the run with its input saved

/// Decodes in flight: id → (started, label, input).
type InFlight = Mutex<HashMap<u64, (Instant, String, Arc<Vec<u8>>)>>;

static IN_FLIGHT: OnceLock<InFlight> = OnceLock::new();
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn in_flight() -> &'static InFlight {
    IN_FLIGHT.get_or_init(|| {
        let timeout = std::env::var("FUZZ_TIMEOUT_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(60);
        std::thread::Builder::new()
            .name("fuzz-watchdog".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(500));
                    let Some(map) = IN_FLIGHT.get() else { continue };
                    let Ok(map) = map.lock() else { continue };
                    if let Some((_, label, input)) = map
                        .values()
                        .find(|(t, _, _)| t.elapsed() > Duration::from_secs(timeout))
                    {
                        let file = save("hang", input);
                        eprintln!(
                            "fuzz watchdog: `{label}` has run for over {timeout} s on a {}-byte input, saved as {}; aborting",
                            input.len(),
                            file.display()
                        );
                        std::process::abort();
                    }
                }
            })
            .unwrap();
        Mutex::new(HashMap::new())
    })
}

thread_local! {
    /// The input being decoded on this thread, for the allocator's report.
    static CURRENT: std::cell::RefCell<Option<Arc<Vec<u8>>>> = const { std::cell::RefCell::new(None) };
}

/// Marks a decode in flight for the watchdog until dropped.
struct Watch(u64);

fn watch(label: &str, input: &[u8]) -> Watch {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let input = Arc::new(input.to_vec());
    CURRENT.with(|c| *c.borrow_mut() = Some(input.clone()));
    in_flight()
        .lock()
        .unwrap()
        .insert(id, (Instant::now(), label.to_string(), input));
    Watch(id)
}

impl Drop for Watch {
    fn drop(&mut self) {
        in_flight().lock().unwrap().remove(&self.0);
        let _ = CURRENT.try_with(|c| c.borrow_mut().take());
    }
}

fn save(kind: &str, input: &[u8]) -> std::path::PathBuf {
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("fuzz-arrow-{kind}-{}.bin", std::process::id()));
    let _ = std::fs::write(&file, input);
    file
}

/// Called by the allocator before it refuses: save the input (allocating is fine here; the
/// sizes are small).
fn refused(size: usize) {
    let input = CURRENT.try_with(|c| c.try_borrow().ok().and_then(|c| c.clone()));
    if let Ok(Some(input)) = input {
        let file = save("alloc", &input);
        eprintln!(
            "fuzz allocator: refused {size} bytes while decoding a {}-byte input (saved as {})",
            input.len(),
            file.display()
        );
    } else {
        eprintln!("fuzz allocator: refused {size} bytes");
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn config(default: u32) -> ProptestConfig {
    ProptestConfig {
        cases: cases(default),
        max_global_rejects: 100_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn verbose() -> bool {
    std::env::var_os("FUZZ_VERBOSE").is_some()
}

// ---------------------------------------------------------------------------------------------
// Real bodies from the devserver's encoder, with known rows

const T0: i64 = 1_600_000_000_000_000_000;

fn snapshot() -> &'static Snapshot {
    static S: OnceLock<Snapshot> = OnceLock::new();
    S.get_or_init(|| {
        Snapshot::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../schemas/minnie65_public"
        ))
        .unwrap_or_else(|e| panic!("{e}"))
    })
}

/// A deterministic hash, for values that do not compress (the big body).
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The values of row `i` of the synapse table (`noisy`: values that do not compress).
struct Syn {
    id: i64,
    created: i64,
    pre: [i32; 3],
    pre_sv: Option<i64>,
    pre_root: Option<i64>,
    post: [i32; 3],
    post_sv: Option<i64>,
    post_root: Option<i64>,
    ctr: [i32; 3],
    size: Option<f32>,
}

fn syn(i: usize, noisy: bool) -> Syn {
    let n = if noisy { mix(i as u64) } else { i as u64 };
    let k = i as i64;
    let small = if noisy {
        (n >> 40) as i32 & 0xf_ffff
    } else {
        (n % 100_000) as i32
    };
    Syn {
        id: k + 1,
        created: T0 + k * 1_000_000_007,
        pre: [small, small * 2 + 1, (n % 7000) as i32],
        pre_sv: (i % 7 != 3).then_some(88_000_000_000_000_000 + (n % 1_000_000_000) as i64),
        pre_root: (i % 5 != 4).then_some(864_691_135_000_000_000 + (n % 100_000_000) as i64),
        post: [small + 3, small * 2 - 5, (n % 6000) as i32 + 1],
        post_sv: (i % 9 != 8).then_some(88_000_000_000_000_001 + (n % 999_999_937) as i64),
        post_root: (i % 4 != 1).then_some(864_691_135_000_000_001 + (n % 99_999_989) as i64),
        ctr: [small + 1, small * 2, (n % 5000) as i32 + 2],
        size: (i % 6 != 5).then_some((n % 10_000) as f32 * 0.25),
    }
}

fn synapse_table(rows: usize, noisy: bool) -> TableData {
    let s: Vec<Syn> = (0..rows).map(|i| syn(i, noisy)).collect();
    let mut b = TableBuilder::new(snapshot(), "synapses_pni_2", rows).unwrap();
    b.int64("id", s.iter().map(|r| r.id).collect()).unwrap();
    b.timestamp_ns("created", s.iter().map(|r| r.created).collect())
        .unwrap();
    b.bool("valid", vec![true; rows]).unwrap();
    b.position(
        "pre_pt_position",
        &s.iter().map(|r| r.pre).collect::<Vec<_>>(),
    )
    .unwrap();
    b.int64_opt("pre_pt_supervoxel_id", s.iter().map(|r| r.pre_sv).collect())
        .unwrap();
    b.int64_opt("pre_pt_root_id", s.iter().map(|r| r.pre_root).collect())
        .unwrap();
    b.position(
        "post_pt_position",
        &s.iter().map(|r| r.post).collect::<Vec<_>>(),
    )
    .unwrap();
    b.int64_opt(
        "post_pt_supervoxel_id",
        s.iter().map(|r| r.post_sv).collect(),
    )
    .unwrap();
    b.int64_opt("post_pt_root_id", s.iter().map(|r| r.post_root).collect())
        .unwrap();
    b.position(
        "ctr_pt_position",
        &s.iter().map(|r| r.ctr).collect::<Vec<_>>(),
    )
    .unwrap();
    let size: ArrayRef = Arc::new(Float32Array::from(
        s.iter().map(|r| r.size).collect::<Vec<_>>(),
    ));
    b.array("size", size).unwrap();
    b.finish().unwrap()
}

const STRATEGIES: [&str; 4] = [
    "none",
    "axon_fully_extended",
    "dendrite_clean",
    "a_strategy_the_snapshot_does_not_know",
];

fn proofreading_table(rows: usize) -> TableData {
    let mut b = TableBuilder::new(snapshot(), "proofreading_status_and_strategy", rows).unwrap();
    let k = |i: usize| i as i64;
    b.int64("id", (0..rows).map(|i| k(i) + 1).collect())
        .unwrap();
    b.timestamp_ns("created", (0..rows).map(|i| T0 + k(i)).collect())
        .unwrap();
    b.bool("valid", vec![true; rows]).unwrap();
    let points: Vec<[i32; 3]> = (0..rows as i32).map(|i| [i, i + 1, i + 2]).collect();
    b.position("pt_position", &points).unwrap();
    b.int64_opt(
        "pt_supervoxel_id",
        (0..rows).map(|i| Some(k(i) * 11)).collect(),
    )
    .unwrap();
    b.int64_opt(
        "pt_root_id",
        (0..rows)
            .map(|i| (i % 3 != 2).then_some(864_691_135_000_000_000 + k(i)))
            .collect(),
    )
    .unwrap();
    b.int64(
        "valid_id",
        (0..rows).map(|i| 864_691_135_000_000_000 + k(i)).collect(),
    )
    .unwrap();
    b.bool("status_dendrite", (0..rows).map(|i| i % 2 == 0).collect())
        .unwrap();
    b.bool("status_axon", (0..rows).map(|i| i % 3 == 0).collect())
        .unwrap();
    let strategy = |offset: usize| -> Vec<&str> {
        (0..rows)
            .map(|i| STRATEGIES[(i + offset) % STRATEGIES.len()])
            .collect()
    };
    b.utf8("strategy_dendrite", &strategy(1)).unwrap();
    b.utf8("strategy_axon", &strategy(0)).unwrap();
    b.finish().unwrap()
}

fn frame_of(data: &TableData) -> Frame {
    let options = Options {
        row_limit: 1_000_000,
        count: false,
        random_sample: None,
        shuffle: None,
    };
    engine::simple(data, &QueryBody::default(), &options, None)
        .unwrap()
        .frame
}

const SYN_ROWS: usize = 37;
const PR_ROWS: usize = 29;
const BIG_ROWS: usize = 30_000;

/// Which table a body holds, and how many rows (the body's copies of the rows included).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Synapses,
    Proofreading,
}

struct Body {
    name: String,
    kind: Kind,
    /// Rows as the body holds them, in order: row `i % table_rows` of the table.
    rows: usize,
    table_rows: usize,
    noisy: bool,
    bytes: Vec<u8>,
}

fn compressions() -> [(Compression, &'static str); 3] {
    [
        (Compression::None, "none"),
        (Compression::Lz4, "lz4"),
        (Compression::Zstd, "zstd"),
    ]
}

/// Re-write a body as several record batches (the rows cut at `cuts`), same schema and
/// compression.
fn rebatch(bytes: &[u8], compression: Compression, cuts: &[usize]) -> Vec<u8> {
    let reader =
        arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None).unwrap();
    let schema = reader.schema();
    let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
    let all = arrow_select::concat::concat_batches(&schema, &batches).unwrap();
    let options = match compression {
        Compression::None => IpcWriteOptions::default(),
        Compression::Lz4 => IpcWriteOptions::default()
            .try_with_compression(Some(CompressionType::LZ4_FRAME))
            .unwrap(),
        Compression::Zstd => IpcWriteOptions::default()
            .try_with_compression(Some(CompressionType::ZSTD))
            .unwrap(),
    };
    let mut out = Vec::new();
    let mut w = StreamWriter::try_new_with_options(&mut out, &schema, options).unwrap();
    let mut start = 0;
    for &end in cuts.iter().chain([all.num_rows()].iter()) {
        w.write(&all.slice(start, end - start)).unwrap();
        start = end;
    }
    w.finish().unwrap();
    drop(w);
    out
}

fn bodies() -> &'static [Body] {
    static BODIES: OnceLock<Vec<Body>> = OnceLock::new();
    BODIES.get_or_init(|| {
        let syn = frame_of(&synapse_table(SYN_ROWS, false));
        let pr = frame_of(&proofreading_table(PR_ROWS));
        // The same synapse rows behind a pandas index column.
        let mut indexed = syn.clone();
        let index: ArrayRef = Arc::new(Int64Array::from_iter_values(
            (0..SYN_ROWS as i64).map(|i| i * 2),
        ));
        indexed.columns.push(("__index_level_0__".into(), index));
        // And with a binary column (no CAVE table has one; it is read like strings).
        let mut listed = syn.clone();
        let list: ArrayRef = Arc::new(arrow_array::BinaryArray::from_iter(
            (0..SYN_ROWS as i64)
                .map(|i| (i % 4 != 3).then(|| (0..i % 5).map(|b| b as u8).collect::<Vec<_>>())),
        ));
        listed.columns.push(("tags".into(), list));
        let mut out = Vec::new();
        for (c, cname) in compressions() {
            let mut push = |name: &str, kind, rows, table_rows, bytes| {
                out.push(Body {
                    name: format!("{name} ({cname})"),
                    kind,
                    rows,
                    table_rows,
                    noisy: false,
                    bytes,
                })
            };
            let s = encode::arrow_stream(&syn, c, None).unwrap();
            push("synapses", Kind::Synapses, SYN_ROWS, SYN_ROWS, s.clone());
            push(
                "synapses in 3 batches",
                Kind::Synapses,
                SYN_ROWS,
                SYN_ROWS,
                rebatch(&s, c, &[5, 6]),
            );
            push(
                "synapses with an index column",
                Kind::Synapses,
                SYN_ROWS,
                SYN_ROWS,
                encode::arrow_stream(&indexed, c, Some("__index_level_0__")).unwrap(),
            );
            push(
                "synapses with a binary column",
                Kind::Synapses,
                SYN_ROWS,
                SYN_ROWS,
                encode::arrow_stream(&listed, c, None).unwrap(),
            );
            let p = encode::arrow_stream(&pr, c, None).unwrap();
            push(
                "proofreading",
                Kind::Proofreading,
                PR_ROWS,
                PR_ROWS,
                p.clone(),
            );
            push(
                "proofreading in 2 batches",
                Kind::Proofreading,
                PR_ROWS,
                PR_ROWS,
                rebatch(&p, c, &[17]),
            );
        }
        out
    })
}

/// The bodies the mutating properties start from.
fn mutable_bodies() -> Vec<&'static Body> {
    bodies().iter().collect()
}

/// A body over 1 MiB (values that do not compress), read by several threads.
fn big_body() -> &'static Body {
    static BIG: OnceLock<Body> = OnceLock::new();
    BIG.get_or_init(|| {
        let frame = frame_of(&synapse_table(BIG_ROWS, true));
        let bytes = encode::arrow_stream(&frame, Compression::Zstd, None).unwrap();
        assert!(
            bytes.len() >= 2 * cave_runtime::bench::PARALLEL_MIN_BYTES,
            "the big body is {} bytes",
            bytes.len()
        );
        Body {
            name: "big synapses (zstd)".into(),
            kind: Kind::Synapses,
            rows: BIG_ROWS,
            table_rows: BIG_ROWS,
            noisy: true,
            bytes,
        }
    })
}

fn check_synapses(rows: &[SynapsesPni2], body: &Body) {
    assert_eq!(rows.len(), body.rows, "{}", body.name);
    let res = Resolution::from_f64([4.0, 4.0, 40.0]);
    for (i, r) in rows.iter().enumerate() {
        let e = syn(i % body.table_rows, body.noisy);
        let at = format!("{} row {i}", body.name);
        assert_eq!(r.id, AnnotationId(e.id), "{at}");
        assert_eq!(r.created, Some(Utc.timestamp_nanos(e.created)), "{at}");
        assert_eq!(r.superceded_id, None, "{at}");
        assert!(r.valid, "{at}");
        for (p, want) in [
            (&r.pre_pt_position, e.pre),
            (&r.post_pt_position, e.post),
            (&r.ctr_pt_position, e.ctr),
        ] {
            assert_eq!([p.x, p.y, p.z], want, "{at}");
            assert_eq!(p.resolution, res, "{at}");
        }
        assert_eq!(r.pre_pt_supervoxel_id, e.pre_sv.map(SupervoxelId), "{at}");
        assert_eq!(r.pre_pt_root_id, e.pre_root.map(RootId), "{at}");
        assert_eq!(r.post_pt_supervoxel_id, e.post_sv.map(SupervoxelId), "{at}");
        assert_eq!(r.post_pt_root_id, e.post_root.map(RootId), "{at}");
        assert_eq!(r.size, e.size, "{at}");
    }
}

fn check_proofreading(rows: &[ProofreadingStatusAndStrategy], body: &Body) {
    assert_eq!(rows.len(), body.rows, "{}", body.name);
    for (row, r) in rows.iter().enumerate() {
        let i = row % body.table_rows;
        let at = format!("{} row {row}", body.name);
        assert_eq!(r.id, AnnotationId(i as i64 + 1), "{at}");
        assert_eq!(r.created, Some(Utc.timestamp_nanos(T0 + i as i64)), "{at}");
        assert!(r.valid, "{at}");
        let p = &r.pt_position;
        assert_eq!(
            [p.x, p.y, p.z],
            [i as i32, i as i32 + 1, i as i32 + 2],
            "{at}"
        );
        assert_eq!(
            r.pt_supervoxel_id,
            Some(SupervoxelId(i as i64 * 11)),
            "{at}"
        );
        assert_eq!(
            r.pt_root_id,
            (i % 3 != 2).then_some(RootId(864_691_135_000_000_000 + i as i64)),
            "{at}"
        );
        assert_eq!(r.valid_id, 864_691_135_000_000_000 + i as i64, "{at}");
        assert_eq!(r.status_dendrite, i.is_multiple_of(2), "{at}");
        assert_eq!(r.status_axon, i.is_multiple_of(3), "{at}");
        let strategy = |s: &str| {
            ProofreadingStrategy::KNOWN
                .iter()
                .find(|k| k.as_str() == s)
                .cloned()
                .unwrap_or_else(|| ProofreadingStrategy::Other(s.to_string()))
        };
        assert_eq!(
            r.strategy_dendrite,
            strategy(STRATEGIES[(i + 1) % STRATEGIES.len()]),
            "{at}"
        );
        assert_eq!(
            r.strategy_axon,
            strategy(STRATEGIES[i % STRATEGIES.len()]),
            "{at}"
        );
    }
    assert!(
        rows.iter()
            .any(|r| matches!(r.strategy_axon, ProofreadingStrategy::Other(_)))
    );
}

// ---------------------------------------------------------------------------------------------
// The stream's structure, to mutate it with sense

/// Where things are in a stream, as far as it parses.
#[derive(Debug, Default, Clone)]
struct Shape {
    /// Each message: (start, the length word's offset, header start, header end, body end).
    messages: Vec<[usize; 5]>,
    /// Each compressed buffer's 8-byte length prefix: (offset, the length it declares, codec).
    prefixes: Vec<(usize, i64, CompressionType)>,
    /// Byte offsets inside headers of 8-byte integers worth editing: batch length, node
    /// lengths and null counts, buffer offsets and lengths.
    fields: Vec<usize>,
    /// Sum over record batches of the buffers' declared sizes (uncompressed where declared).
    declared_bytes: u128,
    /// Record batches whose header parsed.
    batches: usize,
}

/// Walk the messages of a stream the way a reader does, stopping at the first that does not
/// parse.
fn layout(bytes: &[u8]) -> Shape {
    let mut l = Shape::default();
    let mut pos = 0usize;
    let word = |at: usize| -> Option<i32> {
        bytes
            .get(at..at + 4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    while let Some(w) = word(pos) {
        let (len_at, len) = if w == -1 {
            match word(pos + 4) {
                Some(n) => (pos + 4, n),
                None => break,
            }
        } else {
            (pos, w)
        };
        let Ok(len) = usize::try_from(len) else { break };
        if len == 0 {
            break;
        }
        let header = len_at + 4;
        let Some(meta) = bytes.get(header..header + len) else {
            break;
        };
        let Ok(message) = arrow_ipc::root_as_message(meta) else {
            break;
        };
        let Ok(body_len) = usize::try_from(message.bodyLength()) else {
            break;
        };
        let body_start = header + len;
        let Some(body_end) = body_start.checked_add(body_len) else {
            break;
        };
        l.messages.push([pos, len_at, header, body_start, body_end]);
        let find = |value: i64, out: &mut Vec<usize>| {
            let pattern = value.to_le_bytes();
            if let Some(k) = meta.windows(8).position(|w| w == pattern) {
                out.push(header + k);
            }
        };
        if message.header_type() == MessageHeader::RecordBatch
            && let Some(rb) = message.header_as_record_batch()
        {
            l.batches += 1;
            find(rb.length(), &mut l.fields);
            for n in rb.nodes().iter().flat_map(|n| n.iter()) {
                find(n.length(), &mut l.fields);
                find(n.null_count(), &mut l.fields);
            }
            let codec = rb.compression().map(|c| c.codec());
            for b in rb.buffers().iter().flat_map(|b| b.iter()) {
                find(b.offset(), &mut l.fields);
                find(b.length(), &mut l.fields);
                let at = (body_start as i64).checked_add(b.offset());
                let declared = match (codec, at.and_then(|a| usize::try_from(a).ok())) {
                    (Some(codec), Some(at)) if b.length() >= 8 => match bytes.get(at..at + 8) {
                        Some(p) => {
                            let d = i64::from_le_bytes(p.try_into().unwrap());
                            l.prefixes.push((at, d, codec));
                            if d == -1 {
                                b.length().saturating_sub(8)
                            } else {
                                d
                            }
                        }
                        None => b.length(),
                    },
                    _ => b.length(),
                };
                l.declared_bytes += declared.max(0) as u128;
            }
        }
        pos = body_end;
    }
    l
}

/// Offsets where a cut is interesting: every message start, length word, header start, body
/// start and end, every buffer prefix, and one byte either side.
fn boundaries(bytes: &[u8]) -> Vec<usize> {
    let l = layout(bytes);
    let mut out: Vec<usize> = l
        .messages
        .iter()
        .flat_map(|m| m.iter().copied())
        .chain(l.prefixes.iter().flat_map(|p| [p.0, p.0 + 8]))
        .flat_map(|b| [b.saturating_sub(1), b, b + 1])
        .filter(|&b| b <= bytes.len())
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

// ---------------------------------------------------------------------------------------------
// Decoding with the checks of every property

#[derive(Debug)]
enum Outcome {
    /// Every chunk read: total rows, and the batches concatenated (None when there are none).
    Ok(usize, Option<RecordBatch>),
    Err(String),
    /// More rows than the limit handed out.
    TooMany(usize),
}

const ROW_LIMIT: usize = 1 << 22;

/// Read a body chunk by chunk, stopping after `ROW_LIMIT` rows.
fn bounded(bytes: &[u8], chunk_rows: usize) -> Outcome {
    let mut batches = match BodyBatches::with_chunk_rows(bytes.to_vec(), chunk_rows) {
        Ok(b) => b,
        Err(e) => return Outcome::Err(e),
    };
    let schema = batches.schema().clone();
    let mut rows = 0usize;
    let mut got = Vec::new();
    for b in &mut batches {
        match b {
            Ok(b) => {
                if b.schema() != schema {
                    return Outcome::Err(format!("a chunk's schema differs: {:?}", b.schema()));
                }
                rows = rows.saturating_add(b.num_rows());
                if rows > ROW_LIMIT {
                    return Outcome::TooMany(rows);
                }
                got.push(b);
            }
            Err(e) => return Outcome::Err(e),
        }
    }
    let all = (!got.is_empty())
        .then(|| arrow_select::concat::concat_batches(&schema, &got).expect("chunks concatenate"));
    Outcome::Ok(rows, all)
}

/// Whether the schema's kept columns hold data (a column of type null, or no column, does
/// not: its rows cost nothing in the body).
fn has_data_columns(bytes: &[u8]) -> bool {
    match BodyBatches::new(bytes.to_vec()) {
        Ok(b) => b
            .schema()
            .fields()
            .iter()
            .any(|f| f.data_type() != &arrow_schema::DataType::Null),
        Err(_) => true,
    }
}

/// Stats of a run (FUZZ_VERBOSE=1 prints them per case).
fn report(label: &str, outcome: &Outcome, peak: usize) {
    if verbose() {
        let what = match outcome {
            Outcome::Ok(n, _) => format!("ok {n} rows"),
            Outcome::Err(e) => format!("err {}", e.chars().take(90).collect::<String>()),
            Outcome::TooMany(n) => format!("too many {n}"),
        };
        eprintln!("case {label}: peak {peak} B: {what}");
    }
}

/// Decode `bytes` every way and check that the ways agree and stay within bounds.
fn decode_all(bytes: &[u8], label: &str) -> Result<Outcome, TestCaseError> {
    let _w = watch(label, bytes);
    let (outcome, peak) = peak_of(|| bounded(bytes, cave_runtime::bench::DEFAULT_CHUNK_ROWS));
    report(label, &outcome, peak);
    match &outcome {
        Outcome::Err(e) => prop_assert!(!e.trim().is_empty()),
        Outcome::TooMany(rows) => {
            prop_assert!(
                !has_data_columns(bytes),
                "{label}: over {rows} rows handed out from a {}-byte body",
                bytes.len()
            );
            // A batch without data columns (none, or all of type null) has the rows its header
            // says, in one chunk (fixed in beb7411: they used to come as endless empty
            // chunks). read_stream must end (the watchdog sees to it) and agree.
            match read_stream(bytes.to_vec()) {
                Ok((_, batches)) => {
                    let n: u128 = batches.iter().map(|b| b.num_rows() as u128).sum();
                    prop_assert!(n >= *rows as u128, "{label}: read_stream has {n} rows");
                }
                Err(e) => prop_assert!(!e.trim().is_empty()),
            }
            for t in [
                read_rows::<SynapsesPni2>(bytes.to_vec(), None).map(|r| r.len()),
                read_rows::<ProofreadingStatusAndStrategy>(bytes.to_vec(), None).map(|r| r.len()),
            ] {
                prop_assert!(t.is_err(), "{label}: typed rows from a batch without data");
            }
            return Ok(outcome);
        }
        Outcome::Ok(rows, _) => {
            // Plausible: every row of a data column costs at least a bit of what the buffers
            // declare (and a reader must not produce more than they declare).
            let l = layout(bytes);
            if has_data_columns(bytes) {
                prop_assert!(
                    (*rows as u128) <= 8 * l.declared_bytes + 8,
                    "{label}: {rows} rows from buffers declaring {} bytes",
                    l.declared_bytes
                );
            }
        }
    }
    // read_stream: the same batches (whole), or an error when chunked reading has one.
    let whole = read_stream(bytes.to_vec());
    match (&outcome, &whole) {
        (Outcome::Ok(rows, all), Ok((schema, batches))) => {
            let n: usize = batches.iter().map(RecordBatch::num_rows).sum();
            prop_assert_eq!(n, *rows);
            if let Some(all) = all {
                prop_assert_eq!(all.schema(), schema.clone());
                let whole = arrow_select::concat::concat_batches(schema, batches).unwrap();
                prop_assert!(&whole == all, "{label}: read_stream and chunks differ");
            }
        }
        (Outcome::Err(_), Err(e)) => prop_assert!(!e.trim().is_empty()),
        (o, w) => prop_assert!(
            false,
            "{label}: chunked reading gives {o:?}, read_stream {:?}",
            w.as_ref().map(|(_, b)| b.len())
        ),
    }
    // Small chunks: the same rows.
    for chunk in [8, 24] {
        let small = bounded(bytes, chunk);
        match (&outcome, &small) {
            (Outcome::Ok(_, a), Outcome::Ok(_, b)) => {
                prop_assert!(a == b, "{label}: chunks of {chunk} rows give other data")
            }
            (Outcome::Err(_), Outcome::Err(_)) => {}
            (a, b) => prop_assert!(
                false,
                "{label}: default chunks give {}, chunks of {chunk} rows {}",
                matches!(a, Outcome::Ok(..)),
                matches!(b, Outcome::Ok(..))
            ),
        }
    }
    // Typed rows: as many as the batches have, or an error.
    let rows = match &outcome {
        Outcome::Ok(n, _) => Some(*n),
        _ => None,
    };
    let typed = [
        read_rows::<SynapsesPni2>(bytes.to_vec(), None).map(|r| r.len()),
        read_rows::<ProofreadingStatusAndStrategy>(bytes.to_vec(), None).map(|r| r.len()),
    ];
    for t in typed {
        match t {
            Ok(n) => prop_assert_eq!(Some(n), rows, "{}: typed rows", label),
            Err(e) => prop_assert!(!e.to_string().trim().is_empty()),
        }
    }
    Ok(outcome)
}

// ---------------------------------------------------------------------------------------------
// Mutations

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Overwrite(Index, u8),
    Truncate(Index),
    TruncateAtBoundary(Index),
    Splice(Index, Index, Index),
    DuplicateMessage(Index),
    DropMessage(Index),
    MessageLength(Index, i32),
    BufferPrefix(Index, i64),
    HeaderField(Index, i64),
}

fn odd_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        prop::sample::select(
            &[
                -1i64,
                0,
                1,
                7,
                8,
                9,
                63,
                64,
                1 << 20,
                1 << 31,
                1 << 32,
                1 << 40,
                1 << 62,
                i64::MAX,
                i64::MIN,
                -8
            ][..]
        ),
        any::<i64>(),
        0i64..5000,
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => any::<Index>().prop_map(Mutation::TruncateAtBoundary),
        1 => (any::<Index>(), any::<Index>(), any::<Index>()).prop_map(|(a, b, c)| Mutation::Splice(a, b, c)),
        1 => any::<Index>().prop_map(Mutation::DuplicateMessage),
        1 => any::<Index>().prop_map(Mutation::DropMessage),
        1 => (any::<Index>(), prop_oneof![
            prop::sample::select(&[-1i32, 0, 1, 8, i32::MAX, i32::MIN, -2][..]),
            any::<i32>(),
        ]).prop_map(|(i, v)| Mutation::MessageLength(i, v)),
        2 => (any::<Index>(), odd_i64()).prop_map(|(i, v)| Mutation::BufferPrefix(i, v)),
        3 => (any::<Index>(), odd_i64()).prop_map(|(i, v)| Mutation::HeaderField(i, v)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    if bytes.is_empty() {
        return;
    }
    let set = |bytes: &mut Vec<u8>, at: usize, value: &[u8]| {
        if let Some(slot) = bytes.get_mut(at..at + value.len()) {
            slot.copy_from_slice(value);
        }
    };
    match m {
        Mutation::Flip(at, bit) => {
            let k = at.index(bytes.len());
            bytes[k] ^= 1 << bit;
        }
        Mutation::Overwrite(at, byte) => {
            let k = at.index(bytes.len());
            bytes[k] = *byte;
        }
        Mutation::Truncate(at) => bytes.truncate(at.index(bytes.len())),
        Mutation::TruncateAtBoundary(at) => {
            let b = boundaries(bytes);
            if !b.is_empty() {
                bytes.truncate(*at.get(&b));
            }
        }
        Mutation::Splice(other, a, b) => {
            let all = mutable_bodies();
            let other = &all[other.index(all.len())].bytes;
            let head = a.index(bytes.len() + 1);
            let tail = b.index(other.len() + 1);
            bytes.truncate(head);
            bytes.extend_from_slice(&other[tail..]);
        }
        Mutation::DuplicateMessage(i) | Mutation::DropMessage(i) => {
            let l = layout(bytes);
            if l.messages.is_empty() {
                return;
            }
            let [start, .., end] = *i.get(&l.messages);
            let Some(message) = bytes.get(start..end).map(<[u8]>::to_vec) else {
                return;
            };
            if matches!(m, Mutation::DuplicateMessage(_)) {
                bytes.splice(end..end, message);
            } else {
                bytes.drain(start..end);
            }
        }
        Mutation::MessageLength(i, v) => {
            let l = layout(bytes);
            if !l.messages.is_empty() {
                let at = i.get(&l.messages)[1];
                set(bytes, at, &v.to_le_bytes());
            }
        }
        Mutation::BufferPrefix(i, v) => {
            let l = layout(bytes);
            if !l.prefixes.is_empty() {
                let at = i.get(&l.prefixes).0;
                set(bytes, at, &v.to_le_bytes());
            }
        }
        Mutation::HeaderField(i, v) => {
            let l = layout(bytes);
            if !l.fields.is_empty() {
                let at = *i.get(&l.fields);
                set(bytes, at, &v.to_le_bytes());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn unmodified_bodies_decode_to_their_rows() {
    let all: Vec<&Body> = bodies().iter().chain([big_body()]).collect();
    // `FUZZ_WRITE_CORPUS=dir`: write the small bodies there (seeds for fuzz/, cargo-fuzz).
    if let Some(dir) = std::env::var_os("FUZZ_WRITE_CORPUS") {
        std::fs::create_dir_all(&dir).unwrap();
        for body in bodies() {
            let name = body.name.replace(|c: char| !c.is_ascii_alphanumeric(), "_");
            std::fs::write(std::path::Path::new(&dir).join(name), &body.bytes).unwrap();
        }
    }
    for body in all {
        let l = layout(&body.bytes);
        if verbose() {
            eprintln!("{}: {} bytes", body.name, body.bytes.len());
        }
        assert!(
            l.batches >= 1 && l.messages.len() == l.batches + 1,
            "{}",
            body.name
        );
        match body.kind {
            Kind::Synapses => check_synapses(
                &read_rows::<SynapsesPni2>(body.bytes.clone(), None).unwrap(),
                body,
            ),
            Kind::Proofreading => check_proofreading(
                &read_rows::<ProofreadingStatusAndStrategy>(body.bytes.clone(), None).unwrap(),
                body,
            ),
        }
        // The untyped ways agree with each other and count the same rows.
        let outcome =
            decode_all(&body.bytes, &body.name).unwrap_or_else(|e| panic!("{}: {e}", body.name));
        let Outcome::Ok(rows, Some(all)) = outcome else {
            panic!("{}: {outcome:?}", body.name);
        };
        assert_eq!(rows, body.rows, "{}", body.name);
        assert!(
            all.schema().field_with_name("__index_level_0__").is_err(),
            "{}: the pandas index column is left out",
            body.name
        );
        // The other table's rows: a decode error naming the table, not a panic.
        let wrong = match body.kind {
            Kind::Synapses => read_rows::<ProofreadingStatusAndStrategy>(body.bytes.clone(), None)
                .map(|r| r.len()),
            Kind::Proofreading => {
                read_rows::<SynapsesPni2>(body.bytes.clone(), None).map(|r| r.len())
            }
        };
        assert!(wrong.is_err(), "{}", body.name);
    }
    // Each compression is really there.
    for (c, name) in [
        (Some(CompressionType::LZ4_FRAME), "lz4"),
        (Some(CompressionType::ZSTD), "zstd"),
        (None, "none"),
    ] {
        for body in bodies()
            .iter()
            .filter(|b| b.name.contains(&format!("({name})")))
        {
            let l = layout(&body.bytes);
            match c {
                Some(c) => assert!(
                    !l.prefixes.is_empty() && l.prefixes.iter().all(|p| p.2 == c),
                    "{}",
                    body.name
                ),
                None => assert!(l.prefixes.is_empty(), "{}", body.name),
            }
        }
    }
}

/// The bodies the deterministic tests go through byte by byte: one table in one batch and
/// the other in two, and one read by arrow-ipc's reader, in each compression
/// (`FUZZ_EXHAUSTIVE=1`: every body).
fn core_bodies() -> impl Iterator<Item = &'static Body> {
    bodies().iter().filter(|b| {
        std::env::var_os("FUZZ_EXHAUSTIVE").is_some()
            || b.name.starts_with("synapses (")
            || b.name.starts_with("synapses with a list column")
            || b.name.starts_with("proofreading in 2 batches")
    })
}

/// Cuts of a body: an error, or the whole batches before a message boundary. Every boundary
/// (and a byte either side) and every 8th byte; every byte with `FUZZ_EXHAUSTIVE=1`.
#[test]
fn every_cut_is_an_error() {
    let stride = if std::env::var_os("FUZZ_EXHAUSTIVE").is_some() {
        1
    } else {
        8
    };
    for body in core_bodies() {
        let l = layout(&body.bytes);
        let ends: Vec<usize> = l.messages.iter().map(|m| m[4]).collect();
        let mut cuts: Vec<usize> = (0..body.bytes.len()).step_by(stride).collect();
        cuts.extend(boundaries(&body.bytes));
        cuts.retain(|&c| c < body.bytes.len());
        cuts.sort_unstable();
        cuts.dedup();
        for cut in cuts {
            let piece = &body.bytes[..cut];
            let _w = watch("cut", piece);
            match read_stream(piece.to_vec()) {
                // A cut exactly between two messages leaves a stream without its end marker.
                Err(e) if ends.contains(&cut) && cut > 0 => assert!(
                    e.contains("end-of-stream marker") || e.contains("no schema"),
                    "{}: cut at {cut}: {e}",
                    body.name
                ),
                Err(e) => assert!(!e.is_empty()),
                Ok((_, batches)) => panic!(
                    "{}: cut at {cut} of {} decodes to {} rows",
                    body.name,
                    body.bytes.len(),
                    batches.iter().map(RecordBatch::num_rows).sum::<usize>()
                ),
            }
        }
    }
}

/// Crafted headers: huge lengths are errors, never allocations.
#[test]
fn huge_declared_lengths_are_errors_not_allocations() {
    for body in core_bodies() {
        let l = layout(&body.bytes);
        let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
        for (k, m) in l.messages.iter().enumerate() {
            for v in [i32::MAX, i32::MAX - 7, -5] {
                let mut b = body.bytes.clone();
                b[m[1]..m[1] + 4].copy_from_slice(&v.to_le_bytes());
                cases.push((format!("message {k} length {v}"), b));
            }
        }
        for (k, p) in l.prefixes.iter().enumerate().step_by(3) {
            for v in [i64::MAX, 1 << 40, (1 << 30) + 1] {
                let mut b = body.bytes.clone();
                b[p.0..p.0 + 8].copy_from_slice(&v.to_le_bytes());
                cases.push((format!("buffer prefix {k} = {v}"), b));
            }
        }
        for (k, &f) in l.fields.iter().enumerate() {
            for v in [i64::MAX, -1] {
                let mut b = body.bytes.clone();
                b[f..f + 8].copy_from_slice(&v.to_le_bytes());
                cases.push((format!("header field {k} = {v}"), b));
            }
        }
        let original = read_stream(body.bytes.clone()).unwrap().1;
        for (what, bytes) in cases {
            let label = format!("{}: {what}", body.name);
            let _w = watch(&label, &bytes);
            let refused = REFUSED_HERE.with(Cell::get);
            let (whole, peak) = peak_of(|| read_stream(bytes.clone()));
            assert!(
                peak <= 64 << 20,
                "{label}: a {peak}-byte allocation for a {}-byte body",
                bytes.len()
            );
            assert_eq!(
                REFUSED_HERE.with(Cell::get),
                refused,
                "{label}: an allocation over 1 GiB was asked for"
            );
            if what.starts_with("message") {
                assert!(whole.is_err(), "{label}: decodes");
            }
            // The chunked reader takes a declared uncompressed length as an upper bound: a
            // larger one than the frame holds still decodes, to the same data.
            if what.starts_with("buffer prefix")
                && let Ok((_, batches)) = &whole
            {
                assert!(batches == &original, "{label}: other data");
            }
            // Typed rows: an error or rows, never a panic or an abort (the row count of the
            // header is only a hint for reserving room).
            match read_rows::<SynapsesPni2>(bytes.clone(), None) {
                Ok(rows) => assert_eq!(
                    Some(rows.len()),
                    whole
                        .as_ref()
                        .ok()
                        .map(|(_, b)| b.iter().map(RecordBatch::num_rows).sum())
                ),
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
}

proptest! {
    #![proptest_config(config(600))]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        decode_all(&bytes, "arbitrary bytes")?;
    }

    /// A real schema message, then arbitrary bytes.
    #[test]
    fn a_schema_then_arbitrary_bytes(
        i in any::<Index>(),
        tail in prop::collection::vec(any::<u8>(), 0..600),
        continuation in any::<bool>(),
    ) {
        let body = *i.get(&mutable_bodies());
        let end = layout(&body.bytes).messages[0][4];
        let mut bytes = body.bytes[..end].to_vec();
        if continuation {
            bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff]);
        }
        bytes.extend_from_slice(&tail);
        decode_all(&bytes, "schema + arbitrary bytes")?;
    }

    /// One to four mutations of a real body.
    #[test]
    fn mutated_real_bodies(
        i in any::<Index>(),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let body = *i.get(&mutable_bodies());
        let mut bytes = body.bytes.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let outcome = decode_all(&bytes, &body.name)?;
        // A message duplicated or dropped, and nothing else: the rows of the batches left.
        if let [Mutation::DuplicateMessage(_) | Mutation::DropMessage(_)] = mutations.as_slice()
            && let Outcome::Ok(rows, _) = outcome
        {
            prop_assert!(rows % body.rows == 0 || layout(&body.bytes).batches > 1, "{rows} rows");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(20 * 16) / 20, ..config(16) })]

    /// The big body (decoded by several threads), mutated.
    #[test]
    fn mutated_big_body(mutations in prop::collection::vec(mutation(), 1..4)) {
        let mut bytes = big_body().bytes.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let _w = watch("big body", &bytes);
        let typed = read_rows::<SynapsesPni2>(bytes.clone(), None);
        match &typed {
            // At most the rows of the batches there are (a duplicated message adds one).
            Ok(rows) => prop_assert!(rows.len() <= BIG_ROWS * (mutations.len() + 1)),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let whole = read_stream(bytes.clone())
            .map(|(_, b)| b.iter().map(RecordBatch::num_rows).sum::<usize>());
        match (&whole, &typed) {
            (Ok(n), Ok(rows)) => prop_assert_eq!(*n, rows.len()),
            (Err(_), Ok(rows)) => prop_assert!(false, "read_stream fails, read_rows gives {} rows", rows.len()),
            _ => {}
        }
    }
}

/// Inputs of `tests/fuzz-regressions/` that `read_rows` already refuses quickly (see the
/// README there for what `read_stream` still does with them).
#[test]
fn regression_inputs_read_rows() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    for name in [
        "zero-columns-2e40-rows.arrow",
        "null-column-2e40-rows.arrow",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let _w = watch(name, &bytes);
        let started = Instant::now();
        let err = read_rows::<SynapsesPni2>(bytes.clone(), None).unwrap_err();
        assert!(err.to_string().contains("`id`"), "{name}: {err}");
        let err = read_rows::<ProofreadingStatusAndStrategy>(bytes.clone(), None).unwrap_err();
        assert!(err.to_string().contains("`id`"), "{name}: {err}");
        // Untyped: one batch of 2^40 rows that hold nothing (what the body says), at once.
        let (_, batches) = cave_runtime::read_stream(bytes).unwrap();
        assert_eq!(batches.len(), 1, "{name}");
        assert_eq!(batches[0].num_rows(), 1 << 40, "{name}");
        assert!(started.elapsed() < Duration::from_secs(10), "{name}");
    }
}

/// Bodies once read by arrow-ipc's reader (a list column): that fallback is gone, so they are
/// refused for their column type before any buffer is read (an LZ4 buffer declaring 1 TiB, a
/// buffer reaching past the body, a ZSTD buffer declaring 7.6e18 bytes).
#[test]
fn regression_bodies_of_the_arrow_ipc_fallback_are_refused_by_type() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    for name in [
        "list-column-lz4-declares-1TiB.arrow",
        "list-column-buffer-length-past-body.arrow",
        "fallback-zstd-declares-7.6e18-bytes.arrow",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        let err = cave_runtime::read_stream(bytes.clone()).unwrap_err();
        assert!(
            err.contains("type List") && err.contains("not read"),
            "{name}: {err}"
        );
        let err = read_rows::<SynapsesPni2>(bytes, None).unwrap_err();
        assert!(err.to_string().contains("not read"), "{name}: {err}");
    }
}
