//! `orch run`, `orch plan` and `orch replay`: resolve the settings, run
//! the pipeline, and report its record (human text on stderr, the plan or
//! diff on stdout, or one JSON document with `--json`).

use std::sync::Arc;

use anyhow::Context as _;

use crate::exit::ExitCode;
use crate::pipeline::{self, Finished, Mode};
use crate::printer::Printer;
use crate::settings::Settings;
use crate::{cli, github, plan};

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

pub(crate) async fn run(args: &cli::GlobalArgs, mode: Mode, printer: Arc<Printer>) -> ExitCode {
    let mut settings = match Settings::resolve(args, &|name| std::env::var(name).ok()) {
        Ok(settings) => settings,
        Err(error) => {
            printer.error(&anyhow::Error::new(error), None);
            return ExitCode::Usage;
        }
    };
    if let Err(error) = settings.check_repo_config(&printer, false) {
        return super::untrusted(&printer, &settings, error);
    }
    let json = settings.json;
    let is_plan = matches!(mode, Mode::Plan { .. });
    match pipeline::run(settings, mode, printer.clone()).await {
        Ok(finished) => {
            report(&printer, &finished, json, is_plan);
            finished.exit_code
        }
        Err(error) if error.downcast_ref::<crate::state::LockTimeout>().is_some() => {
            printer.error(&error, Some("raise --deadline (or ORCH_DEADLINE)"));
            ExitCode::Stopped
        }
        Err(error) => {
            printer.error(&error, None);
            ExitCode::Usage
        }
    }
}

/// The `--json` document of a finished run.
fn json_report(finished: &Finished, is_plan: bool) -> serde_json::Value {
    let record = &finished.record;
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
    if let Some(accounting) = finished.plan.as_ref().and_then(|p| p.report.accounting) {
        value["accounting"] = serde_json::to_value(accounting).unwrap_or_default();
    }
    value
}

pub(crate) fn report(printer: &Printer, finished: &Finished, json: bool, is_plan: bool) {
    let record = &finished.record;
    if json {
        printer.json(&json_report(finished, is_plan));
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
        let applied: Option<Vec<String>> = record
            .details
            .get("applied")
            .and_then(|v| serde_json::from_value(v.clone()).ok());
        if record.success
            && let Some(files) = &applied
        {
            let shown: Vec<&str> = files.iter().take(10).map(String::as_str).collect();
            printer.note(&format!(
                "done: applied to your checkout, {} file(s): {}{}; nothing was committed (review with `git diff`)",
                files.len(),
                shown.join(", "),
                if files.len() > shown.len() { ", …" } else { "" }
            ));
        } else if record.success {
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
        let headline = match record.stop_reason {
            Some(crate::record::StopReason::Input) | None => error.clone(),
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
    if let Some(line) = accounting_line(plan) {
        printer.note(&line);
    }
    // Uncertain sites first: they are what a person must check.
    let left: Vec<_> = plan
        .report
        .uncertain
        .iter()
        .chain(&plan.report.mentions)
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

/// "every code occurrence of `old` accounted for: ..." for a rename's plan.
pub(crate) fn accounting_line(plan: &plan::Plan) -> Option<String> {
    let a = plan.report.accounting?;
    let old = match &plan.intent {
        crate::intent::Intent::Rename(rename) => rename.old.as_str(),
        _ => "the name",
    };
    Some(format!(
        "all {} code occurrences of `{old}` accounted for: {} edited, {} another binding, {} uncertain",
        a.total(),
        a.edited,
        a.other,
        a.uncertain
    ))
}

/// On a terminal (and without `--yes`), shows what a replayed plan will
/// run and change, and asks. A plan file is data from wherever it came
/// from: its id is a checksum of its content, not a signature.
pub(crate) fn confirm_replay(printer: &Printer, plan: &plan::Plan, yes: bool) -> bool {
    use std::io::IsTerminal as _;
    if yes || !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return true;
    }
    let mut lines = vec![format!(
        "plan {} ({}): {}",
        plan.short_id(),
        crate::printer::escape(&plan.command),
        plan.intent.describe()
    )];
    for node in &plan.nodes {
        let line = match &node.action {
            plan::Action::Edit { file, edits, .. } => {
                format!(
                    "edit {} ({} edits)",
                    crate::printer::escape(file),
                    edits.len()
                )
            }
            plan::Action::Create { file, content } => format!(
                "create {} ({} bytes)",
                crate::printer::escape(file),
                content.len()
            ),
            plan::Action::Delete { file, .. } => format!("delete {}", crate::printer::escape(file)),
            plan::Action::Check { files, .. } => {
                format!("check the syntax of {} files", files.len())
            }
            plan::Action::Test { runner, selection } => {
                if selection.is_empty() {
                    format!("run {runner} on the whole test suite")
                } else {
                    format!(
                        "run {runner} -- {}",
                        crate::printer::escape(&selection.join(" "))
                    )
                }
            }
            plan::Action::Commit {
                branch_prefix,
                files,
                ..
            } => format!(
                "commit {} files on {}-{}",
                files.len(),
                crate::printer::escape(branch_prefix),
                &plan.id[..plan.id.len().min(8)]
            ),
            plan::Action::Publish { remote, branch } => format!(
                "push {} to {} and open or update its pull request",
                crate::printer::escape(branch),
                crate::printer::escape(remote)
            ),
        };
        lines.push(format!("  {line}"));
    }
    printer.note(&lines.join("\n"));
    matches!(
        printer
            .ask("The plan id is a checksum, not a signature. Carry this plan out? [y/N] ")
            .as_deref(),
        Some("y" | "Y" | "yes")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::testing::Project;

    /// `orch run --dry-run --json` on a rename, as a document.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_json_of_a_dry_run_is_pinned() {
        let project = Project::fixture("shop");
        let mode = Mode::Run {
            command: "rename function make_str to make_text".into(),
        };
        let finished = project.run(&["--dry-run", "--yes"], mode).await;
        insta::assert_json_snapshot!(json_report(&finished, false), {
            ".duration_ms" => "[ms]",
            ".total_tokens" => "[tokens]",
            ".peak_memory_mb" => "[MiB]",
            ".run_dir" => "[run dir]",
            ".phases[].duration_ms" => "[ms]",
            ".phases[].tokens" => "[tokens]",
        });
    }
}
