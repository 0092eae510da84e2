//! The `test` role: running the project's tests and reporting per-test
//! results.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct RunTests {
    /// Test files, directories or node ids; empty runs the whole suite.
    #[serde(default)]
    pub selection: Vec<String>,
    /// Seconds before the run is killed.
    #[serde(default)]
    pub timeout_s: Option<u64>,
    /// Most failing test ids listed.
    #[serde(default)]
    pub max_failures: Option<usize>,
    /// Keep the JUnit report (per-test outcomes and times) at this absolute
    /// path: a new file ending in `.junit.xml` in an existing directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub junit_path: Option<String>,
    /// Spread the files over this many pytest-xdist workers (`-n N
    /// --dist loadfile`; 1 runs them in one process, `-n 0`, whatever the
    /// project's `addopts` say). Only for projects that have pytest-xdist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xdist_workers: Option<usize>,
    /// Record which of the project's functions each test file runs (a
    /// trace of every Python call: the tests take about twice as long),
    /// written as `{test file: ["path::qualname", ...]}` to this absolute
    /// path: a new file ending in `.calls.json` in an existing directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls_path: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct RunResult {
    /// pytest's exit code (5: no tests collected).
    pub exit_code: i32,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
    pub duration_ms: u64,
    /// Failing or erroring test ids (up to max_failures), sorted.
    pub failures: Vec<String>,
    /// More failures existed than were listed.
    pub failures_truncated: bool,
    /// The end of pytest's output when it did not run cleanly.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output_tail: String,
    /// The project's own test command ran (configured in `[tool.orch]`),
    /// not pytest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Only the command's exit code is known (it writes no JUnit report):
    /// `failed` is 1 when it failed, and `failures` names the command.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exit_code_only: bool,
    /// The selection could not be applied (the command has no `{tests}`):
    /// the whole suite ran.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole_suite: bool,
}

crate::protocol::define_calls! {
    Test {
        RunTests => "run_tests" -> RunResult;
    }
}
