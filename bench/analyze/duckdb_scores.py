#!/usr/bin/env python3
"""The strong reference of `ykien analyze`: the scoring method of docs/questionnaire.md in DuckDB SQL, the way an
analyst who knows DuckDB would write it, to time ykien against in the same run (bench/src/scores.rs).

    python duckdb_scores.py --answers ANSWERS.parquet|.csv --questionnaire Q.toml --out scores.csv \
        [--ignored-out ignored.csv] [--threads N] [--memory-limit 1GB]

Writes `scores.csv` (`wave,unit_code,level,code,score,n`, every score with n >= 10 at full precision, as ykien's
scores.csv) and optionally `ignored.csv` (`wave,question,kind,rows`, as ykien's).

What it does ("Answers files: what counts" and "From answers to scores" of docs/questionnaire.md):

* steps 1-2: a row naming no question of the questionnaire is `unknown_question`; an answer the question does not
  take is `unknown_code` (DK/RF on a profile question too), `unreadable_number` (not `-?digits(.digits)?`) or
  `out_of_range` (outside min-max);
* step 3: per response and question, several rows with the same answer count once (`duplicate` for the others),
  rows that differ count none (`conflicting`);
* step 4: the skip logic, in the order questions are asked: a question is eligible when all its conditions hold on
  the earlier question's answer that counts (itself eligible: chains), never on DK/RF or no answer;
* values in [0, 1] (yes/no, Likert, number clamped between good and bad, choice values), the mean of an indicator's
  questions per respondent, then per wave and unit: indicator = mean over respondents with a value, sub-dimension =
  mean of its indicators, dimension = 1 + 9 x mean of its sub-dimensions, total = sum of the 8 dimensions (only when
  all 8 have a score); n = respondents with a value in the score; rows with n < 10 withheld.

How: Python only turns the small questionnaire into tables and writes the skip-logic SQL from it; every step over
the answers is SQL. The answers are read twice, each time only the columns needed, streaming (nothing holds the
answer strings): once for the responses (their wave and unit, checked, and the 64-bit hash of each id as its
integer key, refused should two ids share one; with the per-question counts of unknown questions in the same scan),
once to turn every row into (respondent key, question smallint, token), the key hashed from the id on the fly
rather than joined on the id string. One read would have to keep the 90 million rows' strings (or their keys and
the waves and units beside them) in memory or spill them; two streaming reads of a compressed, dictionary-encoded
Parquet file cost less than that. Everything after that joins and groups integers: one row per
(respondent, question) for step 3, one row per respondent with the skip-logic outcome of every question as a
list of booleans for step 4. Not done: weights, lineage, bootstrap intervals, ranks (not in DuckDB's part of the
benchmark; ykien computes them on top).
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib

import duckdb

SPECIAL = ("DK", "RF")
MIN_RESPONDENTS_SHOWN = 10
DIMENSION_COUNT = 8
# Step 2 outcomes stored per row.
OK, UNKNOWN_CODE, UNREADABLE_NUMBER, OUT_OF_RANGE = 0, 1, 2, 3


class CodebookError(Exception):
    pass


def load(path: str) -> dict:
    """The questionnaire as small tables: questions in the order asked, their codes and values, the tree."""
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    scales = {name: len(s.get("vi", [])) for name, s in raw.get("scales", {}).items()}
    dims = [d["code"] for d in raw["dimensions"]]
    subs = [(s["code"], s["dimension"]) for s in raw["subdimensions"]]
    inds = [(i["code"], i["subdimension"]) for i in raw["indicators"]]
    dim_ix = {c: k for k, c in enumerate(dims)}
    sub_ix = {c: k for k, (c, _) in enumerate(subs)}
    ind_ix = {c: k for k, (c, _) in enumerate(inds)}
    questions = raw["questions"]
    q_ix = {q["code"]: k for k, q in enumerate(questions)}

    q_rows, code_rows = [], []
    for k, q in enumerate(questions):
        kind = q["type"]
        profile = bool(q.get("profile", False))
        indicator = q.get("indicator")
        scored = indicator is not None and kind != "text" and not profile
        codes: list[tuple[str, float | None, float | None]] = []  # (code, value, point for ranges)
        if kind == "yes_no":
            yes_good = q.get("good") == "yes"
            for code in ("1", "0"):
                value = (1.0 if (code == "1") == yes_good else 0.0) if scored else None
                codes.append((code, value, None))
        elif kind == "likert":
            points = scales[q["scale"]]
            high = q.get("direction") == "high_is_good"
            for p in range(1, points + 1):
                value = ((p - 1) if high else (points - p)) / (points - 1) if scored else None
                codes.append((str(p), value, float(p)))
        elif kind == "single":
            for c in q["choices"]:
                codes.append((c["code"], float(c["value"]) if scored and "value" in c else None, None))
        elif kind not in ("number", "text"):
            raise CodebookError(f"question {q['code']}: unknown type {kind!r}")
        for i, (code, value, point) in enumerate(codes):
            code_rows.append((k, code, i, False, value, point))
        # DK and RF are codes of every question; on a profile question, which does not offer them, step 2 refuses them.
        code_rows.append((k, "DK", len(codes), True, None, None))
        code_rows.append((k, "RF", len(codes) + 1, True, None, None))
        is_number = kind == "number"
        q_rows.append(
            (
                k,
                q["code"],
                profile,
                is_number,
                kind == "text",
                bool(q.get("when")),
                float(q["min"]) if is_number else None,
                float(q["max"]) if is_number else None,
                ind_ix[indicator] if scored else None,
                float(q["good"]) if scored and is_number else None,
                float(q["bad"]) if scored and is_number else None,
            )
        )
    conditions = []
    for k, q in enumerate(questions):
        for c in q.get("when", []):
            earlier = q_ix[c["question"]]
            if earlier >= k:
                raise CodebookError(f"question {q['code']}: condition on a later question")
            conditions.append((k, earlier, c))
    return {
        "questions": questions,
        "q_rows": q_rows,
        "code_rows": code_rows,
        "conditions": conditions,
        "dims": dims,
        "subs": [(c, sub_ix[c], dim_ix[d]) for c, d in subs],
        "inds": [(c, ind_ix[c], sub_ix[s]) for c, s in inds],
    }


def register(con: duckdb.DuckDBPyConnection, cb: dict) -> None:
    con.execute(
        "CREATE TEMP TABLE cb_q (qid SMALLINT, question VARCHAR, profile BOOLEAN, is_number BOOLEAN,"
        " is_text BOOLEAN, conditional BOOLEAN, lo DOUBLE, hi DOUBLE, ind SMALLINT, good DOUBLE, bad DOUBLE)"
    )
    con.executemany("INSERT INTO cb_q VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", cb["q_rows"])
    con.execute(
        "CREATE TEMP TABLE cb_code (qid SMALLINT, answer VARCHAR, code SMALLINT, special BOOLEAN, value DOUBLE,"
        " point DOUBLE)"
    )
    con.executemany("INSERT INTO cb_code VALUES (?, ?, ?, ?, ?, ?)", cb["code_rows"])
    con.execute("CREATE TEMP TABLE cb_dim (dim SMALLINT, code VARCHAR)")
    con.executemany("INSERT INTO cb_dim VALUES (?, ?)", [(k, c) for k, c in enumerate(cb["dims"])])
    con.execute("CREATE TEMP TABLE cb_sub (sub SMALLINT, code VARCHAR, dim SMALLINT)")
    con.executemany("INSERT INTO cb_sub VALUES (?, ?, ?)", [(s, c, d) for c, s, d in cb["subs"]])
    con.execute("CREATE TEMP TABLE cb_ind (ind SMALLINT, code VARCHAR, sub SMALLINT)")
    con.executemany("INSERT INTO cb_ind VALUES (?, ?, ?)", [(i, c, s) for c, i, s in cb["inds"]])


def source(path: str) -> str:
    """The scan of the answers file, every column as text (codes keep their leading zeros)."""
    quoted = path.replace("'", "''")
    if path.lower().endswith(".parquet"):
        return f"read_parquet('{quoted}')"
    return f"read_csv('{quoted}', header = true, all_varchar = true)"


# Read 1: the responses, numbered; each with its wave and unit (which must agree across its rows), and in the same
# scan, per wave and question, the non-empty rows of each question code (those the questionnaire lacks are step 1).
RESPONSES_SQL = """
CREATE TEMP TABLE scan1 AS
SELECT response_id, question, grouping(response_id) AS g,
       min(wave) AS wave, max(wave) AS wave_last, min(unit_code) AS unit_code, max(unit_code) AS unit_last,
       count(*) FILTER (WHERE answer IS NOT NULL AND answer <> '') AS given
FROM (SELECT CAST(response_id AS VARCHAR) AS response_id, CAST(wave AS VARCHAR) AS wave,
             CAST(unit_code AS VARCHAR) AS unit_code, CAST(question AS VARCHAR) AS question,
             CAST(answer AS VARCHAR) AS answer
      FROM {src})
GROUP BY GROUPING SETS ((response_id), (wave, question));

CREATE TEMP TABLE groups AS
SELECT row_number() OVER (ORDER BY wave, unit_code)::INTEGER AS gid, wave, unit_code
FROM (SELECT DISTINCT wave, unit_code FROM scan1 WHERE g = 0);

CREATE TEMP TABLE resp AS
SELECT hash(s.response_id) AS rid, g.gid
FROM scan1 s JOIN groups g ON g.wave = s.wave AND g.unit_code = s.unit_code
WHERE s.g = 0;

CREATE TEMP TABLE unknown AS
SELECT s.wave, s.question, sum(s.given)::BIGINT AS rows
FROM scan1 s ANTI JOIN cb_q q ON q.question = s.question
WHERE s.g = 1 AND s.given > 0
GROUP BY s.wave, s.question;
"""

CHECK_RESPONSES_SQL = """
SELECT count(*) FILTER (WHERE response_id IS NULL OR wave IS NULL OR unit_code IS NULL),
       count(*) FILTER (WHERE wave <> wave_last OR unit_code <> unit_last),
       (SELECT count(*) - count(DISTINCT rid) FROM resp)
FROM scan1 WHERE g = 0
"""

# Read 2: every non-empty row of a known question as (respondent, question, step-2 outcome, token). The token is
# the index of the code (DK/RF last) for coded answers, the number for number questions, -1 for free text.
TOKENS_SQL = """
CREATE TEMP TABLE tok AS
SELECT r.rid, q.qid,
       CASE WHEN c.code IS NOT NULL THEN CASE WHEN c.special AND q.profile THEN {unknown} ELSE {ok} END
            WHEN q.is_number AND NOT regexp_full_match(a.answer, '-?[0-9]+(\\.[0-9]+)?') THEN {unreadable}
            WHEN q.is_number AND (TRY_CAST(a.answer AS DOUBLE) < q.lo OR TRY_CAST(a.answer AS DOUBLE) > q.hi)
                 THEN {range}
            WHEN q.is_number OR q.is_text THEN {ok}
            ELSE {unknown} END::TINYINT AS status,
       c.code IS NULL AND q.is_number AS is_num,
       CASE WHEN c.code IS NOT NULL THEN c.code::DOUBLE
            WHEN q.is_number THEN TRY_CAST(a.answer AS DOUBLE)
            ELSE -1::DOUBLE END AS t
FROM (SELECT hash(CAST(response_id AS VARCHAR)) AS rid, CAST(question AS VARCHAR) AS question,
             CAST(answer AS VARCHAR) AS answer
      FROM {src} WHERE answer IS NOT NULL AND CAST(answer AS VARCHAR) <> '') a
JOIN resp r ON r.rid = a.rid
JOIN cb_q q ON q.question = a.question
LEFT JOIN cb_code c ON c.qid = q.qid AND c.answer = a.answer;
"""

# Step 3: one row per respondent and question among the rows step 2 accepted.
KEPT_SQL = """
CREATE TEMP TABLE kept AS
SELECT rid, qid, count(*)::BIGINT AS rows,
       min(t) = max(t) AND bool_and(is_num) = bool_or(is_num) AS same,
       min(t) AS t, bool_or(is_num) AS is_num
FROM tok WHERE status = 0
GROUP BY rid, qid;
"""


def eligibility_sql(cb: dict) -> str:
    """Step 4 for every respondent at once: one boolean per question, in the order asked, as a list.

    `g_<q>` is the answer of question q that counts for a condition: its token when it was kept (no conflict) and
    is itself eligible; `e_<q>` is whether q is asked. DuckDB lets a column use the ones before it, so a chain is
    just a later column reading an earlier one."""
    questions = cb["questions"]
    by_q: dict[int, list] = {}
    for k, earlier, c in cb["conditions"]:
        by_q.setdefault(k, []).append((earlier, c))
    sources = sorted({earlier for _, earlier, _ in cb["conditions"]})
    code_index = {}
    points = {}
    for qid, code, index, special, _value, point in cb["code_rows"]:
        if not special:
            code_index[(qid, code)] = index
            if point is not None:
                points[(qid, index)] = point
    # Each respondent's kept answers to the questions conditions look at, as lists; r_<s>/n_<s> pick one out.
    raw = [f"t[list_position(q, {s})] AS r_{s}, n[list_position(q, {s})] AS n_{s}" for s in sources]
    cols = []
    for k in range(len(questions)):
        conds = by_q.get(k, [])
        if not conds:
            expr = "true"
        else:
            parts = []
            for earlier, c in conds:
                given = f"g_{earlier}"
                if "any_of" in c:
                    idx = [code_index[(earlier, code)] for code in c["any_of"] if (earlier, code) in code_index]
                    if not idx:
                        parts.append("false")
                        continue
                    parts.append(f"coalesce(NOT n_{earlier} AND {given} IN ({', '.join(map(str, idx))}), false)")
                else:
                    # A number, or a Likert point (its code's number); anything else is in no range.
                    mapping = [(i, p) for (qq, i), p in points.items() if qq == earlier]
                    if mapping:
                        cases = " ".join(f"WHEN {i} THEN {p!r}" for i, p in mapping)
                        value = f"(CASE WHEN n_{earlier} THEN {given} ELSE CASE {given} {cases} END END)"
                    else:
                        value = f"(CASE WHEN n_{earlier} THEN {given} END)"
                    test = []
                    if "at_least" in c:
                        test.append(f"{value} >= {float(c['at_least'])!r}")
                    if "at_most" in c:
                        test.append(f"{value} <= {float(c['at_most'])!r}")
                    parts.append(f"coalesce({' AND '.join(test) or 'true'} AND {value} IS NOT NULL, false)")
            expr = " AND ".join(parts)
        cols.append(f"({expr}) AS e_{k}")
        if k in sources:
            cols.append(f"CASE WHEN e_{k} THEN r_{k} END AS g_{k}")
    listed = ", ".join(f"e_{k}" for k in range(len(questions)))
    # Only the answers conditions look at: a respondent without any of them is asked no conditional question
    # (read as such where `elig` has no row for it).
    where = f"WHERE same AND qid IN ({', '.join(map(str, sources))})" if sources else "WHERE false"
    return f"""
CREATE TEMP TABLE elig AS
SELECT rid, list_value({listed}) AS asked FROM (
    SELECT rid, {', '.join(cols)}
    FROM (SELECT rid{''.join(', ' + r for r in raw)}
          FROM (SELECT rid, list(qid) AS q, list(t) AS t, list(is_num) AS n FROM kept {where} GROUP BY rid))
);
"""


# Values: kept, unconflicted, eligible answers of scored questions; per respondent and indicator the mean.
VALUES_SQL = """
CREATE TEMP TABLE resp_ind AS
SELECT k.rid, q.ind,
       least(greatest(avg(CASE WHEN k.is_num
                               THEN least(greatest((k.t - q.bad) / (q.good - q.bad), 0::DOUBLE), 1::DOUBLE)
                               ELSE c.value END), 0::DOUBLE), 1::DOUBLE) AS value
FROM kept k
LEFT JOIN elig e ON e.rid = k.rid
JOIN cb_q q ON q.qid = k.qid
LEFT JOIN cb_code c ON c.qid = k.qid AND NOT k.is_num AND c.code = k.t::SMALLINT
WHERE k.same AND (NOT q.conditional OR coalesce(e.asked[k.qid + 1], false)) AND q.ind IS NOT NULL
  AND (k.is_num OR c.value IS NOT NULL)
GROUP BY k.rid, q.ind;
"""

SCORES_SQL = """
CREATE TEMP TABLE ind_score AS
SELECT r.gid, v.ind, count(*) AS n,
       least(greatest(least(greatest(avg(v.value), min(v.value)), max(v.value)), 0::DOUBLE), 1::DOUBLE) AS score
FROM resp_ind v JOIN resp r ON r.rid = v.rid
GROUP BY r.gid, v.ind;

CREATE TEMP TABLE resp_sub AS
SELECT DISTINCT v.rid, i.sub, s.dim FROM resp_ind v JOIN cb_ind i ON i.ind = v.ind JOIN cb_sub s ON s.sub = i.sub;

CREATE TEMP TABLE level_n AS
SELECT r.gid, x.sub, x.dim, grouping(x.sub, x.dim) AS gset, count(DISTINCT x.rid) AS n
FROM resp_sub x JOIN resp r ON r.rid = x.rid
GROUP BY GROUPING SETS ((r.gid, x.sub), (r.gid, x.dim), (r.gid));

CREATE TEMP TABLE sub_score AS
SELECT x.gid, i.sub, least(greatest(avg(x.score), 0::DOUBLE), 1::DOUBLE) AS score
FROM ind_score x JOIN cb_ind i ON i.ind = x.ind
GROUP BY x.gid, i.sub;

CREATE TEMP TABLE dim_score AS
SELECT x.gid, s.dim, 1::DOUBLE + 9::DOUBLE * least(greatest(avg(x.score), 0::DOUBLE), 1::DOUBLE) AS score
FROM sub_score x JOIN cb_sub s ON s.sub = x.sub
GROUP BY x.gid, s.dim;

CREATE TEMP TABLE total_score AS
SELECT gid, least(greatest(sum(score), 8::DOUBLE), 80::DOUBLE) AS score
FROM dim_score
GROUP BY gid
HAVING count(*) = 8 AND {has_total};

CREATE TEMP TABLE out_rows AS
SELECT g.wave, g.unit_code, o.lvl, o.idx, o.level, o.code, o.score, o.n
FROM (
    SELECT t.gid, 0 AS lvl, 0 AS idx, 'total' AS level, 'total' AS code, t.score, n.n
    FROM total_score t JOIN level_n n ON n.gid = t.gid AND n.gset = 3
    UNION ALL
    SELECT d.gid, 1, d.dim, 'dimension', c.code, d.score, n.n
    FROM dim_score d JOIN cb_dim c ON c.dim = d.dim
    JOIN level_n n ON n.gid = d.gid AND n.gset = 2 AND n.dim = d.dim
    UNION ALL
    SELECT s.gid, 2, s.sub, 'subdimension', c.code, s.score, n.n
    FROM sub_score s JOIN cb_sub c ON c.sub = s.sub
    JOIN level_n n ON n.gid = s.gid AND n.gset = 1 AND n.sub = s.sub
    UNION ALL
    SELECT i.gid, 3, i.ind, 'indicator', c.code, i.score, i.n
    FROM ind_score i JOIN cb_ind c ON c.ind = i.ind
) o JOIN groups g ON g.gid = o.gid
WHERE o.n >= {min_n};
"""

# Every ignored row, per wave, question and reason.
IGNORED_SQL = """
CREATE TEMP TABLE ignored AS
WITH rowwise AS (
    SELECT t.rid, t.qid, CASE t.status WHEN 1 THEN 'unknown_code' WHEN 2 THEN 'unreadable_number'
                                       ELSE 'out_of_range' END AS kind, count(*)::BIGINT AS rows
    FROM tok t WHERE t.status <> 0 GROUP BY ALL
    UNION ALL
    SELECT rid, qid, 'duplicate', rows - 1 FROM kept WHERE same AND rows > 1
    UNION ALL
    SELECT rid, qid, 'conflicting', rows FROM kept WHERE NOT same
    UNION ALL
    SELECT k.rid, k.qid, 'not_eligible', 1
    FROM kept k JOIN cb_q q ON q.qid = k.qid LEFT JOIN elig e ON e.rid = k.rid
    WHERE k.same AND q.conditional AND NOT coalesce(e.asked[k.qid + 1], false)
)
SELECT g.wave, q.question, x.kind, sum(x.rows)::BIGINT AS rows
FROM rowwise x JOIN resp r ON r.rid = x.rid JOIN groups g ON g.gid = r.gid JOIN cb_q q ON q.qid = x.qid
GROUP BY ALL
UNION ALL
SELECT wave, question, 'unknown_question', rows FROM unknown;
"""


def run(args: argparse.Namespace) -> int:
    cb = load(args.questionnaire)
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    if args.memory_limit:
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    register(con, cb)
    src = source(args.answers)
    started = time.monotonic()

    def step(name: str, sql: str) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                con.execute(statement)
        if args.verbose:
            print(f"  {name}: {time.monotonic() - started:.2f} s", file=sys.stderr)

    step("responses", RESPONSES_SQL.format(src=src))
    missing, inconsistent, collisions = con.execute(CHECK_RESPONSES_SQL).fetchone()
    if collisions:
        # Two response ids with one 64-bit hash (about one chance in 10^7 at a million responses): refuse rather
        # than merge two people.
        print(f"error: {collisions} response id(s) share a hash with another; cannot key responses by hash",
              file=sys.stderr)
        return 2
    if missing or inconsistent:
        print(
            f"error: {missing} response(s) without an id, wave or unit, {inconsistent} with several waves or units",
            file=sys.stderr,
        )
        return 2
    step(
        "tokens",
        TOKENS_SQL.format(
            src=src, ok=OK, unknown=UNKNOWN_CODE, unreadable=UNREADABLE_NUMBER, range=OUT_OF_RANGE
        ),
    )
    step("kept", KEPT_SQL)
    step("eligibility", eligibility_sql(cb))
    step("values", VALUES_SQL)
    has_total = "true" if len(cb["dims"]) == DIMENSION_COUNT else "false"
    step("scores", SCORES_SQL.format(has_total=has_total, min_n=int(args.min_respondents)))

    out = args.out.replace("'", "''")
    con.execute(
        f"""COPY (SELECT wave, unit_code, level, code, CAST(score AS VARCHAR) AS score, n FROM out_rows
                  ORDER BY wave, unit_code, lvl, idx) TO '{out}' (FORMAT csv, HEADER true)"""
    )
    rows = con.execute("SELECT count(*) FROM out_rows").fetchone()[0]
    message = f"{rows} rows written to {args.out}"
    if args.ignored_out:
        step("ignored", IGNORED_SQL)
        ignored_out = args.ignored_out.replace("'", "''")
        con.execute(
            f"""COPY (SELECT * FROM ignored WHERE rows > 0 ORDER BY wave, question, kind)
                TO '{ignored_out}' (FORMAT csv, HEADER true)"""
        )
        total = con.execute("SELECT coalesce(sum(rows), 0) FROM ignored").fetchone()[0]
        message += f"; {total} answer rows ignored, counted in {args.ignored_out}"
    print(message)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--answers", required=True, help="long-format answers, .parquet or .csv")
    ap.add_argument("--questionnaire", required=True, help="questionnaire .toml")
    ap.add_argument("--out", required=True, help="scores.csv to write")
    ap.add_argument("--ignored-out", help="ignored.csv to write (optional)")
    ap.add_argument("--min-respondents", type=int, default=MIN_RESPONDENTS_SHOWN, help="withhold below (10)")
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    ap.add_argument("--memory-limit", help="DuckDB memory_limit, e.g. 1GB (default: DuckDB's, 80%% of RAM)")
    ap.add_argument("--verbose", action="store_true", help="print each step's time to stderr")
    return run(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
