//! `TestContext`: a fixture copied into a temp dir, made a git repository,
//! and a way to run `orch` on it with an isolated state directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct TestContext {
    _dir: tempfile::TempDir,
    pub repo: PathBuf,
    pub state: PathBuf,
    /// Scratch space beside the repository (configs, fault-server state).
    pub scratch: PathBuf,
}

/// `node_modules/.bin` of the third-party MCP servers (`.ci/npm`).
pub(crate) fn npm_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/npm/node_modules/.bin");
    assert!(
        bin.join("mcp-server-filesystem").exists() && bin.join("mcp-ripgrep").exists(),
        "the third-party MCP servers are not installed: run `npm ci --prefix .ci/npm` (the README's test command `.ci/test` does)"
    );
    bin
}

pub struct RunOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl RunOutput {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The `record.json` of a `--json` run (from its `run_dir`).
    pub fn record(&self) -> serde_json::Value {
        let dir = self.json()["run_dir"].as_str().unwrap().to_owned();
        serde_json::from_slice(&std::fs::read(Path::new(&dir).join("record.json")).unwrap())
            .unwrap()
    }
}

impl std::fmt::Debug for RunOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every file under `dir`, recursively (none if it does not exist).
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "__pycache__" || name == ".pytest_cache" {
            continue;
        }
        let target = to.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

impl TestContext {
    /// A temp copy of `fixtures/NAME`, committed on `main`.
    pub fn fixture(name: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(name),
            &repo,
        );
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["config", "user.name", "Orch Test"]);
        git(&repo, &["config", "user.email", "orch-test@example.com"]);
        git(&repo, &["add", "-A"]);
        // A fixed date, so the commit (and every plan id made on it) is the
        // same on every run.
        let committed = Command::new("git")
            .args(["commit", "-q", "-m", "initial"])
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .current_dir(&repo)
            .status()
            .expect("git runs");
        assert!(committed.success(), "git commit failed");
        let state = dir.path().join("state");
        let scratch = dir.path().join("scratch");
        std::fs::create_dir_all(scratch.join("config")).unwrap();
        std::fs::create_dir_all(scratch.join("worktrees")).unwrap();
        TestContext {
            _dir: dir,
            repo,
            state,
            scratch,
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_orch"));
        command
            .args(args)
            .arg("--repo")
            .arg(&self.repo)
            .env("XDG_STATE_HOME", &self.state)
            // Worktrees inside the test's directory, so the leftover-process
            // check (which looks for that path) sees the servers rooted there.
            .env("ORCH_WORKTREE_DIR", self.scratch.join("worktrees"))
            // No user-level MCP config leaks in from the machine.
            .env("XDG_CONFIG_HOME", self.scratch.join("config"))
            .env_remove("ORCH_DEADLINE")
            .env_remove("ORCH_PHASE_TOKENS")
            .env_remove("ORCH_TOTAL_TOKENS")
            // Nor GitHub credentials or Actions settings.
            .env_remove("GITHUB_TOKEN")
            .env_remove("ORCH_GIT_TOKEN")
            .env_remove("GITHUB_REPOSITORY")
            .env_remove("GITHUB_API_URL")
            .env_remove("GITHUB_EVENT_NAME")
            .env_remove("GITHUB_SERVER_URL")
            .env_remove("GITHUB_RUN_ID")
            .env_remove("ORCH_COMMENT_BODY")
            .stdin(std::process::Stdio::null());
        command
    }

    /// Runs the full pytest suite on `branch` in a fresh worktree; the
    /// output on failure.
    pub fn pytest_on(&self, branch: &str) -> Result<String, String> {
        let check = self
            .repo
            .parent()
            .unwrap()
            .join(format!("check-{}", branch.replace('/', "-")));
        git(
            &self.repo,
            &["worktree", "add", "-q", check.to_str().unwrap(), branch],
        );
        let pytest = Command::new("python3")
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .current_dir(&check)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&pytest.stdout).into_owned();
        if pytest.status.success() {
            Ok(out)
        } else {
            Err(out)
        }
    }

    /// Runs orch with `--yes` (approvals are tested with [`Self::run_asking`]).
    pub fn run(&self, args: &[&str]) -> RunOutput {
        let mut with_yes = args.to_vec();
        with_yes.push("--yes");
        self.run_asking(&with_yes)
    }

    /// Runs orch as given: without `--yes` and without a terminal.
    pub fn run_asking(&self, args: &[&str]) -> RunOutput {
        self.output(&mut self.command(args))
    }

    /// Runs a prepared command to the end; checks nothing was left running.
    pub fn output(&self, command: &mut Command) -> RunOutput {
        let output: Output = command.output().expect("orch runs");
        let result = RunOutput {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        self.assert_no_processes_left();
        result
    }

    /// No process still mentions this test's directories (the servers are
    /// spawned with the worktree path in their arguments).
    pub fn assert_no_processes_left(&self) {
        let marker = self._dir.path().to_string_lossy().into_owned();
        let mut left = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(&marker) && pid != std::process::id() {
                left.push(format!("{pid}: {cmdline}"));
            }
        }
        assert!(
            left.is_empty(),
            "processes left behind:\n{}",
            left.join("\n")
        );
    }

    /// Every file of the working tree (not `.git`) with its content.
    pub fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                if entry.file_name() == ".git" {
                    continue;
                }
                let path = entry.path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    out.push((
                        path.strip_prefix(root)
                            .unwrap()
                            .to_string_lossy()
                            .into_owned(),
                        std::fs::read(&path).unwrap(),
                    ));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.repo, &self.repo, &mut out);
        out
    }

    pub fn branches(&self) -> Vec<String> {
        git(&self.repo, &["branch", "--format=%(refname:short)"])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn worktrees(&self) -> usize {
        git(&self.repo, &["worktree", "list"]).lines().count()
    }
}
