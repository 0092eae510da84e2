//! After REVIEW: push the committed branch and open, update or close its
//! pull request, with a body a reviewer can act on. The pipeline calls it
//! with REVIEW's verdict; no phase does.

use crate::github::{self, Client, Proposal, Slug};
use crate::phase::execute::Outcome;
use crate::phase::optimize::Schedule;
use crate::phase::{Context, Failure, StopReason};
use crate::plan::{Action, Plan};
use crate::record::{PhaseRecord, Published};

/// GitHub caps a pull request body at 65,536 characters.
const MAX_BODY: usize = 65_000;

/// What the pull request body reports besides the plan.
pub(crate) struct Facts<'a> {
    pub schedule: &'a Schedule,
    pub outcome: &'a Outcome,
    pub phases: &'a [PhaseRecord],
    pub changed_files: &'a [String],
}

/// Checks, before any work, what publishing will need: the remote named by
/// `--remote`, a token when a pull request will be opened, and a branch for
/// it to target. Dry runs publish nothing and need none of it.
pub(crate) fn preflight(ctx: &Context) -> Result<(), Failure> {
    let settings = &ctx.settings.publish;
    if ctx.settings.dry_run {
        return Ok(());
    }
    let repo = crate::forge::Repo::open(&ctx.settings.repo).map_err(Failure::internal)?;
    let remote = settings.remote.as_deref().unwrap_or("origin");
    let Some(url) = repo
        .configured_remote_url(remote)
        .or_else(|| repo.remote_url(remote))
    else {
        return match &settings.remote {
            Some(name) => Err(Failure::input(
                crate::forge::Error::NoRemote(name.clone()).to_string(),
                None,
            )),
            None => Ok(()),
        };
    };
    let github = settings
        .github_repo
        .as_deref()
        .and_then(Slug::parse)
        .or_else(|| Slug::from_remote_url(&url, &settings.github_hosts));
    if settings.no_pr || github.is_none() {
        return Ok(());
    }
    if settings.token.is_none() {
        return Err(Failure::input(
            github::Error::NoToken.to_string(),
            Some("nothing was changed; the token is checked before the run starts".into()),
        ));
    }
    pr_base(ctx, &repo).map(drop)
}

/// Pushes `branch` (when there is a change) and syncs its pull request.
pub(crate) async fn run(
    ctx: &Context,
    plan: &Plan,
    branch: &str,
    has_diff: bool,
    facts: &Facts<'_>,
) -> Result<Published, Failure> {
    let settings = &ctx.settings.publish;
    let mut published = Published::default();
    if settings.no_push {
        published.skipped = Some("--no-push: the branch stays local".into());
        return Ok(published);
    }
    let remote = settings.remote.clone().unwrap_or_else(|| "origin".into());
    let repo = crate::forge::Repo::open(&ctx.settings.repo).map_err(Failure::internal)?;
    let Some(url) = repo
        .configured_remote_url(&remote)
        .or_else(|| repo.remote_url(&remote))
    else {
        if settings.remote.is_some() {
            return Err(Failure::input(
                crate::forge::Error::NoRemote(remote).to_string(),
                None,
            ));
        }
        published.skipped = Some(
            "no remote `origin`: the branch stays local (add a remote or pass --remote NAME)"
                .into(),
        );
        return Ok(published);
    };
    published.remote = Some(remote.clone());
    published.remote_url = Some(crate::forge::redact_url(&url));
    if has_diff {
        ctx.printer
            .progress(&format!("pushing `{branch}` to {remote}"));
        let git_dir = repo.git_dir();
        let token = settings.token.clone();
        let (remote_name, branch_name) = (remote.clone(), branch.to_owned());
        let pushed = tokio::task::spawn_blocking(move || {
            crate::forge::push_branch(&git_dir, &remote_name, &branch_name, token.as_ref())
        })
        .await
        .map_err(Failure::internal)?;
        match pushed {
            Ok(_) => {
                published.pushed = true;
                ctx.printer.note(&format!(
                    "pushed `{branch}` to {remote} ({})",
                    crate::forge::redact_url(&url)
                ));
            }
            Err(error) => {
                return Err(Failure::stop(
                    StopReason::Push,
                    format!("committed `{branch}` locally, but the push failed: {error}"),
                ));
            }
        }
    }
    if settings.no_pr {
        published.skipped = Some("--no-pr".into());
        return Ok(published);
    }
    let slug = match settings
        .github_repo
        .as_deref()
        .and_then(Slug::parse)
        .or_else(|| Slug::from_remote_url(&url, &settings.github_hosts))
    {
        Some(slug) => slug,
        None => {
            published.skipped = Some(format!(
                "`{remote}` is not a GitHub URL: no pull request (pass --github-repo OWNER/REPO)"
            ));
            return Ok(published);
        }
    };
    let base = pr_base(ctx, &repo)?;
    let flags = risk_flags(plan, facts);
    published.draft = !flags.is_empty();
    let title = format!("orch: {}", plan.intent.describe());
    let body = body(ctx, plan, facts, &flags, branch);
    let client = Client::new(&settings.api_url, settings.token.as_ref(), slug)
        .map_err(|e| github_failure(branch, published.pushed, e))?;
    ctx.printer.progress("updating the pull request");
    let proposal = Proposal {
        branch,
        base: &base,
        title: &title,
        body: &body,
        draft: published.draft,
    };
    let (operation, pr) = client
        .sync(&proposal, has_diff)
        .await
        .map_err(|e| github_failure(branch, published.pushed, e))?;
    published.operation = Some(operation);
    published.pull_request = pr;
    Ok(published)
}

fn github_failure(branch: &str, pushed: bool, error: github::Error) -> Failure {
    let done = if pushed {
        format!("pushed `{branch}`, but ")
    } else {
        String::new()
    };
    Failure::stop(
        StopReason::GitHub,
        format!("{done}the pull request could not be updated: {error}"),
    )
}

/// The branch the pull request targets: set by `--github-event`, else the
/// branch `--base` names, else the branch HEAD is on.
fn pr_base(ctx: &Context, repo: &crate::forge::Repo) -> Result<String, Failure> {
    let settings = &ctx.settings.publish;
    if let Some(base) = &settings.pr_base {
        return Ok(base.clone());
    }
    let remote = settings.remote.as_deref().unwrap_or("origin");
    let named = match &settings.base {
        Some(rev) => rev
            .strip_prefix("refs/heads/")
            .or_else(|| rev.strip_prefix(&format!("refs/remotes/{remote}/")))
            .or_else(|| rev.strip_prefix(&format!("{remote}/")))
            .map(str::to_owned)
            .or_else(|| repo.is_branch(rev).then(|| rev.clone())),
        None => repo.current_branch(),
    };
    named.ok_or_else(|| {
        Failure::input(
            "cannot tell which branch the pull request should target (HEAD is detached or --base is not a branch)",
            Some("pass --base BRANCH, or --no-pr".into()),
        )
    })
}

/// Reasons to open the pull request as a draft.
pub(crate) fn risk_flags(plan: &Plan, facts: &Facts<'_>) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(risk) = &plan.risk
        && risk.level != "low"
    {
        flags.push(format!(
            "MONTE CARLO rates the risk {} (P(tests pass) {:.2})",
            risk.level, risk.p_tests_pass
        ));
    }
    if !plan.report.uncertain.is_empty() {
        flags.push(format!(
            "{} uncertain site(s) were left alone; check them by hand",
            plan.report.uncertain.len()
        ));
    }
    if !facts.schedule.run_tests || facts.outcome.after.is_none() {
        flags.push("no tests ran".into());
    } else if facts.schedule.left_out > 0 {
        flags.push(format!(
            "{} test file(s) were left out (tiers {} ran; `--tests all` runs them)",
            facts.schedule.left_out, facts.schedule.tiers
        ));
    }
    if !facts.outcome.flaky.is_empty() {
        flags.push(format!(
            "{} flaky test(s) failed after the edit and passed when re-run alone",
            facts.outcome.flaky.len()
        ));
    }
    flags
}

/// The pull request body.
pub(crate) fn body(
    ctx: &Context,
    plan: &Plan,
    facts: &Facts<'_>,
    flags: &[String],
    branch: &str,
) -> String {
    let mut out = String::new();
    let push = |out: &mut String, line: &str| {
        out.push_str(line);
        out.push('\n');
    };
    push(
        &mut out,
        &format!("**Command:** `{}`", plan.command.replace('`', "'")),
    );
    push(&mut out, "");
    push(
        &mut out,
        &format!("**Intent:** {}", escape(&plan.intent.describe())),
    );
    push(
        &mut out,
        &format!(
            "**Plan:** `{}` · branch `{branch}` · base `{}`",
            plan.id,
            &plan.repository.head[..plan.repository.head.len().min(12)]
        ),
    );
    if !flags.is_empty() {
        push(&mut out, "");
        push(&mut out, "> [!WARNING]");
        push(&mut out, "> Opened as a draft:");
        for flag in flags {
            push(&mut out, &format!("> - {}", escape(flag)));
        }
    }

    push(&mut out, "");
    push(&mut out, "### Plan");
    push(&mut out, "| node | kind | depends on | what |");
    push(&mut out, "|---|---|---|---|");
    for node in &plan.nodes {
        let what = match &node.action {
            Action::Edit { file, edits, .. } => format!("{} edit(s) in `{file}`", edits.len()),
            Action::Create { file, content } => {
                format!("create `{file}` ({} lines)", content.lines().count())
            }
            Action::Delete { file, .. } => format!("delete `{file}`"),
            Action::Check { check, files, .. } => format!("{check} {} file(s)", files.len()),
            Action::Test { runner, selection } => {
                if selection.is_empty() {
                    format!("{runner}, whole suite")
                } else {
                    format!("{runner}, {} selected", selection.len())
                }
            }
            Action::Commit { files, .. } => format!("commit {} file(s)", files.len()),
            Action::Publish { remote, branch } => format!("push `{branch}` to {remote}"),
        };
        push(
            &mut out,
            &format!(
                "| `{}` | {} | {} | {} |",
                escape_cell(&node.id),
                node.action.kind(),
                if node.deps.is_empty() {
                    "–".to_owned()
                } else {
                    node.deps
                        .iter()
                        .map(|d| format!("`{}`", escape_cell(d)))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                escape_cell(&what)
            ),
        );
    }

    push(&mut out, "");
    push(&mut out, "### Risk");
    match &plan.risk {
        Some(risk) => {
            push(
                &mut out,
                &format!(
                    "**{}** — P(tests pass) {:.2}, P(on time) {:.2} over {} trials; {} site(s) in {} file(s), {} public name(s), {} test file(s).",
                    risk.level,
                    risk.p_tests_pass,
                    risk.p_on_time,
                    risk.trials,
                    risk.blast_radius.sites,
                    risk.blast_radius.files,
                    risk.blast_radius.public_names,
                    risk.blast_radius.test_files
                ),
            );
        }
        None => push(&mut out, "No estimate (replayed plan)."),
    }

    if let Some(a) = plan.report.accounting {
        push(
            &mut out,
            &format!(
                "\nEvery code occurrence of the old name accounted for: {} edited, {} another binding (a local, another module's attribute, a keyword argument), {} uncertain{}.",
                a.edited,
                a.other,
                a.uncertain,
                if a.uncertain > 0 {
                    " (listed below)"
                } else {
                    ""
                }
            ),
        );
    }

    push(&mut out, "");
    push(&mut out, "### Tests");
    let chosen = if !facts.schedule.run_tests {
        "none".to_owned()
    } else if facts.schedule.runner == "command" {
        "the project's test command".to_owned()
    } else if facts.schedule.selection.is_empty() {
        format!("the whole {} suite", facts.schedule.runner)
    } else {
        format!("{} selected", facts.schedule.selection.len())
    };
    push(
        &mut out,
        &format!("Chosen: {chosen} ({}).", escape(&facts.schedule.reason)),
    );
    if !facts.outcome.flaky.is_empty() {
        let listed: Vec<String> = facts
            .outcome
            .flaky
            .iter()
            .map(|t| format!("`{}`", escape(t)))
            .collect();
        push(
            &mut out,
            &format!(
                "Flaky (failed after the edit, passed alone; not blocking): {}.",
                listed.join(", ")
            ),
        );
    }
    for (label, result) in [
        ("Before the edit", &facts.outcome.baseline),
        ("After the edit", &facts.outcome.after),
    ] {
        if let Some(r) = result {
            push(
                &mut out,
                &format!(
                    "{label}: {} passed, {} failed, {} errors, {} skipped ({:.1} s).",
                    r.passed,
                    r.failed,
                    r.errors,
                    r.skipped,
                    r.duration_ms as f64 / 1000.0
                ),
            );
        }
    }

    push(&mut out, "");
    push(&mut out, "### Run");
    push(&mut out, "| phase | time | tokens | status |");
    push(&mut out, "|---|---:|---:|---|");
    for phase in facts.phases {
        push(
            &mut out,
            &format!(
                "| {} | {:.2} s | {} | {} |",
                phase.phase,
                phase.duration_ms as f64 / 1000.0,
                phase.tokens,
                phase.status
            ),
        );
    }
    push(
        &mut out,
        &format!(
            "\nTotal {:.1} s, {} of {} tokens, peak memory {} MiB. {} file(s) changed.",
            ctx.deadline.elapsed().as_secs_f64(),
            ctx.tokens.total(),
            ctx.settings.total_tokens,
            ctx.memory.peak_mb(),
            facts.changed_files.len()
        ),
    );

    let left: Vec<_> = plan
        .report
        .uncertain
        .iter()
        .map(|s| ("uncertain", s))
        .chain(plan.report.mentions.iter().map(|s| ("mention", s)))
        .collect();
    if !left.is_empty() {
        push(&mut out, "");
        push(&mut out, "### Left alone");
        for (kind, site) in left.iter().take(50) {
            push(
                &mut out,
                &format!(
                    "- {kind}: `{}:{}:{}` {}",
                    escape_cell(&site.file),
                    site.line,
                    site.column,
                    escape(&site.note)
                ),
            );
        }
        if left.len() > 50 || plan.report.truncated {
            push(&mut out, "- … more in the plan below");
        }
    }

    push(&mut out, "");
    push(&mut out, "### Replay");
    push(
        &mut out,
        "Save the plan below as `plan.json`, then run `orch replay plan.json` in a checkout of the base commit.",
    );
    let plan_json = serde_json::to_string_pretty(plan).unwrap_or_default();
    let fence = "`".repeat(longest_backtick_run(&plan_json).max(2) + 1);
    let block = format!(
        "\n<details><summary>Plan JSON ({} bytes)</summary>\n\n{fence}json\n{plan_json}\n{fence}\n</details>\n",
        plan_json.len()
    );
    if out.len() + block.len() <= MAX_BODY {
        out.push_str(&block);
    } else {
        out.push_str(&format!(
            "\nThe plan JSON ({} bytes) is too large for a pull request body; it is `plan.json` in the run directory.\n",
            plan_json.len()
        ));
    }
    out.push_str("\n<sub>Opened by orch.</sub>\n");
    out
}

/// Markdown-inert text: no HTML, no mentions.
pub(crate) fn escape(text: &str) -> String {
    text.replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('@', "@\u{200b}")
}

fn escape_cell(text: &str) -> String {
    escape(text).replace('|', "\\|").replace('\n', " ")
}

fn longest_backtick_run(text: &str) -> usize {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_keep_markdown_inert() {
        assert_eq!(escape("<b>@team"), "&lt;b&gt;@\u{200b}team");
        assert_eq!(escape_cell("a|b\nc"), "a\\|b c");
        assert_eq!(longest_backtick_run("a ``` b `` c"), 3);
    }
}
