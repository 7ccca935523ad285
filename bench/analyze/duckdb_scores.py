#!/usr/bin/env python3
"""The point scores of `ykien analyze`, recomputed with DuckDB SQL over the same inputs.

Reads long-format answers (Parquet, columns response_id, wave, unit_code, question, answer) and a questionnaire
TOML file (the format of questionnaires/papi-2025.toml), and writes `scores.csv` with the header
`wave,unit_code,level,code,score,n`: for every wave and unit, the indicator, sub-dimension, dimension (1-10) and
total (8-80) scores with their respondent counts, published rows only (n >= 10), scores printed like the Rust
export (`{:.4}`, round half to even on the exact binary value).

Only the small codebook tables are built in Python; all the work over the answers is DuckDB SQL reading the
Parquet file directly. The method follows the Rust crate `analysis` (paths relative to the repository root):

* codebook (src/services/analysis.rs `codebook`, analysis/src/codebook.rs `coded_values`): a question with an
  indicator and a type other than text is scored. yes_no -> YesNo{yes_is_good: good == "yes"}: code "1" is worth
  1 if yes is good else 0, code "0" the opposite. likert -> Likert{points = number of labels of its scale,
  high_is_good: direction == "high_is_good"}: codes "1".."k" exactly (so "04" is missing), worth (p-1)/(k-1),
  or (k-p)/(k-1) reversed. single -> Choice: the choices that have a `value`, by exact code. number ->
  Number{good, bad}: the answer read as a float, (x - bad) / (good - bad) clamped to [0, 1]; non-finite or
  unreadable numbers are missing. "DK", "RF", nulls, unknown codes and unscored questions give no value.
* per respondent and indicator (analysis/src/bootstrap.rs `dense_rows`): the mean of the values of the
  indicator's questions the respondent has, clamped to [0, 1].
* indicator score (aggregate.rs `weighted_mean`, weight 1): the mean over the unit's respondents with a value,
  summed one by one in response_id order (the order pipeline.rs sorts respondents in), clamped to the smallest
  and largest term, then to [0, 1]; n = those respondents.
* sub-dimension score = plain mean of the unit's indicator scores that exist (codebook order), clamped to [0, 1];
  dimension = 1 + 9 x plain mean of its sub-dimension scores that exist; total = sum of the 8 dimension scores
  (codebook order), clamped to [8, 80], only when the codebook has 8 dimensions AND the unit has all 8 (else no
  total row). n of a sub-dimension / dimension / total = respondents with at least one value in it (for the total:
  in any indicator). Withheld scores still feed the levels above them.
* privacy (analysis/src/scores.rs `Scores::from_raw`): each (wave, unit, level, code) row with n < 10 is
  withheld on its own; the rest of the unit's rows are still written.

Not done (not needed for the benchmark): weights, lineage, bootstrap intervals, ranks, quartiles, the units table.
"""

from __future__ import annotations

import argparse
import math
import sys
import tomllib

import duckdb

DONT_KNOW = "DK"
REFUSED = "RF"
YES_CODE = "1"
NO_CODE = "0"
DIMENSION_COUNT = 8
MIN_RESPONDENTS_SHOWN = 10


class CodebookError(Exception):
    pass


def _parent(node: dict, *keys: str) -> str:
    # RawNode: `parent`, with the aliases `dimension` and `subdimension`.
    for key in ("parent", *keys):
        if key in node:
            return node[key]
    return ""


def load_codebook(path: str) -> dict:
    """The codebook the server builds from a questionnaire (src/services/analysis.rs `codebook`)."""
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    scales = {name: min(len(s.get("vi", [])), len(s.get("en", []))) for name, s in raw.get("scales", {}).items()}
    dimensions = [d["code"] for d in raw.get("dimensions", [])]
    numbers = []
    for i, code in enumerate(dimensions):
        digits = "".join(ch for ch in code if ch.isascii() and ch.isdigit())
        try:
            number = int(digits)
            if number > 255:
                raise ValueError
        except ValueError:
            number = min(i + 1, 255)
        numbers.append(number)
    subdimensions = [(s["code"], _parent(s, "dimension", "subdimension")) for s in raw.get("subdimensions", [])]
    indicators = [(s["code"], _parent(s, "subdimension", "dimension")) for s in raw.get("indicators", [])]

    questions = []  # (code, indicator, kind, params)
    for q in raw.get("questions", []):
        indicator = q.get("indicator")
        if indicator is None:
            continue
        kind = q.get("type")
        code = q["code"]
        missing = CodebookError(f"question {code} is scored but has no direction")
        if kind == "yes_no":
            good = q.get("good")
            if good not in ("yes", "no"):
                raise missing
            questions.append((code, indicator, "yes_no", {"yes_is_good": good == "yes"}))
        elif kind == "likert":
            direction = q.get("direction")
            if direction not in ("high_is_good", "low_is_good"):
                raise missing
            points = min(scales.get(q.get("scale"), 0), 255)
            questions.append((code, indicator, "likert", {"points": points, "high_is_good": direction == "high_is_good"}))
        elif kind == "number":
            good, bad = q.get("good"), q.get("bad")
            if any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in (good, bad)):
                raise missing
            questions.append((code, indicator, "number", {"good": float(good), "bad": float(bad)}))
        elif kind == "single":
            values = [(c["code"], float(c["value"])) for c in q.get("choices", []) if c.get("value") is not None]
            questions.append((code, indicator, "choice", {"values": values}))
        elif kind == "text":
            continue
        else:
            raise CodebookError(f"question {code}: unknown type {kind!r}")

    codebook = {
        "dimensions": dimensions,
        "numbers": numbers,
        "subdimensions": subdimensions,
        "indicators": indicators,
        "questions": questions,
    }
    validate(codebook)
    return codebook


def validate(cb: dict) -> None:
    """What analysis/src/codebook.rs `Codebook::validate` and indicator.rs `ValueRule::validate` refuse."""

    def unique(list_name, codes):
        seen = set()
        for c in codes:
            if c in seen:
                raise CodebookError(f"{list_name} code {c!r} is used twice")
            seen.add(c)

    unique("dimension", cb["dimensions"])
    seen_numbers = set()
    for code, number in zip(cb["dimensions"], cb["numbers"]):
        if not 1 <= number <= DIMENSION_COUNT:
            raise CodebookError(f"dimension {code!r} has number {number}, which is not within 1..=8")
        if number in seen_numbers:
            raise CodebookError(f"dimension number {number} is used twice")
        seen_numbers.add(number)
    dims = set(cb["dimensions"])
    unique("subdimension", [s for s, _ in cb["subdimensions"]])
    for s, d in cb["subdimensions"]:
        if d not in dims:
            raise CodebookError(f"subdimension {s!r} belongs to {d!r}, which is not defined")
    subs = {s for s, _ in cb["subdimensions"]}
    unique("indicator", [i for i, _ in cb["indicators"]])
    if len(cb["indicators"]) > 65535:
        raise CodebookError("a codebook may have at most 65,535 indicators")
    for i, s in cb["indicators"]:
        if s not in subs:
            raise CodebookError(f"indicator {i!r} belongs to {s!r}, which is not defined")
    inds = {i for i, _ in cb["indicators"]}
    unique("question", [q[0] for q in cb["questions"]])
    for code, ind, kind, p in cb["questions"]:
        if ind not in inds:
            raise CodebookError(f"question {code!r} belongs to {ind!r}, which is not defined")
        if kind == "likert" and p["points"] < 2:
            raise CodebookError(f"question {code!r}: a Likert scale needs at least 2 points")
        if kind == "number":
            g, b = p["good"], p["bad"]
            if not (math.isfinite(g) and math.isfinite(b)) or g == b or not math.isfinite(g - b):
                raise CodebookError(f"question {code!r}: unusable number bounds good = {g}, bad = {b}")
        if kind == "choice":
            vals = p["values"]
            if not vals:
                raise CodebookError(f"question {code!r}: a choice rule must list at least one answer code")
            seen = set()
            for c, v in vals:
                if c == "":
                    raise CodebookError(f"question {code!r}: a choice rule has an empty answer code")
                if not 0.0 <= v <= 1.0:
                    raise CodebookError(f"question {code!r}: answer code {c!r} has value {v}")
                if c in seen:
                    raise CodebookError(f"question {code!r}: answer code {c!r} is listed more than once")
                if c in (DONT_KNOW, REFUSED):
                    raise CodebookError(f"question {code!r} values the special code {c!r}")
                seen.add(c)


def coded_values(kind: str, p: dict) -> list[tuple[str, float]]:
    """analysis/src/codebook.rs `Codebook::coded_values`: every stored code a rule values, with its value."""
    if kind == "yes_no":
        yes = 1.0 if p["yes_is_good"] else 0.0
        out = [(YES_CODE, yes), (NO_CODE, 1.0 - yes)]
    elif kind == "likert":
        k = p["points"]
        out = [(str(pt), float((pt - 1) if p["high_is_good"] else (k - pt)) / float(k - 1)) for pt in range(1, k + 1)]
    elif kind == "choice":
        out = list(p["values"])
    else:
        out = []
    return [(c, v) for c, v in out if c not in (DONT_KNOW, REFUSED) and 0.0 <= v <= 1.0]


def register_codebook(con: duckdb.DuckDBPyConnection, cb: dict) -> None:
    dim_index = {code: i for i, code in enumerate(cb["dimensions"])}
    sub_index = {code: i for i, (code, _) in enumerate(cb["subdimensions"])}
    ind_index = {code: i for i, (code, _) in enumerate(cb["indicators"])}
    con.execute("CREATE TEMP TABLE cb_dim (dim INTEGER, code VARCHAR)")
    con.execute("CREATE TEMP TABLE cb_sub (sub INTEGER, code VARCHAR, dim INTEGER)")
    con.execute("CREATE TEMP TABLE cb_ind (ind INTEGER, code VARCHAR, sub INTEGER, dim INTEGER)")
    con.execute("CREATE TEMP TABLE cb_q (question VARCHAR, ind INTEGER, is_number BOOLEAN, good DOUBLE, bad DOUBLE)")
    con.execute("CREATE TEMP TABLE cb_code (question VARCHAR, answer VARCHAR, code_value DOUBLE)")
    if cb["dimensions"]:
        con.executemany("INSERT INTO cb_dim VALUES (?, ?)", [[i, c] for c, i in dim_index.items()])
    if cb["subdimensions"]:
        con.executemany(
            "INSERT INTO cb_sub VALUES (?, ?, ?)", [[sub_index[s], s, dim_index[d]] for s, d in cb["subdimensions"]]
        )
    if cb["indicators"]:
        sub_dim = {s: dim_index[d] for s, d in cb["subdimensions"]}
        con.executemany(
            "INSERT INTO cb_ind VALUES (?, ?, ?, ?)",
            [[ind_index[i], i, sub_index[s], sub_dim[s]] for i, s in cb["indicators"]],
        )
    q_rows, c_rows = [], []
    for code, ind, kind, p in cb["questions"]:
        if kind == "number":
            q_rows.append([code, ind_index[ind], True, p["good"], p["bad"]])
        else:
            q_rows.append([code, ind_index[ind], False, 1.0, 0.0])
        c_rows.extend([code, answer, value] for answer, value in coded_values(kind, p))
    if q_rows:
        con.executemany("INSERT INTO cb_q VALUES (?, ?, ?, ?, ?)", q_rows)
    if c_rows:
        con.executemany("INSERT INTO cb_code VALUES (?, ?, ?)", c_rows)


# Per respondent and indicator: the value in [0, 1] (pipeline.rs `answer_values` + bootstrap.rs `dense_rows`).
# A non-number question's value is its code's value (exact string match); a number question's is the answer cast
# to a double, scaled and clamped, missing when it is not a finite number. `+ 0.0` turns a -0.0 (x == bad with
# good < bad) into +0.0 as Rust's running sum from 0.0 does.
RESP_IND_SQL = """
CREATE TEMP TABLE resp_ind AS
WITH a AS (
    SELECT CAST(response_id AS VARCHAR) AS response_id,
           CAST(wave AS VARCHAR)        AS wave,
           CAST(unit_code AS VARCHAR)   AS unit_code,
           CAST(question AS VARCHAR)    AS question,
           CAST(answer AS VARCHAR)      AS answer
    FROM read_parquet($answers)
),
v AS (
    SELECT a.wave, a.unit_code, a.response_id, q.ind,
           CASE WHEN q.is_number THEN
                    CASE WHEN isfinite(TRY_CAST(a.answer AS DOUBLE)) THEN
                        least(greatest((TRY_CAST(a.answer AS DOUBLE) - q.bad) / (q.good - q.bad), 0::DOUBLE),
                              1::DOUBLE)
                    END
                ELSE c.code_value
           END AS value
    FROM a
    JOIN cb_q q ON a.question = q.question
    LEFT JOIN cb_code c ON c.question = a.question AND c.answer = a.answer
)
SELECT wave, unit_code, response_id, ind,
       least(greatest((sum(value) + 0::DOUBLE) / count(*)::DOUBLE, 0::DOUBLE), 1::DOUBLE) AS value
FROM v
WHERE value IS NOT NULL
GROUP BY wave, unit_code, response_id, ind
"""

# Indicator scores: weighted_mean with weight 1, summed in respondent order like the Rust loop.
IND_SQL_ORDERED = """
CREATE TEMP TABLE ind_score AS
WITH g AS (
    SELECT wave, unit_code, ind,
           list(value ORDER BY response_id) AS vals,
           min(value) AS lo, max(value) AS hi, count(*) AS n
    FROM resp_ind
    GROUP BY wave, unit_code, ind
)
SELECT wave, unit_code, ind, n,
       least(greatest(least(greatest(list_reduce(vals, lambda x, y: x + y) / n::DOUBLE, lo), hi), 0::DOUBLE),
             1::DOUBLE) AS score
FROM g
"""

# The same with DuckDB's own (unordered, parallel) sum: can differ from Rust in the last bit of a score.
IND_SQL_FAST = """
CREATE TEMP TABLE ind_score AS
SELECT wave, unit_code, ind, count(*) AS n,
       least(greatest(least(greatest(sum(value) / count(*)::DOUBLE, min(value)), max(value)), 0::DOUBLE),
             1::DOUBLE) AS score
FROM resp_ind
GROUP BY wave, unit_code, ind
"""

# Respondent counts of sub-dimensions, dimensions and the total: respondents with at least one value in them.
COUNTS_SQL = """
CREATE TEMP TABLE level_n AS
SELECT r.wave, r.unit_code, i.sub, i.dim, grouping(i.sub, i.dim) AS gid, count(DISTINCT r.response_id) AS n
FROM resp_ind r JOIN cb_ind i ON r.ind = i.ind
GROUP BY GROUPING SETS ((r.wave, r.unit_code, i.sub), (r.wave, r.unit_code, i.dim), (r.wave, r.unit_code))
"""

# Sub-dimension, dimension and total scores from the small per-unit tables, summed in codebook order.
LEVELS_SQL = """
CREATE TEMP TABLE sub_score AS
SELECT s.wave, s.unit_code, s.sub,
       least(greatest(list_reduce(list(s.score ORDER BY s.ind), lambda x, y: x + y) / count(*)::DOUBLE,
                      0::DOUBLE), 1::DOUBLE) AS score
FROM (SELECT x.*, i.sub FROM ind_score x JOIN cb_ind i ON x.ind = i.ind) s
GROUP BY s.wave, s.unit_code, s.sub;

CREATE TEMP TABLE dim_score AS
SELECT s.wave, s.unit_code, s.dim,
       1::DOUBLE + 9::DOUBLE * least(greatest(
           list_reduce(list(s.score ORDER BY s.sub), lambda x, y: x + y) / count(*)::DOUBLE,
           0::DOUBLE), 1::DOUBLE) AS score
FROM (SELECT x.*, b.dim FROM sub_score x JOIN cb_sub b ON x.sub = b.sub) s
GROUP BY s.wave, s.unit_code, s.dim;

CREATE TEMP TABLE total_score AS
SELECT wave, unit_code,
       least(greatest(list_reduce(list(score ORDER BY dim), lambda x, y: x + y), 8::DOUBLE), 80::DOUBLE) AS score
FROM dim_score
WHERE $has_total
GROUP BY wave, unit_code
HAVING count(*) = 8;
"""

OUTPUT_SQL = """
CREATE TEMP TABLE out_rows AS
SELECT * FROM (
    SELECT t.wave, t.unit_code, 0 AS lvl, 0 AS idx, 'total' AS level, 'total' AS code, t.score, n.n
    FROM total_score t JOIN level_n n ON n.wave = t.wave AND n.unit_code = t.unit_code AND n.gid = 3
    UNION ALL
    SELECT d.wave, d.unit_code, 1, d.dim, 'dimension', c.code, d.score, n.n
    FROM dim_score d JOIN cb_dim c ON c.dim = d.dim
    JOIN level_n n ON n.wave = d.wave AND n.unit_code = d.unit_code AND n.gid = 2 AND n.dim = d.dim
    UNION ALL
    SELECT s.wave, s.unit_code, 2, s.sub, 'subdimension', c.code, s.score, n.n
    FROM sub_score s JOIN cb_sub c ON c.sub = s.sub
    JOIN level_n n ON n.wave = s.wave AND n.unit_code = s.unit_code AND n.gid = 1 AND n.sub = s.sub
    UNION ALL
    SELECT i.wave, i.unit_code, 3, i.ind, 'indicator', c.code, i.score, i.n
    FROM ind_score i JOIN cb_ind c ON c.ind = i.ind
)
WHERE n >= $min_n
"""

CHECK_SQL = """
SELECT count(*) FILTER (WHERE response_id IS NULL OR wave IS NULL OR unit_code IS NULL) AS missing_keys,
       (SELECT count(*) FROM (
            SELECT response_id FROM read_parquet($answers) WHERE response_id IS NOT NULL
            GROUP BY response_id
            HAVING count(DISTINCT wave) > 1 OR count(DISTINCT unit_code) > 1)) AS inconsistent
FROM read_parquet($answers)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--answers", required=True, help="long-format answers, .parquet")
    ap.add_argument("--questionnaire", required=True, help="questionnaire .toml")
    ap.add_argument("--out", required=True, help="scores.csv to write")
    ap.add_argument(
        "--summation",
        choices=["ordered", "fast"],
        default="ordered",
        help="ordered (default): indicator means summed in response_id order like Rust, bit for bit; "
        "fast: DuckDB's parallel sum (may differ in the last bit, so rarely in the 4th decimal)",
    )
    ap.add_argument(
        "--min-respondents",
        type=int,
        default=MIN_RESPONDENTS_SHOWN,
        help="rows with fewer respondents are withheld (Rust: 10; lower it only for tests)",
    )
    ap.add_argument("--decimals", type=int, default=4, help="decimals of the score column (Rust writes 4)")
    ap.add_argument(
        "--check-responses",
        action="store_true",
        help="refuse, like Rust, answers without response_id/wave/unit_code or responses spanning waves or units "
        "(one more pass over the answers)",
    )
    args = ap.parse_args()

    cb = load_codebook(args.questionnaire)
    con = duckdb.connect()
    register_codebook(con, cb)

    if args.check_responses:
        missing, inconsistent = con.execute(CHECK_SQL, {"answers": args.answers}).fetchone()
        if missing or inconsistent:
            print(
                f"error: {missing} answer(s) without response_id/wave/unit_code, "
                f"{inconsistent} response(s) with several waves or units",
                file=sys.stderr,
            )
            return 2

    con.execute(RESP_IND_SQL, {"answers": args.answers})
    con.execute(IND_SQL_ORDERED if args.summation == "ordered" else IND_SQL_FAST)
    con.execute(COUNTS_SQL)
    for statement in LEVELS_SQL.split(";"):
        if statement.strip():
            if "$has_total" in statement:
                con.execute(statement, {"has_total": len(cb["dimensions"]) == DIMENSION_COUNT})
            else:
                con.execute(statement)
    con.execute(OUTPUT_SQL, {"min_n": args.min_respondents})

    decimals = int(args.decimals)
    if not 0 <= decimals <= 20:
        raise SystemExit("--decimals must be 0-20")
    out = args.out.replace("'", "''")
    con.execute(
        f"""
        COPY (
            SELECT wave, unit_code, level, code, printf('%.{decimals}f', score) AS score, n
            FROM out_rows ORDER BY wave, unit_code, lvl, idx
        ) TO '{out}' (FORMAT csv, HEADER true, DELIMITER ',')
        """
    )
    rows = con.execute("SELECT count(*) FROM out_rows").fetchone()[0]
    print(f"{rows} rows written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
