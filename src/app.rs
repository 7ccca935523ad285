//! Start-up: from a validated [`Config`] to a listening service. `main` and the tests use this same path.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{Config, ConfigError};
use crate::domain::cases::{BUNDLED_CATEGORIES, parse_categories};
use crate::http::{self, AppState, Metrics};
use crate::services::alerts::ticker::AlertTicker;
use crate::services::cases::{CaseRules, Cases};
use crate::services::channels::{ChatChannels, TelegramChannel, ZaloChannel};
use crate::services::chat::Chats;
use crate::services::outbox::{self, Sender};
use crate::services::publication::Publications;
use crate::services::reach::you_said::YouSaidTicker;
use crate::services::scoreboard::{Scoreboard, SnapshotKey};
use crate::services::survey::Surveys;
use crate::storage::{Store, StoreError};

/// Why the service could not start; each is reported as one line and exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("YKIEN_BIND: cannot listen on {addr}: {source}; choose a free port (0 picks one)")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// Opens the database named by the configuration and applies pending migrations.
pub async fn open_store(config: &Config) -> Result<Store, StoreError> {
    let store = Store::open_with_files(&config.database_url, &config.files).await?;
    store.migrate().await?;
    Ok(store)
}

/// A service answering requests in the background.
pub struct RunningApp {
    /// Where it listens (with the real port when 0 was asked for).
    pub addr: SocketAddr,
    /// Where `/metrics` is served on its own (`YKIEN_METRICS_BIND`), if anywhere.
    pub metrics_addr: Option<SocketAddr>,
    pub store: Store,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    /// The background loops ([`run_background`]), stopped at shutdown.
    background: Vec<JoinHandle<()>>,
    scoreboard: Arc<Scoreboard>,
    /// The chat channels, whose event log is flushed at shutdown.
    channels: Arc<ChatChannels>,
    /// The officials' alert ticker (its background loop ticks on the wall clock; tests tick it at other times).
    pub alerts: Arc<AlertTicker>,
    /// Prepares the "you said, we did" drafts when report periods end (its loop ticks on the wall clock; tests tick
    /// it at other times).
    pub you_said: Arc<YouSaidTicker>,
}

impl RunningApp {
    /// Computes the dashboard's scores of the newest wave with answers, and those of every publication, in the
    /// background, so that the first leader or citizen to look does not wait.
    pub fn warm_scores(&self) {
        let scoreboard = self.scoreboard.clone();
        let store = self.store.clone();
        tokio::spawn(async move {
            match store.publications(None).await {
                Ok(publications) => {
                    for p in publications {
                        let key = SnapshotKey {
                            wave: p.wave_code,
                            period: p.period,
                        };
                        if let Err(e) = scoreboard.prepare(&key) {
                            tracing::warn!(error = %e, "the published scores could not be computed ahead");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "the publications could not be read"),
            }
            let warmed = match scoreboard.default_wave().await {
                Ok(Some(wave)) => scoreboard
                    .snapshot(&SnapshotKey {
                        wave: wave.code,
                        period: None,
                    })
                    .await
                    .map(drop),
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = warmed {
                tracing::warn!(error = %e, "the dashboard's scores could not be computed ahead");
            }
        });
    }

    /// The base URL of the running service, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections, lets in-flight requests finish, then closes the database.
    pub async fn shut_down(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let served = (&mut self.task).await.unwrap_or_else(|e| Err(std::io::Error::other(e)));
        for task in &self.background {
            task.abort();
        }
        self.channels.flush().await;
        self.store.close().await;
        served
    }
}

/// Binds `config.bind` and serves the application on `store` until [`RunningApp::shut_down`].
pub async fn start(config: &Config, store: Store) -> Result<RunningApp, StartError> {
    let secret = config.require_secret()?.clone();
    let categories = parse_categories(BUNDLED_CATEGORIES).map_err(|e| {
        ConfigError::new(
            "data/categories.toml",
            format!("the bundled categories are broken: {e}"),
        )
    })?;
    let mail = match &config.mail {
        Some(c) => Some(crate::services::mail::MailSender::new(c).map_err(|e| ConfigError::new("YKIEN_SMTP_URL", e))?),
        None => None,
    };
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.bind,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let surveys = Arc::new(Surveys::new(store.clone(), secret));
    let (per_sender, per_commune) = config.upload_budget;
    let cases = Arc::new(
        Cases::new(store.clone(), categories, CaseRules::from_config(config))
            .with_upload_budget(per_sender, per_commune)
            .with_public_url(config.public_url.clone()),
    );
    let outbox_wake = Arc::new(tokio::sync::Notify::new());
    let channels = Arc::new(chat_channels(config, &store, &surveys, &cases, &outbox_wake)?);
    let scoreboard = Arc::new(Scoreboard::new(
        store.clone(),
        surveys.clone(),
        cases.rules().calendar.clone(),
        config.scores_refresh,
    ));
    let state = AppState {
        store: store.clone(),
        metrics: Arc::new(Metrics::default()),
        config: Arc::new(config.clone()),
        surveys,
        cases: cases.clone(),
        channels: channels.clone(),
        outbox: outbox_wake.clone(),
        scoreboard: scoreboard.clone(),
        publications: Arc::new(Publications::new(store.clone(), scoreboard.clone())),
        limits: Arc::new(http::RateLimiter::new(config.behind_proxy, config.rate_limits)),
    };
    // `/metrics` on its own address when one is configured (reachable by the monitoring system only).
    let metrics = match config.metrics_bind {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Bind { addr, source })?;
            let local = listener
                .local_addr()
                .map_err(|source| StartError::Bind { addr, source })?;
            let router = http::metrics_router(state.clone());
            let timeout = config.header_timeout;
            let serving = async move {
                if let Err(e) = http::serve(listener, router, timeout, std::future::pending()).await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            };
            tracing::info!(addr = %local, "metrics are served on their own address");
            Some((local, serving))
        }
        None => None,
    };
    let router = http::router(state);
    let (tx, rx) = oneshot::channel::<()>();
    let header_timeout = config.header_timeout;
    let task = tokio::spawn(http::serve(listener, router, header_timeout, async move {
        let _ = rx.await;
    }));
    // The outbox worker runs beside the server: notifications of case changes go out even with no traffic.
    if let Some(telegram) = channels.telegram.clone() {
        tokio::spawn(async move { telegram.learn_username().await });
    }
    let alerts = Arc::new(AlertTicker::new(
        store.clone(),
        cases.clone(),
        config.public_url.clone(),
        outbox_wake.clone(),
    ));
    let you_said = Arc::new(YouSaidTicker::new(
        store.clone(),
        scoreboard.clone(),
        config.public_url.clone(),
    ));
    let mut senders = channels.senders();
    if let Some(mail) = mail {
        senders.push(Arc::new(mail));
    }
    let mut background = run_background(store.clone(), cases, channels.clone(), outbox_wake, senders);
    background.push(every(
        "raising officials' alerts",
        std::time::Duration::from_secs(30),
        None,
        {
            let alerts = alerts.clone();
            move || {
                let alerts = alerts.clone();
                async move { alerts.tick().await.map(drop) }
            }
        },
    ));
    background.push(every(
        "preparing 'you said, we did' drafts",
        std::time::Duration::from_secs(600),
        None,
        {
            let you_said = you_said.clone();
            move || {
                let you_said = you_said.clone();
                async move { you_said.tick_at(chrono::Utc::now()).await.map(drop) }
            }
        },
    ));
    let metrics_addr = metrics.map(|(addr, serving)| {
        background.push(tokio::spawn(serving));
        addr
    });
    tracing::info!(%addr, database = %config.database_url.redacted(), "ykien is listening");
    Ok(RunningApp {
        addr,
        metrics_addr,
        store,
        shutdown: Some(tx),
        task,
        background,
        scoreboard,
        channels,
        alerts,
        you_said,
    })
}

/// The chat channels that are configured; a channel whose client cannot be built stops the start.
fn chat_channels(
    config: &Config,
    store: &Store,
    surveys: &Arc<Surveys>,
    cases: &Arc<Cases>,
    outbox_wake: &Arc<tokio::sync::Notify>,
) -> Result<ChatChannels, ConfigError> {
    let chats = Arc::new(Chats::new(
        store.clone(),
        surveys.clone(),
        cases.clone(),
        config.public_url.clone(),
    ));
    let telegram = match &config.telegram {
        Some(c) => Some(Arc::new(
            TelegramChannel::new(c).map_err(|e| ConfigError::new("YKIEN_TELEGRAM_TOKEN", e))?,
        )),
        None => None,
    };
    let zalo = match &config.zalo {
        Some(c) => Some(Arc::new(
            ZaloChannel::new(c, store.clone()).map_err(|e| ConfigError::new("YKIEN_ZALO_APP_ID", e))?,
        )),
        None => None,
    };
    Ok(ChatChannels::new(
        store.clone(),
        chats,
        telegram,
        zalo,
        outbox_wake.clone(),
    ))
}

/// The work that runs beside the server: deliver due notifications (every 5 s, or at once when woken), take up
/// chat events an instance left unhandled, keep the Zalo token fresh, flag overdue cases, prune old chat events,
/// expired sessions, old failed logins and abandoned surveys.
/// Each runs in its own loop, so that a slow platform delaying the outbox delays nothing else, and backs off while
/// it fails. Several instances may run them at once: every step claims its rows first.
fn run_background(
    store: Store,
    cases: Arc<Cases>,
    channels: Arc<ChatChannels>,
    wake: Arc<tokio::sync::Notify>,
    senders: Vec<Arc<dyn Sender>>,
) -> Vec<JoinHandle<()>> {
    use std::time::Duration;
    let senders: Arc<Vec<Arc<dyn Sender>>> = Arc::new(senders);
    let mut loops = vec![
        every("delivering the outbox", Duration::from_secs(5), Some(wake), {
            let store = store.clone();
            move || {
                let (store, senders) = (store.clone(), senders.clone());
                async move {
                    // A campaign queues thousands at once: batches follow each other while they deliver anything
                    // (the platforms' limits pace them), and the loop rests once a batch delivers nothing.
                    for _ in 0..1_000 {
                        if outbox::deliver_due(&store, &senders, chrono::Utc::now(), 100).await? == 0 {
                            break;
                        }
                    }
                    Ok::<(), crate::services::Error>(())
                }
            }
        }),
        every("taking up unhandled chat events", Duration::from_secs(5), None, {
            let channels = channels.clone();
            move || {
                let channels = channels.clone();
                async move { channels.recover(100).await.map(drop) }
            }
        }),
        every("forgetting refilled upload budgets", Duration::from_secs(600), None, {
            let cases = cases.clone();
            move || {
                cases.uploads().forget_refilled();
                std::future::ready(Ok::<(), std::convert::Infallible>(()))
            }
        }),
        every("escalating overdue cases", Duration::from_secs(30), None, move || {
            let cases = cases.clone();
            async move { cases.escalate_overdue(chrono::Utc::now()).await.map(drop) }
        }),
        every("pruning old rows", Duration::from_secs(3600), None, move || {
            let store = store.clone();
            async move {
                let now = chrono::Utc::now();
                let events = store.prune_chat_events(now - KEEP_CHAT_EVENTS).await?;
                let sessions = store.prune_expired_sessions(now).await?;
                let forget = chrono::Duration::from_std(crate::services::accounts::FORGET_FAILURES_AFTER)
                    .unwrap_or(chrono::Duration::days(1));
                let logins = store.prune_login_throttles(now - forget).await?;
                let surveys = store.prune_abandoned_sessions(now - ABANDONED_SURVEY_AFTER).await?;
                if events + sessions + logins + surveys > 0 {
                    tracing::info!(
                        events,
                        sessions,
                        logins,
                        surveys,
                        "old chat events, expired sessions, old failed logins and abandoned surveys pruned"
                    );
                }
                Ok::<_, crate::storage::StoreError>(())
            }
        }),
    ];
    if let Some(zalo) = channels.zalo.clone() {
        loops.push(every(
            "keeping the Zalo token fresh",
            Duration::from_secs(5),
            None,
            move || {
                let zalo = zalo.clone();
                async move { zalo.tokens().keep_fresh().await }
            },
        ));
    }
    loops
}

/// How long an untouched survey session (and the unfinished response it holds) is kept: a wave lasts weeks, and
/// someone who has not come back in a month has left.
const ABANDONED_SURVEY_AFTER: chrono::Duration = chrono::Duration::days(30);

/// How long handled chat events are kept: the platforms retry a webhook within minutes or hours, never weeks.
const KEEP_CHAT_EVENTS: chrono::Duration = chrono::Duration::days(30);

/// The longest pause of a background loop whose step keeps failing.
const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(300);

/// Runs `step` at once, then `period` after each run that succeeded and whenever `wake` is notified. A failure is
/// logged as "`what` failed; retrying later", and the pause doubles, up to [`MAX_BACKOFF`], so that a database or a
/// platform that is down (or a Zalo refresh token it refuses) is not called every few seconds by every instance.
fn every<F, Fut, E>(
    what: &'static str,
    period: std::time::Duration,
    wake: Option<Arc<tokio::sync::Notify>>,
    step: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        let mut pause = std::time::Duration::ZERO;
        let mut failures = 0u32;
        loop {
            match &wake {
                Some(wake) => tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = wake.notified() => {}
                },
                None => tokio::time::sleep(pause).await,
            }
            match step().await {
                Ok(()) => {
                    failures = 0;
                    pause = period;
                }
                Err(e) => {
                    failures = (failures + 1).min(16);
                    pause = period.saturating_mul(1 << failures).min(MAX_BACKOFF);
                    tracing::error!(error = %e, retry_in_secs = pause.as_secs(), "{what} failed; retrying later");
                }
            }
        }
    })
}

/// Listens for Ctrl-C and SIGTERM from the moment it is called (a signal that arrives before the returned
/// future is awaited still counts, instead of killing the process), and resolves on the first.
pub fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let listeners = {
        use tokio::signal::unix::{SignalKind, signal};
        (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
    };
    async move {
        #[cfg(unix)]
        {
            match listeners {
                (Ok(mut interrupt), Ok(mut terminate)) => tokio::select! {
                    _ = interrupt.recv() => tracing::info!("Ctrl-C received: finishing requests in flight"),
                    _ = terminate.recv() => tracing::info!("SIGTERM received: finishing requests in flight"),
                },
                _ => {
                    tracing::warn!("cannot listen for SIGTERM; only Ctrl-C stops the service");
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Ctrl-C received: finishing requests in flight");
        }
    }
}
