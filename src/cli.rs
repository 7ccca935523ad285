//! The command line: `serve`, `demo`, `migrate`, `units import`, …, `export answers`, `analyze`, `simulate`,
//! `weights`. Parses arguments, loads the configuration, and calls `app` and `services`; exit code 2 for a
//! configuration or start-up problem, 1 for a failed command.

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
    /// Villages and residential groups (thôn, tổ dân phố) of communes.
    Villages {
        #[command(subcommand)]
        command: VillagesCommand,
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
    /// Printable posters for the communes' notice boards: per commune an A4 PDF (fonts embedded) and an SVG with
    /// QR codes for the survey, the feedback form and the Telegram bot, and the latest published result.
    Posters {
        /// The province's GSO code.
        #[arg(long)]
        province: String,
        /// Only this commune.
        #[arg(long)]
        commune: Option<String>,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Answer templates per feedback category, with their legal basis (the console's answer form offers them).
    Templates {
        #[command(subcommand)]
        command: TemplatesCommand,
    },
    /// Client applications of the Open311 GeoReport v2 endpoint (/open311/v2).
    Open311 {
        #[command(subcommand)]
        command: Open311Command,
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
    /// Survey weights: rake respondents to population margins (docs/weights.md).
    Weights {
        #[command(subcommand)]
        command: WeightsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum WeightsCommand {
    /// Rake a wave's complete responses, per province, to the margins and store the weights in the database
    /// (--wave), replacing the wave's previous ones; or rake an answers file and write response_id,weight for
    /// `analyze --weights` (--answers … --out …).
    Compute(WeightsArgs),
    /// Remove a wave's stored weights: its scores are unweighted again.
    Clear {
        /// The wave's code.
        #[arg(long)]
        wave: String,
    },
    /// Print how a wave's stored weights were computed and what they cost in precision.
    Show {
        /// The wave's code.
        #[arg(long)]
        wave: String,
    },
}

#[derive(Debug, clap::Args)]
struct WeightsArgs {
    /// The wave whose complete responses to weight, from the database; the weights are stored there.
    #[arg(long, conflicts_with_all = ["answers", "out", "units"], required_unless_present = "answers")]
    wave: Option<String>,
    /// Long-format answers (.csv or .parquet) with the profile questions the margins name.
    #[arg(long, value_name = "FILE", requires = "out")]
    answers: Option<PathBuf>,
    /// Population margins: province,margin,cell,population (docs/weights.md).
    #[arg(long, value_name = "FILE.csv")]
    margins: PathBuf,
    /// With --answers: units CSV files as `units import` takes them (for each commune's province), repeatable;
    /// without it, the communes valid today and the lineage stored in the database.
    #[arg(long, value_name = "FILE.csv")]
    units: Vec<PathBuf>,
    /// The largest weight, as a multiple of the mean weight.
    #[arg(long, default_value_t = 5.0)]
    cap: f64,
    /// With --answers: the weights file to write (response_id,weight).
    #[arg(long, value_name = "FILE.csv", requires = "answers")]
    out: Option<PathBuf>,
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
    /// A split questionnaire: each respondent answers the scored questions of only N sub-dimensions, drawn for
    /// them (as a wave created with --modules-per-respondent N asks).
    #[arg(long, value_name = "N")]
    modules_per_respondent: Option<usize>,
}

#[derive(Debug, Subcommand)]
enum Open311Command {
    /// Give a client application a key for POST /open311/v2/requests.json; the key is printed once.
    AddClient {
        /// A name for people, e.g. "Ứng dụng Hưng Yên số".
        name: String,
    },
    /// Revoke a client application's key.
    RevokeClient { name: String },
    /// List the client applications.
    ListClients,
}

#[derive(Debug, Subcommand)]
enum TemplatesCommand {
    /// Replace every answer template with those of a TOML file (docs/officials.md shows the format); checked first,
    /// an unknown placeholder refused by its name; audit logged.
    Import {
        #[arg(value_name = "FILE.toml")]
        file: PathBuf,
    },
    /// List the answer templates.
    List,
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
    /// Every account with its role and whether it is disabled.
    List,
    /// Disable an account: it can no longer sign in, and its open sessions end at once.
    Disable { username: String },
    /// Enable a disabled account again.
    Enable { username: String },
    /// Set a new password (from YKIEN_NEW_PASSWORD or standard input); the account's sessions end.
    ResetPassword { username: String },
    /// Email the account a one-time link (30 minutes) to set a new password itself; needs YKIEN_SMTP_URL,
    /// YKIEN_MAIL_FROM and YKIEN_PUBLIC_URL. The running service's outbox sends it.
    SendResetLink { username: String },
    /// Turn the account's two-factor sign-in (TOTP) off, e.g. after a lost phone; it sets it up again.
    #[command(name = "reset-2fa")]
    ResetTwoFactor { username: String },
}

#[derive(Debug, Subcommand)]
enum VillagesCommand {
    /// Import a CSV of villages (commune_code,village_code,name): each commune listed gets exactly those villages.
    Import {
        #[arg(value_name = "FILE.csv")]
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum QuestionnaireCommand {
    /// Validate a questionnaire file and store its version (a version used by a wave can no longer change).
    Import {
        #[arg(value_name = "FILE.toml")]
        file: PathBuf,
        /// The code map from an earlier version to this one (docs/questionnaire.md, "Code maps"): needed to
        /// compare waves across the two versions, and to reword a kept code.
        #[arg(long, value_name = "MAP.toml")]
        map: Option<PathBuf>,
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
        /// A split questionnaire: ask each respondent the profile and only N of the sub-dimensions, drawn per
        /// respondent (default: every question to everyone).
        #[arg(long, value_name = "N")]
        modules_per_respondent: Option<u16>,
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

// After `say!`, which they use.
mod admin;
mod answers;
mod channels;
mod surveys;
mod weights;

use admin::*;
use answers::*;
use channels::*;
use surveys::*;
use weights::*;

/// The demo's database and its kept secret, in the working directory.
const DEMO_DATABASE: &str = "ykien-demo.db";
const DEMO_SECRET_FILE: &str = "ykien-demo.secret";

/// What a command's process does, as far as the memory allocator's settings go (`src/main.rs` sets them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// A server that runs for weeks (`serve`, `demo`): its memory must go back down after each peak.
    Service,
    /// A command that works and exits (`analyze`, `simulate`, imports…): as fast as it can.
    Batch,
}

impl Command {
    fn workload(&self) -> Workload {
        match self {
            Command::Serve | Command::Demo => Workload::Service,
            _ => Workload::Batch,
        }
    }
}

/// Runs the command line and returns the process exit code. `prepare` is called with the command's [`Workload`]
/// once the arguments are read, before any other thread starts.
pub fn main(prepare: impl FnOnce(Workload)) -> ExitCode {
    let cli = Cli::parse();
    prepare(cli.command.workload());
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
        Command::Weights {
            command: WeightsCommand::Compute(args),
        } if !args.units.is_empty() => return compute_weights(None, args).await,
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
        Command::Demo => match prepare_demo_data(&store, &config).await {
            Ok(()) => serve(&config, store.clone(), true).await,
            Err(e) => {
                eprintln!("ykien demo: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Villages {
            command: VillagesCommand::Import { file },
        } => import_villages(&store, &file).await,
        Command::Questionnaire {
            command: QuestionnaireCommand::Import { file, map },
        } => import_questionnaire(&store, &file, map.as_deref()).await,
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
                    modules_per_respondent,
                },
        } => {
            create_wave(
                &store,
                code,
                title,
                questionnaire,
                units,
                (opens, closes),
                periods,
                modules_per_respondent,
            )
            .await
        }
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
        Command::User { command } => account_admin_command(&store, &config, command).await,
        Command::Serve => serve(&config, store.clone(), false).await,
        Command::Telegram {
            command: TelegramCommand::SetWebhook,
        } => set_telegram_webhook(&config).await,
        Command::Zalo {
            command: ZaloCommand::Connect { refresh_token },
        } => connect_zalo(&config, &store, &refresh_token).await,
        Command::Open311 { command } => open311(&store, command).await,
        Command::Templates { command } => answer_templates(&store, command).await,
        Command::Posters { province, commune, out } => {
            write_posters(&config, &store, &province, commune.as_deref(), &out).await
        }
        Command::Export {
            command: ExportCommand::Answers { wave, format, out },
        } => export_answers(&store, &wave, &format, &out).await,
        Command::Analyze(args) => analyze(Some(&store), args).await,
        Command::Simulate(args) => simulate(args).await,
        Command::Weights {
            command: WeightsCommand::Compute(args),
        } => compute_weights(Some(&store), args).await,
        Command::Weights {
            command: WeightsCommand::Clear { wave },
        } => clear_weights(&store, &wave).await,
        Command::Weights {
            command: WeightsCommand::Show { wave },
        } => show_weights(&store, &wave).await,
    };
    store.close().await;
    code
}

async fn prepare_demo_data(store: &Store, config: &Config) -> Result<(), String> {
    for r in unit_service::import_bundled_hung_yen(store)
        .await
        .map_err(|e| e.to_string())?
    {
        say!("{r}");
    }
    let demo = demo::prepare(store).await.map_err(|e| e.to_string())?;
    let key = config.require_secret().map_err(|e| e.to_string())?;
    demo::prepare_two_factor(store, key).await.map_err(|e| e.to_string())?;
    let (complete, _) = store.count_responses(demo.wave.id).await.map_err(|e| e.to_string())?;
    say!(
        "wave {}: {complete} complete responses ({} synthetic added now); {} feedback cases added now",
        demo.wave.code,
        demo.responses_created,
        demo.cases_created
    );
    say!(
        "Open311 client {}: api_key {} (a new one each demo run)",
        demo::DEMO_OPEN311_CLIENT,
        demo.open311_key
    );
    Ok(())
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
        say!("  Kết quả công khai / public scores: {url}/scores/33   (đợt minh hoạ đã công bố / demo wave published)");
        say!("  Open311 GeoReport v2:            {url}/open311/v2/requests.json?jurisdiction_id=33");
        say!("  Áp phích / posters (Phố Hiến):   {url}/console/posters/11953.pdf   (sau khi đăng nhập / signed in)");
        say!("  Phiếu bị đánh dấu / flagged:     {url}/console/responses/flagged   (quantri)");
        say!("  Đăng nhập bị chặn / sign-in blocks: {url}/console/lockouts   (quantri)");
        for (username, role, _, units) in demo::DEMO_ACCOUNTS {
            say!(
                "    {username:<18} {role:<16} {units:<6} mật khẩu / password: {}",
                demo::DEMO_PASSWORD
            );
        }
        let (two_factor_user, two_factor_secret) = demo::DEMO_TWO_FACTOR;
        say!(
            "    {two_factor_user:<18} {:<16} {:<6} mật khẩu / password: {}, xác thực hai bước / 2FA",
            "admin",
            "",
            demo::DEMO_PASSWORD
        );
        say!(
            "      khoá TOTP / TOTP secret: {} (thêm vào ứng dụng xác thực / add to an authenticator app)",
            crate::services::two_factor::base32(two_factor_secret)
        );
        say!(
            "  Quên mật khẩu / password reset:   {url}/console/password/forgot   (thư qua / email via YKIEN_SMTP_URL)"
        );
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
