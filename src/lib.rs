//! orch: one-shot, orchestrated code refactors over MCP servers.
//!
//! # Layout
//! - `cli` (clap types) resolves into `settings::Settings`.
//! - `intent` parses the command; `plan` is the hashed JSON DAG.
//! - `pipeline` runs the seven `phase`s in order over `mcp::Pool`, which
//!   spawns the built-in `servers` (fs, search, code, test) as stdio child
//!   processes; `lang::python` is the analysis behind the `code` server.
//! - `budget` (tokens, memory, deadline), `forge` (git), `state` (per-project
//!   state and lock), `printer` (all user-facing output).

pub mod budget;
pub mod cli;
pub mod forge;
pub mod intent;
pub mod lang;
pub mod mcp;
pub mod phase;
pub mod pipeline;
pub mod plan;
pub mod printer;
pub mod servers;
pub mod settings;
pub mod state;

use std::sync::Arc;

use anyhow::Context as _;

use cli::{Cli, Command};
use pipeline::{Finished, Mode};
use printer::Printer;
use settings::Settings;

/// Exit codes.
pub mod exit {
    pub const DONE: i32 = 0;
    pub const STOPPED: i32 = 1;
    pub const USAGE: i32 = 2;
}

/// Runs a parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let printer = Arc::new(Printer::new(cli.global.json, cli.global.quiet));
    match cli.command {
        Command::Schema => {
            printer.json(&plan::json_schema());
            exit::DONE
        }
        Command::ServeMcp { name, root, python } => {
            match servers::serve(&name, servers::ServeOptions { root, python }).await {
                Ok(()) => exit::DONE,
                Err(error) => {
                    printer.error(&error, None);
                    exit::USAGE
                }
            }
        }
        Command::Servers { action } => servers_command(&cli.global, action, printer).await,
        Command::Run { command } => {
            run_mode(
                &cli.global,
                Mode::Run {
                    command: command.join(" "),
                },
                printer,
            )
            .await
        }
        Command::Plan { command } => {
            run_mode(
                &cli.global,
                Mode::Plan {
                    command: command.join(" "),
                },
                printer,
            )
            .await
        }
        Command::Replay { plan } => match load_plan(&plan) {
            Ok(plan) => {
                run_mode(
                    &cli.global,
                    Mode::Replay {
                        plan: Box::new(plan),
                    },
                    printer,
                )
                .await
            }
            Err(error) => {
                printer.error(
                    &error,
                    Some("plan files come from `orch plan --plan-out FILE` or a run's directory"),
                );
                exit::USAGE
            }
        },
    }
}

/// `orch servers list|check|call`.
async fn servers_command(
    args: &cli::GlobalArgs,
    action: cli::ServersAction,
    printer: Arc<Printer>,
) -> i32 {
    let settings = match Settings::resolve(args, &|name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(error) => {
            printer.error(&anyhow::Error::new(error), None);
            return exit::USAGE;
        }
    };
    let servers = match mcp::Servers::for_settings(&settings, &settings.repo) {
        Ok(servers) => servers,
        Err(error) => {
            printer.error(
                &anyhow::anyhow!("cannot find orch's own executable: {error}"),
                None,
            );
            return exit::USAGE;
        }
    };
    for warning in &servers.warnings {
        printer.warn(warning);
    }
    match action {
        cli::ServersAction::List => {
            let listed = mcp::inspect::list(&servers);
            if settings.json {
                printer.json(&serde_json::json!({
                    "files": settings.mcp.files,
                    "servers": listed,
                }));
            } else {
                let mut text = String::new();
                if settings.mcp.files.is_empty() {
                    text.push_str("no MCP config files found (~/.config/orch/mcp.json, .mcp.json, --mcp-config); built-in servers only\n");
                }
                for server in &listed {
                    let roles = if server.enabled {
                        if server.roles.is_empty() {
                            "no role".to_owned()
                        } else {
                            server.roles.join(", ")
                        }
                    } else {
                        "disabled".to_owned()
                    };
                    text.push_str(&format!(
                        "{:<16} {:<14} {}\n    {}\n",
                        server.name, roles, server.source, server.command
                    ));
                    if !server.overridden.is_empty() {
                        text.push_str(&format!(
                            "    claims {} (served by another server)\n",
                            server.overridden.join(", ")
                        ));
                    }
                    if !server.env.is_empty() {
                        text.push_str(&format!("    env: {}\n", server.env.join(", ")));
                    }
                }
                printer.data(&text);
            }
            exit::DONE
        }
        cli::ServersAction::Check { names } => {
            let unknown: Vec<&String> =
                names.iter().filter(|n| servers.spec(n).is_none()).collect();
            if !unknown.is_empty() {
                printer.error(
                    &anyhow::anyhow!("no server named {:?}", unknown),
                    Some("`orch servers list` shows the servers"),
                );
                return exit::USAGE;
            }
            printer.progress("starting servers");
            let checked = mcp::inspect::check(&servers, &names).await;
            let all_ok = checked.iter().all(|c| c.ok);
            if settings.json {
                printer.json(&serde_json::json!({ "ok": all_ok, "servers": checked }));
            } else {
                let mut text = String::new();
                for c in &checked {
                    match (&c.error, c.ready_ms) {
                        (Some(error), _) => {
                            text.push_str(&format!("✗ {:<16} failed: {error}\n", c.name))
                        }
                        (None, Some(ms)) => {
                            text.push_str(&format!(
                                "{} {:<16} ready in {ms:.0} ms, {} tools{}\n",
                                if c.ok { "✓" } else { "✗" },
                                c.name,
                                c.tools.len(),
                                c.server_info
                                    .as_deref()
                                    .map(|i| format!(" ({i})"))
                                    .unwrap_or_default()
                            ));
                            text.push_str(&format!(
                                "    serves: {}   can serve: {}\n",
                                if c.roles.is_empty() {
                                    "-".to_owned()
                                } else {
                                    c.roles.join(", ")
                                },
                                if c.can_serve.is_empty() {
                                    "-".to_owned()
                                } else {
                                    c.can_serve.join(", ")
                                }
                            ));
                            if !c.missing.is_empty() {
                                text.push_str(&format!(
                                    "    missing tools: {}\n",
                                    c.missing.join(", ")
                                ));
                            }
                        }
                        (None, None) => {}
                    }
                }
                printer.data(&text);
            }
            if all_ok { exit::DONE } else { exit::STOPPED }
        }
        cli::ServersAction::Call {
            server,
            tool,
            arguments,
        } => {
            if servers.spec(&server).is_none() {
                printer.error(
                    &anyhow::anyhow!("no server named `{server}`"),
                    Some("`orch servers list` shows the servers"),
                );
                return exit::USAGE;
            }
            let arguments: serde_json::Value = match serde_json::from_str(&arguments) {
                Ok(value @ serde_json::Value::Object(_)) => value,
                _ => {
                    printer.error(
                        &anyhow::anyhow!("the arguments must be a JSON object, e.g. '{{\"path\": \"README.md\"}}'"),
                        None,
                    );
                    return exit::USAGE;
                }
            };
            let project = state::Project::new(&settings.state_home, &settings.repo);
            let run_dir = project.run_dir(&state::new_run_id());
            if let Err(error) = std::fs::create_dir_all(&run_dir) {
                printer.error(
                    &anyhow::anyhow!("cannot create `{}`: {error}", run_dir.display()),
                    None,
                );
                return exit::USAGE;
            }
            let tokens = Arc::new(budget::Tokens::new(usize::MAX / 4, usize::MAX / 4));
            let approver = Arc::new(mcp::Approver::new(
                mcp::approval::Policy::detect(settings.yes),
                Some(printer.clone()),
            ));
            let pool = mcp::Pool::new(
                servers,
                settings.repo.clone(),
                tokens,
                approver,
                Some(&run_dir),
            );
            let result = pool.call_direct(&server, &tool, arguments).await;
            pool.shutdown().await;
            match result {
                Ok(reply) => {
                    match &reply.value {
                        serde_json::Value::String(text) if !settings.json => printer.data(text),
                        value => printer.json(value),
                    }
                    exit::DONE
                }
                Err(error) => {
                    printer.error(
                        &anyhow::Error::new(error),
                        Some(&format!(
                            "server logs and calls.jsonl are in {}",
                            run_dir.display()
                        )),
                    );
                    exit::STOPPED
                }
            }
        }
    }
}

/// Reads and validates a plan file.
pub fn load_plan(path: &std::path::Path) -> anyhow::Result<plan::Plan> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read plan file `{}`", path.display()))?;
    let plan: plan::Plan = serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not a valid orch plan", path.display()))?;
    plan.validate()
        .with_context(|| format!("`{}` is not a valid orch plan", path.display()))?;
    Ok(plan)
}

async fn run_mode(args: &cli::GlobalArgs, mode: Mode, printer: Arc<Printer>) -> i32 {
    let settings = match Settings::resolve(args, &|name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(error) => {
            printer.error(&anyhow::Error::new(error), None);
            return exit::USAGE;
        }
    };
    let json = settings.json;
    let is_plan = matches!(mode, Mode::Plan { .. });
    match pipeline::run(settings, mode, printer.clone()).await {
        Ok(finished) => {
            report(&printer, &finished, json, is_plan);
            finished.exit_code
        }
        Err(error) => {
            printer.error(&error, None);
            exit::USAGE
        }
    }
}

fn report(printer: &Printer, finished: &Finished, json: bool, is_plan: bool) {
    let record = &finished.record;
    if json {
        let mut value = serde_json::json!({
            "success": record.success,
            "duration_ms": record.duration_ms,
            "total_tokens": record.total_tokens,
            "peak_memory_mb": record.peak_memory_mb,
            "plan_id": record.plan_id,
            "branch": record.branch,
            "stop_reason": record.stop_reason,
            "error": record.error,
            "phases": record.phases,
            "run_dir": record.run_dir,
        });
        if is_plan {
            value["plan"] = serde_json::to_value(&finished.plan).unwrap_or_default();
        }
        if record.dry_run {
            value["diff"] = finished.diff.clone().into();
        }
        printer.json(&value);
    } else {
        if is_plan {
            if let Some(plan) = &finished.plan {
                printer.data(&serde_json::to_string_pretty(plan).unwrap_or_default());
            }
        } else if record.dry_run
            && let Some(diff) = finished.diff.as_deref().filter(|d| !d.is_empty())
        {
            printer.data(diff);
        }
        if let Some(plan) = &finished.plan {
            summarise_plan(printer, plan);
        }
        if record.success {
            match (&record.branch, &record.commit) {
                (Some(branch), Some(commit)) => printer.note(&format!(
                    "done: committed {} on branch `{branch}`; your checkout was not touched",
                    &commit[..commit.len().min(12)]
                )),
                _ if record.dry_run => printer.note("dry run: nothing was committed"),
                _ => printer.note(&format!("plan saved in {}/plan.json", record.run_dir)),
            }
        }
    }
    if let Some(error) = &record.error {
        let headline = match record.stop_reason.as_deref() {
            Some("input") | None => error.clone(),
            Some(reason) => format!("stopped ({reason}): {error}"),
        };
        printer.error(&anyhow::anyhow!(headline), finished.hint.as_deref());
    }
    printer.note(&format!(
        "{} ms, {} tokens, peak memory {} MiB; record: {}/record.json",
        record.duration_ms, record.total_tokens, record.peak_memory_mb, record.run_dir
    ));
}

fn summarise_plan(printer: &Printer, plan: &plan::Plan) {
    let edits: Vec<_> = plan.edits().collect();
    let sites: usize = edits.iter().map(|(_, _, e)| e.len()).sum();
    let mut text = format!(
        "plan {}: {} — {sites} edits in {} files",
        plan.short_id(),
        plan.intent.describe(),
        edits.len()
    );
    if let Some(risk) = &plan.risk {
        text.push_str(&format!(
            "; risk {} (P(tests pass) {:.2}, P(on time) {:.2})",
            risk.level, risk.p_tests_pass, risk.p_on_time
        ));
    }
    printer.note(&text);
    let left: Vec<_> = plan
        .report
        .mentions
        .iter()
        .chain(&plan.report.uncertain)
        .collect();
    if !left.is_empty() {
        printer.note("left alone:");
        for site in left.iter().take(10) {
            printer.note(&format!(
                "  {}:{}:{}: {}",
                site.file, site.line, site.column, site.note
            ));
        }
        if left.len() > 10 || plan.report.truncated {
            printer.note("  … (more in plan.json)");
        }
    }
}
