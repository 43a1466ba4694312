#!/usr/bin/env bash
# Real OS key stores, end to end through the `countersign` binary:
#  - Secret Service: a private D-Bus session with gnome-keyring-daemon (what a Linux desktop has);
#  - the kernel keyring (keyutils), inside a fresh session keyring.
# Installs what it needs (Debian packages) and prints "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${COUNTERSIGN_BIN:-target/debug/countersign}
[ -x "$BIN" ] || cargo build -q -p countersign-harness

need=()
command -v dbus-run-session >/dev/null || need+=(dbus)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v keyctl >/dev/null || need+=(keyutils)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
BIN=$(readlink -f "$BIN")
export BIN work
passed=0
failed=0
check() { # name, command...
  local name=$1; shift
  if "$@" >"$work/out" 2>&1; then passed=$((passed + 1)); echo "ok   $name"
  else failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     /' "$work/out"; fi
}

URI='otpauth://totp/Store:test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'

secret_service() {
  # Each D-Bus session gets its own home, so its keyring starts empty and nothing leaks into
  # (or out of) the user's real keyrings.
  mkdir -p "$work/home1" "$work/home2"
  HOME="$work/home1" XDG_DATA_HOME="$work/home1" dbus-run-session -- bash -c '
    set -e
    eval "$(printf "unlock\n" | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
    "$BIN" --vault "$work/ss.db" --key-store os add --uri "'"$URI"'" >/dev/null
    # A second process opens the vault with the key kept by the Secret Service.
    "$BIN" --vault "$work/ss.db" --key-store os check | grep -q "key store os-secret-service"
    "$BIN" --vault "$work/ss.db" --key-store os codes --json | grep -Eq "\"code\": \"[0-9]{6}\""
  ' 2>"$work/dbus.log" || { cat "$work/dbus.log"; return 1; }
  # The vault really depends on that keyring: a fresh, empty keyring cannot open it.
  if HOME="$work/home2" XDG_DATA_HOME="$work/home2" dbus-run-session -- bash -c '
      eval "$(printf "unlock\n" | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
      "$BIN" --vault "$work/ss.db" --key-store os codes' >/dev/null 2>&1; then
    echo "an empty keyring opened the vault"; return 1
  fi
  # And the file is never plaintext: the known secret bytes are not in it.
  ! grep -q "12345678901234567890" "$work/ss.db"
}

kernel() {
  keyctl session - bash -c '
    set -e
    "$BIN" --vault "$work/k.db" --key-store kernel add --uri "'"$URI"'" >/dev/null
    "$BIN" --vault "$work/k.db" --key-store kernel check | grep -q "os-linux-kernel-keyring"
  ' >/dev/null
  # Outside `keyctl session` the outcome depends on the process's keyrings (a service process
  # usually has no usable session keyring): either it works and the vault reopens, or it fails
  # with the typed key-store status (5) and creates nothing. Never a third way.
  set +e
  "$BIN" --vault "$work/k2.db" --key-store kernel add --uri "$URI" >/dev/null 2>&1 </dev/null
  local rc=$?
  set -e
  case "$rc" in
    0) "$BIN" --vault "$work/k2.db" --key-store kernel check >/dev/null ;;
    5) [ ! -e "$work/k2.db" ] ;;
    *) echo "unexpected status $rc"; return 1 ;;
  esac
}

check "secret service: create, reopen from another process, refuse an empty keyring" secret_service
check "kernel keyring: create and reopen in a session; typed refusal without a session keyring" kernel

echo "keystores: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
