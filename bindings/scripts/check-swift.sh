#!/usr/bin/env bash
# Checks the generated Swift bindings as far as a machine without a Swift toolchain can:
#   1. the C header (*FFI.h) compiles as C: `gcc -fsyntax-only -D_Nonnull= -D_Nullable= -x c`, and
#      again included from a translation unit with -std=c11 -Wall -Wextra -pedantic -Werror;
#   2. the modulemap names that header;
#   3. every `uniffi_*` / `ffi_*` function the header declares is exported by the library
#      (`nm -D --defined-only`), and every such symbol the library exports is declared in the
#      header (otherwise the bindings were generated from a different build).
#
# Usage: bindings/scripts/check-swift.sh [SWIFT_DIR] [LIBRARY]
#   SWIFT_DIR  default: tests/bindings/generated/swift
#   LIBRARY    default: the path recorded in SWIFT_DIR/../LIBRARY by generate.sh
# Environment: CC (default gcc), NM (default nm).
# Exit status: 0 when every check passes, 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir=${1:-$root/tests/bindings/generated/swift}
lib=${2:-}
if [ -z "$lib" ] && [ -f "$dir/../LIBRARY" ]; then
    lib=$(cat "$dir/../LIBRARY")
fi
cc=${CC:-gcc}
nm=${NM:-nm}

fail=0
bad() { echo "FAIL: $*"; fail=1; }

[ -d "$dir" ] || { echo "check-swift.sh: no directory $dir (run generate.sh first)" >&2; exit 1; }
[ -n "$lib" ] && [ -f "$lib" ] || { echo "check-swift.sh: no library '$lib'" >&2; exit 1; }

shopt -s nullglob
headers=("$dir"/*FFI.h)
modulemaps=("$dir"/*.modulemap)
swift_files=("$dir"/*.swift)
shopt -u nullglob
[ ${#headers[@]} -eq 1 ] || { echo "check-swift.sh: expected one *FFI.h in $dir, found ${#headers[@]}" >&2; exit 1; }
header=${headers[0]}
[ ${#swift_files[@]} -ge 1 ] || bad "no .swift file in $dir"

echo "+ $cc -fsyntax-only -D_Nonnull= -D_Nullable= -x c $header"
# gcc notes "#pragma once in main file" when compiling a header directly: not a problem.
if ! "$cc" -fsyntax-only -D_Nonnull= -D_Nullable= -x c "$header" 2> >(grep -v -e 'pragma once' -e '^ *[0-9]* | ' -e '^ *| ' >&2); then
    bad "the header does not compile as C"
fi
echo "+ $cc -fsyntax-only -std=c11 -Wall -Wextra -pedantic -Werror (header included from a C file)"
if ! printf '#include "%s"\n' "$(basename "$header")" \
    | "$cc" -fsyntax-only -std=c11 -Wall -Wextra -pedantic -Werror -D_Nonnull= -D_Nullable= \
        -I "$dir" -x c -; then
    bad "the header does not compile cleanly with warnings as errors"
fi

if [ ${#modulemaps[@]} -eq 0 ]; then
    bad "no .modulemap in $dir"
else
    for m in "${modulemaps[@]}"; do
        if grep -q "header \"$(basename "$header")\"" "$m"; then
            echo "ok: $(basename "$m") names $(basename "$header")"
        else
            bad "$(basename "$m") does not name $(basename "$header")"
        fi
    done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Declarations: an identifier starting uniffi_/ffi_ followed by '(' (typedefs of callbacks are
# CamelCase Uniffi*, so they are not caught).
grep -oE '\b(uniffi|ffi)_[A-Za-z0-9_]+[[:space:]]*\(' "$header" | sed -E 's/[[:space:]]*\($//' \
    | sort -u > "$tmp/declared"
echo "+ $nm -D --defined-only $lib"
"$nm" -D --defined-only "$lib" | awk '{print $NF}' | grep -E '^(uniffi|ffi)_' | sort -u > "$tmp/exported" || true

declared=$(wc -l < "$tmp/declared")
exported=$(wc -l < "$tmp/exported")
missing=$(comm -23 "$tmp/declared" "$tmp/exported")
undeclared=$(comm -13 "$tmp/declared" "$tmp/exported")
[ "$declared" -gt 0 ] || bad "the header declares no uniffi_/ffi_ function"
if [ -n "$missing" ]; then
    bad "declared in $(basename "$header") but not exported by the library:"
    printf '  %s\n' $missing
fi
if [ -n "$undeclared" ]; then
    bad "exported by the library but not declared in $(basename "$header") (stale bindings?):"
    printf '  %s\n' $undeclared
fi
echo "symbols: $declared declared in the header, $exported uniffi_/ffi_ symbols exported by $(basename "$lib")"

if [ "$fail" -ne 0 ]; then
    echo "swift check: FAILED"
    exit 1
fi
echo "swift check: ok"
