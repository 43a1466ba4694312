#!/usr/bin/env bash
# Builds countersign-ffi for Android with cargo-ndk and generates the Android flavour of the uniffi
# Kotlin bindings. Called by the Gradle task :app:buildRust (android/app/build.gradle.kts); runs
# on its own too.
#
# Usage: android/scripts/build-rust.sh --out DIR [--debug] [--abis "arm64-v8a armeabi-v7a x86_64"]
#                                     [--bindings-only]
#   --out DIR        writes DIR/jniLibs/<abi>/libcountersign_ffi.so and DIR/kotlin/…/countersign_ffi.kt
#   --debug          debug build of the Android libraries (default: release)
#   --abis LIST      Android ABIs (default: arm64-v8a armeabi-v7a x86_64)
#   --bindings-only  only the Kotlin bindings (host build; no NDK needed)
# Needs: cargo, and for the libraries cargo-ndk (`cargo install cargo-ndk`), the Rust targets
# (`rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android`) and
# ANDROID_NDK_HOME (cargo-ndk also finds the NDK under ANDROID_HOME/ndk).
# Environment: CARGO (default cargo), ANDROID_MIN_SDK (default 30, as app/build.gradle.kts).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cargo=${CARGO:-cargo}
out=""
profile=release
abis="arm64-v8a armeabi-v7a x86_64"
libs=1
while [ $# -gt 0 ]; do
    case "$1" in
        --out) [ $# -ge 2 ] || { echo "build-rust.sh: --out needs a directory" >&2; exit 2; }; out=$2; shift 2 ;;
        --debug) profile=debug; shift ;;
        --abis) [ $# -ge 2 ] || { echo "build-rust.sh: --abis needs a list" >&2; exit 2; }; abis=$2; shift 2 ;;
        --bindings-only) libs=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
        *) echo "build-rust.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
[ -n "$out" ] || { echo "build-rust.sh: --out DIR is required" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$root"
run() { echo "+ $*"; "$@"; }

release_flag=()
[ "$profile" = release ] && release_flag=(--release)
# Phone builds leave out the desktop OS key stores (bindings/Cargo.toml: default feature
# desktop-keyring); the host build the bindings come from uses the same features.
features=(--no-default-features)

if [ "$libs" = 1 ]; then
    ndk_args=()
    for abi in $abis; do ndk_args+=(-t "$abi"); done
    rm -rf "$out/jniLibs"
    # -p countersign-ffi only: a workspace build would merge uniffi's `cli` feature into the library.
    run "$cargo" ndk "${ndk_args[@]}" --platform "${ANDROID_MIN_SDK:-30}" -o "$out/jniLibs" \
        build -p countersign-ffi "${features[@]}" "${release_flag[@]}"
fi

# The bindings come from the host build of the same crate (same uniffi metadata; a stripped
# Android library may not have it), with the Android keys laid over bindings/uniffi.toml.
run "$cargo" build -q -p countersign-ffi "${features[@]}" "${release_flag[@]}"
target_dir=${CARGO_TARGET_DIR:-}
if [ -z "$target_dir" ]; then
    target_dir=$("$cargo" metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
fi
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
case "$(uname -s)" in Darwin) host_lib=libcountersign_ffi.dylib ;; *) host_lib=libcountersign_ffi.so ;; esac
config=$out/uniffi-android.merged.toml
awk -f bindings/scripts/merge-uniffi-config.awk android/uniffi-android.toml bindings/uniffi.toml > "$config"
rm -rf "$out/kotlin"
run "$cargo" run -q -p uniffi-bindgen -- generate --library "$target_dir/$profile/$host_lib" \
    --language kotlin --out-dir "$out/kotlin" --no-format --config "$config"
[ -n "$(find "$out/kotlin" -name '*.kt' | head -n1)" ] || { echo "build-rust.sh: no Kotlin generated" >&2; exit 1; }
echo "== Android Rust libraries in $out/jniLibs, Kotlin bindings in $out/kotlin"
