#!/usr/bin/env bash
# The enrolment page in headless Chromium: installs Debian's chromium and chromium-driver if
# missing, builds the server and harness binaries, runs enrollment_page.py.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "installing chromium and chromium-driver"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver >/dev/null
fi
cargo build -q -p countersign-server -p countersign-harness
python3 tests/browser/enrollment_page.py
