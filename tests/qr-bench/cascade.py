#!/usr/bin/env python3
"""Replays the decode cascade from per-attempt profiles, to decide which attempts earn a place.

    QR_BENCH_PROFILE=prof.csv tests/qr-bench/run.sh      # or the bench binary directly
    tests/qr-bench/cascade.py prof.csv                  # the cascade as shipped
    tests/qr-bench/cascade.py prof.csv --drop 5,6        # the same without attempts 5 and 6

The profile (written by core/benches/qr_decode.rs when QR_BENCH_PROFILE is set) has one row per
frame and attempt, each attempt run alone: its bit matrix, polarity, whether it is gated, the
binarisation and detection cost, finder patterns seen and whether it decoded the right text.
The replay applies the camera preset's rules (attempts in order, stop at the first decode, a gated
attempt runs only after an earlier one of the same polarity saw EVIDENCE finder patterns, or an
earlier one on the same bit matrix if there was one; a bit matrix is paid for once) and prints the decode rate per category and the summed cost. Costs are
wall times from one run: compare variants replayed from the same profile, not across runs.
"""
import collections
import csv
import statistics
import sys

EVIDENCE = 2  # core/src/qr/strategy.rs


def load(path):
    frames = collections.OrderedDict()
    with open(path, newline="") as fh:
        for r in csv.DictReader(fh):
            f = frames.setdefault(r["file"], {"cat": r["category"], "has": r["has_qr"] == "1",
                                              "steps": {}, "matrix_ms": {}})
            f["steps"][int(r["step"])] = {
                "matrix": r["matrix"], "inv": r["inverted"] == "1", "gated": r["gated"] == "1",
                "ms": float(r["detect_ms"]), "finders": int(r["finders"]),
                "ok": r["ok"] == "1", "found": int(r["found"])}
            m = f["matrix_ms"]
            m[r["matrix"]] = max(m.get(r["matrix"], 0.0), float(r["binarize_ms"]))
    return frames


def replay(frame, order):
    evidence = {False: 0, True: 0}  # per polarity
    per_matrix = {}  # (matrix, polarity) -> finders, for attempts that re-read a matrix
    made, cost = set(), 0.0
    for n, i in enumerate(order):
        s = frame["steps"].get(i)
        if s is None:
            continue
        key = (s["matrix"], s["inv"])
        seen = per_matrix.get(key, evidence[s["inv"]])
        if n > 0 and s["gated"] and seen < EVIDENCE:
            continue
        if s["matrix"] not in made:
            cost += frame["matrix_ms"][s["matrix"]]
            made.add(s["matrix"])
        cost += s["ms"]
        evidence[s["inv"]] = max(evidence[s["inv"]], s["finders"])
        per_matrix[key] = max(per_matrix.get(key, 0), s["finders"])
        if s["found"] > 0:
            return (s["ok"] if frame["has"] else False), cost
    return (not frame["has"]), cost


def pct(v, q):
    v = sorted(v)
    return v[int(q * (len(v) - 1))] if v else float("nan")


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    drop = set()
    if "--drop" in args:
        k = args.index("--drop")
        drop = {int(x) for x in args[k + 1].split(",") if x}
        del args[k:k + 2]
    frames = load(args[0])
    steps = sorted({i for f in frames.values() for i in f["steps"]})
    order = [i for i in steps if i not in drop]
    cats, empty = collections.defaultdict(list), []
    for f in frames.values():
        ok, cost = replay(f, order)
        (cats[f["cat"]] if f["has"] else empty).append((ok, cost))
    print(f"attempts {order} (dropped {sorted(drop) or 'none'})")
    for cat, v in cats.items():
        print(f"  {cat:14s} {sum(o for o, _ in v):3d}/{len(v):3d}   ms median {statistics.median(c for _, c in v):6.2f}")
    every = [x for v in cats.values() for x in v]
    print(f"  {'all':14s} {sum(o for o, _ in every):3d}/{len(every):3d}   ms median {statistics.median(c for _, c in every):6.2f}")
    if empty:
        costs = [c for _, c in empty]
        print(f"  no code: {sum(not o for o, _ in empty)} false positives, ms median {statistics.median(costs):.2f}, p95 {pct(costs, .95):.2f}")


if __name__ == "__main__":
    main()
