#!/usr/bin/env bash
# Side by side, in one run: decoding synapse answers of 200,000 / 1,000,000 / 5,000,000 rows
# made by the local devserver, by
#   - the Rust typed decode          (cargo run --release --example decode -- --mode typed)
#   - the Rust untyped decode        (... --mode untyped: Arrow record batches, as
#                                     Client::batches reads them: ZSTD buffers whole)
#   - the same, streamed             (... --mode streamed: buffers decompressed chunk by
#                                     chunk, as typed reads do; what reading whole saves)
#   - ZSTD alone on every buffer     (... --mode zstd: the codec's own serial time)
#   - caveclient 8.2.1's own path    (bench/py_decode.py --mode caveclient: its
#                                     deserialize_query_response + concatenate_position_columns)
#   - pyarrow's read_all             (bench/py_decode.py --mode pyarrow)
# and end to end, the same 200,000- and 1,000,000-row queries over HTTP by the Rust client
# (one answer, and paged past a cap) and by caveclient's query_table, with the devserver's
# own time per request; and the same two clients against a devserver that keeps its answers
# (--answer-cache-mib), so that the figure is the client's alone.
#
# Every measurement is its own process (so its peak memory is its own), run RUNS times; the
# table shows medians. "above input" is the peak resident memory minus the memory before
# decoding, the body already read.
#
# Usage: bench/compare.sh            (SIZES="200000 1000000" RUNS=3 bench/compare.sh to shorten)
# Needs: cargo, python3 (a venv with caveclient 8.2.1 is made in target/venv-caveclient).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES="${SIZES:-200000 1000000 5000000}"
RUNS="${RUNS:-5}"
E2E_ROWS="${E2E_ROWS:-200000 1000000}"
PAGE_CAP="${PAGE_CAP:-200000}"
IN_FLIGHT="${IN_FLIGHT:-4}"
work="$(mktemp -d)"
trap 'kill "${server_pid:-}" "${paged_pid:-}" "${cached_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

venv="target/venv-caveclient"
if ! "$venv/bin/python" -c "import caveclient, sys; sys.exit(caveclient.__version__ != '8.2.1')" 2>/dev/null; then
    scripts/make_venv.sh "$venv" python3 caveclient==8.2.1
fi
py="$PWD/$venv/bin/python"

echo "building (release)..." >&2
cargo build --release --quiet -p cave-devserver
cargo build --release --quiet -p cave-runtime --example decode --example e2e_query --example paged_query

largest=0 e2e_largest=0
for n in $SIZES; do ((n > largest)) && largest=$n; done
for n in $E2E_ROWS; do ((n > e2e_largest)) && e2e_largest=$n; done
((e2e_largest > largest)) && largest=$e2e_largest

# One server, one version, every answer in one page.
target/release/cave-devserver --addr 127.0.0.1:0 --versions 1300 --synapses "$largest" \
    --row-limit "$largest" --log-requests "$work/requests.jsonl" >"$work/url" 2>"$work/server.log" &
server_pid=$!
# A second one for the paged client: a cap, and rows in a new order per request.
target/release/cave-devserver --addr 127.0.0.1:0 --versions 1300 --synapses "$e2e_largest" \
    --row-limit "$PAGE_CAP" --row-order random:7 --log-requests "$work/paged_requests.jsonl" \
    >"$work/paged_url" 2>"$work/paged_server.log" &
paged_pid=$!
# A third that keeps its answers (--answer-cache-mib): repeated queries cost it no compression,
# so the "answer cached" rows time the clients alone.
target/release/cave-devserver --addr 127.0.0.1:0 --versions 1300 --synapses "$e2e_largest" \
    --row-limit "$e2e_largest" --answer-cache-mib 2048 --log-requests "$work/cached_requests.jsonl" \
    >"$work/cached_url" 2>"$work/cached_server.log" &
cached_pid=$!
wait_url() { # FILE LOG: the URL a devserver printed into FILE
    for _ in $(seq 1200); do [[ -s "$1" ]] && break; sleep 0.1; done
    [[ -s "$1" ]] || { echo "the devserver did not start:" >&2; cat "$2" >&2; exit 1; }
    head -1 "$1"
}
url="$(wait_url "$work/url" "$work/server.log")"
paged_url="$(wait_url "$work/paged_url" "$work/paged_server.log")"
cached_url="$(wait_url "$work/cached_url" "$work/cached_server.log")"
echo "devserver at $url with $largest synapses; at $paged_url with $e2e_largest, cap $PAGE_CAP" >&2

fetch() { # rows -> file: the body caveclient's query_table would get (ZSTD, positions split)
    "$py" - "$url" "$1" "$2" <<'EOF'
import sys, urllib.request
url, rows, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
req = urllib.request.Request(
    f"{url}/materialize/api/v3/datastack/minnie65_public/version/1300/table/synapses_pni_2/query"
    "?return_pyarrow=True&arrow_format=True&split_positions=True&direct_sql_pandas=True",
    data=('{"limit": %d}' % rows).encode(),
    headers={"Authorization": "Bearer bench", "Accept-Encoding": "zstd",
             "Content-Type": "application/json"},
)
with urllib.request.urlopen(req, timeout=600) as r, open(out, "wb") as f:
    f.write(r.read())
EOF
}

# field NAME LINE: the value of NAME=... in a result line
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }

# measure LABEL ROWS CMD...: run CMD (which prints one result line) and add a table row. With
# REPEAT set, CMD is one process that decodes REPEAT times (median and first time reported);
# else CMD runs RUNS times, each in its own process (median reported).
declare -A secs mem
measure() {
    local label=$1 rows=$2
    shift 2
    local s=() m=() first=""
    local times=$RUNS
    [[ -n "${REPEAT:-}" ]] && times=1
    for _ in $(seq "$times"); do
        local line
        line="$("$@" ${REPEAT:+--repeat "$REPEAT"})" || { echo "failed: $*" >&2; exit 1; }
        [[ "$(field rows "$line")" == "$rows" ]] ||
            { echo "$label: expected $rows rows: $line" >&2; exit 1; }
        s+=("$(field seconds "$line")")
        first="$(field first_seconds "$line")"
        m+=("$(awk -v p="$(field peak_rss_mib "$line")" -v b="$(field base_rss_mib "$line")" 'BEGIN{print p-b}')")
    done
    local sec above
    sec="$(printf '%s\n' "${s[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')"
    above="$(printf '%s\n' "${m[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')"
    secs[$label]=$sec
    mem[$label]=$above
    local cc=${secs[caveclient]:-} ccm=${mem[caveclient]:-}
    awk -v l="$label" -v r="$rows" -v s="$sec" -v f="${first:-$sec}" -v m="$above" -v cc="$cc" -v ccm="$ccm" 'BEGIN{
        speed = (cc != "" ? sprintf("%.0fx", cc / s) : "");
        memr = (ccm != "" && m > 0 ? sprintf("%.2f", m / ccm) : "");
        printf "| %-9s | %-16s | %9.4f | %9.4f | %12.0f | %9.1f | %6.0f | %6s | %8s |\n",
            r, l, s, f, r / s, m, m * 1048576 / r, speed, memr }'
}

header() {
    echo "| rows      | $1 | median s  | first s   | rows/s       | above MiB | B/row  | vs cc  | mem / cc |"
    echo "|-----------|------------------|-----------|-----------|--------------|-----------|--------|--------|----------|"
}

echo
echo "Decoding one answer body: each decoder in its own process, decoding it $RUNS times"
echo "(median, and the first, cold time); memory = that process's peak above the body:"
echo
header "decoder         "
for n in $SIZES; do
    body="$work/synapses_$n.arrow"
    fetch "$n" "$body"
    unset 'secs[caveclient]' 'mem[caveclient]'
    runs=$RUNS
    # caveclient needs about 7 s a million rows: fewer runs of the big bodies.
    ((n >= 5000000 && runs > 3)) && runs=3
    REPEAT=$runs measure caveclient "$n" "$py" bench/py_decode.py "$body" --mode caveclient
    REPEAT=$RUNS measure "pyarrow read_all" "$n" "$py" bench/py_decode.py "$body" --mode pyarrow
    REPEAT=$RUNS measure "rust typed" "$n" target/release/examples/decode "$body" --mode typed
    REPEAT=$RUNS measure "rust untyped" "$n" target/release/examples/decode "$body" --mode untyped
    REPEAT=$RUNS measure "rust streamed" "$n" target/release/examples/decode "$body" --mode streamed
    REPEAT=$RUNS measure "zstd alone" "$n" target/release/examples/decode "$body" --mode zstd
    echo "| (body: $(($(stat -c %s "$body") / 1048576)) MiB) | | | | | | | | |"
    rm -f "$body"
done

# devserver_ms LOG FROM: a devserver's own median time (ms) for the query requests its LOG got
# after line FROM (the answer built and compressed, before the client reads it).
devserver_ms() {
    tail -n +"$(($2 + 1))" "$1" | "$py" -c '
import json, sys
ms = sorted(r["millis"] for r in map(json.loads, sys.stdin)
            if r["method"] == "POST" and r["path"].endswith("/query") and "count=True" not in (r.get("query") or ""))
print(f"{ms[len(ms) // 2]} ms ({len(ms)} requests)" if ms else "-")'
}
log_lines() { wc -l <"$1"; }
log="$work/requests.jsonl" paged_log="$work/paged_requests.jsonl"
cached_log="$work/cached_requests.jsonl"

echo
echo "End to end: synapses_pni_2 over HTTP from the devserver (one answer of every row), client"
echo "built first; $RUNS processes each (median). \"devserver\" is the server's own median time per"
echo "request (answer built and compressed), so the client's share is the rest. \"rust paged\" is"
echo "the same query past a second devserver's cap of $PAGE_CAP rows, in a new row order per"
echo "request, $IN_FLIGHT requests in flight. The \"answer cached\" rows ask a third devserver that"
echo "keeps its answers (--answer-cache-mib), after one run of each client to fill it: the clients"
echo "alone, \"vs cc\" against caveclient on that server:"
echo
header "client          "
for rows in $E2E_ROWS; do
    unset 'secs[caveclient]' 'mem[caveclient]'
    from=$(log_lines "$log")
    measure caveclient "$rows" "$py" bench/py_query.py --server "$url" --rows "$rows"
    echo "|           | (devserver: $(devserver_ms "$log" "$from")) | | | | | | | |"
    from=$(log_lines "$log")
    measure "rust client" "$rows" target/release/examples/e2e_query --server "$url" --rows "$rows"
    echo "|           | (devserver: $(devserver_ms "$log" "$from")) | | | | | | | |"
    from=$(log_lines "$paged_log")
    measure "rust paged" "$rows" target/release/examples/paged_query --server "$paged_url" \
        --limit "$rows" --in-flight "$IN_FLIGHT"
    echo "|           | (devserver: $(devserver_ms "$paged_log" "$from")) | | | | | | | |"
    # One run of each client fills the cache with its own request's answer.
    "$py" bench/py_query.py --server "$cached_url" --rows "$rows" >/dev/null
    target/release/examples/e2e_query --server "$cached_url" --rows "$rows" >/dev/null
    unset 'secs[caveclient]' 'mem[caveclient]'
    from=$(log_lines "$cached_log")
    measure "caveclient, answer cached" "$rows" "$py" bench/py_query.py --server "$cached_url" --rows "$rows"
    echo "|           | (devserver: $(devserver_ms "$cached_log" "$from")) | | | | | | | |"
    secs[caveclient]=${secs["caveclient, answer cached"]}
    mem[caveclient]=${mem["caveclient, answer cached"]}
    from=$(log_lines "$cached_log")
    measure "rust, answer cached" "$rows" target/release/examples/e2e_query --server "$cached_url" --rows "$rows"
    echo "|           | (devserver: $(devserver_ms "$cached_log" "$from")) | | | | | | | |"
done
