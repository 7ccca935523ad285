//! The case side of issue 20 that is not a case change: the reporters' news by email (the address and the token
//! of its unsubscribe link, stopping them) and the administrators' answer templates.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::case_changes::{AuditEntry, insert_audit};
use super::{BeginWrite, Store, StoreError, db, execute, fetch, on_pool};

/// Where a case's news by email go: the reporter's address and the token of the unsubscribe link.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct NewsEmailRow {
    pub email: String,
    pub news_token: String,
}

/// The case an unsubscribe token belongs to, and whether its news by email were stopped.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct NewsTokenRow {
    pub case_id: Uuid,
    pub code: String,
    pub email: Option<String>,
    pub news_stopped_at: Option<DateTime<Utc>>,
}

/// A stored answer template.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct AnswerTemplateRow {
    pub id: Uuid,
    pub category: String,
    pub title: String,
    pub body: String,
    pub legal_basis: String,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// The reporter's address for a case's news by email, unless they left none or stopped them.
    pub async fn case_news_email(&self, case_id: Uuid) -> Result<Option<NewsEmailRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading where a case's news by email go",
            "SELECT email, news_token FROM case_reporters WHERE case_id = $1 AND email IS NOT NULL \
             AND news_token IS NOT NULL AND news_stopped_at IS NULL",
            case_id,
        )
    }

    /// The case of an unsubscribe token.
    pub async fn case_of_news_token(&self, token: &str) -> Result<Option<NewsTokenRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_optional,
            "reading an unsubscribe link",
            "SELECT r.case_id, c.code, r.email, r.news_stopped_at FROM case_reporters r \
             JOIN cases c ON c.id = r.case_id WHERE r.news_token = $1",
            token,
        )
    }

    /// Stops a case's news by email at once: marks the reporter's choice and drops the news queued for the address
    /// and not sent yet. False when they were stopped already.
    pub async fn stop_case_news(&self, case_id: Uuid, email: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p.begin_write().await.map_err(db("starting to stop a case's news"))?;
            let stopped = execute!(
                tx: tx,
                "stopping a case's news by email",
                "UPDATE case_reporters SET news_stopped_at = $2 WHERE case_id = $1 AND news_stopped_at IS NULL",
                case_id,
                now,
            )?;
            execute!(
                tx: tx,
                "dropping a case's queued news by email",
                "DELETE FROM outbox WHERE case_id = $1 AND channel = 'email' AND recipient = $2 AND sent_at IS NULL",
                case_id,
                email,
            )?;
            tx.commit().await.map_err(db("committing the stop of a case's news"))?;
            Ok(stopped > 0)
        })
    }

    /// The answer templates, of one category or all, by category then title.
    pub async fn answer_templates(&self, category: Option<&str>) -> Result<Vec<AnswerTemplateRow>, StoreError> {
        fetch!(
            &self.pool,
            fetch_all,
            "reading answer templates",
            "SELECT id, category, title, body, legal_basis, updated_at FROM answer_templates \
             WHERE $1 IS NULL OR category = $1 ORDER BY category, title",
            category,
        )
    }

    /// Replaces every answer template with `templates` (category, title, body, legal basis), with its audit entry,
    /// in one transaction.
    pub async fn replace_answer_templates(
        &self,
        templates: &[(String, String, String, String)],
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let writer = self.writer().await;
        on_pool!(writer.pool, |p| {
            let mut tx = p
                .begin_write()
                .await
                .map_err(db("starting to replace answer templates"))?;
            execute!(tx: tx, "clearing answer templates", "DELETE FROM answer_templates")?;
            for (category, title, body, legal_basis) in templates {
                execute!(
                    tx: tx,
                    "storing an answer template",
                    "INSERT INTO answer_templates (id, category, title, body, legal_basis, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    Uuid::new_v4(),
                    category,
                    title,
                    body,
                    legal_basis,
                    now,
                )?;
            }
            insert_audit!(tx, audit, now);
            tx.commit().await.map_err(db("committing answer templates"))?;
            Ok(())
        })
    }
}
