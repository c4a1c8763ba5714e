//! Decode a saved query answer (an Arrow IPC response body) and say how fast it went.
//!
//! ```sh
//! cargo run --release --example decode -- synapses.arrow --table synapses_pni_2
//! ```
//!
//! prints one line, `rows=<n> seconds=<s> rows_per_s=<r> peak_rss_mib=<m>`, followed by
//! `base_rss_mib` (the process's memory before decoding, the body included), `mode`, `table`,
//! `runs` and `first_seconds`. With `--repeat N` it decodes N times and reports the median
//! time (and the first, cold one). It is also a
//! way to check a response saved from a real server: a body that does not decode prints the
//! error, naming the column and row.
//!
//! Save a body from the local server (or a real one, with its token):
//!
//! ```sh
//! curl -s -o synapses.arrow -H 'Authorization: Bearer x' -H 'Accept-Encoding: zstd' \
//!   -H 'Content-Type: application/json' --data '{"limit": 200000}' \
//!   "$SERVER/materialize/api/v3/datastack/minnie65_public/version/1300/table/synapses_pni_2/query?return_pyarrow=True&arrow_format=True&split_positions=True"
//! ```

use std::process::ExitCode;
use std::time::Instant;

use cave_runtime::Table;

#[path = "support/memory.rs"]
mod support;

mod minnie {
    cave_runtime::datastack!(
        "schemas/minnie65_public",
        version = 1300,
        tables = [
            "synapses_pni_2",
            "proofreading_status_and_strategy",
            "aibs_metamodel_celltypes_v661",
            "nucleus_detection_v0"
        ]
    );
}

const USAGE: &str = "\
Decode a saved CAVE query answer (Arrow IPC stream) and time it.

Usage: cargo run --release --example decode -- FILE [OPTIONS]

Options:
  --table NAME        the table the answer is of (default: synapses_pni_2); one of
                      synapses_pni_2, proofreading_status_and_strategy,
                      aibs_metamodel_celltypes_v661, nucleus_detection_v0
  --mode MODE         typed (rows of the generated struct, the default), untyped (Arrow
                      record batches, as read_stream keeps them: ZSTD buffers decompressed
                      whole), streamed (the same batches, buffers decompressed chunk by
                      chunk as a typed read does), or zstd (only decompress every buffer,
                      serially: the codec's own time, for comparison)
  --resolution X,Y,Z  nm per unit of the positions (the dataframe_resolution header;
                      default: the table's voxel resolution)
  --repeat N          decode N times, report the median time (default 1)
  -h, --help          this text

Prints: rows=<n> seconds=<s> rows_per_s=<r> peak_rss_mib=<m> base_rss_mib=<b> mode=<m> table=<t>
        runs=<N> first_seconds=<s>   (seconds: the median of the runs; first_seconds: the first)
";

struct Args {
    file: String,
    table: String,
    mode: String,
    resolution: Option<[f64; 3]>,
    repeat: usize,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut args = std::env::args().skip(1);
    let mut file = None;
    let mut parsed = Args {
        file: String::new(),
        table: "synapses_pni_2".into(),
        mode: "typed".into(),
        resolution: None,
        repeat: 1,
    };
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--table" => parsed.table = value("--table")?,
            "--mode" => parsed.mode = value("--mode")?,
            "--repeat" => {
                let v = value("--repeat")?;
                parsed.repeat = v
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--repeat `{v}` is not a positive whole number"))?;
            }
            "--resolution" => {
                let v = value("--resolution")?;
                let parts: Vec<f64> = v
                    .split(',')
                    .map(|p| p.trim().parse::<f64>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("--resolution `{v}` is not three numbers"))?;
                parsed.resolution = Some(
                    parts
                        .try_into()
                        .map_err(|_| format!("--resolution `{v}` is not three numbers"))?,
                );
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            path if file.is_none() => file = Some(path.to_string()),
            extra => return Err(format!("unexpected argument `{extra}`")),
        }
    }
    parsed.file = file.ok_or("the FILE to decode is missing")?;
    Ok(Some(parsed))
}

/// Decode once, returning the rows.
fn decode_once(args: &Args, body: &bytes::Bytes) -> Result<usize, String> {
    fn typed<T: Table>(body: &bytes::Bytes, res: Option<[f64; 3]>) -> Result<usize, String> {
        let rows = cave_runtime::read_rows::<T>(body.clone(), res).map_err(|e| e.to_string())?;
        Ok(std::hint::black_box(rows).len())
    }
    match args.mode.as_str() {
        "typed" => match args.table.as_str() {
            minnie::SynapsesPni2::NAME => typed::<minnie::SynapsesPni2>(body, args.resolution),
            minnie::ProofreadingStatusAndStrategy::NAME => {
                typed::<minnie::ProofreadingStatusAndStrategy>(body, args.resolution)
            }
            minnie::AibsMetamodelCelltypesV661::NAME => {
                typed::<minnie::AibsMetamodelCelltypesV661>(body, args.resolution)
            }
            minnie::NucleusDetectionV0::NAME => {
                typed::<minnie::NucleusDetectionV0>(body, args.resolution)
            }
            other => Err(format!(
                "--table {other}: this example knows {}",
                minnie::TABLES.join(", ")
            )),
        },
        "untyped" => {
            let (_, batches) = cave_runtime::read_stream(body.clone())?;
            Ok(std::hint::black_box(batches)
                .iter()
                .map(|b| b.num_rows())
                .sum())
        }
        // The batches kept as `read_stream` keeps them, but decompressed as a streamed read
        // does it (what reading buffers whole saves).
        "streamed" => {
            let batches =
                cave_runtime::BodyBatches::new(body.clone())?.collect::<Result<Vec<_>, _>>()?;
            Ok(std::hint::black_box(batches)
                .iter()
                .map(|b| b.num_rows())
                .sum())
        }
        "zstd" => cave_runtime::bench::decompress_only(body).map(|(rows, _bytes)| rows),
        other => Err(format!(
            "--mode {other}: expected typed, untyped, streamed or zstd"
        )),
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("Error: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let body = match std::fs::read(&args.file) {
        Ok(b) => bytes::Bytes::from(b),
        Err(e) => {
            eprintln!("Error: {}: {e}", args.file);
            return ExitCode::FAILURE;
        }
    };
    let base = support::status_mib("VmRSS:").unwrap_or(f64::NAN);
    let mut times = Vec::with_capacity(args.repeat);
    let mut rows = 0;
    for _ in 0..args.repeat {
        let start = Instant::now();
        match decode_once(&args, &body) {
            Ok(n) => rows = n,
            Err(e) => {
                eprintln!("Error: {}: {e}", args.file);
                return ExitCode::FAILURE;
            }
        }
        times.push(start.elapsed().as_secs_f64());
    }
    let first = times[0];
    times.sort_by(f64::total_cmp);
    let seconds = times[times.len() / 2];
    println!(
        "rows={rows} seconds={seconds:.6} rows_per_s={:.0} peak_rss_mib={:.1} base_rss_mib={base:.1} mode={} table={} runs={} first_seconds={first:.6}",
        rows as f64 / seconds,
        support::status_mib("VmHWM:").unwrap_or(f64::NAN),
        args.mode,
        args.table,
        args.repeat
    );
    ExitCode::SUCCESS
}
