//! `units import` and `user add`: administrative units and officials' accounts.

use super::*;

pub(super) async fn add_user(
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

/// `ykien user list|disable|enable|reset-password|send-reset-link|reset-2fa`: what an administrator does on the
/// console's accounts page.
pub(super) async fn account_admin_command(store: &Store, config: &Config, command: super::UserCommand) -> ExitCode {
    use crate::services::account_admin::{self, Actor};
    let done = match command {
        UserCommand::List => match account_admin::accounts(store).await {
            Ok(accounts) => {
                for a in accounts {
                    let state = if a.disabled { "disabled" } else { "enabled" };
                    say!("{:<24} {:<18} {state:<8} {}", a.username, a.role, a.display_name);
                }
                Ok(())
            }
            Err(e) => Err(e),
        },
        UserCommand::Disable { username } => account_admin::set_disabled(store, Actor::CommandLine, &username, true)
            .await
            .map(|()| say!("account {username} disabled; its sessions ended")),
        UserCommand::Enable { username } => account_admin::set_disabled(store, Actor::CommandLine, &username, false)
            .await
            .map(|()| say!("account {username} enabled")),
        UserCommand::ResetPassword { username } => {
            let password = match new_password() {
                Some(p) => p,
                None => {
                    eprintln!("ykien user reset-password: cannot read the password from standard input");
                    return ExitCode::FAILURE;
                }
            };
            account_admin::reset_password(store, Actor::CommandLine, &username, password)
                .await
                .map(|()| say!("password of {username} set; its sessions ended"))
        }
        UserCommand::SendResetLink { username } => {
            let Some(base) = config.public_url.as_deref().filter(|_| config.mail.is_some()) else {
                eprintln!(
                    "ykien user send-reset-link: set YKIEN_SMTP_URL, YKIEN_MAIL_FROM and YKIEN_PUBLIC_URL (the link is \
                     built on the public address)"
                );
                return ExitCode::FAILURE;
            };
            crate::services::password_reset::send_link_for(
                store,
                Actor::CommandLine,
                base,
                &username,
                chrono::Utc::now(),
            )
            .await
            .map(|email| say!("a reset link for {username} is queued to {email}; it works once, for 30 minutes"))
        }
        UserCommand::ResetTwoFactor { username } => {
            crate::services::two_factor::reset(store, Actor::CommandLine, &username)
                .await
                .map(|was_on| {
                    if was_on {
                        say!("two-factor sign-in of {username} is off; they set it up again from their account page")
                    } else {
                        say!("{username} had no two-factor sign-in")
                    }
                })
        }
        UserCommand::Add { .. } => Ok(()),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ykien user: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A new password from YKIEN_NEW_PASSWORD or one line of standard input, never from an argument.
fn new_password() -> Option<String> {
    if let Ok(p) = std::env::var("YKIEN_NEW_PASSWORD") {
        return Some(p);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).ok()?;
    Some(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub(super) async fn import_files(store: &Store, files: &[PathBuf], options: ImportOptions) -> ExitCode {
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

pub(super) async fn open311(store: &Store, command: Open311Command) -> ExitCode {
    use crate::services::publication;
    let now = chrono::Utc::now();
    let done = match command {
        Open311Command::AddClient { name } => publication::add_client(store, &name, now).await.map(|key| {
            say!("client {name} added; its api_key (shown once, keep it secret): {key}");
        }),
        Open311Command::RevokeClient { name } => publication::revoke_client(store, &name, now)
            .await
            .map(|()| say!("client {name}: key revoked")),
        Open311Command::ListClients => publication::clients(store).await.map(|clients| {
            for c in clients {
                let state = c
                    .revoked_at
                    .map_or_else(|| "active".to_owned(), |t| format!("revoked {t}"));
                say!("{}\t{}\t{state}", c.name, c.created_at);
            }
        }),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ykien open311: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `ykien posters`: the posters of a province's communes as PDF and SVG files in `out`.
pub(super) async fn write_posters(
    config: &Config,
    store: &Store,
    province: &str,
    commune: Option<&str>,
    out: &Path,
) -> ExitCode {
    use std::sync::Arc;

    use crate::services::{posters, publication::Publications, scoreboard::Scoreboard, survey::Surveys};
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("ykien posters: {e}");
        ExitCode::FAILURE
    };
    let Some(base) = config.public_url.clone() else {
        eprintln!("ykien posters: YKIEN_PUBLIC_URL is not set; the QR codes must lead to the address citizens reach");
        return ExitCode::from(2);
    };
    let secret = match config.require_secret() {
        Ok(s) => s.clone(),
        Err(e) => return fail(&e),
    };
    let surveys = Arc::new(Surveys::new(store.clone(), secret));
    let scoreboard = Arc::new(Scoreboard::new(
        store.clone(),
        surveys,
        config.calendar.clone(),
        config.scores_refresh,
    ));
    let publications = Publications::new(store.clone(), scoreboard);
    // The bot's links need its username, which Telegram tells.
    let telegram = match &config.telegram {
        Some(t) => match TelegramChannel::new(t) {
            Ok(channel) => {
                channel.learn_username().await;
                Some(channel)
            }
            Err(e) => return fail(&e),
        },
        None => None,
    };
    let link = |code: &str| telegram.as_ref().and_then(|t| t.commune_link(code));
    let zalo = config.zalo.as_ref().and_then(|z| z.oa_link.as_deref());
    let made = match posters::of_province(&publications, store, province, commune, &base, &link, zalo).await {
        Ok(p) => p,
        Err(e) => return fail(&e),
    };
    if made.is_empty() {
        return fail(&format!(
            "no commune of {province} today{}",
            commune.map(|c| format!(" has code {c}")).unwrap_or_default()
        ));
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        return fail(&format!("cannot create {}: {e}", out.display()));
    }
    for poster in &made {
        let written = posters::pdf(std::slice::from_ref(poster)).and_then(|pdf| {
            let svg = posters::svg(poster)?;
            let name = out.join(format!("ap-phich-{}", poster.commune_code));
            std::fs::write(name.with_extension("pdf"), pdf)
                .and_then(|()| std::fs::write(name.with_extension("svg"), svg))
                .map_err(|e| crate::services::Error::Unavailable(format!("cannot write {}: {e}", name.display())))
        });
        if let Err(e) = written {
            return fail(&e);
        }
    }
    say!("{} posters (PDF and SVG) written to {}", made.len(), out.display());
    ExitCode::SUCCESS
}

/// `ykien templates import|list`: the answer templates, kept from a TOML file.
pub(super) async fn answer_templates(store: &Store, command: super::TemplatesCommand) -> ExitCode {
    use crate::domain::cases::{BUNDLED_CATEGORIES, parse_categories};
    use crate::services::cases::{CaseRules, Cases};
    let categories = match parse_categories(BUNDLED_CATEGORIES) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ykien templates: the bundled categories are broken: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cases = Cases::new(
        store.clone(),
        categories,
        CaseRules::defaults(crate::domain::calendar::WorkCalendar::default_vietnam()),
    );
    let done = match command {
        super::TemplatesCommand::Import { file } => match std::fs::read_to_string(&file) {
            Ok(text) => cases
                .import_templates(&text, None, chrono::Utc::now())
                .await
                .map(|t| say!("{} answer templates imported from {}", t.len(), file.display())),
            Err(e) => {
                eprintln!("ykien templates import: cannot read {}: {e}", file.display());
                return ExitCode::FAILURE;
            }
        },
        super::TemplatesCommand::List => cases.answer_templates().await.map(|templates| {
            for t in templates {
                say!("{:<16} {}", t.category, t.title);
            }
        }),
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ykien templates: {e}");
            ExitCode::FAILURE
        }
    }
}
