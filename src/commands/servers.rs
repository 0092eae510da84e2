//! `orch servers list|check|call`: the configured MCP servers, whether
//! they serve the calls of their roles, and one tool call by hand.

use std::sync::Arc;

use crate::exit::ExitCode;
use crate::printer::Printer;
use crate::settings::Settings;
use crate::{budget, cli, mcp, state};

/// `orch servers list|check|call`.
pub(crate) async fn run(
    args: &cli::GlobalArgs,
    action: cli::ServersAction,
    printer: Arc<Printer>,
) -> ExitCode {
    let mut settings = match Settings::resolve(args, &|name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(error) => {
            printer.error(&anyhow::Error::new(error), None);
            return ExitCode::Usage;
        }
    };
    // `list` starts nothing, and `trust` is how a repository's config
    // becomes trusted; the others start servers.
    if matches!(
        action,
        cli::ServersAction::Check { .. } | cli::ServersAction::Call { .. }
    ) && let Err(error) = settings.check_repo_config(&printer, false)
    {
        return super::untrusted(&printer, &settings, error);
    }
    let servers = match settings.servers(&settings.repo) {
        Ok(servers) => servers,
        Err(error) => {
            printer.error(
                &anyhow::anyhow!("cannot find orch's own executable: {error}"),
                None,
            );
            return ExitCode::Usage;
        }
    };
    for warning in &servers.warnings {
        printer.warn(warning);
    }
    match action {
        cli::ServersAction::Trust => trust(&settings, &printer),
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
            ExitCode::Done
        }
        cli::ServersAction::Check { names } => {
            let unknown: Vec<&String> =
                names.iter().filter(|n| servers.spec(n).is_none()).collect();
            if !unknown.is_empty() {
                printer.error(
                    &anyhow::anyhow!("no server named {:?}", unknown),
                    Some("`orch servers list` shows the servers"),
                );
                return ExitCode::Usage;
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
            if all_ok {
                ExitCode::Done
            } else {
                ExitCode::Stopped
            }
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
                return ExitCode::Usage;
            }
            let arguments = if arguments == "-" {
                let mut text = String::new();
                if let Err(error) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                {
                    printer.error(
                        &anyhow::anyhow!("cannot read the arguments from standard input: {error}"),
                        None,
                    );
                    return ExitCode::Usage;
                }
                text
            } else {
                arguments
            };
            let arguments: serde_json::Value = match serde_json::from_str(&arguments) {
                Ok(value @ serde_json::Value::Object(_)) => value,
                _ => {
                    printer.error(
                        &anyhow::anyhow!("the arguments must be a JSON object, e.g. '{{\"path\": \"README.md\"}}'"),
                        None,
                    );
                    return ExitCode::Usage;
                }
            };
            let project = state::Project::new(&settings.state_home, &settings.repo);
            let run_dir = project.run_dir(&state::new_run_id());
            if let Err(error) = std::fs::create_dir_all(&run_dir) {
                printer.error(
                    &anyhow::anyhow!("cannot create `{}`: {error}", run_dir.display()),
                    None,
                );
                return ExitCode::Usage;
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
                    ExitCode::Done
                }
                Err(error) => {
                    printer.error(
                        &anyhow::Error::new(error),
                        Some(&format!(
                            "server logs and calls.jsonl are in {}",
                            run_dir.display()
                        )),
                    );
                    ExitCode::Stopped
                }
            }
        }
    }
}

/// `orch servers trust`: remembers that the repository's `.mcp.json`, as it
/// is now, may start its servers.
fn trust(settings: &Settings, printer: &Printer) -> ExitCode {
    let Some(config) = crate::trust::repo_config(&settings.mcp, &settings.repo_root) else {
        printer.note(&format!(
            "{} names no server that claims a role: nothing to trust",
            settings.repo_root.join(".mcp.json").display()
        ));
        return ExitCode::Done;
    };
    match crate::trust::remember(&settings.state_home, &config) {
        Ok(()) => {
            printer.note(&format!(
                "trusted {} (SHA-1 {}); orch may now start:\n  {}",
                config.file.display(),
                &config.sha1[..12],
                config.servers.join("\n  ")
            ));
            ExitCode::Done
        }
        Err(error) => {
            printer.error(&anyhow::Error::new(error), None);
            ExitCode::Stopped
        }
    }
}
