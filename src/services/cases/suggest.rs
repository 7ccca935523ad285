//! What the console suggests on a case page: cases that may be the same problem (open, or received in the last
//! [`RECENT_DAYS`] days, of the same commune and category, near it or with similar text — `domain::cases::similar`),
//! to link as duplicates in one click; and the answer templates of its category, filled from the case.

use chrono::{DateTime, Duration, Utc};

use super::{CaseView, Cases};
use crate::domain::calendar::to_vietnam;
use crate::domain::cases::similar::{Likeness, likeness};
use crate::domain::cases::templates::{AnswerTemplate, fill, parse_templates};
use crate::domain::cases::{Case, CaseState};
use crate::services::Error;
use crate::services::accounts::{Official, Role};
use crate::storage::{AnswerTemplateRow, CaseFilter};

/// Closed cases received within this many days are still suggested.
pub const RECENT_DAYS: i64 = 30;
/// The most suggestions shown.
const MAX_SUGGESTIONS: usize = 5;
/// How many cases of the commune and category are compared at most (the newest).
const CANDIDATES: i64 = 500;

/// A case that may be the same problem as the one shown.
#[derive(Clone, Debug)]
pub struct DuplicateSuggestion {
    pub case: Case,
    pub likeness: Likeness,
}

/// An answer template filled for one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilledTemplate {
    pub id: uuid::Uuid,
    pub title: String,
    pub what_was_done: String,
    pub legal_basis: String,
}

impl Cases {
    /// The cases that may be the same problem as `view`'s: the likest first (nearness before text), at most five.
    /// Only while the case can still be marked a duplicate; never itself, a duplicate, or a rejected case.
    pub async fn duplicate_suggestions(
        &self,
        view: &CaseView,
        now: DateTime<Utc>,
    ) -> Result<Vec<DuplicateSuggestion>, Error> {
        let case = &view.case;
        if !matches!(case.state, CaseState::Received | CaseState::Accepted) {
            return Ok(Vec::new());
        }
        let candidates = self
            .store
            .list_cases(&CaseFilter {
                unit_ids: Some(vec![case.unit_id]),
                states: Vec::new(),
                category: Some(case.category.clone()),
                overdue_at: None,
                limit: CANDIDATES,
            })
            .await?;
        let since = now - Duration::days(RECENT_DAYS);
        let location = |c: &Case| c.lat.zip(c.lon);
        let mut found: Vec<DuplicateSuggestion> = candidates
            .into_iter()
            .filter(|c| c.id != case.id && !matches!(c.state, CaseState::Duplicate | CaseState::Rejected))
            .filter(|c| c.state.is_open() || c.received_at >= since)
            .filter_map(|c| {
                let likeness = likeness((location(case), case.text.as_str()), (location(&c), c.text.as_str()))?;
                Some(DuplicateSuggestion { case: c, likeness })
            })
            .collect();
        // Nearest first, then the most similar text.
        let rank = |s: &DuplicateSuggestion| match s.likeness {
            Likeness::Near(m) => m,
            Likeness::SimilarText(x) => 1.0e6 * (2.0 - x),
        };
        found.sort_by(|a, b| rank(a).total_cmp(&rank(b)));
        found.truncate(MAX_SUGGESTIONS);
        Ok(found)
    }

    /// The answer templates of `view`'s category, filled from the case.
    pub async fn templates_for(&self, view: &CaseView) -> Result<Vec<FilledTemplate>, Error> {
        let case = &view.case;
        let values = [
            ("ma_ho_so", case.code.clone()),
            (
                "ngay_tiep_nhan",
                to_vietnam(case.received_at).format("%d/%m/%Y").to_string(),
            ),
            ("xa_phuong", view.unit.name.clone()),
            ("linh_vuc", view.category_name(crate::domain::Lang::Vi)),
            ("dia_chi", case.address.clone().unwrap_or_default()),
        ];
        Ok(self
            .store
            .answer_templates(Some(&case.category))
            .await?
            .into_iter()
            .map(|t| FilledTemplate {
                id: t.id,
                title: t.title,
                what_was_done: fill(&t.body, &values),
                legal_basis: fill(&t.legal_basis, &values),
            })
            .collect())
    }

    /// Every stored answer template (for the administrators' list).
    pub async fn answer_templates(&self) -> Result<Vec<AnswerTemplateRow>, Error> {
        Ok(self.store.answer_templates(None).await?)
    }

    /// Replaces the answer templates with those of a TOML file (`ykien templates import`), checked first (every
    /// problem, an unknown placeholder by its name); audit logged under `official` when an administrator's account
    /// is given (the command line runs as the operator otherwise).
    pub async fn import_templates(
        &self,
        toml: &str,
        official: Option<&Official>,
        now: DateTime<Utc>,
    ) -> Result<Vec<AnswerTemplate>, Error> {
        if official.is_some_and(|o| o.role != Role::Admin) {
            return Err(Error::Forbidden("only administrators keep the answer templates".into()));
        }
        let templates =
            parse_templates(toml, &self.categories).map_err(|problems| Error::BadRequest(problems.join("\n")))?;
        let rows: Vec<(String, String, String, String)> = templates
            .iter()
            .map(|t| {
                (
                    t.category.clone(),
                    crate::domain::text::clean(t.title.trim()),
                    crate::domain::text::clean(t.body.trim()),
                    crate::domain::text::clean(t.legal_basis.trim()),
                )
            })
            .collect();
        let audit = crate::storage::AuditEntry {
            official_id: official.map(|o| o.id),
            action: "templates.import".into(),
            target: "answer_templates".into(),
            before_state: None,
            after_state: None,
            detail: Some(format!("{} templates", rows.len())),
        };
        self.store.replace_answer_templates(&rows, &audit, now).await?;
        Ok(templates)
    }
}
