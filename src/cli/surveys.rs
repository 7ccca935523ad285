//! `questionnaire import`, `wave create` and `wave list`.

use super::*;

pub(super) async fn import_questionnaire(store: &Store, file: &Path, map: Option<&Path>) -> ExitCode {
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| {
            eprintln!("ykien questionnaire import: cannot read {}: {e}", path.display());
            ExitCode::FAILURE
        })
    };
    let text = match read(file) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let map_text = match map.map(read).transpose() {
        Ok(m) => m,
        Err(code) => return code,
    };
    match crate::services::versions::import_questionnaire(store, &text, map_text.as_deref()).await {
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
pub(super) async fn create_wave(
    store: &Store,
    code: String,
    title: String,
    questionnaire: String,
    units: Vec<String>,
    (opens, closes): (NaiveDate, NaiveDate),
    periods: Vec<String>,
    modules_per_respondent: Option<u16>,
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
        modules_per_respondent,
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

pub(super) async fn list_waves(store: &Store) -> ExitCode {
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

pub(super) async fn import_villages(store: &Store, file: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ykien villages import: cannot read {}: {e}", file.display());
            return ExitCode::FAILURE;
        }
    };
    match crate::services::villages::import_villages_csv(store, &text).await {
        Ok(done) => {
            say!("{} villages stored for {} communes", done.villages, done.communes);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ykien villages import: {}: {e}", file.display());
            ExitCode::FAILURE
        }
    }
}
