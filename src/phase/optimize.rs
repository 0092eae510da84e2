//! OPTIMIZE: choose the tests to run. By default (`--tests affected`) the
//! test files the change can affect: the code server's `test_impact` puts
//! every test file in a tier (a: edited, mentions an old name, under a
//! changed conftest or fixture, doctests of changed modules; b: imports a
//! changed module or is named after it; c: imports it through others; d:
//! does not import it at all), and tiers a–c run; what is left out is
//! said in the output, the record and the pull request (a draft then).
//! `--tests all` runs the whole suite, `--tests none` nothing.

use serde::{Deserialize, Serialize};

use super::{Context, Failure};
use crate::cli::TestsMode;
use crate::intent::Intent;
use crate::plan::{Action, Plan};
use crate::protocol::code::TestImpact;

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
    /// Test files left out of the run (tier d: they do not import a
    /// changed module).
    #[serde(default)]
    pub left_out: usize,
}

/// The names a change takes away: tests that mention them may break.
fn old_names(intent: &Intent) -> Vec<String> {
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
        Intent::MakeAsync(m) => m.function.iter().cloned().collect(),
        _ => Vec::new(),
    }
}

/// The schedule for `plan` in a project with `test_files` test files
/// (counted by MAP).
pub(crate) async fn run(
    ctx: &Context,
    plan: &Plan,
    test_files: usize,
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
            schedule.reason =
                format!("--tests all: the whole suite ({test_files} test files) in pytest's order");
        }
        TestsMode::Affected if !planned.is_empty() => {
            schedule.reason = format!("the plan's selection ({} paths)", planned.len());
        }
        TestsMode::Affected => {
            ctx.printer
                .progress("choosing the tests the change can affect");
            let impact = match ctx
                .pool
                .request(&TestImpact {
                    changed: plan.files(),
                    old_names: old_names(&plan.intent),
                })
                .await
            {
                Ok(impact) => impact,
                // A code server that cannot tier the tests (a third-party
                // one without `test_impact`, or a failure) costs the
                // selection, not the run: the whole suite runs.
                Err(crate::mcp::Error::Budget(exceeded)) => {
                    return Err(Failure::from(crate::mcp::Error::Budget(exceeded)));
                }
                Err(error) => {
                    tracing::warn!(%error, "test impact unavailable");
                    schedule.reason = format!(
                        "the tests the change can affect could not be chosen ({error}): the whole suite ({test_files} test files)"
                    );
                    return Ok(schedule);
                }
            };
            let selected = impact.selection;
            let tiers = format!("a: {}, b: {}, c: {}", impact.a, impact.b, impact.c);
            if let Some(command) = &command {
                schedule.reason = format!("the project's test command `{command}`; ");
            }
            if impact.d == 0 {
                schedule.selection.clear();
                schedule.reason += &format!(
                    "every test file can be affected ({tiers}): the whole suite in pytest's order"
                );
            } else if selected.is_empty() {
                schedule.reason += &format!(
                    "no test file imports a changed module or mentions an old name: the whole suite ({test_files} test files)"
                );
            } else {
                schedule.reason += &format!(
                    "ran tiers a–c: {} paths ({tiers}); tier d, {} test files that do not import a changed module, left out (--tests all runs them)",
                    selected.len(),
                    impact.d
                );
                schedule.selection = selected;
                schedule.left_out = impact.d;
            }
        }
    }
    Ok(schedule)
}
