#!/usr/bin/env bash
# SQL at scale, side by side in one run: the out-degree of the proofread cells (every root of
# proofreading_status_and_strategy with status_axon = true) over N synapses in a local Delta
# export of synapses_pni_2 partitioned by pre_pt_root_id, written from the devserver:
#   - cave-sql (DataFusion + delta-rs, `cave-sql --exports`), the export chosen and its files
#     skipped by the IN filter;
#   - deltalake + pandas in Python (`DeltaTable.to_pandas(columns, filters)` then groupby);
#   - DuckDB's Parquet reader over the export's files (its delta extension is downloaded at run
#     time, which this machine cannot: see the note printed);
#   - cave-sql on the materialization service itself (paged past the row cap), for scale;
# and a scan of the whole export (an aggregate over every row) at each N, whose peak memory
# should stay flat as N grows: it is bounded by the partitions in flight, not by the table.
# Wall time and peak RSS of each process (/usr/bin/time), medians of RUNS.
#
# Usage: bench/sql.sh        (SIZES="5000000 20000000" RUNS=3 CAP=500000 BUILD=1)
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES="${SIZES:-5000000 20000000}"
RUNS="${RUNS:-3}"
CAP="${CAP:-500000}"
work="$(mktemp -d)"
trap 'kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
export CAVE_TOKEN=bench-token

venv="target/venv-delta"
if ! "$venv/bin/python" -c "import deltalake, pyarrow, pandas, duckdb" 2>/dev/null; then
    scripts/make_venv.sh "$venv" python3 deltalake pyarrow pandas duckdb
fi
py="$PWD/$venv/bin/python"

# BUILD=0 runs the binaries already in target/release.
if [[ "${BUILD:-1}" == 1 ]]; then
    echo "building (release)..." >&2
    cargo build --release --quiet -p cave-devserver -p cave-sql --bin cave-sql --example export_delta
fi
sql=target/release/cave-sql

median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
# Run a command RUNS times; print "median_seconds median_peak_mib" and keep its last stdout.
measure() {
    local out="$1" runs="$2"; shift 2
    local s=() m=()
    for _ in $(seq "$runs"); do
        if ! /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$out" 2>"$work/stderr"; then
            { echo "failed: $*"; cat "$work/stderr"; } >&2
            kill "$$"
        fi
        read -r secs kib <"$work/time"
        s+=("$secs"); m+=("$((kib / 1024))")
    done
    echo "$(printf '%s\n' "${s[@]}" | median) $(printf '%s\n' "${m[@]}" | median)"
}
# The numbers of the one-row table cave-sql prints (| 1723 | 123456 |).
cells() { grep -E '^\| *[0-9]' "$1" | head -1 | tr -d '|' | xargs; }

rows=()
for n in $SIZES; do
    target/release/cave-devserver --addr 127.0.0.1:0 --versions 1300 --synapses "$n" \
        --row-limit "$CAP" >"$work/url" 2>"$work/server.log" &
    server_pid=$!
    for _ in $(seq 3000); do [[ -s "$work/url" ]] && break; sleep 0.1; done
    url="$(head -1 "$work/url")"
    [[ -n "$url" ]] || { echo "the devserver did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
    echo "devserver at $url: $n synapses, cap $CAP" >&2

    out="$work/exports-$n"
    read -r secs mib < <(measure "$work/export.txt" 1 target/release/examples/export_delta \
        --server "$url" --version 1300 --out "$out" --table synapses_pni_2 --by pre_pt_root_id --buckets 32)
    echo "export: $(cat "$work/export.txt") (peak $mib MiB)" >&2
    export_dir="$out/minnie65_public/v1300/synapses_pni_2/pre_pt_root_id"
    size="$(du -sh "$export_dir" | cut -f1)"

    "$sql" --server "$url" --version 1300 --out "$work/roots.csv" \
        "SELECT pt_root_id FROM proofreading_status_and_strategy WHERE status_axon = true"
    tail -n +2 "$work/roots.csv" >"$work/roots.txt"
    roots="$(paste -sd, "$work/roots.txt")"
    count="$(wc -l <"$work/roots.txt")"
    degree="SELECT COUNT(*) AS roots, SUM(n) AS synapses FROM (SELECT pre_pt_root_id, COUNT(*) AS n \
FROM TABLE WHERE pre_pt_root_id IN ($roots) GROUP BY pre_pt_root_id)"

    read -r s m < <(measure "$work/a" "$RUNS" "$sql" --server "$url" --version 1300 \
        --exports "$out" "${degree/TABLE/export.synapses_pni_2}")
    rows+=("| $n | cave-sql on the export | $(cells "$work/a") | $s | $m |")
    expect="$(cells "$work/a")"
    read -r s m < <(measure "$work/b" "$RUNS" "$py" bench/py_delta.py deltalake "$export_dir" "$work/roots.txt")
    got="$(sed -E 's/rows=([0-9]+) synapses=([0-9]+).*/\1 \2/' "$work/b")"
    [[ "$got" == "$expect" ]] || { echo "deltalake+pandas gave $got, cave-sql $expect" >&2; exit 1; }
    rows+=("| $n | deltalake 1.x + pandas (Python) | $got | $s | $m |")
    read -r s m < <(measure "$work/c" "$RUNS" "$py" bench/py_delta.py duckdb "$export_dir" "$work/roots.txt")
    got="$(sed -E 's/rows=([0-9]+) synapses=([0-9]+).*/\1 \2/' "$work/c")"
    [[ "$got" == "$expect" ]] || { echo "duckdb gave $got, cave-sql $expect" >&2; exit 1; }
    rows+=("| $n | DuckDB read_parquet over the export's files | $got | $s | $m |")
    read -r s m < <(measure "$work/d" 1 "$sql" --server "$url" --version 1300 \
        "${degree/TABLE/synapses_pni_2}")
    [[ "$(cells "$work/d")" == "$expect" ]] || { echo "the service gave $(cells "$work/d")" >&2; exit 1; }
    rows+=("| $n | cave-sql on the service (paged, cap $CAP) | $(cells "$work/d") | $s | $m |")
    read -r s m < <(measure "$work/e" "$RUNS" "$sql" --server "$url" --version 1300 --exports "$out" \
        "SELECT COUNT(*) AS rows, SUM(CAST(size AS BIGINT)) AS size FROM export.synapses_pni_2")
    rows+=("| $n | cave-sql, whole export scanned (COUNT, SUM(size)) | $(cells "$work/e") | $s | $m |")
    echo "| $n | export written ($size on disk, 32 buckets) | — | $secs | $mib |" >"$work/export-row-$n"
    rows+=("$(cat "$work/export-row-$n")")

    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; unset server_pid
    rm -rf "$out"
done

echo
echo "Proofread cells: $count roots. Results (roots with synapses, synapses) agree across readers."
echo "DuckDB: its delta extension is fetched from the internet on first use (INSTALL delta),"
echo "which this machine cannot reach; its Parquet reader reads the same files."
echo
echo "| synapses | reader | result | median s | peak MiB |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
