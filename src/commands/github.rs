//! `orch run --github-event FILE`: a `/refactor` comment in GitHub
//! Actions — decide whether to act, check the commenter's permission, run,
//! and keep a status comment up to date.

use std::sync::Arc;

use crate::exit::ExitCode;
use crate::pipeline::{self, Finished, Mode};
use crate::printer::Printer;
use crate::settings::Settings;
use crate::{cli, event, forge, github, publish};

/// `orch run --github-event FILE`: a `/refactor` comment in GitHub Actions.
pub(crate) async fn run(
    args: &cli::GlobalArgs,
    path: &std::path::Path,
    printer: Arc<Printer>,
) -> ExitCode {
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
            return ExitCode::Usage;
        }
    };
    let mut settings = match Settings::resolve(args, &env) {
        Ok(settings) => settings,
        Err(error) => {
            printer.error(&anyhow::Error::new(error), None);
            return ExitCode::Usage;
        }
    };
    let refuse = |printer: &Printer, why: &str| {
        printer.error(&anyhow::anyhow!("refused: {why}"), None);
        if settings.json {
            printer.json(&serde_json::json!({ "success": false, "refused": why }));
        }
        ExitCode::Stopped
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
            return ExitCode::Done;
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
                    return ExitCode::Stopped;
                }
            }
        }
    };
    let client = match client_for(&trigger.slug) {
        Ok(client) => client,
        Err(error) => {
            printer.error(&anyhow::Error::new(error), None);
            return ExitCode::Stopped;
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
        return ExitCode::Usage;
    }
    // On a pull request the repository's files are the pull request's:
    // its MCP config is never started.
    if let Err(error) = settings.check_repo_config(&printer, trigger.pull_request) {
        let hint = error.hint(&settings.repo);
        finish(&trigger, status.failed(&error.to_string(), hint.as_deref())).await;
        printer.error(&anyhow::Error::new(error), hint.as_deref());
        return ExitCode::Usage;
    }
    if trigger.pull_request {
        match base_on_pull_request(&client, &trigger, &mut settings).await {
            Ok(()) => {}
            Err(message) => {
                finish(&trigger, status.failed(&message, None)).await;
                printer.error(&anyhow::anyhow!(message), None);
                return ExitCode::Stopped;
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
            super::run::report(&printer, &finished, json, false);
            (finished.exit_code, status.finished(&finished))
        }
        Err(error) => {
            let message = format!("{error:#}");
            printer.error(&error, None);
            (ExitCode::Usage, status.failed(&message, None))
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
            let reason = record.stop_reason.map_or("error", |r| r.as_str());
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
