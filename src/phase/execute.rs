//! EXECUTE: apply the plan's edits in orch's private worktree through the
//! `fs` server (each write checks its preimage hash and is atomic), and run
//! the tests through the `test` server: a baseline on the untouched tree
//! (cached per HEAD) and the same tests after the edits.

use serde::{Deserialize, Serialize};

use super::optimize::Schedule;
use super::{Context, Failure, StopReason};
use crate::plan::Plan;
use crate::protocol::fs::{DeleteFile, EditFile, HashFiles, WriteFile};
use crate::protocol::test::{RunResult, RunTests};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Applied {
    pub file: String,
    pub sha1_before: String,
    pub sha1_after: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Outcome {
    pub applied: Vec<Applied>,
    pub baseline: Option<RunResult>,
    pub baseline_cached: bool,
    pub after: Option<RunResult>,
}

pub(crate) async fn run(
    ctx: &Context,
    plan: &Plan,
    schedule: &Schedule,
) -> Result<Outcome, Failure> {
    let files = plan.files();
    // A retried attempt starts from HEAD again (files it created go); the
    // first one finds the worktree exactly as it was made.
    {
        let mut worktree = ctx
            .worktree
            .lock()
            .map_err(|_| Failure::internal("worktree lock poisoned"))?;
        if !worktree.pristine {
            worktree
                .reset_files(&ctx.subdir, &files)
                .map_err(Failure::internal)?;
            for (file, _) in plan.creates() {
                let _ = std::fs::remove_file(worktree.project_path(&ctx.subdir, file));
            }
        }
        worktree.pristine = false;
    }
    check_drift(ctx, plan).await?;
    // Ask for approval of the writes now, before the baseline tests and
    // before anything is written.
    // The edits are one question, shown as the diff of each file.
    let edit_calls: Vec<EditFile> = plan
        .edits()
        .map(|(file, preimage, edits)| edit_file(file, preimage, edits))
        .collect();
    if !edit_calls.is_empty() {
        let shown = planned_diffs(ctx, plan);
        ctx.pool.approve_batch(&edit_calls, &shown).await?;
    }
    if let Some((file, content)) = plan.creates().next() {
        ctx.pool.approve_ahead(&write_file(file, content)).await?;
    }
    if let Some((file, preimage)) = plan.deletes().next() {
        ctx.pool.approve_ahead(&delete_file(file, preimage)).await?;
    }

    let mut baseline = None;
    let mut baseline_cached = false;
    if schedule.run_tests {
        ctx.printer.progress("baseline tests on the untouched tree");
        let (result, cached) = baseline_tests(ctx, schedule).await?;
        baseline = Some(result);
        baseline_cached = cached;
    }

    // Each file's edit is one call; they go out together (the pool holds
    // them to the server's in-flight limit), and a failure stops the phase
    // once the calls already sent have answered.
    let mut applied = Vec::new();
    let edited: Vec<&str> = plan.edits().map(|(file, _, _)| file).collect();
    if !edited.is_empty() {
        ctx.printer.progress(&match edited.as_slice() {
            [file] => format!("editing {file}"),
            _ => format!("editing {} files", edited.len()),
        });
    }
    let results = crate::mcp::futures_join_all(plan.edits().map(|(file, preimage, edits)| {
        let call = edit_file(file, preimage, edits);
        async move { ctx.pool.request(&call).await }
    }))
    .await;
    for (file, result) in edited.into_iter().zip(results) {
        let result = result?;
        applied.push(Applied {
            file: file.to_owned(),
            sha1_before: result.sha1_before,
            sha1_after: result.sha1_after,
        });
    }

    for (file, content) in plan.creates() {
        ctx.printer.progress(&format!("creating {file}"));
        let result = ctx.pool.request(&write_file(file, content)).await?;
        applied.push(Applied {
            file: file.to_owned(),
            sha1_before: String::new(),
            sha1_after: result.sha1,
        });
    }
    for (file, preimage) in plan.deletes() {
        ctx.printer.progress(&format!("deleting {file}"));
        let result = ctx.pool.request(&delete_file(file, preimage)).await?;
        applied.push(Applied {
            file: file.to_owned(),
            sha1_before: result.sha1_before,
            sha1_after: String::new(),
        });
    }

    let mut after = None;
    if schedule.run_tests {
        ctx.printer.progress("tests on the edited tree");
        after = Some(run_tests(ctx, schedule).await?);
    }
    Ok(Outcome {
        applied,
        baseline,
        baseline_cached,
        after,
    })
}

/// Refuses (exit 2) when a file's content no longer matches its preimage,
/// or a file to create exists already.
async fn check_drift(ctx: &Context, plan: &Plan) -> Result<(), Failure> {
    // (file, expected SHA-1; `None`: must not exist)
    let expected: Vec<(&str, Option<&str>)> = plan
        .edits()
        .map(|(file, preimage, _)| (file, Some(preimage)))
        .chain(
            plan.deletes()
                .map(|(file, preimage)| (file, Some(preimage))),
        )
        .chain(plan.creates().map(|(file, _)| (file, None)))
        .collect();
    let paths: Vec<String> = expected
        .iter()
        .map(|(file, _)| (*file).to_owned())
        .collect();
    let hashes = ctx.pool.request(&HashFiles { paths }).await?;
    let mut drifted = Vec::new();
    for ((file, preimage), found) in expected.iter().zip(&hashes.files) {
        match (&found.sha1, preimage) {
            (Some(sha1), Some(preimage)) if sha1 == preimage => {}
            (None, None) => {}
            (Some(_), None) => drifted.push(format!("  {file}: exists, the plan creates it")),
            (Some(sha1), Some(preimage)) => drifted.push(format!(
                "  {file}: SHA-1 is {sha1}, the plan expects {preimage}"
            )),
            (None, Some(_)) => drifted.push(format!("  {file}: missing")),
        }
    }
    if drifted.is_empty() {
        return Ok(());
    }
    Err(Failure::input(
        format!(
            "the plan no longer applies: these files changed since it was made (HEAD is now {}):\n{}",
            &ctx.head[..ctx.head.len().min(12)],
            drifted.join("\n")
        ),
        Some("make a fresh plan with `orch plan` or `orch run`".into()),
    ))
}

async fn run_tests(ctx: &Context, schedule: &Schedule) -> Result<RunResult, Failure> {
    let timeout_s = ctx.deadline.remaining().as_secs().max(1);
    let result = ctx
        .pool
        .request(&RunTests {
            selection: schedule.selection.clone(),
            timeout_s: Some(timeout_s),
            max_failures: Some(100),
        })
        .await?;
    if !matches!(result.exit_code, 0 | 1 | 5) {
        return Err(Failure::stop(
            StopReason::Tests,
            format!(
                "pytest could not run the tests (exit {}):\n{}",
                result.exit_code, result.output_tail
            ),
        ));
    }
    Ok(result)
}

/// The baseline, from the per-HEAD cache when the same tests ran before.
async fn baseline_tests(ctx: &Context, schedule: &Schedule) -> Result<(RunResult, bool), Failure> {
    let key = crate::plan::sha1_hex(
        format!(
            "{}\0{}\0{}",
            ctx.head,
            ctx.subdir,
            schedule.selection.join("\0")
        )
        .as_bytes(),
    );
    let path = ctx
        .project
        .dir
        .join("baselines")
        .join(format!("{}-{}.json", ctx.head, &key[..16]));
    if let Some(cached) = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<RunResult>(&b).ok())
    {
        return Ok((cached, true));
    }
    let result = run_tests(ctx, schedule).await?;
    if let Some(dir) = path.parent()
        && std::fs::create_dir_all(dir).is_ok()
        && let Ok(text) = serde_json::to_vec(&result)
    {
        let _ = std::fs::write(&path, text);
    }
    Ok((result, false))
}

fn edit_file(file: &str, preimage: &str, edits: &[crate::edit::Edit]) -> EditFile {
    EditFile {
        path: file.to_owned(),
        expected_sha1: preimage.to_owned(),
        edits: edits.to_vec(),
        dry_run: false,
        diff: false,
    }
}

/// Creates a file that must not exist yet.
fn write_file(file: &str, content: &str) -> WriteFile {
    WriteFile {
        path: file.to_owned(),
        content: content.to_owned(),
        expected_sha1: Some(String::new()),
    }
}

fn delete_file(file: &str, preimage: &str) -> DeleteFile {
    DeleteFile {
        path: file.to_owned(),
        expected_sha1: preimage.to_owned(),
    }
}

/// The diff of every edited file, as the edits will make it (for people
/// asked to approve them).
fn planned_diffs(ctx: &Context, plan: &Plan) -> String {
    let root = match ctx.worktree.lock() {
        Ok(worktree) => worktree.project_path(&ctx.subdir, ""),
        Err(_) => return String::new(),
    };
    let mut shown = String::new();
    for (file, _, edits) in plan.edits() {
        let before = std::fs::read(root.join(file))
            .ok()
            .and_then(|bytes| crate::lang::python::encoding::decode(&bytes).ok())
            .map(|(text, _)| text);
        match before.and_then(|before| {
            crate::edit::apply(&before, edits)
                .ok()
                .map(|after| crate::edit::unified_diff(file, &before, &after))
        }) {
            Some(diff) => shown.push_str(&crate::printer::escape_controls(&diff)),
            None => shown.push_str(&format!("{file}: {} edit(s)\n", edits.len())),
        }
    }
    shown
}
