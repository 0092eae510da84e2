//! REVIEW: validate the edited worktree — only planned files changed, every
//! edited Python file parses with no new syntax errors, tests no worse than
//! the baseline — then commit on `orch/<slug>-<plan id 8>`. Publishing the
//! commit (push, pull request) is the pipeline's next step, not REVIEW's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::execute::Outcome;
use super::{Context, Failure, StopReason};
use crate::forge::Worktree;
use crate::plan::{Action, Plan};
use crate::protocol::code::CheckSyntax;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Verdict {
    pub changed_files: Vec<String>,
    /// File -> (syntax errors before, after).
    pub syntax: BTreeMap<String, (usize, usize)>,
    /// Tests failing after the edit that did not fail before.
    pub new_failures: Vec<String>,
    pub diff: String,
    pub branch: Option<String>,
    pub commit: Option<String>,
}

pub(crate) async fn run(ctx: &Context, plan: &Plan, outcome: &Outcome) -> Result<Verdict, Failure> {
    let planned: Vec<String> = plan.files();
    let deleted: Vec<&str> = plan.deletes().map(|(file, _)| file).collect();
    let path = ctx
        .worktree
        .lock()
        .map_err(|_| Failure::internal("worktree lock poisoned"))?
        .path
        .clone();
    // git's view of the worktree (a status and a diff) and the syntax check
    // of the edited files run at the same time.
    let status = {
        let (path, subdir) = (path.clone(), ctx.subdir.clone());
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let changed = Worktree::changed_files_at(&path, &subdir);
            tracing::debug!(us = started.elapsed().as_micros() as u64, "worktree status");
            changed
        })
    };
    // In parts on all cores, unless files are created or deleted (a
    // module rename's diff pairs them).
    let parts = if deleted.is_empty() && plan.creates().next().is_none() {
        crate::parallel::cores()
    } else {
        1
    };
    let diff = {
        let (subdir, planned) = (ctx.subdir.clone(), planned.clone());
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let diff = Worktree::diff_in_parts(&path, &subdir, &planned, parts);
            tracing::debug!(us = started.elapsed().as_micros() as u64, "worktree diff");
            diff
        })
    };
    let sources: Vec<String> = planned
        .iter()
        .filter(|f| !deleted.contains(&f.as_str()))
        .filter(|f| crate::lang::structural::language_of(f).is_some())
        .cloned()
        .collect();
    // The syntax error counts before the edits; counted again as they
    // were: focused on the renamed names' statements, or whole files.
    let (before, focus): (BTreeMap<String, usize>, Vec<String>) = plan
        .nodes
        .iter()
        .find_map(|n| match &n.action {
            Action::Check { files, focus, .. } => Some((files.clone(), focus.clone())),
            _ => None,
        })
        .unwrap_or_default();
    // The run's last server call: orch's own servers are stopped as soon
    // as it answers, while the diff may still be running.
    let check = async {
        let checked = ctx
            .pool
            .request(&CheckSyntax {
                paths: sources.clone(),
                focus,
                omit_clean: true,
            })
            .await;
        ctx.pool.stop_builtins().await;
        checked
    };
    let (status, diff, checked) = tokio::join!(status, diff, check);
    let changed_files = status
        .map_err(Failure::internal)?
        .map_err(Failure::internal)?;
    let diff = diff
        .map_err(Failure::internal)?
        .map_err(Failure::internal)?;
    let unplanned: Vec<&String> = changed_files
        .iter()
        .filter(|f| !planned.contains(f))
        .collect();
    if !unplanned.is_empty() {
        return Err(Failure::stop(
            StopReason::Review,
            format!(
                "files outside the plan changed: {}",
                unplanned
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }

    let checked = checked?;
    if checked.errors.len() + checked.clean != sources.len() {
        return Err(Failure::internal(format!(
            "the code server checked {} of {} files",
            checked.errors.len() + checked.clean,
            sources.len()
        )));
    }
    // Files not listed have no syntax errors.
    let mut syntax: BTreeMap<String, (usize, usize)> = sources
        .iter()
        .map(|f| (f.clone(), (before.get(f).copied().unwrap_or(0), 0)))
        .collect();
    let mut broken = Vec::new();
    for (file, after) in checked.errors {
        let was = before.get(&file).copied().unwrap_or(0);
        if after > was {
            broken.push(format!("{file} ({was} -> {after} syntax errors)"));
        }
        syntax.insert(file, (was, after));
    }
    if !broken.is_empty() {
        return Err(Failure::stop(
            StopReason::Review,
            format!("the edit broke the syntax of {}", broken.join(", ")),
        ));
    }

    let mut new_failures = Vec::new();
    if let (Some(baseline), Some(after)) = (&outcome.baseline, &outcome.after) {
        new_failures = after
            .failures
            .iter()
            .filter(|t| !baseline.failures.contains(t))
            .cloned()
            .collect();
        let worse_count = after.failed + after.errors > baseline.failed + baseline.errors;
        if !new_failures.is_empty() || worse_count {
            let listed: Vec<String> = new_failures
                .iter()
                .take(20)
                .map(|t| format!("  {t}"))
                .collect();
            return Err(Failure::stop(
                StopReason::Tests,
                format!(
                    "tests are worse after the edit ({} failed/errors before, {} after){}{}",
                    baseline.failed + baseline.errors,
                    after.failed + after.errors,
                    if listed.is_empty() { "" } else { ":\n" },
                    listed.join("\n")
                ),
            ));
        }
    }

    let mut branch = None;
    let mut commit = None;
    if !ctx.settings.dry_run && !ctx.settings.apply {
        let (name, message, files) = plan
            .nodes
            .iter()
            .find_map(|n| match &n.action {
                Action::Commit { message, files, .. } => Some((
                    plan.branch().unwrap_or_default(),
                    message.clone(),
                    files.clone(),
                )),
                _ => None,
            })
            .ok_or_else(|| Failure::internal("the plan has no commit node"))?;
        if !changed_files.is_empty() {
            let message = format!("{message}\n\nOrch-Plan: {}\n", plan.id);
            let worktree = ctx
                .worktree
                .lock()
                .map_err(|_| Failure::internal("worktree lock poisoned"))?;
            let id = worktree
                .commit(
                    &ctx.subdir,
                    &files,
                    &message,
                    &name,
                    ctx.settings.publish.author.as_ref(),
                )
                .map_err(|e| Failure::input(e.to_string(), None))?;
            commit = Some(id);
        } else {
            ctx.printer
                .note("the change produces no diff against the base: nothing to commit");
        }
        branch = Some(name);
    }
    Ok(Verdict {
        changed_files,
        syntax,
        new_failures,
        diff,
        branch,
        commit,
    })
}

/// `--apply`: writes the verified change (the worktree's files, which
/// REVIEW has just checked) into the user's checkout, all or nothing; the
/// files it changed. Every planned file there must still be the plan's
/// preimage (a created one must not exist), else nothing is written.
pub(crate) async fn apply(ctx: &Context, plan: &Plan) -> Result<Vec<String>, Failure> {
    use crate::apply::Change;
    let worktree = ctx.worktree_root()?;
    let read = |file: &str| {
        std::fs::read(worktree.join(file))
            .map_err(|e| Failure::internal(format!("cannot read `{file}` in the worktree: {e}")))
    };
    let mut changes = Vec::new();
    for (file, preimage, _) in plan.edits() {
        changes.push(Change {
            path: file.to_owned(),
            before: Some(preimage.to_owned()),
            after: Some(read(file)?),
        });
    }
    for (file, _) in plan.creates() {
        changes.push(Change {
            path: file.to_owned(),
            before: None,
            after: Some(read(file)?),
        });
    }
    for (file, preimage) in plan.deletes() {
        changes.push(Change {
            path: file.to_owned(),
            before: Some(preimage.to_owned()),
            after: None,
        });
    }
    let git_dir = ctx.owners.git_dir().to_owned();
    let root = ctx.settings.repo.clone();
    let run_id = ctx.run_id.clone();
    let files: Vec<String> = changes.iter().map(|c| c.path.clone()).collect();
    // Test hook: a pause between the steps, so a test can kill orch there.
    let pause = std::env::var("ORCH_TEST_APPLY_PAUSE_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map(std::time::Duration::from_millis);
    ctx.printer.progress(&format!(
        "applying the change to your checkout ({} files)",
        files.len()
    ));
    tokio::task::spawn_blocking(move || {
        crate::apply::apply(&git_dir, &run_id, &root, &changes, |_| {
            if let Some(pause) = pause {
                std::thread::sleep(pause);
            }
        })
    })
    .await
    .map_err(Failure::internal)?
    .map_err(|error| match error {
        crate::apply::Error::Drifted(_) => Failure::input(
            error.to_string(),
            Some("commit, stash or undo your changes to those files, then replay the plan (`orch replay`) or run again".into()),
        ),
        other => Failure::internal(other),
    })?;
    Ok(files)
}
