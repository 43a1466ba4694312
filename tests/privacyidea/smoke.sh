#!/usr/bin/env bash
# Run smoke.py (push + TOTP end to end) with the server venv against a server
# started by start.sh. Arguments go to smoke.py (--via http|https, -v, --only ...).
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"
[ -x "$PI_VENV/bin/python" ] || pi_die "no venv at $PI_VENV: run setup.sh / start.sh first"
[ -s "$PI_HOME/http-url" ] && [ -s "$PI_HOME/pids" ] || pi_die "server not started: run start.sh first"
exec "$PI_VENV/bin/python" "$PI_SCRIPT_DIR/smoke.py" "$@"
