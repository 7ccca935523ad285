//! Typed configuration, read once at start-up and passed explicitly to whatever needs it.
//!
//! Layers, later ones winning: built-in defaults, then an optional TOML file (`--config FILE`, keys are the
//! environment names without the `YKIEN_` prefix, in lower case), then `YKIEN_*` environment variables. Every
//! value is validated here, so a bad setting stops the process before anything is opened, with one line that
//! names the setting and the fix. Secrets are wrapped in [`Secret`], whose `Debug` and `Display` never show them.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::domain::calendar::{Limit, WorkCalendar};

mod chat;
mod files;
pub mod mail;
pub use chat::{DEFAULT_TELEGRAM_API_URL, DEFAULT_ZALO_API_URL, DEFAULT_ZALO_OAUTH_URL, TelegramConfig, ZaloConfig};
use chat::{telegram_config, zalo_config};
pub use files::{FilesAt, S3Settings};

/// The database the service runs on, picked by the URL's scheme.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An embedded SQLite file (created if missing).
    Sqlite { path: PathBuf },
    /// A PostgreSQL server; the URL may hold a password, so it is never printed whole.
    Postgres { url: Secret },
}

impl DatabaseUrl {
    /// Parses `sqlite://PATH`, `sqlite:PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(value: &str) -> Result<Self, ConfigError> {
        const SETTING: &str = "YKIEN_DATABASE_URL";
        let value = value.trim();
        if let Some(rest) = value.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path.starts_with(":memory:") || path == "memory:" {
                return Err(ConfigError::new(
                    SETTING,
                    "an in-memory SQLite database would lose every answer at exit; use sqlite://PATH/TO/FILE.db",
                ));
            }
            let path = PathBuf::from(path);
            let folder = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            if !folder.is_dir() {
                return Err(ConfigError::new(
                    SETTING,
                    format!(
                        "the folder {} for the SQLite file does not exist; create it or choose another path",
                        folder.display()
                    ),
                ));
            }
            if path.is_dir() {
                return Err(ConfigError::new(
                    SETTING,
                    format!(
                        "{} is a folder, not a database file; add a file name such as ykien.db",
                        path.display()
                    ),
                ));
            }
            return Ok(Self::Sqlite { path });
        }
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            if value.len() <= "postgres://".len() {
                return Err(ConfigError::new(
                    SETTING,
                    "the PostgreSQL URL names no host; use postgres://USER@HOST:5432/DATABASE",
                ));
            }
            return Ok(Self::Postgres {
                url: Secret::new(value),
            });
        }
        let scheme = value.split(':').next().unwrap_or_default();
        Err(ConfigError::new(
            SETTING,
            format!(
                "unknown database scheme '{scheme}'; use sqlite://PATH/TO/FILE.db or postgres://USER@HOST/DATABASE"
            ),
        ))
    }

    /// A form safe to log: the SQLite path, or the PostgreSQL URL without its password.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite { path } => format!("sqlite://{}", path.display()),
            Self::Postgres { url } => redact_password(url.expose()),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Replaces the password of `scheme://user:password@host/…` with `***`.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, tail) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***@{host}{tail}")
            } else {
                url.to_owned()
            }
        }
        None => url.to_owned(),
    }
}

/// A value that must never reach a log line or an error message.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it (a key, a connection).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The shortest `YKIEN_SECRET` accepted: keyed hashes of chat identities must not be guessable.
pub const MIN_SECRET_LEN: usize = 32;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, for a terminal.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

/// The validated configuration of one process.
#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: DatabaseUrl,
    /// Where attachment files are kept (`YKIEN_FILES`; by default beside a SQLite database, in PostgreSQL).
    pub files: FilesAt,
    pub bind: SocketAddr,
    /// The address citizens and chat platforms reach this service at (links in messages, webhooks).
    pub public_url: Option<String>,
    /// Key for keyed hashes and sessions; `serve` requires it, `demo` creates one.
    pub secret: Option<Secret>,
    /// Bearer token of trusted API clients (administrators' scripts, data-entry apps) until accounts exist.
    pub api_token: Option<Secret>,
    pub log_format: LogFormat,
    /// A `tracing` filter such as `info` or `ykien=debug,tower_http=info`.
    pub log_filter: String,
    /// Working hours and holidays that deadlines are counted in.
    pub calendar: WorkCalendar,
    /// Deadline limits of feedback cases.
    pub deadlines: Deadlines,
    /// The Telegram bot, when a token is configured.
    pub telegram: Option<TelegramConfig>,
    /// The Zalo Official Account, when its app and OA keys are configured.
    pub zalo: Option<ZaloConfig>,
    /// How long the dashboard shows the same scores before it looks for new answers and cases.
    pub scores_refresh: Duration,
    /// A reverse proxy adds the client's address to `X-Forwarded-For` (for rate limits and logs).
    pub behind_proxy: bool,
    /// The per-address rate limits of the public forms and the login are on (off where the proxy limits, or for
    /// load tests and API fuzzing from one address).
    pub rate_limits: bool,
    /// Administrators must have two-factor sign-in (TOTP): one without it is sent to its set-up page before
    /// anything else (`YKIEN_REQUIRE_2FA`).
    pub require_2fa: bool,
    /// Where `GET /metrics` is served on its own, away from the public listener (`YKIEN_METRICS_BIND`).
    pub metrics_bind: Option<SocketAddr>,
    /// The bearer token `GET /metrics` asks for on the public listener (`YKIEN_METRICS_TOKEN`); without it and
    /// without `metrics_bind`, the public listener has no `/metrics`.
    pub metrics_token: Option<Secret>,
    /// How long a connection may take to send a request's headers, and how long it may stay idle between
    /// requests, before it is closed (`YKIEN_HEADER_TIMEOUT_SECONDS`).
    pub header_timeout: Duration,
    /// Complete web responses one client address may give per wave and commune (`YKIEN_RESPONSES_PER_ADDRESS`).
    pub responses_per_address: i64,
    /// Upload bytes an hour per sender and per commune (`YKIEN_UPLOAD_BUDGET_MB`, `services::uploads`).
    pub upload_budget: (u64, u64),
    /// Email through SMTP (`YKIEN_SMTP_URL`, `YKIEN_MAIL_FROM`), when configured.
    pub mail: Option<mail::MailConfig>,
}

/// Twenty: a family sharing a line, or a commune office's kiosk on a survey morning, stays under it; a script
/// posting forms from one address stops there (issue 22 moved a ward's rank with eight).
pub const DEFAULT_RESPONSES_PER_ADDRESS: i64 = 20;

/// Fifteen seconds to send a request's headers, or to send the next one on a kept-alive connection: a phone on
/// 3G sends a few hundred bytes of headers in well under a second, and a connection held longer only ties up a
/// socket (the probe of issue 22 held 500 for a minute).
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(15);

/// Five minutes: scores move slowly, and recomputing them is the heaviest work the service does.
pub const DEFAULT_SCORES_REFRESH: Duration = Duration::from_secs(300);

/// How long the authorities have, in working time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    pub accept: Limit,
    pub urgent: Limit,
    pub normal: Limit,
    pub complex: Limit,
}

impl Default for Deadlines {
    /// The provincial plans' defaults: accept within 8 working hours; answer urgent cases within 4 working hours,
    /// normal ones within 3 working days, complex ones within 10.
    fn default() -> Self {
        Self {
            accept: Limit::WorkingHours(8),
            urgent: Limit::WorkingHours(4),
            normal: Limit::WorkingDays(3),
            complex: Limit::WorkingDays(10),
        }
    }
}

/// Reads `accept=8h,urgent=4h,normal=3d,complex=10d` (any subset; the rest keep their defaults).
fn parse_deadlines(text: &str) -> Result<Deadlines, ConfigError> {
    const SETTING: &str = "YKIEN_DEADLINES";
    let mut d = Deadlines::default();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').ok_or_else(|| {
            ConfigError::new(
                SETTING,
                format!("'{part}' is not NAME=VALUE; write e.g. normal=3d,urgent=4h"),
            )
        })?;
        let value = value.trim();
        let number = |v: &str| v.parse::<u32>().ok().filter(|n| (1..=90 * 8).contains(n));
        let limit = if let Some(h) = value.strip_suffix('h').and_then(number) {
            Limit::WorkingHours(h)
        } else if let Some(days) = value.strip_suffix('d').and_then(number) {
            Limit::WorkingDays(days)
        } else {
            return Err(ConfigError::new(
                SETTING,
                format!("'{value}' is not a duration; write working hours as 4h or working days as 3d"),
            ));
        };
        match name.trim() {
            "accept" => d.accept = limit,
            "urgent" => d.urgent = limit,
            "normal" => d.normal = limit,
            "complex" => d.complex = limit,
            other => {
                return Err(ConfigError::new(
                    SETTING,
                    format!("'{other}' is none of accept, urgent, normal, complex"),
                ));
            }
        }
    }
    Ok(d)
}

/// Reads `07:30-11:30,13:30-17:00` into working sessions.
fn parse_sessions(text: &str) -> Result<Vec<(chrono::NaiveTime, chrono::NaiveTime)>, ConfigError> {
    const SETTING: &str = "YKIEN_WORK_HOURS";
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (a, b) = part.split_once('-').ok_or_else(|| {
                ConfigError::new(
                    SETTING,
                    format!("'{part}' is not a session; write e.g. 07:30-11:30,13:30-17:00"),
                )
            })?;
            let time = |t: &str| {
                chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M")
                    .map_err(|_| ConfigError::new(SETTING, format!("'{}' is not a time like 07:30", t.trim())))
            };
            Ok((time(a)?, time(b)?))
        })
        .collect()
}

/// A setting that cannot be used, with what to do about it; shown as one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration: {setting}: {message}")]
pub struct ConfigError {
    pub setting: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(setting: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            message: message.into(),
        }
    }
}

/// The raw, unvalidated layer values: the TOML file's shape and what the environment adds.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    database_url: Option<String>,
    files: Option<String>,
    bind: Option<String>,
    public_url: Option<String>,
    secret: Option<String>,
    api_token: Option<String>,
    log_format: Option<String>,
    log: Option<String>,
    work_hours: Option<String>,
    holidays_file: Option<String>,
    deadlines: Option<String>,
    telegram_token: Option<String>,
    telegram_webhook_secret: Option<String>,
    telegram_api_url: Option<String>,
    telegram_max_per_second: Option<String>,
    telegram_per_chat_per_second: Option<String>,
    zalo_app_id: Option<String>,
    zalo_app_secret: Option<String>,
    zalo_oa_secret_key: Option<String>,
    zalo_api_url: Option<String>,
    zalo_oauth_url: Option<String>,
    zalo_oa_link: Option<String>,
    scores_refresh_seconds: Option<String>,
    behind_proxy: Option<String>,
    rate_limits: Option<String>,
    require_2fa: Option<String>,
    metrics_bind: Option<String>,
    metrics_token: Option<String>,
    header_timeout_seconds: Option<String>,
    responses_per_address: Option<String>,
    upload_budget_mb: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
}

impl RawConfig {
    /// Environment values override file values, one field at a time.
    fn overlay_env(&mut self, env: &BTreeMap<String, String>) {
        let fields: [(&str, &mut Option<String>); 33] = [
            ("YKIEN_REQUIRE_2FA", &mut self.require_2fa),
            ("YKIEN_UPLOAD_BUDGET_MB", &mut self.upload_budget_mb),
            ("YKIEN_SMTP_URL", &mut self.smtp_url),
            ("YKIEN_MAIL_FROM", &mut self.mail_from),
            ("YKIEN_RESPONSES_PER_ADDRESS", &mut self.responses_per_address),
            ("YKIEN_METRICS_BIND", &mut self.metrics_bind),
            ("YKIEN_METRICS_TOKEN", &mut self.metrics_token),
            ("YKIEN_HEADER_TIMEOUT_SECONDS", &mut self.header_timeout_seconds),
            (
                "YKIEN_TELEGRAM_PER_CHAT_PER_SECOND",
                &mut self.telegram_per_chat_per_second,
            ),
            ("YKIEN_TELEGRAM_TOKEN", &mut self.telegram_token),
            ("YKIEN_TELEGRAM_WEBHOOK_SECRET", &mut self.telegram_webhook_secret),
            ("YKIEN_TELEGRAM_API_URL", &mut self.telegram_api_url),
            ("YKIEN_TELEGRAM_MAX_PER_SECOND", &mut self.telegram_max_per_second),
            ("YKIEN_ZALO_APP_ID", &mut self.zalo_app_id),
            ("YKIEN_ZALO_APP_SECRET", &mut self.zalo_app_secret),
            ("YKIEN_ZALO_OA_SECRET_KEY", &mut self.zalo_oa_secret_key),
            ("YKIEN_ZALO_API_URL", &mut self.zalo_api_url),
            ("YKIEN_ZALO_OAUTH_URL", &mut self.zalo_oauth_url),
            ("YKIEN_ZALO_OA_LINK", &mut self.zalo_oa_link),
            ("YKIEN_WORK_HOURS", &mut self.work_hours),
            ("YKIEN_SCORES_REFRESH_SECONDS", &mut self.scores_refresh_seconds),
            ("YKIEN_BEHIND_PROXY", &mut self.behind_proxy),
            ("YKIEN_RATE_LIMITS", &mut self.rate_limits),
            ("YKIEN_HOLIDAYS_FILE", &mut self.holidays_file),
            ("YKIEN_DEADLINES", &mut self.deadlines),
            ("YKIEN_DATABASE_URL", &mut self.database_url),
            ("YKIEN_FILES", &mut self.files),
            ("YKIEN_BIND", &mut self.bind),
            ("YKIEN_PUBLIC_URL", &mut self.public_url),
            ("YKIEN_SECRET", &mut self.secret),
            ("YKIEN_API_TOKEN", &mut self.api_token),
            ("YKIEN_LOG_FORMAT", &mut self.log_format),
            ("YKIEN_LOG", &mut self.log),
        ];
        for (name, slot) in fields {
            if let Some(v) = env.get(name) {
                *slot = Some(v.clone());
            }
        }
    }
}

/// The default SQLite file, in the working directory.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://ykien.db";
/// The default listening address: local only until an operator says otherwise.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";

impl Config {
    /// Loads the configuration from an optional TOML file and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars()
            // AWS_*: an S3-compatible bucket's settings (`YKIEN_FILES=s3://…`).
            .filter(|(k, _)| k.starts_with("YKIEN_") || k.starts_with("AWS_"))
            .collect();
        Self::from_layers(file, &env)
    }

    /// Loads from an optional TOML file and the given environment (tests pass their own).
    pub fn from_layers(file: Option<&Path>, env: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut raw = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError::new(
                        "--config",
                        format!("cannot read {}: {e}; check the path", path.display()),
                    )
                })?;
                toml::from_str::<RawConfig>(&text).map_err(|e| {
                    ConfigError::new(
                        "--config",
                        format!(
                            "{} is not a valid ykien configuration: {}",
                            path.display(),
                            one_line(&e.to_string())
                        ),
                    )
                })?
            }
            None => RawConfig::default(),
        };
        raw.overlay_env(env);
        let mut config = Self::validate(raw)?;
        // A bucket's credentials, region and endpoint: the usual AWS_* variables, from the environment only.
        if let FilesAt::S3 { settings, .. } = &mut config.files {
            settings.0 = env
                .iter()
                .filter(|(k, _)| k.starts_with("AWS_"))
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect();
        }
        Ok(config)
    }

    fn validate(raw: RawConfig) -> Result<Self, ConfigError> {
        let telegram = telegram_config(&raw)?;
        let zalo = zalo_config(&raw)?;
        let mail = mail::MailConfig::from_settings(given(&raw.smtp_url), given(&raw.mail_from))?;
        let database_url = DatabaseUrl::parse(raw.database_url.as_deref().unwrap_or(DEFAULT_DATABASE_URL))?;
        let files = match raw.files.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => FilesAt::default_for(&database_url),
            Some(text) => FilesAt::parse(text).map_err(|message| ConfigError::new("YKIEN_FILES", message))?,
        };

        let bind_text = raw.bind.as_deref().unwrap_or(DEFAULT_BIND).trim();
        let bind: SocketAddr = bind_text.parse().map_err(|_| {
            ConfigError::new(
                "YKIEN_BIND",
                format!(
                    "'{bind_text}' is not an IP address and port; use e.g. 127.0.0.1:8080 (port 0 picks a free one)"
                ),
            )
        })?;

        let public_url = match raw.public_url.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(u) => {
                let ok = (u.starts_with("https://") || u.starts_with("http://"))
                    && u.split("://")
                        .nth(1)
                        .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace));
                if !ok {
                    return Err(ConfigError::new(
                        "YKIEN_PUBLIC_URL",
                        format!("'{u}' is not an http(s) URL; use e.g. https://ykien.hungyen.gov.vn"),
                    ));
                }
                Some(u.trim_end_matches('/').to_owned())
            }
        };

        let long_enough = |setting: &str, value: Option<String>| -> Result<Option<Secret>, ConfigError> {
            match value {
                None => Ok(None),
                Some(s) if s.trim().chars().count() < MIN_SECRET_LEN => Err(ConfigError::new(
                    setting,
                    format!(
                        "too short (at least {MIN_SECRET_LEN} characters); generate one with: head -c 32 /dev/urandom | base64"
                    ),
                )),
                Some(s) => Ok(Some(Secret::new(s.trim()))),
            }
        };
        let secret = long_enough("YKIEN_SECRET", raw.secret)?;
        let api_token = long_enough("YKIEN_API_TOKEN", raw.api_token)?;

        let log_format = match raw.log_format.as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "YKIEN_LOG_FORMAT",
                    format!("'{other}' is not a log format; use text or json"),
                ));
            }
        };

        let log_filter = raw.log.unwrap_or_else(|| "info".to_owned());
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(ConfigError::new(
                "YKIEN_LOG",
                format!("'{log_filter}' is not a log filter; use e.g. info or ykien=debug,tower_http=info"),
            ));
        }

        let calendar = match raw.holidays_file.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => WorkCalendar::default_vietnam(),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    ConfigError::new(
                        "YKIEN_HOLIDAYS_FILE",
                        format!("cannot read {path}: {e}; check the path"),
                    )
                })?;
                WorkCalendar::from_toml(&text)
                    .map_err(|e| ConfigError::new("YKIEN_HOLIDAYS_FILE", format!("{path}: {e}")))?
            }
        };
        let calendar = match raw.work_hours.as_deref() {
            None => calendar,
            Some(text) => calendar
                .with_sessions(parse_sessions(text)?)
                .map_err(|e| ConfigError::new("YKIEN_WORK_HOURS", e.to_string()))?,
        };
        let deadlines = parse_deadlines(raw.deadlines.as_deref().unwrap_or_default())?;
        let scores_refresh = match raw.scores_refresh_seconds.as_deref().map(str::trim) {
            None => DEFAULT_SCORES_REFRESH,
            Some(text) => text.parse::<u64>().map(Duration::from_secs).map_err(|_| {
                ConfigError::new(
                    "YKIEN_SCORES_REFRESH_SECONDS",
                    format!(
                        "'{text}' is not a number of seconds; use e.g. 300 (0 looks for new answers on every page)"
                    ),
                )
            })?,
        };

        let behind_proxy = parse_bool("YKIEN_BEHIND_PROXY", raw.behind_proxy.as_deref(), false)?;
        let rate_limits = parse_bool("YKIEN_RATE_LIMITS", raw.rate_limits.as_deref(), true)?;
        let require_2fa = parse_bool("YKIEN_REQUIRE_2FA", raw.require_2fa.as_deref(), false)?;
        let metrics_bind = match raw.metrics_bind.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(text) => Some(text.parse::<SocketAddr>().map_err(|_| {
                ConfigError::new(
                    "YKIEN_METRICS_BIND",
                    format!(
                        "'{text}' is not an IP address and port; use e.g. 127.0.0.1:9090 (reachable by Prometheus only)"
                    ),
                )
            })?),
        };
        let metrics_token = long_enough("YKIEN_METRICS_TOKEN", raw.metrics_token)?;
        let upload_budget = match raw.upload_budget_mb.as_deref().map(str::trim) {
            None => (
                crate::services::uploads::DEFAULT_PER_SENDER,
                crate::services::uploads::DEFAULT_PER_COMMUNE,
            ),
            Some(text) => match text
                .split_once(',')
                .map(|(a, c)| (a.trim().parse::<u64>(), c.trim().parse::<u64>()))
            {
                Some((Ok(a), Ok(c))) if a >= 1 && c >= a && c <= 4_000_000 => (a << 20, c << 20),
                _ => {
                    return Err(ConfigError::new(
                        "YKIEN_UPLOAD_BUDGET_MB",
                        format!(
                            "'{text}' is not SENDER,COMMUNE megabytes an hour (commune ≥ sender); use e.g. 100,1000"
                        ),
                    ));
                }
            },
        };
        let responses_per_address = match raw.responses_per_address.as_deref().map(str::trim) {
            None => DEFAULT_RESPONSES_PER_ADDRESS,
            Some(text) => text.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                ConfigError::new(
                    "YKIEN_RESPONSES_PER_ADDRESS",
                    format!("'{text}' is not a whole number from 1; use e.g. 20"),
                )
            })?,
        };
        let header_timeout = match raw.header_timeout_seconds.as_deref().map(str::trim) {
            None => DEFAULT_HEADER_TIMEOUT,
            Some(text) => match text.parse::<u64>() {
                Ok(n) if (1..=300).contains(&n) => Duration::from_secs(n),
                _ => {
                    return Err(ConfigError::new(
                        "YKIEN_HEADER_TIMEOUT_SECONDS",
                        format!("'{text}' is not a number of seconds from 1 to 300; use e.g. 15"),
                    ));
                }
            },
        };

        Ok(Self {
            database_url,
            files,
            bind,
            public_url,
            secret,
            api_token,
            log_format,
            log_filter,
            calendar,
            deadlines,
            telegram,
            zalo,
            scores_refresh,
            behind_proxy,
            rate_limits,
            require_2fa,
            metrics_bind,
            metrics_token,
            header_timeout,
            responses_per_address,
            upload_budget,
            mail,
        })
    }

    /// The secret, or the error that tells the operator how to set one.
    pub fn require_secret(&self) -> Result<&Secret, ConfigError> {
        self.secret.as_ref().ok_or_else(|| {
            ConfigError::new(
                "YKIEN_SECRET",
                "not set; generate one with: head -c 32 /dev/urandom | base64, and keep it (changing it breaks duplicate detection)",
            )
        })
    }
}

/// A set, non-blank value.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `true` or `false`, or `default` when not set.
fn parse_bool(name: &str, value: Option<&str>, default: bool) -> Result<bool, ConfigError> {
    match value.map(str::trim) {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(ConfigError::new(name, format!("'{other}' is not true or false"))),
    }
}

#[cfg(test)]
mod tests;
