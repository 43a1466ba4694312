#!/usr/bin/env bash
# The project's test command (the README's second command, and what CI runs after the lints).
# Every layer that can run on this machine runs from here; each stage says what it runs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== Rust: unit, property, integration and CLI tests (whole workspace)"
cargo test --workspace --locked
