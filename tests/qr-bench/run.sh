#!/usr/bin/env bash
# QR decoder robustness benchmark: Countersign vs zxing-cpp vs plain rqrr, in one run.
#
#   tests/qr-bench/run.sh            # seed 771, full set (632 frames), ~10 min on 2 busy cores
#
# 1. a venv under the user cache dir gets shared/qr/requirements.txt + zxing-cpp, pinned by
#    constraints.txt;
# 2. shared/qr/gen.py renders the synthetic camera-frame set with a fixed seed into a temp dir
#    (never into the repo);
# 3. core/benches/qr_decode.rs decodes every frame with Countersign (camera preset) and plain
#    rqrr; zxing_merge.py decodes the same files with zxing-cpp (defaults);
# 4. zxing_merge.py prints the per-category table and the time ratios.
#
# Environment: QR_BENCH_SEED (771), QR_BENCH_REPS (3, best-of per frame), QR_BENCH_ONLY
# (comma list of categories), QR_SHARED_DIR (default ../shared beside the repo),
# QR_BENCH_KEEP=1 keeps the data set and CSVs, QR_BENCH_BIN = a prebuilt bench binary
# (otherwise `cargo bench`), QR_BENCH_CACHE (venv location), QR_BENCH_PROFILE=<csv> also runs
# every cascade attempt alone on every frame (replay it with tests/qr-bench/cascade.py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
shared="${QR_SHARED_DIR:-$repo/../shared}/qr"
seed="${QR_BENCH_SEED:-771}"
cache="${QR_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/countersign-qr-bench}"
[ -f "$shared/gen.py" ] || { echo "gen.py not found in $shared (set QR_SHARED_DIR)" >&2; exit 2; }

venv="$cache/venv"
if [ ! -x "$venv/bin/python" ]; then
    echo "== venv: $venv"
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q -r "$shared/requirements.txt" zxing-cpp -c "$here/constraints.txt"

work="$(mktemp -d "${TMPDIR:-/tmp}/qr-bench.XXXXXX")"
if [ "${QR_BENCH_KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; else echo "== keeping $work"; fi

echo "== dataset: gen.py --seed $seed -> $work/data"
nice -n 10 "$venv/bin/python" "$shared/gen.py" --out "$work/data" --seed "$seed" 2> "$work/gen.log"
tail -n 1 "$work/gen.log"

echo "== Countersign + plain rqrr (core/benches/qr_decode.rs)"
if [ -n "${QR_BENCH_BIN:-}" ]; then
    nice -n 10 "$QR_BENCH_BIN" "$work/data" "$work/rust.csv"
else
    (cd "$repo" && nice -n 10 cargo bench -q -p countersign-core --bench qr_decode -- "$work/data" "$work/rust.csv")
fi

echo "== zxing-cpp $("$venv/bin/python" -c 'import zxingcpp; print(zxingcpp.__version__)' 2>/dev/null || true)"
nice -n 10 "$venv/bin/python" "$here/zxing_merge.py" run "$work/data" "$work/zxing.csv"

echo
echo "== Decode rate and decode-only time per frame (best of ${QR_BENCH_REPS:-3}), seed $seed"
"$venv/bin/python" "$here/zxing_merge.py" table "$work/data" "$work/rust.csv" "$work/zxing.csv"
