//! A run's set-up for tests, with orch's own servers in process: a copy of
//! a fixture repository committed in a temp dir, the settings its flags
//! give, and the prepared context (lock, worktree, servers).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Mode, Prepared, Transport, clean_up, prepare};
use crate::phase::Context;
use crate::printer::Printer;
use crate::settings::Settings;

/// A temp copy of `fixtures/NAME`, committed (on a fixed date).
pub(crate) struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    pub(crate) fn fixture(name: &str) -> Project {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        copy(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(name),
            &repo,
        );
        for args in [
            &["init", "-q", "-b", "main"][..],
            &[
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@example.com",
                "add",
                "-A",
            ],
            &[
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@example.com",
                "commit",
                "-q",
                "-m",
                "initial",
            ],
        ] {
            let status = std::process::Command::new("git")
                .args(args)
                .current_dir(&repo)
                .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
                .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
                .status()
                .unwrap();
            assert!(status.success(), "git {args:?}");
        }
        Project { dir }
    }

    pub(crate) fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    /// The settings of `orch [FLAGS] plan x` on this project (state and
    /// worktrees inside the temp dir, no user configuration).
    pub(crate) fn settings(&self, flags: &[&str]) -> Settings {
        let repo = self.repo();
        let mut args = vec!["orch", "--repo", repo.to_str().unwrap()];
        args.extend(flags);
        args.extend(["plan", "x"]);
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(args).unwrap();
        let (state, config, worktrees) = (
            self.dir.path().join("state"),
            self.dir.path().join("config"),
            self.dir.path().join("worktrees"),
        );
        std::fs::create_dir_all(&worktrees).unwrap();
        let env = move |name: &str| match name {
            "XDG_STATE_HOME" => Some(state.to_string_lossy().into_owned()),
            "XDG_CONFIG_HOME" => Some(config.to_string_lossy().into_owned()),
            "ORCH_WORKTREE_DIR" => Some(worktrees.to_string_lossy().into_owned()),
            "PATH" | "HOME" => std::env::var(name).ok(),
            _ => None,
        };
        Settings::resolve(&cli.global, &env).unwrap()
    }

    /// A whole run with its servers in process.
    pub(crate) async fn run(&self, flags: &[&str], mode: Mode) -> super::Finished {
        let printer = Arc::new(Printer::new(false, true));
        super::run_with(
            self.settings(flags),
            mode,
            printer,
            Transport::InProcess,
            None,
        )
        .await
        .unwrap()
    }

    /// A prepared run (its servers in process); [`Run::clean_up`] ends it.
    pub(crate) async fn prepare(&self, flags: &[&str], mode: &Mode) -> Run {
        let printer = Arc::new(Printer::new(false, true));
        let prepared = prepare(self.settings(flags), mode, printer, Transport::InProcess)
            .await
            .unwrap();
        Run { prepared }
    }
}

pub(crate) struct Run {
    pub(super) prepared: Prepared,
}

impl Run {
    pub(crate) fn ctx(&self) -> &Context {
        &self.prepared.ctx
    }

    pub(crate) async fn clean_up(self) {
        clean_up(&self.prepared.ctx).await;
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
