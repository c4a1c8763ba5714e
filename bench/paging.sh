#!/usr/bin/env bash
# A query past the row cap, end to end from the devserver, side by side in one run:
#   - the Rust client's typed query of all of synapses_pni_2 (N rows, default 1,000,000) past
#     a cap of CAP rows (default 200,000), the server answering every request in a new row
#     order (--row-order random), with 1, 2, 4 and 8 requests in flight: wall time, requests,
#     and whether every id came once;
#   - caveclient 8.2.1's query_table of the same table (one request: CAP rows and a warning);
#   - the Rust stream of 250,000 / 500,000 / N rows, keeping nothing but a count: its peak
#     memory, which should not grow with the rows.
# Each measurement is its own process, run RUNS times (median). The devserver's own time per
# request is in its log (`--log-requests`), summarised at the end.
#
# Usage: bench/paging.sh        (N=1000000 CAP=200000 RUNS=3)
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-1000000}"
CAP="${CAP:-200000}"
RUNS="${RUNS:-3}"
work="$(mktemp -d)"
trap 'kill "${server_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

venv="target/venv-caveclient"
if ! "$venv/bin/python" -c "import caveclient, sys; sys.exit(caveclient.__version__ != '8.2.1')" 2>/dev/null; then
    scripts/make_venv.sh "$venv" python3 caveclient==8.2.1
fi
py="$PWD/$venv/bin/python"

echo "building (release)..." >&2
cargo build --release --quiet -p cave-devserver
cargo build --release --quiet -p cave-runtime --example paged_query

target/release/cave-devserver --addr 127.0.0.1:0 --versions 1300 --synapses "$N" \
    --row-limit "$CAP" --row-order random:7 --log-requests "$work/requests.jsonl" \
    >"$work/url" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1200); do [[ -s "$work/url" ]] && break; sleep 0.1; done
url="$(head -1 "$work/url")"
[[ -n "$url" ]] || { echo "the devserver did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
echo "devserver at $url: $N synapses, cap $CAP, a new row order per query" >&2

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

echo
echo "| client | in flight | rows | distinct ids | requests | median s | peak MiB above start |"
echo "|---|---|---|---|---|---|---|"
for k in 1 2 4 8; do
    s=() m=() line=""
    for _ in $(seq "$RUNS"); do
        line="$(target/release/examples/paged_query --server "$url" --in-flight "$k")"
        [[ "$(field rows "$line")" == "$N" && "$(field distinct "$line")" == "$N" ]] ||
            { echo "not exact: $line" >&2; exit 1; }
        s+=("$(field seconds "$line")")
        m+=("$(awk -v p="$(field peak_rss_mib "$line")" -v b="$(field base_rss_mib "$line")" 'BEGIN{print p-b}')")
    done
    echo "| rust query | $k | $(field rows "$line") | $(field distinct "$line") | $(field requests "$line") | $(printf '%s\n' "${s[@]}" | median) | $(printf '%s\n' "${m[@]}" | median) |"
done
s=() m=() line=""
for _ in $(seq "$RUNS"); do
    line="$("$py" bench/py_query.py --server "$url" --rows "$N")"
    s+=("$(field seconds "$line")")
    m+=("$(awk -v p="$(field peak_rss_mib "$line")" -v b="$(field base_rss_mib "$line")" 'BEGIN{print p-b}')")
done
echo "| caveclient query_table | 1 | $(field rows "$line") (capped, a warning) | | 1 | $(printf '%s\n' "${s[@]}" | median) | $(printf '%s\n' "${m[@]}" | median) |"

echo
echo "| stream, rows counted | rows | requests | seconds | peak MiB above start |"
echo "|---|---|---|---|---|"
for rows in 250000 500000 "$N"; do
    line="$(target/release/examples/paged_query --server "$url" --stream --limit "$rows")"
    [[ "$(field rows "$line")" == "$rows" ]] || { echo "not $rows rows: $line" >&2; exit 1; }
    echo "| rust stream | $rows | $(field requests "$line") | $(field seconds "$line") | $(awk -v p="$(field peak_rss_mib "$line")" -v b="$(field base_rss_mib "$line")" 'BEGIN{print p-b}') |"
done

echo
"$py" - "$work/requests.jsonl" <<'PY'
import json, sys
rows, counts = [], []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["method"] != "POST" or not isinstance(r.get("millis"), int):
        continue
    (counts if "count=True" in (r.get("query") or "") else rows).append(r["millis"])
for name, ms in (("row requests", rows), ("count requests", counts)):
    ms.sort()
    if ms:
        print(f"devserver, {name}: {len(ms)}, median {ms[len(ms)//2]} ms, max {ms[-1]} ms each (its own time, answer built and compressed)")
PY
