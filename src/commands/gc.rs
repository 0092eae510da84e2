//! `orch gc`: what killed runs left behind, in every project, and the
//! state directory pruned — old runs, baselines of commits that are gone,
//! plans no run keeps, projects whose directory is gone.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use crate::exit::ExitCode;
use crate::printer::Printer;
use crate::state::Owners;

pub(crate) fn run(printer: &Printer, keep_runs: usize) -> ExitCode {
    let state_home = match crate::state::state_home() {
        Ok(dir) => dir,
        Err(error) => {
            printer.error(&error, None);
            return ExitCode::Usage;
        }
    };
    let projects = state_home.join("projects");
    let mut report = Report::default();
    for project in std::fs::read_dir(&projects).into_iter().flatten().flatten() {
        collect(&project.path(), keep_runs, &mut report);
    }
    printer.note(&format!(
        "removed {} stale worktree(s) and branch(es), {} old run(s), {} baseline(s), {} plan(s), {} project(s) whose directory is gone",
        report.swept, report.runs, report.baselines, report.plans, report.projects
    ));
    for line in &report.lines {
        printer.note(&format!("  {line}"));
    }
    ExitCode::Done
}

#[derive(Default)]
struct Report {
    swept: usize,
    runs: usize,
    baselines: usize,
    plans: usize,
    projects: usize,
    lines: Vec<String>,
}

fn collect(dir: &Path, keep_runs: usize, report: &mut Report) {
    let root = std::fs::read(dir.join("root"))
        .ok()
        .map(|bytes| std::path::PathBuf::from(String::from_utf8_lossy(&bytes).into_owned()));
    if let Some(root) = &root
        && !root.exists()
    {
        // The project is gone: so is its state (no live run can use it).
        if std::fs::remove_dir_all(dir).is_ok() {
            report.projects += 1;
            report
                .lines
                .push(format!("project {} (gone)", root.display()));
        }
        return;
    }
    let repo = root
        .as_deref()
        .and_then(|r| crate::forge::Repo::open(r).ok());
    let owners = repo.as_ref().map(|r| Owners::new(&r.common_dir()));
    let is_live = |run: &str| owners.as_ref().is_some_and(|o| o.is_live(run));
    if let Some(repo) = &repo {
        let swept = repo.sweep(is_live);
        report.swept += swept.len();
        report.lines.extend(swept);
    }
    // The newest runs stay, and any a live process owns.
    let mut runs: Vec<_> = std::fs::read_dir(dir.join("runs"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    runs.sort();
    let old = runs.len().saturating_sub(keep_runs);
    for run in runs.into_iter().take(old) {
        let live = run
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_live);
        if !live && std::fs::remove_dir_all(&run).is_ok() {
            report.runs += 1;
        }
    }
    // Baselines of commits the repository no longer has.
    for baseline in std::fs::read_dir(dir.join("baselines"))
        .into_iter()
        .flatten()
        .flatten()
    {
        // `HEAD-KEY.json` (a selection's) or `HEAD/` (its test files').
        let name = baseline.file_name().to_string_lossy().into_owned();
        let head = name.split('-').next().unwrap_or_default();
        let known = repo.as_ref().is_some_and(|r| r.has_commit(head));
        if known {
            continue;
        }
        let path = baseline.path();
        if path.is_dir() {
            let files = std::fs::read_dir(&path).map_or(0, |d| d.count());
            if std::fs::remove_dir_all(&path).is_ok() {
                report.baselines += files;
            }
        } else if std::fs::remove_file(&path).is_ok() {
            report.baselines += 1;
        }
    }
    // Plans no kept run links to.
    for plan in std::fs::read_dir(dir.join("plans"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let unused = plan.metadata().is_ok_and(|m| m.nlink() <= 1);
        if unused && std::fs::remove_file(plan.path()).is_ok() {
            report.plans += 1;
        }
    }
}
