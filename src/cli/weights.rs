//! `weights compute`, `weights clear` and `weights show`: survey weights (docs/weights.md), stored per wave or
//! written to a file.

use super::*;
use crate::domain::weights::{ProvinceWeights, WaveWeighting};
use crate::services::weights::{self as weight_service, MarginsFile};

/// One line on how a province's weights came out.
fn province_line(wave: &str, p: &ProvinceWeights) -> String {
    if !p.has_margins {
        return format!(
            "wave {wave}, province {}: {} respondents, no margins in the file: weight 1",
            p.province_code, p.respondents
        );
    }
    format!(
        "wave {wave}, province {}: {} respondents ({} with an incomplete profile, kept), {}, {} trimmed; design effect {:.2}, effective sample size {:.0}",
        p.province_code,
        p.respondents,
        p.incomplete_profiles,
        if p.converged {
            format!("margins met in {} sweeps", p.iterations)
        } else {
            "margins NOT met (see docs/weights.md)".to_owned()
        },
        p.trimmed,
        p.design_effect,
        p.effective_n
    )
}

/// The lines every surface of a stored weighting prints: its provinces and the whole wave's cost.
fn weighting_lines(wave: &str, w: &WaveWeighting) {
    for p in &w.provinces {
        say!("{}", province_line(wave, p));
    }
    say!(
        "wave {wave}: {} respondents weighted; design effect {:.2}, effective sample size {:.0}",
        w.respondents,
        w.design_effect(),
        w.effective_n()
    );
    if w.left_out > 0 {
        say!(
            "{} responses left out (their commune is not valid today and has no successor in the lineage): they count with weight 1",
            w.left_out
        );
    }
}

pub(super) async fn compute_weights(store: Option<&Store>, args: WeightsArgs) -> ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("ykien weights compute: {e}");
        ExitCode::FAILURE
    };
    if !(args.cap.is_finite() && args.cap > 1.0) {
        eprintln!(
            "ykien weights compute: --cap {}: give a number above 1 (e.g. 5)",
            args.cap
        );
        return ExitCode::from(2);
    }
    let (answers, out) = match (args.wave, args.answers, args.out, store) {
        (Some(wave), _, _, Some(store)) => return compute_stored(store, &wave, &args.margins, args.cap).await,
        (None, Some(answers), Some(out), _) => (answers, out),
        // clap requires --wave or --answers with --out, and opens the database for --wave.
        _ => return fail(&"give --wave W, or --answers FILE with --out FILE"),
    };
    let units = match units_table(store, &args.units).await {
        Ok(u) => u,
        Err(e) => return fail(&e),
    };
    let options = ykien_analysis::RakeOptions {
        cap: args.cap,
        ..ykien_analysis::RakeOptions::default()
    };
    match analysis::compute_weights(&answers, &args.margins, units, options, &out).await {
        Ok(computed) => {
            say!(
                "{} weights written to {} (cap {} × the mean weight)",
                computed.weights.len(),
                out.display(),
                args.cap
            );
            for (wave, p) in &computed.provinces {
                say!("{}", province_line(wave, p));
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

async fn compute_stored(store: &Store, wave: &str, margins: &Path, cap: f64) -> ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("ykien weights compute: {e}");
        ExitCode::FAILURE
    };
    let file = match MarginsFile::read(margins) {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    match weight_service::compute_for_wave(store, wave, &file, cap).await {
        Ok(w) => {
            say!(
                "weights of wave {wave} stored for {} responses, replacing any before (cap {} × the mean weight; margins {}, SHA-256 {})",
                w.respondents,
                w.cap,
                w.margins_file,
                w.margins_sha256
            );
            weighting_lines(wave, &w);
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

pub(super) async fn clear_weights(store: &Store, wave: &str) -> ExitCode {
    match weight_service::clear(store, wave).await {
        Ok(Some(removed)) => {
            say!("weights of wave {wave} removed ({removed} responses): its scores are unweighted");
            ExitCode::SUCCESS
        }
        Ok(None) => {
            say!("wave {wave} had no stored weights");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ykien weights clear: {e}");
            ExitCode::FAILURE
        }
    }
}

pub(super) async fn show_weights(store: &Store, wave: &str) -> ExitCode {
    let status = match weight_service::status(store, wave).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ykien weights show: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(w) = &status.weighting else {
        say!("wave {wave} has no stored weights: its scores are unweighted (every respondent counts once)");
        return ExitCode::SUCCESS;
    };
    say!(
        "wave {wave}: weights computed {} from {} (SHA-256 {}), cap {} × the mean weight",
        w.computed_at.format("%Y-%m-%d %H:%M:%S UTC"),
        w.margins_file,
        w.margins_sha256,
        w.cap
    );
    if w.sources.is_empty() {
        say!("the margins file names no source");
    }
    for source in &w.sources {
        say!("source: {source}");
    }
    weighting_lines(wave, w);
    if status.unweighted > 0 {
        say!(
            "{} complete responses have no stored weight and count with weight 1 (completed or restored after the weights were computed{}): compute the weights again to include them",
            status.unweighted,
            if w.left_out > 0 { ", or left out above" } else { "" }
        );
    } else {
        say!("every complete response has its weight");
    }
    ExitCode::SUCCESS
}
