//! The seven phases. Each is one module with one entry function `run`;
//! only `crate::pipeline` knows their order.

pub(crate) mod execute;
pub(crate) mod logic;
pub(crate) mod map;
pub(crate) mod monte_carlo;
pub(crate) mod optimize;
pub(crate) mod plan;
pub(crate) mod review;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::budget::{Deadline, Memory, Tokens};
use crate::forge::Worktree;
use crate::mcp::{self, Pool};
use crate::printer::Printer;
pub(crate) use crate::record::StopReason;
use crate::settings::Settings;
use crate::state::Project;

/// What every phase can see.
pub(crate) struct Context {
    pub settings: Settings,
    pub pool: Pool,
    pub tokens: Arc<Tokens>,
    pub memory: Arc<Memory>,
    pub deadline: Deadline,
    pub printer: Arc<Printer>,
    pub project: Project,
    pub run_id: String,
    pub run_dir: PathBuf,
    /// HEAD commit the worktree was made from.
    pub head: String,
    /// The project directory relative to the git work tree root.
    pub subdir: String,
    /// orch's private worktree (servers are rooted at its project directory).
    pub worktree: Mutex<Worktree>,
    /// Tracked files with uncommitted changes in the user's checkout.
    pub dirty_files: Vec<String>,
    /// Files of the user's checkout that git does not track: not part of
    /// the base, so not part of the change.
    pub untracked_files: Vec<String>,
    /// The repository's runs in progress (this one among them).
    pub owners: crate::state::Owners,
    /// What the run history says, loaded when a phase first asks.
    pub evidence: tokio::sync::OnceCell<Arc<monte_carlo::Evidence>>,
}

impl Context {
    /// The project's directory in the run's private worktree.
    pub(crate) fn worktree_root(&self) -> Result<std::path::PathBuf, Failure> {
        self.worktree
            .lock()
            .map(|w| w.project_path(&self.subdir, ""))
            .map_err(|_| Failure::internal("the worktree lock is poisoned"))
    }

    /// The run history's evidence (loaded once, off the async threads).
    pub(crate) async fn evidence(&self) -> Arc<monte_carlo::Evidence> {
        self.evidence
            .get_or_init(|| async {
                let (home, dir) = (self.settings.state_home.clone(), self.project.dir.clone());
                let loaded =
                    tokio::task::spawn_blocking(move || monte_carlo::Evidence::load(&home, &dir))
                        .await
                        .unwrap_or_default();
                Arc::new(loaded)
            })
            .await
            .clone()
    }
}

/// How a phase fails.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The user's input cannot be carried out (exit 2).
    Input {
        message: String,
        hint: Option<String>,
    },
    /// The run stops (exit 1).
    Stop { reason: StopReason, message: String },
    /// A server failed; retried when retryable.
    Mcp(mcp::Error),
}

impl From<mcp::Error> for Failure {
    fn from(error: mcp::Error) -> Self {
        match error {
            mcp::Error::Budget(exceeded) => Failure::Stop {
                reason: StopReason::BudgetTokens,
                message: exceeded.to_string(),
            },
            approval @ mcp::Error::Approval { .. } => Failure::Stop {
                reason: StopReason::Approval,
                message: format!("{approval}; nothing was written"),
            },
            // A source orch cannot decode is the project's input, not a
            // server failure.
            mcp::Error::Tool { message, .. } if message.contains("(PEP 263)") => Failure::Input {
                message,
                hint: Some(
                    "declare the file's encoding on its first line (`# -*- coding: latin-1 -*-`) or convert it to UTF-8".into(),
                ),
            },
            other => Failure::Mcp(other),
        }
    }
}

impl Failure {
    pub(crate) fn input(message: impl Into<String>, hint: Option<String>) -> Self {
        Failure::Input {
            message: message.into(),
            hint,
        }
    }

    pub(crate) fn stop(reason: StopReason, message: impl Into<String>) -> Self {
        Failure::Stop {
            reason,
            message: message.into(),
        }
    }

    pub(crate) fn internal(error: impl std::fmt::Display) -> Self {
        Failure::stop(StopReason::Error, error.to_string())
    }

    /// Why the run stops, as the record says it.
    pub(crate) fn stop_reason(&self) -> StopReason {
        match self {
            Failure::Input { .. } => StopReason::Input,
            Failure::Stop { reason, .. } => *reason,
            Failure::Mcp(_) => StopReason::Error,
        }
    }

    pub(crate) fn message(&self) -> String {
        match self {
            Failure::Input { message, .. } | Failure::Stop { message, .. } => message.clone(),
            Failure::Mcp(error) => error.to_string(),
        }
    }
}

/// Estimated tokens per item a phase asks for, used to size pages.
pub(crate) fn page_size(
    remaining_tokens: usize,
    tokens_per_item: usize,
    min: usize,
    max: usize,
) -> usize {
    (remaining_tokens / 2 / tokens_per_item.max(1)).clamp(min, max)
}
