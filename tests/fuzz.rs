//! Mutation fuzzing, deterministic and repeatable: the parsers of everything strangers or files hand to ykien —
//! Telegram updates, Zalo events, units CSV files, questionnaires, feedback categories — take real inputs (the
//! fixtures and bundled files) mutated thousands of ways and must never panic; over HTTP, random and mutated
//! bodies posted to every public form, API and webhook must never get a server error.
//!
//! `YKIEN_FUZZ_ITERATIONS` (default 10,000 per parser) and `YKIEN_FUZZ_SEED` (default 2026) repeat or lengthen a
//! run; runs and findings are recorded in docs/fuzzing.md.
#![allow(clippy::unwrap_used)]

mod common;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn iterations() -> usize {
    std::env::var("YKIEN_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn seed() -> u64 {
    std::env::var("YKIEN_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2026)
}

/// Byte strings that break parsers more often than random bytes do.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"null",
    b"true",
    b"-1",
    b"0",
    b"1e309",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"\\u0000",
    b"\\ud800",
    b"\x00",
    b"\xff\xfe",
    "ế".as_bytes(),
    "Ư".as_bytes(),
    b"\n",
    b"\r\n",
    b"=",
    b"[[",
    b"]]",
    b"'''",
    b"#",
    b";",
    b"\t",
];

/// One random change of `input`: flip, delete, duplicate, insert a token, or truncate.
fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = out.len();
        match rng.random_range(0..6) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                out[i] = rng.random();
            }
            1 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = (a + rng.random_range(0..=16)).min(len);
                out.drain(a..b);
            }
            2 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = (a + rng.random_range(0..=64)).min(len);
                let copy = out[a..b].to_vec();
                let at = rng.random_range(0..=out.len());
                out.splice(at..at, copy);
            }
            3 => {
                let token = TOKENS[rng.random_range(0..TOKENS.len())];
                let at = rng.random_range(0..=len);
                out.splice(at..at, token.iter().copied());
            }
            4 if len > 0 => out.truncate(rng.random_range(0..len)),
            _ => {
                // A long run of one character: deep or huge values.
                let at = rng.random_range(0..=len);
                let c = *b"[{a9\"".get(rng.random_range(0..5)).unwrap();
                out.splice(at..at, std::iter::repeat_n(c, rng.random_range(1..2_000)));
            }
        }
    }
    out
}

fn fixtures(dir: &str) -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn chat_webhook_parsers_never_panic_on_mutated_updates_and_events() {
    let mut rng = StdRng::seed_from_u64(seed());
    for (dir, parse) in [
        (
            concat!(env!("CARGO_MANIFEST_DIR"), "/bots/tests/fixtures/telegram"),
            (|b: &[u8]| ykien_bots::telegram::parse_update(b).is_ok()) as fn(&[u8]) -> bool,
        ),
        (
            concat!(env!("CARGO_MANIFEST_DIR"), "/bots/tests/fixtures/zalo"),
            |b: &[u8]| ykien_bots::zalo::parse_event(b).is_ok(),
        ),
    ] {
        let seeds = fixtures(dir);
        let accepted_as_is = seeds.iter().filter(|s| parse(s)).count();
        assert!(accepted_as_is > 0, "{dir}: some fixtures parse as they are");
        let mut accepted = 0;
        for _ in 0..iterations() {
            let pick = rng.random_range(0..seeds.len());
            let input = mutate(&mut rng, &seeds[pick]);
            accepted += usize::from(parse(&input));
        }
        // Both outcomes happen: the mutations reach past the first syntax check.
        assert!(
            accepted > 0 && accepted < iterations(),
            "{dir}: {accepted} of {} accepted",
            iterations()
        );
    }
}

#[test]
fn units_csv_questionnaire_and_categories_parsers_never_panic_on_mutated_files() {
    use ykien::services::units::{ImportOptions, parse_csv};
    let mut rng = StdRng::seed_from_u64(seed() + 1);
    let units: String = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/admin-units/hung-yen-2025.csv"
    ))
    .unwrap()
    .lines()
    .take(12)
    .map(|l| format!("{l}\n"))
    .collect();
    let lineage: String = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/admin-units/lineage-2025-hung-yen.csv"
    ))
    .unwrap()
    .lines()
    .take(12)
    .map(|l| format!("{l}\n"))
    .collect();
    for seed_text in [&units, &lineage] {
        assert!(parse_csv("seed.csv", seed_text, ImportOptions::default()).is_ok());
        for _ in 0..iterations() {
            let input = mutate(&mut rng, seed_text.as_bytes());
            let text = String::from_utf8_lossy(&input);
            let _ = parse_csv("fuzz.csv", &text, ImportOptions::default());
        }
    }
    let questionnaire = ykien::services::demo::BUNDLED_QUESTIONNAIRE;
    // The questionnaire is large: fewer rounds, each a full parse and validation.
    for _ in 0..iterations() / 10 {
        let input = mutate(&mut rng, questionnaire.as_bytes());
        let _ = ykien::domain::questionnaire::Questionnaire::parse(&String::from_utf8_lossy(&input));
    }
    let categories = ykien::domain::cases::BUNDLED_CATEGORIES;
    for _ in 0..iterations() {
        let input = mutate(&mut rng, categories.as_bytes());
        let _ = ykien::domain::cases::parse_categories(&String::from_utf8_lossy(&input));
    }
}

#[tokio::test]
async fn random_and_mutated_bodies_never_get_a_server_error() {
    let app = common::TestApp::start_with_open_wave_and(
        common::TestDb::sqlite(),
        &[
            ("YKIEN_API_TOKEN", "fuzz-api-token-0123456789abcdefghijklmnop"),
            ("YKIEN_TELEGRAM_TOKEN", "123456789:fuzz-token-0123456789abcdefghij"),
            ("YKIEN_TELEGRAM_WEBHOOK_SECRET", "fuzz-webhook-secret-0123456789"),
            ("YKIEN_TELEGRAM_API_URL", "http://127.0.0.1:9"),
        ],
    )
    .await;
    let mut rng = StdRng::seed_from_u64(seed() + 2);
    let telegram = fixtures(concat!(env!("CARGO_MANIFEST_DIR"), "/bots/tests/fixtures/telegram"));
    let json_seeds: Vec<Vec<u8>> = vec![
        br#"{"commune":"11953","answers":{"a1":"1","a2":"DK"},"client_token":"t1"}"#.to_vec(),
        r#"{"commune":"11953","category":"garbage","text":"Rác tồn đọng ở đầu ngõ 3 đã một tuần.","photos":[]}"#
            .as_bytes()
            .to_vec(),
    ];
    let form_seeds: Vec<Vec<u8>> = vec![
        b"csrf=0000&screen=1&revision=0&a1=1&a2=DK".to_vec(),
        "category=garbage&text=R%C3%A1c+t%E1%BB%93n+%C4%91%E1%BB%8Dng&name=&phone="
            .as_bytes()
            .to_vec(),
        b"username=admin&password=x".to_vec(),
    ];
    let targets: &[(&str, &str, Option<&str>)] = &[
        (
            "/api/v1/waves/w-open/responses",
            "application/json",
            Some("Bearer fuzz-api-token-0123456789abcdefghijklmnop"),
        ),
        ("/api/v1/cases", "application/json", None),
        ("/s/11953/start", "application/x-www-form-urlencoded", None),
        ("/s/11953/q", "application/x-www-form-urlencoded", None),
        ("/f/11953", "application/x-www-form-urlencoded", None),
        ("/f/11953", "multipart/form-data; boundary=X", None),
        ("/console/login", "application/x-www-form-urlencoded", None),
        ("/webhooks/telegram", "application/json", None),
    ];
    let rounds = (iterations() / 10).max(60);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..rounds {
        let (path, content_type, auth) = targets[i % targets.len()];
        let seeds = if path.starts_with("/webhooks") {
            &telegram
        } else if content_type.starts_with("application/json") {
            &json_seeds
        } else {
            &form_seeds
        };
        let body = if rng.random_bool(0.2) {
            (0..rng.random_range(0..512)).map(|_| rng.random::<u8>()).collect()
        } else {
            let pick = rng.random_range(0..seeds.len());
            mutate(&mut rng, &seeds[pick])
        };
        let mut req = app
            .client
            .post(app.url(path))
            .header("content-type", content_type)
            .body(body.clone());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if path.starts_with("/webhooks") {
            req = req.header("x-telegram-bot-api-secret-token", "fuzz-webhook-secret-0123456789");
        }
        let status = req.send().await.unwrap().status().as_u16();
        assert!(
            status < 500,
            "POST {path} answered {status} to {:?}",
            String::from_utf8_lossy(&body)
        );
        *statuses.entry(status).or_insert(0) += 1;
    }
    // The service is still healthy afterwards.
    assert_eq!(app.get("/healthz").await.status(), 200);
    assert!(statuses.len() > 2, "the bodies reached several outcomes: {statuses:?}");
    app.stop().await;
}
