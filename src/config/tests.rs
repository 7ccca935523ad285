use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn defaults_are_a_local_sqlite_file_and_port_8080() {
    let c = Config::from_layers(None, &env(&[])).unwrap();
    assert_eq!(
        c.database_url,
        DatabaseUrl::Sqlite {
            path: PathBuf::from("ykien.db")
        }
    );
    assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
    assert!(c.secret.is_none());
}

#[test]
fn environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ykien.toml");
    std::fs::write(
        &file,
        "bind = \"127.0.0.1:9000\"\npublic_url = \"https://a.example/\"\n",
    )
    .unwrap();
    let c = Config::from_layers(Some(&file), &env(&[("YKIEN_BIND", "0.0.0.0:0")])).unwrap();
    assert_eq!(c.bind.to_string(), "0.0.0.0:0");
    assert_eq!(c.public_url.as_deref(), Some("https://a.example"));
}

#[test]
fn unknown_key_in_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ykien.toml");
    std::fs::write(&file, "bnid = \"127.0.0.1:9000\"\n").unwrap();
    let e = Config::from_layers(Some(&file), &env(&[])).unwrap_err();
    assert_eq!(e.setting, "--config");
    assert!(e.message.contains("bnid"), "{e}");
}

#[test]
fn unknown_database_scheme_names_the_setting_and_the_fix() {
    let e = Config::from_layers(None, &env(&[("YKIEN_DATABASE_URL", "mysql://root@localhost/ykien")])).unwrap_err();
    assert_eq!(e.setting, "YKIEN_DATABASE_URL");
    assert!(e.message.contains("'mysql'") && e.message.contains("sqlite://"), "{e}");
}

#[test]
fn sqlite_file_in_a_missing_folder_is_refused() {
    let e = Config::from_layers(None, &env(&[("YKIEN_DATABASE_URL", "sqlite:///no/such/folder/y.db")])).unwrap_err();
    assert!(
        e.message.contains("/no/such/folder") && e.message.contains("does not exist"),
        "{e}"
    );
}

#[test]
fn in_memory_sqlite_is_refused() {
    let e = Config::from_layers(None, &env(&[("YKIEN_DATABASE_URL", "sqlite::memory:")])).unwrap_err();
    assert!(e.message.contains("in-memory"), "{e}");
}

#[test]
fn malformed_bind_and_short_secret_and_bad_public_url_are_refused() {
    for (name, value) in [
        ("YKIEN_BIND", "localhost"),
        ("YKIEN_BIND", "127.0.0.1:99999"),
        ("YKIEN_SECRET", "short"),
        ("YKIEN_API_TOKEN", "short"),
        ("YKIEN_PUBLIC_URL", "ykien.example"),
        ("YKIEN_LOG_FORMAT", "xml"),
        ("YKIEN_BEHIND_PROXY", "yes"),
        ("YKIEN_RATE_LIMITS", "off"),
    ] {
        let e = Config::from_layers(None, &env(&[(name, value)])).unwrap_err();
        assert_eq!(e.setting, name, "{value}");
    }
}

#[test]
fn working_hours_and_deadlines_are_configurable_and_checked() {
    let c = Config::from_layers(
        None,
        &env(&[
            ("YKIEN_WORK_HOURS", "07:00-11:00, 13:00-16:30"),
            ("YKIEN_DEADLINES", "normal=5d, urgent=2h"),
        ]),
    )
    .unwrap();
    assert_eq!(c.calendar.day_minutes(), 4 * 60 + 210);
    assert_eq!(
        (c.deadlines.normal, c.deadlines.urgent),
        (Limit::WorkingDays(5), Limit::WorkingHours(2))
    );
    assert_eq!(
        c.deadlines.complex,
        Limit::WorkingDays(10),
        "unnamed limits keep their defaults"
    );
    for (name, value) in [
        ("YKIEN_WORK_HOURS", "7h-11h"),
        ("YKIEN_WORK_HOURS", "13:00-11:00"),
        ("YKIEN_DEADLINES", "normal=3w"),
        ("YKIEN_DEADLINES", "slow=3d"),
        ("YKIEN_HOLIDAYS_FILE", "/no/such/holidays.toml"),
    ] {
        let e = Config::from_layers(None, &env(&[(name, value)])).unwrap_err();
        assert_eq!(e.setting, name, "{value}: {e}");
    }
}

#[test]
fn secrets_never_show_in_debug_output() {
    let c = Config::from_layers(
        None,
        &env(&[
            ("YKIEN_SECRET", "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"),
            ("YKIEN_DATABASE_URL", "postgres://ykien:hunter2@db.internal:5432/ykien"),
        ]),
    )
    .unwrap();
    let shown = format!("{c:?}");
    assert!(!shown.contains("s3cr3t") && !shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("postgres://ykien:***@db.internal:5432/ykien"), "{shown}");
}

const TOKEN: &str = "123456789:AAE-test-token-of-the-right-shape";
const HOOK_SECRET: &str = "hook-secret-0123456789";

#[test]
fn channels_are_off_unless_configured() {
    let c = Config::from_layers(None, &env(&[])).unwrap();
    assert!(c.telegram.is_none() && c.zalo.is_none());
}

#[test]
fn telegram_needs_a_token_of_the_right_shape_and_a_webhook_secret() {
    let c = Config::from_layers(
        None,
        &env(&[
            ("YKIEN_TELEGRAM_TOKEN", TOKEN),
            ("YKIEN_TELEGRAM_WEBHOOK_SECRET", HOOK_SECRET),
        ]),
    )
    .unwrap();
    let t = c.telegram.unwrap();
    assert_eq!(t.api_url, DEFAULT_TELEGRAM_API_URL);
    assert_eq!(t.max_per_second, 30);
    assert_eq!(t.token.expose(), TOKEN);

    let err = Config::from_layers(None, &env(&[("YKIEN_TELEGRAM_TOKEN", TOKEN)])).unwrap_err();
    assert_eq!(err.setting, "YKIEN_TELEGRAM_WEBHOOK_SECRET");
    let err = Config::from_layers(
        None,
        &env(&[
            ("YKIEN_TELEGRAM_TOKEN", "@ykien_bot"),
            ("YKIEN_TELEGRAM_WEBHOOK_SECRET", HOOK_SECRET),
        ]),
    )
    .unwrap_err();
    assert_eq!(err.setting, "YKIEN_TELEGRAM_TOKEN");
    assert!(
        !err.to_string().contains("@ykien_bot"),
        "a mistyped secret is not echoed"
    );
    for bad in ["short", "has spaces in it, quite long", "ümlaut-is-not-allowed-here"] {
        let err = Config::from_layers(
            None,
            &env(&[("YKIEN_TELEGRAM_TOKEN", TOKEN), ("YKIEN_TELEGRAM_WEBHOOK_SECRET", bad)]),
        )
        .unwrap_err();
        assert_eq!(err.setting, "YKIEN_TELEGRAM_WEBHOOK_SECRET", "{bad}");
    }
    let err = Config::from_layers(
        None,
        &env(&[
            ("YKIEN_TELEGRAM_TOKEN", TOKEN),
            ("YKIEN_TELEGRAM_WEBHOOK_SECRET", HOOK_SECRET),
            ("YKIEN_TELEGRAM_API_URL", "api.telegram.org"),
        ]),
    )
    .unwrap_err();
    assert_eq!(err.setting, "YKIEN_TELEGRAM_API_URL");
}

#[test]
fn the_zalo_oa_link_is_zalos_own_address_of_a_configured_oa() {
    let keys = [
        ("YKIEN_ZALO_APP_ID", "1234567890"),
        ("YKIEN_ZALO_APP_SECRET", "app-secret"),
        ("YKIEN_ZALO_OA_SECRET_KEY", "oa-secret-key"),
    ];
    let with = |link: &str| {
        let mut all = keys.to_vec();
        all.push(("YKIEN_ZALO_OA_LINK", link));
        Config::from_layers(None, &env(&all))
    };
    let z = with("https://zalo.me/4318272634561872634/").unwrap().zalo.unwrap();
    assert_eq!(z.oa_link.as_deref(), Some("https://zalo.me/4318272634561872634"));
    assert_eq!(
        Config::from_layers(None, &env(&keys)).unwrap().zalo.unwrap().oa_link,
        None
    );
    for wrong in [
        "http://zalo.me/123",
        "https://zalo.me/",
        "https://example.vn/zalo",
        "https://zalo.me/a b",
    ] {
        assert_eq!(with(wrong).unwrap_err().setting, "YKIEN_ZALO_OA_LINK", "{wrong}");
    }
    // A link without the OA's keys: ykien would not answer it, so it is not printed.
    let err = Config::from_layers(None, &env(&[("YKIEN_ZALO_OA_LINK", "https://zalo.me/123")])).unwrap_err();
    assert_eq!(err.setting, "YKIEN_ZALO_OA_LINK");
}

#[test]
fn zalo_needs_all_three_keys() {
    let all = [
        ("YKIEN_ZALO_APP_ID", "1234567890"),
        ("YKIEN_ZALO_APP_SECRET", "app-secret"),
        ("YKIEN_ZALO_OA_SECRET_KEY", "oa-secret-key"),
        ("YKIEN_ZALO_API_URL", "http://127.0.0.1:9/"),
    ];
    let z = Config::from_layers(None, &env(&all)).unwrap().zalo.unwrap();
    assert_eq!(z.app_id, "1234567890");
    assert_eq!(z.api_url, "http://127.0.0.1:9");
    assert_eq!(z.oauth_url, DEFAULT_ZALO_OAUTH_URL);
    let err = Config::from_layers(None, &env(&all[..2])).unwrap_err();
    assert_eq!(err.setting, "YKIEN_ZALO_OA_SECRET_KEY");
    let err = Config::from_layers(
        None,
        &env(&[
            ("YKIEN_ZALO_APP_ID", "my-app"),
            ("YKIEN_ZALO_APP_SECRET", "app-secret"),
            ("YKIEN_ZALO_OA_SECRET_KEY", "oa-secret-key"),
        ]),
    )
    .unwrap_err();
    assert_eq!(err.setting, "YKIEN_ZALO_APP_ID");
    let shown = format!("{:?}", Config::from_layers(None, &env(&all)).unwrap());
    assert!(
        !shown.contains("app-secret") && !shown.contains("oa-secret-key"),
        "{shown}"
    );
}
