#!/usr/bin/env python3
"""Hand-computed cases for duckdb_scores.py: every step of docs/questionnaire.md ("Answers files: what counts",
skip logic with chains and ranges, "From answers to scores") on a questionnaire of two dimensions and five
respondents, with the expected scores, counts and ignored rows worked out by hand below. CSV and Parquet input,
and number questions both ways duckdb_scores.py reads them (a bit per distinct number, or their min and max).

Run with a Python that has duckdb (2.0.1, as the benchmark):  python3 bench/analyze/test_duckdb_scores.py
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

[[dimensions]]
code = "d1"
vi = "x"
en = "x"
[[dimensions]]
code = "d2"
vi = "x"
en = "x"
[[subdimensions]]
code = "d1.1"
dimension = "d1"
vi = "x"
en = "x"
[[subdimensions]]
code = "d1.2"
dimension = "d1"
vi = "x"
en = "x"
[[subdimensions]]
code = "d2.1"
dimension = "d2"
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
[[indicators]]
code = "d1.2.1"
subdimension = "d1.2"
vi = "x"
en = "x"
[[indicators]]
code = "d2.1.1"
subdimension = "d2.1"
vi = "x"
en = "x"
[[indicators]]
code = "d2.1.2"
subdimension = "d2.1"
vi = "x"
en = "x"
[[indicators]]
code = "d2.1.3"
subdimension = "d2.1"
vi = "x"
en = "x"

[[questions]]
code = "p_sex"
profile = true
type = "single"
vi = "x"
en = "x"
choices = [ { code = "male", vi = "Nam", en = "Male" }, { code = "female", vi = "Nu", en = "Female" } ]

[[questions]]
code = "s0"
type = "yes_no"
vi = "screening"
en = "x"
[[questions]]
code = "q1"
indicator = "d1.1.1"
type = "yes_no"
good = "yes"
vi = "x"
en = "x"
when = [{ question = "s0", any_of = ["1"] }]
[[questions]]
code = "q2"
indicator = "d1.1.2"
type = "likert"
scale = "agreement"
direction = "low_is_good"
vi = "x"
en = "x"
when = [{ question = "q1", any_of = ["1"] }]
[[questions]]
code = "q3a"
indicator = "d1.2.1"
type = "number"
min = 0
max = 30
good = 1
bad = 5
vi = "x"
en = "x"
[[questions]]
code = "q3b"
indicator = "d1.2.1"
type = "likert"
scale = "agreement"
direction = "high_is_good"
vi = "x"
en = "x"
when = [{ question = "q2", at_least = 3 }]
[[questions]]
code = "q4"
indicator = "d2.1.1"
type = "single"
vi = "x"
en = "x"
choices = [
  { code = "a", vi = "a", en = "a", value = 1.0 },
  { code = "b", vi = "b", en = "b", value = 0.5 },
  { code = "c", vi = "c", en = "c" },
]
[[questions]]
code = "q5"
indicator = "d2.1.2"
type = "number"
min = 0
max = 100
good = 10
bad = 0
vi = "x"
en = "x"
[[questions]]
code = "q6"
indicator = "d2.1.3"
type = "yes_no"
good = "no"
vi = "x"
en = "x"
when = [{ question = "q5", at_most = 20 }]
[[questions]]
code = "qt"
type = "text"
vi = "x"
en = "x"
"""

# (response, unit, question, answer)
ANSWERS = [
    # r1: everything asked except q3b (q2 = 2 < 3).
    ("r1", "U1", "p_sex", "male"), ("r1", "U1", "s0", "1"), ("r1", "U1", "q1", "1"), ("r1", "U1", "q2", "2"),
    ("r1", "U1", "q3a", "3"), ("r1", "U1", "q3b", "5"), ("r1", "U1", "q4", "a"), ("r1", "U1", "q5", "15"),
    ("r1", "U1", "q6", "0"),
    # r2: screened out (s0 = 0), so q1 is not asked, nor q2 (chain: q1 has no answer that counts), nor q3b;
    # q3a twice the same number; q4's choice has no value; q5 unreadable, so q6 is not asked; DK on a profile question.
    ("r2", "U1", "p_sex", "DK"), ("r2", "U1", "s0", "0"), ("r2", "U1", "q1", "1"), ("r2", "U1", "q2", "4"),
    ("r2", "U1", "q3a", "1"), ("r2", "U1", "q3a", "1.0"), ("r2", "U1", "q3b", "DK"), ("r2", "U1", "q4", "c"),
    ("r2", "U1", "q5", "abc"), ("r2", "U1", "q6", "1"), ("r2", "U1", "q7", ""),
    # r3: q1 = 0 closes q2 (and q3b); q3a out of range; q4 conflicting; q6 asked (q5 = 10) but DK; an unknown question.
    ("r3", "U1", "s0", "1"), ("r3", "U1", "q1", "0"), ("r3", "U1", "q2", "5"), ("r3", "U1", "q3a", "40"),
    ("r3", "U1", "q3b", "4"), ("r3", "U1", "q4", "b"), ("r3", "U1", "q4", "a"), ("r3", "U1", "q5", "10"),
    ("r3", "U1", "q6", "DK"), ("r3", "U1", "zz", "1"),
    # r5: a Likert code that does not exist (q2 = 7), so q3b is not asked.
    ("r5", "U1", "s0", "1"), ("r5", "U1", "q1", "1"), ("r5", "U1", "q2", "7"), ("r5", "U1", "q3b", "2"),
    # r4 (U2): s0 twice; q2 = 3 opens q3b; q3a DK; q5 = 30 > 20 closes q6.
    ("r4", "U2", "s0", "1"), ("r4", "U2", "s0", "1"), ("r4", "U2", "q1", "1"), ("r4", "U2", "q2", "3"),
    ("r4", "U2", "q3a", "DK"), ("r4", "U2", "q3b", "3"), ("r4", "U2", "q4", "b"), ("r4", "U2", "q5", "30"),
    ("r4", "U2", "q6", "1"),
    # r4: q5 again as 30.0, the same number (a duplicate); r5: q5 twice with different numbers (conflicting).
    ("r4", "U2", "q5", "30.0"), ("r5", "U1", "q5", "5"), ("r5", "U1", "q5", "6"),
    # Free text: any two texts are the same answer (r2: a duplicate); a text and DK differ (r3: conflicting).
    ("r1", "U1", "qt", "abc"), ("r2", "U1", "qt", "x"), ("r2", "U1", "qt", "y"), ("r3", "U1", "qt", "hello"),
    ("r3", "U1", "qt", "DK"),
]

# Worked out by hand (values: yes/no by `good`; Likert (p-1)/4, reversed 1-(p-1)/4; numbers (x-bad)/(good-bad)
# clamped; the indicator d1.2.1 is the mean of q3a and q3b where both count).
# U1: d1.1.1 q1: r1 1, r3 0, r5 1 -> 2/3 (n 3); d1.1.2 q2: r1 point 2 reversed 0.75 (n 1);
#     d1.2.1: r1 q3a (3-5)/(1-5) = 0.5, r2 q3a 1 -> 1.0 -> 0.75 (n 2); d2.1.1 q4: r1 a = 1 (n 1);
#     d2.1.2 q5: r1 15 -> 1.5 clamped 1, r3 10 -> 1 -> 1 (n 2); d2.1.3 q6: r1 "0" with good = no -> 1 (n 1).
#     d1.1 = (2/3 + 0.75) / 2 (n: r1, r3, r5); d1.2 = 0.75 (r1, r2); d2.1 = 1 (r1, r3);
#     d1 = 1 + 9 x (17/24 + 0.75) / 2 = 7.5625 (n 4); d2 = 10 (n 2). Two dimensions: no total.
# U2: d1.1.1 1; d1.1.2 point 3 reversed 0.5; d1.2.1 q3b point 3 0.5; d2.1.1 b 0.5; d2.1.2 30 -> 1; d2.1.3 none;
#     d1.1 0.75, d1.2 0.5, d2.1 0.75, d1 = 1 + 9 x 0.625 = 6.625, d2 = 1 + 9 x 0.75 = 7.75; n 1 everywhere.
EXPECTED = {
    ("U1", "indicator", "d1.1.1"): (2 / 3, 3),
    ("U1", "indicator", "d1.1.2"): (0.75, 1),
    ("U1", "indicator", "d1.2.1"): (0.75, 2),
    ("U1", "indicator", "d2.1.1"): (1.0, 1),
    ("U1", "indicator", "d2.1.2"): (1.0, 2),
    ("U1", "indicator", "d2.1.3"): (1.0, 1),
    ("U1", "subdimension", "d1.1"): ((2 / 3 + 0.75) / 2, 3),
    ("U1", "subdimension", "d1.2"): (0.75, 2),
    ("U1", "subdimension", "d2.1"): (1.0, 2),
    ("U1", "dimension", "d1"): (7.5625, 4),
    ("U1", "dimension", "d2"): (10.0, 2),
    ("U2", "indicator", "d1.1.1"): (1.0, 1),
    ("U2", "indicator", "d1.1.2"): (0.5, 1),
    ("U2", "indicator", "d1.2.1"): (0.5, 1),
    ("U2", "indicator", "d2.1.1"): (0.5, 1),
    ("U2", "indicator", "d2.1.2"): (1.0, 1),
    ("U2", "subdimension", "d1.1"): (0.75, 1),
    ("U2", "subdimension", "d1.2"): (0.5, 1),
    ("U2", "subdimension", "d2.1"): (0.75, 1),
    ("U2", "dimension", "d1"): (6.625, 1),
    ("U2", "dimension", "d2"): (7.75, 1),
}

EXPECTED_IGNORED = {
    ("p_sex", "unknown_code"): 1,
    ("q1", "not_eligible"): 1,
    ("q2", "not_eligible"): 2,
    ("q2", "unknown_code"): 1,
    ("q3a", "duplicate"): 1,
    ("q3a", "out_of_range"): 1,
    ("q3b", "not_eligible"): 4,
    ("q4", "conflicting"): 2,
    ("q5", "unreadable_number"): 1,
    ("q5", "duplicate"): 1,
    ("q5", "conflicting"): 2,
    ("qt", "duplicate"): 1,
    ("qt", "conflicting"): 2,
    ("q6", "not_eligible"): 2,
    ("s0", "duplicate"): 1,
    ("zz", "unknown_question"): 1,
}


def run(answers: str, tmp: str, tag: str, *extra: str) -> None:
    out, ignored = os.path.join(tmp, f"scores-{tag}.csv"), os.path.join(tmp, f"ignored-{tag}.csv")
    subprocess.run(
        [sys.executable, os.path.join(HERE, "duckdb_scores.py"), "--answers", answers, "--questionnaire",
         os.path.join(tmp, "tiny.toml"), "--out", out, "--ignored-out", ignored, "--min-respondents", "1", *extra],
        check=True,
    )
    with open(out, newline="") as f:
        got = {(r["unit_code"], r["level"], r["code"]): (float(r["score"]), int(r["n"])) for r in csv.DictReader(f)}
        assert all(r[0] == "w" for r in [(row.split(",")[0],) for row in open(out).read().splitlines()[1:]])
    assert set(got) == set(EXPECTED), f"{tag}: keys differ: {sorted(set(got) ^ set(EXPECTED))}"
    for key, (score, n) in EXPECTED.items():
        assert abs(got[key][0] - score) < 1e-12 and got[key][1] == n, f"{tag} {key}: got {got[key]}, want {(score, n)}"
    with open(ignored, newline="") as f:
        got_ignored = {(r["question"], r["kind"]): int(r["rows"]) for r in csv.DictReader(f)}
    assert got_ignored == EXPECTED_IGNORED, f"{tag}: ignored {got_ignored}"
    print(f"{tag}: {len(got)} scores and {len(got_ignored)} ignored counts as computed by hand")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "tiny.toml"), "w") as f:
            f.write(TOML)
        answers = os.path.join(tmp, "answers.csv")
        with open(answers, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["response_id", "wave", "unit_code", "question", "answer"])
            for rid, unit, q, a in ANSWERS:
                w.writerow([rid, "w", unit, q, a])
        run(answers, tmp, "csv")
        parquet = os.path.join(tmp, "answers.parquet")
        duckdb.sql(f"COPY (SELECT * FROM read_csv('{answers}', all_varchar = true)) TO '{parquet}' (FORMAT parquet)")
        run(parquet, tmp, "parquet")
        # Number questions with more distinct numbers than bits keep them as min and max: the same results.
        run(parquet, tmp, "parquet, numbers as min and max", "--max-number-bits", "0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
