#!/usr/bin/env python3
"""Scores of an answers file, computed from the text of docs/questionnaire.md alone: a second implementation that
`tests/scores_reference.rs` holds `ykien analyze` to (every score to 1e-9, every n and every ignored count exactly).

Written from the document, not from the Rust code: "Skip logic", "\"Không biết\" and \"Không trả lời\"",
"From answers to scores" (with PAPI's scale for sub-dimensions), "Answers files: what counts" and "Dimension rule".
Standard library only (Python 3.11+: tomllib).

    python3 papi_scores.py QUESTIONNAIRE.toml ANSWERS.csv OUT_DIR

writes OUT_DIR/reference_scores.csv (wave,unit_code,level,code,score,n,papi_scale,partial; every score with n >= 10,
full precision)
and OUT_DIR/reference_ignored.csv (wave,question,kind,rows). Units are the answers' unit codes (no lineage).
"""

import csv
import os
import re
import sys
import tomllib
from collections import defaultdict

SPECIAL = ("DK", "RF")
# "a decimal number with a dot (`12`, `2.5` and `-1` are numbers; `12,5`, `mười`, `abc` are not)"
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
MIN_SHOWN = 10


def read_answer(question, answer):
    """Step 2: (ok, parsed) where parsed is the code or the number; or (False, kind)."""
    if answer in SPECIAL:
        if question.get("profile", False):
            return False, "unknown_code"
        return True, answer
    kind = question["type"]
    if kind == "yes_no":
        return (True, answer) if answer in ("1", "0") else (False, "unknown_code")
    if kind == "likert":
        return (True, answer) if answer in ("1", "2", "3", "4", "5") else (False, "unknown_code")
    if kind == "single":
        codes = [c["code"] for c in question["choices"]]
        return (True, answer) if answer in codes else (False, "unknown_code")
    if kind == "number":
        if not NUMBER.fullmatch(answer):
            return False, "unreadable_number"
        x = float(answer)
        if x < question["min"] or x > question["max"]:
            return False, "out_of_range"
        return True, x
    if kind == "text":
        return True, ("text",)
    raise ValueError(f"unknown type {kind}")


def same(a, b):
    if isinstance(a, tuple) and isinstance(b, tuple):
        return True  # two free-text answers count as the same
    return a == b and type(a) is type(b)


def condition_holds(cond, question, answer):
    """A condition on an earlier answer that counts (None: no such answer)."""
    if answer is None or answer in SPECIAL or isinstance(answer, tuple):
        return False
    if "any_of" in cond:
        return isinstance(answer, str) and answer in cond["any_of"]
    value = answer if isinstance(answer, float) else float(answer)  # a Likert point is its number
    if "at_least" in cond and value < cond["at_least"]:
        return False
    if "at_most" in cond and value > cond["at_most"]:
        return False
    return True


def value_of(question, answer):
    """The table of "From answers to scores"; None is missing."""
    if answer is None or answer in SPECIAL or isinstance(answer, tuple):
        return None
    kind = question["type"]
    if kind == "yes_no":
        yes_good = question["good"] == "yes"
        return 1.0 if (answer == "1") == yes_good else 0.0
    if kind == "likert":
        v = int(answer)
        up = (v - 1) / 4
        return up if question["direction"] == "high_is_good" else 1 - up
    if kind == "number":
        good, bad = float(question["good"]), float(question["bad"])
        return min(1.0, max(0.0, (answer - bad) / (good - bad)))
    if kind == "single":
        for c in question["choices"]:
            if c["code"] == answer:
                return c.get("value")
    return None


def main(toml_path, answers_path, out_dir):
    with open(toml_path, "rb") as f:
        book = tomllib.load(f)
    questions = book["questions"]
    by_code = {q["code"]: q for q in questions}
    dimensions = [d["code"] for d in book["dimensions"]]
    sub_dim = {s["code"]: s["dimension"] for s in book["subdimensions"]}
    ind_sub = {i["code"]: i["subdimension"] for i in book["indicators"]}
    # "Dimension rule": "all", "any" (without the key) or { at_least = N }.
    rule = book.get("dimension_rule", "any")
    k_of = defaultdict(int)
    for d in sub_dim.values():
        k_of[d] += 1

    def allowed(d, m):
        if rule == "all":
            return m >= k_of[d]
        if isinstance(rule, dict):
            return m >= min(rule["at_least"], k_of[d])
        return True

    ignored = defaultdict(int)
    responses = {}  # response_id -> (wave, unit, {question: [answers]})
    with open(answers_path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            answer = row["answer"]
            if answer is None or answer == "":
                continue
            wave, question = row["wave"], row["question"]
            rid = row["response_id"]
            if rid not in responses:
                responses[rid] = (wave, row["unit_code"], defaultdict(list))
            if question not in by_code:  # step 1
                ignored[(wave, question, "unknown_question")] += 1
                continue
            ok, parsed = read_answer(by_code[question], answer)  # step 2
            if not ok:
                ignored[(wave, question, parsed)] += 1
                continue
            responses[rid][2][question].append(parsed)

    # per (wave, unit): indicator -> list of respondent values; level -> set of respondents with a value
    ind_values = defaultdict(lambda: defaultdict(list))
    has_value = defaultdict(lambda: defaultdict(set))
    for rid, (wave, unit, given) in responses.items():
        counting = {}
        for code, answers in given.items():  # step 3
            first = answers[0]
            if all(same(first, a) for a in answers[1:]):
                counting[code] = first
                if len(answers) > 1:
                    ignored[(wave, code, "duplicate")] += len(answers) - 1
            else:
                ignored[(wave, code, "conflicting")] += len(answers)
        kept = {}
        for q in questions:  # step 4, in the order asked
            code = q["code"]
            if code not in counting:
                continue
            if all(condition_holds(c, by_code[c["question"]], kept.get(c["question"])) for c in q.get("when", [])):
                kept[code] = counting[code]
            else:
                ignored[(wave, code, "not_eligible")] += 1
        per_indicator = defaultdict(list)
        for code, answer in kept.items():
            q = by_code[code]
            if "indicator" not in q or q.get("profile", False):
                continue
            v = value_of(q, answer)
            if v is not None:
                per_indicator[q["indicator"]].append(v)
        key = (wave, unit)
        for ind, vs in per_indicator.items():
            ind_values[key][ind].append(sum(vs) / len(vs))
            sub = ind_sub[ind]
            has_value[key][("indicator", ind)].add(rid)
            has_value[key][("subdimension", sub)].add(rid)
            has_value[key][("dimension", sub_dim[sub])].add(rid)
            has_value[key][("total", "total")].add(rid)

    out_rows = []
    for (wave, unit), inds in ind_values.items():
        n_of = has_value[(wave, unit)]
        ind_score = {ind: sum(vs) / len(vs) for ind, vs in inds.items()}
        sub_scores = defaultdict(list)
        for ind, s in ind_score.items():
            sub_scores[ind_sub[ind]].append(s)
        sub_score = {sub: sum(vs) / len(vs) for sub, vs in sub_scores.items()}
        dim_scores = defaultdict(list)
        for sub, s in sub_score.items():
            dim_scores[sub_dim[sub]].append(s)
        dim_score = {d: 1 + 9 * sum(vs) / len(vs) for d, vs in dim_scores.items()}
        # A sub-dimension is answered when someone has a value for it; a dimension the rule does not allow is
        # withdrawn, and the total with it; one kept from fewer than all its sub-dimensions under at_least is
        # partial, and so is the total.
        failing = {d for d, vs in dim_scores.items() if not allowed(d, len(vs))}
        partial = set()
        if isinstance(rule, dict):
            partial = {d for d, vs in dim_scores.items() if d not in failing and len(vs) < k_of[d]}
        rows = [("indicator", c, s, "", "") for c, s in ind_score.items()]
        rows += [("subdimension", c, s, repr((1 + 9 * s) / k_of[sub_dim[c]]), "") for c, s in sub_score.items()]
        rows += [("dimension", c, s, "", "1" if c in partial else "") for c, s in dim_score.items() if c not in failing]
        if len(dimensions) == 8 and all(d in dim_score for d in dimensions) and not failing:
            rows.append(("total", "total", sum(dim_score[d] for d in dimensions), "", "1" if partial else ""))
        for level, code, score, papi, flag in rows:
            n = len(n_of[(level, code)])
            if n >= MIN_SHOWN:
                out_rows.append((wave, unit, level, code, repr(score), n, papi, flag))

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "reference_scores.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["wave", "unit_code", "level", "code", "score", "n", "papi_scale", "partial"])
        w.writerows(sorted(out_rows))
    with open(os.path.join(out_dir, "reference_ignored.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["wave", "question", "kind", "rows"])
        w.writerows(sorted((w_, q, k, n) for (w_, q, k), n in ignored.items() if n > 0))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
