#!/usr/bin/env bash
# Stop the gunicorn masters that start.sh recorded in $PI_HOME/pids (idempotent).
# Only pids whose command line is our gunicorn (pi_wsgi:application) are signalled.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

PIDS="$PI_HOME/pids"
pids=()
if [ -f "$PIDS" ]; then
  while read -r pid; do
    [ -n "$pid" ] || continue
    if pi_is_our_gunicorn "$pid"; then pids+=("$pid"); fi
  done <"$PIDS"
fi
# Also the pid files gunicorn writes itself (covers a start.sh that died early).
for f in "$PI_HOME/run/http.pid" "$PI_HOME/run/https.pid"; do
  [ -s "$f" ] || continue
  pid="$(cat "$f")"
  if pi_is_our_gunicorn "$pid" && [[ " ${pids[*]-} " != *" $pid "* ]]; then pids+=("$pid"); fi
done

if [ "${#pids[@]}" -eq 0 ]; then
  pi_log "not running"
  rm -f "$PIDS" "$PI_HOME/run/http.pid" "$PI_HOME/run/https.pid"
  exit 0
fi

pi_log "stopping gunicorn ${pids[*]}"
kill -TERM "${pids[@]}" 2>/dev/null || true
for _ in $(seq 1 40); do
  still=()
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && still+=("$pid"); done
  [ "${#still[@]}" -eq 0 ] && break
  sleep 0.25
done
if [ "${#still[@]}" -gt 0 ]; then
  # start.sh runs each master under setsid, so its process group (= its pid)
  # holds exactly that master and its workers.
  pi_log "still alive after 10s, sending SIGKILL to process groups ${still[*]}"
  for pid in "${still[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; done
fi
rm -f "$PIDS" "$PI_HOME/run/http.pid" "$PI_HOME/run/https.pid"
pi_log "stopped"
