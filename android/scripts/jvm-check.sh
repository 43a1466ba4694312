#!/usr/bin/env bash
# Compiles the Android shell's plain-Kotlin logic (android/app/src/main/kotlin/org/countersign/app/logic)
# on the JVM, against the JVM flavour of the generated uniffi Kotlin and the real host library,
# and runs android/jvm-test (view models, key wrapping, device signer, push handling) including an
# end-to-end sign-in against the reference server (tests/server) run on loopback.
#
# What this proves: the logic compiles without any android.* class (every file is compiled here
# with only the Kotlin stdlib, kotlinx-coroutines, JNA and the generated bindings on the classpath)
# and behaves as tested against the real core. What it does not: the Android-only files
# (platform/, ui/), Gradle, cargo-ndk, or anything on a device (see android/README.md).
#
# Usage: android/scripts/jvm-check.sh [--bindings DIR]
#   --bindings DIR  reuse bindings made by bindings/scripts/generate.sh (needs DIR/kotlin and
#                   DIR/lib); default: generate Kotlin into android/build/jvm-check/bindings
# Environment:
#   CARGO                   cargo command (default cargo), used for generate.sh and the server build
#   COUNTERSIGN_TOOLS_DIR   where kotlin-compiler is installed by npm (default .tools, gitignored)
#   KOTLIN_COMPILER_VERSION npm kotlin-compiler version (default 2.4.20, as tests/bindings/run.sh)
# Installs what it needs on Debian (java, npm, libjna-java) when run as root.
# Last line: "android-logic: N passed, M failed". Exit status 0 only if everything passed.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
cargo=${CARGO:-cargo}
tools=${COUNTERSIGN_TOOLS_DIR:-$root/.tools}
case "$tools" in /*) ;; *) tools="$root/$tools" ;; esac
kotlin_version=${KOTLIN_COMPILER_VERSION:-2.4.20}
work=$root/android/build/jvm-check
bindings=""

while [ $# -gt 0 ]; do
    case "$1" in
        --bindings) [ $# -ge 2 ] || { echo "jvm-check.sh: --bindings needs a directory" >&2; exit 2; }
            bindings=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/{/^#/s/^# \{0,1\}//p}' "$0"; exit 0 ;;
        *) echo "jvm-check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
run() { echo "+ $*"; "$@"; }

apt_updated=
apt_install() {
    command -v apt-get >/dev/null 2>&1 || return 1
    if [ -z "$apt_updated" ]; then run apt-get update -qq || return 1; apt_updated=1; fi
    DEBIAN_FRONTEND=noninteractive run apt-get install -y -qq --no-install-recommends "$@"
}

logic=$root/android/app/src/main/kotlin/org/countersign/app/logic
tests=$root/android/jvm-test

# 1. The logic must stay platform-free: that is what makes it testable here.
if grep -rnE '^import (android|androidx|com\.google)\.' "$logic"; then
    echo "jvm-check.sh: the files above import Android classes into logic/; move that code to platform/" >&2
    exit 1
fi

# 2. Toolchain: java, kotlinc from npm, JNA from Debian.
command -v java >/dev/null 2>&1 || apt_install openjdk-17-jre-headless
kotlinc=$tools/node_modules/kotlin-compiler/bin/kotlinc
klib=$tools/node_modules/kotlin-compiler/lib
have=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$tools/node_modules/kotlin-compiler/package.json" 2>/dev/null | head -n1 || true)
if [ ! -x "$kotlinc" ] || [ "$have" != "$kotlin_version" ]; then
    command -v npm >/dev/null 2>&1 || apt_install npm
    mkdir -p "$tools"
    run npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$tools" "kotlin-compiler@$kotlin_version"
fi
jna=/usr/share/java/jna.jar
[ -f "$jna" ] || apt_install libjna-java
for f in "$kotlinc" "$klib/kotlin-stdlib.jar" "$klib/kotlin-test.jar" "$klib/kotlinx-coroutines-core-jvm.jar" "$jna"; do
    [ -e "$f" ] || { echo "jvm-check.sh: missing $f" >&2; exit 1; }
done

# 3. Bindings (JVM flavour) and the host library they load.
if [ -z "$bindings" ]; then
    bindings=$work/bindings
    run bindings/scripts/generate.sh --languages kotlin --out "$bindings"
fi
case "$bindings" in /*) ;; *) bindings="$root/$bindings" ;; esac
[ -d "$bindings/kotlin" ] && [ -d "$bindings/lib" ] || { echo "jvm-check.sh: no kotlin/ and lib/ in $bindings" >&2; exit 1; }

# 4. The reference server, for the end-to-end check.
run "$cargo" build -q -p countersign-server
target_dir=${CARGO_TARGET_DIR:-}
if [ -z "$target_dir" ]; then
    target_dir=$("$cargo" metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
fi
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac
server=$target_dir/debug/countersign-server
[ -x "$server" ] || { echo "jvm-check.sh: $server was not built" >&2; exit 1; }

# 5. Compile in two steps, each skipped when its inputs did not change: the generated bindings
#    (large, rarely changing) into bindings.jar, then logic/ + jvm-test/ against it.
mkdir -p "$work"
cp_base="$jna:$klib/kotlin-test.jar:$klib/kotlinx-coroutines-core-jvm.jar"
compile() {  # compile NAME CLASSPATH SOURCES...
    local name=$1 cp=$2; shift 2
    local key
    # The key covers the sources, the compiler version and every jar on the classpath (so new
    # bindings recompile the logic against them).
    key=$( { echo "$kotlin_version $cp"; cat "$@"; tr ':' '\n' <<<"$cp" | xargs cat; } | sha256sum | cut -c1-16)
    if [ -f "$work/$name.jar" ] && [ "$(cat "$work/$name.key" 2>/dev/null)" = "$key" ]; then
        echo "kotlinc: $name sources unchanged, reusing $work/$name.jar"
        return 0
    fi
    rm -f "$work/$name.jar" "$work/$name.key"
    local start
    start=$(date +%s)
    run "$kotlinc" -nowarn -jvm-target 17 -Xbackend-threads=0 -cp "$cp" -d "$work/$name.jar" "$@"
    echo "$key" > "$work/$name.key"
    echo "kotlinc: $name $(( $(date +%s) - start ))s"
}
mapfile -t generated < <(find "$bindings/kotlin" -name '*.kt' | sort)
mapfile -t sources < <(find "$logic" "$tests" -name '*.kt' | sort)
compile bindings "$cp_base" "${generated[@]}"
compile android-logic "$cp_base:$work/bindings.jar" "${sources[@]}"

export RUST_BACKTRACE=0
# Bounded: a hang across the FFI or in the server must fail the run.
run timeout -k 10 600 java -Djava.awt.headless=true -Djna.library.path="$bindings/lib" \
    -Dcountersign.server="$server" \
    -cp "$work/android-logic.jar:$work/bindings.jar:$jna:$klib/kotlin-stdlib.jar:$klib/kotlin-test.jar:$klib/kotlinx-coroutines-core-jvm.jar" \
    org.countersign.app.logic.LogicTestKt
