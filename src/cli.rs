//! Command-line types (clap). Nothing past `settings` sees these.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// One-shot, orchestrated code refactors driven through MCP servers.
#[derive(Debug, Parser)]
#[command(name = "orch", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan and apply a refactor, test it, commit it on a branch, push it and open a pull request.
    Run {
        /// The refactor, e.g. "rename function make_str to make_text".
        #[arg(required_unless_present = "github_event", num_args = 1.., value_name = "COMMAND")]
        command: Vec<String>,
        /// Take the command from a GitHub `issue_comment` event (`/refactor ...`), as in Actions.
        #[arg(long, value_name = "EVENT.json", conflicts_with = "command")]
        github_event: Option<PathBuf>,
    },
    /// Print the plan for a refactor; changes nothing.
    Plan {
        #[arg(required = true, num_args = 1.., value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// Execute a saved plan (EXECUTE and REVIEW).
    Replay {
        /// A plan file written by `orch plan`, `--plan-out` or a run.
        plan: PathBuf,
    },
    /// Serve orch as an MCP server on stdio, for coding agents (tools: refactors, plan, apply, explain).
    Mcp,
    /// Print the plan's JSON Schema.
    Schema,
    /// Clean up after killed runs in every project, and prune orch's state:
    /// old runs, baselines of commits that are gone, plans no run keeps, and
    /// projects whose directory is gone.
    Gc {
        /// Runs kept per project (the newest).
        #[arg(long, default_value_t = 20, value_name = "N")]
        keep_runs: usize,
    },
    /// The analysis cache (per-file facts, shared by every project): its size, or empty it.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
    },
    /// The latest runs of this project (or of every project), newest first.
    History {
        /// Every project's runs, not only this one's.
        #[arg(long)]
        all_projects: bool,
        /// Runs shown.
        #[arg(long, default_value_t = 20, value_name = "N")]
        limit: usize,
    },
    /// The run history in figures: success by refactor kind, phase times and
    /// tokens, test time saved by selection, slowest and flakiest tests, and
    /// how well P(tests pass) was calibrated.
    Stats {
        /// Every project's runs, not only this one's.
        #[arg(long)]
        all_projects: bool,
        /// Run this query (DuckDB SQL) over the tables runs, phases and tests instead.
        #[arg(long, value_name = "QUERY")]
        sql: Option<String>,
    },
    /// The MCP servers orch would use: list them, check them, call a tool.
    Servers {
        #[command(subcommand)]
        action: ServersAction,
    },
    /// Run one of orch's built-in MCP servers on stdio.
    #[command(hide = true)]
    ServeMcp {
        /// fs, search, code or test; several joined with `+` (`code+fs+search`)
        /// are served by one process as one server.
        name: String,
        #[arg(long)]
        root: PathBuf,
        /// Start before the root exists (orch checks its worktree out
        /// meanwhile); paths are refused until it does.
        #[arg(long, hide = true)]
        await_root: bool,
        #[arg(long)]
        python: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ServersAction {
    /// The servers, the roles they serve and where each was configured.
    List,
    /// Start each server: handshake, tools, start-up latency, roles it can serve.
    Check {
        /// Only these servers [default: all].
        names: Vec<String>,
    },
    /// Trust the repository's .mcp.json as it is now: orch may start its servers (asked again when it changes).
    Trust,
    /// Call one tool of one server, as a run would (limits, approval, audit).
    Call {
        /// The server's name (`orch servers list`).
        server: String,
        /// The server's tool name.
        tool: String,
        /// The arguments as a JSON object (`-`: read them from standard
        /// input, for arguments too long for a command line).
        #[arg(default_value = "{}")]
        arguments: String,
    },
}

#[derive(Debug, Args, Default)]
pub struct GlobalArgs {
    /// The project directory [default: the git work tree around the current directory].
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Apply the edits in orch's private worktree and print the diff; run no tests, commit nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// `run`, `replay`: once REVIEW passes, write the verified change into your checkout
    /// (every planned file must still be as the plan found it) instead of committing it
    /// to orch's branch; nothing is committed or pushed.
    #[arg(long, global = true)]
    pub apply: bool,
    /// Approve in advance whatever would otherwise ask.
    #[arg(long, global = true)]
    pub yes: bool,
    /// Print the result as JSON on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing but errors (and the requested data).
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// End-to-end deadline, e.g. 90s, 2m [env: ORCH_DEADLINE] [default: 90s].
    #[arg(long, global = true, value_name = "DURATION")]
    pub deadline: Option<String>,
    /// Token budget of each phase [env: ORCH_PHASE_TOKENS] [default: 4096].
    #[arg(long, global = true, value_name = "N")]
    pub phase_tokens: Option<usize>,
    /// Token budget of the whole run [env: ORCH_TOTAL_TOKENS] [default: 28672].
    #[arg(long, global = true, value_name = "N")]
    pub total_tokens: Option<usize>,
    /// An MCP server config file, read after ~/.config/orch/mcp.json and the repository's .mcp.json.
    #[arg(long, global = true, value_name = "FILE")]
    pub mcp_config: Option<std::path::PathBuf>,
    /// Start the servers the repository's own .mcp.json names, for this run, without asking.
    #[arg(long, global = true)]
    pub trust_repo_config: bool,
    /// Also write the plan to this file.
    #[arg(long, global = true, value_name = "FILE")]
    pub plan_out: Option<PathBuf>,
    /// Renames: also edit the sites reported as uncertain (receivers orch cannot resolve).
    #[arg(long, global = true)]
    pub include_uncertain: bool,
    /// Renames: also edit mentions of the name in strings and comments.
    #[arg(long, global = true)]
    pub include_strings: bool,
    /// Which tests run: the tests the change can affect (test files that import a
    /// changed module, directly or through others, or mention an old name), all, or none.
    #[arg(long, global = true, value_enum, default_value_t = TestsMode::Affected)]
    pub tests: TestsMode,
    /// Moves: leave `from NEW import NAME` in the old module so old imports keep working.
    #[arg(long, global = true)]
    pub keep_alias: bool,
    /// Start the branch from this revision [default: HEAD].
    #[arg(long, global = true, value_name = "REF")]
    pub base: Option<String>,
    /// Commit author, "Name <email>" [default: the repository's git identity].
    #[arg(long, global = true, value_name = "NAME <EMAIL>")]
    pub author: Option<String>,
    /// Push the branch to this remote [default: origin, if it exists].
    #[arg(long, global = true, value_name = "NAME")]
    pub remote: Option<String>,
    /// Push the branch but open no pull request.
    #[arg(long, global = true)]
    pub no_pr: bool,
    /// Commit to orch's branch but push nothing (and open no pull request).
    #[arg(long, global = true)]
    pub no_push: bool,
    /// The GitHub repository for the pull request [env: GITHUB_REPOSITORY] [default: from the remote's URL].
    #[arg(long, global = true, value_name = "OWNER/REPO")]
    pub github_repo: Option<String>,
    /// Python interpreter for the tests [env: ORCH_PYTHON] [default: the project's .venv, else python3].
    #[arg(long, global = true, value_name = "PATH")]
    pub python: Option<String>,
    /// More log output on stderr (-v, -vv).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `--tests`: which tests a run runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum TestsMode {
    /// The test files the change can affect (tiers a-c; see the README).
    #[default]
    Affected,
    /// The whole suite.
    All,
    /// No tests.
    None,
}

/// `orch cache ...`.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum CacheAction {
    /// Entries and bytes, by kind of fact, and the limit.
    Stats,
    /// Remove every entry.
    Clear,
}
