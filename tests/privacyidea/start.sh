#!/usr/bin/env bash
# Start the privacyIDEA test server on loopback, HTTP and HTTPS (idempotent).
# Runs setup.sh first (skip with PI_SKIP_SETUP=1). Returns once both listeners
# answer /healthz/readyz, or fails with the log tails. See README.md.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

t0=$(date +%s)
if [ "${PI_SKIP_SETUP:-0}" != 1 ]; then
  "$PI_SCRIPT_DIR/setup.sh"
fi
[ -x "$PI_VENV/bin/gunicorn" ] && [ -s "$PI_CFG" ] || pi_die "not set up: run setup.sh first"
[ "$(cat "$PI_HOME/push-url" 2>/dev/null)" = "$PI_PUSH_URL" ] \
  || pi_die "push_registration_url in $PI_HOME is '$(cat "$PI_HOME/push-url" 2>/dev/null)', not $PI_PUSH_URL: run setup.sh with the same PI_* settings (or start.sh without PI_SKIP_SETUP)"
pi_need_apt openssl:openssl curl:curl

PIDS="$PI_HOME/pids"
TLS="$PI_HOME/tls"
CA="$PI_HOME/ca.pem"

ready() {  # url [curl args...]
  local url="$1"; shift
  curl -fsS -o /dev/null --max-time 5 "$@" "$url/healthz/readyz" 2>/dev/null
}

# --- already running? -------------------------------------------------------
if [ -s "$PIDS" ]; then
  alive=0 total=0
  while read -r pid; do
    total=$((total + 1))
    pi_is_our_gunicorn "$pid" && alive=$((alive + 1))
  done <"$PIDS"
  if [ "$alive" -eq 2 ] && [ "$total" -eq 2 ] && ready "$PI_HTTP_URL" && ready "$PI_HTTPS_URL" --cacert "$CA"; then
    pi_log "already running: $PI_HTTP_URL $PI_HTTPS_URL (pids $(tr '\n' ' ' <"$PIDS"))"
    exit 0
  fi
  pi_log "stale or partial server found; stopping it first"
  "$PI_SCRIPT_DIR/stop.sh"
fi

for port in "$PI_HTTP_PORT" "$PI_HTTPS_PORT"; do
  pi_port_busy "$port" && pi_die "port $PI_HOST:$port is already in use by another process (set PI_HTTP_PORT / PI_HTTPS_PORT)"
done

# --- test CA and server certificate (openssl CLI) ---------------------------
mkdir -p "$TLS" "$PI_HOME/logs" "$PI_HOME/run"
chmod 700 "$TLS"
if [ ! -s "$TLS/ca.key" ] || [ ! -s "$TLS/ca.pem" ] || ! openssl x509 -checkend 86400 -noout -in "$TLS/ca.pem" >/dev/null; then
  pi_log "generating test CA"
  rm -f "$TLS"/server.*
  openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 3650 \
    -keyout "$TLS/ca.key" -out "$TLS/ca.pem" \
    -subj "/O=Countersign e2e/CN=Countersign e2e test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" 2>/dev/null
  chmod 600 "$TLS/ca.key"
fi
if [ ! -s "$TLS/server.key" ] || [ ! -s "$TLS/server.pem" ] \
   || ! openssl x509 -checkend 86400 -noout -in "$TLS/server.pem" >/dev/null \
   || ! openssl verify -CAfile "$TLS/ca.pem" "$TLS/server.pem" >/dev/null 2>&1; then
  pi_log "generating server certificate for 127.0.0.1 / localhost / ::1"
  openssl req -new -newkey rsa:2048 -nodes -sha256 \
    -keyout "$TLS/server.key" -out "$TLS/server.csr" \
    -subj "/O=Countersign e2e/CN=127.0.0.1" 2>/dev/null
  cat >"$TLS/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
EOF
  openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
    -CAcreateserial -CAserial "$TLS/ca.srl" -days 825 -sha256 \
    -extfile "$TLS/server.ext" -out "$TLS/server.pem" 2>/dev/null
  chmod 600 "$TLS/server.key"
  rm -f "$TLS/server.csr"
fi
cp "$TLS/ca.pem" "$CA.tmp" && mv "$CA.tmp" "$CA"

# --- gunicorn, one master per listener --------------------------------------
# gthread: one worker process with $PI_THREADS threads each, so a blocking
# /validate/check (push_wait) does not starve the phone's requests. No
# --preload: privacyIDEA opens DB connections in create_app().
launch() {  # name bind [extra gunicorn args...]
  local name="$1" bind="$2"; shift 2
  rm -f "$PI_HOME/run/$name.pid"
  : >"$PI_HOME/logs/gunicorn-$name.out"
  : >"$PI_HOME/logs/gunicorn-$name.log"
  (cd "$PI_HOME" && exec setsid "$PI_VENV/bin/gunicorn" \
      --pythonpath "$PI_SCRIPT_DIR" \
      --bind "$bind" --workers 1 --worker-class gthread --threads "$PI_THREADS" \
      --timeout 120 --graceful-timeout 5 --no-control-socket \
      --pid "$PI_HOME/run/$name.pid" \
      --error-logfile "$PI_HOME/logs/gunicorn-$name.log" \
      --access-logfile "$PI_HOME/logs/access-$name.log" \
      "$@" pi_wsgi:application \
      </dev/null >>"$PI_HOME/logs/gunicorn-$name.out" 2>&1) &
  echo $!
}

pid_http=$(launch http "$PI_HOST:$PI_HTTP_PORT")
pid_https=$(launch https "$PI_HOST:$PI_HTTPS_PORT" --certfile "$TLS/server.pem" --keyfile "$TLS/server.key")
printf '%s\n%s\n' "$pid_http" "$pid_https" >"$PIDS"
pi_log "started gunicorn http=$pid_http https=$pid_https; waiting for $PI_HTTP_URL and $PI_HTTPS_URL"

fail() {
  echo "[privacyidea] ERROR: $*" >&2
  for f in gunicorn-http.log gunicorn-https.log gunicorn-http.out gunicorn-https.out privacyidea.log; do
    [ -s "$PI_HOME/logs/$f" ] || continue
    echo "----- tail $PI_HOME/logs/$f -----" >&2
    tail -n 25 "$PI_HOME/logs/$f" >&2
  done
  "$PI_SCRIPT_DIR/stop.sh" || true
  exit 1
}

deadline=$(( $(date +%s) + PI_START_TIMEOUT ))
up_http=0 up_https=0
while :; do
  kill -0 "$pid_http" 2>/dev/null || fail "HTTP gunicorn (pid $pid_http) exited"
  kill -0 "$pid_https" 2>/dev/null || fail "HTTPS gunicorn (pid $pid_https) exited"
  [ "$up_http" = 1 ] || { ready "$PI_HTTP_URL" && up_http=1; } || true
  [ "$up_https" = 1 ] || { ready "$PI_HTTPS_URL" --cacert "$CA" && up_https=1; } || true
  [ "$up_http" = 1 ] && [ "$up_https" = 1 ] && break
  [ "$(date +%s)" -lt "$deadline" ] || fail "server not ready within ${PI_START_TIMEOUT}s (http=$up_http https=$up_https)"
  sleep 0.5
done
# Record the masters' pids as gunicorn itself reports them (same pids unless
# setsid had to fork).
for name in http https; do
  [ -s "$PI_HOME/run/$name.pid" ] || fail "gunicorn did not write $PI_HOME/run/$name.pid"
done
cat "$PI_HOME/run/http.pid" "$PI_HOME/run/https.pid" >"$PIDS"
# The certificate must also verify under the name "localhost".
curl -fsS -o /dev/null --max-time 5 --cacert "$CA" "https://localhost:$PI_HTTPS_PORT/healthz/livez" \
  || fail "HTTPS certificate does not verify for https://localhost:$PI_HTTPS_PORT"

echo "$PI_HTTP_URL" >"$PI_HOME/http-url"
echo "$PI_HTTPS_URL" >"$PI_HOME/https-url"
pi_log "privacyIDEA up in $(( $(date +%s) - t0 ))s: $PI_HTTP_URL and $PI_HTTPS_URL (CA $CA, push url $(cat "$PI_HOME/push-url"))"
