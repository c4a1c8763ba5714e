#!/usr/bin/env bash
# The chunkedgraph's bulk calls end to end from the devserver, side by side in one run:
#   - the roots of SVS (default 1,000,000) supervoxels at v1300's timestamp: the Rust client
#     (`roots`, chunks of 100,000 ids, 4 in flight) and caveclient 8.2.1's `get_roots` (one
#     request);
#   - whether ROOTS (default 100,000) v1181 roots are the latest at v1300: Rust
#     `is_latest_roots` and caveclient's.
# Both clients get the same inputs and must give the same answers (a checksum). Each
# measurement is its own process, run RUNS times (median). The devserver runs without its
# request log: with it, one 8 MB roots_binary request took the server 2.4 s (reading and
# recording the body), while the whole Rust call takes 0.5 s without it.
#
# Usage: bench/chunkedgraph.sh        (SVS=1000000 ROOTS=100000 SYNAPSES=600000 RUNS=3)
set -euo pipefail
cd "$(dirname "$0")/.."

SVS="${SVS:-1000000}"
ROOTS="${ROOTS:-100000}"
SYNAPSES="${SYNAPSES:-600000}"
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
cargo build --release --quiet -p cave-runtime --example cg_roots

target/release/cave-devserver --addr 127.0.0.1:0 --synapses "$SYNAPSES" \
    >"$work/url" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1200); do [[ -s "$work/url" ]] && break; sleep 0.1; done
url="$(head -1 "$work/url")"
[[ -n "$url" ]] || { echo "the devserver did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
echo "devserver at $url: $SYNAPSES synapses per version" >&2
target/release/examples/cg_roots --server "$url" --prepare "$work" --supervoxels "$SVS" --roots "$ROOTS" >&2

field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
measure() { # name, command...
    local name="$1" s=() m=() line=""
    shift
    for _ in $(seq "$RUNS"); do
        line="$("$@")"
        s+=("$(field seconds "$line")")
        m+=("$(awk -v p="$(field peak_rss_mib "$line")" -v b="$(field base_rss_mib "$line")" 'BEGIN{print p-b}')")
    done
    echo "| $name | $(field n "$line") | $(field checksum "$line") | $(printf '%s\n' "${s[@]}" | median) | $(printf '%s\n' "${m[@]}" | median) |"
}

echo
echo "| call | ids | checksum | median s | peak MiB above start |"
echo "|---|---|---|---|---|"
measure "Rust roots" target/release/examples/cg_roots --server "$url" --mode roots --supervoxels-file "$work/svs.u64"
measure "caveclient get_roots" "$py" bench/py_chunkedgraph.py --server "$url" --mode roots "$work/svs.u64"
measure "Rust is_latest_roots" target/release/examples/cg_roots --server "$url" --mode latest --roots-file "$work/roots.u64"
measure "caveclient is_latest_roots" "$py" bench/py_chunkedgraph.py --server "$url" --mode latest "$work/roots.u64"

