//! `orch history` and `orch stats`: the run history, as tables on a
//! terminal, as JSON with `--json`, or any query with `--sql`.

use serde::Serialize;

use crate::exit::ExitCode;
use crate::history::query::{Db, Table};
use crate::printer::Printer;

/// Which history: this project's, or every project's.
pub(crate) struct Scope {
    pub all_projects: bool,
}

fn open(printer: &Printer, global: &crate::cli::GlobalArgs, scope: &Scope) -> Option<Db> {
    let state_home = match crate::state::state_home() {
        Ok(dir) => dir,
        Err(error) => {
            printer.error(&error, None);
            return None;
        }
    };
    let db = if scope.all_projects {
        Db::all(&state_home)
    } else {
        let root = match crate::settings::project_dir(global) {
            Ok(root) => root,
            Err(error) => {
                printer.error(
                    &anyhow::Error::new(error),
                    Some("pass --repo DIR, or --all-projects"),
                );
                return None;
            }
        };
        let project = crate::state::Project::new(&state_home, &root);
        Db::project(&project.dir)
    };
    match db {
        Ok(db) => Some(db),
        Err(error) => {
            printer.error(&anyhow::Error::new(error), None);
            None
        }
    }
}

/// `orch history`: the latest runs, newest first.
pub(crate) fn history(
    printer: &Printer,
    global: &crate::cli::GlobalArgs,
    scope: Scope,
    limit: usize,
) -> ExitCode {
    let Some(db) = open(printer, global, &scope) else {
        return ExitCode::Usage;
    };
    let sql = history_sql(scope.all_projects, limit);
    show(printer, global.json, &db, &[("runs", sql.as_str())], &[])
}

/// The query behind `orch history`: newest first by the full timestamp (the
/// column shown is cut to the second, and two runs often start within one).
fn history_sql(all_projects: bool, limit: usize) -> String {
    format!(
        "SELECT run_id, strftime(started_at, '%Y-%m-%d %H:%M:%S') AS started_at, {}mode, kind, outcome, stop_reason, round(duration_ms / 1000.0, 1) AS seconds,
                total_tokens AS tokens, tiers, tests_passed, flaky, command
         FROM runs ORDER BY runs.started_at DESC, run_id DESC LIMIT {limit}",
        if all_projects { "project, " } else { "" }
    )
}

/// The sections of `orch stats`.
const SECTIONS: &[(&str, &str)] = &[
    (
        "projects",
        "SELECT project, count(*) AS runs,
                count(*) FILTER (WHERE outcome = 'success') AS succeeded,
                min(started_at) AS first, max(started_at) AS last
         FROM runs GROUP BY project ORDER BY runs DESC",
    ),
    (
        "by kind",
        "SELECT coalesce(kind, '(not parsed)') AS kind, count(*) AS runs,
                round(100.0 * count(*) FILTER (WHERE outcome = 'success') / count(*), 1) AS success_pct,
                count(*) FILTER (WHERE stop_reason = 'tests') AS tests_failed,
                round(median(duration_ms) / 1000.0, 1) AS p50_s,
                round(median(total_tokens)) AS p50_tokens
         FROM runs WHERE mode <> 'plan' AND NOT dry_run GROUP BY 1 ORDER BY runs DESC",
    ),
    (
        "phases",
        "SELECT phase, count(*) AS runs,
                round(quantile_cont(duration_ms, 0.5)) AS p50_ms,
                round(quantile_cont(duration_ms, 0.95)) AS p95_ms,
                round(quantile_cont(tokens, 0.5)) AS p50_tokens,
                max(tokens) AS max_tokens
         FROM phases GROUP BY phase
         ORDER BY list_position(['MAP', 'LOGIC', 'MONTE CARLO', 'PLAN', 'OPTIMIZE', 'EXECUTE', 'REVIEW'], phase)",
    ),
    (
        "tests",
        "SELECT count(*) FILTER (WHERE after_ms IS NOT NULL) AS runs_with_tests,
                round(sum(coalesce(after_ms, 0) + CASE WHEN baseline_cached THEN 0 ELSE coalesce(baseline_ms, 0) END) / 1000.0, 1) AS test_seconds,
                round(sum(coalesce(left_out_ms, 0) * CASE WHEN baseline_cached THEN 1 ELSE 2 END) / 1000.0, 1) AS saved_seconds,
                sum(coalesce(left_out_files, 0)) AS files_left_out,
                sum(coalesce(flaky, 0)) AS flaky_reruns
         FROM runs",
    ),
    (
        "slowest tests",
        "SELECT test_id, round(median(duration_ms)) AS p50_ms, count(*) AS runs
         FROM tests WHERE outcome <> 'skipped' GROUP BY test_id ORDER BY p50_ms DESC, test_id LIMIT 10",
    ),
    (
        "flakiest tests",
        "WITH t AS (
           SELECT tests.*, CASE WHEN stage IN ('baseline', 'traced') THEN 'base:' || coalesce(runs.base_commit, '')
                                ELSE 'edit:' || tests.run_id END AS code
           FROM tests JOIN runs USING (run_id)),
         flips AS (
           SELECT test_id, code FROM t GROUP BY test_id, code
           HAVING bool_or(outcome IN ('failed', 'error')) AND bool_or(outcome = 'passed'))
         SELECT test_id, count(*) AS flips FROM flips GROUP BY test_id ORDER BY flips DESC, test_id LIMIT 10",
    ),
];

/// Calibration of P(tests pass) needs this many runs with tests.
const CALIBRATION_RUNS: u64 = 10;

/// `orch stats`, or `orch stats --sql QUERY`.
pub(crate) fn stats(
    printer: &Printer,
    global: &crate::cli::GlobalArgs,
    scope: Scope,
    sql: Option<String>,
) -> ExitCode {
    let Some(db) = open(printer, global, &scope) else {
        return ExitCode::Usage;
    };
    if let Some(sql) = sql {
        return show(printer, global.json, &db, &[("result", sql.as_str())], &[]);
    }
    let mut sections: Vec<(&str, &str)> = SECTIONS.to_vec();
    if !scope.all_projects {
        sections.remove(0);
    }
    let scored = runs_with_tests(&db);
    let mut extra: Vec<(&str, Table)> = Vec::new();
    let mut note = None;
    match calibration(&db, scored) {
        Ok(Some((brier, table))) => {
            extra.push(("calibration", brier));
            extra.push(("reliability", table));
        }
        Ok(None) | Err(_) => {
            note = Some(format!(
                "calibration of P(tests pass): not enough runs yet ({scored} with tests; {CALIBRATION_RUNS} needed)"
            ));
        }
    }
    let code = show(printer, global.json, &db, &sections, &extra);
    if let Some(note) = note {
        printer.note(&note);
    }
    code
}

fn runs_with_tests(db: &Db) -> u64 {
    db.table("SELECT count(*) AS n FROM runs WHERE p_tests_pass IS NOT NULL AND tests_passed IS NOT NULL")
        .ok()
        .and_then(|t| t.f64(0, "n"))
        .unwrap_or(0.0) as u64
}

/// The Brier score of P(tests pass) against what happened, and a
/// reliability table (predicted against observed, by bin); `None` with
/// too few (`scored`) runs.
fn calibration(db: &Db, scored: u64) -> Result<Option<(Table, Table)>, crate::history::Error> {
    if scored < CALIBRATION_RUNS {
        return Ok(None);
    }
    let scored = "FROM runs WHERE p_tests_pass IS NOT NULL AND tests_passed IS NOT NULL";
    let brier = db.table(&format!(
        "SELECT count(*) AS runs, round(avg(power(p_tests_pass - tests_passed::INTEGER, 2)), 4) AS brier,
                round(avg(p_tests_pass), 3) AS mean_predicted, round(avg(tests_passed::INTEGER), 3) AS observed
         {scored}"
    ))?;
    let table = db.table(&format!(
        "SELECT CASE WHEN p_tests_pass < 0.5 THEN '0.00-0.50' WHEN p_tests_pass < 0.8 THEN '0.50-0.80'
                     WHEN p_tests_pass < 0.9 THEN '0.80-0.90' WHEN p_tests_pass < 0.95 THEN '0.90-0.95'
                     ELSE '0.95-1.00' END AS predicted_bin,
                count(*) AS runs, round(avg(p_tests_pass), 3) AS mean_predicted,
                round(avg(tests_passed::INTEGER), 3) AS observed
         {scored} GROUP BY 1 ORDER BY 1"
    ))?;
    Ok(Some((brier, table)))
}

#[derive(Serialize)]
struct Section<'a> {
    name: &'a str,
    #[serde(flatten)]
    table: &'a Table,
}

/// Runs each query and prints its table (or one JSON document).
fn show(
    printer: &Printer,
    json: bool,
    db: &Db,
    queries: &[(&str, &str)],
    extra: &[(&str, Table)],
) -> ExitCode {
    let mut tables: Vec<(&str, Table)> = Vec::new();
    for (name, sql) in queries {
        match db.table(sql) {
            Ok(table) => tables.push((name, table)),
            Err(error) => {
                printer.error(
                    &anyhow::Error::new(error),
                    Some("the tables are runs, phases and tests (`orch stats --sql \"DESCRIBE runs\"`)"),
                );
                return ExitCode::Usage;
            }
        }
    }
    tables.extend(extra.iter().map(|(n, t)| (*n, t.clone())));
    if json {
        let sections: Vec<Section> = tables
            .iter()
            .map(|(name, table)| Section { name, table })
            .collect();
        printer.json(&serde_json::json!({
            "records": db.records,
            "sections": sections,
        }));
        return ExitCode::Done;
    }
    if db.records == 0 {
        printer.note("no runs recorded yet (every `orch run`, `plan` and `replay` adds one)");
    }
    let single = tables.len() == 1;
    for (name, table) in &tables {
        if !single {
            printer.data(&format!("== {name}"));
        }
        printer.data(&render(table));
    }
    ExitCode::Done
}

/// A table as aligned text: numbers to the right, text to the left.
pub(crate) fn render(table: &Table) -> String {
    let cell = |v: &Option<String>| -> String {
        crate::printer::escape_controls(v.as_deref().unwrap_or("")).into_owned()
    };
    let mut widths: Vec<usize> = table.columns.iter().map(|c| c.chars().count()).collect();
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| row.iter().map(cell).collect())
        .collect();
    for row in &rows {
        for (i, value) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(value.chars().count().min(80));
            }
        }
    }
    let numeric = |i: usize| {
        rows.iter().all(|row| {
            row.get(i)
                .is_none_or(|v| v.is_empty() || v.parse::<f64>().is_ok())
        })
    };
    let numeric: Vec<bool> = (0..widths.len()).map(numeric).collect();
    let line = |values: &[String]| -> String {
        let cells: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let v: String = if v.chars().count() > 80 {
                    let cut: String = v.chars().take(79).collect();
                    format!("{cut}…")
                } else {
                    v.clone()
                };
                let width = widths.get(i).copied().unwrap_or(0);
                if numeric.get(i).copied().unwrap_or(false) {
                    format!("{v:>width$}")
                } else {
                    format!("{v:<width$}")
                }
            })
            .collect();
        cells.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(&table.columns)];
    for row in &rows {
        out.push(line(row));
    }
    if rows.is_empty() {
        out.push("(no rows)".to_owned());
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_numbers_right() {
        let table = Table {
            columns: vec!["kind".into(), "runs".into()],
            rows: vec![
                vec![Some("rename".into()), Some("12".into())],
                vec![Some("replace".into()), None],
            ],
        };
        assert_eq!(render(&table), "kind     runs\nrename     12\nreplace");
    }

    #[test]
    fn history_lists_runs_of_one_second_in_the_order_they_started() {
        use crate::history::{Entry, RunRow, Store};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        // Ids from before they carried milliseconds sort the other way.
        for (id, at, outcome) in [
            ("20261205T030000Z-ffff", "2026-12-05 03:00:00.100", "killed"),
            (
                "20261205T030000Z-0000",
                "2026-12-05 03:00:00.900",
                "success",
            ),
        ] {
            let entry = Entry {
                run: RunRow {
                    run_id: id.into(),
                    started_at: at.into(),
                    outcome: outcome.into(),
                    ..RunRow::default()
                },
                ..Entry::default()
            };
            store.begin(&entry.run).unwrap().finish(&entry, 10).unwrap();
        }
        let db = Db::project(dir.path()).unwrap();
        let table = db.table(&history_sql(false, 10)).unwrap();
        let outcomes: Vec<_> = (0..2).map(|i| table.get(i, "outcome")).collect();
        assert_eq!(outcomes, [Some("success"), Some("killed")]);
        assert_eq!(table.get(0, "started_at"), Some("2026-12-05 03:00:00"));
    }
}
