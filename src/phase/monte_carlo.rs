//! MONTE CARLO: the risk of a change and when the run will finish, from
//! evidence where there is some.
//!
//! - **P(tests pass).** A per-site prior: each edited site fails with a
//!   small probability that depends on its kind (an attribute access
//!   through a module alias is riskier than the definition); every
//!   uncertain site left alone, every mention in a string, every test file
//!   touched and every re-export adds a little. Once this project (else
//!   any project) has runs of the same kind of refactor whose tests ran,
//!   the prior is updated with them (Beta-Binomial, the prior counting as
//!   8 runs): `(passed + 8 p0) / (runs + 8)`.
//! - **P(on time) and P50/P85/P95.** A bootstrap over the schedule: each
//!   trial draws every test file's time from its recent runs (history),
//!   runs the files on the scheduled workers (longest first, as OPTIMIZE
//!   shards them), twice when the baseline is not cached, and adds the
//!   other phases' times (REVIEW's from history). Files with no history
//!   draw around a per-file estimate, labelled: this project's mean, else
//!   this machine's runs on other projects, else a stated default.
//!
//! The RNG is seeded from the inputs, so the same plan gets the same
//! estimate; the simulation stops at 20,000 trials or its time cap (15 s
//! at most).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::logic::Analysis;
use super::{Context, Failure};
use crate::edit::EditKind;
use crate::history::query::{Db, TestHistory};
use crate::plan::{BlastRadius, Risk, sha1_hex};

mod time;

pub(crate) use time::{Workload, shard, time_estimate, units_label};

const MAX_TRIALS: u32 = 20_000;
/// Trials of the finish time (each draws every test file): enough for
/// P(on time) to ±1% and the percentiles, and cheap on large suites.
const TIME_TRIALS: usize = 4_000;
pub(crate) const CAP: Duration = Duration::from_secs(15);
/// The weight of the per-site prior, in runs.
const PRIOR_RUNS: f64 = 8.0;
/// A test file's time when nothing has been measured on this machine.
const DEFAULT_FILE_MS: f64 = 1_000.0;
/// Starting a pytest process (per worker, per run).
const STARTUP_MS: f64 = 800.0;
/// EXECUTE's work besides the tests, and REVIEW's when never measured.
const EDIT_MS: f64 = 500.0;
const REVIEW_MS: f64 = 1_000.0;

/// What the history says, loaded once per run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Evidence {
    /// Per test file, its recent times (ms); per selected test (node id)
    /// too, once [`Evidence::with_tests`] adds them.
    pub file_samples: BTreeMap<String, Vec<f64>>,
    /// Per test (node id), its median time (ms).
    pub test_ms: BTreeMap<String, f64>,
    /// The tests that ever failed here.
    pub failing: BTreeMap<String, TestHistory>,
    /// A test file's time when it has no samples, and where that comes from.
    pub per_file_ms: f64,
    pub per_file_basis: String,
    /// This project's mean time per test (ms), once enough was measured.
    pub per_test_ms: Option<f64>,
    /// How unsure that figure is: the sigma of a log-normal factor drawn
    /// once per trial for every file without samples (the speed of a
    /// project's tests is shared by its files): 0.3 from this project's
    /// runs, 0.5 from other projects', 0.8 for the default.
    pub per_file_sigma: f64,
    /// REVIEW's recent times (ms).
    pub review_ms: Vec<f64>,
    /// Sharding broke tests here before: run them in one process.
    pub shard_unsafe: bool,
    /// A test run's start-up and collection (ms), from history.
    pub overhead_ms: Option<f64>,
    /// By refactor kind: runs whose tests ran, and those that passed (this
    /// project's; every project's when this one has none of the kind).
    pub outcomes: BTreeMap<String, (u64, u64)>,
    /// P(tests pass) fitted on past runs, once there are enough of them.
    pub pass_model: Option<PassModel>,
}

/// Runs with tests needed before P(tests pass) comes from the fitted model
/// rather than the per-site prior (updated by kind).
pub(crate) const MIN_FIT_RUNS: usize = 30;

/// P(tests pass) fitted on past runs: a logistic regression over the
/// refactor kind (kinds with 3 runs or more), the blast radius (log sites
/// and files), the uncertain sites and the share of the test files that ran,
/// ridge-penalised (which is its prior: no effect until the runs show one)
/// and fitted by Newton's method.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PassModel {
    kinds: Vec<String>,
    weights: Vec<f64>,
    pub runs: usize,
    pub passed: usize,
}

impl PassModel {
    fn features(
        kinds: &[String],
        kind: &str,
        sites: f64,
        files: f64,
        uncertain: f64,
        coverage: f64,
    ) -> Vec<f64> {
        let mut x = vec![
            1.0,
            sites.max(0.0).ln_1p(),
            files.max(0.0).ln_1p(),
            uncertain.max(0.0).ln_1p(),
            coverage.clamp(0.0, 1.0),
        ];
        x.extend(kinds.iter().map(|k| f64::from(u8::from(k == kind))));
        x
    }

    /// The model of `runs`; `None` with fewer than [`MIN_FIT_RUNS`] or when
    /// they all passed or all failed (nothing to tell apart).
    pub(crate) fn fit(runs: &[crate::history::query::Scored]) -> Option<PassModel> {
        let passed = runs.iter().filter(|r| r.passed).count();
        if runs.len() < MIN_FIT_RUNS || passed == 0 || passed == runs.len() {
            return None;
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for run in runs {
            *counts.entry(run.kind.as_str()).or_default() += 1;
        }
        let kinds: Vec<String> = counts
            .into_iter()
            .filter(|(_, n)| *n >= 3)
            .map(|(k, _)| k.to_owned())
            .collect();
        let rows: Vec<(Vec<f64>, f64)> = runs
            .iter()
            .map(|r| {
                (
                    Self::features(&kinds, &r.kind, r.sites, r.files, r.uncertain, r.coverage),
                    f64::from(u8::from(r.passed)),
                )
            })
            .collect();
        let n = rows[0].0.len();
        let mut w = vec![0.0; n];
        // The intercept starts at the pass rate's log-odds.
        let rate = passed as f64 / runs.len() as f64;
        w[0] = (rate / (1.0 - rate)).ln();
        const RIDGE: f64 = 1.0;
        for _ in 0..50 {
            // Gradient and Hessian of the penalised log-likelihood.
            let mut gradient = vec![0.0; n];
            let mut hessian = vec![vec![0.0; n]; n];
            for (x, y) in &rows {
                let p = sigmoid(dot(&w, x));
                let weight = (p * (1.0 - p)).max(1e-9);
                for i in 0..n {
                    gradient[i] += (y - p) * x[i];
                    for j in 0..n {
                        hessian[i][j] += weight * x[i] * x[j];
                    }
                }
            }
            for i in 1..n {
                gradient[i] -= RIDGE * w[i];
                hessian[i][i] += RIDGE;
            }
            hessian[0][0] += 1e-6;
            let step = solve(hessian, gradient)?;
            let size: f64 = step.iter().map(|d| d.abs()).fold(0.0, f64::max);
            for (wi, di) in w.iter_mut().zip(&step) {
                *wi += di;
            }
            if !size.is_finite() {
                return None;
            }
            if size < 1e-8 {
                break;
            }
        }
        Some(PassModel {
            kinds,
            weights: w,
            runs: runs.len(),
            passed,
        })
    }

    pub(crate) fn predict(
        &self,
        kind: &str,
        sites: f64,
        files: f64,
        uncertain: f64,
        coverage: f64,
    ) -> f64 {
        sigmoid(dot(
            &self.weights,
            &Self::features(&self.kinds, kind, sites, files, uncertain, coverage),
        ))
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting; `None`
/// if `a` is singular.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let factor = row[col] / pivot_row[col];
            for (cell, above) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                *cell -= factor * above;
            }
            b[col + 1 + offset] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let rest: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - rest) / a[row][row];
    }
    Some(x)
}

impl Evidence {
    /// Loads what the history of `project_dir` (and, for the machine's
    /// speed, of every project under `state_home`) says. A history that
    /// cannot be read is no evidence (said in the log).
    pub(crate) fn load(state_home: &std::path::Path, project_dir: &std::path::Path) -> Evidence {
        match Self::try_load(state_home, project_dir) {
            Ok(evidence) => evidence,
            Err(error) => {
                tracing::warn!(%error, "run history unreadable: estimating without it");
                Evidence {
                    per_file_ms: DEFAULT_FILE_MS,
                    per_file_sigma: 0.8,
                    per_file_basis: format!(
                        "a default of {DEFAULT_FILE_MS:.0} ms a test file (the run history could not be read)"
                    ),
                    ..Evidence::default()
                }
            }
        }
    }

    fn try_load(
        state_home: &std::path::Path,
        project_dir: &std::path::Path,
    ) -> Result<Evidence, crate::history::Error> {
        let db = Db::project(project_dir)?;
        let mut evidence = Evidence {
            file_samples: db.file_samples()?,
            test_ms: db.test_ms()?,
            failing: db.failing_tests()?,
            review_ms: db.phase_samples("REVIEW")?,
            shard_unsafe: db.shard_unsafe()?,
            overhead_ms: db.run_overhead_ms()?,
            per_test_ms: db.ms_per_test()?,
            ..Evidence::default()
        };
        // Other projects' runs only: their one-row records, not their tests.
        let mut all: Option<Db> = None;
        (
            evidence.per_file_ms,
            evidence.per_file_sigma,
            evidence.per_file_basis,
        ) = match db.ms_per_test_file()? {
            Some((ms, runs)) => (
                ms,
                0.3,
                format!("{ms:.0} ms a test file, this project's median over {runs} test runs"),
            ),
            None => {
                let machine = Db::all_runs(state_home)?;
                let found = machine.ms_per_test_file()?;
                all = Some(machine);
                match found {
                    Some((ms, runs)) => (
                        ms,
                        0.5,
                        format!(
                            "no history here yet: {ms:.0} ms a test file, this machine's median over {runs} test runs of other projects"
                        ),
                    ),
                    None => (
                        DEFAULT_FILE_MS,
                        0.8,
                        format!(
                            "no test runs measured on this machine yet: a default of {DEFAULT_FILE_MS:.0} ms a test file"
                        ),
                    ),
                }
            }
        };
        // Each kind from this project's runs, else from every project's.
        evidence.outcomes = db.test_outcomes()?;
        let machine = match all {
            Some(machine) => machine,
            None => Db::all_runs(state_home)?,
        };
        for (kind, counts) in machine.test_outcomes()? {
            evidence.outcomes.entry(kind).or_insert(counts);
        }
        // Fitted on this project's runs once there are enough, else on
        // every project's.
        let here = db.scored_runs()?;
        evidence.pass_model = PassModel::fit(&here).or_else(|| {
            machine
                .scored_runs()
                .ok()
                .and_then(|all| PassModel::fit(&all))
        });
        Ok(evidence)
    }

    /// The median recent time of a test file, else the per-file estimate.
    pub(crate) fn file_ms(&self, file: &str) -> f64 {
        self.file_samples
            .get(file)
            .map(|s| median(s))
            .unwrap_or(self.per_file_ms)
    }

    /// With a sample for each of `units` that is a test or a class of
    /// tests (`file::Class::test`) whose tests have run here: the sum of
    /// their times.
    pub(crate) fn with_tests(&self, units: &[String]) -> Evidence {
        let mut out = self.clone();
        for unit in units.iter().filter(|u| u.contains("::")) {
            let ms: Vec<f64> = self
                .test_ms
                .range(unit.clone()..)
                .take_while(|(id, _)| id.starts_with(unit.as_str()))
                .filter(|(id, _)| crate::calls::test_in(id, unit))
                .map(|(_, ms)| *ms)
                .collect();
            if !ms.is_empty() {
                out.file_samples
                    .insert(unit.clone(), vec![ms.iter().sum::<f64>()]);
            }
        }
        out
    }

    /// Whether any of `files` has history.
    pub(crate) fn knows_any(&self, files: &[String]) -> bool {
        files.iter().any(|f| self.file_samples.contains_key(f))
    }
}

fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

pub(crate) async fn run(
    ctx: &Context,
    analysis: &Analysis,
    intent: &crate::intent::Intent,
    test_files: usize,
    work: Option<Workload>,
) -> Result<Risk, Failure> {
    // A private name (`_x`) has no users outside its module.
    let old_name = match intent {
        crate::intent::Intent::Rename(r) => r.old.clone(),
        crate::intent::Intent::MakeAsync(a) => a.function.clone().unwrap_or_default(),
        _ => "_".to_owned(),
    };
    let kind = intent_kind(intent);
    let cap = CAP.min(ctx.deadline.remaining() / 4);
    let budget = ctx.deadline.remaining();
    let analysis = analysis.clone();
    let evidence = ctx.evidence().await;
    let work = work.unwrap_or(Workload {
        units: Vec::new(),
        workers: 1,
        runs: 2,
        whole_files: test_files,
        coverage: 1.0,
        tests: BTreeMap::new(),
    });
    tokio::task::spawn_blocking(move || {
        estimate(&analysis, &old_name, &kind, &evidence, &work, budget, cap)
    })
    .await
    .map_err(Failure::internal)
}

/// The intent's kind, as plans and the history name it (`rename`, ...).
pub(crate) fn intent_kind(intent: &crate::intent::Intent) -> String {
    serde_json::to_value(intent)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_default()
}

/// The estimate itself (pure; bounded by `cap`).
pub(crate) fn estimate(
    analysis: &Analysis,
    old_name: &str,
    kind: &str,
    evidence: &Evidence,
    work: &Workload,
    budget: Duration,
    cap: Duration,
) -> Risk {
    let is_test = crate::lang::python::names::is_test_file;
    let blast = BlastRadius {
        sites: analysis.sites,
        files: analysis.files.len(),
        public_names: if old_name.starts_with('_') {
            0
        } else {
            analysis.target_modules.len()
        },
        test_files: analysis.files.iter().filter(|f| is_test(&f.path)).count(),
    };
    let mut probabilities: Vec<f64> = Vec::new();
    for file in &analysis.files {
        for site in &file.edits {
            probabilities.push(match site.kind {
                EditKind::Definition | EditKind::All => 0.0005,
                EditKind::Import | EditKind::UnusedImport => 0.001,
                EditKind::Attribute | EditKind::Structural => 0.002,
                _ => 0.0008,
            });
        }
    }
    probabilities.extend(std::iter::repeat_n(0.03, analysis.uncertain_total));
    probabilities.extend(std::iter::repeat_n(0.003, analysis.mentions_total));
    probabilities.extend(std::iter::repeat_n(0.001, blast.test_files));
    probabilities.extend(std::iter::repeat_n(
        0.01,
        blast.public_names.saturating_sub(1),
    ));

    let seed_text = format!(
        "{}:{}:{}:{}:{}",
        blast.sites,
        blast.files,
        analysis.uncertain_total,
        work.units.len(),
        work.whole_files
    );
    let seed = u64::from_str_radix(&sha1_hex(seed_text.as_bytes())[..16], 16)
        .unwrap_or(0x9e37_79b9_7f4a_7c15)
        | 1;
    let mut rng = XorShift(seed);
    let started = Instant::now();
    let (mut trials, mut passes) = (0u32, 0u32);
    while trials < MAX_TRIALS && (trials % 256 != 0 || started.elapsed() < cap / 2) {
        trials += 1;
        if probabilities.iter().all(|p| rng.next_f64() >= *p) {
            passes += 1;
        }
    }
    let prior = f64::from(passes) / f64::from(trials.max(1));
    let fitted = evidence.pass_model.as_ref().map(|model| {
        (
            model.predict(
                kind,
                blast.sites as f64,
                blast.files as f64,
                analysis.uncertain_total as f64,
                work.coverage,
            ),
            format!(
                "P(tests pass): fitted on {} past runs with tests, {} passed (logistic over kind, sites, files, uncertain sites and test coverage)",
                model.runs, model.passed
            ),
        )
    });
    let (p_tests_pass, pass_model) = match (fitted, evidence.outcomes.get(kind)) {
        (Some(fitted), _) => fitted,
        (None, Some(&(runs, passed))) => (
            (passed as f64 + PRIOR_RUNS * prior) / (runs as f64 + PRIOR_RUNS),
            format!(
                "P(tests pass): the per-site prior {prior:.3} updated with {passed} of {runs} past `{kind}` runs whose tests passed (the fitted model needs {MIN_FIT_RUNS} runs)"
            ),
        ),
        (None, None) => (
            prior,
            format!("P(tests pass): the per-site prior (no past `{kind}` runs with tests yet)"),
        ),
    };
    let time = time_estimate(evidence, work, budget, seed, cap / 2);
    let p_on_time = time.p_on_time;
    let level = if p_tests_pass >= 0.95 && p_on_time >= 0.9 {
        "low"
    } else if p_tests_pass >= 0.8 && p_on_time >= 0.7 {
        "medium"
    } else {
        "high"
    };
    Risk {
        p_tests_pass: round3(p_tests_pass),
        p_on_time,
        level: level.to_owned(),
        trials: trials.min(time.trials),
        blast_radius: blast,
        model: format!(
            "{pass_model}; P(on time): bootstrap of test times over {} worker(s) ({})",
            work.workers, time.finish.basis
        ),
        finish: Some(time.finish),
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

struct XorShift(u64);

impl XorShift {
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Box-Muller.
    fn normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::logic::{EditSite, FileEdits};
    use crate::protocol::code::Definition;

    fn analysis(sites: usize, uncertain: usize) -> Analysis {
        Analysis {
            accounting: None,
            notes: Vec::new(),
            creates: Vec::new(),
            deletes: Vec::new(),
            definition: Some(Definition {
                path: "m.py".into(),
                module: "m".into(),
                kind: crate::protocol::code::DefinitionKind::Function,
                line: 1,
                column: 5,
                class: None,
            }),
            files: vec![FileEdits {
                path: "m.py".into(),
                sha1: "0".repeat(40),
                edits: (0..sites)
                    .map(|i| EditSite {
                        edit: crate::edit::Edit {
                            start: i,
                            end: i + 1,
                            line: 1,
                            old: "f".into(),
                            new: "g".into(),
                        },
                        kind: EditKind::Reference,
                    })
                    .collect(),
            }],
            mentions: vec![],
            uncertain: vec![],
            mentions_total: 0,
            uncertain_total: uncertain,
            parse_errors: Default::default(),
            syntax_focus: Vec::new(),
            target_modules: vec!["m.py".into()],
            pruned_files: 0,
            sites,
        }
    }

    fn work(units: &[&str], workers: usize, runs: u32) -> Workload {
        Workload {
            units: units.iter().map(|u| (*u).to_owned()).collect(),
            workers,
            runs,
            whole_files: 0,
            coverage: 1.0,
            tests: BTreeMap::new(),
        }
    }

    fn evidence() -> Evidence {
        Evidence {
            per_file_ms: 500.0,
            per_file_sigma: 0.8,
            per_file_basis: "a default".into(),
            ..Evidence::default()
        }
    }

    /// Unmeasured files are estimated by their number of tests once the
    /// project's time per test is known: 14 files of 60 tests each at
    /// 100 ms a test do not fit 81 s, though 14 "typical" files of 500 ms
    /// would.
    #[test]
    fn unmeasured_files_are_estimated_by_their_tests() {
        let units: Vec<String> = (0..14).map(|i| format!("t/test_{i}.py")).collect();
        let names: Vec<&str> = units.iter().map(String::as_str).collect();
        let mut w = work(&names, 1, 2);
        let mut ev = evidence();
        ev.per_file_sigma = 0.3;
        let budget = Duration::from_secs(81);
        let by_file = time_estimate(&ev, &w, budget, 7, CAP);
        assert!(by_file.p_on_time > 0.9, "{by_file:?}");
        ev.per_test_ms = Some(100.0);
        w.tests = units.iter().map(|u| (u.clone(), 60)).collect();
        let by_count = time_estimate(&ev, &w, budget, 7, CAP);
        assert!(by_count.p_on_time < 0.1, "{by_count:?}");
        assert!(by_count.finish.p50_ms > 150_000, "{by_count:?}");
        assert!(
            by_count
                .finish
                .basis
                .contains("14 from their test count at 100 ms a test")
        );
    }

    #[test]
    fn more_blast_radius_means_more_risk_and_is_deterministic() {
        let ev = evidence();
        let w = work(&["t/test_a.py", "t/test_b.py"], 1, 2);
        let budget = Duration::from_secs(90);
        let small = estimate(&analysis(3, 0), "f", "rename", &ev, &w, budget, CAP);
        let large = estimate(&analysis(300, 20), "f", "rename", &ev, &w, budget, CAP);
        assert!(small.p_tests_pass > large.p_tests_pass);
        assert_eq!(
            small,
            estimate(&analysis(3, 0), "f", "rename", &ev, &w, budget, CAP)
        );
        assert_eq!(small.level, "low");
        let many: Vec<String> = (0..200).map(|i| format!("t/test_{i}.py")).collect();
        let late = estimate(
            &analysis(3, 0),
            "f",
            "rename",
            &ev,
            &Workload {
                units: many,
                workers: 1,
                runs: 2,
                whole_files: 0,
                coverage: 1.0,
                tests: BTreeMap::new(),
            },
            Duration::from_secs(10),
            CAP,
        );
        assert!(late.p_on_time < 0.5, "{late:?}");
        assert!(
            late.model.contains("no past `rename` runs"),
            "{}",
            late.model
        );
    }

    fn scored(
        kind: &str,
        sites: f64,
        uncertain: f64,
        coverage: f64,
        passed: bool,
    ) -> crate::history::query::Scored {
        crate::history::query::Scored {
            kind: kind.into(),
            sites,
            files: (sites / 4.0).ceil(),
            uncertain,
            coverage,
            passed,
        }
    }

    /// With enough runs, P(tests pass) comes from the model fitted on them:
    /// it learns what the runs show (here: uncertain sites and thin test
    /// coverage fail) and says so; with too few, the prior stays.
    #[test]
    fn p_tests_pass_is_fitted_on_past_runs_once_there_are_enough() {
        let mut runs = Vec::new();
        let mut x = 17u64;
        for i in 0..80 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let uncertain = f64::from(((x >> 33) % 6) as u32);
            let coverage = if i % 3 == 0 { 0.2 } else { 1.0 };
            let kind = if i % 2 == 0 { "rename" } else { "replace" };
            // Fails with uncertain sites left, or when few tests ran (and
            // one in ten at random).
            let passed = uncertain < 2.0 && coverage > 0.5 && !(x >> 20).is_multiple_of(10);
            runs.push(scored(
                kind,
                5.0 + f64::from(i % 7),
                uncertain,
                coverage,
                passed,
            ));
        }
        assert_eq!(PassModel::fit(&runs[..MIN_FIT_RUNS - 1]), None);
        assert_eq!(
            PassModel::fit(&vec![scored("rename", 3.0, 0.0, 1.0, true); 40]),
            None
        );
        let model = PassModel::fit(&runs).unwrap();
        let safe = model.predict("rename", 8.0, 2.0, 0.0, 1.0);
        let uncertain = model.predict("rename", 8.0, 2.0, 4.0, 1.0);
        let thin = model.predict("rename", 8.0, 2.0, 0.0, 0.2);
        assert!(safe > 0.6, "{safe}");
        assert!(uncertain < safe - 0.3, "{uncertain} vs {safe}");
        assert!(thin < safe - 0.3, "{thin} vs {safe}");
        // In the estimate, with the basis stated.
        let ev = Evidence {
            pass_model: Some(model),
            ..evidence()
        };
        let w = work(&["t/test_a.py"], 1, 2);
        let risk = estimate(
            &analysis(3, 0),
            "f",
            "rename",
            &ev,
            &w,
            Duration::from_secs(90),
            CAP,
        );
        assert!(
            risk.model.contains("fitted on 80 past runs"),
            "{}",
            risk.model
        );
        assert!(risk.p_tests_pass > 0.6, "{risk:?}");
    }

    /// With `--tests none` only the edit and REVIEW take time, and the
    /// basis says so.
    #[test]
    fn a_run_without_tests_is_estimated_without_them() {
        let none = time_estimate(
            &evidence(),
            &work(&[], 1, 0),
            Duration::from_secs(10),
            7,
            CAP,
        );
        assert_eq!(none.p_on_time, 1.0, "{none:?}");
        assert_eq!(none.finish.basis, "no tests run: the edit and REVIEW only");
        assert!(none.finish.p95_ms < 10_000, "{none:?}");
    }

    #[test]
    fn history_moves_p_tests_pass_from_the_prior() {
        let w = work(&["t/test_a.py"], 1, 2);
        let budget = Duration::from_secs(90);
        let mut ev = evidence();
        let prior = estimate(&analysis(3, 0), "f", "rename", &ev, &w, budget, CAP);
        ev.outcomes.insert("rename".into(), (20, 10));
        let updated = estimate(&analysis(3, 0), "f", "rename", &ev, &w, budget, CAP);
        // (10 + 8 p0) / 28 with p0 close to 1.
        assert!(
            updated.p_tests_pass < 0.7 && updated.p_tests_pass > 0.6,
            "{updated:?}"
        );
        assert!(prior.p_tests_pass > 0.95);
        assert!(updated.model.contains("10 of 20"), "{}", updated.model);
    }

    #[test]
    fn the_bootstrap_uses_history_and_workers() {
        let mut ev = evidence();
        // Four files of 2 s each, measured.
        for f in ["a", "b", "c", "d"] {
            ev.file_samples
                .insert(format!("t/test_{f}.py"), vec![1900.0, 2000.0, 2100.0]);
        }
        let files = ["t/test_a.py", "t/test_b.py", "t/test_c.py", "t/test_d.py"];
        let one = time_estimate(&ev, &work(&files, 1, 1), Duration::from_secs(9), 7, CAP);
        let two = time_estimate(&ev, &work(&files, 2, 1), Duration::from_secs(9), 7, CAP);
        // One worker: 0.8 + 8 s of tests + 1.5 s: late. Two: about 4.8 + 1.5.
        assert!(one.p_on_time < 0.1, "{one:?}");
        assert!(two.p_on_time > 0.99, "{two:?}");
        assert!(
            two.finish.p50_ms > 6_000 && two.finish.p50_ms < 7_000,
            "{two:?}"
        );
        assert!(two.finish.p50_ms <= two.finish.p85_ms && two.finish.p85_ms <= two.finish.p95_ms);
        assert!(
            two.finish.basis.contains("each from its recent runs"),
            "{two:?}"
        );
        // Twice as long when the baseline runs too.
        let both = time_estimate(&ev, &work(&files, 2, 2), Duration::from_secs(9), 7, CAP);
        assert!(both.p_on_time < 0.1, "{both:?}");
        let unknown = time_estimate(
            &ev,
            &work(&["t/test_new.py"], 1, 1),
            Duration::from_secs(9),
            7,
            CAP,
        );
        assert!(unknown.finish.basis.contains("a default"), "{unknown:?}");
    }

    #[test]
    fn shards_balance_longest_first() {
        let units: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let ms = |u: &str| match u {
            "a" => 5.0,
            "b" => 4.0,
            "c" => 3.0,
            "d" => 2.0,
            _ => 1.0,
        };
        let shards = shard(&units, 2, ms);
        assert_eq!(shards, [vec!["a", "d", "e"], vec!["b", "c"]]);
        assert_eq!(shard(&units[..1], 4, ms).len(), 1);
    }
}
