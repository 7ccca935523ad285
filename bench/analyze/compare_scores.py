#!/usr/bin/env python3
"""Compares two scores CSVs by (wave, unit_code, level, code): keys only on one side, different n, score gaps.

Usage: compare_scores.py A.csv B.csv [--tolerance 1e-9] [--show 10]

Either file may be the Rust `scores.csv` (extra columns ci_low, ci_high, rank, quartile; maybe a UTF-8 byte-order
mark) or the output of duckdb_scores.py. Exit status 0 when both have the same keys, the same n and scores equal
within the tolerance (relative or absolute), 1 otherwise (2 for unreadable input).
"""

import argparse
import csv
import math
import sys

KEY = ("wave", "unit_code", "level", "code")


def load(path):
    with open(path, newline="", encoding="utf-8-sig") as f:  # utf-8-sig drops a BOM if there is one
        reader = csv.DictReader(f)
        missing = [c for c in (*KEY, "score", "n") if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"{path}: missing column(s) {', '.join(missing)} (header: {reader.fieldnames})")
        rows, duplicates = {}, 0
        for r in reader:
            key = tuple(r[c] for c in KEY)
            if key in rows:
                duplicates += 1
            rows[key] = (float(r["score"]), int(r["n"]))
    return rows, duplicates


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--tolerance", type=float, default=1e-9)
    ap.add_argument("--show", type=int, default=10, help="examples to print per kind of difference")
    args = ap.parse_args()
    try:
        a, dup_a = load(args.a)
        b, dup_b = load(args.b)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    common = sorted(set(a) & set(b))
    n_diff = [(k, a[k][1], b[k][1]) for k in common if a[k][1] != b[k][1]]
    gaps = [(abs(a[k][0] - b[k][0]), k) for k in common]
    max_gap = max((g for g, _ in gaps), default=0.0)
    score_diff = sorted(
        ((g, k) for g, k in gaps if not math.isclose(a[k][0], b[k][0], rel_tol=args.tolerance, abs_tol=args.tolerance)),
        reverse=True,
    )

    print(f"A: {args.a}: {len(a)} rows" + (f" ({dup_a} duplicate keys)" if dup_a else ""))
    print(f"B: {args.b}: {len(b)} rows" + (f" ({dup_b} duplicate keys)" if dup_b else ""))
    print(f"common keys: {len(common)}; only in A: {len(only_a)}; only in B: {len(only_b)}")
    for name, keys, side in (("only in A", only_a, a), ("only in B", only_b, b)):
        for k in keys[: args.show]:
            print(f"  {name}: {','.join(k)} score={side[k][0]} n={side[k][1]}")
    print(f"rows whose n differ: {len(n_diff)}")
    for k, na, nb in n_diff[: args.show]:
        print(f"  n differs: {','.join(k)} A={na} B={nb}")
    print(f"max |score A - score B|: {max_gap:.6g}; rows beyond tolerance {args.tolerance:g}: {len(score_diff)}")
    for g, k in score_diff[: args.show]:
        print(f"  score differs: {','.join(k)} A={a[k][0]} B={b[k][0]} (|diff| {g:.6g})")
    identical = not (only_a or only_b or n_diff or score_diff or dup_a or dup_b)
    print("IDENTICAL" if identical else "DIFFERENT")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
