//! Administrative units: reading the three CSV shapes of `data/admin-units/` into import batches, importing them
//! atomically, and answering "what is this unit, what is under it, what did it come from".
//!
//! Shapes, recognised by their header:
//! - legacy three-level (before 1 July 2025): `province_code,province_name,district_code,district_name,`
//!   `commune_code,commune_name,commune_type[,lat,lon[,area_km2]]`, valid until 30 June 2025 by default;
//! - two-level (from 1 July 2025): `province_code,province_name,commune_code,commune_name,commune_type`
//!   `[,lat,lon[,area_km2]]`, valid from 1 July 2025 by default;
//! - lineage: `legacy_commune_code,commune_code_2025,is_default`, effective 1 July 2025 by default.

use std::collections::HashMap;
use std::fmt;

use chrono::NaiveDate;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

use super::Error;
use crate::domain::units::{
    LinkedUnit, NewLineage, NewUnit, REFORM_2025, Unit, UnitKind, UnitLevel, normalize_code, pick_version,
};
use crate::storage::{Store, StoreError, UnitLink};

/// Overrides of the validity an import file's shape implies.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImportOptions {
    pub valid_from: Option<NaiveDate>,
    pub valid_to: Option<NaiveDate>,
    /// For lineage files: the day the successors took over.
    pub effective: Option<NaiveDate>,
}

/// Why a file was not imported; nothing of it was stored.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file itself is wrong at a line (line 1 is the header).
    #[error("{file}:{line}: {reason}")]
    Row { file: String, line: u64, reason: String },
    #[error("{file}: {reason}")]
    File { file: String, reason: String },
    #[error("{file}: {source}")]
    Store { file: String, source: StoreError },
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub file: String,
    pub shape: Shape,
    /// Rows stored (units or lineage links; a legacy file's districts and provinces count as units).
    pub stored: usize,
    pub created: usize,
    pub updated: usize,
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.shape == Shape::Lineage {
            "lineage links"
        } else {
            "units"
        };
        write!(
            f,
            "{}: {} {what} ({} shape): {} new, {} already present and updated",
            self.file, self.stored, self.shape, self.created, self.updated
        )
    }
}

/// The CSV shapes ykien reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Legacy,
    TwoLevel,
    Lineage,
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Legacy => "legacy three-level",
            Self::TwoLevel => "2025 two-level",
            Self::Lineage => "lineage",
        })
    }
}

/// A parsed file, ready to store, with each entry's line for error reports.
#[derive(Debug)]
pub enum Batch {
    Units {
        shape: Shape,
        units: Vec<NewUnit>,
        lines: Vec<u64>,
    },
    Lineage {
        links: Vec<NewLineage>,
        lines: Vec<u64>,
    },
}

const LEGACY_COLUMNS: &[&str] = &[
    "province_code",
    "province_name",
    "district_code",
    "district_name",
    "commune_code",
    "commune_name",
    "commune_type",
];
const TWO_LEVEL_COLUMNS: &[&str] = &[
    "province_code",
    "province_name",
    "commune_code",
    "commune_name",
    "commune_type",
];
const LINEAGE_COLUMNS: &[&str] = &["legacy_commune_code", "commune_code_2025", "is_default"];
const OPTIONAL_COLUMNS: &[&str] = &["lat", "lon", "area_km2"];

/// Parses one CSV file of any of the three shapes. `file` names it in errors.
pub fn parse_csv(file: &str, text: &str, options: ImportOptions) -> Result<Batch, ImportError> {
    let file_err = |reason: String| ImportError::File {
        file: file.to_owned(),
        reason,
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Files saved on Windows end lines with CR LF, which throws off the csv crate's line numbers.
    let text = text.replace("\r\n", "\n");
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| file_err(format!("cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let has = |c: &str| header.iter().any(|h| h == c);
    let shape = if LINEAGE_COLUMNS.iter().all(|c| has(c)) {
        Shape::Lineage
    } else if LEGACY_COLUMNS.iter().all(|c| has(c)) {
        Shape::Legacy
    } else if TWO_LEVEL_COLUMNS.iter().all(|c| has(c)) && !has("district_code") {
        Shape::TwoLevel
    } else {
        return Err(file_err(format!(
            "the header '{}' is none of the known shapes: legacy ({}), two-level ({}), lineage ({})",
            header.join(","),
            LEGACY_COLUMNS.join(","),
            TWO_LEVEL_COLUMNS.join(","),
            LINEAGE_COLUMNS.join(",")
        )));
    };
    let known: &[&str] = match shape {
        Shape::Legacy => LEGACY_COLUMNS,
        Shape::TwoLevel => TWO_LEVEL_COLUMNS,
        Shape::Lineage => LINEAGE_COLUMNS,
    };
    if let Some(unknown) = header
        .iter()
        .find(|h| !known.contains(&h.as_str()) && (shape == Shape::Lineage || !OPTIONAL_COLUMNS.contains(&h.as_str())))
    {
        return Err(file_err(format!("unknown column '{unknown}' for the {shape} shape")));
    }
    let column: HashMap<&str, usize> = header.iter().enumerate().map(|(i, h)| (h.as_str(), i)).collect();

    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            let reason = match e.kind() {
                csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                    format!("{len} fields where the header has {expected_len}")
                }
                _ => e.to_string(),
            };
            ImportError::Row {
                file: file.to_owned(),
                line,
                reason,
            }
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let fields: HashMap<&str, String> = column
            .iter()
            .map(|(name, i)| (*name, clean_text(record.get(*i).unwrap_or_default())))
            .collect();
        rows.push((line, fields));
    }
    if rows.is_empty() {
        return Err(file_err("the file has a header but no rows".to_owned()));
    }
    let row_err = |line: u64, reason: String| ImportError::Row {
        file: file.to_owned(),
        line,
        reason,
    };
    match shape {
        Shape::Lineage => parse_lineage(rows, options).map_err(|(line, reason)| row_err(line, reason)),
        _ => parse_units(shape, rows, options).map_err(|(line, reason)| row_err(line, reason)),
    }
}

/// NFC (composed) Vietnamese letters, trimmed, single spaces: "Phường  Phố Hiến " → "Phường Phố Hiến".
fn clean_text(raw: &str) -> String {
    raw.nfc()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

type RowResult<T> = Result<T, (u64, String)>;

fn parse_units(shape: Shape, rows: Vec<(u64, HashMap<&str, String>)>, options: ImportOptions) -> RowResult<Batch> {
    let (valid_from, valid_to) = match shape {
        Shape::Legacy => (options.valid_from, options.valid_to.or(REFORM_2025.pred_opt())),
        _ => (options.valid_from.or(Some(REFORM_2025)), options.valid_to),
    };
    let mut units: Vec<NewUnit> = Vec::new();
    let mut lines: Vec<u64> = Vec::new();
    // code → index in `units`, to merge repeated parents and catch repeated communes.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut add = |unit: NewUnit, line: u64, repeatable: bool| -> RowResult<()> {
        if let Some(&i) = seen.get(&unit.code) {
            let first = &units[i];
            if !repeatable || first.level != unit.level {
                return Err((
                    line,
                    format!("{} {} repeats line {}", unit.level.as_str(), unit.code, lines[i]),
                ));
            }
            if first.name != unit.name || first.parent_code != unit.parent_code {
                return Err((
                    line,
                    format!(
                        "{} {} is '{}' here but '{}' on line {}",
                        unit.level.as_str(),
                        unit.code,
                        unit.name,
                        first.name,
                        lines[i]
                    ),
                ));
            }
            return Ok(());
        }
        seen.insert(unit.code.clone(), units.len());
        units.push(unit);
        lines.push(line);
        Ok(())
    };
    for (line, f) in rows {
        let get = |c: &str| f.get(c).cloned().unwrap_or_default();
        let code = |c: &str, level| normalize_code(&get(c), level).map_err(|e| (line, format!("{c}: {e}")));
        let name = |c: &str| {
            let n = get(c);
            if n.is_empty() {
                Err((line, format!("{c} is empty")))
            } else {
                Ok(n)
            }
        };
        let base = |code, name, level, kind, parent_code| NewUnit {
            code,
            name,
            level,
            kind,
            parent_code,
            valid_from,
            valid_to,
            lat: None,
            lon: None,
            area_km2: None,
        };

        let province_code = code("province_code", UnitLevel::Province)?;
        let (province_kind, province_name) = province_name_and_kind(&name("province_name")?);
        add(
            base(
                province_code.clone(),
                province_name,
                UnitLevel::Province,
                province_kind,
                None,
            ),
            line,
            true,
        )?;

        let mut parent = province_code;
        if shape == Shape::Legacy {
            let district_code = code("district_code", UnitLevel::District)?;
            let district_name = name("district_name")?;
            let kind = UnitKind::from_name_prefix(&district_name)
                .filter(|k| k.fits(UnitLevel::District))
                .ok_or_else(|| {
                    (
                        line,
                        format!("district_name '{district_name}' does not start with Huyện, Quận, Thị xã or Thành phố"),
                    )
                })?;
            add(
                base(
                    district_code.clone(),
                    district_name,
                    UnitLevel::District,
                    kind,
                    Some(parent),
                ),
                line,
                true,
            )?;
            parent = district_code;
        }

        let commune_type = get("commune_type");
        let kind = UnitKind::parse(&commune_type)
            .filter(|k| k.fits(UnitLevel::Commune))
            .ok_or_else(|| {
                (
                    line,
                    format!("commune_type '{commune_type}' is not Xã, Phường, Thị trấn or Đặc khu"),
                )
            })?;
        let mut commune = base(
            code("commune_code", UnitLevel::Commune)?,
            name("commune_name")?,
            UnitLevel::Commune,
            kind,
            Some(parent),
        );
        commune.lat = number(&get("lat"), "lat", 6.0..=24.0).map_err(|e| (line, e))?;
        commune.lon = number(&get("lon"), "lon", 102.0..=118.0).map_err(|e| (line, e))?;
        commune.area_km2 = number(&get("area_km2"), "area_km2", 0.0..=50_000.0).map_err(|e| (line, e))?;
        if commune.lat.is_some() != commune.lon.is_some() {
            return Err((line, "lat and lon must be given together".to_owned()));
        }
        add(commune, line, false)?;
    }
    Ok(Batch::Units { shape, units, lines })
}

/// A province's kind from its name; names without a kind word ("Hưng Yên") are provinces and get "Tỉnh".
fn province_name_and_kind(name: &str) -> (UnitKind, String) {
    match UnitKind::from_name_prefix(name).filter(|k| k.fits(UnitLevel::Province)) {
        Some(kind) => (kind, name.to_owned()),
        None => (UnitKind::Tinh, format!("{} {name}", UnitKind::Tinh.label_vi())),
    }
}

/// An optional number within `range` (Vietnam's latitudes and longitudes, a commune's area).
fn number(raw: &str, column: &str, range: std::ops::RangeInclusive<f64>) -> Result<Option<f64>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    let value: f64 = raw
        .replace(',', ".")
        .parse()
        .map_err(|_| format!("{column} '{raw}' is not a number"))?;
    if !range.contains(&value) {
        return Err(format!("{column} {value} is outside {}–{}", range.start(), range.end()));
    }
    Ok(Some(value))
}

fn parse_lineage(rows: Vec<(u64, HashMap<&str, String>)>, options: ImportOptions) -> RowResult<Batch> {
    let effective = options.effective.unwrap_or(REFORM_2025);
    let mut links = Vec::new();
    let mut lines = Vec::new();
    let mut pairs: HashMap<(String, String), u64> = HashMap::new();
    let mut defaults: HashMap<String, Vec<u64>> = HashMap::new();
    for (line, f) in rows {
        let get = |c: &str| f.get(c).cloned().unwrap_or_default();
        let code = |c: &str| normalize_code(&get(c), UnitLevel::Commune).map_err(|e| (line, format!("{c}: {e}")));
        let predecessor_code = code("legacy_commune_code")?;
        let successor_code = code("commune_code_2025")?;
        let is_default = match get("is_default").to_ascii_lowercase().as_str() {
            "1" | "true" => true,
            "0" | "false" => false,
            other => return Err((line, format!("is_default '{other}' is neither 1 nor 0"))),
        };
        if let Some(first) = pairs.insert((predecessor_code.clone(), successor_code.clone()), line) {
            return Err((
                line,
                format!("the link {predecessor_code} → {successor_code} repeats line {first}"),
            ));
        }
        let entry = defaults.entry(predecessor_code.clone()).or_default();
        if is_default {
            entry.push(line);
        }
        links.push(NewLineage {
            predecessor_code,
            successor_code,
            is_default,
            effective,
        });
        lines.push(line);
    }
    for (code, default_lines) in &defaults {
        let first_line = links
            .iter()
            .zip(&lines)
            .find(|(l, _)| &l.predecessor_code == code)
            .map_or(0, |(_, line)| *line);
        match default_lines.as_slice() {
            [_] => {}
            [] => {
                return Err((
                    first_line,
                    format!("legacy commune {code} has no default successor (is_default = 1)"),
                ));
            }
            [_, second, ..] => {
                return Err((*second, format!("legacy commune {code} has a second default successor")));
            }
        }
    }
    Ok(Batch::Lineage { links, lines })
}

/// Parses and stores one file in one transaction.
pub async fn import_csv(
    store: &Store,
    file: &str,
    text: &str,
    options: ImportOptions,
) -> Result<ImportReport, ImportError> {
    let batch = parse_csv(file, text, options)?;
    let store_err = |lines: &[u64], e: StoreError| match e {
        StoreError::Rejected { index, reason } => ImportError::Row {
            file: file.to_owned(),
            line: lines.get(index).copied().unwrap_or(0),
            reason,
        },
        other => ImportError::Store {
            file: file.to_owned(),
            source: other,
        },
    };
    let (shape, stored, counts) = match &batch {
        Batch::Units { shape, units, lines } => (
            *shape,
            units.len(),
            store.import_units(units).await.map_err(|e| store_err(lines, e))?,
        ),
        Batch::Lineage { links, lines } => (
            Shape::Lineage,
            links.len(),
            store.import_lineage(links).await.map_err(|e| store_err(lines, e))?,
        ),
    };
    Ok(ImportReport {
        file: file.to_owned(),
        shape,
        stored,
        created: counts.created,
        updated: counts.updated,
    })
}

/// The data files bundled in the binary, so that `ykien demo` runs without the source tree.
pub const BUNDLED_HUNG_YEN: [(&str, &str); 3] = [
    (
        "legacy-2024-hung-yen-thai-binh.csv",
        include_str!("../../data/admin-units/legacy-2024-hung-yen-thai-binh.csv"),
    ),
    (
        "hung-yen-2025.csv",
        include_str!("../../data/admin-units/hung-yen-2025.csv"),
    ),
    (
        "lineage-2025-hung-yen.csv",
        include_str!("../../data/admin-units/lineage-2025-hung-yen.csv"),
    ),
];

/// Imports today's Hưng Yên, the legacy Hưng Yên and Thái Bình, and their lineage (idempotent).
pub async fn import_bundled_hung_yen(store: &Store) -> Result<Vec<ImportReport>, ImportError> {
    let mut reports = Vec::new();
    for (file, text) in BUNDLED_HUNG_YEN {
        reports.push(import_csv(store, file, text, ImportOptions::default()).await?);
    }
    Ok(reports)
}

/// A unit with its place in the hierarchy and its lineage.
#[derive(Clone, Debug)]
pub struct UnitDetail {
    pub unit: Unit,
    pub parent: Option<Unit>,
    /// The units it was formed from (for a 2025 commune: the legacy communes merged into it).
    pub predecessors: Vec<LinkedUnit>,
    /// The units it became part of.
    pub successors: Vec<LinkedUnit>,
}

/// The version of `code` valid on `day` (else its latest version), or not found.
pub async fn unit_by_code(store: &Store, code: &str, day: NaiveDate) -> Result<Unit, Error> {
    let versions = store.units_by_code(code).await?;
    pick_version(versions, day).ok_or_else(|| Error::UnitNotFound(code.to_owned()))
}

/// The commune or ward with this code that exists on `day`: `UnitNotFound` for an unknown code, `NotACommune`
/// for a province, a district, or a commune that no longer exists.
pub async fn commune_on(store: &Store, code: &str, day: NaiveDate) -> Result<Unit, Error> {
    commune_of(store.units_by_code(code).await?, code, day)
}

/// [`commune_on`] among the `versions` of the unit with this code, already read.
pub fn commune_of(versions: Vec<Unit>, code: &str, day: NaiveDate) -> Result<Unit, Error> {
    let unit = pick_version(versions, day).ok_or_else(|| Error::UnitNotFound(code.to_owned()))?;
    if unit.level != UnitLevel::Commune || !unit.is_valid_on(day) {
        return Err(Error::NotACommune(code.to_owned()));
    }
    Ok(unit)
}

/// A unit by code with its parent and lineage.
pub async fn unit_detail(store: &Store, code: &str, day: NaiveDate) -> Result<UnitDetail, Error> {
    let unit = unit_by_code(store, code, day).await?;
    let parent = match unit.parent_id {
        Some(id) => Some(store.unit(id).await?),
        None => None,
    };
    let predecessors = store.predecessors(unit.id).await?;
    let successors = store.successors(unit.id).await?;
    Ok(UnitDetail {
        unit,
        parent,
        predecessors,
        successors,
    })
}

/// The units directly under `code` (valid on `day`), or the provinces when `code` is `None`.
pub async fn children(store: &Store, code: Option<&str>, day: NaiveDate) -> Result<Vec<Unit>, Error> {
    match code {
        None => Ok(store.units_at_level(UnitLevel::Province, day).await?),
        Some(code) => {
            let parent = unit_by_code(store, code, day).await?;
            Ok(store.children(parent.id).await?)
        }
    }
}

/// A child unit with where it came from and what it became.
#[derive(Clone, Debug)]
pub struct ChildUnit {
    pub unit: Unit,
    pub predecessors: Vec<LinkedUnit>,
    pub successors: Vec<LinkedUnit>,
}

/// A unit's children, each with its lineage: what a province's or a legacy district's public page lists.
pub async fn children_with_lineage(
    store: &Store,
    code: &str,
    day: NaiveDate,
) -> Result<(UnitDetail, Vec<ChildUnit>), Error> {
    let detail = unit_detail(store, code, day).await?;
    let children = store.children(detail.unit.id).await?;
    let group = |links: Vec<UnitLink>| {
        let mut by_child: HashMap<uuid::Uuid, Vec<LinkedUnit>> = HashMap::new();
        for link in links {
            by_child.entry(link.other_side_of).or_default().push(link.linked);
        }
        by_child
    };
    let mut predecessors = group(store.predecessors_of_children(detail.unit.id).await?);
    let mut successors = group(store.successors_of_children(detail.unit.id).await?);
    let listed = children
        .into_iter()
        .map(|unit| ChildUnit {
            predecessors: predecessors.remove(&unit.id).unwrap_or_default(),
            successors: successors.remove(&unit.id).unwrap_or_default(),
            unit,
        })
        .collect();
    Ok((detail, listed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Batch, ImportError> {
        parse_csv("t.csv", text, ImportOptions::default())
    }

    fn row_error(text: &str) -> (u64, String) {
        match parse(text) {
            Err(ImportError::Row { line, reason, .. }) => (line, reason),
            other => panic!("expected a row error, got {other:?}"),
        }
    }

    const LEGACY_HEADER: &str =
        "province_code,province_name,district_code,district_name,commune_code,commune_name,commune_type,lat,lon\n";

    #[test]
    fn a_legacy_file_yields_provinces_districts_and_communes_in_order() {
        let text = format!(
            "{LEGACY_HEADER}33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11950,Phường Lam Sơn,Phường,20.67,106.04\n\
             33,Tỉnh Hưng Yên,323,Thành phố Hưng Yên,11953,Phường Hiến Nam,Phường,20.65,106.05\n"
        );
        let Batch::Units { shape, units, lines } = parse(&text).unwrap() else {
            panic!("units")
        };
        assert_eq!(shape, Shape::Legacy);
        let codes: Vec<_> = units.iter().map(|u| (u.code.as_str(), u.level)).collect();
        assert_eq!(
            codes,
            [
                ("33", UnitLevel::Province),
                ("323", UnitLevel::District),
                ("11950", UnitLevel::Commune),
                ("11953", UnitLevel::Commune)
            ]
        );
        assert_eq!(units[1].kind, UnitKind::ThanhPho);
        assert_eq!(units[2].valid_to, NaiveDate::from_ymd_opt(2025, 6, 30));
        assert_eq!(lines, [2, 2, 2, 3]);
    }

    #[test]
    fn national_file_codes_are_padded_and_bare_province_names_get_their_kind() {
        let text = "province_code,province_name,commune_code,commune_name,commune_type\n\
                    1,Thành phố Hà Nội,70,Phường Hoàn Kiếm,phường\n33,Hưng Yên,11953,Phường Phố Hiến,phường\n";
        let Batch::Units { units, .. } = parse(text).unwrap() else {
            panic!("units")
        };
        assert_eq!(units[0].code, "01");
        assert_eq!(units[0].kind, UnitKind::ThanhPho);
        assert_eq!(units[1].code, "00070");
        assert_eq!(units[1].parent_code.as_deref(), Some("01"));
        assert_eq!(units[2].name, "Tỉnh Hưng Yên");
        assert_eq!(units[3].valid_from, Some(REFORM_2025));
    }

    #[test]
    fn decomposed_vietnamese_is_stored_composed() {
        let decomposed: String = "Phường Phố Hiến".nfd().collect();
        let text = format!(
            "province_code,province_name,commune_code,commune_name,commune_type\n33,Tỉnh Hưng Yên,11953,{decomposed},Phường\n"
        );
        let Batch::Units { units, .. } = parse(&text).unwrap() else {
            panic!("units")
        };
        assert_eq!(units[1].name, "Phường Phố Hiến");
    }

    #[test]
    fn malformed_rows_are_reported_with_line_and_reason() {
        let two = "province_code,province_name,commune_code,commune_name,commune_type,lat,lon\n";
        let cases: [(String, u64, &str); 9] = [
            (
                format!(
                    "{two}33,Tỉnh Hưng Yên,11953,Phường Phố Hiến,Phường,20.6,106.0\n33,Tỉnh Hưng Yên,1197x,Xã Tân Hưng,Xã,20.6,106.0\n"
                ),
                3,
                "not a GSO code",
            ),
            (
                format!("{two}33,Tỉnh Hưng Yên,11953,,Phường,20.6,106.0\n"),
                2,
                "commune_name is empty",
            ),
            (
                format!("{two}33,Tỉnh Hưng Yên,11953,Phường Phố Hiến,Ấp,20.6,106.0\n"),
                2,
                "commune_type 'Ấp'",
            ),
            (
                format!("{two}33,Tỉnh Hưng Yên,11953,Phường Phố Hiến,Phường,abc,106.0\n"),
                2,
                "lat 'abc' is not a number",
            ),
            (
                format!("{two}33,Tỉnh Hưng Yên,11953,Phường Phố Hiến,Phường,106.0,20.6\n"),
                2,
                "lat 106 is outside",
            ),
            (
                format!("{two}33,Tỉnh Hưng Yên,11953,Phường Phố Hiến,Phường,20.6\n"),
                2,
                "6 fields where the header has 7",
            ),
            (
                format!(
                    "{two}33,Tỉnh Hưng Yên,11953,Phường Phố Hiến,Phường,20.6,106.0\n33,Tỉnh Hưng Yên,11953,Phường Phố Hiến,Phường,20.6,106.0\n"
                ),
                3,
                "commune 11953 repeats line 2",
            ),
            (
                format!(
                    "{two}33,Tỉnh Hưng Yên,11953,Phường Phố Hiến,Phường,20.6,106.0\n33,Tỉnh Thái Bình,11977,Xã Tân Hưng,Xã,20.6,106.0\n"
                ),
                3,
                "province 33 is 'Tỉnh Thái Bình' here but 'Tỉnh Hưng Yên' on line 2",
            ),
            (
                format!("{LEGACY_HEADER}33,Tỉnh Hưng Yên,323,Hưng Yên,11950,Phường Lam Sơn,Phường,20.67,106.04\n"),
                2,
                "does not start with Huyện",
            ),
        ];
        for (text, line, reason) in cases {
            let (got_line, got) = row_error(&text);
            assert_eq!(got_line, line, "{got}");
            assert!(got.contains(reason), "expected '{reason}' in '{got}'");
        }
    }

    #[test]
    fn line_numbers_are_right_in_files_with_windows_line_ends() {
        let (line, _) =
            row_error("legacy_commune_code,commune_code_2025,is_default\r\n11950,11983,1\r\n11950,11983,1\r\n");
        assert_eq!(line, 3);
    }

    #[test]
    fn lineage_rows_are_checked_for_repeats_and_default_successors() {
        let header = "legacy_commune_code,commune_code_2025,is_default\n";
        let (line, reason) = row_error(&format!("{header}11950,11983,1\n11950,11983,0\n"));
        assert_eq!(line, 3);
        assert!(reason.contains("repeats line 2"), "{reason}");
        let (line, reason) = row_error(&format!("{header}11989,11983,1\n11989,11953,1\n"));
        assert_eq!(line, 3);
        assert!(reason.contains("second default"), "{reason}");
        let (_, reason) = row_error(&format!("{header}11989,11983,0\n"));
        assert!(reason.contains("no default successor"), "{reason}");
        let (_, reason) = row_error(&format!("{header}11989,11983,yes\n"));
        assert!(reason.contains("neither 1 nor 0"), "{reason}");
    }

    #[test]
    fn unknown_headers_and_empty_files_are_refused() {
        assert!(
            matches!(parse("code,name\n1,a\n"), Err(ImportError::File { reason, .. }) if reason.contains("none of the known shapes"))
        );
        assert!(
            matches!(parse("province_code,province_name,commune_code,commune_name,commune_type,population\n"),
            Err(ImportError::File { reason, .. }) if reason.contains("unknown column 'population'"))
        );
        assert!(matches!(parse("legacy_commune_code,commune_code_2025,is_default\n"),
            Err(ImportError::File { reason, .. }) if reason.contains("no rows")));
    }

    #[test]
    fn the_bundled_files_parse() {
        for (file, text) in BUNDLED_HUNG_YEN {
            parse_csv(file, text, ImportOptions::default()).unwrap();
        }
    }
}
