//! Settings resolved from flags, then the environment, then defaults.

use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use crate::secret::Secret;

use crate::cli::GlobalArgs;

/// A setting that could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("{source_name} = `{value}`: {message}")]
    Invalid {
        source_name: String,
        value: String,
        message: String,
    },
    #[error("the project directory `{0}` does not exist")]
    NoRepo(PathBuf),
    #[error("{0}")]
    State(String),
    #[error(transparent)]
    Mcp(#[from] crate::mcp::config::Error),
}

/// Everything the core needs to know about how to run.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Canonical project directory.
    pub repo: PathBuf,
    pub dry_run: bool,
    /// `--apply`: the verified change goes into the user's checkout, not a
    /// commit.
    pub apply: bool,
    pub yes: bool,
    /// Renames also edit uncertain sites / mentions in strings and comments.
    pub include_uncertain: bool,
    /// Moves: leave a re-export in the old module.
    pub keep_alias: bool,
    pub include_strings: bool,
    /// Which tests run (`--tests`).
    pub tests: crate::cli::TestsMode,
    pub json: bool,
    pub deadline: Duration,
    pub phase_tokens: usize,
    pub total_tokens: usize,
    /// Fraction of RAM orch and its servers may use before new work waits.
    pub memory_threshold: f64,
    /// Size of the analysis cache (reserved for the cache; read and validated now).
    #[expect(
        dead_code,
        reason = "reserved for the analysis cache; validated now so a bad value fails early"
    )]
    pub cache_size_mb: u64,
    /// Runs kept in the project's history (`ORCH_HISTORY_RUNS`, default 500).
    pub history_runs: usize,
    /// Most concurrent calls per server and parallel searches.
    pub parallelism: usize,
    pub plan_out: Option<PathBuf>,
    /// Python interpreter for the test server, if one was found or given.
    pub python: Option<String>,
    /// `$XDG_STATE_HOME/orch`.
    pub state_home: PathBuf,
    /// `ORCH_WORKTREE_DIR`: where private worktrees go [default: memory if it fits].
    pub worktree_root: Option<PathBuf>,
    /// `XDG_RUNTIME_DIR`, a per-user tmpfs on most Linux systems.
    pub runtime_dir: Option<PathBuf>,
    /// MCP servers from `~/.config/orch/mcp.json`, `.mcp.json` and `--mcp-config`.
    pub mcp: crate::mcp::Config,
    /// The git work tree around the project (where `.mcp.json` is read).
    pub repo_root: PathBuf,
    /// `--trust-repo-config`.
    pub trust_repo_config: bool,
    /// Where the branch starts, the commit's author, where it goes.
    pub publish: Publish,
}

/// Branch, push and pull-request settings.
#[derive(Debug, Clone)]
pub(crate) struct Publish {
    /// `--base REF`: the revision the worktree starts from [default: HEAD].
    pub base: Option<String>,
    /// `--author "Name <email>"` [default: the repository's git identity].
    pub author: Option<crate::forge::Author>,
    /// `--remote NAME`; `None` means `origin` if it exists.
    pub remote: Option<String>,
    /// `--no-pr`: stop after the push.
    pub no_pr: bool,
    /// `--no-push`: stop after the commit.
    pub no_push: bool,
    /// `--github-repo OWNER/REPO`, else `GITHUB_REPOSITORY`.
    pub github_repo: Option<String>,
    /// `GITHUB_API_URL` [default: https://api.github.com].
    pub api_url: String,
    /// The hosts whose remotes are GitHub repositories: github.com, and
    /// the hosts of `GITHUB_API_URL` and `GITHUB_SERVER_URL` (GitHub
    /// Enterprise).
    pub github_hosts: Vec<String>,
    /// `ORCH_GIT_TOKEN`, else `GITHUB_TOKEN`: for https pushes and the API.
    pub token: Option<Secret>,
    /// The branch the pull request targets [default: the base branch].
    pub pr_base: Option<String>,
}

pub(crate) const DEFAULT_GITHUB_API_URL: &str = "https://api.github.com";

pub(crate) const DEFAULT_DEADLINE: Duration = Duration::from_secs(90);
pub(crate) const DEFAULT_PHASE_TOKENS: usize = 4096;
pub(crate) const DEFAULT_TOTAL_TOKENS: usize = 28_672;
pub(crate) const DEFAULT_MEMORY_THRESHOLD: f64 = 0.70;
pub(crate) const DEFAULT_CACHE_SIZE_MB: u64 = 256;
pub(crate) const DEFAULT_PARALLELISM: usize = 8;
pub(crate) const DEFAULT_HISTORY_RUNS: usize = crate::history::DEFAULT_KEEP;

/// The project directory: `--repo`, else the git work tree around the
/// current directory, else the current directory; canonical.
pub(crate) fn project_dir(args: &GlobalArgs) -> Result<PathBuf, Error> {
    let repo = match &args.repo {
        Some(dir) => dir.clone(),
        None => {
            let cwd = std::env::current_dir()
                .map_err(|e| Error::State(format!("cannot read the current directory: {e}")))?;
            git2::Repository::discover(&cwd)
                .ok()
                .and_then(|r| r.workdir().map(Path::to_path_buf))
                .unwrap_or(cwd)
        }
    };
    repo.canonicalize().map_err(|_| Error::NoRepo(repo.clone()))
}

impl Settings {
    /// Starts the servers of the repository's own `.mcp.json` only when the
    /// user trusts it (asked on a terminal, remembered per content);
    /// `never` (a pull request's configuration) leaves them out.
    pub(crate) fn check_repo_config(
        &mut self,
        printer: &crate::printer::Printer,
        never: bool,
    ) -> Result<(), crate::trust::Error> {
        let Some(config) = crate::trust::repo_config(&self.mcp, &self.repo_root) else {
            return Ok(());
        };
        let decision = if never {
            crate::trust::Decision::Never
        } else if self.trust_repo_config {
            crate::trust::Decision::Trusted
        } else {
            crate::trust::Decision::Ask
        };
        if !crate::trust::check(&self.state_home, &config, decision, printer)? {
            let file = crate::mcp::Source::File(config.file.clone());
            self.mcp.servers.retain(|s| s.source != file);
        }
        Ok(())
    }

    /// The servers of a run rooted at `root`: the configured ones, and
    /// orch's own for every role nobody claims.
    pub(crate) fn servers(&self, root: &Path) -> std::io::Result<crate::mcp::Servers> {
        crate::mcp::Servers::resolve(
            &self.mcp,
            root,
            self.python.as_deref(),
            self.parallelism,
            self.deadline,
        )
    }

    /// Resolves flags, then `env`, then defaults.
    pub(crate) fn resolve(
        args: &GlobalArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, Error> {
        let repo = project_dir(args)?;
        let repo_root = git2::Repository::discover(&repo)
            .ok()
            .and_then(|r| r.workdir().map(Path::to_path_buf))
            .and_then(|p| p.canonicalize().ok())
            .unwrap_or_else(|| repo.clone());
        let mcp_files =
            crate::mcp::config::config_files(&repo_root, args.mcp_config.as_deref(), env);
        let mcp = crate::mcp::config::load(&mcp_files, env)?;
        let deadline = match (&args.deadline, env("ORCH_DEADLINE")) {
            (Some(flag), _) => parse_duration("--deadline", flag)?,
            (None, Some(value)) => parse_duration("ORCH_DEADLINE", &value)?,
            (None, None) => DEFAULT_DEADLINE,
        };
        let phase_tokens = pick(
            args.phase_tokens,
            "ORCH_PHASE_TOKENS",
            env,
            DEFAULT_PHASE_TOKENS,
        )?;
        let total_tokens = pick(
            args.total_tokens,
            "ORCH_TOTAL_TOKENS",
            env,
            DEFAULT_TOTAL_TOKENS,
        )?;
        let memory_threshold = pick(
            None,
            "ORCHESTRATOR_MEMORY_THRESHOLD",
            env,
            DEFAULT_MEMORY_THRESHOLD,
        )?;
        if !(memory_threshold > 0.0 && memory_threshold <= 1.0) {
            return Err(invalid(
                "ORCHESTRATOR_MEMORY_THRESHOLD",
                &memory_threshold.to_string(),
                "must be a fraction in (0, 1]",
            ));
        }
        let cache_size_mb = pick(
            None,
            "ORCHESTRATOR_CACHE_SIZE_MB",
            env,
            DEFAULT_CACHE_SIZE_MB,
        )?;
        let parallelism = pick(None, "CLAUDE_CODE_PARALLELISM", env, DEFAULT_PARALLELISM)?.max(1);
        let history_runs = pick(None, "ORCH_HISTORY_RUNS", env, DEFAULT_HISTORY_RUNS)?.max(1);
        for (name, value) in [
            ("--phase-tokens", phase_tokens),
            ("--total-tokens", total_tokens),
        ] {
            if value == 0 {
                return Err(invalid(name, "0", "must be at least 1"));
            }
        }
        let python = args
            .python
            .clone()
            .or_else(|| env("ORCH_PYTHON"))
            .or_else(|| find_python(&repo, env));
        let state_home = match env("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir).join("orch"),
            None => crate::state::state_home().map_err(|e| Error::State(e.to_string()))?,
        };
        let author = match &args.author {
            Some(text) => Some(
                text.parse::<crate::forge::Author>()
                    .map_err(|message| invalid("--author", text, &message))?,
            ),
            None => None,
        };
        let github_repo = args
            .github_repo
            .clone()
            .or_else(|| env("GITHUB_REPOSITORY").filter(|v| !v.is_empty()));
        if let Some(slug) = &github_repo
            && crate::github::Slug::parse(slug).is_none()
        {
            return Err(invalid(
                if args.github_repo.is_some() {
                    "--github-repo"
                } else {
                    "GITHUB_REPOSITORY"
                },
                slug,
                "expected OWNER/REPO",
            ));
        }
        let api_url = env("GITHUB_API_URL")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_GITHUB_API_URL.to_owned());
        let mut github_hosts = vec!["github.com".to_owned()];
        for url in [Some(api_url.clone()), env("GITHUB_SERVER_URL")]
            .into_iter()
            .flatten()
        {
            if let Some(host) = crate::github::url_host(&url) {
                let host = if host == "api.github.com" {
                    "github.com".to_owned()
                } else {
                    host
                };
                if !github_hosts.contains(&host) {
                    github_hosts.push(host);
                }
            }
        }
        let publish = Publish {
            base: args.base.clone(),
            author,
            remote: args.remote.clone(),
            no_pr: args.no_pr,
            no_push: args.no_push,
            github_repo,
            api_url,
            github_hosts,
            token: env("ORCH_GIT_TOKEN")
                .filter(|v| !v.is_empty())
                .or_else(|| env("GITHUB_TOKEN").filter(|v| !v.is_empty()))
                .map(Secret::new),
            pr_base: None,
        };
        Ok(Settings {
            repo,
            dry_run: args.dry_run,
            apply: args.apply,
            yes: args.yes,
            include_uncertain: args.include_uncertain,
            keep_alias: args.keep_alias,
            include_strings: args.include_strings,
            tests: args.tests,
            json: args.json,
            deadline,
            phase_tokens,
            total_tokens,
            memory_threshold,
            cache_size_mb,
            history_runs,
            parallelism,
            plan_out: args.plan_out.clone(),
            python,
            state_home,
            worktree_root: worktree_root(env)?,
            runtime_dir: env("XDG_RUNTIME_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            mcp,
            repo_root,
            trust_repo_config: args.trust_repo_config,
            publish,
        })
    }
}

/// `ORCH_WORKTREE_DIR`: an absolute path to an existing directory (orch
/// does not create it behind the user's back; a relative one would be
/// relative to wherever each server starts).
fn worktree_root(env: &dyn Fn(&str) -> Option<String>) -> Result<Option<PathBuf>, Error> {
    let Some(value) = env("ORCH_WORKTREE_DIR").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(&value);
    if !path.is_absolute() {
        return Err(invalid(
            "ORCH_WORKTREE_DIR",
            &value,
            "must be an absolute path",
        ));
    }
    if !path.is_dir() {
        return Err(invalid(
            "ORCH_WORKTREE_DIR",
            &value,
            "must be an existing directory (orch does not create it)",
        ));
    }
    Ok(Some(path))
}

fn invalid(source_name: &str, value: &str, message: &str) -> Error {
    Error::Invalid {
        source_name: source_name.to_owned(),
        value: value.to_owned(),
        message: message.to_owned(),
    }
}

fn pick<T: std::str::FromStr>(
    flag: Option<T>,
    name: &str,
    env: &dyn Fn(&str) -> Option<String>,
    default: T,
) -> Result<T, Error> {
    if let Some(value) = flag {
        return Ok(value);
    }
    match env(name) {
        Some(value) => value
            .trim()
            .parse()
            .map_err(|_| invalid(name, &value, "not a valid number")),
        None => Ok(default),
    }
}

/// `90s`, `2m`, `1m30s`, or a bare number of seconds.
/// The longest deadline orch takes: a day (a run that long is a mistake,
/// and larger values overflow the clock's arithmetic).
pub(crate) const MAX_DEADLINE: Duration = Duration::from_secs(24 * 60 * 60);

fn parse_duration(source_name: &str, value: &str) -> Result<Duration, Error> {
    let trimmed = value.trim();
    let parsed = match trimmed.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > MAX_DEADLINE.as_secs_f64() => {
            return Err(invalid(
                source_name,
                value,
                "must be at most a day (86400s)",
            ));
        }
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => Ok(Duration::from_secs_f64(seconds)),
        _ => humantime::parse_duration(trimmed).map_err(|e| e.to_string()),
    };
    match parsed {
        Ok(d) if d > MAX_DEADLINE => Err(invalid(
            source_name,
            value,
            "must be at most a day (86400s)",
        )),
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(invalid(source_name, value, "must be longer than zero")),
        Err(e) => Err(invalid(source_name, value, &format!("{e} (try 90s or 2m)"))),
    }
}

/// The project's virtualenv interpreter, if it has one.
fn find_python(repo: &Path, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    for candidate in [".venv/bin/python", "venv/bin/python", ".venv/bin/python3"] {
        let path = repo.join(candidate);
        if path.is_file() {
            return Some(path.to_string_lossy().into_owned());
        }
    }
    env("VIRTUAL_ENV").map(|v| format!("{v}/bin/python"))
}

/// The project's own test command: `test-command` in `orch.toml`, or in
/// `[tool.orch]` of `pyproject.toml`. `{tests}` in it stands for the
/// selected test paths, `{junit}` for a file where it writes a JUnit XML
/// report (`python runtests.py {tests}`, `python -m pytest --junitxml={junit}
/// {tests}`, `tox -e py -- {tests}`, `make test`).
pub(crate) fn project_test_command(root: &Path) -> Result<Option<String>, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "kebab-case")]
    struct Orch {
        test_command: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Tool {
        orch: Option<Orch>,
    }
    #[derive(serde::Deserialize)]
    struct Pyproject {
        tool: Option<Tool>,
    }
    if let Ok(text) = std::fs::read_to_string(root.join("orch.toml")) {
        let orch: Orch = toml::from_str(&text).map_err(|e| format!("orch.toml: {e}"))?;
        if orch.test_command.is_some() {
            return Ok(orch.test_command);
        }
    }
    let Ok(text) = std::fs::read_to_string(root.join("pyproject.toml")) else {
        return Ok(None);
    };
    // Only `[tool.orch]` is orch's: the rest of the file may use TOML orch
    // need not understand, so a parse error there is not orch's to report
    // unless the table is present.
    match toml::from_str::<Pyproject>(&text) {
        Ok(pyproject) => Ok(pyproject
            .tool
            .and_then(|t| t.orch)
            .and_then(|o| o.test_command)),
        Err(e) if text.contains("[tool.orch]") => Err(format!("pyproject.toml: {e}")),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_project_test_command_comes_from_orch_toml_or_pyproject() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(project_test_command(root), Ok(None));
        // TOML orch does not need, even broken, is not orch's business...
        std::fs::write(
            root.join("pyproject.toml"),
            "[tool.black\nline-length = 88\n",
        )
        .unwrap();
        assert_eq!(project_test_command(root), Ok(None));
        // ...but its own table is.
        std::fs::write(
            root.join("pyproject.toml"),
            "[project]\nname = 'x'\n\n[tool.orch]\ntest-command = \"python runtests.py {tests}\"\n",
        )
        .unwrap();
        assert_eq!(
            project_test_command(root),
            Ok(Some("python runtests.py {tests}".to_owned()))
        );
        std::fs::write(root.join("orch.toml"), "test-command = \"make test\"\n").unwrap();
        assert_eq!(project_test_command(root), Ok(Some("make test".to_owned())));
        std::fs::write(root.join("orch.toml"), "test-command = 3\n").unwrap();
        assert!(
            project_test_command(root)
                .unwrap_err()
                .starts_with("orch.toml:")
        );
    }

    #[test]
    fn the_worktree_directory_must_be_absolute_and_exist() {
        let dir = tempfile::tempdir().unwrap();
        let existing = dir.path().to_string_lossy().into_owned();
        let missing = dir.path().join("nope").to_string_lossy().into_owned();
        let env_of =
            |value: String| move |name: &str| (name == "ORCH_WORKTREE_DIR").then(|| value.clone());
        assert_eq!(
            worktree_root(&env_of(existing.clone())).unwrap(),
            Some(PathBuf::from(&existing))
        );
        let relative = worktree_root(&env_of("worktrees".into())).unwrap_err();
        assert!(
            relative.to_string().contains("ORCH_WORKTREE_DIR"),
            "{relative}"
        );
        assert!(relative.to_string().contains("absolute"), "{relative}");
        assert!(worktree_root(&env_of(missing.clone())).is_err());
        assert!(!std::path::Path::new(&missing).exists(), "not created");
    }

    #[test]
    fn deadlines_past_a_day_are_refused_not_a_panic() {
        for value in [
            "1e19",
            "1e20",
            "18446744073709551615",
            "100000",
            "2d",
            "inf",
            "NaN",
        ] {
            let error = parse_duration("--deadline", value);
            assert!(error.is_err(), "{value}");
        }
        assert_eq!(parse_duration("--deadline", "86400").unwrap(), MAX_DEADLINE);
        assert_eq!(
            parse_duration("--deadline", "90s").unwrap(),
            Duration::from_secs(90)
        );
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn flags_beat_env_beat_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let mut args = GlobalArgs {
            repo: Some(dir.path().to_owned()),
            ..GlobalArgs::default()
        };
        let env = env_of(&[
            ("ORCH_DEADLINE", "2m"),
            ("ORCH_PHASE_TOKENS", "100"),
            ("XDG_STATE_HOME", "/tmp/s"),
        ]);
        let settings = Settings::resolve(&args, &env).unwrap();
        assert_eq!(settings.deadline, Duration::from_secs(120));
        assert_eq!(settings.phase_tokens, 100);
        assert_eq!(settings.total_tokens, DEFAULT_TOTAL_TOKENS);
        assert_eq!(settings.state_home, PathBuf::from("/tmp/s/orch"));
        args.deadline = Some("5s".into());
        args.phase_tokens = Some(7);
        let settings = Settings::resolve(&args, &env).unwrap();
        assert_eq!(
            (settings.deadline, settings.phase_tokens),
            (Duration::from_secs(5), 7)
        );
    }

    #[test]
    fn bad_values_name_their_source() {
        let dir = tempfile::tempdir().unwrap();
        let args = GlobalArgs {
            repo: Some(dir.path().to_owned()),
            ..GlobalArgs::default()
        };
        let error = Settings::resolve(&args, &env_of(&[("ORCHESTRATOR_MEMORY_THRESHOLD", "lots")]))
            .unwrap_err();
        assert!(
            error.to_string().contains("ORCHESTRATOR_MEMORY_THRESHOLD"),
            "{error}"
        );
        let error = Settings::resolve(&args, &env_of(&[("ORCH_DEADLINE", "soon")])).unwrap_err();
        assert!(error.to_string().contains("ORCH_DEADLINE"), "{error}");
    }
}
