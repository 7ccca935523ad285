//! Steps 2–4 for one unit in one wave, point scores and bootstrap intervals together, in plain Rust over the
//! unit's respondents.
//!
//! The pipeline hands over, per respondent, a weight and the (indicator, value) pairs of its answers. One pass
//! over the respondents gives the point scores' weighted means and counts. When intervals are wanted, the same
//! pass makes each respondent one dense row of `2 × indicators` numbers, (weight × value, weight) per indicator.
//! A bootstrap replicate then draws the unit's n respondents with replacement (multinomial counts: n seeded
//! uniform draws), and its sums are the counts times the rows: for four replicates at a time, a small matrix
//! product in registers, in f32 (see [`intervals`] for what that costs: nothing measurable). Every indicator, sub-dimension,
//! dimension and total score of a replicate follows from its sums, and the interval's two percentiles are found
//! by selection, not by sorting the replicates. Nothing but the counts is recomputed per replicate. Each unit
//! draws from its own generator, seeded from the run's seed, the wave and the unit code, so the intervals are
//! identical whatever the number of threads or the order units are scored in.

use crate::aggregate::{
    DIMENSION_COUNT, DIMENSION_MAX, DIMENSION_MIN, ScoreError, WeightedMean, dimension_score, subdimension_score,
    total_score,
};
use crate::codebook::Layout;

/// One unit's respondents in one wave, however they are held: a weight and (indicator, value) entries per
/// respondent. A respondent may have several entries of one indicator (several questions); their values are
/// averaged.
pub(crate) trait GroupAnswers {
    /// Per respondent, in scoring order.
    fn weights(&self) -> &[f64];
    /// Calls `add(indicator, value)` for each of respondent `r`'s entries.
    fn entries(&self, r: usize, add: impl FnMut(usize, f64));
}

/// [`GroupAnswers`] held as slices: the entries of every respondent one after the other.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Group<'a> {
    /// Per respondent.
    pub weights: &'a [f64],
    /// Per respondent `r`, its entries are `offsets[r]..offsets[r + 1]` of `indicators` and `values`.
    pub offsets: &'a [usize],
    pub indicators: &'a [u16],
    pub values: &'a [f64],
}

impl GroupAnswers for Group<'_> {
    fn weights(&self) -> &[f64] {
        self.weights
    }

    fn entries(&self, r: usize, mut add: impl FnMut(usize, f64)) {
        let (Some(&start), Some(&end)) = (self.offsets.get(r), self.offsets.get(r + 1)) else {
            return;
        };
        let indicators = self.indicators.get(start..end).unwrap_or_default();
        let values = self.values.get(start..end).unwrap_or_default();
        for (&indicator, &value) in indicators.iter().zip(values) {
            add(usize::from(indicator), value);
        }
    }
}

/// A score with its respondent count and interval; `score` is `None` when no respondent has a value.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Stat {
    pub score: Option<f64>,
    pub n: usize,
    pub ci: Option<(f64, f64)>,
}

/// Every score of one unit in one wave.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupStats {
    pub indicators: Vec<Stat>,
    pub subdimensions: Vec<Stat>,
    pub dimensions: Vec<Stat>,
    pub total: Stat,
}

/// How the interval is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bootstrap {
    pub replicates: usize,
    pub confidence: f64,
    pub seed: u64,
}

/// Scores one unit: point scores by the functions of [`crate::aggregate`], intervals by the bootstrap.
pub(crate) fn score_group(
    layout: &Layout,
    group: &impl GroupAnswers,
    bootstrap: Bootstrap,
) -> Result<GroupStats, ScoreError> {
    let n = group.weights().len();
    let with_intervals = bootstrap.replicates > 0 && n > 0;
    let pass = read_respondents(layout, group, with_intervals)?;
    let mut stats = point_scores(layout, &pass)?;
    if with_intervals {
        let intervals = intervals(layout, &pass.rows, n, bootstrap);
        let all = stats
            .indicators
            .iter_mut()
            .chain(stats.subdimensions.iter_mut())
            .chain(stats.dimensions.iter_mut())
            .chain(std::iter::once(&mut stats.total));
        for (stat, ci) in all.zip(intervals) {
            if stat.score.is_some() {
                stat.ci = ci;
            }
        }
    }
    Ok(stats)
}

/// What one pass over a unit's respondents gathers.
struct Respondents {
    /// Per indicator, the weighted mean of the respondents with a value and a positive weight, in their order.
    means: Vec<WeightedMean>,
    counts: Counts,
    /// With intervals only: per respondent, `(weight × value, weight)` for each indicator it has a value of,
    /// `(0, 0)` for the others (`2 × indicators` numbers a respondent), what a bootstrap replicate resamples.
    rows: Vec<f64>,
}

/// Reads each respondent once: the mean of its questions on each indicator it answered, added to that indicator's
/// weighted mean and counts, and written to its dense row when `dense` (intervals are wanted). Without intervals
/// nothing of size respondents × indicators is built, and every indicator's mean is summed in respondent order.
fn read_respondents(layout: &Layout, group: &impl GroupAnswers, dense: bool) -> Result<Respondents, ScoreError> {
    let indicators = layout.indicators();
    let width = 2 * indicators;
    let n = group.weights().len();
    let mut pass = Respondents {
        means: vec![WeightedMean::default(); indicators],
        counts: Counts::new(layout),
        rows: if dense { vec![0.0; n * width] } else { Vec::new() },
    };
    let mut sum = vec![0.0; indicators];
    let mut count = vec![0u32; indicators];
    // The indicators the current respondent answered, in the order first met: only they are read and reset.
    let mut answered: Vec<usize> = Vec::with_capacity(indicators);
    for (r, &weight) in group.weights().iter().enumerate() {
        group.entries(r, |i, value| {
            if let (Some(s), Some(c)) = (sum.get_mut(i), count.get_mut(i)) {
                if *c == 0 {
                    answered.push(i);
                }
                *s += value;
                *c += 1;
            }
        });
        let mut row = pass.rows.get_mut(r * width..(r + 1) * width);
        for &i in &answered {
            let value = respondent_mean(sum[i], count[i]);
            if weight > 0.0 {
                pass.means[i].push(value, weight)?;
            }
            if let Some(row) = row.as_deref_mut() {
                row[2 * i] = weight * value;
                row[2 * i + 1] = weight;
            }
            sum[i] = 0.0;
            count[i] = 0;
        }
        if weight > 0.0 {
            pass.counts.add(layout, &answered);
        }
        answered.clear();
    }
    Ok(pass)
}

/// A respondent's value on one indicator: the mean of its `count` (≥ 1) questions' values, which stays within
/// [0, 1]. Most indicators have one question, and `x / 1` is `x` to the bit, so the division is left out for them.
#[inline]
pub(crate) fn respondent_mean(sum: f64, count: u32) -> f64 {
    let mean = if count == 1 { sum } else { sum / f64::from(count) };
    mean.clamp(0.0, 1.0)
}

/// Respondent counts: those with a positive weight and at least one value at each level.
struct Counts {
    indicators: Vec<usize>,
    subdimensions: Vec<usize>,
    dimensions: Vec<usize>,
    total: usize,
    seen_sub: Vec<bool>,
    seen_dim: Vec<bool>,
}

impl Counts {
    fn new(layout: &Layout) -> Self {
        Self {
            indicators: vec![0; layout.indicators()],
            subdimensions: vec![0; layout.subdimensions()],
            dimensions: vec![0; layout.dimensions()],
            total: 0,
            seen_sub: vec![false; layout.subdimensions()],
            seen_dim: vec![false; layout.dimensions()],
        }
    }

    /// One respondent with a positive weight and values of `answered` (each indicator once).
    fn add(&mut self, layout: &Layout, answered: &[usize]) {
        for &i in answered {
            let sub = layout.indicator_sub[i];
            self.indicators[i] += 1;
            self.seen_sub[sub] = true;
            self.seen_dim[layout.sub_dim[sub]] = true;
        }
        for (count, seen) in self.subdimensions.iter_mut().zip(self.seen_sub.iter_mut()) {
            *count += usize::from(std::mem::take(seen));
        }
        for (count, seen) in self.dimensions.iter_mut().zip(self.seen_dim.iter_mut()) {
            *count += usize::from(std::mem::take(seen));
        }
        self.total += usize::from(!answered.is_empty());
    }
}

/// The reported scores, computed step by step with the documented functions of [`crate::aggregate`].
fn point_scores(layout: &Layout, pass: &Respondents) -> Result<GroupStats, ScoreError> {
    let counts = &pass.counts;
    let mut indicator_stats = Vec::with_capacity(layout.indicators());
    for (mean, &n) in pass.means.iter().zip(&counts.indicators) {
        indicator_stats.push(Stat {
            score: mean.finish()?.map(|s| s.clamp(0.0, 1.0)),
            n,
            ci: None,
        });
    }
    let mut sub_stats = Vec::with_capacity(layout.subdimensions());
    for (members, &n) in layout.sub_indicators.iter().zip(&counts.subdimensions) {
        let scores: Vec<f64> = members.iter().filter_map(|&i| indicator_stats[i].score).collect();
        sub_stats.push(Stat {
            score: subdimension_score(&scores)?,
            n,
            ci: None,
        });
    }
    let mut dim_stats = Vec::with_capacity(layout.dimensions());
    for (members, &n) in layout.dim_subs.iter().zip(&counts.dimensions) {
        let scores: Vec<f64> = members.iter().filter_map(|&s| sub_stats[s].score).collect();
        dim_stats.push(Stat {
            score: dimension_score(&scores)?,
            n,
            ci: None,
        });
    }
    let total = if layout.has_total {
        let scores: Vec<f64> = dim_stats.iter().filter_map(|d| d.score).collect();
        match <[f64; DIMENSION_COUNT]>::try_from(scores) {
            Ok(all) => Some(total_score(&all)?),
            Err(_) => None,
        }
    } else {
        None
    };
    Ok(GroupStats {
        indicators: indicator_stats,
        subdimensions: sub_stats,
        dimensions: dim_stats,
        total: Stat {
            score: total,
            n: counts.total,
            ci: None,
        },
    })
}

/// Every score from summed rows, NaN where undefined, in the order indicators, sub-dimensions, dimensions, total.
///
/// The same arithmetic as [`point_scores`] without its checks and allocations, for the thousands of replicates; a
/// test keeps the two equal.
fn scores_from_sums(layout: &Layout, sums: &[f64], out: &mut [f64]) {
    let indicators = layout.indicators();
    let subs = layout.subdimensions();
    let dims = layout.dimensions();
    for i in 0..indicators {
        let (weighted, weight) = (sums[2 * i], sums[2 * i + 1]);
        out[i] = if weight > 0.0 {
            (weighted / weight).clamp(0.0, 1.0)
        } else {
            f64::NAN
        };
    }
    for (s, members) in layout.sub_indicators.iter().enumerate() {
        out[indicators + s] = mean_defined(members.iter().map(|&i| out[i]), 0.0, 1.0);
    }
    for (d, members) in layout.dim_subs.iter().enumerate() {
        let mean = mean_defined(members.iter().map(|&s| out[indicators + s]), 0.0, 1.0);
        out[indicators + subs + d] = DIMENSION_MIN + (DIMENSION_MAX - DIMENSION_MIN) * mean;
    }
    let total = &mut out[indicators + subs + dims];
    *total = f64::NAN;
    if layout.has_total {
        let dims_scores = &out[indicators + subs..indicators + subs + dims];
        if dims_scores.iter().all(|d| !d.is_nan()) {
            let sum: f64 = dims_scores.iter().sum();
            out[indicators + subs + dims] = sum.clamp(
                DIMENSION_MIN * DIMENSION_COUNT as f64,
                DIMENSION_MAX * DIMENSION_COUNT as f64,
            );
        }
    }
}

fn mean_defined(values: impl Iterator<Item = f64>, low: f64, high: f64) -> f64 {
    let (mut sum, mut count) = (0.0, 0u32);
    for value in values.filter(|v| !v.is_nan()) {
        sum += value;
        count += 1;
    }
    if count == 0 {
        f64::NAN
    } else {
        (sum / f64::from(count)).clamp(low, high)
    }
}

/// Percentile intervals over `bootstrap.replicates` resamples of the unit's respondents, one per statistic in the
/// order of [`scores_from_sums`]; `None` where fewer than two replicates define the statistic.
///
/// A replicate's sums are its counts times the rows, so [`REPLICATES`] replicates at a time are one small matrix
/// product, tile by tile of [`COLUMNS`] columns, with every accumulator in a register ([`block_sums`]). The sums
/// are taken in f32 (the rows are rounded to f32 once): an error of about 10⁻⁶ on an interval's end relative to
/// the score's scale for a few hundred respondents (√n × 6 × 10⁻⁸ typically, n × 6 × 10⁻⁸ at worst), against a
/// Monte Carlo error of the bootstrap itself around 10⁻², for twice the numbers per vector instruction. Point scores never go through it. Only the counts are drawn per replicate; the rows are
/// packed once.
fn intervals(layout: &Layout, rows: &[f64], n: usize, bootstrap: Bootstrap) -> Vec<Option<(f64, f64)>> {
    let width = 2 * layout.indicators();
    let tiles = width.div_ceil(COLUMNS);
    let statistics = layout.indicators() + layout.subdimensions() + layout.dimensions() + 1;
    let b = bootstrap.replicates;
    let mut replicates = vec![f64::NAN; statistics * b];
    let mut rng = SplitMix64::new(bootstrap.seed);

    // Tile-major: tile t holds columns t × COLUMNS.. of every respondent, one respondent after the other.
    let mut packed = vec![0.0f32; tiles * n * COLUMNS];
    for (r, row) in rows.chunks_exact(width).enumerate() {
        for (c, &x) in row.iter().enumerate() {
            packed[((c / COLUMNS) * n + r) * COLUMNS + c % COLUMNS] = x as f32;
        }
    }
    let mut counts = vec![0.0f32; n * REPLICATES];
    let mut sums = vec![[0.0f32; COLUMNS]; REPLICATES * tiles];
    let mut replicate_sums = vec![0.0; tiles * COLUMNS];
    let mut out = vec![0.0; statistics];
    let mut first = 0;
    while first < b {
        let size = REPLICATES.min(b - first);
        // Respondent-major, as the kernel reads them: counts[r × REPLICATES + j] for replicate j.
        counts.fill(0.0);
        for j in 0..size {
            rng.draw(n, |r| counts[r * REPLICATES + j] += 1.0);
        }
        block_sums(&counts, &packed, n, &mut sums);
        for j in 0..size {
            for (t, tile) in sums[j * tiles..(j + 1) * tiles].iter().enumerate() {
                for (k, &x) in tile.iter().enumerate() {
                    replicate_sums[t * COLUMNS + k] = f64::from(x);
                }
            }
            scores_from_sums(layout, &replicate_sums[..width], &mut out);
            for (s, &value) in out.iter().enumerate() {
                replicates[s * b + first + j] = value;
            }
        }
        first += size;
    }
    let alpha = (1.0 - bootstrap.confidence).clamp(0.0, 1.0);
    let mut defined = Vec::with_capacity(b);
    replicates
        .chunks_exact(b.max(1))
        .map(|values| {
            defined.clear();
            defined.extend(values.iter().copied().filter(|v| !v.is_nan()).map(order_key));
            if defined.len() < 2 {
                return None;
            }
            Some(percentiles(&mut defined, alpha / 2.0, 1.0 - alpha / 2.0))
        })
        .collect()
}

/// Replicates summed at once: their counts and accumulators stay in registers while a tile of rows streams by.
const REPLICATES: usize = 4;
/// Columns of a tile: two 128-bit registers of f32, the vector width of any x86-64.
const COLUMNS: usize = 8;

/// `sums[j × tiles + t] = Σ_r counts[r × REPLICATES + j] × packed tile t of respondent r`, for the block's
/// replicates `j`: plain loops over fixed-size arrays that the compiler turns into vector multiplies and adds.
fn block_sums(counts: &[f32], packed: &[f32], n: usize, sums: &mut [[f32; COLUMNS]]) {
    let tiles = sums.len() / REPLICATES;
    for (t, tile) in packed.chunks_exact((n * COLUMNS).max(1)).enumerate().take(tiles) {
        let mut acc = [[0.0f32; COLUMNS]; REPLICATES];
        for (row, c) in tile.chunks_exact(COLUMNS).zip(counts.chunks_exact(REPLICATES)) {
            let (Ok(row), Ok(c)) = (<&[f32; COLUMNS]>::try_from(row), <&[f32; REPLICATES]>::try_from(c)) else {
                continue;
            };
            for (acc, &c) in acc.iter_mut().zip(c) {
                for (a, &x) in acc.iter_mut().zip(row) {
                    *a += c * x;
                }
            }
        }
        for (j, acc) in acc.into_iter().enumerate() {
            sums[j * tiles + t] = acc;
        }
    }
}

/// The type-7 percentiles `low ≤ high` of non-empty data given as [`order_key`]s (as in
/// [`crate::quartile::cut_points`]), by selection rather than a full sort: the same order statistics, so the same
/// numbers, in linear time. Reorders `keys`. Selecting integers instead of calling `f64::total_cmp` on every
/// comparison made the selections, a quarter of `ykien analyze` with intervals at 100,000 responses, faster.
fn percentiles(keys: &mut [i64], low: f64, high: f64) -> (f64, f64) {
    let last = keys.len().saturating_sub(1);
    let rank = |p: f64| {
        let rank = last as f64 * p;
        let below = rank.floor();
        (below as usize, rank - below)
    };
    let (i, fi) = rank(low);
    let (j, fj) = rank(high.max(low));
    // keys[..=i] ≤ keys[i] ≤ keys[i + 1..] after selecting i; then j (≥ i) is selected among the upper part.
    let (_, &mut at_i, above_i) = keys.select_nth_unstable(i.min(last));
    let next_i = above_i.iter().copied().min().unwrap_or(at_i);
    let (at_j, next_j) = if j == i {
        (at_i, next_i)
    } else {
        let (_, &mut at_j, above_j) = above_i.select_nth_unstable(j - i - 1);
        (at_j, above_j.iter().copied().min().unwrap_or(at_j))
    };
    let between = |at: i64, next: i64, f: f64| {
        let (at, next) = (from_order_key(at), from_order_key(next));
        at + f * (next - at)
    };
    (between(at_i, next_i, fi), between(at_j, next_j, fj))
}

/// `x`'s bits as an integer that orders as [`f64::total_cmp`] orders the numbers (the same transformation).
fn order_key(x: f64) -> i64 {
    flip_below_sign(x.to_bits() as i64)
}

/// The number [`order_key`] was made from.
fn from_order_key(key: i64) -> f64 {
    f64::from_bits(flip_below_sign(key) as u64)
}

/// Flips every bit below the sign of a negative number: it undoes itself, since it leaves the sign bit alone.
fn flip_below_sign(bits: i64) -> i64 {
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

/// SplitMix64 (Steele, Lea and Flood, 2014): small, fast, and fixed here, so a seed gives the same intervals on
/// every machine and every version of every dependency.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` by Lemire's multiply-shift; the bias, below n / 2⁶⁴, is far under anything measurable.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// One multinomial draw of n respondents with replacement: calls `add(r)` for each of n uniform indexes `r`
    /// in `0..n`. Each 64-bit output gives two indexes of 32 bits when there are at most 2¹⁶ respondents (the
    /// bias of the multiply-shift, below n / 2³² ≤ 1.5 × 10⁻⁵ of a probability, is far under the bootstrap's own
    /// noise), one otherwise.
    pub fn draw(&mut self, n: usize, mut add: impl FnMut(usize)) {
        if n <= 1 << 16 {
            let at = |bits: u64| (((bits & 0xFFFF_FFFF) * n as u64) >> 32) as usize;
            for _ in 0..n / 2 {
                let x = self.next_u64();
                add(at(x));
                add(at(x >> 32));
            }
            if n % 2 == 1 {
                add(at(self.next_u64()));
            }
        } else {
            for _ in 0..n {
                add(self.below(n));
            }
        }
    }
}

/// The seed of one unit's generator: the run's seed mixed with the wave and the unit code.
pub(crate) fn group_seed(seed: u64, wave: &str, unit: &str) -> u64 {
    let mix = seed ^ fnv1a(wave.as_bytes()) ^ fnv1a(unit.as_bytes()).rotate_left(32);
    SplitMix64::new(mix).next_u64()
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::new(&crate::codebook::eight_dimensions_of_yes_no())
    }

    #[test]
    fn replicate_arithmetic_equals_the_documented_point_scores() {
        let layout = layout();
        let mut rng = SplitMix64::new(7);
        let n = 40;
        let weights: Vec<f64> = (0..n).map(|_| 0.5 + (rng.below(100) as f64) / 50.0).collect();
        let mut offsets = vec![0];
        let (mut indicators, mut values) = (Vec::new(), Vec::new());
        for _ in 0..n {
            for i in 0..16u16 {
                if rng.below(3) > 0 {
                    indicators.push(i);
                    values.push(rng.below(5) as f64 / 4.0);
                }
            }
            offsets.push(indicators.len());
        }
        let group = Group {
            weights: &weights,
            offsets: &offsets,
            indicators: &indicators,
            values: &values,
        };
        let pass = read_respondents(&layout, &group, true).expect("valid");
        let point = point_scores(&layout, &pass).expect("valid");
        let mut sums = vec![0.0; 32];
        for row in pass.rows.chunks_exact(32) {
            for (s, x) in sums.iter_mut().zip(row) {
                *s += x;
            }
        }
        let mut fast = vec![0.0; 16 + 8 + 8 + 1];
        scores_from_sums(&layout, &sums, &mut fast);
        let slow: Vec<f64> = point
            .indicators
            .iter()
            .chain(&point.subdimensions)
            .chain(&point.dimensions)
            .chain(std::iter::once(&point.total))
            .map(|s| s.score.unwrap_or(f64::NAN))
            .collect();
        for (a, b) in fast.iter().zip(&slow) {
            assert!((a - b).abs() < 1e-9, "fast {a} vs documented {b}");
        }
    }

    #[test]
    fn percentiles_by_selection_are_those_of_the_sorted_data() {
        let mut rng = SplitMix64::new(3);
        for len in [2usize, 3, 7, 40, 1000] {
            // Few distinct values, so that ties are common, on both sides of zero.
            let data: Vec<f64> = (0..len).map(|_| (rng.below(50) as f64 - 25.0) / 7.0).collect();
            let mut sorted = data.clone();
            sorted.sort_by(f64::total_cmp);
            let type7 = |p: f64| {
                let h = (len - 1) as f64 * p;
                let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
                sorted[lo] + (h - h.floor()) * (sorted[hi] - sorted[lo])
            };
            for (low, high) in [(0.025, 0.975), (0.05, 0.95), (0.5, 0.5), (0.0, 1.0)] {
                let mut work: Vec<i64> = data.iter().copied().map(order_key).collect();
                assert_eq!(
                    percentiles(&mut work, low, high),
                    (type7(low), type7(high)),
                    "{len} {low} {high}"
                );
            }
        }
    }

    #[test]
    fn order_keys_order_as_total_cmp_and_give_the_numbers_back() {
        let numbers = [
            f64::MIN,
            -2.5,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            1e-300,
            0.75,
            f64::MAX,
            f64::INFINITY,
        ];
        for (k, &x) in numbers.iter().enumerate() {
            assert_eq!(from_order_key(order_key(x)).to_bits(), x.to_bits());
            for &y in &numbers[k..] {
                assert_eq!(order_key(x).cmp(&order_key(y)), x.total_cmp(&y), "{x} {y}");
            }
        }
    }

    #[test]
    fn a_draw_adds_n_respondents_whatever_n() {
        let mut rng = SplitMix64::new(5);
        for n in [1usize, 2, 3, 300, (1 << 16) + 1] {
            let mut counts = vec![0u32; n];
            rng.draw(n, |r| counts[r] += 1);
            assert_eq!(counts.iter().sum::<u32>() as usize, n);
        }
        // Uniform: 1,000 draws of 300 respondents put about 1,000 on each.
        let mut counts = vec![0u32; 300];
        for _ in 0..1000 {
            rng.draw(300, |r| counts[r] += 1);
        }
        assert!(counts.iter().all(|&c| (850..=1150).contains(&c)), "{counts:?}");
    }

    #[test]
    fn the_generator_is_uniform_enough_and_fixed() {
        let mut rng = SplitMix64::new(0);
        // The published first output of SplitMix64 seeded with 0.
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        let mut bins = [0u32; 10];
        for _ in 0..100_000 {
            bins[rng.below(10)] += 1;
        }
        assert!(bins.iter().all(|&c| (9_500..=10_500).contains(&c)), "{bins:?}");
        assert_ne!(group_seed(1, "2025", "11953"), group_seed(1, "2025", "11977"));
        assert_ne!(group_seed(1, "2025", "11953"), group_seed(2, "2025", "11953"));
        assert_eq!(group_seed(1, "2025", "11953"), group_seed(1, "2025", "11953"));
    }
}
