//! `export answers`, `analyze` and `simulate`: survey answers for analysts.

use super::*;

pub(super) async fn export_answers(store: &Store, wave: &str, format: &str, out: &Path) -> ExitCode {
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
pub(super) fn read_codebook(path: Option<&Path>) -> Result<ykien_analysis::Codebook, String> {
    let text = match path {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?,
        None => demo::BUNDLED_QUESTIONNAIRE.to_owned(),
    };
    analysis::codebook_from_toml(&text).map_err(|e| match path {
        Some(path) => format!("{}: {e}", path.display()),
        None => e.to_string(),
    })
}

/// The communes answers are given for: from the units files when given, else as stored, valid today.
pub(super) async fn units_table(
    store: Option<&Store>,
    files: &[PathBuf],
) -> Result<analysis::UnitsTable, analysis::AnalysisFailure> {
    match store {
        Some(store) => analysis::units_from_store(store, vn_day(chrono::Utc::now())).await,
        None => analysis::units_from_files(files),
    }
}

pub(super) async fn analyze(store: Option<&Store>, args: AnalyzeArgs) -> ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("ykien analyze: {e}");
        ExitCode::FAILURE
    };
    let codebook = match read_codebook(Some(&args.questionnaire)) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let units = match units_table(store, &args.units).await {
        Ok(u) => u,
        Err(e) => return fail(&e),
    };
    let weighted = args.weights.clone();
    // The file was read and checked just above; its dimension rule decides which dimension scores stand.
    let dimension_rule = std::fs::read_to_string(&args.questionnaire)
        .ok()
        .and_then(|text| crate::domain::questionnaire::Questionnaire::parse(&text).ok())
        .map(|q| crate::services::versions::analysis_rule(q.dimension_rule))
        .unwrap_or(ykien_analysis::DimensionRule::Any);
    let request = AnalyzeRequest {
        answers: args.answers,
        weights: args.weights,
        codebook,
        dimension_rule,
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
            match &weighted {
                Some(file) => say!(
                    "scores weighted by {} (post-stratification weights, docs/weights.md)",
                    file.display()
                ),
                None => say!("scores unweighted (every respondent counts once)"),
            }
            let ignored: u64 = report.ignored.iter().map(|(_, rows)| rows).sum();
            if ignored == 0 {
                say!("no answer row ignored");
            } else {
                let kinds: Vec<String> = report
                    .ignored
                    .iter()
                    .map(|(kind, rows)| format!("{kind} {rows}"))
                    .collect();
                say!(
                    "{ignored} answer rows ignored, never scored ({}): see {}",
                    kinds.join(", "),
                    args.out.join("ignored.csv").display()
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

pub(super) async fn simulate(args: SimulateArgs) -> ExitCode {
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
        modules_per_respondent: args.modules_per_respondent,
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
