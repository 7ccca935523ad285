//! Administrative units and lineage in the database.
//!
//! Open validity ends are stored as sentinel days (see the migration) and mapped back to `None` here, so the rest
//! of the service never sees them. Imports run in one transaction: a batch is stored whole or not at all.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use uuid::Uuid;

use super::{BeginWrite, Store, StoreError, db, execute, fetch, on_pool};
use crate::domain::units::{LinkedUnit, NewLineage, NewUnit, Unit, UnitKind, UnitLevel};

const OPEN_START: NaiveDate = match NaiveDate::from_ymd_opt(1, 1, 1) {
    Some(d) => d,
    None => panic!("0001-01-01 is a date"),
};
const OPEN_END: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(d) => d,
    None => panic!("9999-12-31 is a date"),
};

/// Selects the columns of `UnitRecord` from `admin_units u`, then whatever follows; built at compile time.
macro_rules! select_units {
    ($($rest:literal),*) => {
        concat!(
            "SELECT u.id, u.code, u.name, u.level, u.kind, u.parent_id, u.valid_from, u.valid_to, u.lat, u.lon, ",
            "u.area_km2",
            $($rest),*
        )
    };
}

/// The columns `select_units!` reads, by name.
#[derive(sqlx::FromRow)]
pub(super) struct UnitRecord {
    id: Uuid,
    code: String,
    name: String,
    level: String,
    kind: String,
    parent_id: Option<Uuid>,
    valid_from: NaiveDate,
    valid_to: NaiveDate,
    lat: Option<f64>,
    lon: Option<f64>,
    area_km2: Option<f64>,
}

/// A unit's columns followed by a lineage link's: the unit on the other side, the default flag, the day.
#[derive(sqlx::FromRow)]
struct LinkRecord {
    #[sqlx(flatten)]
    unit: UnitRecord,
    other_side_of: Uuid,
    is_default: bool,
    effective: NaiveDate,
}

impl TryFrom<UnitRecord> for Unit {
    type Error = StoreError;

    fn try_from(r: UnitRecord) -> Result<Self, StoreError> {
        let code = r.code;
        Ok(Unit {
            level: UnitLevel::parse(&r.level)
                .ok_or_else(|| StoreError::Corrupt(format!("unit {code} has level '{}'", r.level)))?,
            kind: UnitKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unit {code} has kind '{}'", r.kind)))?,
            id: r.id,
            code,
            name: r.name,
            parent_id: r.parent_id,
            valid_from: (r.valid_from != OPEN_START).then_some(r.valid_from),
            valid_to: (r.valid_to != OPEN_END).then_some(r.valid_to),
            lat: r.lat,
            lon: r.lon,
            area_km2: r.area_km2,
        })
    }
}

fn units_from(rows: Vec<UnitRecord>) -> Result<Vec<Unit>, StoreError> {
    rows.into_iter().map(Unit::try_from).collect()
}

fn links_from(rows: Vec<LinkRecord>) -> Result<Vec<UnitLink>, StoreError> {
    rows.into_iter()
        .map(|r| {
            Ok(UnitLink {
                other_side_of: r.other_side_of,
                linked: LinkedUnit {
                    unit: Unit::try_from(r.unit)?,
                    is_default: r.is_default,
                    effective: r.effective,
                },
            })
        })
        .collect()
}

/// A unit and the attributes of the lineage link that led to it.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitLink {
    /// The unit on the other side of the link from the one asked about.
    pub other_side_of: Uuid,
    pub linked: LinkedUnit,
}

/// What an import changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// Rows that were not in the database before.
    pub created: usize,
    /// Rows that were there already and were brought up to date.
    pub updated: usize,
}

impl Store {
    /// Stores units in order (parents before children), inserting new (code, valid_from) pairs and updating
    /// existing ones. A row whose parent is unknown, or whose validity overlaps another version of its code,
    /// rejects the whole batch.
    pub async fn import_units(&self, units: &[NewUnit]) -> Result<ImportCounts, StoreError> {
        let writer = self.writer().await;
        let now = Utc::now();
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting the units import"))?;
            let mut counts = ImportCounts::default();
            let mut parents: HashMap<(String, NaiveDate), Uuid> = HashMap::new();
            for (index, unit) in units.iter().enumerate() {
                let reject = |reason: String| StoreError::Rejected { index, reason };
                let day = unit.reference_day();
                let parent_id = match &unit.parent_code {
                    None => None,
                    Some(code) => match parents.get(&(code.clone(), day)) {
                        Some(id) => Some(*id),
                        None => {
                            let found: Option<(Uuid,)> = sqlx::query_as(
                                "SELECT id FROM admin_units WHERE code = $1 AND valid_from <= $2 AND valid_to >= $2",
                            )
                            .bind(code)
                            .bind(day)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(db("looking up a parent unit"))?;
                            let (id,) = found.ok_or_else(|| {
                                reject(format!(
                                    "its parent {code} is not a known unit on {day}; import the parent first"
                                ))
                            })?;
                            parents.insert((code.clone(), day), id);
                            Some(id)
                        }
                    },
                };
                let from = unit.valid_from.unwrap_or(OPEN_START);
                let to = unit.valid_to.unwrap_or(OPEN_END);
                if from > to {
                    return Err(reject(format!(
                        "it is valid from {from} to {to}, which ends before it starts"
                    )));
                }
                let versions: Vec<(Uuid, NaiveDate, NaiveDate)> =
                    sqlx::query_as("SELECT id, valid_from, valid_to FROM admin_units WHERE code = $1")
                        .bind(&unit.code)
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(db("reading the versions of a unit"))?;
                let same = versions.iter().find(|(_, f, _)| *f == from).map(|(id, _, _)| *id);
                if let Some((_, f, t)) = versions.iter().find(|(_, f, t)| *f != from && *f <= to && from <= *t) {
                    let show = |d: &NaiveDate, open: NaiveDate| {
                        if *d == open { "…".to_owned() } else { d.to_string() }
                    };
                    return Err(reject(format!(
                        "code {} is already used by another unit valid {} – {}, which overlaps",
                        unit.code,
                        show(f, OPEN_START),
                        show(t, OPEN_END)
                    )));
                }
                let id = match same {
                    Some(id) => {
                        execute!(
                            tx: tx,
                            "updating a unit",
                            "UPDATE admin_units SET name = $2, level = $3, kind = $4, parent_id = $5, valid_to = $6, \
                             lat = COALESCE($7, lat), lon = COALESCE($8, lon), area_km2 = COALESCE($9, area_km2), \
                             updated_at = $10 WHERE id = $1",
                            id,
                            &unit.name,
                            unit.level.as_str(),
                            unit.kind.as_str(),
                            parent_id,
                            to,
                            unit.lat,
                            unit.lon,
                            unit.area_km2,
                            now,
                        )?;
                        counts.updated += 1;
                        id
                    }
                    None => {
                        let id = Uuid::new_v4();
                        execute!(
                            tx: tx,
                            "inserting a unit",
                            "INSERT INTO admin_units (id, code, name, level, kind, parent_id, valid_from, valid_to, \
                             lat, lon, area_km2, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                            id,
                            &unit.code,
                            &unit.name,
                            unit.level.as_str(),
                            unit.kind.as_str(),
                            parent_id,
                            from,
                            to,
                            unit.lat,
                            unit.lon,
                            unit.area_km2,
                            now,
                        )?;
                        counts.created += 1;
                        id
                    }
                };
                parents.insert((unit.code.clone(), day), id);
            }
            tx.commit().await.map_err(db("committing the units import"))?;
            Ok(counts)
        })
    }

    /// Stores lineage links: the predecessor is the unit of its code valid the day before `effective`, the
    /// successor the one valid on `effective`. An unknown code rejects the whole batch.
    pub async fn import_lineage(&self, links: &[NewLineage]) -> Result<ImportCounts, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting the lineage import"))?;
            let mut counts = ImportCounts::default();
            for (index, link) in links.iter().enumerate() {
                let reject = |reason: String| StoreError::Rejected { index, reason };
                let before = link.effective.pred_opt().unwrap_or(link.effective);
                let mut ids = [Uuid::nil(); 2];
                for (slot, (code, day, role)) in ids.iter_mut().zip([
                    (&link.predecessor_code, before, "predecessor"),
                    (&link.successor_code, link.effective, "successor"),
                ]) {
                    let found: Option<(Uuid,)> = sqlx::query_as(
                        "SELECT id FROM admin_units WHERE code = $1 AND valid_from <= $2 AND valid_to >= $2",
                    )
                    .bind(code)
                    .bind(day)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db("looking up a unit of a lineage link"))?;
                    *slot = found
                        .ok_or_else(|| {
                            reject(format!(
                                "the {role} {code} is not a known unit on {day}; import it first"
                            ))
                        })?
                        .0;
                }
                let [predecessor, successor] = ids;
                let existing: Option<(bool,)> = sqlx::query_as(
                    "SELECT is_default FROM unit_lineage WHERE predecessor_id = $1 AND successor_id = $2",
                )
                .bind(predecessor)
                .bind(successor)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db("reading a lineage link"))?;
                if existing.is_some() {
                    execute!(
                        tx: tx,
                        "updating a lineage link",
                        "UPDATE unit_lineage SET is_default = $3, effective = $4 \
                         WHERE predecessor_id = $1 AND successor_id = $2",
                        predecessor,
                        successor,
                        link.is_default,
                        link.effective,
                    )?;
                    counts.updated += 1;
                } else {
                    execute!(
                        tx: tx,
                        "inserting a lineage link",
                        "INSERT INTO unit_lineage (predecessor_id, successor_id, is_default, effective) \
                         VALUES ($1, $2, $3, $4)",
                        predecessor,
                        successor,
                        link.is_default,
                        link.effective,
                    )?;
                    counts.created += 1;
                }
                if link.is_default {
                    // A predecessor has one main successor: the newest import says which.
                    execute!(
                        tx: tx,
                        "updating the default successor",
                        "UPDATE unit_lineage SET is_default = $3 WHERE predecessor_id = $1 AND successor_id <> $2",
                        predecessor,
                        successor,
                        false,
                    )?;
                }
            }
            tx.commit().await.map_err(db("committing the lineage import"))?;
            Ok(counts)
        })
    }

    /// Every version of a code, oldest first.
    pub async fn units_by_code(&self, code: &str) -> Result<Vec<Unit>, StoreError> {
        let rows: Vec<UnitRecord> = fetch!(
            &self.pool,
            fetch_all,
            "reading a unit by code",
            select_units!(" FROM admin_units u WHERE u.code = $1 ORDER BY u.valid_from"),
            code,
        )?;
        units_from(rows)
    }

    /// One unit by its id.
    pub async fn unit(&self, id: Uuid) -> Result<Unit, StoreError> {
        let row: UnitRecord = fetch!(
            &self.pool,
            fetch_one,
            "unit",
            select_units!(" FROM admin_units u WHERE u.id = $1"),
            id,
        )?;
        Unit::try_from(row)
    }

    /// The children of one unit (a province's communes or districts, a district's communes), in code order.
    pub async fn children(&self, parent_id: Uuid) -> Result<Vec<Unit>, StoreError> {
        let rows: Vec<UnitRecord> = fetch!(
            &self.pool,
            fetch_all,
            "reading the children of a unit",
            select_units!(" FROM admin_units u WHERE u.parent_id = $1 ORDER BY u.code"),
            parent_id,
        )?;
        units_from(rows)
    }

    /// The units of one level valid on `day`, in code order.
    pub async fn units_at_level(&self, level: UnitLevel, day: NaiveDate) -> Result<Vec<Unit>, StoreError> {
        let rows: Vec<UnitRecord> = fetch!(
            &self.pool,
            fetch_all,
            "reading the units of a level",
            select_units!(
                " FROM admin_units u WHERE u.level = $1 AND u.valid_from <= $2 AND u.valid_to >= $2 ORDER BY u.code"
            ),
            level.as_str(),
            day,
        )?;
        units_from(rows)
    }

    /// The units that became (part of) `unit_id`.
    pub async fn predecessors(&self, unit_id: Uuid) -> Result<Vec<LinkedUnit>, StoreError> {
        let rows: Vec<LinkRecord> = fetch!(
            &self.pool,
            fetch_all,
            "reading the predecessors of a unit",
            select_units!(
                ", l.successor_id AS other_side_of, l.is_default, l.effective FROM unit_lineage l ",
                "JOIN admin_units u ON u.id = l.predecessor_id WHERE l.successor_id = $1 ORDER BY u.code"
            ),
            unit_id,
        )?;
        Ok(links_from(rows)?.into_iter().map(|l| l.linked).collect())
    }

    /// The units that `unit_id` became (part of).
    pub async fn successors(&self, unit_id: Uuid) -> Result<Vec<LinkedUnit>, StoreError> {
        let rows: Vec<LinkRecord> = fetch!(
            &self.pool,
            fetch_all,
            "reading the successors of a unit",
            select_units!(
                ", l.predecessor_id AS other_side_of, l.is_default, l.effective FROM unit_lineage l ",
                "JOIN admin_units u ON u.id = l.successor_id WHERE l.predecessor_id = $1 ORDER BY u.code"
            ),
            unit_id,
        )?;
        Ok(links_from(rows)?.into_iter().map(|l| l.linked).collect())
    }

    /// For every child of `parent_id`, the units it was formed from: one query for a whole province's page.
    pub async fn predecessors_of_children(&self, parent_id: Uuid) -> Result<Vec<UnitLink>, StoreError> {
        let rows: Vec<LinkRecord> = fetch!(
            &self.pool,
            fetch_all,
            "reading the lineage of a unit's children",
            select_units!(
                ", l.successor_id AS other_side_of, l.is_default, l.effective FROM unit_lineage l ",
                "JOIN admin_units u ON u.id = l.predecessor_id ",
                "JOIN admin_units s ON s.id = l.successor_id WHERE s.parent_id = $1 ORDER BY u.code"
            ),
            parent_id,
        )?;
        links_from(rows)
    }

    /// For every child of `parent_id`, the units it became (part of): one query for a legacy district's page.
    pub async fn successors_of_children(&self, parent_id: Uuid) -> Result<Vec<UnitLink>, StoreError> {
        let rows: Vec<LinkRecord> = fetch!(
            &self.pool,
            fetch_all,
            "reading the successors of a unit's children",
            select_units!(
                ", l.predecessor_id AS other_side_of, l.is_default, l.effective FROM unit_lineage l ",
                "JOIN admin_units u ON u.id = l.successor_id ",
                "JOIN admin_units c ON c.id = l.predecessor_id WHERE c.parent_id = $1 ORDER BY u.code"
            ),
            parent_id,
        )?;
        links_from(rows)
    }

    /// How many units and lineage links are stored.
    pub async fn count_units(&self) -> Result<(i64, i64), StoreError> {
        on_pool!(&self.pool, |p| {
            let (units,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM admin_units")
                .fetch_one(p)
                .await
                .map_err(db("counting units"))?;
            let (links,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM unit_lineage")
                .fetch_one(p)
                .await
                .map_err(db("counting lineage links"))?;
            Ok((units, links))
        })
    }
}
