#!/usr/bin/env bash
# Run tests/tests/schema_service.rs against the real CAVE schema service (emannotationschemas
# 5.26.3): install it into a venv (PyPI), start it on a free loopback port, run the test with
# CAVE_SCHEMA_SERVICE_URL set, stop the service.
#
#   scripts/run_schema_service_test.sh
#
# Environment: EMAS_VENV    venv location (default: target/venv-emas; reused when it works)
#              EMAS_PYTHON  python to build the venv with (default: python3; 3.11 tested)
#
# How the service is set up: the
# `emannotationschemas[service]` extra is uninstallable (flask-cors pins conflict), so the base
# package is installed with the service pins the app imports (Flask 2.1.3, Werkzeug 2.1.2,
# flask-restx 1.3.0, pandas 2.0.3). No database or config is needed.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${EMAS_VENV:-target/venv-emas}"
python="${EMAS_PYTHON:-python3}"
t0=$(date +%s)

if ! "$venv/bin/python" -c "import emannotationschemas.app" 2>/dev/null; then
    echo "installing emannotationschemas 5.26.3 into $venv" >&2
    scripts/make_venv.sh "$venv" "$python" \
        "emannotationschemas==5.26.3" \
        "Flask==2.1.3" "Werkzeug==2.1.2" "flask-restx==1.3.0" "pandas==2.0.3"
fi
t_installed=$(date +%s)

port=$("$venv/bin/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
log="$venv/service.log"
# PYTHONHASHSEED: marshmallow keeps some key sets in a plain set(); a fixed seed makes the
# service's key order reproducible (the test compares parsed types, so it does not depend on it).
PYTHONHASHSEED=0 "$venv/bin/python" -c "
import sys
from emannotationschemas.app import create_app
create_app().run(host='127.0.0.1', port=int(sys.argv[1]), debug=False, threaded=True)
" "$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT

url="http://127.0.0.1:$port"
"$venv/bin/python" - "$url" "$pid" <<'EOF' || { echo "the schema service did not start; its log:" >&2; cat "$log" >&2; exit 1; }
import os, sys, time, urllib.request
url, pid = sys.argv[1], int(sys.argv[2])
for _ in range(600):
    try:
        urllib.request.urlopen(url + "/schema/versions", timeout=1).read()
        sys.exit(0)
    except Exception:
        try:
            os.kill(pid, 0)
        except OSError:
            sys.exit(1)
        time.sleep(0.05)
sys.exit(1)
EOF
t_ready=$(date +%s)
echo "schema service ready at $url (install $((t_installed - t0)) s, start $((t_ready - t_installed)) s)" >&2

CAVE_SCHEMA_SERVICE_URL="$url" cargo test -p cave-tests --test schema_service -- --nocapture
echo "schema service test done in $(($(date +%s) - t0)) s" >&2
