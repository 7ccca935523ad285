//! Vietnamese administrative units as the domain sees them: levels, kinds, GSO codes, validity in time and
//! lineage across reforms. No storage or HTTP types here; `storage` persists these, `services` decide with them.
//!
//! A GSO code is not unique over time: after the July 2025 reform, code 11953 names Phường Phố Hiến, while
//! before it named Phường Hiến Nam. A unit is therefore a code *and* a validity period.

use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

/// The first day of the two-level structure (Resolution 202/2025/QH15: provinces merged, districts abolished).
pub const REFORM_2025: NaiveDate = match NaiveDate::from_ymd_opt(2025, 7, 1) {
    Some(d) => d,
    None => panic!("2025-07-01 is a date"),
};

/// Where a unit sits in the hierarchy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitLevel {
    Province,
    District,
    Commune,
}

impl UnitLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Province => "province",
            Self::District => "district",
            Self::Commune => "commune",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Province, Self::District, Self::Commune]
            .into_iter()
            .find(|l| l.as_str() == s)
    }

    /// Digits of a GSO code at this level: 01 (Hà Nội), 323 (Thành phố Hưng Yên), 11953.
    pub fn code_width(self) -> usize {
        match self {
            Self::Province => 2,
            Self::District => 3,
            Self::Commune => 5,
        }
    }
}

/// The legal kind of a unit, named as Vietnamese law names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub enum UnitKind {
    #[serde(rename = "tỉnh")]
    Tinh,
    /// A centrally governed city at province level, or a provincial city at district level.
    #[serde(rename = "thành phố")]
    ThanhPho,
    #[serde(rename = "huyện")]
    Huyen,
    #[serde(rename = "quận")]
    Quan,
    #[serde(rename = "thị xã")]
    ThiXa,
    #[serde(rename = "xã")]
    Xa,
    #[serde(rename = "phường")]
    Phuong,
    #[serde(rename = "thị trấn")]
    ThiTran,
    /// Special administrative zone (since 2025, e.g. Đặc khu Phú Quốc).
    #[serde(rename = "đặc khu")]
    DacKhu,
}

const ALL_KINDS: [UnitKind; 9] = [
    UnitKind::Tinh,
    UnitKind::ThanhPho,
    UnitKind::Huyen,
    UnitKind::Quan,
    UnitKind::ThiXa,
    UnitKind::Xa,
    UnitKind::Phuong,
    UnitKind::ThiTran,
    UnitKind::DacKhu,
];

impl UnitKind {
    /// The Vietnamese word in lower case, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tinh => "tỉnh",
            Self::ThanhPho => "thành phố",
            Self::Huyen => "huyện",
            Self::Quan => "quận",
            Self::ThiXa => "thị xã",
            Self::Xa => "xã",
            Self::Phuong => "phường",
            Self::ThiTran => "thị trấn",
            Self::DacKhu => "đặc khu",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Self::Tinh => "province",
            Self::ThanhPho => "city",
            Self::Huyen => "rural district",
            Self::Quan => "urban district",
            Self::ThiXa => "town",
            Self::Xa => "commune",
            Self::Phuong => "ward",
            Self::ThiTran => "township",
            Self::DacKhu => "special zone",
        }
    }

    /// The Vietnamese word with a capital letter, as at the start of a unit's name ("Thị trấn Ân Thi").
    pub fn label_vi(self) -> String {
        capitalize_first(self.as_str())
    }

    /// Reads the kind from its word in any case ("Phường", "phường", "Thị trấn").
    pub fn parse(word: &str) -> Option<Self> {
        let word = word.trim().to_lowercase();
        ALL_KINDS.into_iter().find(|k| k.as_str() == word)
    }

    /// Reads the kind from the start of a unit's name ("Huyện Ân Thi" → huyện).
    pub fn from_name_prefix(name: &str) -> Option<Self> {
        let lower = name.trim().to_lowercase();
        // Longest first, so that "thị trấn" is not taken for something shorter.
        let mut kinds = ALL_KINDS;
        kinds.sort_by_key(|k| std::cmp::Reverse(k.as_str().len()));
        kinds
            .into_iter()
            .find(|k| lower.strip_prefix(k.as_str()).is_some_and(|rest| rest.starts_with(' ')))
    }

    /// Whether a unit of this kind can sit at `level`.
    pub fn fits(self, level: UnitLevel) -> bool {
        match level {
            UnitLevel::Province => matches!(self, Self::Tinh | Self::ThanhPho),
            UnitLevel::District => matches!(self, Self::ThanhPho | Self::Huyen | Self::Quan | Self::ThiXa),
            UnitLevel::Commune => {
                matches!(self, Self::Xa | Self::Phuong | Self::ThiTran | Self::DacKhu)
            }
        }
    }
}

fn capitalize_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A GSO code normalized to its official width: "1" at province level becomes "01", "70" at commune level "00070".
pub fn normalize_code(raw: &str, level: UnitLevel) -> Result<String, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("the code is empty".to_owned());
    }
    if !raw.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!("the code '{raw}' is not a GSO code (digits only)"));
    }
    let width = level.code_width();
    let digits = raw.trim_start_matches('0');
    if digits.len() > width {
        return Err(format!(
            "the code '{raw}' has more than {width} digits, too many for a {}",
            level.as_str()
        ));
    }
    Ok(format!("{digits:0>width$}"))
}

/// A unit to insert or update, as read from an import file.
#[derive(Clone, Debug, PartialEq)]
pub struct NewUnit {
    pub code: String,
    pub name: String,
    pub level: UnitLevel,
    pub kind: UnitKind,
    /// The parent's code; resolved to the parent valid on `valid_from` (or on `valid_to` for legacy units).
    pub parent_code: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub area_km2: Option<f64>,
}

impl NewUnit {
    /// A day on which this unit existed: where its parent and lineage are looked up.
    pub fn reference_day(&self) -> NaiveDate {
        self.valid_from.or(self.valid_to).unwrap_or(REFORM_2025)
    }
}

/// One stored unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Unit {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub level: UnitLevel,
    pub kind: UnitKind,
    pub parent_id: Option<Uuid>,
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub area_km2: Option<f64>,
}

impl Unit {
    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from.is_none_or(|f| f <= day) && self.valid_to.is_none_or(|t| day <= t)
    }

    /// The name without its kind word ("Phường Phố Hiến" → "Phố Hiến"), for compact lists.
    pub fn short_name(&self) -> &str {
        let prefix_len = self.kind.as_str().chars().count();
        let mut it = self.name.char_indices();
        match it.nth(prefix_len) {
            Some((i, ' ')) if self.name[..i].to_lowercase() == self.kind.as_str() => &self.name[i + 1..],
            _ => &self.name,
        }
    }
}

/// One link of lineage: `predecessor` became (all or part of) `successor` on `effective`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewLineage {
    pub predecessor_code: String,
    pub successor_code: String,
    /// The main successor of a split unit; exactly one per predecessor.
    pub is_default: bool,
    pub effective: NaiveDate,
}

/// A unit linked to another by lineage.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkedUnit {
    pub unit: Unit,
    pub is_default: bool,
    pub effective: NaiveDate,
}

/// Picks the version of a code to show: the one valid on `day`, else the most recent one.
pub fn pick_version(mut versions: Vec<Unit>, day: NaiveDate) -> Option<Unit> {
    if let Some(i) = versions.iter().position(|u| u.is_valid_on(day)) {
        return Some(versions.swap_remove(i));
    }
    versions.into_iter().max_by_key(|u| u.valid_from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_padded_to_the_official_width() {
        assert_eq!(normalize_code("1", UnitLevel::Province).unwrap(), "01");
        assert_eq!(normalize_code("70", UnitLevel::Commune).unwrap(), "00070");
        assert_eq!(normalize_code("11953", UnitLevel::Commune).unwrap(), "11953");
        assert!(normalize_code("1195a", UnitLevel::Commune).is_err());
        assert!(normalize_code("123", UnitLevel::Province).is_err());
        assert!(normalize_code(" ", UnitLevel::Commune).is_err());
    }

    #[test]
    fn kinds_are_read_from_words_and_name_prefixes() {
        assert_eq!(UnitKind::parse("Thị trấn"), Some(UnitKind::ThiTran));
        assert_eq!(UnitKind::parse("đặc khu"), Some(UnitKind::DacKhu));
        assert_eq!(UnitKind::from_name_prefix("Thị xã Mỹ Hào"), Some(UnitKind::ThiXa));
        assert_eq!(
            UnitKind::from_name_prefix("Thành phố Hưng Yên"),
            Some(UnitKind::ThanhPho)
        );
        assert_eq!(UnitKind::from_name_prefix("Hưng Yên"), None);
        assert!(UnitKind::ThanhPho.fits(UnitLevel::Province) && UnitKind::ThanhPho.fits(UnitLevel::District));
        assert!(!UnitKind::Xa.fits(UnitLevel::District));
    }

    #[test]
    fn the_version_valid_on_the_day_wins_then_the_latest() {
        let unit = |name: &str, from: Option<NaiveDate>, to: Option<NaiveDate>| Unit {
            id: Uuid::new_v4(),
            code: "11953".into(),
            name: name.into(),
            level: UnitLevel::Commune,
            kind: UnitKind::Phuong,
            parent_id: None,
            valid_from: from,
            valid_to: to,
            lat: None,
            lon: None,
            area_km2: None,
        };
        let before = NaiveDate::from_ymd_opt(2025, 6, 30);
        let versions = vec![
            unit("Phường Hiến Nam", None, before),
            unit("Phường Phố Hiến", Some(REFORM_2025), None),
        ];
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            pick_version(versions.clone(), day(2024, 1, 1)).unwrap().name,
            "Phường Hiến Nam"
        );
        assert_eq!(
            pick_version(versions.clone(), day(2026, 1, 1)).unwrap().name,
            "Phường Phố Hiến"
        );
        assert_eq!(
            pick_version(versions[..1].to_vec(), day(2026, 1, 1)).unwrap().name,
            "Phường Hiến Nam"
        );
        assert_eq!(versions[1].short_name(), "Phố Hiến");
    }
}
