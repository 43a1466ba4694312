#!/usr/bin/env python3
"""QR benchmark, zxing-cpp side and table.

    zxing_merge.py run   DATASET OUT_CSV      # decode every frame with zxing-cpp (defaults)
    zxing_merge.py table DATASET CSV [CSV..]  # merge per-frame CSVs, print the per-category table

The `run` step loads each PNG with OpenCV before starting the clock and times
`zxingcpp.read_barcodes` alone (best of QR_BENCH_REPS runs, default 3), the same protocol as the
Rust side (`core/benches/qr_decode.rs`). Per-frame CSV columns:
file,category,has_qr,decoder,ok,found,ms,first_hit.

The table gives, per category and decoder, the decode rate and the median / p95 decode time over
the frames with a code, then the cost of the 1920x1080 frames without a code, and the time ratios
against zxing-cpp measured in the same run (the machine is shared: compare ratios, not ms).
"""
import csv
import os
import sys
import time

CATEGORY_ORDER = ["screenshot", "inverted", "module_size", "rotation", "perspective", "gauss_blur",
                  "motion_blur", "noise", "low_contrast", "glare", "jpeg", "clutter", "combined"]
DECODERS = ["countersign", "zxing-cpp", "rqrr"]


def run_zxing(dataset, out_csv):
    import cv2
    import zxingcpp

    reps = int(os.environ.get("QR_BENCH_REPS", "3"))
    only = set(filter(None, os.environ.get("QR_BENCH_ONLY", "").split(",")))
    with open(os.path.join(dataset, "truth.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(out_csv, "w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["file", "category", "has_qr", "decoder", "ok", "found", "ms", "first_hit"])
        for n, r in enumerate(rows, 1):
            if only and r["category"] not in only:
                continue
            img = cv2.imread(os.path.join(dataset, r["file"]), cv2.IMREAD_GRAYSCALE)
            best, res = float("inf"), []
            for _ in range(max(1, reps)):
                t = time.perf_counter()
                res = zxingcpp.read_barcodes(img, formats=zxingcpp.BarcodeFormat.QRCode)
                best = min(best, (time.perf_counter() - t) * 1e3)
            texts = [b.text for b in res if b.format in (zxingcpp.BarcodeFormat.QRCode,)]
            has = r["has_qr"] == "1"
            ok = (r["payload"] in texts) if has else (len(texts) == 0)
            wr.writerow([r["file"], r["category"], int(has), "zxing-cpp", int(ok), len(texts),
                         f"{best:.3f}", ""])
            if n % 100 == 0:
                print(f"zxing-cpp: {n} frames", file=sys.stderr)


def pct(vals, q):
    if not vals:
        return float("nan")
    v = sorted(vals)
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def table(dataset, csvs):
    rows = []
    for p in csvs:
        with open(p, newline="") as fh:
            rows.extend(csv.DictReader(fh))
    decs = [d for d in DECODERS if any(r["decoder"] == d for r in rows)]
    cats = [c for c in CATEGORY_ORDER if any(r["category"] == c for r in rows)]
    cats += sorted({r["category"] for r in rows} - set(cats) - {"noqr"})
    by = {}
    for r in rows:
        by.setdefault((r["category"], r["decoder"]), []).append(r)

    def stats(rs):
        n = len(rs)
        ok = sum(int(r["ok"]) for r in rs)
        ms = [float(r["ms"]) for r in rs]
        return n, ok, pct(ms, 0.5), pct(ms, 0.95)

    hdr = "| category | n | " + " | ".join(f"{d} rate | {d} med ms | {d} p95 ms" for d in decs) + " |"
    print(hdr)
    print("|" + "---|" * (2 + 3 * len(decs)))
    allrs = {d: [] for d in decs}
    for c in cats:
        cells = []
        n0 = None
        for d in decs:
            rs = by.get((c, d), [])
            allrs[d].extend(rs)
            n, ok, med, p95 = stats(rs)
            n0 = n0 or n
            cells.append(f"{100.0 * ok / max(n, 1):.1f} % | {med:.2f} | {p95:.2f}")
        print(f"| {c} | {n0} | " + " | ".join(cells) + " |")
    cells = []
    for d in decs:
        n, ok, med, p95 = stats(allrs[d])
        cells.append(f"**{100.0 * ok / max(n, 1):.1f} %** ({ok}/{n}) | **{med:.2f}** | **{p95:.2f}**")
    print(f"| **all with a code** | {len(allrs[decs[0]])} | " + " | ".join(cells) + " |")
    cells = []
    for d in decs:
        rs = by.get(("noqr", d), [])
        n, ok, med, p95 = stats(rs)
        cells.append(f"{ok}/{n} clean | {med:.2f} | {p95:.2f}")
    print(f"| **no code, 1920x1080** | {len(by.get(('noqr', decs[0]), []))} | " + " | ".join(cells) + " |")

    if "zxing-cpp" in decs:
        print()
        print("Time ratios against zxing-cpp, same run (< 1 = faster than zxing-cpp):")
        zx_all = stats(allrs["zxing-cpp"])
        zx_nq = stats(by.get(("noqr", "zxing-cpp"), []))
        for d in decs:
            if d == "zxing-cpp":
                continue
            a = stats(allrs[d])
            nq = stats(by.get(("noqr", d), []))
            print(f"  {d:12s} median (frames with a code) x{a[2] / zx_all[2]:.2f}, "
                  f"p95 x{a[3] / zx_all[3]:.2f}; no-code 1080p median x{nq[2] / zx_nq[2]:.2f}, "
                  f"p95 x{nq[3] / zx_nq[3]:.2f}")
        print()
        print("Per category, countersign vs zxing-cpp (decode rate difference, points):")
        worse = []
        for c in cats:
            cs = stats(by.get((c, "countersign"), []))
            zx = stats(by.get((c, "zxing-cpp"), []))
            diff = 100.0 * (cs[1] / max(cs[0], 1) - zx[1] / max(zx[0], 1))
            if diff < 0:
                worse.append(f"{c} ({diff:+.1f})")
        print("  categories where countersign reads fewer frames: " + (", ".join(worse) or "none"))


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "run":
        run_zxing(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 4 and sys.argv[1] == "table":
        table(sys.argv[2], sys.argv[3:])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
