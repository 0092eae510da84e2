//! orch: one-shot, orchestrated code refactors over MCP servers.
//!
//! # Layout
//! A run flows one way, top to bottom; each module imports only from the
//! ones below it.
//! - `commands` (one module per command) is what [`run`] dispatches to;
//!   `cli` holds the clap types, which `settings` resolves into a
//!   `Settings` before anything else sees them. `exit` names the exit codes.
//! - `pipeline` is the only place that knows the phase order: it prepares
//!   a run (lock, worktree, servers), runs the seven `phase`s (MAP, LOGIC,
//!   MONTE CARLO, PLAN, OPTIMIZE, EXECUTE, REVIEW) under their deadline
//!   shares, then `publish`es REVIEW's commit (push, pull request), and
//!   writes the run's `record`.
//! - `intent` parses the command language into an `Intent`; `plan` is the
//!   hashed JSON DAG a run carries out and `orch replay` replays; `edit` is
//!   the one shape of an edit (made by the analyses, sent by the code
//!   server, carried by plans) and the one function that applies edits.
//! - `protocol` is the contract between the phases and the servers: every
//!   call, its arguments, result, tool and role. `mcp` speaks it to
//!   servers (spawned as stdio child processes, config files, role
//!   mappings, approval); `servers` are orch's own (search, code, fs, test),
//!   and `lang` (`lang::python`, `lang::structural`) the analysis behind
//!   the code server.
//! - `forge` (git: repository, worktrees, commits, pushes), `github` (the
//!   REST API) and `event` (GitHub Actions events) are the outside world;
//!   `state` is the per-project state directory and lock; `cache` the
//!   analysis cache (per-file facts in SQLite, shared by every project);
//!   `calls` the call map (which functions each test file ran, recorded
//!   by traced baselines).
//! - `budget` (tokens, memory, deadline) with `tokenizer` (o200k_base
//!   token counts); `printer`, the one owner of user-facing output;
//!   `parallel` (work over all cores), `secret` (credentials that are
//!   never printed) and `sys` (the operating-system calls, each behind a
//!   safe function).

// The future of a GitHub-event run nests every phase's and every MCP
// call's futures: its layout is deeper than the default limit of 128.
#![recursion_limit = "256"]

pub(crate) mod agent;
pub(crate) mod apply;
pub mod budget;
pub(crate) mod cache;
pub(crate) mod calls;
pub mod cli;
mod commands;
pub(crate) mod edit;
pub(crate) mod event;
pub mod exit;
pub(crate) mod forge;
#[cfg(test)]
mod fuzz;
pub(crate) mod github;
pub(crate) mod history;
pub(crate) mod intent;
pub(crate) mod junit;
pub(crate) mod lang;
pub mod mcp;
pub(crate) mod parallel;
pub(crate) mod phase;
pub(crate) mod pipeline;
pub mod plan;
pub(crate) mod printer;
pub mod protocol;
pub(crate) mod publish;
pub(crate) mod record;
pub(crate) mod secret;
pub(crate) mod servers;
pub(crate) mod settings;
pub(crate) mod state;
pub(crate) mod sys;
pub(crate) mod tokenizer;
pub(crate) mod trust;

pub use commands::load_plan;
pub use exit::ExitCode;

/// Process-wide set-up, before any other thread exists (it sets
/// environment variables): see `forge::init`. Not needed by orch's own
/// servers, which do not use git.
pub fn init() {
    forge::init();
}

/// Runs a parsed command line and returns how the process should exit.
pub async fn run(cli: cli::Cli) -> ExitCode {
    commands::run(cli).await
}
