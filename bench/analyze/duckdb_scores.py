#!/usr/bin/env python3
"""The strong reference of `ykien analyze`: the scoring method of docs/questionnaire.md in DuckDB SQL, the way an
analyst who knows DuckDB would write it, to time ykien against in the same run (bench/src/scores_analyze.rs).

    python duckdb_scores.py --answers ANSWERS.parquet|.csv --questionnaire Q.toml --out scores.csv \
        [--ignored-out ignored.csv] [--threads N] [--memory-limit 1GB] [--verbose]

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

How, and why it is fast. The first version of this script took 100-160 s and 12.5 GB on a million responses (90
million answer rows): it materialized the rows and grouped them per (response, question), 90 million groups. This
one never holds a row: on the benchmark's file of 1,000,000 simulated responses (91 million rows, 72 MB), 8-11 s
and 0.48 GB peak on the 2-core benchmark machine, where the first version took 116 s and 12.6 GB in the same
hour, with the same scores.csv and ignored.csv. Python only turns the small questionnaire into tables and writes SQL from it; every step
over the answers is SQL, on two reads of the file (a third for repeated rows), none of which keeps what it reads:

1. `pairs`: the distinct (wave, question, answer) of the file with their rows, from three dictionary-encoded
   columns (under a second at a million responses). Steps 1-2 judge a row by its question and answer alone, so
   they are decided here once per distinct pair, and their ignored rows counted per wave. Each valid pair gets a
   bit: every question has a slot of bits, one per answer token (its codes; a number question's distinct numbers,
   12 and 12.0 being one; "answered" for text), then DK and RF, packed in 62-bit halves of HUGEINT words.
2. `responses`: one hash aggregate keyed by the response id (1,000,000 groups, a few hundred bytes each), joining
   each row to its pair: `bit_or` of the words gives, for every question at once, the set of distinct valid answers
   the response gave — one bit is an answer that counts (repeats of it are duplicates), two or more a conflict,
   none no answer — with the response's wave and unit (checked by the hash of the pair: the same on every row) and
   its valid rows. DuckDB's partial aggregate pushdown is switched off: it would group by (response, question,
   answer) below the join.
3. Everything after that works on that one-million-row table, one column per question: each half cut once into
   a BIGINT, each slot read with native arithmetic; the skip logic is a chain of boolean columns in the order
   asked (a condition holds when the source's slot is a single bit among the ones that open the question, and the
   source is itself eligible); a question not asked has its slot emptied; values are CASEs on the slots, an
   indicator is its questions' mean; one GROUP BY unit gives every indicator's sum and count, every sub-dimension's,
   dimension's and the total's respondent count (`count` of a coalesce of the level below) and the not-eligible
   answers per question, in a single pass.
4. `ignored.csv`: steps 1-2 come from read 1, `not_eligible` from the pass per unit. Duplicates and conflicts need
   row counts, which the bits do not keep; a response has none when its valid rows are exactly one per answered
   question, which the aggregate tells. Only when some response has, the file is read a third time for those
   responses' rows (a semi-join on their ids) and counted per (response, question). Files whose responses have
   no repeated question (ykien's exports, ykien simulate) never need it; a file where most responses repeat rows
   pays about as much as the first version's grouping, for those responses only.

A number question with more distinct numbers in the file than a slot holds (60) keeps one "answered" bit and its
numbers as a min and a max per response (equal: the rows agree) — slower, the same results
(`--max-number-bits 0` forces it; the hand-computed test runs both ways).

Checked against hand-computed cases (test_duckdb_scores.py) and, on simulated answers with every kind of bad row
mixed in, against tests/reference/papi_scores.py (plain Python written from the document): the same scores,
counts and ignored rows. Not done: weights, lineage, bootstrap intervals, ranks, the dimension rule
(papi-2025 has none; a questionnaire with one is refused) — not in DuckDB's part of the benchmark; ykien computes
them on top.
"""

from __future__ import annotations

import argparse
import sys
import time
import tomllib

import duckdb

MIN_RESPONDENTS_SHOWN = 10
DIMENSION_COUNT = 8
# Row outcomes of steps 1-2.
OK, UNKNOWN_CODE, UNREADABLE_NUMBER, OUT_OF_RANGE, UNKNOWN_QUESTION = 0, 1, 2, 3, 4
KINDS = {UNKNOWN_QUESTION: "unknown_question", UNKNOWN_CODE: "unknown_code", UNREADABLE_NUMBER: "unreadable_number",
         OUT_OF_RANGE: "out_of_range"}
NUMBER_PATTERN = "-?[0-9]+(\\.[0-9]+)?"
# Slots are packed into 62-bit halves of HUGEINT words (bits 0-61 and 64-125): the aggregate over the rows is
# bit_or of few wide words, and the respondent's halves are then cut once into BIGINTs, in which every slot is read
# with native arithmetic (signed, so that s & (s - 1) never underflows; HUGEINT arithmetic is much slower). A
# question's distinct answers, DK and RF must fit in a half; a number question whose file has more distinct
# numbers gets one "answered" bit and keeps its numbers in a min and a max per respondent instead.
SLOT_BITS = 62


class CodebookError(Exception):
    pass


def load(path: str) -> dict:
    """The questionnaire: questions in the order asked with their codes and values, and the tree."""
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    rule = raw.get("dimension_rule", "any")
    if rule != "any":
        raise CodebookError(f"dimension_rule = {rule!r}: only papi-2025's behaviour (\"any\") is implemented here")
    scales = {name: len(s.get("vi", [])) for name, s in raw.get("scales", {}).items()}
    dims = [d["code"] for d in raw["dimensions"]]
    subs = [(s["code"], s["dimension"]) for s in raw["subdimensions"]]
    inds = [(i["code"], i["subdimension"]) for i in raw["indicators"]]
    dim_ix = {c: k for k, c in enumerate(dims)}
    sub_ix = {c: k for k, (c, _) in enumerate(subs)}
    ind_ix = {c: k for k, (c, _) in enumerate(inds)}
    q_ix = {q["code"]: k for k, q in enumerate(raw["questions"])}

    questions = []
    for k, q in enumerate(raw["questions"]):
        kind = q["type"]
        profile = bool(q.get("profile", False))
        indicator = q.get("indicator")
        scored = indicator is not None and kind != "text" and not profile
        codes: list[str] = []
        values: list[float | None] = []
        points: list[float | None] = []  # what a range condition reads in a code: a Likert point
        if kind == "yes_no":
            yes_good = q.get("good") == "yes"
            for code in ("1", "0"):
                codes.append(code)
                values.append(1.0 if (code == "1") == yes_good else 0.0)
                points.append(None)
        elif kind == "likert":
            n = scales[q["scale"]]
            high = q.get("direction") == "high_is_good"
            for p in range(1, n + 1):
                codes.append(str(p))
                values.append(((p - 1) if high else (n - p)) / (n - 1))
                points.append(float(p))
        elif kind == "single":
            for c in q["choices"]:
                codes.append(c["code"])
                v = float(c["value"]) if "value" in c else None
                # ValueRule::value keeps only values in [0, 1].
                values.append(v if v is not None and 0.0 <= v <= 1.0 else None)
                points.append(None)
        elif kind not in ("number", "text"):
            raise CodebookError(f"question {q['code']}: unknown type {kind!r}")
        conditions = []
        for c in q.get("when", []):
            earlier = q_ix.get(c["question"])
            if earlier is None or earlier >= k:
                raise CodebookError(f"question {q['code']}: condition on a later or unknown question")
            conditions.append((earlier, c))
        questions.append({
            "qid": k, "code": q["code"], "kind": kind, "profile": profile, "codes": codes,
            "values": values if scored else [None] * len(codes), "points": points,
            "ind": ind_ix[indicator] if scored else None,
            "lo": float(q["min"]) if kind == "number" else None, "hi": float(q["max"]) if kind == "number" else None,
            "good": float(q["good"]) if scored and kind == "number" else None,
            "bad": float(q["bad"]) if scored and kind == "number" else None,
            "when": conditions,
            # Set by layout(): "codes" (a bit per code or distinct number) or "any" (one bit for any text or number),
            # and where the slot lies.
            "tokens": None, "half": None, "off": None, "word": None, "bit": None, "width": None,
        })
    return {
        "questions": questions,
        "dims": dims,
        "subs": [(c, sub_ix[c], dim_ix[d]) for c, d in subs],
        "inds": [(c, ind_ix[c], sub_ix[s]) for c, s in inds],
    }


def number_value(x: float, good: float, bad: float) -> float | None:
    """A number's value, as ykien's number_value computes it in f64 (Python floats are f64: the same bits)."""
    if good == bad:
        return None
    return min(max((x - bad) / (good - bad), 0.0), 1.0)


def layout(cb: dict, numbers: dict[int, list[float]], max_numbers: int = SLOT_BITS - 2) -> None:
    """Gives every question its slot: a bit per answer token, then DK and RF, packed into 62-bit halves of words.

    Tokens are the question's codes; for a text question, "answered" (every text is the same answer); for a number
    question, each distinct valid number of the file (`numbers`, sorted: 12 and 12.0 are one), or "answered" when
    there are too many to give each a bit."""
    half, bit = 0, 0
    for q in cb["questions"]:
        if q["kind"] == "text":
            q["tokens"] = "any"
            width = 3
        elif q["kind"] == "number":
            xs = numbers.get(q["qid"], [])
            if len(xs) <= min(max_numbers, SLOT_BITS - 2):
                q["tokens"] = "codes"
                q["codes"] = xs
                q["points"] = list(xs)
                q["values"] = [number_value(x, q["good"], q["bad"]) if q["ind"] is not None else None for x in xs]
                width = len(xs) + 2
            else:
                q["tokens"] = "any"
                width = 3
        else:
            q["tokens"] = "codes"
            width = len(q["codes"]) + 2
        if width > SLOT_BITS:
            raise CodebookError(f"question {q['code']}: more than {SLOT_BITS - 2} codes")
        if bit + width > SLOT_BITS:
            half, bit = half + 1, 0
        q["half"], q["off"], q["width"] = half, bit, width
        q["word"], q["bit"] = half // 2, (half % 2) * 64 + bit
        bit += width
    cb["halves"] = half + 1
    cb["words"] = (half + 2) // 2


def register(con: duckdb.DuckDBPyConnection, cb: dict) -> None:
    """The questionnaire as tables (before the answers are read): questions, codes and the tree."""
    con.execute("CREATE TEMP TABLE cb_q (question VARCHAR, qid SMALLINT, is_number BOOLEAN, is_text BOOLEAN,"
                " lo DOUBLE, hi DOUBLE)")
    con.executemany("INSERT INTO cb_q VALUES (?, ?, ?, ?, ?, ?)",
                    [(q["code"], q["qid"], q["kind"] == "number", q["kind"] == "text", q["lo"], q["hi"])
                     for q in cb["questions"]])
    # Every code a row may match, with its place among the question's tokens (DK and RF after the codes; a text or
    # number question's own codes are only DK and RF, placed by layout()). DK and RF are codes of every question;
    # on a profile question, which does not offer them, step 2 refuses them.
    code_rows = []
    for q in cb["questions"]:
        for i, code in enumerate(q["codes"]):
            code_rows.append((q["code"], code, OK, i))
        for i, code in enumerate(("DK", "RF")):
            code_rows.append((q["code"], code, UNKNOWN_CODE if q["profile"] else OK, -2 + i))
    con.execute("CREATE TEMP TABLE cb_code (question VARCHAR, answer VARCHAR, status UTINYINT, pos SMALLINT)")
    con.executemany("INSERT INTO cb_code VALUES (?, ?, ?, ?)", code_rows)
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
        scan = f"read_parquet('{quoted}')"
    else:
        # RFC 4180 as ykien writes it, stated rather than sniffed: the sniffer looks at the first rows only and
        # would miss a quoted answer ("12,5") further down.
        scan = f"read_csv('{quoted}', header = true, all_varchar = true, delim = ',', quote = '\"', escape = '\"')"
    return (f"(SELECT CAST(response_id AS VARCHAR) AS response_id, CAST(wave AS VARCHAR) AS wave,"
            f" CAST(unit_code AS VARCHAR) AS unit_code, CAST(question AS VARCHAR) AS question,"
            f" CAST(answer AS VARCHAR) AS answer FROM {scan})")


# Read 1, of three dictionary-encoded columns only: the distinct (wave, question, answer) of the file with their
# rows. Steps 1-2 judge a row by its question and answer alone, so they are decided here once per distinct pair,
# and their ignored rows counted per wave without looking at a single row again.
PAIRS_SQL = """
CREATE TEMP TABLE dict AS
SELECT wave, question, answer, count(*) AS rows FROM {src} WHERE answer <> '' GROUP BY ALL;

CREATE TEMP TABLE pair_status AS
SELECT question, answer, qid, x,
       CASE WHEN code_status IS NOT NULL THEN code_status
            WHEN qid IS NULL THEN {unknown_question}
            WHEN is_text THEN {ok}
            WHEN NOT is_number THEN {unknown_code}
            WHEN x IS NULL OR NOT isfinite(x) THEN {unreadable}
            WHEN x < lo OR x > hi THEN {out_of_range}
            ELSE {ok} END AS status,
       code_pos
FROM (SELECT d.question, d.answer, q.qid, q.is_text, q.is_number, q.lo, q.hi, c.status AS code_status,
             c.pos AS code_pos,
             CASE WHEN q.is_number AND c.status IS NULL AND regexp_full_match(d.answer, '{pattern}')
                  THEN TRY_CAST(d.answer AS DOUBLE) END AS x
      FROM (SELECT DISTINCT question, answer FROM dict) d
      LEFT JOIN cb_q q ON q.question = d.question
      LEFT JOIN cb_code c ON c.question = d.question AND c.answer = d.answer);
"""

NUMBERS_SQL = f"""
SELECT qid, list(DISTINCT x ORDER BY x) FROM pair_status WHERE status = {OK} AND x IS NOT NULL GROUP BY qid
"""


def pairs_table(con: duckdb.DuckDBPyConnection, cb: dict) -> None:
    """Every valid (question, answer) of the file with its token's bit: `m<w>` is the bit in word w (NULL in the
    others), `pos` the token's place in the question's slot. Refused pairs have no bit."""
    con.execute("CREATE TEMP TABLE cb_slot (qid SMALLINT, word INTEGER, bit INTEGER, any_token BOOLEAN, ncodes INTEGER)")
    con.executemany("INSERT INTO cb_slot VALUES (?, ?, ?, ?, ?)",
                    [(q["qid"], q["word"], q["bit"], q["tokens"] == "any", q["width"] - 2) for q in cb["questions"]])
    con.execute("CREATE TEMP TABLE cb_num (qid SMALLINT, x DOUBLE, pos SMALLINT)")
    numbers = [(q["qid"], x, i) for q in cb["questions"] if q["kind"] == "number" and q["tokens"] == "codes"
               for i, x in enumerate(q["codes"])]
    if numbers:
        con.executemany("INSERT INTO cb_num VALUES (?, ?, ?)", numbers)
    masks = ", ".join(f"CASE WHEN word = {w} THEN 1::HUGEINT << (bit + pos) END AS m{w}"
                      for w in range(cb["words"]))
    con.execute(f"""
CREATE TEMP TABLE pairs AS
SELECT question, answer, hash(question, answer) AS pair, qid, status, x, pos,
       CASE WHEN pos IS NOT NULL THEN 1 END::UTINYINT AS ok, {masks}
FROM (SELECT p.question, p.answer, p.qid, p.status, p.x, s.word, s.bit,
             CASE WHEN p.status <> {OK} THEN NULL
                  WHEN p.code_pos < 0 THEN s.ncodes + 2 + p.code_pos  -- DK, RF after the tokens
                  WHEN p.code_pos IS NOT NULL THEN p.code_pos
                  WHEN s.any_token THEN 0
                  ELSE n.pos END AS pos
      FROM pair_status p LEFT JOIN cb_slot s USING (qid) LEFT JOIN cb_num n ON n.qid = p.qid AND n.x = p.x)
""")


def responses_sql(src: str, cb: dict, hashed: bool) -> str:
    """Read 2: one row per response. Its wave and unit (the hash of the two must be the same on every row: a
    cheap check, the strings themselves are taken once), its valid rows, its words of bits cut into BIGINT halves,
    how many questions it answered, and the min and max of the numbers of any number question without bits of its
    own."""
    words = cb["words"]
    aggs = [f"coalesce(bit_or(m{w}), 0::HUGEINT) AS w{w}" for w in range(words)]
    for q in cb["questions"]:
        if q["kind"] == "number" and q["tokens"] == "any":
            x = f"CASE WHEN qid = {q['qid']} AND status = {OK} THEN x END"
            aggs += [f"min({x}) AS lo_{q['qid']}", f"max({x}) AS hi_{q['qid']}"]
    numbers = [f"lo_{q['qid']}, hi_{q['qid']}" for q in cb["questions"] if q["kind"] == "number" and q["tokens"] == "any"]
    answered = " + ".join(f"({slot_of_half(q)} <> 0)::INTEGER" for q in cb["questions"])
    # The join on the 64-bit hash of (question, answer) rather than on the two strings, when no two distinct pairs
    # of the file share one (checked in run()): every row with an answer is one of those pairs.
    key = "p.pair = hash(a.question, a.answer)" if hashed else "p.question = a.question AND p.answer = a.answer"
    return f"""
CREATE TEMP TABLE resp AS
SELECT *, ({answered}) AS answered
FROM (
    SELECT response_id, wave, unit_code, mixed, valid, {', '.join([half_expr(h) for h in range(cb['halves'])] + numbers)}
    FROM (
        SELECT a.response_id, first(a.wave) AS wave, first(a.unit_code) AS unit_code,
               min(hash(a.wave, a.unit_code)) <> max(hash(a.wave, a.unit_code)) AS mixed,
               count(p.ok) AS valid,
               {', '.join(aggs)}
        FROM {src} a JOIN pairs p ON {key}
        WHERE a.answer <> ''
        GROUP BY a.response_id));
"""


def half_expr(h: int) -> str:
    """Half h of the respondent's words as a BIGINT."""
    return f"((w{h // 2} >> {(h % 2) * 64}) & {(1 << SLOT_BITS) - 1})::BIGINT AS b{h}"


def slot_of_half(q: dict) -> str:
    """The respondent's slot of question q: which of its answers its valid rows gave, one bit each."""
    return f"((b{q['half']} >> {q['off']}) & {(1 << q['width']) - 1})"


def slot(q: dict) -> str:
    """The column holding q's slot (computed once, see units_sql)."""
    return f"s_{q['qid']}"


CHECK_RESPONSES_SQL = """
SELECT count(*) FILTER (WHERE response_id IS NULL OR wave IS NULL OR unit_code IS NULL), count(*) FILTER (WHERE mixed)
FROM resp
"""

GROUPS_SQL = """
CREATE TEMP TABLE groups AS
SELECT row_number() OVER (ORDER BY wave, unit_code)::INTEGER AS gid, wave, unit_code
FROM (SELECT DISTINCT wave, unit_code FROM resp);
"""


def lit(v: float) -> str:
    """A DOUBLE literal with exactly v's bits: with an exponent DuckDB reads it as a double (correctly rounded);
    without, as a DECIMAL, whose conversion may be an ulp off for 17 digits."""
    text = repr(float(v))
    if "inf" in text or "nan" in text:
        return f"'{text}'::DOUBLE"
    return text if "e" in text else text + "e0"


def one_bit(s: str) -> str:
    """Whether slot s holds exactly one bit: one answer, maybe repeated. (Arithmetic rather than an IN list of the
    powers of two, which DuckDB would plan as a join.)"""
    return f"({s} <> 0 AND ({s} & ({s} - 1)) = 0)"


def kept(q: dict) -> str:
    """Whether q has an answer that counts: its slot holds one bit (numbers kept as min and max: they agree)."""
    single = one_bit(slot(q))
    if q["kind"] == "number" and q["tokens"] == "any":
        return f"({single} AND ({slot(q)} <> 1 OR lo_{q['qid']} = hi_{q['qid']}))"
    return f"({single})"


def condition(cb: dict, earlier: int, c: dict) -> str:
    """One skip-logic condition on question `earlier`, as a boolean over its slot (and numbers)."""
    src = cb["questions"][earlier]
    chain = f" AND e_{earlier}" if src["when"] else ""
    if "any_of" in c:
        # A number is no code: any_of never holds on a number question.
        bits = [] if src["kind"] == "number" else [i for i, code in enumerate(src["codes"]) if code in c["any_of"]]
    elif src["tokens"] == "any":
        # Numbers kept as min and max (a text question is in no range).
        if src["kind"] != "number":
            return "false"
        test = [f"{slot(src)} = 1", f"lo_{earlier} = hi_{earlier}"]
        if "at_least" in c:
            test.append(f"lo_{earlier} >= {lit(float(c['at_least']))}")
        if "at_most" in c:
            test.append(f"lo_{earlier} <= {lit(float(c['at_most']))}")
        return f"({' AND '.join(test)}{chain})"
    else:
        # A Likert point or a number is its number; any other code is in no range.
        lo, hi = float(c.get("at_least", float("-inf"))), float(c.get("at_most", float("inf")))
        bits = [i for i, p in enumerate(src["points"]) if p is not None and lo <= p <= hi]
    if not bits:
        return "false"
    return f"({one_bit(slot(src))} AND ({slot(src)} & {sum(1 << b for b in bits)}) <> 0{chain})"


def value(q: dict, s: str) -> str | None:
    """The value of q's answer that counts, read from s (q's slot, emptied when q is not eligible)."""
    if q["ind"] is None:
        return None
    if q["tokens"] == "any":
        if q["kind"] != "number" or q["good"] == q["bad"]:
            return None
        good, bad = q["good"], q["bad"]
        raw = f"(lo_{q['qid']} - {lit(bad)}) / ({lit(good)} - {lit(bad)})"
        return f"CASE WHEN {s} = 1 AND lo_{q['qid']} = hi_{q['qid']} THEN least(greatest({raw}, 0.0), 1.0) END"
    cases = " ".join(f"WHEN {1 << i} THEN {lit(v)}" for i, v in enumerate(q["values"]) if v is not None)
    # Only a single bit is an answer that counts: DK, RF, a conflict or no answer match no WHEN and give NULL.
    return f"CASE {s} {cases} END" if cases else None


def eligibility_layers(cb: dict) -> str:
    """One row per respondent with its unit, every question's slot `s_<q>` and, in the order asked, whether each
    conditional question was asked, `e_<q>`. Layer by layer, each column computed once: DuckDB would copy an
    expression into every column that names it."""
    questions = cb["questions"]
    numbers = [f"lo_{q['qid']}, hi_{q['qid']}" for q in questions if q["kind"] == "number" and q["tokens"] == "any"]
    layer = (f"SELECT g.gid, g.wave, {', '.join([f'{slot_of_half(q)} AS {slot(q)}' for q in questions] + numbers)}"
             f" FROM resp r JOIN groups g USING (wave, unit_code)")
    # The skip logic in chains: a question's eligibility is computed in the layer after its sources'.
    depth: dict[int, int] = {}
    for q in questions:
        if q["when"]:
            depth[q["qid"]] = 1 + max(depth.get(e, 0) for e, _ in q["when"])
    for d in range(1, max(depth.values(), default=0) + 1):
        cols = [f"({' AND '.join(condition(cb, e, c) for e, c in q['when'])}) AS e_{q['qid']}"
                for q in questions if depth.get(q["qid"]) == d]
        layer = f"SELECT *, {', '.join(cols)} FROM ({layer})"
    return layer


def units_sql(cb: dict) -> str:
    """Per unit, in one pass over the respondents: every indicator's sum and count, the respondent counts of every
    sub-dimension, dimension and the total, and whether any respondent answered a question it was not asked."""
    questions = cb["questions"]
    conditional = [q for q in questions if q["when"]]
    layer = eligibility_layers(cb)
    # A question not asked keeps its slot empty from here on (a product: cheaper than a CASE per question).
    cols = ["gid"] + [f"lo_{q['qid']}, hi_{q['qid']}" for q in questions if q["kind"] == "number" and q["tokens"] == "any"]
    for q in questions:
        if q["when"]:
            cols.append(f"{slot(q)} * e_{q['qid']}::BIGINT AS a_{q['qid']}")
        elif q["ind"] is not None:
            cols.append(f"{slot(q)} AS a_{q['qid']}")
    # Whether some slot lost bits: an answer to a question not asked (maybe a conflict, counted as such). Counting
    # those per question (not_eligible_sql) costs as much as this whole pass, so it is done only when some are.
    asked = " | ".join(f"({slot(q)} - e_{q['qid']}::BIGINT * {slot(q)})" for q in conditional)
    cols.append(f"({asked}) <> 0 AS unasked" if conditional else "false AS unasked")
    layer = f"SELECT {', '.join(cols)} FROM ({layer})"
    cols = []
    by_ind: dict[int, list[str]] = {}
    for q in questions:
        v = value(q, f"a_{q['qid']}")
        if v is not None:
            cols.append(f"{v} AS v_{q['qid']}")
            by_ind.setdefault(q["ind"], []).append(f"v_{q['qid']}")
    layer = f"SELECT gid, unasked, {', '.join(cols)} FROM ({layer})"
    cols = ["unasked"]
    for ind, vs in sorted(by_ind.items()):
        if len(vs) == 1:
            cols.append(f"{vs[0]} AS i_{ind}")
        else:
            # The mean of the values the respondent has, clamped as ykien clamps a mean of values in [0, 1].
            total = " + ".join(f"coalesce({v}, 0.0)" for v in vs)
            count = " + ".join(f"({v} IS NOT NULL)::INTEGER" for v in vs)
            # (DuckDB's least/greatest skip NULLs, hence the CASE for a respondent with none of the values.)
            cols.append(f"CASE WHEN {count} > 0 THEN least(greatest(({total}) / ({count}), 0.0), 1.0) END AS i_{ind}")
    layer = f"SELECT gid, {', '.join(cols)} FROM ({layer})"
    aggs = []
    for ind in sorted(by_ind):
        aggs += [f"sum(i_{ind}) AS s_{ind}", f"count(i_{ind}) AS n_{ind}"]

    # Whether the respondent has a value in a sub-dimension, a dimension, any indicator: a coalesce of the level
    # below (NULL: none), so that count() of it is the level's n.
    sub_inds: dict[int, list[str]] = {}
    for _, i, s in cb["inds"]:
        if i in by_ind:
            sub_inds.setdefault(s, []).append(f"i_{i}")
    dim_subs: dict[int, list[str]] = {}
    for _, s, d in cb["subs"]:
        if s in sub_inds:
            dim_subs.setdefault(d, []).append(f"h_{s}")
    reach = [f"coalesce({', '.join(xs)}) AS h_{s}" for s, xs in sorted(sub_inds.items())]
    layer = f"SELECT *, {', '.join(reach)} FROM ({layer})" if reach else layer
    reach = [f"coalesce({', '.join(xs)}) AS hd_{d}" for d, xs in sorted(dim_subs.items())]
    layer = f"SELECT *, {', '.join(reach)} FROM ({layer})" if reach else layer
    aggs += [f"count(h_{s}) AS ns_{s}" if s in sub_inds else f"0 AS ns_{s}" for _, s, _ in cb["subs"]]
    aggs += [f"count(hd_{d}) AS nd_{d}" if d in dim_subs else f"0 AS nd_{d}" for d in range(len(cb["dims"]))]
    aggs.append(f"count(coalesce({', '.join(f'hd_{d}' for d in sorted(dim_subs))}))" if dim_subs else "0")
    aggs[-1] += " AS nt"
    aggs.append("bool_or(unasked) AS unasked")
    return f"""
CREATE TEMP TABLE unit_wide AS
SELECT gid, {', '.join(aggs)}
FROM ({layer})
GROUP BY gid;
"""


def long_sql(cb: dict) -> str:
    """The one-row-per-unit table as long tables: indicator scores and respondent counts per level."""
    inds = sorted({q["ind"] for q in cb["questions"] if value(q, "s") is not None})

    def unnest(name: str, items: list[str], cast: str) -> str:
        return f"unnest([{', '.join(items)}]::{cast}[]) AS {name}"

    # ykien also clamps a mean between its smallest and largest term, which only removes rounding noise (the order
    # of the sum already differs by as much); two more aggregates per indicator are not worth it.
    score = [f"least(greatest(s_{i} / n_{i}, 0.0), 1.0)" for i in inds]
    ind = f"""
CREATE TEMP TABLE ind_score AS
SELECT * FROM (SELECT gid, {unnest('ind', [str(i) for i in inds], 'SMALLINT')},
                      {unnest('n', [f'n_{i}' for i in inds], 'BIGINT')},
                      {unnest('score', score, 'DOUBLE')}
               FROM unit_wide) WHERE n > 0;
""" if inds else "CREATE TEMP TABLE ind_score (gid INTEGER, ind SMALLINT, n BIGINT, score DOUBLE);"
    subs = [s for _, s, _ in cb["subs"]]
    dims = list(range(len(cb["dims"])))
    level = f"""
CREATE TEMP TABLE level_n AS
SELECT gid, {unnest('gset', ['1'] * len(subs) + ['2'] * len(dims) + ['3'], 'INTEGER')},
       {unnest('sub', [str(s) for s in subs] + ['NULL'] * (len(dims) + 1), 'SMALLINT')},
       {unnest('dim', ['NULL'] * len(subs) + [str(d) for d in dims] + ['NULL'], 'SMALLINT')},
       {unnest('n', [f'ns_{s}' for s in subs] + [f'nd_{d}' for d in dims] + ['nt'], 'BIGINT')}
FROM unit_wide;
"""
    return ind + level


def not_eligible_sql(cb: dict) -> str:
    """Step 4's ignored rows per wave and question: an answer that counts (its slot holds one bit) to a question
    the respondent was not asked."""
    conditional = [q for q in cb["questions"] if q["when"]]
    if not conditional:
        return "CREATE TEMP TABLE not_eligible (wave VARCHAR, question VARCHAR, rows BIGINT);"
    sums = ", ".join(f"count(CASE WHEN {kept(q)} AND NOT e_{q['qid']} THEN 1 END) AS ne_{q['qid']}" for q in conditional)
    return f"""
CREATE TEMP TABLE not_eligible AS
SELECT x.wave, q.question, x.rows
FROM (SELECT wave, unnest([{', '.join(str(q['qid']) for q in conditional)}]::SMALLINT[]) AS qid,
             unnest([{', '.join(f"ne_{q['qid']}" for q in conditional)}]::BIGINT[]) AS rows
      FROM (SELECT wave, {sums} FROM ({eligibility_layers(cb)}) GROUP BY wave)) x
JOIN cb_q q USING (qid);
"""


SCORES_SQL = """
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


def detail_sql(src: str) -> str:
    """Step 3 row by row, for the respondents some question of which has several valid rows: the only read of
    rows one by one, of their rows only (a semi-join on their ids). Per (response, question) the rows agree
    (duplicates) or not (conflicting), as in ykien's walk: a row's token is its place in the slot (a code, a number,
    "answered"), with the number itself where numbers share one place."""
    return f"""
CREATE TEMP TABLE detail_ignored AS
WITH per_question AS (
    SELECT a.response_id, p.qid, count(*) AS rows,
           min(p.pos) = max(p.pos) AND min(p.x) IS NOT DISTINCT FROM max(p.x) AS same
    FROM {src} a JOIN pairs p ON p.question = a.question AND p.answer = a.answer
    SEMI JOIN detail d ON d.response_id = a.response_id
    WHERE p.status = {OK}
    GROUP BY a.response_id, p.qid
)
SELECT r.wave, q.question, CASE WHEN x.same THEN 'duplicate' ELSE 'conflicting' END AS kind,
       sum(CASE WHEN x.same THEN x.rows - 1 ELSE x.rows END)::BIGINT AS rows
FROM per_question x JOIN resp r USING (response_id) JOIN cb_q q USING (qid)
WHERE x.rows > 1
GROUP BY ALL;
"""


# Steps 1-2 per wave, question and reason, from the distinct pairs of read 1.
REFUSED_SQL = f"""
CREATE TEMP TABLE refused AS
SELECT d.wave, d.question,
       CASE s.status {' '.join(f"WHEN {k} THEN '{v}'" for k, v in KINDS.items())} END AS kind,
       sum(d.rows)::BIGINT AS rows
FROM dict d JOIN pair_status s USING (question, answer)
WHERE s.status <> {OK}
GROUP BY ALL;
"""


def run(args: argparse.Namespace) -> int:
    cb = load(args.questionnaire)
    con = duckdb.connect()
    if args.threads:
        con.execute(f"SET threads = {int(args.threads)}")
    if args.memory_limit:
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    # DuckDB would otherwise pre-aggregate the answers by (response, question, answer) below the join with the
    # pairs (misjudging that as ~100 groups): 90 million groups, minutes and all the memory.
    con.execute("SET disabled_optimizers = 'partial_aggregate_pushdown'")
    register(con, cb)
    src = source(args.answers)
    started = time.monotonic()

    def step(name: str, sql: str) -> None:
        for statement in sql.split(";"):
            if statement.strip():
                con.execute(statement)
        if args.verbose:
            print(f"  {name}: {time.monotonic() - started:.2f} s", file=sys.stderr)

    step("pairs", PAIRS_SQL.format(
        src=src, pattern=NUMBER_PATTERN, ok=OK, unknown_question=UNKNOWN_QUESTION, unknown_code=UNKNOWN_CODE,
        unreadable=UNREADABLE_NUMBER, out_of_range=OUT_OF_RANGE))
    layout(cb, dict(con.execute(NUMBERS_SQL).fetchall()), args.max_number_bits)
    pairs_table(con, cb)
    hashed = con.execute("SELECT count(DISTINCT pair) = count(*) FROM pairs").fetchone()[0]
    step("responses", responses_sql(src, cb, hashed))
    missing, inconsistent = con.execute(CHECK_RESPONSES_SQL).fetchone()
    if missing or inconsistent:
        print(
            f"error: {missing} response(s) without an id, wave or unit, {inconsistent} with several waves or units",
            file=sys.stderr,
        )
        return 2
    step("groups", GROUPS_SQL)
    step("units", units_sql(cb))
    step("long", long_sql(cb))
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
        # Respondents with a question answered by several valid rows: only their rows are counted one by one.
        con.execute("CREATE TEMP TABLE detail AS SELECT response_id FROM resp WHERE valid > answered")
        if con.execute("SELECT count(*) FROM detail").fetchone()[0]:
            step("detail", detail_sql(src))
        else:
            con.execute("CREATE TEMP TABLE detail_ignored (wave VARCHAR, question VARCHAR, kind VARCHAR, rows BIGINT)")
        step("refused", REFUSED_SQL)
        if con.execute("SELECT coalesce(bool_or(unasked), false) FROM unit_wide").fetchone()[0]:
            step("not eligible", not_eligible_sql(cb))
        else:
            con.execute("CREATE TEMP TABLE not_eligible (wave VARCHAR, question VARCHAR, rows BIGINT)")
        ignored_out = args.ignored_out.replace("'", "''")
        con.execute(
            f"""CREATE TEMP TABLE ignored AS
                SELECT wave, question, kind, sum(rows)::BIGINT AS rows FROM (
                    SELECT wave, question, 'not_eligible' AS kind, rows FROM not_eligible
                    UNION ALL SELECT * FROM detail_ignored
                    UNION ALL SELECT * FROM refused)
                GROUP BY ALL"""
        )
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
    ap.add_argument("--max-number-bits", type=int, default=SLOT_BITS - 2,
                    help="a number question with more distinct numbers keeps them as min and max (for the tests)")
    try:
        return run(ap.parse_args())
    except CodebookError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
