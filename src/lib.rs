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
pub mod event;
pub mod forge;
pub mod github;
pub mod intent;
pub mod lang;
pub mod mcp;
pub mod phase;
pub mod pipeline;
pub mod plan;
pub mod printer;
pub mod publish;
pub mod servers;
pub mod settings;
pub mod state;
pub mod tokenizer;

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
        Command::ServeMcp {
            name,
            root,
            await_root,
            python,
        } => {
            let options = servers::ServeOptions {
                root,
                await_root,
                python,
            };
            match servers::serve(&name, options).await {
                Ok(()) => exit::DONE,
                Err(error) => {
                    printer.error(&error, None);
                    exit::USAGE
                }
            }
        }
        Command::Servers { action } => servers_command(&cli.global, action, printer).await,
        Command::Run {
            github_event: Some(path),
            ..
        } => github_run(&cli.global, &path, printer).await,
        Command::Run { command, .. } => {
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

/// `orch run --github-event FILE`: a `/refactor` comment in GitHub Actions.
async fn github_run(args: &cli::GlobalArgs, path: &std::path::Path, printer: Arc<Printer>) -> i32 {
    let env = |name: &str| std::env::var(name).ok();
    let decision = match event::read(
        path,
        env("GITHUB_EVENT_NAME").as_deref(),
        env("ORCH_COMMENT_BODY").as_deref(),
    ) {
        Ok(decision) => decision,
        Err(error) => {
            printer.error(
                &anyhow::Error::new(error),
                Some("Actions passes the event file as $GITHUB_EVENT_PATH"),
            );
            return exit::USAGE;
        }
    };
    let mut settings = match Settings::resolve(args, &env) {
        Ok(settings) => settings,
        Err(error) => {
            printer.error(&anyhow::Error::new(error), None);
            return exit::USAGE;
        }
    };
    let refuse = |printer: &Printer, why: &str| {
        printer.error(&anyhow::anyhow!("refused: {why}"), None);
        if settings.json {
            printer.json(&serde_json::json!({ "success": false, "refused": why }));
        }
        exit::STOPPED
    };
    let client_for = |slug: &github::Slug| {
        github::Client::new(
            &settings.publish.api_url,
            settings.publish.token.as_ref(),
            slug.clone(),
        )
    };
    let mut trigger = match decision {
        event::Decision::Ignore(why) => {
            printer.note(&format!("ignored: {why}"));
            if settings.json {
                printer.json(&serde_json::json!({ "success": true, "ignored": why }));
            }
            return exit::DONE;
        }
        event::Decision::Refuse(why) => return refuse(&printer, &why),
        event::Decision::Run(trigger) => trigger,
        event::Decision::AskPermission(trigger) => {
            let permission = match client_for(&trigger.slug) {
                Ok(client) => client.permission(&trigger.user).await,
                Err(error) => Err(error),
            };
            match permission {
                Ok(p) if event::WRITE_PERMISSIONS.contains(&p.as_str()) => trigger,
                Ok(p) => {
                    return refuse(
                        &printer,
                        &event::refusal(&trigger.user, &trigger.association, Some(&p)),
                    );
                }
                Err(error) => {
                    printer.error(
                        &anyhow::anyhow!("cannot check `{}`'s permission: {error}", trigger.user),
                        None,
                    );
                    return exit::STOPPED;
                }
            }
        }
    };
    let client = match client_for(&trigger.slug) {
        Ok(client) => client,
        Err(error) => {
            printer.error(&anyhow::Error::new(error), None);
            return exit::STOPPED;
        }
    };
    settings.publish.github_repo = Some(trigger.slug.to_string());
    if let Err(error) = client.react(trigger.comment_id, "eyes").await {
        printer.warn(&format!("cannot add the eyes reaction: {error}"));
    }
    let status = Status::new(&trigger);
    match client.comment(trigger.issue, &status.running()).await {
        Ok(id) => trigger.status_comment = Some(id),
        Err(error) => printer.warn(&format!("cannot post the status comment: {error}")),
    }
    let finish = async |trigger: &event::Trigger, body: String| {
        if let Some(id) = trigger.status_comment
            && let Err(error) = client.edit_comment(id, &body).await
        {
            printer.warn(&format!("cannot update the status comment: {error}"));
        }
    };
    if trigger.command.is_empty() {
        let message = format!(
            "`{}` needs a command, e.g. `{} rename function make_str to make_text`",
            event::PREFIX,
            event::PREFIX
        );
        finish(&trigger, status.failed(&message, None)).await;
        printer.error(&anyhow::anyhow!(message), None);
        return exit::USAGE;
    }
    if trigger.pull_request {
        match base_on_pull_request(&client, &trigger, &mut settings).await {
            Ok(()) => {}
            Err(message) => {
                finish(&trigger, status.failed(&message, None)).await;
                printer.error(&anyhow::anyhow!(message), None);
                return exit::STOPPED;
            }
        }
    } else {
        settings.publish.pr_base = Some(trigger.default_branch.clone());
    }
    let json = settings.json;
    let mode = Mode::Run {
        command: trigger.command.clone(),
    };
    let (code, body) = match pipeline::run(settings, mode, printer.clone()).await {
        Ok(finished) => {
            report(&printer, &finished, json, false);
            (finished.exit_code, status.finished(&finished))
        }
        Err(error) => {
            let message = format!("{error:#}");
            printer.error(&error, None);
            (exit::USAGE, status.failed(&message, None))
        }
    };
    finish(&trigger, body).await;
    code
}

/// On a pull request comment: fetch the PR's head branch, start from it and
/// target it. Branches in forks cannot be pushed to with the workflow's token.
async fn base_on_pull_request(
    client: &github::Client,
    trigger: &event::Trigger,
    settings: &mut Settings,
) -> Result<(), String> {
    let pr = client
        .pull(trigger.issue)
        .await
        .map_err(|e| e.to_string())?;
    let own = trigger.slug.to_string();
    if !pr
        .head_repo
        .as_deref()
        .is_some_and(|r| r.eq_ignore_ascii_case(&own))
    {
        return Err(format!(
            "pull request #{} comes from {}; orch can only refactor branches of {own}",
            pr.number,
            pr.head_repo.as_deref().unwrap_or("a deleted repository")
        ));
    }
    let remote = settings
        .publish
        .remote
        .clone()
        .unwrap_or_else(|| "origin".into());
    let repo = forge::Repo::open(&settings.repo).map_err(|e| e.to_string())?;
    let git_dir = repo.git_dir();
    let token = settings.publish.token.clone();
    let branch = pr.head_ref.clone();
    let commit = tokio::task::spawn_blocking(move || {
        forge::fetch_branch(&git_dir, &remote, &branch, token.as_ref())
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| {
        format!(
            "cannot fetch the pull request's branch `{}`: {e}",
            pr.head_ref
        )
    })?;
    settings.publish.base = Some(commit);
    settings.publish.pr_base = Some(pr.head_ref);
    Ok(())
}

/// The status comment orch posts and then updates.
struct Status {
    command: String,
    user: String,
    run_link: Option<String>,
}

impl Status {
    fn new(trigger: &event::Trigger) -> Self {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let run_link = match (
            env("GITHUB_SERVER_URL"),
            env("GITHUB_REPOSITORY"),
            env("GITHUB_RUN_ID"),
        ) {
            (Some(server), Some(repo), Some(run)) => {
                Some(format!("{server}/{repo}/actions/runs/{run}"))
            }
            _ => None,
        };
        Status {
            command: trigger.command.replace('`', "'"),
            user: trigger.user.clone(),
            run_link,
        }
    }

    fn footer(&self) -> String {
        match &self.run_link {
            Some(link) => format!("\n\n[workflow run]({link})"),
            None => String::new(),
        }
    }

    fn running(&self) -> String {
        format!(
            "⏳ **orch** is running `{}` for @{}.{}",
            self.command,
            self.user,
            self.footer()
        )
    }

    fn failed(&self, message: &str, hint: Option<&str>) -> String {
        let hint = hint
            .map(|h| format!("\n\n{}", publish::escape(h)))
            .unwrap_or_default();
        format!(
            "❌ **orch** could not run `{}`: {}{hint}{}",
            self.command,
            publish::escape(message),
            self.footer()
        )
    }

    fn finished(&self, finished: &Finished) -> String {
        let record = &finished.record;
        if !record.success {
            let reason = record.stop_reason.as_deref().unwrap_or("error");
            let message = format!(
                "stopped ({reason}): {}",
                record.error.as_deref().unwrap_or("unknown error")
            );
            return self.failed(&message, finished.hint.as_deref());
        }
        let outcome = match record.published.as_ref() {
            Some(published) => match (published.operation, &published.pull_request) {
                (Some(op), Some(pr)) => {
                    format!("pull request {} {}: {}", pr_ref(pr), op.as_str(), pr.url)
                }
                (Some(_), None) => "the change produces no diff; no pull request".to_owned(),
                (None, _) => published
                    .skipped
                    .as_deref()
                    .map(publish::escape)
                    .unwrap_or_else(|| "nothing to publish".into()),
            },
            None => "nothing to publish".into(),
        };
        format!(
            "✅ **orch** ran `{}`: {outcome}.\n\nPlan `{}` · {:.1} s · {} tokens · peak memory {} MiB{}",
            self.command,
            record
                .plan_id
                .as_deref()
                .map(|id| &id[..id.len().min(12)])
                .unwrap_or("-"),
            record.duration_ms as f64 / 1000.0,
            record.total_tokens,
            record.peak_memory_mb,
            self.footer()
        )
    }
}

fn pr_ref(pr: &github::PullRequest) -> String {
    format!("#{}", pr.number)
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
            "commit": record.commit,
            "published": record.published,
            "pull_request": record.published.as_ref().and_then(|p| p.pull_request.as_ref()).map(|p| &p.url),
            "pr_operation": record.published.as_ref().and_then(|p| p.operation),
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
                _ if record.dry_run => printer.note("dry run: nothing was committed or pushed"),
                (Some(_), None) => printer.note("done: no change to commit"),
                _ => printer.note(&format!("plan saved in {}/plan.json", record.run_dir)),
            }
            if let Some(published) = &record.published {
                if let Some(skipped) = &published.skipped {
                    printer.note(&format!("not published: {skipped}"));
                }
                if let Some(operation) = published.operation {
                    match &published.pull_request {
                        Some(pr) => printer.note(&format!(
                            "pull request {}: #{} {}{}",
                            operation.as_str(),
                            pr.number,
                            pr.url,
                            if published.draft && operation == github::Operation::Created {
                                " (draft)"
                            } else {
                                ""
                            }
                        )),
                        None => printer.note("pull request: none (no change, none open)"),
                    }
                }
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
    let created: Vec<&str> = plan.creates().map(|(file, _)| file).collect();
    if !created.is_empty() {
        text.push_str(&format!("; creates {}", created.join(", ")));
    }
    let deleted: Vec<&str> = plan.deletes().map(|(file, _)| file).collect();
    if !deleted.is_empty() {
        text.push_str(&format!("; deletes {}", deleted.join(", ")));
    }
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
