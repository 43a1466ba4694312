#!/usr/bin/env bash
# Builds the host cdylib of countersign-ffi and generates the foreign-language bindings from it
# (uniffi library mode, with the uniffi-bindgen pinned in bindings/uniffi-bindgen).
#
# Usage:
#   bindings/scripts/generate.sh [--out DIR] [--release] [--languages "python kotlin swift csharp"]
#
# Options:
#   --out DIR         Where to write; each language goes to DIR/<language>. Relative paths are taken
#                     from the directory the script is called from. Default: tests/bindings/generated
#                     in the repository (gitignored). DIR/<language> is emptied before generating.
#   --release         Build and generate from target/release instead of target/debug. The library
#                     is generated from unstripped (a fully stripped library has no uniffi metadata);
#                     strip with `strip --strip-debug` at most, after generating.
#   --languages LIST  Space-separated subset of: python kotlin swift csharp. Default: all four.
#                     csharp runs only when `uniffi-bindgen-cs` (NordSecurity, the release matching
#                     uniffi 0.31) is on PATH; otherwise it is skipped with a notice, not an error.
#   -h, --help        Print this header.
#
# What it produces:
#   DIR/lib/libcountersign_ffi.so   a copy of the library the bindings were generated from
#   DIR/python/countersign_ffi.py + libcountersign_ffi.so (the library again, next to the module,
#                     which loads it from its own directory)
#   DIR/kotlin/org/countersign/core/countersign_ffi.kt   JVM flavour: bindings/uniffi.toml with the
#                     keys of bindings/scripts/uniffi-jvm.toml (android = false) laid over it, merged
#                     into DIR/uniffi-jvm.merged.toml. Load with -Djna.library.path=DIR/lib. Android builds generate with their own config.
#   DIR/swift/CountersignCore.swift, CountersignCoreFFI.h, CountersignCoreFFI.modulemap
#                     (check them with bindings/scripts/check-swift.sh DIR/swift LIBRARY)
#   DIR/csharp/*.cs   only with uniffi-bindgen-cs on PATH
#   DIR/LIBRARY       one line: the absolute path of DIR/lib/<library>
#
# The library is built with `cargo build -p countersign-ffi` and never workspace-wide: a
# workspace build would merge uniffi's `cli` feature (needed only by the bindgen) into the
# shipped library. Environment: CARGO (default cargo), CARGO_TARGET_DIR (honoured).
# Exit status: non-zero if the build or any requested generator fails.
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; }

caller_dir=$(pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out="$root/tests/bindings/generated"
profile=debug
languages="python kotlin swift csharp"
cargo=${CARGO:-cargo}

while [ $# -gt 0 ]; do
    case "$1" in
        --out)
            [ $# -ge 2 ] || { echo "generate.sh: --out needs a directory" >&2; exit 2; }
            case "$2" in /*) out="$2" ;; *) out="$caller_dir/$2" ;; esac
            shift 2 ;;
        --out=*)
            v=${1#--out=}
            case "$v" in /*) out="$v" ;; *) out="$caller_dir/$v" ;; esac
            shift ;;
        --release) profile=release; shift ;;
        --languages)
            [ $# -ge 2 ] || { echo "generate.sh: --languages needs a list" >&2; exit 2; }
            languages="$2"; shift 2 ;;
        --languages=*) languages=${1#--languages=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "generate.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

for lang in $languages; do
    case "$lang" in
        python|kotlin|swift|csharp) ;;
        *) echo "generate.sh: unknown language '$lang' (python kotlin swift csharp)" >&2; exit 2 ;;
    esac
done

cd "$root"
run() { echo "+ $*"; "$@"; }

case "$(uname -s)" in
    Darwin) libfile=libcountersign_ffi.dylib ;;
    MINGW*|MSYS*|CYGWIN*) libfile=countersign_ffi.dll ;;
    *) libfile=libcountersign_ffi.so ;;
esac

target_dir=${CARGO_TARGET_DIR:-}
if [ -z "$target_dir" ]; then
    target_dir=$("$cargo" metadata --no-deps --format-version 1 \
        | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
fi
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac

echo "== build the host library ($profile)"
build_args=(build -p countersign-ffi)
[ "$profile" = release ] && build_args+=(--release)
run "$cargo" "${build_args[@]}"
lib="$target_dir/$profile/$libfile"
[ -f "$lib" ] || { echo "generate.sh: $lib was not built" >&2; exit 1; }

# Build the generator once, quietly, so the per-language runs below only print their own lines.
echo "== build uniffi-bindgen"
run "$cargo" build -q -p uniffi-bindgen

bindgen() { run "$cargo" run -q -p uniffi-bindgen -- generate --library "$lib" "$@"; }
# uniffi exits 0 and writes nothing when the library has no uniffi metadata (fully stripped),
# so check that each language really produced its files.
produced() {
    local dir=$1 pattern=$2
    if [ -z "$(find "$dir" -name "$pattern" -type f 2>/dev/null | head -n1)" ]; then
        echo "generate.sh: no $pattern in $dir: does $lib still have its uniffi metadata (not fully stripped)?" >&2
        exit 1
    fi
}

# A private copy of the library, so a later cargo build cannot put a different library under the
# generated bindings (uniffi checks the API checksums when the bindings load it).
# Replace (never overwrite in place): the old file may be hard-linked into python/ or mapped by
# a running test.
mkdir -p "$out/lib"
rm -f "$out/lib/$libfile"
run cp "$lib" "$out/lib/$libfile"
lib="$out/lib/$libfile"

for lang in $languages; do
    dest="$out/$lang"
    case "$lang" in
        python)
            echo "== python"
            rm -rf "$dest"
            bindgen --language python --out-dir "$dest" --no-format
            produced "$dest" countersign_ffi.py
            # The module loads the library from its own directory; a hard link costs no space.
            ln "$lib" "$dest/$libfile" 2>/dev/null || run cp "$lib" "$dest/$libfile"
            ;;
        kotlin)
            echo "== kotlin (JVM: android = false)"
            rm -rf "$dest"
            # `--config` replaces bindings/uniffi.toml in uniffi 0.31 (no merge), so merge first.
            jvm_config="$out/uniffi-jvm.merged.toml"
            awk -f "$root/bindings/scripts/merge-uniffi-config.awk" \
                "$root/bindings/scripts/uniffi-jvm.toml" "$root/bindings/uniffi.toml" > "$jvm_config"
            bindgen --language kotlin --out-dir "$dest" --no-format --config "$jvm_config"
            produced "$dest" '*.kt'
            ;;
        swift)
            echo "== swift"
            rm -rf "$dest"
            bindgen --language swift --out-dir "$dest" --no-format
            produced "$dest" '*FFI.h'
            produced "$dest" '*.swift'
            ;;
        csharp)
            echo "== csharp"
            if ! command -v uniffi-bindgen-cs >/dev/null 2>&1; then
                echo "SKIPPED: C# bindings not generated: uniffi-bindgen-cs is not on PATH."
                echo "  (Install NordSecurity's uniffi-bindgen-cs release for uniffi 0.31 from its git"
                echo "  repository; it is not on crates.io. The [bindings.csharp] section of"
                echo "  bindings/uniffi.toml sets the namespace Countersign.Core.)"
                continue
            fi
            rm -rf "$dest"
            cs_args=(--library "$lib" --out-dir "$dest")
            if uniffi-bindgen-cs --help 2>&1 | grep -q -- '--no-format'; then
                cs_args+=(--no-format)
            fi
            run uniffi-bindgen-cs "${cs_args[@]}"
            produced "$dest" '*.cs'
            ;;
    esac
done

echo "$lib" > "$out/LIBRARY"
echo "== bindings in $out (library: $lib)"
