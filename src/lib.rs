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
//!   hashed JSON DAG a run carries out and `orch replay` replays.
//! - `protocol` is the contract between the phases and the servers: every
//!   call, its arguments, result, tool and role. `mcp` speaks it to
//!   servers (spawned as stdio child processes, config files, role
//!   mappings, approval); `servers` are orch's own (search, code, fs, test),
//!   and `lang` (`lang::python`, `lang::structural`) the analysis behind
//!   the code server.
//! - `forge` (git: repository, worktrees, commits, pushes), `github` (the
//!   REST API) and `event` (GitHub Actions events) are the outside world;
//!   `state` is the per-project state directory and lock.
//! - `budget` (tokens, memory, deadline) with `tokenizer` (o200k_base
//!   token counts); `printer`, the one owner of user-facing output;
//!   `parallel` (work over all cores) and `secret` (credentials that are
//!   never printed).

pub mod budget;
pub mod cli;
mod commands;
pub mod event;
pub mod exit;
pub mod forge;
pub mod github;
pub mod intent;
pub mod lang;
pub mod mcp;
pub mod parallel;
pub mod phase;
pub mod pipeline;
pub mod plan;
pub mod printer;
pub mod protocol;
pub mod publish;
pub mod record;
pub mod secret;
pub mod servers;
pub mod settings;
pub mod state;
pub mod tokenizer;

pub use commands::load_plan;
pub use exit::ExitCode;

/// Runs a parsed command line and returns how the process should exit.
pub async fn run(cli: cli::Cli) -> ExitCode {
    commands::run(cli).await
}
