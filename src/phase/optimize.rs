//! OPTIMIZE: choose the tests to run, their order and their workers.
//!
//! By default (`--tests affected`) the code server's `test_impact` puts
//! every test file in a tier (a: edited, mentions an old name, under a
//! changed conftest or fixture, doctests of changed modules; b: imports a
//! changed module or is named after it; c: imports it through others; d:
//! does not import it at all). OPTIMIZE runs the widest prefix of tiers
//! a–c that MONTE CARLO's bootstrap says finishes in the time left with
//! probability ≥ 0.9; within it, files with tests that failed last time
//! (then those that fail most often) go first, and the files are sharded
//! longest-first over N pytest workers (N from the cores, the memory
//! headroom and the work: one worker when the tests take a few seconds,
//! or when none of them was ever timed and they are fewer than 8 files).
//! What is left out is said in the output, the record and the pull
//! request (a draft then). `--tests all` runs the whole suite, `--tests
//! none` nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::monte_carlo::{self, Evidence, Workload};
use super::{Context, Failure};
use crate::cli::TestsMode;
use crate::intent::Intent;
use crate::plan::{Action, Finish, Plan};
use crate::protocol::code::{TestImpact, TestImpactOutput};

/// The probability of finishing on time a schedule must have.
pub(crate) const ON_TIME: f64 = 0.9;
/// Memory a pytest worker is given room for.
const WORKER_MB: u64 = 400;
/// Most workers, whatever the machine.
const MAX_WORKERS: usize = 4;
/// Below this much test time, one worker (starting more costs more).
const SHARD_ABOVE_MS: f64 = 3_000.0;
/// With no file measured yet, shard only this many files or more.
const UNMEASURED_SHARD_FILES: usize = 8;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Schedule {
    pub runner: String,
    /// Test paths or ids; empty means the whole suite.
    pub selection: Vec<String>,
    /// Files that define tests (`def test_…` / `class Test…`).
    pub test_files: usize,
    pub parallelism: usize,
    pub reason: String,
    /// Whether tests run at all.
    pub run_tests: bool,
    /// Test files left out of the run.
    #[serde(default)]
    pub left_out: usize,
    /// The selection split over the workers (one list each), in the order
    /// each runs them; empty: one run of `selection`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<Vec<String>>,
    /// The tiers that run (`a–c`, `a–b`, `a`), `all` or `none`.
    #[serde(default)]
    pub tiers: String,
    /// Estimated test time of what was left out (ms), from history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_out_ms: Option<u64>,
    /// The bootstrap's estimate for the chosen tests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_on_time: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<Finish>,
    /// How the order was chosen.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub order: String,
    /// The project has pytest-xdist: one pytest spreads the selection over
    /// `parallelism` workers (the shards are the estimate's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub xdist: bool,
}

impl Schedule {
    /// Every test path that runs, in order (the shards one after another).
    pub(crate) fn paths(&self) -> Vec<String> {
        if self.shards.is_empty() {
            self.selection.clone()
        } else {
            self.shards.concat()
        }
    }
}

/// The names a change takes away: tests that mention them may break.
pub(crate) fn old_names(intent: &Intent) -> Vec<String> {
    match intent {
        Intent::Rename(r) => vec![r.old.clone()],
        Intent::Move(m) => vec![m.name.clone()],
        Intent::RenameModule(m) => {
            let last = m
                .old
                .trim_end_matches(".py")
                .rsplit(['.', '/'])
                .next()
                .unwrap_or_default();
            vec![last.to_owned()]
        }
        Intent::RemoveParameter(p) => vec![p.function.clone()],
        Intent::SafeDelete(d) => vec![d.name.clone()],
        Intent::MakeAsync(m) => m.function.iter().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The byte ranges `edits` change, per Python file (in a test module,
/// they tell which of its tests the change edits).
pub(crate) fn edited_ranges<'a, E: IntoIterator<Item = [usize; 2]>>(
    edits: impl IntoIterator<Item = (&'a str, E)>,
) -> BTreeMap<String, Vec<[usize; 2]>> {
    edits
        .into_iter()
        .filter(|(path, _)| path.ends_with(".py"))
        .map(|(path, ranges)| (path.to_owned(), ranges.into_iter().collect::<Vec<_>>()))
        .filter(|(_, ranges)| !ranges.is_empty())
        .collect()
}

/// What the project's call map says about the edited files (none when no
/// traced run was recorded yet).
fn call_evidence(
    ctx: &Context,
    edited: &BTreeMap<String, Vec<[usize; 2]>>,
) -> Option<crate::calls::CallEvidence> {
    let map = crate::calls::CallMap::load(&ctx.project.dir.join(crate::calls::FILE));
    if map.tests.is_empty() || edited.is_empty() {
        return None;
    }
    let root = ctx.worktree_root().ok()?;
    let sha1 = crate::calls::file_sha1(&root);
    let current = map.current_tests(&sha1);
    let hashes: BTreeMap<String, String> = edited
        .keys()
        .filter(|path| !crate::lang::python::names::is_pytest_file(path))
        .filter_map(|path| Some((path.clone(), sha1(path)?)))
        .collect();
    let evidence = map.evidence(&hashes, &current);
    (!evidence.traced.is_empty()).then_some(evidence)
}

/// [`edited_ranges`] of a plan's edit nodes.
fn plan_edits(plan: &Plan) -> BTreeMap<String, Vec<[usize; 2]>> {
    edited_ranges(plan.nodes.iter().filter_map(|node| match &node.action {
        Action::Edit { file, edits, .. } => Some((
            file.as_str(),
            edits.iter().map(|e| [e.start, e.end]).collect::<Vec<_>>(),
        )),
        _ => None,
    }))
}

/// The tiers a change's tests fall in, expanded to test files.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tiers {
    /// Tier a, b and c: their test files (and doctest modules), each once.
    pub files: [Vec<String>; 3],
    pub impact: TestImpactOutput,
}

impl Tiers {
    /// The prefixes of tiers, widest first, each once: (name, files).
    fn prefixes(&self) -> Vec<(&'static str, Vec<String>)> {
        let [a, b, c] = &self.files;
        let mut out: Vec<(&'static str, Vec<String>)> = Vec::new();
        for (name, files) in [
            ("a–c", collapse([a.as_slice(), b, c].concat())),
            ("a–b", collapse([a.as_slice(), b].concat())),
            ("a", collapse(a.clone())),
        ] {
            if files.is_empty() || out.last().is_some_and(|(_, f)| *f == files) {
                continue;
            }
            out.push((name, files));
        }
        out
    }

    /// The workload of the widest prefix (for MONTE CARLO's estimate).
    pub(crate) fn workload(&self, ctx: &Context, evidence: &Evidence) -> Option<Workload> {
        let (_, files) = self.prefixes().into_iter().next()?;
        let evidence = &evidence.with_tests(&files);
        let workers = workers(ctx, evidence, &files);
        let runs = runs(ctx, &files);
        let total = self.impact.a + self.impact.b + self.impact.c + self.impact.d;
        Some(Workload {
            coverage: if total == 0 {
                1.0
            } else {
                (files.len() as f64 / total as f64).min(1.0)
            },
            tests: test_counts(ctx, evidence, &files),
            units: files,
            workers,
            runs,
            whole_files: 0,
        })
    }
}

/// Asks the code server which tests the plan's change can affect.
pub(crate) async fn tiers(
    ctx: &Context,
    changed: Vec<String>,
    edited: BTreeMap<String, Vec<[usize; 2]>>,
    old_names: Vec<String>,
) -> Result<Tiers, crate::mcp::Error> {
    ctx.printer
        .progress("choosing the tests the change can affect");
    let calls = call_evidence(ctx, &edited);
    let impact = ctx
        .pool
        .request(&TestImpact {
            changed,
            old_names,
            edited,
            calls,
        })
        .await?;
    let root = ctx
        .worktree
        .lock()
        .map(|w| w.project_path(&ctx.subdir, ""))
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    let mut files: [Vec<String>; 3] = Default::default();
    for (i, paths) in [&impact.tier_a, &impact.tier_b, &impact.tier_c]
        .into_iter()
        .enumerate()
    {
        for file in expand(&root, paths) {
            if seen.insert(file.clone()) {
                files[i].push(file);
            }
        }
    }
    Ok(Tiers { files, impact })
}

/// `units` without the tests (`file::test`) of files that are in it whole
/// (a file's tests in tier a, the rest of it in tier c: with tier c, the
/// file runs once, whole).
fn collapse(units: Vec<String>) -> Vec<String> {
    let whole: BTreeSet<String> = units
        .iter()
        .filter(|u| !u.contains("::"))
        .cloned()
        .collect();
    units
        .into_iter()
        .filter(|u| {
            let (file, test) = crate::calls::split_unit(u);
            test.is_empty() || !whole.contains(file)
        })
        .collect()
}

/// A selection's paths as files: a directory (`tests/`) becomes the pytest
/// files under it (sorted), a file stays itself.
pub(crate) fn expand(root: &Path, paths: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for path in paths {
        let Some(dir) = path.strip_suffix('/') else {
            out.push(path.clone());
            continue;
        };
        let mut found: Vec<String> = ignore::WalkBuilder::new(root.join(dir))
            .build()
            .flatten()
            .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
            .filter_map(|e| {
                e.path()
                    .strip_prefix(root)
                    .ok()
                    .map(|p| p.to_string_lossy().into_owned())
            })
            .filter(|p| crate::lang::python::names::is_pytest_file(p))
            .collect();
        found.sort();
        if found.is_empty() {
            // Nothing found here (it is not checked out?): pass it on.
            out.push(path.clone());
        }
        out.extend(found);
    }
    out
}

/// Workers for `files`: one when the tests take a few seconds; else as
/// many as the cores, the memory headroom (400 MiB a worker) and the
/// files allow, at most 4.
fn workers(ctx: &Context, evidence: &Evidence, files: &[String]) -> usize {
    let total: f64 = files.iter().map(|f| evidence.file_ms(f)).sum();
    // Without any measured file, only a suite of some size is worth a
    // second pytest (its start-up is paid per worker).
    let measured = evidence.knows_any(files) || files.len() >= UNMEASURED_SHARD_FILES;
    if files.len() < 2 || total < SHARD_ABOVE_MS || !measured || evidence.shard_unsafe {
        return 1;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory = usize::try_from(ctx.memory.headroom_mb() / WORKER_MB).unwrap_or(1);
    cores.min(memory).min(MAX_WORKERS).min(files.len()).max(1)
}

/// How many tests each of `files` without recent runs defines (`def
/// test_` and `async def test_` lines), read from the worktree; a test
/// selected alone (`file::test`) is one.
fn test_counts(ctx: &Context, evidence: &Evidence, files: &[String]) -> BTreeMap<String, usize> {
    let Ok(root) = ctx.worktree_root() else {
        return BTreeMap::new();
    };
    files
        .iter()
        .filter(|f| !evidence.file_samples.contains_key(*f))
        .filter_map(|f| {
            if f.contains("::") {
                return Some((f.clone(), 1));
            }
            if !f.ends_with(".py") {
                return None;
            }
            let text = std::fs::read_to_string(root.join(f)).ok()?;
            let n = text
                .lines()
                .map(str::trim_start)
                .filter(|l| l.starts_with("def test") || l.starts_with("async def test"))
                .count();
            Some((f.clone(), n))
        })
        .collect()
}

/// Test runs still to make for `files`: 1 when their baseline is cached.
fn runs(ctx: &Context, files: &[String]) -> u32 {
    if baseline_path(ctx, files).is_file() {
        1
    } else {
        2
    }
}

/// Where the baseline of `files` at this HEAD is cached.
pub(crate) fn baseline_path(ctx: &Context, files: &[String]) -> std::path::PathBuf {
    let mut sorted: Vec<&str> = files.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let key = crate::plan::sha1_hex(
        format!("{}\0{}\0{}", ctx.head, ctx.subdir, sorted.join("\0")).as_bytes(),
    );
    ctx.project
        .dir
        .join("baselines")
        .join(format!("{}-{}.json", ctx.head, &key[..16]))
}

/// The order within a set: files with a test that failed last time first,
/// then by how often their tests failed; then pytest's order (by path), so
/// tests that rely on the ones before them keep working.
fn order_key(evidence: &Evidence, file: &str) -> (bool, u64, String) {
    // A file's tests, or a test's parameters and a class's tests.
    let (mut last_failed, mut failures) = (false, 0);
    for (id, history) in evidence.failing.range(file.to_owned()..) {
        if !id.starts_with(file) {
            break;
        }
        if !crate::calls::test_in(id, file) {
            continue;
        }
        last_failed |= history.last_failed;
        failures += history.failures;
    }
    (!last_failed, u64::MAX - failures, file.to_owned())
}

/// The schedule for `plan` in a project with `test_files` test files
/// (counted by MAP); `known`: the tiers, if MONTE CARLO asked already.
pub(crate) async fn run(
    ctx: &Context,
    plan: &Plan,
    test_files: usize,
    known: Option<Tiers>,
) -> Result<Schedule, Failure> {
    let planned = plan
        .nodes
        .iter()
        .find_map(|n| match &n.action {
            Action::Test { selection, .. } => Some(selection.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let mut schedule = Schedule {
        runner: "pytest".into(),
        selection: planned.clone(),
        test_files,
        parallelism: 1,
        reason: String::new(),
        run_tests: false,
        left_out: 0,
        shards: Vec::new(),
        tiers: "none".into(),
        left_out_ms: None,
        p_on_time: None,
        finish: None,
        order: String::new(),
        xdist: false,
    };
    if ctx.settings.dry_run {
        schedule.reason = "dry run: no tests run".to_owned();
        return Ok(schedule);
    }
    // The project's own test command, if it configures one.
    let command = crate::settings::project_test_command(&ctx.settings.repo).map_err(|e| {
        Failure::input(
            format!("the project's test configuration: {e}"),
            Some("fix `test-command` in orch.toml or in [tool.orch] of pyproject.toml".into()),
        )
    })?;
    if let Some(command) = &command {
        schedule.runner = "command".into();
        let results = if command.contains("{junit}") {
            "per-test results from its JUnit report"
        } else {
            "its exit code only"
        };
        if ctx.settings.tests == TestsMode::None {
            schedule.reason = "--tests none: no tests run".to_owned();
            return Ok(schedule);
        }
        schedule.run_tests = true;
        if !command.contains("{tests}") || ctx.settings.tests == TestsMode::All {
            schedule.selection.clear();
            schedule.tiers = "all".into();
            schedule.reason = format!(
                "the project's test command `{command}` runs the whole suite ({results}{})",
                if command.contains("{tests}") {
                    ""
                } else {
                    "; it takes no `{tests}`, so no selection applies"
                }
            );
            return Ok(schedule);
        }
    }
    if test_files == 0 && command.is_none() {
        schedule.reason =
            "the project has no pytest tests (no `def test_…` or `class Test…`)".to_owned();
        return Ok(schedule);
    }
    schedule.run_tests = true;
    match ctx.settings.tests {
        TestsMode::None => {
            schedule.run_tests = false;
            schedule.reason = "--tests none: no tests run".to_owned();
        }
        TestsMode::All => {
            schedule.tiers = "all".into();
            schedule.reason =
                format!("--tests all: the whole suite ({test_files} test files) in pytest's order");
        }
        TestsMode::Affected if !planned.is_empty() => {
            schedule.tiers = "plan".into();
            schedule.reason = format!("the plan's selection ({} paths)", planned.len());
        }
        TestsMode::Affected => {
            let tiers = match known {
                Some(tiers) => tiers,
                None => match tiers(ctx, plan.files(), plan_edits(plan), old_names(&plan.intent))
                    .await
                {
                    Ok(tiers) => tiers,
                    // A code server that cannot tier the tests (a
                    // third-party one without `test_impact`, or a
                    // failure) costs the selection, not the run.
                    Err(crate::mcp::Error::Budget(exceeded)) => {
                        return Err(Failure::from(crate::mcp::Error::Budget(exceeded)));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "test impact unavailable");
                        schedule.tiers = "all".into();
                        schedule.reason = format!(
                            "the tests the change can affect could not be chosen ({error}): the whole suite ({test_files} test files)"
                        );
                        return Ok(schedule);
                    }
                },
            };
            let evidence = ctx.evidence().await;
            choose(
                ctx,
                &plan.id,
                &evidence,
                &tiers,
                command.as_deref(),
                &mut schedule,
            );
        }
    }
    if command.is_none() && schedule.run_tests {
        use_xdist(ctx, &mut schedule).await;
    }
    Ok(schedule)
}

/// With pytest-xdist in the project, one pytest runs the selection on the
/// schedule's workers: xdist hands the next file (longest first, as
/// sharded) to whichever worker is idle, so a file slower than its history
/// does not hold up the rest.
async fn use_xdist(ctx: &Context, schedule: &mut Schedule) {
    let Ok(root) = ctx.worktree_root() else {
        return;
    };
    let python = ctx.settings.python.as_deref().unwrap_or("python3");
    if !crate::servers::test::project_has_xdist(&root, python).await {
        return;
    }
    schedule.xdist = true;
    if schedule.shards.len() > 1 {
        // Likely failures first, then longest first: xdist hands files out
        // in the order it collects them.
        let evidence = ctx.evidence().await;
        schedule.selection.sort_by(|x, y| {
            let (fx, fy) = (order_key(&evidence, x), order_key(&evidence, y));
            (fx.0, fx.1)
                .cmp(&(fy.0, fy.1))
                .then_with(|| evidence.file_ms(y).total_cmp(&evidence.file_ms(x)))
        });
        schedule.order += &format!(
            "; pytest-xdist (the project has it) runs them on {} workers",
            schedule.parallelism
        );
    } else {
        schedule.order += "; one pytest-xdist worker (`-n 0`)";
    }
}

/// Fits the tiers to the time left: the widest prefix with P(on time) ≥
/// 0.9, ordered and sharded.
fn choose(
    ctx: &Context,
    plan_id: &str,
    evidence: &Evidence,
    tiers: &Tiers,
    command: Option<&str>,
    schedule: &mut Schedule,
) {
    let impact = &tiers.impact;
    let counts = format!("a: {}, b: {}, c: {}", impact.a, impact.b, impact.c);
    let mut prefix = match command {
        Some(command) => format!("the project's test command `{command}`; "),
        None => String::new(),
    };
    let mut prefixes = tiers.prefixes();
    if command.is_some() {
        // The project's own command takes paths: tests selected alone run
        // with their whole file.
        for (_, units) in &mut prefixes {
            let mut seen = BTreeSet::new();
            units.retain_mut(|u| {
                *u = crate::calls::split_unit(u).0.to_owned();
                seen.insert(u.clone())
            });
        }
    }
    if prefixes.is_empty() {
        schedule.tiers = "all".into();
        schedule.reason = prefix
            + &format!(
                "no test file imports a changed module or mentions an old name: the whole suite ({} test files)",
                schedule.test_files
            );
        return;
    }
    // Times of the tests selected alone, from their recent runs.
    let evidence = &evidence.with_tests(&prefixes[0].1);
    // Leave REVIEW its time: the budget is what remains, less a tenth.
    let budget = ctx.deadline.remaining().mul_f64(0.9);
    let seed =
        // Seeded from the plan: the same plan gets the same schedule.
        u64::from_str_radix(&crate::plan::sha1_hex(plan_id.as_bytes())[..16], 16).unwrap_or(7);
    let cap = monte_carlo::CAP.min(ctx.deadline.remaining() / 10);
    // Each prefix holds the next one's files: count the widest's tests once.
    let tests_in = prefixes
        .first()
        .map(|(_, files)| test_counts(ctx, evidence, files))
        .unwrap_or_default();
    let mut estimates = Vec::new();
    for (name, files) in &prefixes {
        let work = Workload {
            units: files.clone(),
            workers: workers(ctx, evidence, files),
            runs: runs(ctx, files),
            whole_files: 0,
            // Time only: coverage matters to P(tests pass), not here.
            coverage: 1.0,
            tests: tests_in.clone(),
        };
        let estimate =
            monte_carlo::time_estimate(evidence, &work, budget, seed, cap / prefixes.len() as u32);
        let fits = estimate.p_on_time >= ON_TIME;
        estimates.push((*name, files, work, estimate));
        if fits {
            break;
        }
    }
    // The first that fits; if none does, the narrowest (tier a alone).
    let fitting = estimates.iter().position(|(.., e)| e.p_on_time >= ON_TIME);
    let chosen = fitting.unwrap_or(estimates.len() - 1);
    let (name, files, work, estimate) = &estimates[chosen];
    let widest = &prefixes[0].1;
    let chosen_set: BTreeSet<&String> = files.iter().collect();
    let dropped: Vec<&String> = widest.iter().filter(|f| !chosen_set.contains(f)).collect();
    // A file left out but for some of its tests: the rest of it.
    let ran_of = |file: &str| -> f64 {
        files
            .iter()
            .filter(|u| u.contains("::") && crate::calls::split_unit(u).0 == file)
            .map(|u| evidence.file_ms(u))
            .sum()
    };
    let dropped_ms: f64 = dropped
        .iter()
        .map(|f| (evidence.file_ms(f) - ran_of(f)).max(0.0))
        .sum();
    let d_ms = impact.d as f64 * evidence.per_file_ms;
    schedule.left_out = impact.d + dropped.len();
    schedule.left_out_ms = Some((dropped_ms + d_ms).round() as u64);
    schedule.tiers = (*name).to_owned();
    schedule.p_on_time = Some(estimate.p_on_time);
    schedule.finish = Some(estimate.finish.clone());
    schedule.parallelism = work.workers;
    // Order: likely failures first, then pytest's; over the workers
    // longest-first onto the least loaded, each worker in that order.
    let mut ordered: Vec<String> = files.to_vec();
    ordered.sort_by_cached_key(|f| order_key(evidence, f));
    let failing_first = ordered
        .iter()
        .take_while(|f| !order_key(evidence, f).0)
        .count();
    let sharding = if work.workers > 1 {
        ", the files spread longest first over the workers"
    } else if evidence.shard_unsafe {
        ", one worker (sharding broke tests here before)"
    } else {
        ""
    };
    schedule.order = if failing_first > 0 {
        format!(
            "{failing_first} file(s) with tests that failed last time first, then pytest's order{sharding}"
        )
    } else {
        format!("pytest's order{sharding}")
    };
    if work.workers > 1 {
        let mut shards = monte_carlo::shard(&ordered, work.workers, |f| evidence.file_ms(f));
        for shard in &mut shards {
            shard.sort_by_cached_key(|f| order_key(evidence, f));
        }
        schedule.shards = shards;
    }
    schedule.selection = ordered;
    let time = format!(
        "P(on time) {:.2}, P50 {:.1}s, P95 {:.1}s",
        estimate.p_on_time,
        estimate.finish.p50_ms as f64 / 1000.0,
        estimate.finish.p95_ms as f64 / 1000.0
    );
    let workers = if work.workers > 1 {
        format!(" on {} workers", work.workers)
    } else {
        String::new()
    };
    let split = if impact.split > 0 && files.iter().any(|f| f.contains("::")) {
        format!(
            "; recorded runs tell the tests of {} file(s) apart: only their tests that ran a changed function, name an old name or are edited run",
            impact.split
        )
    } else {
        String::new()
    };
    prefix += &format!(
        "ran tiers {name}: {}{workers} ({counts}; {time}){split}",
        monte_carlo::units_label(files)
    );
    if !dropped.is_empty() {
        prefix += &format!(
            "; tier(s) {} ({} test files) left out to meet the deadline",
            match *name {
                "a–b" => "c",
                _ if tiers.files[2].is_empty() => "b",
                _ if tiers.files[1].is_empty() => "c",
                _ => "b–c",
            },
            dropped.len()
        );
    }
    if impact.d > 0 {
        prefix += &format!(
            "; tier d, {} test files that do not import a changed module, left out",
            impact.d
        );
    }
    if schedule.left_out > 0 {
        prefix += " (--tests all runs them)";
    }
    if fitting.is_none() {
        prefix += "; even these may not finish in time";
    }
    schedule.reason = prefix;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn prefixes_are_widest_first_and_each_once() {
        let tiers = Tiers {
            files: [
                strings(&["t/test_a.py"]),
                Vec::new(),
                strings(&["t/test_c.py"]),
            ],
            impact: TestImpactOutput::default(),
        };
        let prefixes: Vec<(&str, usize)> = tiers
            .prefixes()
            .into_iter()
            .map(|(name, files)| (name, files.len()))
            .collect();
        // a–b is a again: listed once.
        assert_eq!(prefixes, [("a–c", 2), ("a–b", 1)]);
        // A file's tests in tier a, the rest of it in tier c: a–c runs the
        // file once, a its tests.
        let split = Tiers {
            files: [
                strings(&["t/test_a.py::test_x", "t/test_a.py::K::test_y"]),
                Vec::new(),
                strings(&["t/test_a.py", "t/test_c.py"]),
            ],
            impact: TestImpactOutput::default(),
        };
        let prefixes = split.prefixes();
        assert_eq!(prefixes[0].1, strings(&["t/test_a.py", "t/test_c.py"]));
        assert_eq!(prefixes[1].0, "a–b");
        assert_eq!(
            prefixes[1].1,
            strings(&["t/test_a.py::test_x", "t/test_a.py::K::test_y"])
        );
        assert_eq!(prefixes.len(), 2);
        let none = Tiers::default();
        assert!(none.prefixes().is_empty());
    }

    #[test]
    fn directories_expand_to_their_pytest_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("tests/sub")).unwrap();
        for file in [
            "tests/test_b.py",
            "tests/sub/test_a.py",
            "tests/helpers.py",
            "tests/conftest.py",
        ] {
            std::fs::write(root.join(file), "").unwrap();
        }
        let expanded = expand(root, &strings(&["pkg/mod.py", "tests/", "missing/"]));
        assert_eq!(
            expanded,
            strings(&[
                "pkg/mod.py",
                "tests/sub/test_a.py",
                "tests/test_b.py",
                "missing/"
            ])
        );
    }

    #[test]
    fn likely_failures_go_first_then_pytests_order() {
        let mut evidence = Evidence {
            per_file_ms: 100.0,
            ..Evidence::default()
        };
        evidence
            .file_samples
            .insert("t/test_long.py".into(), vec![900.0]);
        evidence.failing.insert(
            "t/test_failed.py::test_x".into(),
            crate::history::query::TestHistory {
                runs: 3,
                failures: 1,
                last_failed: true,
                flipped: false,
            },
        );
        evidence.failing.insert(
            "t/test_often.py::test_y".into(),
            crate::history::query::TestHistory {
                runs: 9,
                failures: 5,
                last_failed: false,
                flipped: true,
            },
        );
        let mut files = strings(&[
            "t/test_short.py",
            "t/test_long.py",
            "t/test_often.py",
            "t/test_failed.py",
        ]);
        files.sort_by_cached_key(|f| order_key(&evidence, f));
        assert_eq!(
            files,
            strings(&[
                "t/test_failed.py",
                "t/test_often.py",
                "t/test_long.py",
                "t/test_short.py"
            ])
        );
    }
}
