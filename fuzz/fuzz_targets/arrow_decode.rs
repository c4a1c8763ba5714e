//! The Arrow IPC decoding of answers on arbitrary bytes: `BodyBatches` (read at most 2^22 rows,
//! so that the known endless batch without data columns, tests/fuzz-regressions/README.md in
//! cave-runtime, does not stall the run), `read_stream` when that ended, and `read_rows` of a
//! generated row type. Never a panic, an abort or a hang. Run with
//! `ASAN_OPTIONS=allocator_may_return_null=1` and `-malloc_limit_mb=1000000`: a fallible
//! reservation that fails (e.g. `read_rows` reserving for the rows a header claims) is fine.
#![no_main]

use cave_runtime::{BodyBatches, read_rows, read_stream};
use libfuzzer_sys::fuzz_target;

mod minnie {
    cave_runtime::datastack!(
        "../schemas/minnie65_public",
        version = 1300,
        tables = ["synapses_pni_2", "proofreading_status_and_strategy"]
    );
}

fuzz_target!(|data: &[u8]| {
    let mut ended = false;
    if let Ok(batches) = BodyBatches::new(data.to_vec()) {
        let mut rows = 0usize;
        ended = true;
        for b in batches {
            match b {
                Ok(b) => rows = rows.saturating_add(b.num_rows()),
                Err(e) => {
                    assert!(!e.is_empty());
                    break;
                }
            }
            if rows > 1 << 22 {
                ended = false;
                break;
            }
        }
    }
    if ended {
        let _ = read_stream(data.to_vec());
    }
    let _ = read_rows::<minnie::SynapsesPni2>(data.to_vec(), None);
    let _ = read_rows::<minnie::ProofreadingStatusAndStrategy>(data.to_vec(), None);
});
