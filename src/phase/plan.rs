//! PLAN: build the DAG from the analysis, validate it, and save it in the
//! run directory (and to `--plan-out`).

use std::collections::BTreeMap;

use super::logic::Analysis;
use super::{Context, Failure};
use crate::intent::Intent;
use crate::plan::{Action, Node, Plan, Report, Repository, Risk, Site};

pub(crate) async fn run(
    ctx: &Context,
    command: &str,
    intent: &Intent,
    analysis: &Analysis,
    risk: &Risk,
) -> Result<Plan, Failure> {
    let plan = build(ctx, command, intent, analysis, risk)?;
    plan.validate().map_err(Failure::internal)?;
    save(ctx, &plan)?;
    Ok(plan)
}

fn build(
    ctx: &Context,
    command: &str,
    intent: &Intent,
    analysis: &Analysis,
    risk: &Risk,
) -> Result<Plan, Failure> {
    let mut nodes = Vec::new();
    let mut edit_ids = Vec::new();
    let mut files = Vec::new();
    let mut parse_baseline = BTreeMap::new();
    for file in &analysis.files {
        let id = format!("edit:{}", file.path);
        let edits = file.edits.iter().map(|e| e.edit.clone()).collect();
        nodes.push(Node {
            id: id.clone(),
            deps: Vec::new(),
            action: Action::Edit {
                file: file.path.clone(),
                preimage_sha1: file.sha1.clone(),
                edits,
            },
        });
        edit_ids.push(id);
        files.push(file.path.clone());
        parse_baseline.insert(
            file.path.clone(),
            analysis.parse_errors.get(&file.path).copied().unwrap_or(0),
        );
    }
    for created in &analysis.creates {
        let id = format!("create:{}", created.path);
        nodes.push(Node {
            id: id.clone(),
            deps: Vec::new(),
            action: Action::Create {
                file: created.path.clone(),
                content: created.content.clone(),
            },
        });
        edit_ids.push(id);
        files.push(created.path.clone());
        parse_baseline.insert(created.path.clone(), 0);
    }
    for deleted in &analysis.deletes {
        let id = format!("delete:{}", deleted.path);
        nodes.push(Node {
            id: id.clone(),
            deps: Vec::new(),
            action: Action::Delete {
                file: deleted.path.clone(),
                preimage_sha1: deleted.sha1.clone(),
            },
        });
        edit_ids.push(id);
        files.push(deleted.path.clone());
    }
    nodes.push(Node {
        id: "check:parse".into(),
        deps: edit_ids,
        action: Action::Check {
            check: "parse".into(),
            files: parse_baseline,
            focus: analysis.syntax_focus.clone(),
        },
    });
    nodes.push(Node {
        id: "test:pytest".into(),
        deps: vec!["check:parse".into()],
        action: Action::Test {
            runner: "pytest".into(),
            selection: Vec::new(),
        },
    });
    let summary = match intent {
        Intent::Rename(_) => format!(
            "{} sites in {} files; {} mentions in comments/strings and {} uncertain sites left alone.",
            analysis.sites,
            analysis.files.len(),
            analysis.mentions_total,
            analysis.uncertain_total
        ),
        Intent::Replace(_) => format!(
            "{} matches in {} files.",
            analysis.sites,
            analysis.files.len()
        ),
        Intent::AddParameter(_) => format!(
            "{} definitions in {} files; existing calls keep working through the default.",
            analysis.sites,
            analysis.files.len()
        ),
        Intent::RemoveParameter(_) => format!(
            "{} edits in {} files (definitions and calls); {} calls orch could not tie to the function left alone.",
            analysis.sites,
            analysis.files.len(),
            analysis.uncertain_total
        ),
        Intent::RemoveUnusedFunctions(_) => format!(
            "{} functions removed from {} files; {} doubtful ones left alone.",
            analysis.sites,
            analysis.files.len(),
            analysis.uncertain_total
        ),
        Intent::MakeAsync(_) => format!(
            "{} functions made async, with {} edits in {} files (`async`, `await`, and `asyncio.run` at test and `__main__` boundaries).\n\nMade async:\n{}",
            analysis.notes.len(),
            analysis.sites,
            analysis.files.len(),
            analysis
                .notes
                .iter()
                .map(|n| format!("- {}:{}: {}", n.path, n.line, n.note))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        Intent::RenameModule(_) => format!(
            "{}{} import edits in {} files; {} strings naming the old module left alone.",
            match (analysis.deletes.first(), analysis.creates.first()) {
                (Some(old), Some(new)) => format!("{} -> {}; ", old.path, new.path),
                _ => String::new(),
            },
            analysis.sites,
            analysis.files.len(),
            analysis.uncertain_total
        ),
        Intent::InlineFunction(f) => format!(
            "calls of `{}` replaced by its body: {} edits in {} files.",
            f.name,
            analysis.sites,
            analysis.files.len()
        ),
        Intent::Extract(e) => format!(
            "new {} `{}`; the selection replaced by its call.",
            if e.method { "method" } else { "function" },
            e.name
        ),
        Intent::InlineVariable(v) => format!(
            "`{}` replaced by its value at {} places in {}; its assignment removed.",
            v.name,
            analysis.sites.saturating_sub(1),
            v.function
        ),
        Intent::ReorderParameters(_) => format!(
            "{} edits in {} files (the definitions and every call: positional arguments follow their parameters, keywords stay).",
            analysis.sites,
            analysis.files.len()
        ),
        Intent::SafeDelete(d) => format!(
            "`{}` deleted from {}: nothing in the project refers to it{}.",
            d.name,
            analysis
                .files
                .first()
                .map_or("its module", |f| f.path.as_str()),
            if analysis.mentions_total > 0 {
                format!(
                    " ({} mentions in comments left as they are)",
                    analysis.mentions_total
                )
            } else {
                String::new()
            }
        ),
        Intent::Move(m) => format!(
            "{} edits in {} files{}{}{}",
            analysis.sites,
            analysis.files.len(),
            match analysis.creates.first() {
                Some(created) => format!("; creates {}", created.path),
                None => String::new(),
            },
            if m.keep_alias {
                "; the old module re-exports the name"
            } else {
                ""
            },
            analysis
                .notes
                .iter()
                .map(|n| format!("\n- {}: {}", n.path, n.note))
                .collect::<String>()
        ),
        Intent::RemoveUnusedImports(_) => format!(
            "{} edits in {} files; {} doubtful imports left alone.",
            analysis.sites,
            analysis.files.len(),
            analysis.uncertain_total
        ),
    };
    let message = format!("orch: {}\n\n{summary}", intent.describe());
    nodes.push(Node {
        id: "commit".into(),
        deps: vec!["test:pytest".into()],
        action: Action::Commit {
            branch_prefix: format!("orch/{}", intent.slug()),
            message,
            files,
        },
    });
    let repository = Repository {
        path: ctx.settings.repo.to_string_lossy().into_owned(),
        subdir: ctx.subdir.clone(),
        head: ctx.head.clone(),
    };
    let mut plan = Plan::new(command.to_owned(), intent.clone(), repository, nodes);
    plan.risk = Some(risk.clone());
    let site = |n: &crate::protocol::code::NoteOut| Site {
        file: n.path.clone(),
        line: n.line,
        column: n.column,
        note: n.note.clone(),
    };
    plan.report = Report {
        mentions: analysis.mentions.iter().map(site).collect(),
        uncertain: analysis.uncertain.iter().map(site).collect(),
        truncated: analysis.mentions.len() < analysis.mentions_total
            || analysis.uncertain.len() < analysis.uncertain_total,
        accounting: analysis.accounting,
    };
    Ok(plan)
}

/// Writes `plan.json` in the run directory and to `--plan-out`.
pub(crate) fn save(ctx: &Context, plan: &Plan) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(plan).map_err(Failure::internal)?;
    std::fs::create_dir_all(&ctx.run_dir).map_err(Failure::internal)?;
    // Stored once per plan id: a run's `plan.json` is a hard link to it
    // (a plan replayed ten times takes its room once).
    let stored = ctx
        .project
        .dir
        .join("plans")
        .join(format!("{}.json", plan.id));
    let linked = std::fs::create_dir_all(stored.parent().unwrap_or(&ctx.project.dir))
        .and_then(|()| {
            if !stored.exists() {
                let temporary = stored.with_extension("json.tmp");
                std::fs::write(&temporary, &text)?;
                std::fs::rename(&temporary, &stored)?;
            }
            std::fs::hard_link(&stored, ctx.run_dir.join("plan.json"))
        })
        .is_ok();
    if !linked {
        std::fs::write(ctx.run_dir.join("plan.json"), &text).map_err(Failure::internal)?;
    }
    if let Some(out) = &ctx.settings.plan_out {
        std::fs::write(out, &text).map_err(|e| {
            Failure::input(
                format!("cannot write the plan to `{}`: {e}", out.display()),
                None,
            )
        })?;
    }
    Ok(())
}
