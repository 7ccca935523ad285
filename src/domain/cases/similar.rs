//! Whether two cases look like the same problem: within [`NEAR_METRES`] of each other (haversine distance, when
//! both have a location), or with similar text — trigram similarity as PostgreSQL's `pg_trgm` counts it, on text
//! folded the way Vietnamese is typed on phones (`domain::folding`: NFD, diacritics and `đ` dropped, lower case,
//! punctuation out), computed here so that both database engines suggest the same duplicates.

use std::collections::HashSet;

use crate::domain::folding::fold;

/// Two locations closer than this are the same place for duplicate suggestions.
pub const NEAR_METRES: f64 = 200.0;

/// Texts at least this similar are suggested as duplicates. Measured on reports of one category: rewordings of
/// the same problem score 0.5 and more ("Rác tồn đọng ở đầu ngõ 3…" against "Đầu ngõ 3 rác thải tồn đọng…":
/// 0.57), different problems of the same kind 0.2–0.3 (against "Rác thải đổ trộm ở đầu ngõ 12…": 0.27).
pub const SIMILAR_TEXT: f64 = 0.4;

/// The mean radius of the Earth (IUGG), in metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// The great-circle distance between two points given in degrees, in metres.
pub fn haversine_metres((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

/// The trigrams of `text` folded, each word padded with two spaces before and one after (as `pg_trgm` does).
pub fn trigrams(text: &str) -> HashSet<[char; 3]> {
    let mut set = HashSet::new();
    for word in fold(text).split(' ').filter(|w| !w.is_empty()) {
        let padded: Vec<char> = "  ".chars().chain(word.chars()).chain(" ".chars()).collect();
        for w in padded.windows(3) {
            set.insert([w[0], w[1], w[2]]);
        }
    }
    set
}

/// The share of trigrams two texts have in common, of all the trigrams of either: 0 (nothing) to 1 (the same).
pub fn text_similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (trigrams(a), trigrams(b));
    let union = a.union(&b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(&b).count() as f64 / union as f64
}

/// Why a case looks like another.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Likeness {
    /// Within [`NEAR_METRES`]: the distance in metres.
    Near(f64),
    /// Similar text: the trigram similarity.
    SimilarText(f64),
}

impl Likeness {
    /// How the console says it.
    pub fn describe(self) -> String {
        match self {
            Self::Near(m) => format!("cách {} m", m.round()),
            Self::SimilarText(s) => format!("nội dung giống {}%", (s * 100.0).round()),
        }
    }
}

/// Whether two cases (their location when they have one, and text) look like the same problem; nearness first.
pub fn likeness(a: (Option<(f64, f64)>, &str), b: (Option<(f64, f64)>, &str)) -> Option<Likeness> {
    if let (Some(pa), Some(pb)) = (a.0, b.0) {
        let metres = haversine_metres(pa, pb);
        if metres <= NEAR_METRES {
            return Some(Likeness::Near(metres));
        }
    }
    let similarity = text_similarity(a.1, b.1);
    (similarity >= SIMILAR_TEXT).then_some(Likeness::SimilarText(similarity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_measures_short_distances_in_hung_yen() {
        // 0.001° of latitude is about 111 m.
        let d = haversine_metres((20.6464, 106.0511), (20.6474, 106.0511));
        assert!((d - 111.2).abs() < 0.5, "{d}");
        assert_eq!(haversine_metres((20.6, 106.0), (20.6, 106.0)), 0.0);
    }

    #[test]
    fn rewordings_with_or_without_diacritics_are_similar_and_other_problems_are_not() {
        let a = "Rác tồn đọng ở đầu ngõ 3 đã một tuần không ai thu gom.";
        assert!(text_similarity(a, "Rac ton dong o dau ngo 3 da mot tuan khong ai thu gom, boc mui.") > 0.8);
        assert!(text_similarity(a, "Đầu ngõ 3 rác thải tồn đọng cả tuần chưa được thu gom.") >= SIMILAR_TEXT);
        assert!(text_similarity(a, "Rác thải đổ trộm ở đầu ngõ 12 phố Bãi Sậy từ ba hôm nay.") < SIMILAR_TEXT);
        assert_eq!(text_similarity("", "…"), 0.0);
    }

    #[test]
    fn nearness_counts_only_when_both_have_a_location() {
        let here = Some((20.6464, 106.0511));
        let near = Some((20.6474, 106.0511));
        let far = Some((20.6564, 106.0511));
        assert!(matches!(
            likeness((here, "đèn hỏng"), (near, "ổ gà")),
            Some(Likeness::Near(_))
        ));
        assert_eq!(likeness((here, "đèn hỏng"), (far, "ổ gà sâu")), None);
        assert_eq!(likeness((None, "đèn hỏng"), (near, "ổ gà sâu")), None);
    }
}
