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
    let calls = match &args.calls_path {
        Some(path) => Some(CallsRecorder::new(path)?),
        None => None,
    };
    let mut python_path = vec![root.to_path_buf()];
    if let Some(calls) = &calls {
        python_path.push(calls.plugin_dir.path().to_path_buf());
    }
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
        .args(match args.xdist_workers {
            Some(n) if n > 1 => vec![format!("--numprocesses={n}"), "--dist=loadfile".into()],
            Some(_) => vec!["--numprocesses=0".to_owned()],
            None => Vec::new(),
        })
        .args(match &calls {
            Some(_) => vec!["-p", "orch_calls"],
            None => Vec::new(),
        })
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
    if let Some(calls) = &calls {
        command
            .env("ORCH_CALLS_OUT", &calls.out)
            .env("ORCH_CALLS_ROOT", root);
    }
    let started = Instant::now();
    let child = command.spawn().map_err(|e| {
        format!("cannot start `{python} -m pytest`: {e} (set --python or ORCH_PYTHON)")
    })?;
    let output = wait_or_kill(child, args.timeout_s, "pytest").await?;
    if let Some(calls) = calls {
        calls.merge()?;
    }
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

/// Whether the project runs its tests with pytest-xdist: it declares it
/// (a dependency, or `-n` in pytest's `addopts`) and `python` imports it.
/// orch then spreads the tests with xdist's own scheduler (idle workers
/// take the next file) instead of starting pytest once per shard, and its
/// `-n` replaces one in `addopts` (which would otherwise run under every
/// shard).
pub(crate) async fn project_has_xdist(root: &Path, python: &str) -> bool {
    if !declares_xdist(root) {
        return false;
    }
    let mut command = tokio::process::Command::new(python);
    command
        .args(["-c", "import xdist"])
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    matches!(
        tokio::time::timeout(std::time::Duration::from_secs(10), command.status()).await,
        Ok(Ok(status)) if status.success()
    )
}

/// Whether the project's configuration names pytest-xdist.
fn declares_xdist(root: &Path) -> bool {
    let mut files: Vec<std::path::PathBuf> = [
        "pyproject.toml",
        "setup.cfg",
        "setup.py",
        "tox.ini",
        "pytest.ini",
        "noxfile.py",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect();
    for dir in [root.to_path_buf(), root.join("requirements")] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            files.extend(entries.flatten().map(|e| e.path()).filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                    n.starts_with("requirements") || (dir != root && n.ends_with(".txt"))
                })
            }));
        }
    }
    files.iter().any(|path| {
        std::fs::read_to_string(path).is_ok_and(|text| {
            text.contains("pytest-xdist")
                || text.contains("pytest_xdist")
                || text.lines().any(|line| {
                    let line = line.trim();
                    line.starts_with("addopts")
                        && line
                            .split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '=')
                            .any(|word| {
                                // `-n`, `-n4`, `-nauto`, `--numprocesses`.
                                word == "--numprocesses"
                                    || word.strip_prefix("-n").is_some_and(|n| {
                                        n.chars().all(|c| c.is_ascii_alphanumeric())
                                    })
                            })
                })
        })
    })
}

/// The call map a traced run writes: orch's plugin in a directory of its
/// own on `PYTHONPATH`, one part per process (pytest-xdist workers each
/// write theirs), merged into the path asked for.
struct CallsRecorder {
    plugin_dir: tempfile::TempDir,
    out: std::path::PathBuf,
}

/// orch's pytest plugin (see the file).
const CALLS_PLUGIN: &str = include_str!("python/orch_calls.py");

impl CallsRecorder {
    fn new(path: &str) -> Result<Self, String> {
        let out = Path::new(path);
        let named = out
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".calls.json"));
        if !out.is_absolute() || !named || !out.parent().is_some_and(Path::is_dir) {
            return Err(format!(
                "calls_path must be an absolute path ending in `.calls.json` in an existing directory: {path}"
            ));
        }
        if std::fs::symlink_metadata(out).is_ok() {
            return Err(format!("calls_path exists already: {path}"));
        }
        let plugin_dir =
            tempfile::tempdir().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        std::fs::write(plugin_dir.path().join("orch_calls.py"), CALLS_PLUGIN)
            .map_err(|e| format!("cannot write orch's pytest plugin: {e}"))?;
        Ok(CallsRecorder {
            plugin_dir,
            out: out.to_path_buf(),
        })
    }

    /// Merges the processes' parts into the one file (a test file's
    /// functions are the union of what each process saw of it).
    fn merge(self) -> Result<(), String> {
        let dir = self.out.parent().unwrap_or(Path::new("."));
        let prefix = format!(
            "{}.",
            self.out.file_name().and_then(|n| n.to_str()).unwrap_or("")
        );
        let mut merged: std::collections::BTreeMap<String, BTreeSet<String>> = Default::default();
        let entries = std::fs::read_dir(dir).map_err(|e| e.to_string())?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(&prefix) {
                continue;
            }
            let part: std::collections::BTreeMap<String, Vec<String>> = std::fs::read(entry.path())
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or_default();
            for (test, functions) in part {
                merged.entry(test).or_default().extend(functions);
            }
            let _ = std::fs::remove_file(entry.path());
        }
        let text = serde_json::to_vec(&merged).map_err(|e| e.to_string())?;
        std::fs::write(&self.out, text).map_err(|e| format!("cannot write the call map: {e}"))
    }
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

#[cfg(test)]
mod tests {
    use super::declares_xdist;

    #[test]
    fn xdist_is_declared_by_a_dependency_or_by_addopts() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert!(!declares_xdist(root));
        std::fs::write(root.join("pytest.ini"), "[pytest]\naddopts = -ra\n").unwrap();
        assert!(!declares_xdist(root), "another option");
        std::fs::write(root.join("pytest.ini"), "[pytest]\naddopts = -ra -n auto\n").unwrap();
        assert!(declares_xdist(root));
        std::fs::remove_file(root.join("pytest.ini")).unwrap();
        std::fs::write(
            root.join("pyproject.toml"),
            "[tool.pytest.ini_options]\naddopts = \"--numprocesses=4\"\n",
        )
        .unwrap();
        assert!(declares_xdist(root));
        std::fs::write(
            root.join("pyproject.toml"),
            "[tool.pytest.ini_options]\naddopts = \"-ra -n4\"\n",
        )
        .unwrap();
        assert!(declares_xdist(root));
        std::fs::remove_file(root.join("pyproject.toml")).unwrap();
        std::fs::create_dir(root.join("requirements")).unwrap();
        std::fs::write(
            root.join("requirements/tests.txt"),
            "pytest\npytest-xdist>=3\n",
        )
        .unwrap();
        assert!(declares_xdist(root));
    }
}
