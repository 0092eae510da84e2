//! EXECUTE: apply the plan's edits in orch's private worktree through the
//! `fs` server (each write checks its preimage hash and is atomic), and run
//! the tests through the `test` server: a baseline on the untouched tree
//! (cached per HEAD and test files) and the same tests after the edits,
//! each shard of the schedule on its own worker. Every test's outcome and
//! time is read from its JUnit report for the run history. A test that
//! fails after the edit but also failed on the baseline, or has flipped
//! before, is re-run once alone: if it passes it is flaky, reported, and
//! does not block the commit.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::optimize::Schedule;
use super::{Context, Failure, StopReason};
use crate::history::{Stage, TestRow};
use crate::plan::Plan;
use crate::protocol::fs::{DeleteFile, EditFile, HashFiles, WriteFile};
use crate::protocol::test::{RunResult, RunTests};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Applied {
    pub file: String,
    pub sha1_before: String,
    pub sha1_after: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Outcome {
    pub applied: Vec<Applied>,
    pub baseline: Option<RunResult>,
    pub baseline_cached: bool,
    pub after: Option<RunResult>,
    /// Tests that failed after the edit and passed when re-run alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flaky: Vec<String>,
    /// Every test's outcome and time (for the run history).
    #[serde(skip)]
    pub tests: Vec<TestRow>,
    /// Sharded, the baseline passed as in one process (false: it did not,
    /// and the run fell back to one worker); none when not sharded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_safe: Option<bool>,
    /// Workers the tests ran on.
    #[serde(default)]
    pub workers: usize,
    /// The baseline traced which functions each test file runs, for the
    /// call map (see [`crate::calls`]): test files recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traced: Option<usize>,
}

/// Most failing tests re-run alone to check for flakiness.
const MAX_RERUNS: usize = 5;

pub(crate) async fn run(
    ctx: &Context,
    plan: &Plan,
    schedule: &Schedule,
) -> Result<Outcome, Failure> {
    let files = plan.files();
    // A retried attempt starts from HEAD again (files it created go); the
    // first one finds the worktree exactly as it was made.
    {
        let mut worktree = ctx
            .worktree
            .lock()
            .map_err(|_| Failure::internal("worktree lock poisoned"))?;
        if !worktree.pristine {
            worktree
                .reset_files(&ctx.subdir, &files)
                .map_err(Failure::internal)?;
            for (file, _) in plan.creates() {
                let _ = std::fs::remove_file(worktree.project_path(&ctx.subdir, file));
            }
        }
        worktree.pristine = false;
    }
    check_drift(ctx, plan).await?;
    // Ask for approval of the writes now, before the baseline tests and
    // before anything is written.
    // The edits are one question, shown as the diff of each file.
    let edit_calls: Vec<EditFile> = plan
        .edits()
        .map(|(file, preimage, edits)| edit_file(file, preimage, edits))
        .collect();
    if !edit_calls.is_empty() {
        let shown = planned_diffs(ctx, plan);
        ctx.pool.approve_batch(&edit_calls, &shown).await?;
    }
    if let Some((file, content)) = plan.creates().next() {
        ctx.pool.approve_ahead(&write_file(file, content)).await?;
    }
    if let Some((file, preimage)) = plan.deletes().next() {
        ctx.pool.approve_ahead(&delete_file(file, preimage)).await?;
    }

    let mut baseline = None;
    let mut baseline_cached = false;
    let mut tests = Vec::new();
    let mut schedule = schedule.clone();
    let mut shard_safe = None;
    let mut traced = None;
    if schedule.run_tests {
        ctx.printer.progress("baseline tests on the untouched tree");
        let (result, cached, rows) = baseline_tests(ctx, plan, &schedule).await?;
        if rows.iter().any(|r| r.stage == Stage::Traced) {
            traced = Some(
                rows.iter()
                    .filter_map(|r| r.file.as_deref())
                    .collect::<BTreeSet<_>>()
                    .len(),
            );
        }
        tests.extend(rows);
        // Tests that fail only when the files are split over workers rely
        // on the ones pytest runs before them: then one worker, both runs.
        let failing = result.failed + result.errors;
        let result = if schedule.shards.len() > 1 && !cached && failing > 0 {
            ctx.printer
                .progress("baseline failures with sharded tests: checking them in one process");
            let single = Schedule {
                shards: Vec::new(),
                parallelism: 1,
                ..schedule.clone()
            };
            let (whole, whole_rows) = run_tests(ctx, &single, Stage::Baseline).await?;
            if whole.failed + whole.errors < failing {
                ctx.printer.note(&format!(
                    "tests: {} test(s) failed only when sharded (they rely on tests run before them): one worker from here on",
                    failing - (whole.failed + whole.errors)
                ));
                // The sharded run's results are not the code's: not kept.
                tests.retain(|row| !matches!(row.stage, Stage::Baseline | Stage::Traced));
                tests.extend(whole_rows);
                schedule = single;
                shard_safe = Some(false);
                cache_baseline(ctx, &schedule, &whole);
                whole
            } else {
                shard_safe = Some(true);
                result
            }
        } else {
            if schedule.shards.len() > 1 && !cached {
                shard_safe = Some(true);
            }
            result
        };
        baseline = Some(result);
        baseline_cached = cached;
    }
    let schedule = &schedule;

    // Each file's edit is one call; they go out together (the pool holds
    // them to the server's in-flight limit), and a failure stops the phase
    // once the calls already sent have answered.
    let mut applied = Vec::new();
    let edited: Vec<&str> = plan.edits().map(|(file, _, _)| file).collect();
    if !edited.is_empty() {
        ctx.printer.progress(&match edited.as_slice() {
            [file] => format!("editing {file}"),
            _ => format!("editing {} files", edited.len()),
        });
    }
    let results = crate::mcp::futures_join_all(plan.edits().map(|(file, preimage, edits)| {
        let call = edit_file(file, preimage, edits);
        async move { ctx.pool.request(&call).await }
    }))
    .await;
    let root = ctx.worktree_root()?;
    for ((file, preimage, _), result) in plan.edits().zip(results) {
        let result = result?;
        // A brief answer leaves the SHA-1s to orch: the one before is the
        // plan's, the one after is the file's as the worktree has it now.
        let sha1_after = if result.sha1_after.is_empty() {
            std::fs::read(root.join(file))
                .map(|bytes| crate::plan::sha1_hex(&bytes))
                .unwrap_or_default()
        } else {
            result.sha1_after
        };
        applied.push(Applied {
            file: file.to_owned(),
            sha1_before: if result.sha1_before.is_empty() {
                preimage.to_owned()
            } else {
                result.sha1_before
            },
            sha1_after,
        });
    }

    for (file, content) in plan.creates() {
        ctx.printer.progress(&format!("creating {file}"));
        let result = ctx.pool.request(&write_file(file, content)).await?;
        applied.push(Applied {
            file: file.to_owned(),
            sha1_before: String::new(),
            sha1_after: result.sha1,
        });
    }
    for (file, preimage) in plan.deletes() {
        ctx.printer.progress(&format!("deleting {file}"));
        let result = ctx.pool.request(&delete_file(file, preimage)).await?;
        applied.push(Applied {
            file: file.to_owned(),
            sha1_before: result.sha1_before,
            sha1_after: String::new(),
        });
    }

    let mut after = None;
    let mut flaky = Vec::new();
    if schedule.run_tests {
        ctx.printer.progress("tests on the edited tree");
        let (mut result, rows) = run_tests(ctx, schedule, Stage::After).await?;
        let reruns = rerun_candidates(ctx, baseline.as_ref(), &rows).await;
        tests.extend(rows);
        for (id, node) in reruns {
            ctx.printer.progress(&format!("re-running {node} alone"));
            let single = Schedule {
                selection: vec![node.clone()],
                shards: Vec::new(),
                ..schedule.clone()
            };
            let Ok((rerun, rows)) = run_tests(ctx, &single, Stage::Rerun).await else {
                continue;
            };
            tests.extend(rows);
            if rerun.failed + rerun.errors == 0 && rerun.passed > 0 {
                result.failures.retain(|f| f != &id);
                if result.failed > 0 {
                    result.failed -= 1;
                } else {
                    result.errors = result.errors.saturating_sub(1);
                }
                result.passed += 1;
                flaky.push(node);
            }
        }
        if !flaky.is_empty() {
            ctx.printer.note(&format!(
                "flaky: {} test(s) failed after the edit and passed alone: {}",
                flaky.len(),
                flaky.join(", ")
            ));
        }
        after = Some(result);
    }
    Ok(Outcome {
        applied,
        baseline,
        baseline_cached,
        workers: schedule.shards.len().max(1),
        after,
        flaky,
        tests,
        shard_safe,
        traced,
    })
}

/// The failing tests of the run after the edit that are re-run alone
/// (JUnit id, node id): those that also failed on the baseline, or have
/// flipped in the history.
async fn rerun_candidates(
    ctx: &Context,
    baseline: Option<&RunResult>,
    rows: &[TestRow],
) -> Vec<(String, String)> {
    let failing: Vec<&TestRow> = rows.iter().filter(|r| r.outcome.is_failure()).collect();
    if failing.is_empty() {
        return Vec::new();
    }
    let evidence = ctx.evidence().await;
    let (mut flipped, mut failed_before) = (Vec::new(), Vec::new());
    for row in failing.into_iter().filter(|row| row.file.is_some()) {
        let pair = (row.junit_id.clone(), row.test_id.clone());
        if evidence
            .failing
            .get(&row.test_id)
            .is_some_and(|h| h.flipped)
        {
            flipped.push(pair);
        } else if baseline.is_some_and(|b| b.failures.contains(&row.junit_id)) {
            failed_before.push(pair);
        }
    }
    // Many tests failing before and after is a broken suite, not flakiness:
    // those are re-run only when a few.
    if failed_before.len() > MAX_RERUNS {
        failed_before.clear();
    }
    flipped.extend(failed_before);
    flipped.truncate(MAX_RERUNS);
    flipped
}

/// Refuses (exit 2) when a file's content no longer matches its preimage,
/// or a file to create exists already.
async fn check_drift(ctx: &Context, plan: &Plan) -> Result<(), Failure> {
    // (file, expected SHA-1; `None`: must not exist)
    let expected: Vec<(&str, Option<&str>)> = plan
        .edits()
        .map(|(file, preimage, _)| (file, Some(preimage)))
        .chain(
            plan.deletes()
                .map(|(file, preimage)| (file, Some(preimage))),
        )
        .chain(plan.creates().map(|(file, _)| (file, None)))
        .collect();
    let paths: Vec<String> = expected
        .iter()
        .map(|(file, _)| (*file).to_owned())
        .collect();
    // Only the files that differ come back (a server that answers for
    // every file is read the same way).
    let hashes = ctx
        .pool
        .request(&HashFiles {
            paths,
            expected: expected
                .iter()
                .map(|(_, preimage)| preimage.map(str::to_owned))
                .collect(),
        })
        .await?;
    let found: std::collections::BTreeMap<&str, &Option<String>> = hashes
        .files
        .iter()
        .map(|f| (f.path.as_str(), &f.sha1))
        .collect();
    let unlisted = expected
        .iter()
        .filter(|(file, _)| !found.contains_key(file))
        .count();
    if unlisted != hashes.matched {
        return Err(Failure::internal(format!(
            "the fs server answered for {} of {} files",
            found.len() + hashes.matched,
            expected.len()
        )));
    }
    let mut drifted = Vec::new();
    for (file, preimage) in &expected {
        let Some(sha1) = found.get(file) else {
            continue;
        };
        match (sha1, preimage) {
            (Some(sha1), Some(preimage)) if sha1 == preimage => {}
            (None, None) => {}
            (Some(_), None) => drifted.push(format!("  {file}: exists, the plan creates it")),
            (Some(sha1), Some(preimage)) => drifted.push(format!(
                "  {file}: SHA-1 is {sha1}, the plan expects {preimage}"
            )),
            (None, Some(_)) => drifted.push(format!("  {file}: missing")),
        }
    }
    if drifted.is_empty() {
        return Ok(());
    }
    Err(Failure::input(
        format!(
            "the plan no longer applies: these files changed since it was made (HEAD is now {}):\n{}",
            &ctx.head[..ctx.head.len().min(12)],
            drifted.join("\n")
        ),
        Some("make a fresh plan with `orch plan` or `orch run`".into()),
    ))
}

/// Runs the schedule's tests: one call per shard, at the same time; each
/// keeps its JUnit report in the run directory, read back for the history.
async fn run_tests(
    ctx: &Context,
    schedule: &Schedule,
    stage: Stage,
) -> Result<(RunResult, Vec<TestRow>), Failure> {
    let timeout_s = ctx.deadline.remaining().as_secs().max(1);
    let reports = ctx.run_dir.join("tests");
    let _ = std::fs::create_dir_all(&reports);
    // With xdist, one pytest spreads the files itself.
    let xdist_workers = schedule.xdist.then(|| {
        schedule
            .shards
            .len()
            .max(1)
            .min(schedule.parallelism.max(1))
    });
    let shards: Vec<Vec<String>> = if schedule.shards.len() > 1 && !schedule.xdist {
        schedule.shards.clone()
    } else if schedule.xdist {
        vec![schedule.selection.clone()]
    } else {
        vec![schedule.paths()]
    };
    let calls: Vec<(RunTests, std::path::PathBuf)> = shards
        .into_iter()
        .enumerate()
        .map(|(i, selection)| {
            let report = unique_report(&reports, stage, i);
            let calls_path = (stage == Stage::Traced)
                .then(|| {
                    report
                        .as_ref()
                        .map(|r| r.with_extension("").with_extension("calls.json"))
                })
                .flatten();
            let call = RunTests {
                selection,
                timeout_s: Some(timeout_s),
                max_failures: Some(100),
                junit_path: report.as_ref().map(|p| p.to_string_lossy().into_owned()),
                xdist_workers,
                calls_path: calls_path
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
            };
            (call, report.unwrap_or_default())
        })
        .collect();
    let results = crate::mcp::futures_join_all(
        calls
            .iter()
            .map(|(call, _)| async move { ctx.pool.request(call).await }),
    )
    .await;
    let mut merged: Option<RunResult> = None;
    let mut rows = Vec::new();
    for (result, (call, report)) in results.into_iter().zip(&calls) {
        let result = result?;
        if !matches!(result.exit_code, 0 | 1 | 5) {
            return Err(Failure::stop(
                StopReason::Tests,
                format!(
                    "pytest could not run the tests (exit {}):\n{}",
                    result.exit_code, result.output_tail
                ),
            ));
        }
        rows.extend(read_report(ctx, report, stage, &call.selection));
        merged = Some(match merged {
            None => result,
            Some(total) => merge(total, result),
        });
    }
    if stage == Stage::Traced {
        let paths = calls.iter().filter_map(|(c, _)| c.calls_path.as_deref());
        let selection: Vec<String> = calls
            .iter()
            .flat_map(|(c, _)| c.selection.iter().cloned())
            .collect();
        record_calls(ctx, paths, &selection);
    }
    Ok((merged.unwrap_or_default(), rows))
}

/// Whether the baseline should trace calls for the call map: the run uses
/// pytest (orch's plugin loads there), the map has no current entry for
/// some selected file or does not cover an edited file as it is, and the
/// tests, twice as slow on the baseline, still fit the time left.
/// `ORCH_TRACE_CALLS=never|always` overrides.
fn should_trace(ctx: &Context, plan: &Plan, schedule: &Schedule) -> bool {
    match std::env::var("ORCH_TRACE_CALLS").as_deref() {
        Ok("never") => return false,
        Ok("always") => return schedule.runner == "pytest",
        _ => {}
    }
    if schedule.runner != "pytest" {
        return false;
    }
    // The baseline is about half of both runs, and tracing slows it: by
    // up to 1.5 times with sys.monitoring (Python 3.12 and later), up to
    // 7 times with a trace function before (more-itertools: 6.8 times).
    // Python is asked its version only when the answer decides.
    let Some(finish) = &schedule.finish else {
        return false;
    };
    let p95 = finish.p95_ms as f64;
    let budget = ctx.deadline.remaining().mul_f64(0.8);
    let fits =
        |slowdown: f64| Duration::from_millis((p95 / 2.0 * slowdown + p95 / 2.0) as u64) < budget;
    let python = ctx.settings.python.as_deref().unwrap_or("python3");
    if !(fits(7.0) || fits(1.5) && python_at_least(python, (3, 12))) {
        return false;
    }
    let Ok(root) = ctx.worktree_root() else {
        return false;
    };
    let map = crate::calls::CallMap::load(&ctx.project.dir.join(crate::calls::FILE));
    let selection = schedule.paths();
    if selection.is_empty() {
        return map.tests.is_empty();
    }
    let current = map.current_tests(crate::calls::file_sha1(&root));
    let edited: BTreeMap<String, String> = plan
        .edits()
        .filter(|(file, _, _)| file.ends_with(".py"))
        .map(|(file, preimage, _)| (file.to_owned(), preimage.to_owned()))
        .collect();
    map.wants(&selection, &current, &edited)
}

/// Whether `python` is at least `version` (false when it cannot say).
fn python_at_least(python: &str, version: (u32, u32)) -> bool {
    let out = std::process::Command::new(python)
        .args(["-c", "import sys; print(*sys.version_info[:2])"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    let Ok(out) = out else { return false };
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text
        .split_whitespace()
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    out.status.success() && found >= version
}

/// Adds what a traced run recorded to the project's call map (hashes from
/// the worktree, untouched while the baseline runs). A failure costs the
/// evidence, not the run. Test files of which `selection` ran only some
/// tests are not recorded.
fn record_calls<'a>(ctx: &Context, paths: impl Iterator<Item = &'a str>, selection: &[String]) {
    let mut ran: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for path in paths {
        let part: BTreeMap<String, Vec<String>> = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        for (test, functions) in part {
            ran.entry(test).or_default().extend(functions);
        }
    }
    let Ok(root) = ctx.worktree_root() else {
        return;
    };
    if ran.is_empty() {
        return;
    }
    let file = ctx.project.dir.join(crate::calls::FILE);
    let mut map = crate::calls::CallMap::load(&file);
    map.record(
        &ran,
        crate::calls::file_sha1(&root),
        crate::calls::runs_whole(selection),
    );
    if let Err(error) = map.save(&file) {
        tracing::warn!(%error, "call map not saved");
    }
}

/// A new report path in `dir` for this stage and shard (`None` if the
/// directory cannot hold one: the run goes on without per-test results).
fn unique_report(dir: &std::path::Path, stage: Stage, shard: usize) -> Option<std::path::PathBuf> {
    (0..100)
        .map(|n| dir.join(format!("{}-{shard}-{n}.junit.xml", stage.as_str())))
        .find(|p| !p.exists())
        .filter(|_| dir.is_dir())
}

/// Two shards' results as one run's: counts added, failures merged, the
/// longer time (they ran side by side).
fn merge(mut total: RunResult, shard: RunResult) -> RunResult {
    total.exit_code = match (total.exit_code, shard.exit_code) {
        (1, _) | (_, 1) => 1,
        (5, 5) => 5,
        _ => 0,
    };
    total.passed += shard.passed;
    total.failed += shard.failed;
    total.errors += shard.errors;
    total.skipped += shard.skipped;
    total.duration_ms = total.duration_ms.max(shard.duration_ms);
    total.failures_truncated |= shard.failures_truncated;
    total.failures.extend(shard.failures);
    total.failures.sort();
    total.failures.dedup();
    if total.output_tail.is_empty() {
        total.output_tail = shard.output_tail;
    }
    total
}

/// The tests of a JUnit report, located in their files (the worktree).
fn read_report(
    ctx: &Context,
    report: &std::path::Path,
    stage: Stage,
    selection: &[String],
) -> Vec<TestRow> {
    let whole = crate::calls::runs_whole(selection);
    let Ok(xml) = std::fs::read_to_string(report) else {
        return Vec::new();
    };
    let root = match ctx.worktree.lock() {
        Ok(worktree) => worktree.project_path(&ctx.subdir, ""),
        Err(_) => return Vec::new(),
    };
    let cases = crate::junit::parse(&xml).unwrap_or_default();
    cases
        .into_iter()
        .map(|case| {
            let located = case.locate(&root);
            let junit_id = case.id();
            TestRow {
                run_id: ctx.run_id.clone(),
                test_id: located
                    .as_ref()
                    .map(|(_, node)| node.clone())
                    .unwrap_or_else(|| junit_id.clone()),
                junit_id,
                partial: located.as_ref().is_some_and(|(file, _)| !whole(file)),
                file: located.map(|(file, _)| file),
                stage,
                attempt: if stage == Stage::Rerun { 2 } else { 1 },
                outcome: case.outcome,
                duration_ms: case.seconds * 1000.0,
            }
        })
        .collect()
}

/// The baseline, from the per-HEAD cache when the same tests ran before.
async fn baseline_tests(
    ctx: &Context,
    plan: &Plan,
    schedule: &Schedule,
) -> Result<(RunResult, bool, Vec<TestRow>), Failure> {
    let path = super::optimize::baseline_path(ctx, &schedule.paths());
    if let Some(cached) = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<RunResult>(&b).ok())
    {
        return Ok((cached, true, Vec::new()));
    }
    // Every selected file ran at this commit before, in other selections.
    if let Some(cached) = cached_by_file(ctx, &schedule.paths()) {
        return Ok((cached, true, Vec::new()));
    }
    let stage = if should_trace(ctx, plan, schedule) {
        ctx.printer
            .progress("baseline tests, recording which functions each test file runs");
        Stage::Traced
    } else {
        Stage::Baseline
    };
    let (result, rows) = run_tests(ctx, schedule, stage).await?;
    cache_baseline(ctx, schedule, &result);
    if !result.exit_code_only && matches!(result.exit_code, 0 | 1) {
        cache_by_file(ctx, &rows);
    }
    Ok((result, false, rows))
}

/// One test file's baseline at one commit, from its tests' results.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct FileBaseline {
    passed: usize,
    failed: usize,
    errors: usize,
    skipped: usize,
    duration_ms: f64,
    /// Its failing tests, as run results name them.
    failures: Vec<String>,
    /// Each test's outcome (node id → `passed`, `failed`, `error` or
    /// `skipped`, and its id as run results name it): a later selection of
    /// some of its tests reads theirs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    tests: BTreeMap<String, (String, String)>,
}

impl FileBaseline {
    /// The part of the file's baseline that is `unit`'s (a test or class of
    /// it); `None` when it holds none of them (recorded before outcomes
    /// were kept per test, or no such test): unknown.
    fn of(&self, unit: &str) -> Option<FileBaseline> {
        let mut out = FileBaseline::default();
        for (id, (outcome, junit_id)) in self
            .tests
            .iter()
            .filter(|(id, _)| crate::calls::test_in(id, unit))
        {
            match outcome.as_str() {
                "passed" => out.passed += 1,
                "skipped" => out.skipped += 1,
                "error" => {
                    out.errors += 1;
                    out.failures.push(junit_id.clone());
                }
                _ => {
                    out.failed += 1;
                    out.failures.push(junit_id.clone());
                }
            }
            out.tests
                .insert(id.clone(), (outcome.clone(), junit_id.clone()));
        }
        (!out.tests.is_empty()).then_some(out)
    }
}

fn file_baseline_path(ctx: &Context, file: &str) -> std::path::PathBuf {
    let key = crate::plan::sha1_hex(format!("{}\0{file}", ctx.subdir).as_bytes());
    ctx.project
        .dir
        .join("baselines")
        .join(&ctx.head)
        .join(format!("{}.json", &key[..16]))
}

/// Keeps each file's baseline (by its tests' results): a later run at this
/// commit whose selection holds only such files need not run a baseline.
fn cache_by_file(ctx: &Context, rows: &[TestRow]) {
    let mut files: BTreeMap<&str, FileBaseline> = BTreeMap::new();
    for row in rows {
        // Only some of its tests ran: no baseline of the file.
        let Some(file) = row.file.as_deref().filter(|_| !row.partial) else {
            continue;
        };
        let entry = files.entry(file).or_default();
        entry.duration_ms += row.duration_ms;
        entry.tests.insert(
            row.test_id.clone(),
            (row.outcome.as_str().to_owned(), row.junit_id.clone()),
        );
        use crate::junit::Outcome;
        match row.outcome {
            Outcome::Passed => entry.passed += 1,
            Outcome::Failed => {
                entry.failed += 1;
                entry.failures.push(row.junit_id.clone());
            }
            Outcome::Error => {
                entry.errors += 1;
                entry.failures.push(row.junit_id.clone());
            }
            Outcome::Skipped => entry.skipped += 1,
        }
    }
    for (file, baseline) in files {
        let path = file_baseline_path(ctx, file);
        if let Some(dir) = path.parent()
            && std::fs::create_dir_all(dir).is_ok()
            && let Ok(text) = serde_json::to_vec(&baseline)
        {
            let temporary = path.with_extension("json.tmp");
            if std::fs::write(&temporary, text).is_ok() {
                let _ = std::fs::rename(&temporary, &path);
            }
        }
    }
}

/// The baseline of `files` from their per-file baselines at this commit;
/// `None` unless every one of them has one.
fn cached_by_file(ctx: &Context, files: &[String]) -> Option<RunResult> {
    if files.is_empty() {
        return None;
    }
    let mut result = RunResult::default();
    let mut ms = 0.0;
    for unit in files {
        // A test selected alone: its file's baseline, its tests of it.
        let (file, test) = crate::calls::split_unit(unit);
        let text = std::fs::read(file_baseline_path(ctx, file)).ok()?;
        let mut baseline: FileBaseline = serde_json::from_slice(&text).ok()?;
        if !test.is_empty() {
            baseline = baseline.of(unit)?;
        }
        result.passed += baseline.passed;
        result.failed += baseline.failed;
        result.errors += baseline.errors;
        result.skipped += baseline.skipped;
        result.failures.extend(baseline.failures);
        ms += baseline.duration_ms;
    }
    result.failures.sort();
    result.duration_ms = ms.round() as u64;
    result.exit_code = i32::from(result.failed + result.errors > 0);
    Some(result)
}

/// Keeps a baseline for later runs at this HEAD on the same test files.
fn cache_baseline(ctx: &Context, schedule: &Schedule, result: &RunResult) {
    let path = super::optimize::baseline_path(ctx, &schedule.paths());
    if let Some(dir) = path.parent()
        && std::fs::create_dir_all(dir).is_ok()
        && let Ok(text) = serde_json::to_vec(result)
    {
        let _ = std::fs::write(&path, text);
    }
}

fn edit_file(file: &str, preimage: &str, edits: &[crate::edit::Edit]) -> EditFile {
    EditFile {
        path: file.to_owned(),
        expected_sha1: preimage.to_owned(),
        edits: edits.to_vec(),
        dry_run: false,
        diff: false,
        brief: true,
    }
}

/// Creates a file that must not exist yet.
fn write_file(file: &str, content: &str) -> WriteFile {
    WriteFile {
        path: file.to_owned(),
        content: content.to_owned(),
        expected_sha1: Some(String::new()),
    }
}

fn delete_file(file: &str, preimage: &str) -> DeleteFile {
    DeleteFile {
        path: file.to_owned(),
        expected_sha1: preimage.to_owned(),
    }
}

/// The diff of every edited file, as the edits will make it (for people
/// asked to approve them).
fn planned_diffs(ctx: &Context, plan: &Plan) -> String {
    let root = match ctx.worktree.lock() {
        Ok(worktree) => worktree.project_path(&ctx.subdir, ""),
        Err(_) => return String::new(),
    };
    let mut shown = String::new();
    for (file, _, edits) in plan.edits() {
        let before = std::fs::read(root.join(file))
            .ok()
            .and_then(|bytes| crate::lang::python::encoding::decode(&bytes).ok())
            .map(|(text, _)| text);
        match before.and_then(|before| {
            crate::edit::apply(&before, edits)
                .ok()
                .map(|after| crate::edit::unified_diff(file, &before, &after))
        }) {
            Some(diff) => shown.push_str(&crate::printer::escape_controls(&diff)),
            None => shown.push_str(&format!("{file}: {} edit(s)\n", edits.len())),
        }
    }
    shown
}
