//! MONTE CARLO's time bootstrap: when a workload of test files (or single
//! tests) on N workers, run once or twice, finishes, with the phases after
//! it (see the parent module). OPTIMIZE uses it to fit its schedule.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{EDIT_MS, Evidence, REVIEW_MS, STARTUP_MS, TIME_TRIALS, XorShift, round3};
use crate::plan::Finish;

/// What is to run: test files (or paths), on how many workers, how many
/// times (2: baseline and after the edit; 1: the baseline is cached).
#[derive(Debug, Clone, Default)]
pub(crate) struct Workload {
    pub units: Vec<String>,
    pub workers: usize,
    pub runs: u32,
    /// The whole suite, with `whole_files` test files (units are empty).
    pub whole_files: usize,
    /// The share of the project's test files it runs (1: all of them).
    pub coverage: f64,
    /// How many tests the units without recent runs define (`def test_`):
    /// with a time per test from history, their estimate scales with it
    /// (a file of 300 tests is not a file of 3).
    pub tests: BTreeMap<String, usize>,
}

/// Shards `units` over `workers` by time, longest first onto the least
/// loaded (LPT): the same split OPTIMIZE runs.
pub(crate) fn shard(
    units: &[String],
    workers: usize,
    ms: impl Fn(&str) -> f64,
) -> Vec<Vec<String>> {
    let workers = workers.max(1).min(units.len().max(1));
    let mut order: Vec<(f64, &String)> = units.iter().map(|u| (ms(u), u)).collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    let mut shards: Vec<(f64, Vec<String>)> = vec![(0.0, Vec::new()); workers];
    for (ms, unit) in order {
        if let Some(lightest) = shards.iter_mut().min_by(|a, b| a.0.total_cmp(&b.0)) {
            lightest.0 += ms;
            lightest.1.push(unit.clone());
        }
    }
    shards
        .into_iter()
        .map(|(_, s)| s)
        .filter(|s| !s.is_empty())
        .collect()
}

/// The simulated finish of a workload against `budget`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TimeEstimate {
    pub p_on_time: f64,
    pub finish: Finish,
    pub trials: u32,
}

/// A unit without samples is its estimate times exp(N(-MU, SIGMA)): a
/// noise of mean 1.
const NOISE_SIGMA: f64 = 0.3;
const NOISE_MU: f64 = NOISE_SIGMA * NOISE_SIGMA / 2.0;
/// Shards of up to this many units are drawn unit by unit.
const EXACT_UNITS: usize = 48;

/// The sum of a shard's draws, by its moments: the units with samples (one
/// drawn at random each) and those without (estimate × the trial's factor
/// × noise), each part a normal of the same mean and variance.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Sum {
    measured_mean: f64,
    measured_sd: f64,
    /// The estimates' sum, and the noise's standard deviation on it.
    unmeasured: f64,
    unmeasured_sd: f64,
}

impl Sum {
    /// Of units with samples (`Ok`) or an estimate (`Err`).
    fn of<'a>(units: impl Iterator<Item = Result<&'a [f64], f64>>) -> Sum {
        // The noise's variance per unit of estimate: exp(σ²) − 1 (mean 1).
        let noise_var = (NOISE_SIGMA * NOISE_SIGMA).exp() - 1.0;
        let (mut mean, mut var, mut estimate, mut squares) = (0.0, 0.0, 0.0, 0.0);
        for unit in units {
            match unit {
                Ok(samples) => {
                    let n = samples.len() as f64;
                    let m = samples.iter().sum::<f64>() / n;
                    mean += m;
                    var += samples.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
                }
                Err(ms) => {
                    estimate += ms;
                    squares += ms * ms;
                }
            }
        }
        Sum {
            measured_mean: mean,
            measured_sd: var.sqrt(),
            unmeasured: estimate,
            unmeasured_sd: (noise_var * squares).sqrt(),
        }
    }

    fn draw(&self, rng: &mut XorShift, factor: f64) -> f64 {
        let measured = self.measured_mean + self.measured_sd * rng.normal();
        let unmeasured = self.unmeasured + self.unmeasured_sd * rng.normal();
        measured.max(0.0) + factor * unmeasured.max(0.0)
    }
}

/// "3 test files", "2 test files and 14 tests" (node ids): what `units`
/// are.
pub(crate) fn units_label(units: &[String]) -> String {
    let tests = units.iter().filter(|u| u.contains("::")).count();
    let files = units.len() - tests;
    let named = if tests == 1 { "test" } else { "tests" };
    match (files, tests) {
        (_, 0) => format!("{files} test files"),
        (0, _) => format!("{tests} {named}"),
        _ => format!("{files} test files and {tests} {named}"),
    }
}

/// Bootstraps the time a workload (and the phases after it) takes.
pub(crate) fn time_estimate(
    evidence: &Evidence,
    work: &Workload,
    budget: Duration,
    seed: u64,
    cap: Duration,
) -> TimeEstimate {
    // An unmeasured file's estimate: its tests at this project's time per
    // test, when both are known; else the time per test file.
    let unmeasured_ms = |unit: &str| match (evidence.per_test_ms, work.tests.get(unit)) {
        (Some(per_test), Some(&n)) if n > 0 => per_test * n as f64,
        // A test never timed here, without a time per test: a tenth of a
        // file's.
        _ if unit.contains("::") => evidence.per_file_ms / 10.0,
        _ => evidence.per_file_ms,
    };
    let shards = shard(&work.units, work.workers, |u| {
        match evidence.file_samples.get(u) {
            Some(samples) if !samples.is_empty() => evidence.file_ms(u),
            _ => unmeasured_ms(u),
        }
    });
    let known = work
        .units
        .iter()
        .filter(|u| evidence.file_samples.contains_key(*u))
        .count();
    let by_count = work
        .units
        .iter()
        .filter(|u| !evidence.file_samples.contains_key(*u) && work.tests.contains_key(*u))
        .count();
    let basis = if work.runs == 0 || (work.units.is_empty() && work.whole_files == 0) {
        "no tests run: the edit and REVIEW only".to_owned()
    } else if work.units.is_empty() && work.whole_files > 0 {
        format!(
            "the whole suite, {} test files: {}",
            work.whole_files, evidence.per_file_basis
        )
    } else if known == work.units.len() {
        format!(
            "{}, each from its recent runs here",
            units_label(&work.units)
        )
    } else {
        match evidence.per_test_ms.filter(|_| by_count > 0) {
            Some(per_test) => format!(
                "{}, {known} from their recent runs here; {by_count} from their test count at {per_test:.0} ms a test (this project's mean); the rest: {}",
                units_label(&work.units),
                evidence.per_file_basis
            ),
            None => format!(
                "{}, {known} from their recent runs here; the rest: {}",
                units_label(&work.units),
                evidence.per_file_basis
            ),
        }
    };
    let startup = evidence.overhead_ms.unwrap_or(STARTUP_MS);
    let mut rng = XorShift(seed | 1);
    let started = Instant::now();
    let budget_ms = budget.as_secs_f64() * 1000.0;
    let mut totals: Vec<f64> = Vec::new();
    let mut on_time = 0u32;
    // A file without samples: the estimate, times this trial's factor for
    // the project's speed, times a little noise of its own.
    let draw = |rng: &mut XorShift, unit: &str, factor: f64| -> f64 {
        match evidence.file_samples.get(unit) {
            Some(samples) if !samples.is_empty() => {
                samples[(rng.next_u64() % samples.len() as u64) as usize]
            }
            _ => unmeasured_ms(unit) * factor * rng.noise(),
        }
    };
    // A shard of many files is drawn as one sum (see `Sum`): its files'
    // draws are independent, so their sum is normal to a close
    // approximation, and a trial costs a few draws, not one per file (a
    // suite of 2,000 files and 4,000 trials took seconds).
    let sums: Vec<Option<Sum>> = shards
        .iter()
        .map(|shard| {
            (shard.len() > EXACT_UNITS).then(|| {
                Sum::of(shard.iter().map(|u| match evidence.file_samples.get(u) {
                    Some(samples) if !samples.is_empty() => Ok(samples.as_slice()),
                    _ => Err(unmeasured_ms(u)),
                }))
            })
        })
        .collect();
    let whole = (work.whole_files > EXACT_UNITS)
        .then(|| Sum::of((0..work.whole_files).map(|_| Err(evidence.per_file_ms))));
    while totals.len() < TIME_TRIALS
        && (!totals.len().is_multiple_of(256) || started.elapsed() < cap)
    {
        let factor = (evidence.per_file_sigma * rng.normal()).exp();
        let mut tests = 0.0;
        for _ in 0..work.runs {
            let run = if work.units.is_empty() {
                match &whole {
                    Some(sum) => sum.draw(&mut rng, factor) + STARTUP_MS,
                    None if work.whole_files > 0 => {
                        (0..work.whole_files)
                            .map(|_| evidence.per_file_ms * factor * rng.noise())
                            .sum::<f64>()
                            + STARTUP_MS
                    }
                    None => 0.0,
                }
            } else {
                shards
                    .iter()
                    .zip(&sums)
                    .map(|(shard, sum)| {
                        startup
                            + match sum {
                                Some(sum) => sum.draw(&mut rng, factor),
                                None => shard.iter().map(|u| draw(&mut rng, u, factor)).sum(),
                            }
                    })
                    .fold(0.0, f64::max)
            };
            tests += run;
        }
        let review = if evidence.review_ms.is_empty() {
            REVIEW_MS
        } else {
            evidence.review_ms[(rng.next_u64() % evidence.review_ms.len() as u64) as usize]
        };
        let total = tests + EDIT_MS + review;
        if total <= budget_ms {
            on_time += 1;
        }
        totals.push(total);
    }
    let trials = totals.len().max(1) as u32;
    totals.sort_by(f64::total_cmp);
    let pct = |q: f64| -> u64 {
        totals
            .get(((totals.len() as f64 * q) as usize).min(totals.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
            .round() as u64
    };
    TimeEstimate {
        p_on_time: round3(f64::from(on_time) / f64::from(trials)),
        finish: Finish {
            p50_ms: pct(0.50),
            p85_ms: pct(0.85),
            p95_ms: pct(0.95),
            basis,
        },
        trials,
    }
}

impl XorShift {
    /// The noise of a unit without samples: exp(N(−MU, SIGMA)), mean 1.
    fn noise(&mut self) -> f64 {
        (NOISE_SIGMA * self.normal() - NOISE_MU).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shard of many files drawn as one sum has the distribution of its
    /// files drawn one by one (mean and tail), whatever mix of measured
    /// files (skewed samples) and estimated ones.
    #[test]
    fn a_many_file_shard_drawn_as_a_sum_matches_drawing_each_file() {
        let samples: Vec<Vec<f64>> = (0..300)
            .map(|i| {
                let base = 50.0 + f64::from(i % 17) * 40.0;
                vec![base, base * 1.1, base * 3.0]
            })
            .collect();
        let estimates: Vec<f64> = (0..200).map(|i| 100.0 + f64::from(i % 7) * 90.0).collect();
        let sum = Sum::of(
            samples
                .iter()
                .map(|s| Ok(s.as_slice()))
                .chain(estimates.iter().map(|&e| Err(e))),
        );
        let mut rng = XorShift(99);
        let trials = 20_000;
        let (mut exact, mut summed) = (Vec::new(), Vec::new());
        for _ in 0..trials {
            let factor = (0.3 * rng.normal()).exp();
            let one_by_one: f64 = samples
                .iter()
                .map(|s| s[(rng.next_u64() % s.len() as u64) as usize])
                .sum::<f64>()
                + estimates
                    .iter()
                    .map(|e| e * factor * rng.noise())
                    .sum::<f64>();
            exact.push(one_by_one);
            summed.push(sum.draw(&mut rng, factor));
        }
        for v in [&mut exact, &mut summed] {
            v.sort_by(f64::total_cmp);
        }
        let at = |v: &[f64], q: f64| v[(v.len() as f64 * q) as usize];
        for q in [0.05, 0.5, 0.85, 0.95] {
            let (e, s) = (at(&exact, q), at(&summed, q));
            assert!(
                (e - s).abs() / e < 0.02,
                "q{q}: exact {e:.0}, as a sum {s:.0}"
            );
        }
    }
}
