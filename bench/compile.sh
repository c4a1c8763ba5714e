#!/usr/bin/env bash
# Compile time of a user's crate: the README's example crate (`datastack!` over every table and
# view of minnie65_public at version 1300), built against this checkout's cave-runtime:
#   - "crate build": a clean debug build of the crate alone (its dependencies already built:
#     `cargo clean -p` then `cargo build`), the macro's expansion and the generated code's
#     compilation;
#   - "check after edit": `cargo check` after a one-line edit of its main.rs (incremental, as a
#     user editing their analysis sees it);
#   - the first build, dependencies included, once.
# With a git revision as argument, the same for cave-runtime at that revision, side by side in
# the same run (each in its own target dir).
#
# Usage: bench/compile.sh [REV]        (RUNS=5 for more runs; the table shows medians)
# Needs: cargo. Takes a few minutes per variant (the first build compiles the dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
RUNS="${RUNS:-3}"
work="$(mktemp -d)"
cleanup() {
    if [[ -d "$work/rev" ]]; then git -C "$repo" worktree remove --force "$work/rev" || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# block NAME: the code block after the README's `<!-- user-crate: NAME -->` marker.
block() {
    awk -v marker="<!-- user-crate: $1 -->" '
        $0 == marker { found = 1; next }
        found == 1 && /^```/ { found = 2; next }
        found == 2 && /^```/ { exit }
        found == 2 { print }' README.md
}

# make_crate DIR RUNTIME: the README's crate in DIR, with cave-runtime from the folder RUNTIME.
make_crate() {
    local dir=$1 runtime=$2
    mkdir -p "$dir/src" "$dir/schemas"
    block Cargo.toml | sed "s|^cave-runtime = .*|cave-runtime = { path = \"$runtime\" }|" >"$dir/Cargo.toml"
    printf '\n[workspace]\n' >>"$dir/Cargo.toml"
    block src/main.rs >"$dir/src/main.rs"
    [[ -s "$dir/src/main.rs" ]] || { echo "no user-crate blocks in README.md" >&2; exit 1; }
    cp -r schemas/minnie65_public schemas/types "$dir/schemas/"
}

seconds() { # CMD...: the wall time of CMD, in seconds
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; "$@" >&2 || true; exit 1; }
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN{printf "%.2f", b - a}'
}
median() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }

# measure LABEL DIR: one table row.
measure() {
    local label=$1 dir=$2 first builds=() checks=()
    export CARGO_TARGET_DIR="$dir/target"
    first=$(cd "$dir" && seconds cargo build)
    for i in $(seq "$RUNS"); do
        builds+=("$(cd "$dir" && cargo clean -p proofread-axons >/dev/null 2>&1 && seconds cargo build)")
    done
    (cd "$dir" && cargo check >/dev/null 2>&1)
    for i in $(seq "$RUNS"); do
        echo "// edit $i" >>"$dir/src/main.rs"
        checks+=("$(cd "$dir" && seconds cargo check)")
    done
    unset CARGO_TARGET_DIR
    printf '| %-22s | %9s | %8s | %8s |\n' "$label" "$(printf '%s\n' "${builds[@]}" | median)" \
        "$(printf '%s\n' "${checks[@]}" | median)" "$first"
}

echo "The README's user crate (datastack! over every table and view of minnie65_public), debug"
echo "profile, $(nproc) cores, $(date -u +%F), medians of $RUNS; seconds:"
echo
echo "| cave-runtime           | crate build | check after edit | first build (deps) |"
echo "|------------------------|-----------|----------|----------|"
make_crate "$work/head" "$repo/cave-runtime"
measure "this checkout" "$work/head"
if [[ $# -ge 1 ]]; then
    git worktree add --detach "$work/rev" "$1" >/dev/null 2>&1
    make_crate "$work/rev-crate" "$work/rev/cave-runtime"
    measure "at $(git rev-parse --short "$1")" "$work/rev-crate"
fi
