//! The command line: `serve`, `demo`, `migrate`, `units import`. Parses arguments, loads the configuration,
//! and calls `app` and `services`; exit code 2 for a configuration or start-up problem, 1 for a failed command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::app::{self, StartError};
use crate::config::{Config, ConfigError, DatabaseUrl, LogFormat, Secret};
use crate::services::units::{self as unit_service, ImportOptions};

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
    let store = match app::open_store(&config).await {
        Ok(s) => s,
        Err(e) => return fail_start(&e.into()),
    };
    let code = match command {
        Command::Migrate => {
            println!("migrations applied to {}", config.database_url.redacted());
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
        Command::Demo => match unit_service::import_bundled_hung_yen(&store).await {
            Ok(reports) => {
                for r in reports {
                    println!("{r}");
                }
                serve(&config, store.clone(), true).await
            }
            Err(e) => {
                eprintln!("ykien demo: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Serve => serve(&config, store.clone(), false).await,
    };
    store.close().await;
    code
}

async fn import_files(store: &crate::storage::Store, files: &[PathBuf], options: ImportOptions) -> ExitCode {
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
            Ok(report) => println!("{report}"),
            Err(e) => {
                eprintln!("ykien units import: {e}; nothing from this file was imported");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

async fn serve(config: &Config, store: crate::storage::Store, demo: bool) -> ExitCode {
    let running = match app::start(config, store.clone()).await {
        Ok(r) => r,
        Err(e) => {
            store.close().await;
            return fail_start(&e);
        }
    };
    let url = config.public_url.clone().unwrap_or_else(|| running.url());
    if demo {
        println!();
        println!("ykien demo đang chạy / is running:");
        println!("  Tỉnh Hưng Yên (104 xã, phường):  {url}/units/33");
        println!("  Tỉnh Thái Bình cũ (trước 7/2025): {url}/units/34");
        println!("  API:                             {url}/api/v1/units?parent=33");
        println!("Ctrl-C để dừng / to stop.");
    } else {
        println!("ykien is listening on {url}");
    }
    app::stop_signal().await;
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
