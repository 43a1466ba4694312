#!/usr/bin/env bash
# Builds countersign-ffi as a static library for iOS devices (aarch64-apple-ios) and the Apple
# silicon simulator (aarch64-apple-ios-sim), wraps both in build/CountersignCoreFFI.xcframework
# with the uniffi C header and module map, and generates the Swift bindings into build/generated.
# macOS only (xcodebuild, lipo-free: one slice per platform).
#
# Usage: ios/scripts/build-xcframework.sh [--debug]
# Needs: Xcode command-line tools, rustup targets aarch64-apple-ios aarch64-apple-ios-sim.
# Environment: CARGO (default cargo), CARGO_TARGET_DIR (honoured).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ios=$root/ios
cargo=${CARGO:-cargo}
profile=release
case "${1:-}" in
    --debug) profile=debug ;;
    "") ;;
    -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
    *) echo "build-xcframework.sh: unknown argument '$1'" >&2; exit 2 ;;
esac
[ "$(uname -s)" = Darwin ] || { echo "build-xcframework.sh: needs macOS with Xcode" >&2; exit 1; }
run() { echo "+ $*"; "$@"; }
cd "$root"

flags=(-p countersign-ffi --no-default-features)  # no desktop key stores on phones
[ "$profile" = release ] && flags+=(--release)
targets=(aarch64-apple-ios aarch64-apple-ios-sim)
for t in "${targets[@]}"; do
    run "$cargo" build "${flags[@]}" --target "$t"
done
target_dir=${CARGO_TARGET_DIR:-}
if [ -z "$target_dir" ]; then
    target_dir=$("$cargo" metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
fi
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac

# Swift bindings from the host build with the same features (same uniffi metadata and checksums).
run "$cargo" build "${flags[@]}"
run "$cargo" build -q -p uniffi-bindgen
gen=$ios/build/generated
rm -rf "$gen" && mkdir -p "$gen"
run "$cargo" run -q -p uniffi-bindgen -- generate --library "$target_dir/$profile/libcountersign_ffi.dylib" \
    --language swift --out-dir "$gen" --no-format

headers=$ios/build/headers
rm -rf "$headers" && mkdir -p "$headers"
cp "$gen/CountersignCoreFFI.h" "$headers/"
# xcodebuild looks for module.modulemap next to the headers.
cp "$gen/CountersignCoreFFI.modulemap" "$headers/module.modulemap"

xcf=$ios/build/CountersignCoreFFI.xcframework
rm -rf "$xcf"
args=()
for t in "${targets[@]}"; do
    args+=(-library "$target_dir/$t/$profile/libcountersign_ffi.a" -headers "$headers")
done
run xcodebuild -create-xcframework "${args[@]}" -output "$xcf"
echo "== $xcf and $gen/CountersignCore.swift"
