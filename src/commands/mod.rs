//! One module per command; [`run`] dispatches a parsed command line to
//! them. `schema` and `serve-mcp` are a few lines each and stay here.

mod gc;
mod github;
pub(crate) mod run;
mod servers;
mod stats;

use std::sync::Arc;

pub use run::load_plan;

use crate::cli::{Cli, Command};
use crate::exit::ExitCode;
use crate::pipeline::Mode;
use crate::printer::Printer;

/// Reports that the repository's MCP config was not trusted (exit 2).
fn untrusted(
    printer: &Printer,
    settings: &crate::settings::Settings,
    error: crate::trust::Error,
) -> ExitCode {
    let hint = error.hint(&settings.repo);
    printer.error(&anyhow::Error::new(error), hint.as_deref());
    ExitCode::Usage
}

/// Runs a parsed command line.
pub(crate) async fn run(cli: Cli) -> ExitCode {
    let printer = Arc::new(Printer::new(cli.global.json, cli.global.quiet));
    match cli.command {
        Command::Schema => {
            printer.json(&crate::plan::json_schema());
            ExitCode::Done
        }
        Command::ServeMcp {
            name,
            root,
            await_root,
            python,
        } => {
            let options = crate::servers::ServeOptions {
                root,
                await_root,
                python,
            };
            match crate::servers::serve(&name, options).await {
                Ok(()) => ExitCode::Done,
                Err(error) => {
                    printer.error(&error, None);
                    ExitCode::Usage
                }
            }
        }
        Command::Gc { keep_runs } => gc::run(&printer, keep_runs),
        Command::Mcp => crate::agent::serve(&cli.global).await,
        Command::Cache { action } => cache(&printer, action, cli.global.json),
        Command::History {
            all_projects,
            limit,
        } => stats::history(&printer, &cli.global, stats::Scope { all_projects }, limit),
        Command::Stats { all_projects, sql } => {
            stats::stats(&printer, &cli.global, stats::Scope { all_projects }, sql)
        }
        Command::Servers { action } => servers::run(&cli.global, action, printer).await,
        Command::Run { .. } | Command::Plan { .. } | Command::Replay { .. }
            if cli.global.apply
                && (cli.global.dry_run
                    || matches!(
                        cli.command,
                        Command::Plan { .. }
                            | Command::Run {
                                github_event: Some(_),
                                ..
                            }
                    )) =>
        {
            printer.error(
                &anyhow::anyhow!(
                    "--apply writes a verified change into your checkout: it goes with `orch run` and `orch replay`, not with `orch plan`, --dry-run or --github-event"
                ),
                None,
            );
            ExitCode::Usage
        }
        Command::Run {
            github_event: Some(path),
            ..
        } => github::run(&cli.global, &path, printer).await,
        Command::Run { command, .. } => {
            let command = command.join(" ");
            run::run(&cli.global, Mode::Run { command }, printer).await
        }
        Command::Plan { command } => {
            let command = command.join(" ");
            run::run(&cli.global, Mode::Plan { command }, printer).await
        }
        Command::Replay { plan } => match load_plan(&plan) {
            Ok(plan) => {
                if !run::confirm_replay(&printer, &plan, cli.global.yes) {
                    printer.error(&anyhow::anyhow!("refused: the plan was not run"), None);
                    return ExitCode::Stopped;
                }
                let mode = Mode::Replay {
                    plan: Box::new(plan),
                };
                run::run(&cli.global, mode, printer).await
            }
            Err(error) => {
                printer.error(
                    &error,
                    Some("plan files come from `orch plan --plan-out FILE` or a run's directory"),
                );
                ExitCode::Usage
            }
        },
    }
}

/// `orch cache stats|clear`.
fn cache(printer: &Printer, action: crate::cli::CacheAction, json: bool) -> ExitCode {
    let Some(cache) = crate::cache::Cache::open_default() else {
        printer.error(
            &anyhow::anyhow!("the analysis cache cannot be opened (see -v)"),
            Some("check that orch's state directory ($XDG_STATE_HOME/orch) is writable"),
        );
        return ExitCode::Usage;
    };
    let outcome = match action {
        crate::cli::CacheAction::Stats => cache.stats().map(|stats| {
            if json {
                printer.json(&serde_json::to_value(&stats).unwrap_or_default());
            }
            printer.note(&format!(
                "{}: {} entries, {:.1} of {} MiB",
                stats.path,
                stats.entries,
                stats.bytes as f64 / (1024.0 * 1024.0),
                stats.limit_bytes / (1024 * 1024)
            ));
            for (kind, entries, bytes) in &stats.kinds {
                printer.note(&format!(
                    "  {kind}: {entries} entries, {:.1} MiB",
                    *bytes as f64 / (1024.0 * 1024.0)
                ));
            }
        }),
        crate::cli::CacheAction::Clear => cache.clear().map(|removed| {
            printer.note(&format!("removed {removed} entries"));
        }),
    };
    match outcome {
        Ok(()) => ExitCode::Done,
        Err(error) => {
            printer.error(&anyhow::Error::new(error), None);
            ExitCode::Usage
        }
    }
}
