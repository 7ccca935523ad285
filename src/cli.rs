//! The command line: `serve`, `demo`, `migrate`, `units import`, …, `export answers`, `analyze`, `simulate`. Parses arguments, loads the configuration,
//! and calls `app` and `services`; exit code 2 for a configuration or start-up problem, 1 for a failed command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::app::{self, StartError};
use crate::config::{Config, ConfigError, DatabaseUrl, LogFormat, Secret};
use crate::domain::calendar::{vn_day, vn_day_start};
use crate::domain::survey::ReportingPeriod;
use ykien_analysis::{Plant, SimulateOptions};

use crate::services::accounts::{self, AccountRequest};
use crate::services::analysis::{self, AnalyzeRequest, ExportFormat};
use crate::services::channels::{TelegramChannel, ZaloChannel};
use crate::services::demo;
use crate::services::survey::{self as survey_service, WaveRequest};
use crate::services::units::{self as unit_service, ImportOptions};
use crate::storage::{QuestionnaireImport, Store};

#[derive(Debug, Parser)]
#[command(name = "ykien", version, about = "ykien (ý kiến): hear citizens commune by commune")]
struct Cli {
    /// A TOML configuration file; YKIEN_* environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service.
    Serve,
    /// Run the service on ykien-demo.db with Hưng Yên's units and demo data.
    Demo,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrative units.
    Units {
        #[command(subcommand)]
        command: UnitsCommand,
    },
    /// Questionnaire versions.
    Questionnaire {
        #[command(subcommand)]
        command: QuestionnaireCommand,
    },
    /// Survey waves.
    Wave {
        #[command(subcommand)]
        command: WaveCommand,
    },
    /// Officials' accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// The Telegram bot.
    Telegram {
        #[command(subcommand)]
        command: TelegramCommand,
    },
    /// The Zalo Official Account.
    Zalo {
        #[command(subcommand)]
        command: ZaloCommand,
    },
    /// Export survey data for analysts.
    Export {
        #[command(subcommand)]
        command: ExportCommand,
    },
    /// Score long-format answers: DIR/scores.csv and the province charts (PNG and SVG).
    Analyze(AnalyzeArgs),
    /// Write synthetic answers from the questionnaire, with planted differences (tests, demo, benchmarks).
    Simulate(SimulateArgs),
}

#[derive(Debug, Subcommand)]
enum ExportCommand {
    /// The answers of a wave's complete responses in long format (response_id, wave, unit_code, question, answer).
    Answers {
        /// The wave's code.
        #[arg(long)]
        wave: String,
        /// csv (UTF-8 with a byte-order mark, for Excel), parquet, or xlsx (further sheets past Excel's row limit).
        #[arg(long, default_value = "csv")]
        format: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
struct AnalyzeArgs {
    /// Long-format answers: .csv or .parquet with columns response_id, wave, unit_code, question, answer.
    #[arg(long, value_name = "FILE")]
    answers: PathBuf,
    /// The questionnaire version the answers were given to (its scored questions make the codebook).
    #[arg(long, value_name = "FILE.toml")]
    questionnaire: PathBuf,
    /// Post-stratification weights: .csv or .parquet with columns response_id, weight.
    #[arg(long, value_name = "FILE")]
    weights: Option<PathBuf>,
    /// Units CSV files as `units import` takes them (two-level or legacy units, lineage), repeatable; without
    /// it, the communes valid today and the lineage stored in the database.
    #[arg(long, value_name = "FILE.csv")]
    units: Vec<PathBuf>,
    /// The folder for scores.csv and the charts.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Bootstrap replicates per commune for the 95% intervals; 0 draws none (point scores only, much faster).
    #[arg(long, default_value_t = 1000)]
    replicates: usize,
}

#[derive(Debug, clap::Args)]
struct SimulateArgs {
    /// Units CSV files (two-level or legacy units), repeatable: responses are spread evenly over their communes.
    #[arg(long, value_name = "FILE.csv", required = true)]
    units: Vec<PathBuf>,
    /// Responses in all.
    #[arg(long)]
    responses: usize,
    /// The seed of every random draw (the same seed gives the same file).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// A difference planted in a commune's answers, e.g. 11953:d3:-2 (dimension code or number; points of the
    /// 1–10 scale); repeatable.
    #[arg(long = "plant", value_name = "UNIT:DIMENSION:DELTA")]
    plants: Vec<String>,
    /// The wave code written on every row.
    #[arg(long, default_value = "2025")]
    wave: String,
    /// The questionnaire to simulate (default: the bundled papi-2025).
    #[arg(long, value_name = "FILE.toml")]
    questionnaire: Option<PathBuf>,
    /// .parquet or .csv (by extension).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, Subcommand)]
enum TelegramCommand {
    /// Register YKIEN_PUBLIC_URL/webhooks/telegram with Telegram, with YKIEN_TELEGRAM_WEBHOOK_SECRET.
    SetWebhook,
}

#[derive(Debug, Subcommand)]
enum ZaloCommand {
    /// Store the OA's first tokens from a refresh token (Zalo for Developers → your app → Official Account →
    /// authorise the OA). ykien refreshes them from then on.
    Connect {
        /// Read from YKIEN_ZALO_REFRESH_TOKEN when not given, so that it need not appear in the shell history.
        #[arg(long, env = "YKIEN_ZALO_REFRESH_TOKEN", hide_env_values = true)]
        refresh_token: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account. The password is read from YKIEN_NEW_PASSWORD or, if unset, from standard input.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// admin, intake, commune_officer, department_officer or leader.
        #[arg(long)]
        role: String,
        /// For officers: commune_office, commune_economic, commune_social, commune_service_center, commune_police,
        /// commune_inspection.
        #[arg(long)]
        office: Option<String>,
        /// Provinces or communes (GSO codes), comma-separated.
        #[arg(long, value_delimiter = ',')]
        units: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum QuestionnaireCommand {
    /// Validate a questionnaire file and store its version (a version used by a wave can no longer change).
    Import {
        #[arg(value_name = "FILE.toml")]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum WaveCommand {
    /// Open a survey wave: a questionnaire version over provinces or communes for a time window.
    Create {
        #[arg(long)]
        code: String,
        #[arg(long)]
        title: String,
        /// Questionnaire code, optionally with a version: papi-2025 or papi-2025:1 (default: its latest).
        #[arg(long, value_name = "CODE[:VERSION]")]
        questionnaire: String,
        /// Provinces or communes (GSO codes), comma-separated; a province covers its communes.
        #[arg(long, value_delimiter = ',', required = true)]
        units: Vec<String>,
        /// First day (Vietnam time), YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        opens: NaiveDate,
        /// Last day (Vietnam time, inclusive), YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        closes: NaiveDate,
        /// A reporting period NAME:FROM:TO (repeatable); default: the plans' six-month and annual periods.
        #[arg(long = "period", value_name = "NAME:YYYY-MM-DD:YYYY-MM-DD")]
        periods: Vec<String>,
    },
    /// List the waves with their windows and response counts.
    List,
}

#[derive(Debug, Subcommand)]
enum UnitsCommand {
    /// Import units or lineage from CSV files (legacy three-level, 2025 two-level, or lineage); each file is
    /// imported whole or not at all, and importing it again changes nothing.
    Import {
        #[arg(required = true, value_name = "FILE.csv")]
        files: Vec<PathBuf>,
        /// First day of validity of the imported units (default: 2025-07-01 for two-level files, open for legacy).
        #[arg(long, value_name = "YYYY-MM-DD")]
        valid_from: Option<NaiveDate>,
        /// Last day of validity (default: 2025-06-30 for legacy files, open for two-level).
        #[arg(long, value_name = "YYYY-MM-DD")]
        valid_to: Option<NaiveDate>,
        /// For lineage files: the day the successors took over (default 2025-07-01).
        #[arg(long, value_name = "YYYY-MM-DD")]
        effective: Option<NaiveDate>,
    },
}

/// Prints a line on standard output, and carries on if nobody reads it any more (a closed pipe must not stop a
/// running service, as `println!` would by panicking).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// The demo's database and its kept secret, in the working directory.
const DEMO_DATABASE: &str = "ykien-demo.db";
const DEMO_SECRET_FILE: &str = "ykien-demo.secret";

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail_start(&e.into()),
    };
    if matches!(cli.command, Command::Demo)
        && let Err(e) = prepare_demo(&mut config)
    {
        return fail_start(&e.into());
    }
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ykien: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    runtime.block_on(run(cli.command, config))
}

async fn run(command: Command, config: Config) -> ExitCode {
    // Commands that work on files alone never touch the database.
    let command = match command {
        Command::Simulate(args) => return simulate(args).await,
        Command::Analyze(args) if !args.units.is_empty() => return analyze(None, args).await,
        other => other,
    };
    let store = match app::open_store(&config).await {
        Ok(s) => s,
        Err(e) => return fail_start(&e.into()),
    };
    let code = match command {
        Command::Migrate => {
            say!("migrations applied to {}", config.database_url.redacted());
            ExitCode::SUCCESS
        }
        Command::Units {
            command:
                UnitsCommand::Import {
                    files,
                    valid_from,
                    valid_to,
                    effective,
                },
        } => {
            import_files(
                &store,
                &files,
                ImportOptions {
                    valid_from,
                    valid_to,
                    effective,
                },
            )
            .await
        }
        Command::Demo => match prepare_demo_data(&store).await {
            Ok(()) => serve(&config, store.clone(), true).await,
            Err(e) => {
                eprintln!("ykien demo: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Questionnaire {
            command: QuestionnaireCommand::Import { file },
        } => import_questionnaire(&store, &file).await,
        Command::Wave {
            command:
                WaveCommand::Create {
                    code,
                    title,
                    questionnaire,
                    units,
                    opens,
                    closes,
                    periods,
                },
        } => create_wave(&store, code, title, questionnaire, units, opens, closes, periods).await,
        Command::Wave {
            command: WaveCommand::List,
        } => list_waves(&store).await,
        Command::User {
            command:
                UserCommand::Add {
                    username,
                    name,
                    role,
                    office,
                    units,
                },
        } => add_user(&store, username, name, role, office, units).await,
        Command::Serve => serve(&config, store.clone(), false).await,
        Command::Telegram {
            command: TelegramCommand::SetWebhook,
        } => set_telegram_webhook(&config).await,
        Command::Zalo {
            command: ZaloCommand::Connect { refresh_token },
        } => connect_zalo(&config, &store, &refresh_token).await,
        Command::Export {
            command: ExportCommand::Answers { wave, format, out },
        } => export_answers(&store, &wave, &format, &out).await,
        Command::Analyze(args) => analyze(Some(&store), args).await,
        Command::Simulate(args) => simulate(args).await,
    };
    store.close().await;
    code
}

async fn export_answers(store: &Store, wave: &str, format: &str, out: &Path) -> ExitCode {
    let format: ExportFormat = match format.parse() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("ykien export answers: --format {format}: {e}");
            return ExitCode::from(2);
        }
    };
    match analysis::export_answers(store, wave, format, out).await {
        Ok(rows) => {
            say!("{rows} answers of wave {wave} written to {} ({format})", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ykien export answers: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The codebook of a questionnaire file, or the bundled questionnaire's.
fn read_codebook(path: Option<&Path>) -> Result<ykien_analysis::Codebook, String> {
    let text = match path {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        None => demo::BUNDLED_QUESTIONNAIRE.to_owned(),
    };
    analysis::codebook_from_toml(&text).map_err(|e| match path {
        Some(path) => format!("{}: {e}", path.display()),
        None => e.to_string(),
    })
}

async fn analyze(store: Option<&Store>, args: AnalyzeArgs) -> ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("ykien analyze: {e}");
        ExitCode::FAILURE
    };
    let codebook = match read_codebook(Some(&args.questionnaire)) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let units = match store {
        Some(store) => analysis::units_from_store(store, vn_day(chrono::Utc::now())).await,
        None => analysis::units_from_files(&args.units),
    };
    let units = match units {
        Ok(u) => u,
        Err(e) => return fail(&e),
    };
    let request = AnalyzeRequest {
        answers: args.answers,
        weights: args.weights,
        codebook,
        units,
        out: args.out.clone(),
        options: ykien_analysis::ScoreOptions {
            replicates: args.replicates,
            ..ykien_analysis::ScoreOptions::default()
        },
    };
    match analysis::analyze(request).await {
        Ok(report) => {
            say!(
                "{} scores written to {} ({} withheld: fewer than 10 respondents); {} chart files",
                report.rows,
                args.out.join("scores.csv").display(),
                report.withheld,
                report.charts.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

async fn simulate(args: SimulateArgs) -> ExitCode {
    let mut plants = Vec::new();
    for p in &args.plants {
        match p.parse::<Plant>() {
            Ok(plant) => plants.push(plant),
            Err(_) => {
                eprintln!(
                    "ykien simulate: --plant {p}: write UNIT:DIMENSION:DELTA, e.g. 11953:d3:-2 (DELTA between -9 and 9)"
                );
                return ExitCode::from(2);
            }
        }
    }
    let codebook = match read_codebook(args.questionnaire.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ykien simulate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let units = match analysis::units_from_files(&args.units) {
        Ok(u) => u.units,
        Err(e) => {
            eprintln!("ykien simulate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let options = SimulateOptions {
        wave: args.wave,
        responses: args.responses,
        seed: args.seed,
        plants,
        ..SimulateOptions::default()
    };
    let responses = options.responses;
    match analysis::simulate(codebook, units, options, args.out.clone()).await {
        Ok(rows) => {
            say!(
                "{responses} responses ({rows} answers) written to {}",
                args.out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ykien simulate: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn set_telegram_webhook(config: &Config) -> ExitCode {
    let Some(telegram) = &config.telegram else {
        eprintln!("ykien telegram set-webhook: YKIEN_TELEGRAM_TOKEN is not set; the bot is off");
        return ExitCode::from(2);
    };
    let Some(public_url) = &config.public_url else {
        eprintln!(
            "ykien telegram set-webhook: YKIEN_PUBLIC_URL is not set; Telegram needs the https:// address it reaches this service at"
        );
        return ExitCode::from(2);
    };
    let channel = match TelegramChannel::new(telegram) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ykien telegram set-webhook: {e}");
            return ExitCode::from(2);
        }
    };
    let url = format!("{public_url}/webhooks/telegram");
    let bot = match channel.client().get_me_with_retries(3).await {
        Ok(name) => name,
        Err(e) => {
            eprintln!("ykien telegram set-webhook: Telegram did not accept the bot token: {e}");
            return ExitCode::FAILURE;
        }
    };
    match channel
        .client()
        .set_webhook(&url, telegram.webhook_secret.expose())
        .await
    {
        Ok(()) => {
            say!("@{bot}: Telegram now sends updates to {url}");
            if let Ok(link) = ykien_bots::telegram::deep_link(&bot, &crate::services::chat::commune_payload("11953")) {
                say!("a commune's poster links to e.g. {link} (commune 11953)");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ykien telegram set-webhook: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn connect_zalo(config: &Config, store: &Store, refresh_token: &str) -> ExitCode {
    let Some(zalo) = &config.zalo else {
        eprintln!(
            "ykien zalo connect: the Zalo OA is not configured; set YKIEN_ZALO_APP_ID, YKIEN_ZALO_APP_SECRET and YKIEN_ZALO_OA_SECRET_KEY"
        );
        return ExitCode::from(2);
    };
    let channel = match ZaloChannel::new(zalo, store.clone()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ykien zalo connect: {e}");
            return ExitCode::from(2);
        }
    };
    match channel.tokens().connect(refresh_token.trim()).await {
        Ok(expires_at) => {
            say!(
                "the Zalo OA is connected; its access token lasts until {} and is refreshed before that",
                expires_at.format("%Y-%m-%d %H:%M UTC")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ykien zalo connect: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn prepare_demo_data(store: &Store) -> Result<(), String> {
    for r in unit_service::import_bundled_hung_yen(store)
        .await
        .map_err(|e| e.to_string())?
    {
        say!("{r}");
    }
    let demo = demo::prepare(store).await.map_err(|e| e.to_string())?;
    let (complete, _) = store.count_responses(demo.wave.id).await.map_err(|e| e.to_string())?;
    say!(
        "wave {}: {complete} complete responses ({} synthetic added now); {} feedback cases added now",
        demo.wave.code,
        demo.responses_created,
        demo.cases_created
    );
    Ok(())
}

async fn import_questionnaire(store: &Store, file: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ykien questionnaire import: cannot read {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    match survey_service::import_questionnaire(store, &text).await {
        Ok((q, outcome)) => {
            let what = match outcome {
                QuestionnaireImport::Created(_) => "stored",
                QuestionnaireImport::Unchanged(_) => "already stored, unchanged",
                QuestionnaireImport::Updated(_) => "updated (no wave used it yet)",
            };
            say!(
                "{} version {}: {what}; {} dimensions, {} sub-dimensions, {} indicators, {} questions",
                q.code,
                q.version,
                q.dimensions.len(),
                q.subdimensions.len(),
                q.indicators.len(),
                q.questions.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ykien questionnaire import: {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn create_wave(
    store: &Store,
    code: String,
    title: String,
    questionnaire: String,
    units: Vec<String>,
    opens: NaiveDate,
    closes: NaiveDate,
    periods: Vec<String>,
) -> ExitCode {
    let (questionnaire, version) = match questionnaire.split_once(':') {
        Some((c, v)) => match v.parse() {
            Ok(v) => (c.to_owned(), Some(v)),
            Err(_) => {
                eprintln!("ykien wave create: --questionnaire {questionnaire}: the version after ':' is a number");
                return ExitCode::from(2);
            }
        },
        None => (questionnaire, None),
    };
    let mut parsed = Vec::new();
    for p in &periods {
        let parts: Vec<&str> = p.rsplitn(3, ':').collect();
        match parts.as_slice() {
            [to, from, name] => match (from.parse(), to.parse()) {
                (Ok(starts_on), Ok(ends_on)) => {
                    parsed.push(ReportingPeriod {
                        name: (*name).to_owned(),
                        starts_on,
                        ends_on,
                    });
                }
                _ => {
                    eprintln!("ykien wave create: --period {p}: dates are YYYY-MM-DD");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("ykien wave create: --period {p}: write NAME:YYYY-MM-DD:YYYY-MM-DD");
                return ExitCode::from(2);
            }
        }
    }
    let request = WaveRequest {
        code,
        title,
        questionnaire,
        questionnaire_version: version,
        unit_codes: units,
        opens_at: vn_day_start(opens),
        closes_at: vn_day_start(closes + chrono::Duration::days(1)),
        periods: parsed,
    };
    match survey_service::create_wave(store, request).await {
        Ok(w) => {
            say!("wave {} created: {} → {}", w.code, w.opens_at, w.closes_at);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ykien wave create: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn add_user(
    store: &Store,
    username: String,
    display_name: String,
    role: String,
    office: Option<String>,
    unit_codes: Vec<String>,
) -> ExitCode {
    // Never a command-line argument: it would stay in the shell history and the process list.
    let password = match std::env::var("YKIEN_NEW_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() {
                eprintln!("ykien user add: cannot read the password from standard input");
                return ExitCode::FAILURE;
            }
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let request = AccountRequest {
        username,
        display_name,
        password,
        role,
        office,
        unit_codes,
    };
    match accounts::add_official(store, request, vn_day(chrono::Utc::now())).await {
        Ok(_) => {
            say!("account created");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ykien user add: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn list_waves(store: &Store) -> ExitCode {
    let waves = match store.waves().await {
        Ok(w) => w,
        Err(e) => {
            eprintln!("ykien wave list: {e}");
            return ExitCode::FAILURE;
        }
    };
    for w in waves {
        let (complete, in_progress) = store.count_responses(w.id).await.unwrap_or_default();
        say!(
            "{}\t{}\t{} → {}\t{complete} complete, {in_progress} in progress",
            w.code,
            w.title,
            w.opens_at,
            w.closes_at
        );
    }
    ExitCode::SUCCESS
}

async fn import_files(store: &Store, files: &[PathBuf], options: ImportOptions) -> ExitCode {
    for path in files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("ykien units import: cannot read {name}: {e}");
                return ExitCode::FAILURE;
            }
        };
        match unit_service::import_csv(store, &name, &text, options).await {
            Ok(report) => say!("{report}"),
            Err(e) => {
                eprintln!("ykien units import: {e}; nothing from this file was imported");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

async fn serve(config: &Config, store: Store, demo: bool) -> ExitCode {
    // Listen for stop signals before anything announces the service, so that no signal is missed.
    let stop = app::stop_signal();
    let running = match app::start(config, store.clone()).await {
        Ok(r) => r,
        Err(e) => {
            store.close().await;
            return fail_start(&e);
        }
    };
    let url = config.public_url.clone().unwrap_or_else(|| running.url());
    // Score the newest wave now, so the dashboard's first page opens at once.
    running.warm_scores();
    if demo {
        say!();
        say!("ykien demo đang chạy / is running:");
        say!("  Tỉnh Hưng Yên (104 xã, phường):  {url}/units/33");
        say!("  Tỉnh Thái Bình cũ (trước 7/2025): {url}/units/34");
        say!("  API:                             {url}/api/v1/units?parent=33");
        say!("  Khảo sát / survey (Phố Hiến):    {url}/s/11953");
        say!("  Phản ánh / feedback (Phố Hiến):  {url}/f/11953");
        say!("  Cán bộ / officials' console:     {url}/console");
        say!("  Bảng điểm / leaders' dashboard:  {url}/console/dashboard   (lanhdao.hungyen hoặc quantri)");
        for (username, role, _, units) in demo::DEMO_ACCOUNTS {
            say!(
                "    {username:<18} {role:<16} {units:<6} mật khẩu / password: {}",
                demo::DEMO_PASSWORD
            );
        }
        say!("Ctrl-C để dừng / to stop.");
    } else {
        match &config.public_url {
            // Behind a proxy: where this process listens, and the address citizens use.
            Some(public) => say!("ykien is listening on {} (public address {public})", running.url()),
            None => say!("ykien is listening on {url}"),
        }
    }
    stop.await;
    match running.shut_down().await {
        Ok(()) => {
            tracing::info!("stopped cleanly");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "the server stopped with an error");
            ExitCode::FAILURE
        }
    }
}

/// Points the configuration at the demo database and gives it a secret kept beside it.
fn prepare_demo(config: &mut Config) -> Result<(), ConfigError> {
    config.database_url = DatabaseUrl::parse(&format!("sqlite://{DEMO_DATABASE}"))?;
    if config.secret.is_none() {
        config.secret = Some(demo_secret(Path::new(DEMO_SECRET_FILE))?);
    }
    Ok(())
}

/// Reads the demo secret, or creates it (readable by the owner only) on first run.
fn demo_secret(path: &Path) -> Result<Secret, ConfigError> {
    let fail = |e: std::io::Error| {
        ConfigError::new(
            "YKIEN_SECRET",
            format!(
                "cannot keep the demo secret in {}: {e}; set YKIEN_SECRET",
                path.display()
            ),
        )
    };
    match std::fs::read_to_string(path) {
        Ok(s) if s.trim().len() >= crate::config::MIN_SECRET_LEN => {
            return Ok(Secret::new(s.trim()));
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail(e)),
    }
    let bytes: [u8; 32] = rand::random();
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(fail)?;
    std::io::Write::write_all(&mut file, secret.as_bytes()).map_err(fail)?;
    Ok(Secret::new(secret))
}

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Reports a start-up problem as one line and returns exit code 2.
fn fail_start(e: &StartError) -> ExitCode {
    eprintln!("ykien: {e}");
    ExitCode::from(2)
}
