# Shared settings and helpers for setup.sh / start.sh / stop.sh / smoke.sh.
# Sourced, not executed. Every setting can be overridden from the environment.
# shellcheck disable=SC2034,SC1003  # sourced: the variables are used by the other scripts

PI_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

PI_HOME="${PI_HOME:-/tmp/countersign-pi}"
PI_VENV="${PI_VENV:-$PI_HOME/venv}"
PI_PYTHON="${PI_PYTHON:-python3}"
PI_HOST=127.0.0.1                       # loopback only, by design
PI_HTTP_PORT="${PI_HTTP_PORT:-5001}"
PI_HTTPS_PORT="${PI_HTTPS_PORT:-5443}"
# Which listener the push token talks to (the push_registration_url policy,
# i.e. the `url` in the otpauth://pipush/ URI and in every challenge).
PI_PUSH_SCHEME="${PI_PUSH_SCHEME:-https}"
PI_PUSH_SSL_VERIFY="${PI_PUSH_SSL_VERIFY:-1}"
PI_CHALLENGE_VALIDITY="${PI_CHALLENGE_VALIDITY:-120}"
PI_START_TIMEOUT="${PI_START_TIMEOUT:-90}"
PI_THREADS="${PI_THREADS:-8}"

PI_CFG="$PI_HOME/pi.cfg"
PI_HTTP_URL="http://$PI_HOST:$PI_HTTP_PORT"
PI_HTTPS_URL="https://$PI_HOST:$PI_HTTPS_PORT"

case "$PI_PUSH_SCHEME" in
  https) PI_PUSH_BASE="$PI_HTTPS_URL" ;;
  http)  PI_PUSH_BASE="$PI_HTTP_URL" ;;
  *) echo "PI_PUSH_SCHEME must be http or https, not '$PI_PUSH_SCHEME'" >&2; exit 2 ;;
esac
PI_PUSH_URL="$PI_PUSH_BASE/ttype/push"

case "$PI_HOME" in
  /*) ;;
  *) echo "PI_HOME must be an absolute path, not '$PI_HOME'" >&2; exit 2 ;;
esac
case "$PI_HOME$PI_VENV" in
  *"'"*|*'"'*|*'\'*|*' '*) echo "PI_HOME/PI_VENV must not contain quotes, backslashes or spaces" >&2; exit 2 ;;
esac

export PI_HOME PI_VENV PRIVACYIDEA_CONFIGFILE="$PI_CFG"

pi_log() { echo "[privacyidea $(date +%H:%M:%S)] $*" >&2; }
pi_die() { echo "[privacyidea] ERROR: $*" >&2; exit 1; }

# pi_apt_install PACKAGE... (root, Debian): apt-get update once per run, then install.
PI_APT_UPDATED=
pi_apt_install() {
  command -v apt-get >/dev/null 2>&1 || pi_die "need Debian packages $* but there is no apt-get"
  [ "$(id -u)" -eq 0 ] || pi_die "need Debian packages $*; run as root or install them first"
  pi_log "apt-get install $*"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$PI_APT_UPDATED" ]; then apt-get update -qq >/dev/null; PI_APT_UPDATED=1; fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# pi_need_apt CMD:PACKAGE... installs the Debian packages whose command is missing.
pi_need_apt() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ "${#missing[@]}" -eq 0 ] || pi_apt_install "${missing[@]}"
}

# True if something accepts TCP connections on 127.0.0.1:$1
pi_port_busy() { (exec 3<>"/dev/tcp/$PI_HOST/$1") 2>/dev/null; }

# True if pid $1 is alive and is a gunicorn that start.sh launched for this PI_HOME
pi_is_our_gunicorn() {
  local pid="$1" cmd
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *gunicorn*" --pid $PI_HOME/run/"*pi_wsgi:application* ]]
}
