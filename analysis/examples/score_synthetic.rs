//! Scores a synthetic PAPI-sized survey from a long-format CSV or Parquet file, to see time and memory at scale.
//!
//! ```sh
//! cargo run --release -p ykien-analysis --example score_synthetic -- RESPONSES [DIR] [REPLICATES]
//! ```
//!
//! Writes `DIR/answers.csv` (once; reused when present) with RESPONSES responses over 3,321 communes in 34
//! provinces, 99 indicators in 28 sub-dimensions (about 15% skipped, 5% "don't know"), then scores it and prints
//! the wall time of each step and the peak resident memory (`VmHWM`). Not a benchmark against a baseline: the
//! project's benchmarks live in `bench/`.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use ykien_analysis::{
    Codebook, DimensionDef, IndicatorDef, Lineage, Name, QuestionDef, ScoreInput, ScoreOptions, SubdimensionDef, Unit,
    ValueRule, scan_answers, score,
};

const COMMUNES: usize = 3321;
const PROVINCES: usize = 34;
/// Sub-dimensions per dimension, 28 in all as in PAPI.
const SUBS: [usize; 8] = [4, 4, 3, 4, 4, 4, 3, 2];

fn codebook() -> Codebook {
    let mut c = Codebook::default();
    let mut count = 0;
    for (d, &subs) in SUBS.iter().enumerate() {
        let d = d + 1;
        c.dimensions.push(DimensionDef {
            number: d as u8,
            code: format!("d{d}"),
            name: Name::new(format!("Lĩnh vực {d}"), format!("Dimension {d}")),
        });
        for s in 1..=subs {
            let sub = format!("d{d}.{s}");
            c.subdimensions.push(SubdimensionDef {
                code: sub.clone(),
                dimension: format!("d{d}"),
                name: Name::new(format!("Nội dung {sub}"), format!("Sub-dimension {sub}")),
            });
            // 99 indicators: 3 or 4 per sub-dimension.
            let indicators = if c.subdimensions.len() <= 15 { 4 } else { 3 };
            for i in 1..=indicators {
                let code = format!("{sub}.{i}");
                c.indicators.push(IndicatorDef {
                    code: code.clone(),
                    subdimension: sub.clone(),
                    name: Name::new(format!("Chỉ tiêu {code}"), format!("Indicator {code}")),
                });
                let rule = match count % 3 {
                    0 => ValueRule::YesNo {
                        yes_is_good: count % 2 == 0,
                    },
                    1 => ValueRule::Likert {
                        points: 5,
                        high_is_good: count % 4 != 1,
                    },
                    _ => ValueRule::Number { good: 1.0, bad: 5.0 },
                };
                c.questions.push(QuestionDef {
                    code: format!("q{}", code.replace('.', "_")),
                    indicator: code,
                    rule,
                });
                count += 1;
            }
        }
    }
    c
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }
}

fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM")).map(|l| l.to_owned()))
        .unwrap_or_else(|| "VmHWM unknown".into())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let responses: usize = args.next().map_or(Ok(100_000), |a| a.parse())?;
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "/tmp/ykien-synthetic".into()));
    let replicates: usize = args.next().map_or(Ok(1000), |a| a.parse())?;
    let codebook = codebook();
    let path = dir.join(format!("answers-{responses}.csv"));
    if !path.exists() {
        std::fs::create_dir_all(&dir)?;
        let started = Instant::now();
        let mut out = BufWriter::new(std::fs::File::create(&path)?);
        writeln!(out, "response_id,wave,unit_code,question,answer")?;
        let mut rng = Lcg(42);
        let mut rows = 0u64;
        for r in 0..responses {
            let unit = 10_000 + (r % COMMUNES);
            let level = (unit % 7) as u32;
            for q in &codebook.questions {
                let roll = rng.next() % 100;
                if roll < 15 {
                    continue;
                }
                let answer = if roll < 20 {
                    "DK".to_owned()
                } else {
                    match q.rule {
                        ValueRule::YesNo { .. } => ((rng.next() % 10 + level) / 8 % 2).to_string(),
                        ValueRule::Likert { .. } => (1 + (rng.next() % 5 + level / 2).min(4)).to_string(),
                        _ => (1 + rng.next() % 8).to_string(),
                    }
                };
                writeln!(out, "r{r:08},2025,{unit:05},{},{answer}", q.code)?;
                rows += 1;
            }
        }
        out.flush()?;
        println!(
            "wrote {rows} answer rows to {} in {:.1?}",
            path.display(),
            started.elapsed()
        );
    }
    let units: Vec<Unit> = (0..COMMUNES)
        .map(|u| Unit {
            code: format!("{:05}", 10_000 + u),
            name: format!("Xã {u}"),
            province_code: format!("{:02}", u % PROVINCES),
            lat: None,
            lon: None,
        })
        .collect();
    let lineage = Lineage::none();
    let started = Instant::now();
    let scores = score(
        ScoreInput {
            answers: scan_answers(&path)?,
            weights: None,
            codebook: &codebook,
            units: &units,
            lineage: &lineage,
        },
        &ScoreOptions {
            replicates,
            ..ScoreOptions::default()
        },
    )?;
    println!(
        "scored {responses} responses ({} rows, {} withheld) with {replicates} replicates in {:.1?}; {}",
        scores.rows.len(),
        scores.withheld.len(),
        started.elapsed(),
        peak_rss()
    );
    let csv = dir.join("scores.csv");
    scores.write_csv(BufWriter::new(std::fs::File::create(&csv)?))?;
    println!("wrote {}", csv.display());
    Ok(())
}
