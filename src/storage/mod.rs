//! Persistence: one [`Store`] over either an embedded SQLite file or a PostgreSQL server, picked by the
//! database URL's scheme. All SQL of the service lives under this module.
//!
//! Each query is written once, in the SQL both engines accept (`$1` placeholders, `RETURNING`, no engine-specific
//! functions; ids and timestamps made in Rust), and run on whichever pool the store holds through [`on_pool!`],
//! so both arms use the native driver types. Errors of the drivers become [`StoreError`] in one place, [`db`].

mod account_admin;
mod account_security;
mod case_changes;
mod case_news;
mod cases;
mod chat;
mod export;
mod files;
mod login_throttles;
mod official_reach;
mod officials;
mod outbox;
mod publication;
mod questionnaire_maps;
mod reach;
mod response_quality;
mod score_snapshots;
mod surveys;
mod unit_scores;
mod units;
mod villages;
mod waves;
mod weights;

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::config::DatabaseUrl;

use crate::config::FilesAt;
pub use account_admin::SessionRow;
pub use account_security::{ResetLinkRow, ResetLinkUse, TotpRow};
pub use case_changes::{
    AuditEntry, CaseChange, CaseEvent, NewAnswer, NewAttachment, NewCase, NewOutboxMessage, PauseChange,
};
pub use case_news::{AnswerTemplateRow, NewsEmailRow, NewsTokenRow};
pub use cases::{
    Attachment, AttachmentMeta, CaseAnswerRow, CaseEventRow, CaseFacts, CaseFilter, Pause, QueuedMessage, Rating,
    ReporterRow,
};
pub use chat::{ChatTurnWritten, ChatUserRow, HandledChatEvent, NewChatEvent, TokenRow};
pub use export::{AnswersPage, ExportedAnswer};
pub use files::Files;
pub use login_throttles::LoginThrottleRow;
pub use official_reach::{AlertSettingsRow, LinkCodeUse, LinkedChatRow, NewAlert, OutboxStateRow, TimelineEventRow};
pub use officials::{AuditRow, NewOfficial, OfficialRow};
pub use outbox::OutboxRow;
pub use publication::{ApiClient, PublicCase, PublicCaseFilter, Publication};
pub use reach::{
    CampaignRow, CommuneReport, NewCampaign, QuizEntryRow, QuizRoundRow, RecipientRow, ZALO_REPLIES_PER_WINDOW,
};
pub use response_quality::{ChannelCount, FlaggedCount, FlaggedResponse};
pub use score_snapshots::ScoreSnapshotRow;
pub use surveys::{
    NewResponse, QuestionnaireImport, Session, SessionFrom, SessionTo, SessionWrite, SessionWritten, StoredAnswer,
    StoredQuestionnaire,
};
pub use unit_scores::{UnitResponses, UnitReviews, UnitScoreRow};
pub use units::{ImportCounts, UnitLink};
pub use villages::{VillageAnswer, VillageRow};
pub use waves::OpenWave;
pub use weights::ProfileAnswer;

/// The database engines a store can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs the same expression on whichever pool the store holds; `$p` is the native pool in each arm.
macro_rules! on_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::storage::Pool::Sqlite($p) => $body,
            $crate::storage::Pool::Postgres($p) => $body,
        }
    };
}
pub(crate) use on_pool;

/// One statement that writes, with its binds, on a pool (`execute!(writer.pool, …)`) or in a transaction
/// (`execute!(tx: tx, …)`): the number of rows it changed, or the [`StoreError`] of `$context`.
macro_rules! execute {
    (tx: $tx:expr, $context:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        sqlx::query($sql)
            $(.bind($bind))*
            .execute(&mut *$tx)
            .await
            .map(|done| done.rows_affected())
            .map_err($crate::storage::db($context))
    };
    ($pool:expr, $context:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        $crate::storage::on_pool!($pool, |p| sqlx::query($sql)
            $(.bind($bind))*
            .execute(p)
            .await
            .map(|done| done.rows_affected())
            .map_err($crate::storage::db($context)))
    };
}
pub(crate) use execute;

/// One query with its binds on a pool, read by `$fetch` (`fetch_one`, `fetch_optional`, `fetch_all`) into the
/// row type the caller expects, or the [`StoreError`] of `$context`.
macro_rules! fetch {
    ($pool:expr, $fetch:ident, $context:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        $crate::storage::on_pool!($pool, |p| sqlx::query_as($sql)
            $(.bind($bind))*
            .$fetch(p)
            .await
            .map_err($crate::storage::db($context)))
    };
}
pub(crate) use fetch;

/// What can go wrong when storing or reading; the HTTP layer maps these to statuses in one place.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} was not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Conflict(String),
    /// Row `index` of a batch cannot be stored; nothing of the batch was kept.
    #[error("row {index}: {reason}")]
    Rejected { index: usize, reason: String },
    #[error("cannot open the database {url}: {source}")]
    Open { url: String, source: sqlx::Error },
    #[error("cannot apply the database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database holds a value this build cannot read (written by a newer version, or edited by hand).
    #[error("unreadable stored value: {0}")]
    Corrupt(String),
    #[error("{context}: {source}")]
    Database { context: &'static str, source: sqlx::Error },
    /// The directory or bucket of attachment files failed (`YKIEN_FILES`).
    #[error("attachment files: {0}")]
    Files(String),
}

/// Turns a driver error into a [`StoreError`], with a sentence of context: the one place where unique
/// violations and missing rows become domain errors.
pub(crate) fn db(context: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| match &source {
        sqlx::Error::RowNotFound => StoreError::NotFound(context.to_owned()),
        sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::Conflict(context.to_owned()),
        _ => StoreError::Database { context, source },
    }
}

/// The migrations, embedded in the binary: one folder of SQL that both engines accept.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "admin units", include_str!("../../migrations/0001_admin_units.sql")),
    (2, "surveys", include_str!("../../migrations/0002_surveys.sql")),
    (3, "cases", include_str!("../../migrations/0003_cases.sql")),
    (4, "chat", include_str!("../../migrations/0004_chat.sql")),
    (
        5,
        "responses by wave",
        include_str!("../../migrations/0005_responses_by_wave.sql"),
    ),
    (
        6,
        "outbox claims",
        include_str!("../../migrations/0006_outbox_claims.sql"),
    ),
    (
        7,
        "session answers",
        include_str!("../../migrations/0007_session_answers.sql"),
    ),
    (
        8,
        "no web outbox",
        include_str!("../../migrations/0008_no_web_outbox.sql"),
    ),
    (9, "publication", include_str!("../../migrations/0009_publication.sql")),
    (
        10,
        "case address",
        include_str!("../../migrations/0010_case_address.sql"),
    ),
    (
        11,
        "login throttles",
        include_str!("../../migrations/0011_login_throttles.sql"),
    ),
    (
        12,
        "response quality",
        include_str!("../../migrations/0012_response_quality.sql"),
    ),
    (13, "officials", include_str!("../../migrations/0013_officials.sql")),
    (14, "reach", include_str!("../../migrations/0014_reach.sql")),
    (
        15,
        "score snapshots",
        include_str!("../../migrations/0015_score_snapshots.sql"),
    ),
    (
        16,
        "code maps and villages",
        include_str!("../../migrations/0016_code_maps_and_villages.sql"),
    ),
    (
        17,
        "split questionnaire",
        include_str!("../../migrations/0017_split_questionnaire.sql"),
    ),
    (18, "intake desk", include_str!("../../migrations/0018_intake_desk.sql")),
    (
        19,
        "account security",
        include_str!("../../migrations/0019_account_security.sql"),
    ),
    (
        20,
        "quiz rounds and you said",
        include_str!("../../migrations/0020_quiz_rounds_and_you_said.sql"),
    ),
    (
        21,
        "attachment files",
        include_str!("../../migrations/0021_attachment_files.sql"),
    ),
    (
        22,
        "stored weights",
        include_str!("../../migrations/0022_stored_weights.sql"),
    ),
    (
        23,
        "unit score snapshots",
        include_str!("../../migrations/0023_unit_score_snapshots.sql"),
    ),
    (
        24,
        "channel counts from the index",
        include_str!("../../migrations/0024_channel_counts_from_the_index.sql"),
    ),
];

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// The pool to write through, held with this process's writer turn on SQLite (released when dropped). Every
/// method that writes takes one first and runs its statements on `writer.pool`; reads use the store's pool. A
/// test below reads this folder and fails when a statement that writes is issued without it.
pub(crate) struct Writer<'a> {
    pool: &'a Pool,
    _turn: Option<tokio::sync::MutexGuard<'a, ()>>,
}

/// Begins a transaction that writes: call it on `writer.pool`'s engine pool instead of `begin()`.
///
/// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`). A deferred `BEGIN` takes it at the first write,
/// and when another connection holds it then, a transaction that has already read is refused with "database is
/// locked" without waiting in the busy handler (SQLite cannot let it wait: its snapshot would be stale). The
/// writer turn does not prevent that: a transaction dropped on an error returns its connection to the pool
/// before its rollback has run on the connection's thread, so the next writer can meet the lock for a moment.
pub(crate) trait BeginWrite<DB: sqlx::Database> {
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, DB>, sqlx::Error>;
}

impl BeginWrite<sqlx::Sqlite> for SqlitePool {
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite<sqlx::Postgres> for PgPool {
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// The storage of one service instance; cheap to clone (it holds a connection pool).
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// SQLite takes one writer at a time; writers of this process queue here instead of polling the database
    /// lock (its busy handler sleeps up to 100 ms between tries, which is what long latency tails are made of).
    sqlite_writer: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Where attachment bytes go (`YKIEN_FILES`, [`FilesAt::default_for`] the database by default).
    files: Files,
}

impl Store {
    /// Opens (and for SQLite, creates) the database. Does not migrate: call [`Store::migrate`].
    pub async fn open(url: &DatabaseUrl) -> Result<Self, StoreError> {
        Self::open_with_files(url, &FilesAt::default_for(url)).await
    }

    /// [`Store::open`], with attachment files kept where `files` says (`YKIEN_FILES`).
    pub async fn open_with_files(url: &DatabaseUrl, files: &FilesAt) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open {
            url: url.redacted(),
            source,
        };
        let pool = match url {
            DatabaseUrl::Sqlite { path } => {
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5))
                    .foreign_keys(true);
                // No ping before each use (sqlx's default): a connection to a file in this process does not go
                // stale, and the ping was one more round trip to the connection's thread for every statement
                // (BENCHMARKS.md, chat-webhooks: 1,285 -> 1,453 updates/s).
                let pool = SqlitePoolOptions::new()
                    .max_connections(8)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(open_err)?;
                Pool::Sqlite(pool)
            }
            DatabaseUrl::Postgres { url: secret } => {
                let options = sqlx::postgres::PgConnectOptions::from_str(secret.expose()).map_err(open_err)?;
                // No ping before each use either: it cost a round trip to the server per statement. A connection
                // the server dropped fails its next statement instead, and sqlx closes it; what failed is retried as
                // any failure is (a webhook event by recovery, a page by its reader).
                let pool = PgPoolOptions::new()
                    .max_connections(10)
                    .test_before_acquire(false)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(open_err)?;
                Pool::Postgres(pool)
            }
        };
        let store = Self {
            pool,
            sqlite_writer: std::sync::Arc::new(tokio::sync::Mutex::new(())),
            files: Files::open(files)?,
        };
        // A file that is not a SQLite database only fails on its first statement: fail here, not later.
        store.ping().await.map_err(|e| match e {
            StoreError::Database { source, .. } => StoreError::Open {
                url: url.redacted(),
                source,
            },
            other => other,
        })?;
        Ok(store)
    }

    /// Applies the embedded migrations that have not run yet. Safe to run from several instances at once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = migrator();
        on_pool!(&self.pool, |p| migrator.run(p).await?);
        Ok(())
    }

    /// The right to write: waits for this process's turn on SQLite; nothing to wait for on PostgreSQL.
    pub(crate) async fn writer(&self) -> Writer<'_> {
        let turn = match self.pool {
            Pool::Sqlite(_) => Some(self.sqlite_writer.lock().await),
            Pool::Postgres(_) => None,
        };
        Writer {
            pool: &self.pool,
            _turn: turn,
        }
    }

    /// The engine this store runs on.
    pub fn engine(&self) -> Engine {
        match self.pool {
            Pool::Sqlite(_) => Engine::Sqlite,
            Pool::Postgres(_) => Engine::Postgres,
        }
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        execute!(&self.pool, "checking the database", "SELECT 1")?;
        Ok(())
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        on_pool!(&self.pool, |p| p.close().await);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_of_the_migrations_folder_is_embedded_in_order() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".sql"))
            .collect();
        files.sort();
        assert_eq!(files.len(), MIGRATIONS.len(), "migrations/ holds {files:?}");
        // In order; numbers may be skipped (engineers working in parallel take reserved numbers), never reused.
        let mut previous = 0;
        for (file, (version, _, sql)) in files.iter().zip(MIGRATIONS) {
            assert!(*version > previous, "{file}: versions must increase");
            previous = *version;
            assert!(
                file.starts_with(&format!("{version:04}_")),
                "{file} is not version {version}"
            );
            assert_eq!(std::fs::read_to_string(folder.join(file)).unwrap(), *sql, "{file}");
        }
    }

    /// Every storage method whose SQL writes (INSERT, UPDATE, DELETE) takes the writer turn and writes through
    /// it: on SQLite a write outside the turn would wait in the database's busy handler instead of the queue.
    /// Every transaction begins with [`BeginWrite::begin_write`].
    #[test]
    fn every_write_goes_through_the_writer_turn() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/storage");
        let mut offenders = Vec::new();
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or_default();
            for body in text.split("async fn ").skip(1) {
                let name: String = body.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                let writes = [
                    "\"INSERT ",
                    "\"UPDATE ",
                    "\"DELETE ",
                    " INSERT INTO",
                    " DELETE FROM",
                    ".begin_write()",
                ]
                .iter()
                .any(|w| body.contains(w));
                let through_writer = body.contains("self.writer().await") && !body.contains("&self.pool");
                if writes && !through_writer {
                    offenders.push(format!("{}: {name}", path.display()));
                }
                let begins = body.contains(".begin()") || body.contains(".begin_with(");
                if begins && !body.starts_with("begin_write") {
                    offenders.push(format!(
                        "{}: {name} begins a transaction without begin_write",
                        path.display()
                    ));
                }
            }
        }
        assert!(offenders.is_empty(), "writes outside the writer turn: {offenders:?}");
    }

    /// A migrated SQLite store in a temporary folder, which must be kept as long as the store.
    async fn sqlite_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&DatabaseUrl::Sqlite {
            path: dir.path().join("t.db"),
        })
        .await
        .unwrap();
        store.migrate().await.unwrap();
        (dir, store)
    }

    fn sqlite_pool(store: &Store) -> &SqlitePool {
        let Pool::Sqlite(pool) = &store.pool else {
            panic!("a SQLite store")
        };
        pool
    }

    #[tokio::test]
    async fn unique_violations_and_missing_rows_become_domain_errors() {
        let (_dir, store) = sqlite_store().await;
        let pool = sqlite_pool(&store);
        let insert = "INSERT INTO admin_units (id, code, name, level, kind, valid_from, valid_to, updated_at) \
                      VALUES ($1, '33', 'Tỉnh Hưng Yên', 'province', 'tỉnh', '2025-07-01', '9999-12-31', '2025-07-01T00:00:00Z')";
        sqlx::query(insert)
            .bind(uuid::Uuid::new_v4())
            .execute(pool)
            .await
            .unwrap();
        let again = sqlx::query(insert)
            .bind(uuid::Uuid::new_v4())
            .execute(pool)
            .await
            .unwrap_err();
        assert!(matches!(db("unit 33")(again), StoreError::Conflict(what) if what == "unit 33"));
        let missing = sqlx::query("SELECT id FROM admin_units WHERE code = '99'")
            .fetch_one(pool)
            .await
            .unwrap_err();
        assert!(matches!(db("unit 99")(missing), StoreError::NotFound(what) if what == "unit 99"));
    }

    /// While another connection holds SQLite's write lock, as a transaction dropped on an error does until its
    /// rollback has run on its connection's thread, a deferred transaction that reads before it writes is refused
    /// at once; one begun with `begin_write` waits for the lock and goes through.
    #[tokio::test]
    async fn a_writer_waits_for_the_write_lock_even_when_it_reads_first() {
        let (_dir, store) = sqlite_store().await;
        let pool = sqlite_pool(&store);
        let insert = |code: &'static str| {
            sqlx::query(
                "INSERT INTO admin_units (id, code, name, level, kind, valid_from, valid_to, updated_at) \
                 VALUES ($1, $2, 'Tỉnh', 'province', 'tỉnh', '2025-07-01', '9999-12-31', '2025-07-01T00:00:00Z')",
            )
            .bind(uuid::Uuid::new_v4())
            .bind(code)
        };
        let count = "SELECT COUNT(*) FROM admin_units";
        let mut holder = pool.begin_write().await.unwrap();
        insert("33").execute(&mut *holder).await.unwrap();

        let mut deferred = pool.begin().await.unwrap();
        let _: (i64,) = sqlx::query_as(count).fetch_one(&mut *deferred).await.unwrap();
        let refused = insert("01").execute(&mut *deferred).await.unwrap_err();
        assert!(refused.to_string().contains("locked"), "{refused}");
        drop(deferred);

        let writer = tokio::spawn({
            let pool = pool.clone();
            async move {
                let mut tx = pool.begin_write().await?;
                let (seen,): (i64,) = sqlx::query_as(count).fetch_one(&mut *tx).await?;
                insert("01").execute(&mut *tx).await?;
                tx.commit().await?;
                Ok::<i64, sqlx::Error>(seen)
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(holder);
        assert_eq!(
            writer.await.unwrap().unwrap(),
            0,
            "the writer saw the held transaction's row"
        );
        let codes: Vec<(String,)> = sqlx::query_as("SELECT code FROM admin_units")
            .fetch_all(pool)
            .await
            .unwrap();
        assert_eq!(codes, vec![("01".to_owned(),)]);
    }

    #[tokio::test]
    async fn sqlite_runs_with_wal_and_foreign_keys() {
        let (_dir, store) = sqlite_store().await;
        let pool = sqlite_pool(&store);
        let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode").fetch_one(pool).await.unwrap();
        let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys").fetch_one(pool).await.unwrap();
        let (busy,): (i64,) = sqlx::query_as("PRAGMA busy_timeout").fetch_one(pool).await.unwrap();
        assert_eq!((mode.as_str(), fk, busy), ("wal", 1, 5000));
    }
}
