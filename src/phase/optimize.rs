//! OPTIMIZE: choose the tests to run and their order. With no run history
//! yet, the whole suite runs in pytest's own order, and the schedule says so.

use serde::{Deserialize, Serialize};

use super::{Context, Failure};
use crate::plan::{Action, Plan};

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
}

/// The schedule for `plan` in a project with `test_files` test files
/// (counted by MAP).
pub(crate) async fn run(
    ctx: &Context,
    plan: &Plan,
    test_files: usize,
) -> Result<Schedule, Failure> {
    let selection = plan
        .nodes
        .iter()
        .find_map(|n| match &n.action {
            Action::Test { selection, .. } => Some(selection.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let (run_tests, reason) = if ctx.settings.dry_run {
        (false, "dry run: no tests run".to_owned())
    } else if test_files == 0 {
        (
            false,
            "the project has no pytest tests (no `def test_…` or `class Test…`)".to_owned(),
        )
    } else {
        (
            true,
            format!(
                "no run history yet: running the whole suite ({test_files} test files) in pytest's order"
            ),
        )
    };
    Ok(Schedule {
        runner: "pytest".into(),
        selection,
        test_files,
        parallelism: 1,
        reason,
        run_tests,
    })
}
