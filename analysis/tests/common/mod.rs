//! Shared helpers of the scoring tests: hand-written codebooks, answer rows, a small deterministic generator.

#![allow(dead_code)]

use ykien_analysis::{
    Accepts, AnswerRow, AskedQuestion, Codebook, Condition, DimensionDef, IndicatorDef, Name, QuestionDef, ScoreInput,
    ScoreOptions, Scores, SubdimensionDef, Unit, ValueRule, answers_frame, score,
};

pub const DIMENSIONS_VI: [&str; 8] = [
    "Tham gia của người dân ở cấp cơ sở",
    "Công khai, minh bạch trong việc ra quyết định ở địa phương",
    "Trách nhiệm giải trình với người dân",
    "Kiểm soát tham nhũng trong khu vực công",
    "Thủ tục hành chính công",
    "Cung ứng dịch vụ công",
    "Quản trị môi trường",
    "Quản trị điện tử",
];

pub fn dimension(number: u8) -> DimensionDef {
    DimensionDef {
        number,
        code: format!("d{number}"),
        name: Name::new(DIMENSIONS_VI[usize::from(number) - 1], format!("Dimension {number}")),
    }
}

pub fn sub(code: &str, dimension: &str) -> SubdimensionDef {
    SubdimensionDef {
        code: code.into(),
        dimension: dimension.into(),
        name: Name::new(format!("Nội dung {code}"), format!("Sub-dimension {code}")),
    }
}

pub fn indicator(code: &str, subdimension: &str) -> IndicatorDef {
    IndicatorDef {
        code: code.into(),
        subdimension: subdimension.into(),
        name: Name::new(format!("Chỉ tiêu {code}"), format!("Indicator {code}")),
    }
}

pub fn question(code: &str, indicator: &str, rule: ValueRule) -> QuestionDef {
    QuestionDef {
        code: code.into(),
        indicator: indicator.into(),
        rule,
    }
}

/// Eight dimensions, each with `subs` sub-dimensions of `per_sub` five-point Likert indicators (high is good),
/// question `q{d}_{s}_{i}` measuring indicator `d{d}.{s}.{i}`.
pub fn likert_codebook(subs: usize, per_sub: usize) -> Codebook {
    let mut codebook = Codebook::default();
    for d in 1..=8u8 {
        codebook.dimensions.push(dimension(d));
        for s in 1..=subs {
            let sub_code = format!("d{d}.{s}");
            codebook.subdimensions.push(sub(&sub_code, &format!("d{d}")));
            for i in 1..=per_sub {
                let code = format!("d{d}.{s}.{i}");
                codebook.indicators.push(indicator(&code, &sub_code));
                codebook.questions.push(question(
                    &format!("q{d}_{s}_{i}"),
                    &code,
                    ValueRule::Likert {
                        points: 5,
                        high_is_good: true,
                    },
                ));
            }
        }
    }
    codebook
}

pub fn unit(code: &str, province: &str) -> Unit {
    Unit {
        code: code.into(),
        name: format!("Xã {code}"),
        province_code: province.into(),
        lat: None,
        lon: None,
    }
}

pub fn row(response: &str, wave: &str, unit: &str, question: &str, answer: &str) -> AnswerRow {
    AnswerRow {
        response_id: response.into(),
        wave: wave.into(),
        unit_code: unit.into(),
        question: question.into(),
        answer: Some(answer.into()),
    }
}

pub fn score_rows(rows: &[AnswerRow], codebook: &Codebook, units: &[Unit], options: &ScoreOptions) -> Scores {
    let lineage = ykien_analysis::Lineage::none();
    score(
        ScoreInput {
            answers: answers_frame(rows).expect("frame"),
            weights: None,
            codebook,
            units,
            lineage: &lineage,
        },
        options,
    )
    .expect("scored")
}

/// Knuth's MMIX linear congruential generator, high bits.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        f64::from(self.next_u32()) / (f64::from(u32::MAX) + 1.0)
    }

    pub fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n
    }
}

pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

pub fn any_of(question: &str, codes: &[&str]) -> Condition {
    Condition::AnyOf {
        question: question.into(),
        codes: codes.iter().map(|c| (*c).to_owned()).collect(),
    }
}

pub fn asked(code: &str, accepts: Accepts, dont_know: bool, when: Vec<Condition>) -> AskedQuestion {
    AskedQuestion {
        code: code.into(),
        accepts,
        dont_know,
        when,
    }
}

pub fn codes(list: &[&str]) -> Accepts {
    Accepts::Codes(list.iter().map(|c| (*c).to_owned()).collect())
}

/// One dimension, one sub-dimension, four indicators:
///
/// - `p_sex` (profile: male/female, no "don't know"), `s0` (screening yes/no), then
/// - `q_a` (i1, yes/no, yes is good) asked when `s0` = 1,
/// - `q_b` (i2, Likert, high is good) asked when `q_a` = 1 — a chain: `q_a` may itself be skipped,
/// - `q_c` (i3, number 0–100, good 0, bad 10) asked when `q_b` ≥ 4 — a range on a Likert point, a chain of three,
/// - `q_d` (i4, yes/no) always asked, and `note` (free text).
pub fn skip_codebook() -> Codebook {
    let mut c = Codebook::default();
    c.dimensions.push(dimension(1));
    c.subdimensions.push(sub("d1.1", "d1"));
    for (i, (q, rule)) in [
        ("q_a", ValueRule::YesNo { yes_is_good: true }),
        (
            "q_b",
            ValueRule::Likert {
                points: 5,
                high_is_good: true,
            },
        ),
        ("q_c", ValueRule::Number { good: 0.0, bad: 10.0 }),
        ("q_d", ValueRule::YesNo { yes_is_good: true }),
    ]
    .into_iter()
    .enumerate()
    {
        let code = format!("d1.1.{}", i + 1);
        c.indicators.push(indicator(&code, "d1.1"));
        c.questions.push(question(q, &code, rule));
    }
    let likert = codes(&["1", "2", "3", "4", "5"]);
    c.asked = vec![
        asked("p_sex", codes(&["male", "female"]), false, vec![]),
        asked("s0", codes(&["1", "0"]), true, vec![]),
        asked("q_a", codes(&["1", "0"]), true, vec![any_of("s0", &["1"])]),
        asked("q_b", likert, true, vec![any_of("q_a", &["1"])]),
        asked(
            "q_c",
            Accepts::Number { min: 0.0, max: 100.0 },
            true,
            vec![Condition::Range {
                question: "q_b".into(),
                at_least: Some(4.0),
                at_most: None,
            }],
        ),
        asked("q_d", codes(&["1", "0"]), true, vec![]),
        asked("note", Accepts::Text, true, vec![]),
    ];
    c.validate().expect("valid");
    c
}
