//! The `test` server: runs pytest in the root and reports per-test results
//! read from its JUnit XML.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};

use super::Jail;
use crate::protocol::test::{RunResult, RunTests};

#[derive(Debug, Clone)]
pub(crate) struct TestServer {
    jail: Jail,
    python: String,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl TestServer {
    pub(crate) fn new(jail: Jail, python: Option<String>) -> Self {
        TestServer {
            jail,
            python: python.unwrap_or_else(|| "python3".to_owned()),
            tool_router: Self::tool_router(),
        }
    }

    /// Run pytest (whole suite or a selection) and report counts and failing test ids.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn run_tests(
        &self,
        Parameters(args): Parameters<RunTests>,
    ) -> Result<Json<RunResult>, String> {
        match crate::settings::project_test_command(self.jail.root())? {
            Some(command) => run_command(self.jail.root(), &command, &args).await,
            None => run_pytest(self.jail.root(), &self.python, &args).await,
        }
        .map(Json)
    }
}

#[tool_handler(router = self.tool_router, name = "orch-test")]
impl ServerHandler for TestServer {}

/// Runs the project's own test command (see
/// [`crate::settings::project_test_command`]).
pub(crate) async fn run_command(
    root: &Path,
    template: &str,
    args: &RunTests,
) -> Result<RunResult, String> {
    for test in &args.selection {
        crate::plan::check_test_id(test)?;
    }
    let (_report_dir, report) = report_path(args)?;
    let takes_tests = template.contains("{tests}");
    // Each path in single quotes (validated above: relative, no control
    // characters); a quote inside is closed, escaped and reopened.
    let quoted: Vec<String> = args
        .selection
        .iter()
        .map(|t| format!("'{}'", t.replace('\'', "'\\''")))
        .collect();
    let command = template
        .replace("{tests}", &quoted.join(" "))
        .replace("{junit}", &format!("'{}'", report.display()));
    let mut process = tokio::process::Command::new("sh");
    process
        .arg("-c")
        .arg(&command)
        .current_dir(root)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let started = Instant::now();
    let child = process
        .spawn()
        .map_err(|e| format!("cannot start the test command `{command}`: {e}"))?;
    let output = wait_or_kill(child, args.timeout_s, "the test command").await?;
    let code = output.status.code().unwrap_or(-1);
    let combined = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if matches!(code, 126 | 127) || code < 0 {
        return Err(format!(
            "the test command `{template}` could not run (exit {code}):\n{}",
            tail(&combined, 2000)
        ));
    }
    let mut result = RunResult {
        exit_code: i32::from(code != 0),
        duration_ms: started.elapsed().as_millis() as u64,
        command: Some(template.to_owned()),
        whole_suite: !takes_tests && !args.selection.is_empty(),
        ..RunResult::default()
    };
    if template.contains("{junit}") {
        let xml = std::fs::read_to_string(&report).map_err(|_| {
            format!(
                "the test command wrote no JUnit report to {{junit}} (exit {code}):\n{}",
                tail(&combined, 2000)
            )
        })?;
        tally(&xml, args.max_failures, &mut result)?;
    } else {
        result.exit_code_only = true;
        if code == 0 {
            result.passed = 1;
        } else {
            result.failed = 1;
            result.failures = vec![format!("`{template}` (exit {code})")];
        }
    }
    if code != 0 {
        result.output_tail = tail(&combined, 2000);
    }
    Ok(result)
}

/// Runs pytest with a JUnit report and summarises it.
pub(crate) async fn run_pytest(
    root: &Path,
    python: &str,
    args: &RunTests,
) -> Result<RunResult, String> {
    // Whoever calls, a selection is test files and ids inside the root,
    // never pytest options (`--basetemp=...` deletes a directory).
    for test in &args.selection {
        crate::plan::check_test_id(test)?;
    }
    let (_report_dir, report) = report_path(args)?;
    let mut python_path = vec![root.to_path_buf()];
    if root.join("src").is_dir() {
        python_path.insert(0, root.join("src"));
    }
    if let Some(existing) = std::env::var_os("PYTHONPATH") {
        python_path.extend(std::env::split_paths(&existing));
    }
    let python_path = std::env::join_paths(python_path).map_err(|e| e.to_string())?;
    let mut command = tokio::process::Command::new(python);
    command
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "--color=no"])
        .arg(format!("--junitxml={}", report.display()))
        .arg("--")
        .args(&args.selection)
        .current_dir(root)
        .env("PYTHONPATH", python_path)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let started = Instant::now();
    let child = command.spawn().map_err(|e| {
        format!("cannot start `{python} -m pytest`: {e} (set --python or ORCH_PYTHON)")
    })?;
    let output = wait_or_kill(child, args.timeout_s, "pytest").await?;
    let exit_code = output.status.code().unwrap_or(-1);
    let mut result = RunResult {
        exit_code,
        duration_ms: started.elapsed().as_millis() as u64,
        ..RunResult::default()
    };
    let combined = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if let Ok(xml) = std::fs::read_to_string(&report) {
        tally(&xml, args.max_failures, &mut result)?;
    } else if exit_code != 5 {
        return Err(format!(
            "pytest wrote no report (exit {exit_code}); is pytest installed for `{python}`?\n{}",
            tail(&combined, 2000)
        ));
    }
    if !matches!(exit_code, 0 | 1 | 5) {
        result.output_tail = tail(&combined, 2000);
    }
    Ok(result)
}

/// Where the JUnit report goes: where the caller asked to keep it (a new
/// `*.junit.xml` file, given as an absolute path, in a directory that
/// exists: nothing else can be overwritten or created through it), else a
/// temporary directory removed with the returned guard.
fn report_path(args: &RunTests) -> Result<(Option<tempfile::TempDir>, std::path::PathBuf), String> {
    if let Some(path) = &args.junit_path {
        let path = Path::new(path);
        let named = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".junit.xml"));
        let parent_ok = path.parent().is_some_and(|p| p.is_dir());
        if !path.is_absolute() || !named || !parent_ok {
            return Err(format!(
                "junit_path must be an absolute path ending in `.junit.xml` in an existing directory: {}",
                path.display()
            ));
        }
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(format!("junit_path exists already: {}", path.display()));
        }
        return Ok((None, path.to_path_buf()));
    }
    let dir =
        tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let report = dir.path().join("junit.xml");
    Ok((Some(dir), report))
}

/// The child's output, or an error once `timeout_s` (600 by default) has
/// passed, after killing the process group it leads.
async fn wait_or_kill(
    child: tokio::process::Child,
    timeout_s: Option<u64>,
    what: &str,
) -> Result<std::process::Output, String> {
    let pid = child.id();
    let timeout = Duration::from_secs(timeout_s.unwrap_or(600));
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(output) => output.map_err(|e| format!("{what} failed to run: {e}")),
        Err(_) => {
            // The child leads its own process group: end the whole group.
            if let Some(pgid) = pid.and_then(|p| i32::try_from(p).ok()) {
                crate::sys::kill_group(pgid, libc::SIGKILL);
            }
            Err(format!(
                "{what} did not finish within {}s and was killed",
                timeout.as_secs()
            ))
        }
    }
}

/// Counts a JUnit report's cases into `result`, with the failing ids (at
/// most `max_failures`, 100 by default), sorted.
fn tally(xml: &str, max_failures: Option<usize>, result: &mut RunResult) -> Result<(), String> {
    use crate::junit::Outcome;
    let mut failing = BTreeSet::new();
    for case in crate::junit::parse(xml)? {
        match case.outcome {
            Outcome::Passed => result.passed += 1,
            Outcome::Skipped => result.skipped += 1,
            Outcome::Failed => {
                result.failed += 1;
                failing.insert(case.id());
            }
            Outcome::Error => {
                result.errors += 1;
                failing.insert(case.id());
            }
        }
    }
    let limit = max_failures.unwrap_or(100);
    result.failures_truncated = failing.len() > limit;
    result.failures = failing.into_iter().take(limit).collect();
    Ok(())
}

fn tail(text: &str, max: usize) -> String {
    let start = text.len().saturating_sub(max);
    let start = (start..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}
