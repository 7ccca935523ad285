//! Property-style checks of the scoring method's ranges over many generated inputs, with a small deterministic
//! generator so a failure reproduces exactly and no test dependency is needed.

use ykien_analysis::{
    Answer, DIMENSION_MAX, DIMENSION_MIN, TOTAL_MAX, TOTAL_MIN, ValueRule, cut_points, dimension_score, quartile,
    subdimension_score, total_score, weighted_mean,
};

/// Knuth's MMIX linear congruential generator; the high bits are the usable ones.
struct Lcg(u64);

impl Lcg {
    fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }

    /// Uniform in [0, 1].
    fn unit(&mut self) -> f64 {
        f64::from(self.next_u32()) / f64::from(u32::MAX)
    }

    fn below(&mut self, n: u32) -> u32 {
        self.next_u32() % n
    }

    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }

    fn rule(&mut self) -> ValueRule {
        match self.below(4) {
            0 => ValueRule::YesNo {
                yes_is_good: self.below(2) == 0,
            },
            1 => ValueRule::Likert {
                points: 2 + self.below(9) as u8,
                high_is_good: self.below(2) == 0,
            },
            2 => {
                let good = self.between(-100.0, 100.0).round();
                let mut bad = self.between(-100.0, 100.0).round();
                if bad == good {
                    bad += 1.0;
                }
                ValueRule::Number { good, bad }
            }
            _ => ValueRule::Choice {
                values: (0..1 + self.below(6)).map(|i| (i.to_string(), self.unit())).collect(),
            },
        }
    }

    /// Mostly answers of the kind the rule reads, in and out of range, plus missing and mismatched ones.
    fn answer_for(&mut self, rule: &ValueRule) -> Answer {
        match self.below(10) {
            0 => return Answer::DontKnow,
            1 => return Answer::Refused,
            2 => return Answer::NotEligible,
            3 => return Answer::Text("ý kiến".into()),
            4 => return Answer::Code(self.below(12).to_string()),
            5 => return Answer::Number(self.between(-500.0, 500.0)),
            _ => {}
        }
        match rule {
            ValueRule::YesNo { .. } => Answer::Code(self.below(2).to_string()),
            // 0 ..= points + 1: mostly in range, sometimes one step outside either end.
            ValueRule::Likert { points, .. } => Answer::Code(self.below(u32::from(*points) + 2).to_string()),
            ValueRule::Number { good, bad } => {
                let span = (good - bad).abs();
                Answer::Number(self.between(good.min(*bad) - span, good.max(*bad) + span))
            }
            ValueRule::Choice { values } => Answer::Code(self.below(values.len() as u32 + 1).to_string()),
        }
    }
}

#[test]
fn every_value_is_within_zero_and_one_and_every_dimension_score_within_one_and_ten() {
    let mut rng = Lcg(0x0079_6b69_656e); // "ykien" in ASCII
    let mut values_seen = 0;
    for _ in 0..20_000 {
        let rule = rng.rule();
        rule.validate().expect("generated rules are valid");
        let answer = rng.answer_for(&rule);
        if let Some(value) = rule.value(&answer) {
            values_seen += 1;
            assert!((0.0..=1.0).contains(&value), "{rule:?} on {answer:?} gave {value}");
        }
    }
    // Guard against a generator that only ever produces missing answers.
    assert!(values_seen > 6_000, "only {values_seen} answers had a value");

    for _ in 0..2_000 {
        let pairs: Vec<(f64, f64)> = (0..rng.below(40))
            .map(|_| (rng.unit(), rng.between(0.0, 3.0)))
            .collect();
        if let Some(mean) = weighted_mean(&pairs).expect("valid pairs") {
            assert!((0.0..=1.0).contains(&mean), "{pairs:?} gave {mean}");
        }

        let indicators: Vec<f64> = (0..1 + rng.below(6)).map(|_| rng.unit()).collect();
        let sub = subdimension_score(&indicators)
            .expect("valid indicator scores")
            .expect("a sub-dimension score");
        assert!((0.0..=1.0).contains(&sub), "{indicators:?} gave {sub}");

        let mut dimensions = [0.0; 8];
        for dimension in &mut dimensions {
            let subs: Vec<f64> = (0..1 + rng.below(5)).map(|_| rng.unit()).collect();
            *dimension = dimension_score(&subs)
                .expect("valid sub-dimension scores")
                .expect("a dimension score");
            assert!(
                (DIMENSION_MIN..=DIMENSION_MAX).contains(dimension),
                "{subs:?} gave {dimension}"
            );
        }
        let total = total_score(&dimensions).expect("valid dimension scores");
        assert!((TOTAL_MIN..=TOTAL_MAX).contains(&total), "{dimensions:?} gave {total}");
    }
}

#[test]
fn cut_points_are_ordered_within_the_data_and_split_it_into_quarters() {
    let mut rng = Lcg(2025);
    for _ in 0..500 {
        let scores: Vec<f64> = (0..1 + rng.below(120))
            .map(|_| rng.between(TOTAL_MIN, TOTAL_MAX))
            .collect();
        let [lower, median, upper] = cut_points(&scores).expect("cut points");
        let min = scores.iter().copied().fold(f64::INFINITY, f64::min);
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert!(min <= lower && lower <= median && median <= upper && upper <= max);

        // At least a quarter of units reach the top group, and the best unit always does.
        let cuts = [lower, median, upper];
        let best = scores
            .iter()
            .filter(|&&s| quartile(s, &cuts) == ykien_analysis::Quartile::Cao)
            .count();
        assert!(best * 4 >= scores.len(), "{best} of {}", scores.len());
        assert_eq!(quartile(max, &cuts), ykien_analysis::Quartile::Cao);
    }
}
