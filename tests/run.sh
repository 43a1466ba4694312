#!/usr/bin/env bash
# The project's test command (the README's second command, and what CI runs after the lints).
# Every layer that can run on this machine runs from here; each stage says what it runs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust: unit, property, integration and CLI tests (whole workspace)"
cargo test --workspace --locked

echo "== privacyIDEA 3.14 on loopback (installed from PyPI into a venv by tests/privacyidea/setup.sh): Rust e2e tests, then the protocol smoke test"
bash tests/privacyidea/start.sh
trap 'bash tests/privacyidea/stop.sh' EXIT
cargo test --locked -p countersign-harness --test e2e_privacyidea -- --ignored
bash tests/privacyidea/smoke.sh

echo "== OS key stores: Secret Service (gnome-keyring on a private D-Bus) and the kernel keyring"
cargo build -q -p countersign-harness
bash tests/keystores/run.sh

echo "== Enrolment page in headless Chromium (installs chromium + chromium-driver if missing)"
bash tests/browser/run.sh

echo "== Foreign-language bindings: generate, Python (pytest), Kotlin/JVM, Swift header check"
COUNTERSIGN_REQUIRE_KOTLIN=${COUNTERSIGN_REQUIRE_KOTLIN:-1} bash tests/bindings/run.sh

echo "== Android shell logic on the JVM: view models, key wrapping, push handling against the real core and reference server"
bash android/scripts/jvm-check.sh --bindings "${COUNTERSIGN_BINDINGS_DIR:-tests/bindings/generated}"
