#!/usr/bin/env python3
"""Hand-checked test of duckdb_scores.py (and compare_scores.py) on a tiny questionnaire and answer file.

Run with the venv that has duckdb:  /tmp/yk-duckdb-venv/bin/python bench/analyze/test_duckdb_scores.py
The expected numbers below were worked out by hand from the Rust method (see duckdb_scores.py's docstring).
"""

import csv
import os
import subprocess
import sys
import tempfile

import duckdb

HERE = os.path.dirname(os.path.abspath(__file__))

TOML = """
code = "tiny"
version = 1
title = { vi = "t", en = "t" }
intro = { vi = "t", en = "t" }

[scales.agreement]
vi = ["1", "2", "3", "4", "5"]
en = ["1", "2", "3", "4", "5"]

[[questions]]
code = "p_sex"
profile = true
type = "single"
vi = "x"
en = "x"
choices = [ { code = "male", vi = "Nam", en = "Male" }, { code = "female", vi = "Nu", en = "Female" } ]

[[dimensions]]
code = "d1"
vi = "x"
en = "x"
[[subdimensions]]
code = "d1.1"
dimension = "d1"
vi = "x"
en = "x"
[[indicators]]
code = "d1.1.1"
subdimension = "d1.1"
vi = "x"
en = "x"
[[indicators]]
code = "d1.1.2"
subdimension = "d1.1"
vi = "x"
en = "x"
[[questions]]
code = "s0"
type = "yes_no"
vi = "screening, unscored"
en = "x"
[[questions]]
code = "q1"
indicator = "d1.1.1"
type = "yes_no"
good = "yes"
vi = "x"
en = "x"
[[questions]]
code = "q2"
indicator = "d1.1.2"
type = "likert"
scale = "agreement"
direction = "low_is_good"
vi = "x"
en = "x"
[[subdimensions]]
code = "d1.2"
dimension = "d1"
vi = "x"
en = "x"
[[indicators]]
code = "d1.2.1"
subdimension = "d1.2"
vi = "x"
en = "x"
[[questions]]
code = "q3"
indicator = "d1.2.1"
type = "single"
vi = "x"
en = "x"
choices = [
  { code = "a", vi = "a", en = "a", value = 1.0 },
  { code = "b", vi = "b", en = "b", value = 0.5 },
  { code = "c", vi = "c", en = "c", value = 0.0 },
  { code = "other", vi = "o", en = "o" },
]

[[dimensions]]
code = "d2"
vi = "x"
en = "x"
[[subdimensions]]
code = "d2.1"
dimension = "d2"
vi = "x"
en = "x"
[[indicators]]
code = "d2.1.1"
subdimension = "d2.1"
vi = "x"
en = "x"
[[questions]]
code = "q4"
indicator = "d2.1.1"
type = "yes_no"
good = "no"
vi = "x"
en = "x"

[[dimensions]]
code = "d3"
vi = "x"
en = "x"
[[subdimensions]]
code = "d3.1"
dimension = "d3"
vi = "x"
en = "x"
[[indicators]]
code = "d3.1.1"
subdimension = "d3.1"
vi = "x"
en = "x"
[[questions]]
code = "q5"
indicator = "d3.1.1"
type = "number"
min = 0
max = 30
good = 1
bad = 5
vi = "trips"
en = "x"

[[dimensions]]
code = "d4"
vi = "x"
en = "x"
[[subdimensions]]
code = "d4.1"
dimension = "d4"
vi = "x"
en = "x"
[[indicators]]
code = "d4.1.1"
subdimension = "d4.1"
vi = "x"
en = "x"
[[questions]]
code = "q6"
indicator = "d4.1.1"
type = "number"
min = 0
max = 100
good = 10
bad = 0
vi = "more is better"
en = "x"

[[dimensions]]
code = "d5"
vi = "x"
en = "x"
[[subdimensions]]
code = "d5.1"
dimension = "d5"
vi = "x"
en = "x"
[[indicators]]
code = "d5.1.1"
subdimension = "d5.1"
vi = "x"
en = "x"
[[questions]]
code = "q7a"
indicator = "d5.1.1"
type = "number"
min = 0
max = 480
good = 10
bad = 120.0
vi = "minutes"
en = "x"
[[questions]]
code = "q7b"
indicator = "d5.1.1"
type = "likert"
scale = "agreement"
direction = "high_is_good"
vi = "x"
en = "x"

[[dimensions]]
code = "d6"
vi = "x"
en = "x"
[[subdimensions]]
code = "d6.1"
dimension = "d6"
vi = "x"
en = "x"
[[indicators]]
code = "d6.1.1"
subdimension = "d6.1"
vi = "x"
en = "x"
[[questions]]
code = "q8"
indicator = "d6.1.1"
type = "likert"
scale = "agreement"
direction = "high_is_good"
vi = "x"
en = "x"

[[dimensions]]
code = "d7"
vi = "x"
en = "x"
[[subdimensions]]
code = "d7.1"
dimension = "d7"
vi = "x"
en = "x"
[[indicators]]
code = "d7.1.1"
subdimension = "d7.1"
vi = "x"
en = "x"
[[questions]]
code = "q9"
indicator = "d7.1.1"
type = "yes_no"
good = "yes"
vi = "x"
en = "x"

[[dimensions]]
code = "d8"
vi = "x"
en = "x"
[[subdimensions]]
code = "d8.1"
dimension = "d8"
vi = "x"
en = "x"
[[indicators]]
code = "d8.1.1"
subdimension = "d8.1"
vi = "x"
en = "x"
[[indicators]]
code = "d8.1.2"
subdimension = "d8.1"
vi = "x"
en = "x"
[[questions]]
code = "q10"
indicator = "d8.1.1"
type = "yes_no"
good = "yes"
vi = "x"
en = "x"
[[questions]]
code = "q11"
indicator = "d8.1.2"
type = "yes_no"
good = "yes"
vi = "x"
en = "x"
[[questions]]
code = "t1"
type = "text"
vi = "free text, unscored"
en = "x"
"""

N = None
# (response_id, wave, unit_code, {question: answer}); a question not listed is skipped (no row).
RESPONSES = [
    # Unit U1, wave 2025.
    ("r1", "2025", "U1", {"p_sex": "male", "s0": "1", "t1": N, "q1": "1", "q2": "2", "q3": "a", "q4": "1",
                          "q5": "2", "q6": "DK", "q7a": "65", "q7b": "5", "q8": "4", "q9": "1", "q10": "0"}),
    ("r2", "2025", "U1", {"p_sex": "female", "s0": "0", "q1": "0", "q2": "RF", "q3": "other", "q4": "0",
                          "q5": "12", "q6": "15", "q7a": "DK", "q7b": "3", "q8": "04", "q9": "DK", "q10": "1",
                          "q11": "1"}),
    ("r3", "2025", "U1", {"p_sex": "male", "t1": "some text", "q1": "DK", "q2": "5", "q3": "b", "q4": "DK",
                          "q5": "0", "q6": "2.5", "q7a": "inf", "q7b": "RF", "q8": "6", "q9": "0", "q10": "RF",
                          "q11": "0"}),
    # Unit U2, wave 2025: r5 answers nothing usable; no d2 value, so no d2 rows and no total.
    ("r4", "2025", "U2", {"q1": "1", "q2": "1", "q3": "c", "q4": "2", "q5": "1", "q6": "10", "q7a": "10",
                          "q7b": "1", "q8": "5", "q9": "1", "q10": "1"}),
    ("r5", "2025", "U2", {"p_sex": "male", "q1": "DK", "q2": "RF", "q3": "DK", "q4": N, "q5": "DK", "q6": "abc",
                          "q7a": "RF", "q7b": "DK", "q8": "RF", "q9": "RF", "q10": "DK", "q11": "RF"}),
    # Unit U1 in an earlier wave.
    ("r6", "2024", "U1", {"q1": "1"}),
    # Unit U5: x == bad gives -0.0 in the number formula; Rust's running sum makes it +0.0.
    ("r7", "2025", "U5", {"q5": "5"}),
]
# Unit U3, wave 2025: 12 respondents all answer q1 = yes; 9 answer q2 = 3 (0.5), 3 say DK.
for k in range(1, 13):
    RESPONSES.append((f"s{k:02d}", "2025", "U3", {"q1": "1", "q2": "3" if k <= 9 else "DK"}))
# Unit U4, wave 2025: 37 respondents with tenths on q6 (non-dyadic values, so summation order matters in the
# last bits); ids are given in a shuffled order.
U4 = []
for k in range(37):
    rid = f"u{(k * 17) % 37:03d}"
    x = (k * 7) % 11  # 0..10 -> value x/10
    U4.append((rid, x))
    RESPONSES.append((rid, "2025", "U4", {"q6": str(x)}))

# Expected rows with --min-respondents 1: (wave, unit, level, code) -> (score, n).
EXPECTED_ALL = {
    # U1 2025 indicators.
    ("2025", "U1", "indicator", "d1.1.1"): ("0.5000", 2),   # r1 yes=1, r2 no=0, r3 DK
    ("2025", "U1", "indicator", "d1.1.2"): ("0.3750", 2),   # reversed: r1 "2" -> 0.75, r3 "5" -> 0, r2 RF
    ("2025", "U1", "indicator", "d1.2.1"): ("0.7500", 2),   # a=1, b=0.5, "other" has no value
    ("2025", "U1", "indicator", "d2.1.1"): ("0.5000", 2),   # yes is bad: r1 "1" -> 0, r2 "0" -> 1
    ("2025", "U1", "indicator", "d3.1.1"): ("0.5833", 3),   # good 1 bad 5: 2 -> .75, 12 -> 0, 0 -> 1; 1.75/3
    ("2025", "U1", "indicator", "d4.1.1"): ("0.6250", 2),   # good 10 bad 0: 15 -> 1, 2.5 -> .25, DK
    ("2025", "U1", "indicator", "d5.1.1"): ("0.6250", 2),   # r1 mean(.5, 1)=.75, r2 mean(.5)=.5, r3 inf/RF
    ("2025", "U1", "indicator", "d6.1.1"): ("0.7500", 1),   # r1 4 -> .75, "04" and "6" missing
    ("2025", "U1", "indicator", "d7.1.1"): ("0.5000", 2),
    ("2025", "U1", "indicator", "d8.1.1"): ("0.5000", 2),
    ("2025", "U1", "indicator", "d8.1.2"): ("0.5000", 2),
    ("2025", "U1", "subdimension", "d1.1"): ("0.4375", 3),  # (0.5 + 0.375) / 2; r1, r2, r3
    ("2025", "U1", "subdimension", "d1.2"): ("0.7500", 2),
    ("2025", "U1", "subdimension", "d2.1"): ("0.5000", 2),
    ("2025", "U1", "subdimension", "d3.1"): ("0.5833", 3),
    ("2025", "U1", "subdimension", "d4.1"): ("0.6250", 2),
    ("2025", "U1", "subdimension", "d5.1"): ("0.6250", 2),
    ("2025", "U1", "subdimension", "d6.1"): ("0.7500", 1),
    ("2025", "U1", "subdimension", "d7.1"): ("0.5000", 2),
    ("2025", "U1", "subdimension", "d8.1"): ("0.5000", 3),  # r1 (d8.1.1), r2, r3 (d8.1.2)
    ("2025", "U1", "dimension", "d1"): ("6.3438", 3),       # 1 + 9 * 0.59375 = 6.34375, ties to even
    ("2025", "U1", "dimension", "d2"): ("5.5000", 2),
    ("2025", "U1", "dimension", "d3"): ("6.2500", 3),
    ("2025", "U1", "dimension", "d4"): ("6.6250", 2),
    ("2025", "U1", "dimension", "d5"): ("6.6250", 2),
    ("2025", "U1", "dimension", "d6"): ("7.7500", 1),
    ("2025", "U1", "dimension", "d7"): ("5.5000", 2),
    ("2025", "U1", "dimension", "d8"): ("5.5000", 3),
    ("2025", "U1", "total", "total"): ("50.0938", 3),       # 50.09375; n = anyone with any value
    # U2 2025: r4 only; "2" is not a yes/no code.
    ("2025", "U2", "indicator", "d1.1.1"): ("1.0000", 1),
    ("2025", "U2", "indicator", "d1.1.2"): ("1.0000", 1),
    ("2025", "U2", "indicator", "d1.2.1"): ("0.0000", 1),
    ("2025", "U2", "indicator", "d3.1.1"): ("1.0000", 1),
    ("2025", "U2", "indicator", "d4.1.1"): ("1.0000", 1),
    ("2025", "U2", "indicator", "d5.1.1"): ("0.5000", 1),   # mean(1, 0)
    ("2025", "U2", "indicator", "d6.1.1"): ("1.0000", 1),
    ("2025", "U2", "indicator", "d7.1.1"): ("1.0000", 1),
    ("2025", "U2", "indicator", "d8.1.1"): ("1.0000", 1),
    ("2025", "U2", "subdimension", "d1.1"): ("1.0000", 1),
    ("2025", "U2", "subdimension", "d1.2"): ("0.0000", 1),
    ("2025", "U2", "subdimension", "d3.1"): ("1.0000", 1),
    ("2025", "U2", "subdimension", "d4.1"): ("1.0000", 1),
    ("2025", "U2", "subdimension", "d5.1"): ("0.5000", 1),
    ("2025", "U2", "subdimension", "d6.1"): ("1.0000", 1),
    ("2025", "U2", "subdimension", "d7.1"): ("1.0000", 1),
    ("2025", "U2", "subdimension", "d8.1"): ("1.0000", 1),
    ("2025", "U2", "dimension", "d1"): ("5.5000", 1),
    ("2025", "U2", "dimension", "d3"): ("10.0000", 1),
    ("2025", "U2", "dimension", "d4"): ("10.0000", 1),
    ("2025", "U2", "dimension", "d5"): ("5.5000", 1),
    ("2025", "U2", "dimension", "d6"): ("10.0000", 1),
    ("2025", "U2", "dimension", "d7"): ("10.0000", 1),
    ("2025", "U2", "dimension", "d8"): ("10.0000", 1),
    # U1 2024.
    ("2024", "U1", "indicator", "d1.1.1"): ("1.0000", 1),
    ("2024", "U1", "subdimension", "d1.1"): ("1.0000", 1),
    ("2024", "U1", "dimension", "d1"): ("10.0000", 1),
    # U5: a positive zero.
    ("2025", "U5", "indicator", "d3.1.1"): ("0.0000", 1),
    ("2025", "U5", "subdimension", "d3.1"): ("0.0000", 1),
    ("2025", "U5", "dimension", "d3"): ("1.0000", 1),
    # U3.
    ("2025", "U3", "indicator", "d1.1.1"): ("1.0000", 12),
    ("2025", "U3", "indicator", "d1.1.2"): ("0.5000", 9),
    ("2025", "U3", "subdimension", "d1.1"): ("0.7500", 12),
    ("2025", "U3", "dimension", "d1"): ("7.7500", 12),
}
# U4: one indicator, mean of x/10 summed in id order.
u4_values = [x / 10 for _, x in sorted(U4)]
u4_sum = 0.0
for v in u4_values:
    u4_sum += v
u4_mean = min(max(u4_sum / len(u4_values), min(u4_values)), max(u4_values))
u4_dim = 1.0 + 9.0 * u4_mean
for level, code, score in [("indicator", "d4.1.1", u4_mean), ("subdimension", "d4.1", u4_mean),
                           ("dimension", "d4", u4_dim)]:
    EXPECTED_ALL[("2025", "U4", level, code)] = ("%.4f" % score, 37)

# With the real threshold (10): per row, so U3's d1.1.2 (n = 9) goes but its sub-dimension, built with it, stays.
EXPECTED_PUBLIC = {k: v for k, v in EXPECTED_ALL.items() if v[1] >= 10}


def read(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["wave", "unit_code", "level", "code", "score", "n"], rows[0]
    return {(r[0], r[1], r[2], r[3]): (r[4], int(r[5])) for r in rows[1:]}


def run(*args):
    cmd = [sys.executable, os.path.join(HERE, "duckdb_scores.py"), *args]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1, out.stdout
    return lines[0]


def diff(got, want):
    problems = []
    for k in sorted(set(got) | set(want)):
        if got.get(k) != want.get(k):
            problems.append(f"{k}: got {got.get(k)}, want {want.get(k)}")
    return problems


def main():
    tmp = tempfile.mkdtemp(prefix="yk-duckdb-test-")
    toml = os.path.join(tmp, "tiny.toml")
    with open(toml, "w", encoding="utf-8") as f:
        f.write(TOML)
    parquet = os.path.join(tmp, "answers.parquet")
    con = duckdb.connect()
    con.execute("CREATE TABLE a (response_id VARCHAR, wave VARCHAR, unit_code VARCHAR, question VARCHAR, answer VARCHAR)")
    con.executemany(
        "INSERT INTO a VALUES (?, ?, ?, ?, ?)",
        [[rid, wave, unit, q, ans] for rid, wave, unit, answers in RESPONSES for q, ans in answers.items()],
    )
    con.execute(f"COPY (SELECT * FROM a ORDER BY random()) TO '{parquet}' (FORMAT parquet)")

    failures = 0
    for summation in ["ordered", "fast"]:
        out = os.path.join(tmp, f"all-{summation}.csv")
        run("--answers", parquet, "--questionnaire", toml, "--out", out, "--min-respondents", "1",
            "--summation", summation)
        problems = diff(read(out), EXPECTED_ALL)
        print(f"all rows ({summation}): {'ok' if not problems else 'FAIL'}")
        for p in problems:
            print("  ", p)
        failures += bool(problems)

    out = os.path.join(tmp, "public.csv")
    line = run("--answers", parquet, "--questionnaire", toml, "--out", out, "--check-responses")
    problems = diff(read(out), EXPECTED_PUBLIC)
    print(f"published rows: {'ok' if not problems else 'FAIL'} ({line})")
    for p in problems:
        print("  ", p)
    failures += bool(problems)

    # Bit-for-bit check of the ordered summation on U4 (17 significant digits).
    out = os.path.join(tmp, "u4.csv")
    run("--answers", parquet, "--questionnaire", toml, "--out", out, "--min-respondents", "1", "--decimals", "17")
    got = read(out)[("2025", "U4", "indicator", "d4.1.1")][0]
    ok = float(got) == float("%.17f" % u4_mean)
    print(f"ordered summation bit for bit: {'ok' if ok else 'FAIL'} ({got} vs {u4_mean!r})")
    failures += not ok

    # compare_scores.py: identical files, then a Rust-shaped file (BOM, extra columns) with one change.
    cmp = os.path.join(HERE, "compare_scores.py")
    r = subprocess.run([sys.executable, cmp, out, out], capture_output=True, text=True)
    print(f"compare identical: {'ok' if r.returncode == 0 else 'FAIL'}: {r.stdout.strip()}")
    failures += r.returncode != 0
    rust_like = os.path.join(tmp, "rust-like.csv")
    with open(os.path.join(tmp, "all-ordered.csv"), encoding="utf-8") as f:
        rows = list(csv.reader(f))
    with open(rust_like, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(rows[0] + ["ci_low", "ci_high", "rank", "quartile"])
        for r_ in rows[1:]:
            w.writerow(r_ + ["", "", "", ""])
    r = subprocess.run([sys.executable, cmp, rust_like, os.path.join(tmp, "all-ordered.csv")],
                       capture_output=True, text=True)
    print(f"compare Rust-shaped, same rows: {'ok' if r.returncode == 0 else 'FAIL'}: {r.stdout.strip()}")
    failures += r.returncode != 0
    with open(rust_like, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(rows[0] + ["ci_low", "ci_high", "rank", "quartile"])
        for i, r_ in enumerate(rows[1:]):
            if i == 0:
                continue  # a row only in the other file
            if i == 1:
                r_ = r_[:5] + [str(int(r_[5]) + 1)]  # n differs
            if i == 2:
                r_ = r_[:4] + ["%.4f" % (float(r_[4]) + 0.0001), r_[5]]  # score differs
            w.writerow(r_ + ["0.1", "0.9", "1", "Cao"])
    r = subprocess.run([sys.executable, cmp, rust_like, os.path.join(tmp, "all-ordered.csv")],
                       capture_output=True, text=True)
    print(f"compare with differences: {'ok' if r.returncode == 1 else 'FAIL'}:\n{r.stdout.rstrip()}")
    failures += r.returncode != 1

    print("PASS" if not failures else f"{failures} FAILURE(S)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
