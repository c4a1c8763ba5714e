#!/usr/bin/env bash
# Make a fresh Python venv and install packages into it from PyPI.
#   scripts/make_venv.sh DIR PYTHON PACKAGE...
# A venv left half-made by an earlier run is removed first. When it fails, it says so with the
# free disk space: on a full disk, venv's ensurepip step fails with only "returned non-zero exit
# status 1" (a CI run was lost to that once).
set -euo pipefail
venv="$1"
python="$2"
shift 2
rm -rf "$venv"
if ! "$python" -m venv "$venv" ||
    ! "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"; then
    echo "could not make the venv $venv with $* (python: $python); free disk space:" >&2
    df -h "$(dirname "$venv")" >&2
    exit 1
fi
