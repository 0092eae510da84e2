//! Whether orch may start the MCP servers a repository's own `.mcp.json`
//! names. Cloning a repository must not let it run commands: starting them
//! is a decision the user takes once per repository and per content of the
//! file (a changed file is asked about again), remembered in
//! `$XDG_STATE_HOME/orch/trusted-mcp.json`. `--trust-repo-config` decides
//! for automation; under `--github-event` on a pull request the file comes
//! from the pull request's head and is never trusted.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::mcp::config::Config;
use crate::plan::sha1_hex;
use crate::printer::Printer;

/// What a repository's MCP config asks to run.
#[derive(Debug, Clone)]
pub(crate) struct RepoConfig {
    /// The file (absolute).
    pub file: PathBuf,
    /// SHA-1 of its bytes.
    pub sha1: String,
    /// `name: command line (roles)` of each enabled server that claims a role.
    pub servers: Vec<String>,
}

/// How the run decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Remembered, or `--trust-repo-config`.
    Trusted,
    /// Ask on the terminal when there is one.
    Ask,
    /// Never (a pull request's own configuration).
    Never,
}

/// Why the servers of a repository's config are not started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(
        "{} asks orch to start {}; orch does not run a repository's commands until you trust its MCP config",
        .0.file.display(),
        .0.servers.join("; ")
    )]
    Untrusted(Box<RepoConfig>),
    #[error("you declined to start the servers of {}", .0.display())]
    Declined(PathBuf),
    #[error("cannot remember the decision in `{}`: {reason}", .file.display())]
    Store { file: PathBuf, reason: String },
}

impl Error {
    /// The exact command that trusts the file, for the hint.
    pub(crate) fn hint(&self, repo: &Path) -> Option<String> {
        match self {
            Error::Untrusted(_) => Some(format!(
                "after reading it, run `orch servers trust --repo {}` (remembered for this content of the file), or pass --trust-repo-config for this run only",
                repo.display()
            )),
            Error::Declined(_) | Error::Store { .. } => None,
        }
    }
}

/// The repository's MCP config in `config`, if it names a server that
/// would start for a role (`repo_root/.mcp.json`).
pub(crate) fn repo_config(config: &Config, repo_root: &Path) -> Option<RepoConfig> {
    let file = repo_root.join(".mcp.json");
    let servers: Vec<String> = config
        .servers
        .iter()
        .filter(|s| s.enabled && !s.roles.is_empty())
        .filter(|s| matches!(&s.source, crate::mcp::Source::File(f) if *f == file))
        .map(|s| {
            let roles: Vec<&str> = s.roles.keys().map(|r| r.as_str()).collect();
            let mut line = vec![s.command.clone()];
            line.extend(s.args.iter().cloned());
            format!("`{}`: `{}` ({})", s.name, line.join(" "), roles.join(", "))
        })
        .collect();
    if servers.is_empty() {
        return None;
    }
    let bytes = std::fs::read(&file).ok()?;
    Some(RepoConfig {
        file,
        sha1: sha1_hex(&bytes),
        servers,
    })
}

/// The remembered decisions: file path -> SHA-1 of the trusted content.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Store {
    trusted: BTreeMap<PathBuf, String>,
}

fn store_file(state_home: &Path) -> PathBuf {
    state_home.join("trusted-mcp.json")
}

fn load(state_home: &Path) -> Store {
    std::fs::read(store_file(state_home))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Whether this content of the file was trusted before.
pub(crate) fn is_trusted(state_home: &Path, config: &RepoConfig) -> bool {
    load(state_home).trusted.get(&config.file) == Some(&config.sha1)
}

/// Remembers that this content of the file is trusted.
pub(crate) fn remember(state_home: &Path, config: &RepoConfig) -> Result<(), Error> {
    let file = store_file(state_home);
    let store_error = |reason: String| Error::Store {
        file: file.clone(),
        reason,
    };
    let mut store = load(state_home);
    store
        .trusted
        .insert(config.file.clone(), config.sha1.clone());
    std::fs::create_dir_all(state_home).map_err(|e| store_error(e.to_string()))?;
    let text = serde_json::to_vec_pretty(&store).map_err(|e| store_error(e.to_string()))?;
    // Atomically: a run killed while writing leaves the old decisions.
    let temporary = file.with_extension("json.tmp");
    std::fs::write(&temporary, text).map_err(|e| store_error(e.to_string()))?;
    std::fs::rename(&temporary, &file).map_err(|e| store_error(e.to_string()))
}

/// Decides whether the repository's servers may start; asks on a terminal
/// when nothing was decided yet. `Ok(false)`: leave them out (with a
/// warning already printed).
pub(crate) fn check(
    state_home: &Path,
    config: &RepoConfig,
    decision: Decision,
    printer: &Printer,
) -> Result<bool, Error> {
    match decision {
        Decision::Trusted => return Ok(true),
        Decision::Never => {
            printer.warn(&format!(
                "{} comes from the pull request; its servers are not started (orch's own serve every role)",
                config.file.display()
            ));
            return Ok(false);
        }
        Decision::Ask => {}
    }
    if is_trusted(state_home, config) {
        return Ok(true);
    }
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !terminal {
        return Err(Error::Untrusted(Box::new(config.clone())));
    }
    let question = format!(
        "{} asks orch to start:\n  {}\nThese commands run with your privileges. Trust this file (remembered until it changes)? [y/N] ",
        config.file.display(),
        config.servers.join("\n  ")
    );
    match printer.ask(&question).as_deref() {
        Some("y" | "Y" | "yes") => {
            remember(state_home, config)?;
            Ok(true)
        }
        _ => Err(Error::Declined(config.file.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_holds_for_one_content_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = RepoConfig {
            file: dir.path().join("repo/.mcp.json"),
            sha1: "a".repeat(40),
            servers: vec!["`x`: `sh` (search)".into()],
        };
        assert!(!is_trusted(dir.path(), &config));
        remember(dir.path(), &config).unwrap();
        assert!(is_trusted(dir.path(), &config));
        let changed = RepoConfig {
            sha1: "b".repeat(40),
            ..config.clone()
        };
        assert!(!is_trusted(dir.path(), &changed));
        let printer = Printer::new(false, true);
        // No terminal under the tests: refused, with the command to trust it.
        let error = check(dir.path(), &changed, Decision::Ask, &printer).unwrap_err();
        assert!(matches!(error, Error::Untrusted(_)));
        let hint = error.hint(Path::new("/r")).unwrap();
        assert!(hint.contains("orch servers trust --repo /r"), "{hint}");
        assert!(check(dir.path(), &changed, Decision::Trusted, &printer).unwrap());
        assert!(!check(dir.path(), &config, Decision::Never, &printer).unwrap());
    }
}
