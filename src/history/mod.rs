//! Run history: what every run did, kept per project and queried with
//! DuckDB (`query`).
//!
//! # Layout, and why
//! Each run writes its own record: three small CSV files (`runs.csv`, one
//! row; `phases.csv`; `tests.csv`, one row per test per run of it) in
//! `projects/<id>/history/<run-id>/`. It writes them into
//! `history/.partial/<run-id>/` first (created when the run starts, with
//! its owner's pid), syncs them, and renames the directory into place in
//! one step. So:
//! - runs on different projects, or on the same one, never wait for each
//!   other: each owns its directory, and nothing is ever rewritten;
//! - a run killed at any point leaves a partial directory that readers
//!   never see; the next run finds it (its owner is dead), records the run
//!   as `killed`, drops its incomplete files and says so;
//! - history can be read while runs are in progress: readers only list
//!   complete directories; DuckDB reads the CSV files without locking;
//! - retention is a count of runs per project (`history-runs`, default
//!   500), the oldest removed first.
//!
//! A single DuckDB database file would lock out readers while a run writes
//! it and could be left mid-transaction by a kill; CSV keeps every record
//! readable by other tools too.

pub(crate) mod query;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Runs kept per project unless configured.
pub(crate) const DEFAULT_KEEP: usize = 500;

/// A column: its name and DuckDB type.
pub(crate) type Column = (&'static str, &'static str);

/// A value of a CSV field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Field {
    Text(Option<String>),
    Int(Option<i64>),
    Float(Option<f64>),
    Bool(Option<bool>),
}

impl From<&str> for Field {
    fn from(value: &str) -> Self {
        Field::Text(Some(value.to_owned()))
    }
}
impl From<String> for Field {
    fn from(value: String) -> Self {
        Field::Text(Some(value))
    }
}
impl From<Option<String>> for Field {
    fn from(value: Option<String>) -> Self {
        Field::Text(value)
    }
}
impl From<u64> for Field {
    fn from(value: u64) -> Self {
        Field::Int(i64::try_from(value).ok())
    }
}
impl From<usize> for Field {
    fn from(value: usize) -> Self {
        Field::Int(i64::try_from(value).ok())
    }
}
impl From<Option<u64>> for Field {
    fn from(value: Option<u64>) -> Self {
        Field::Int(value.and_then(|v| i64::try_from(v).ok()))
    }
}
impl From<Option<usize>> for Field {
    fn from(value: Option<usize>) -> Self {
        Field::Int(value.and_then(|v| i64::try_from(v).ok()))
    }
}
impl From<f64> for Field {
    fn from(value: f64) -> Self {
        Field::Float(value.is_finite().then_some(value))
    }
}
impl From<Option<f64>> for Field {
    fn from(value: Option<f64>) -> Self {
        Field::Float(value.filter(|v| v.is_finite()))
    }
}
impl From<bool> for Field {
    fn from(value: bool) -> Self {
        Field::Bool(Some(value))
    }
}
impl From<Option<bool>> for Field {
    fn from(value: Option<bool>) -> Self {
        Field::Bool(value)
    }
}

/// A kind of row: its table's columns and its fields in that order.
pub(crate) trait Row {
    const TABLE: &'static str;
    const COLUMNS: &'static [Column];
    fn fields(&self) -> Vec<Field>;
}

/// One run.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunRow {
    pub run_id: String,
    pub project_id: String,
    pub project: String,
    /// `YYYY-MM-DD HH:MM:SS.mmm` (UTC).
    pub started_at: String,
    pub mode: String,
    pub command: String,
    /// The intent's kind (`rename`, `replace`, ...), when parsed.
    pub kind: Option<String>,
    pub plan_id: Option<String>,
    pub base_commit: Option<String>,
    /// `success`, `stopped`, `failed`, `interrupted` or `killed`.
    pub outcome: String,
    pub stop_reason: Option<String>,
    pub duration_ms: u64,
    pub total_tokens: usize,
    pub peak_memory_mb: u64,
    pub dry_run: bool,
    pub sites: Option<usize>,
    pub files: Option<usize>,
    pub modules: Option<usize>,
    pub uncertain: Option<usize>,
    pub tests_mode: Option<String>,
    /// The tiers that ran (`a–c`), or `all`.
    pub tiers: Option<String>,
    pub test_files: Option<usize>,
    pub selected_files: Option<usize>,
    pub left_out_files: Option<usize>,
    /// Estimated test time of what was left out, from history.
    pub left_out_ms: Option<u64>,
    pub workers: Option<usize>,
    pub baseline_ms: Option<u64>,
    pub baseline_cached: Option<bool>,
    pub after_ms: Option<u64>,
    /// Whether the tests after the edit were no worse than before (none if
    /// no tests ran).
    pub tests_passed: Option<bool>,
    pub flaky: Option<usize>,
    pub p_tests_pass: Option<f64>,
    pub p_on_time: Option<f64>,
    pub p50_ms: Option<u64>,
    pub p85_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    /// What the estimates were made from (`history`, `prior`).
    pub estimate_basis: Option<String>,
    pub orch_version: String,
    /// Sharded tests passed as they do in one process (false: some failed
    /// only when sharded, and the run fell back to one worker).
    pub shard_safe: Option<bool>,
}

impl Row for RunRow {
    const TABLE: &'static str = "runs";
    const COLUMNS: &'static [Column] = &[
        ("run_id", "VARCHAR"),
        ("project_id", "VARCHAR"),
        ("project", "VARCHAR"),
        ("started_at", "TIMESTAMP"),
        ("mode", "VARCHAR"),
        ("command", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("plan_id", "VARCHAR"),
        ("base_commit", "VARCHAR"),
        ("outcome", "VARCHAR"),
        ("stop_reason", "VARCHAR"),
        ("duration_ms", "BIGINT"),
        ("total_tokens", "BIGINT"),
        ("peak_memory_mb", "BIGINT"),
        ("dry_run", "BOOLEAN"),
        ("sites", "BIGINT"),
        ("files", "BIGINT"),
        ("modules", "BIGINT"),
        ("uncertain", "BIGINT"),
        ("tests_mode", "VARCHAR"),
        ("tiers", "VARCHAR"),
        ("test_files", "BIGINT"),
        ("selected_files", "BIGINT"),
        ("left_out_files", "BIGINT"),
        ("left_out_ms", "BIGINT"),
        ("workers", "BIGINT"),
        ("baseline_ms", "BIGINT"),
        ("baseline_cached", "BOOLEAN"),
        ("after_ms", "BIGINT"),
        ("tests_passed", "BOOLEAN"),
        ("flaky", "BIGINT"),
        ("p_tests_pass", "DOUBLE"),
        ("p_on_time", "DOUBLE"),
        ("p50_ms", "BIGINT"),
        ("p85_ms", "BIGINT"),
        ("p95_ms", "BIGINT"),
        ("estimate_basis", "VARCHAR"),
        ("orch_version", "VARCHAR"),
        // Columns are only ever added at the end: older records read with
        // nulls for them.
        ("shard_safe", "BOOLEAN"),
    ];

    fn fields(&self) -> Vec<Field> {
        vec![
            self.run_id.as_str().into(),
            self.project_id.as_str().into(),
            self.project.as_str().into(),
            self.started_at.as_str().into(),
            self.mode.as_str().into(),
            self.command.as_str().into(),
            self.kind.clone().into(),
            self.plan_id.clone().into(),
            self.base_commit.clone().into(),
            self.outcome.as_str().into(),
            self.stop_reason.clone().into(),
            self.duration_ms.into(),
            self.total_tokens.into(),
            self.peak_memory_mb.into(),
            self.dry_run.into(),
            self.sites.into(),
            self.files.into(),
            self.modules.into(),
            self.uncertain.into(),
            self.tests_mode.clone().into(),
            self.tiers.clone().into(),
            self.test_files.into(),
            self.selected_files.into(),
            self.left_out_files.into(),
            self.left_out_ms.into(),
            self.workers.into(),
            self.baseline_ms.into(),
            self.baseline_cached.into(),
            self.after_ms.into(),
            self.tests_passed.into(),
            self.flaky.into(),
            self.p_tests_pass.into(),
            self.p_on_time.into(),
            self.p50_ms.into(),
            self.p85_ms.into(),
            self.p95_ms.into(),
            self.estimate_basis.clone().into(),
            self.orch_version.as_str().into(),
            self.shard_safe.into(),
        ]
    }
}

/// One phase of a run.
#[derive(Debug, Clone)]
pub(crate) struct PhaseRow {
    pub run_id: String,
    pub phase: String,
    pub duration_ms: u64,
    pub tokens: usize,
    pub status: String,
    pub retries: u32,
}

impl Row for PhaseRow {
    const TABLE: &'static str = "phases";
    const COLUMNS: &'static [Column] = &[
        ("run_id", "VARCHAR"),
        ("phase", "VARCHAR"),
        ("duration_ms", "BIGINT"),
        ("tokens", "BIGINT"),
        ("status", "VARCHAR"),
        ("retries", "BIGINT"),
    ];

    fn fields(&self) -> Vec<Field> {
        vec![
            self.run_id.as_str().into(),
            self.phase.as_str().into(),
            self.duration_ms.into(),
            self.tokens.into(),
            self.status.as_str().into(),
            u64::from(self.retries).into(),
        ]
    }
}

/// When a test ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// On the untouched tree.
    Baseline,
    /// After the edits.
    After,
    /// Alone again, after failing (flaky or not).
    Rerun,
    /// On the untouched tree, with orch's call tracing (the outcomes are
    /// the baseline's; the times, about twice the untraced ones, are not
    /// used to estimate runs).
    Traced,
}

impl Stage {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Stage::Baseline => "baseline",
            Stage::After => "after",
            Stage::Rerun => "rerun",
            Stage::Traced => "traced",
        }
    }
}

/// One run of one test.
#[derive(Debug, Clone)]
pub(crate) struct TestRow {
    pub run_id: String,
    /// pytest's node id (`tests/test_a.py::TestK::test_x`), or the JUnit id
    /// when the file is unknown.
    pub test_id: String,
    /// The id pytest's report gives it (`classname::name`), as run results
    /// list failures (not recorded).
    pub junit_id: String,
    pub file: Option<String>,
    pub stage: Stage,
    pub attempt: u32,
    pub outcome: crate::junit::Outcome,
    pub duration_ms: f64,
    /// Only some tests of its file ran (its time is no sample of the
    /// file's).
    pub partial: bool,
}

impl Row for TestRow {
    const TABLE: &'static str = "tests";
    const COLUMNS: &'static [Column] = &[
        ("run_id", "VARCHAR"),
        ("test_id", "VARCHAR"),
        ("file", "VARCHAR"),
        ("stage", "VARCHAR"),
        ("attempt", "BIGINT"),
        ("outcome", "VARCHAR"),
        ("duration_ms", "DOUBLE"),
        // Added later: older records read it as null (whole files).
        ("partial", "BOOLEAN"),
    ];

    fn fields(&self) -> Vec<Field> {
        vec![
            self.run_id.as_str().into(),
            self.test_id.as_str().into(),
            self.file.clone().into(),
            self.stage.as_str().into(),
            u64::from(self.attempt).into(),
            self.outcome.as_str().into(),
            self.duration_ms.into(),
            self.partial.into(),
        ]
    }
}

/// What one run leaves in the history.
#[derive(Debug, Clone, Default)]
pub(crate) struct Entry {
    pub run: RunRow,
    pub phases: Vec<PhaseRow>,
    pub tests: Vec<TestRow>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("run history: cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("run history: {0}")]
    Query(String),
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

/// A CSV field: text always quoted (a quote doubled), null empty.
fn write_field(out: &mut String, field: &Field) {
    match field {
        Field::Text(Some(text)) => {
            out.push('"');
            out.push_str(&text.replace('"', "\"\""));
            out.push('"');
        }
        Field::Int(Some(n)) => {
            let _ = write!(out, "{n}");
        }
        Field::Float(Some(x)) => {
            let _ = write!(out, "{x}");
        }
        Field::Bool(Some(b)) => out.push_str(if *b { "true" } else { "false" }),
        Field::Text(None) | Field::Int(None) | Field::Float(None) | Field::Bool(None) => {}
    }
}

/// The CSV text of `rows`, with a header.
pub(crate) fn csv<R: Row>(rows: &[R]) -> String {
    let mut out = String::new();
    let header: Vec<&str> = R::COLUMNS.iter().map(|(name, _)| *name).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for row in rows {
        for (i, field) in row.fields().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_field(&mut out, field);
        }
        out.push('\n');
    }
    out
}

/// `YYYY-MM-DD HH:MM:SS.mmm` (UTC) of `time`.
pub(crate) fn timestamp(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(time)
        .to_string()
        .trim_end_matches('Z')
        .replace('T', " ")
}

/// One project's history directory.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pub dir: PathBuf,
}

/// What a killed run left, as found and recorded by a later run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recovered {
    pub run_id: String,
    pub command: String,
    /// The record was complete (killed between writing and renaming).
    pub complete: bool,
}

impl std::fmt::Display for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.complete {
            write!(
                f,
                "run {} (`{}`) was killed as it saved its history; its record is kept",
                self.run_id, self.command
            )
        } else {
            write!(
                f,
                "run {} (`{}`) was killed before it finished: recorded as killed, without phase or test results",
                self.run_id, self.command
            )
        }
    }
}

/// The owner file of a partial record: who writes it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Owner {
    pid: u32,
    start: u64,
    run: OwnerRun,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct OwnerRun {
    run_id: String,
    project_id: String,
    project: String,
    started_at: String,
    mode: String,
    command: String,
}

impl Store {
    /// The history of the project whose state directory is `project_dir`.
    pub(crate) fn new(project_dir: &Path) -> Self {
        Store {
            dir: project_dir.join("history"),
        }
    }

    fn partial_dir(&self) -> PathBuf {
        self.dir.join(".partial")
    }

    /// Claims a partial record for a run starting now: if the run is
    /// killed, the next run records it as `killed`.
    pub(crate) fn begin(&self, run: &RunRow) -> Result<Pending, Error> {
        let dir = self.partial_dir().join(&run.run_id);
        std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
        let pid = std::process::id();
        let owner = Owner {
            pid,
            start: crate::sys::process_start(pid).unwrap_or(0),
            run: OwnerRun {
                run_id: run.run_id.clone(),
                project_id: run.project_id.clone(),
                project: run.project.clone(),
                started_at: run.started_at.clone(),
                mode: run.mode.clone(),
                command: run.command.clone(),
            },
        };
        let path = dir.join("owner.json");
        let text = serde_json::to_vec(&owner).unwrap_or_default();
        std::fs::write(&path, text).map_err(io("write", &path))?;
        Ok(Pending {
            store: self.clone(),
            dir,
            run_id: run.run_id.clone(),
        })
    }

    /// Finalises the partial records whose owners are dead: a complete one
    /// is moved into place, an incomplete one becomes a `killed` run.
    pub(crate) fn recover(&self) -> Vec<Recovered> {
        let mut recovered = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.partial_dir()) else {
            return recovered;
        };
        for entry in entries.flatten() {
            let dir = entry.path();
            let run_id = entry.file_name().to_string_lossy().into_owned();
            let owner: Option<Owner> = std::fs::read(dir.join("owner.json"))
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok());
            if let Some(owner) = &owner
                && crate::sys::process_start(owner.pid).is_some_and(|start| start == owner.start)
            {
                continue;
            }
            let complete = dir.join("complete").is_file();
            let command = owner
                .as_ref()
                .map(|o| o.run.command.clone())
                .unwrap_or_default();
            if !complete {
                for table in [PhaseRow::TABLE, TestRow::TABLE] {
                    let _ = std::fs::remove_file(dir.join(format!("{table}.csv")));
                }
                let Some(owner) = owner else {
                    // Not even its owner was written: nothing to record.
                    let _ = std::fs::remove_dir_all(&dir);
                    continue;
                };
                let row = RunRow {
                    run_id: owner.run.run_id,
                    project_id: owner.run.project_id,
                    project: owner.run.project,
                    started_at: owner.run.started_at,
                    mode: owner.run.mode,
                    command: owner.run.command,
                    outcome: "killed".into(),
                    stop_reason: Some("killed".into()),
                    orch_version: env!("CARGO_PKG_VERSION").into(),
                    ..RunRow::default()
                };
                if write_table(&dir, &[row]).is_err() {
                    continue;
                }
            }
            let target = self.dir.join(&run_id);
            // Another run may have recovered it first: fine.
            if std::fs::rename(&dir, &target).is_ok() {
                recovered.push(Recovered {
                    run_id,
                    command,
                    complete,
                });
            }
        }
        recovered
    }

    /// The complete records, oldest first (run ids sort by time).
    pub(crate) fn runs(&self) -> Vec<PathBuf> {
        let mut runs: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                    .map(|e| e.path())
                    .filter(|p| p.join("runs.csv").is_file())
                    .collect()
            })
            .unwrap_or_default();
        runs.sort();
        runs
    }

    /// Removes the oldest records beyond `keep`; how many went.
    pub(crate) fn prune(&self, keep: usize) -> usize {
        let runs = self.runs();
        let excess = runs.len().saturating_sub(keep.max(1));
        let mut removed = 0;
        for dir in &runs[..excess] {
            if std::fs::remove_dir_all(dir).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

fn write_table<R: Row>(dir: &Path, rows: &[R]) -> Result<(), Error> {
    let path = dir.join(format!("{}.csv", R::TABLE));
    let mut file = std::fs::File::create(&path).map_err(io("create", &path))?;
    file.write_all(csv(rows).as_bytes())
        .map_err(io("write", &path))?;
    file.sync_all().map_err(io("sync", &path))
}

/// A run's record in progress.
#[derive(Debug)]
pub(crate) struct Pending {
    store: Store,
    dir: PathBuf,
    run_id: String,
}

impl Pending {
    /// Writes the record and moves it into place; then removes the oldest
    /// records beyond `keep`.
    pub(crate) fn finish(self, entry: &Entry, keep: usize) -> Result<PathBuf, Error> {
        write_table(&self.dir, std::slice::from_ref(&entry.run))?;
        write_table(&self.dir, &entry.phases)?;
        write_table(&self.dir, &entry.tests)?;
        let marker = self.dir.join("complete");
        std::fs::write(&marker, b"").map_err(io("write", &marker))?;
        let target = self.store.dir.join(&self.run_id);
        std::fs::rename(&self.dir, &target).map_err(io("move into place", &target))?;
        if let Ok(dir) = std::fs::File::open(&self.store.dir) {
            let _ = dir.sync_all();
        }
        self.store.prune(keep);
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str) -> RunRow {
        RunRow {
            run_id: id.into(),
            project_id: "p1".into(),
            project: "/repo".into(),
            started_at: "2026-12-05 03:00:00".into(),
            mode: "run".into(),
            command: "rename function \"a\" to b,\nc".into(),
            outcome: "success".into(),
            orch_version: "0.1.0".into(),
            ..RunRow::default()
        }
    }

    #[test]
    fn csv_quotes_text_and_leaves_nulls_empty() {
        let text = csv(&[run("r1")]);
        let mut lines = text.lines();
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("run_id,project_id,project,started_at")
        );
        assert!(text.contains(r#""rename function ""a"" to b,"#), "{text}");
        // kind, plan_id and base_commit are null: empty, unquoted.
        assert!(text.contains(r#","success","#), "{text}");
        assert!(text.contains("c\",,,,\"success\""), "{text}");
    }

    #[test]
    fn records_appear_whole_and_killed_runs_are_recovered() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let pending = store.begin(&run("20261205T030000Z-aaaa")).unwrap();
        // In progress: not visible.
        assert!(store.runs().is_empty());
        // Its owner (this process) is alive: not recovered.
        assert!(store.recover().is_empty());
        let entry = Entry {
            run: run("20261205T030000Z-aaaa"),
            ..Entry::default()
        };
        pending.finish(&entry, 10).unwrap();
        assert_eq!(store.runs().len(), 1);

        // A run whose owner died before writing anything but its owner.
        let killed = store.partial_dir().join("20261205T030100Z-bbbb");
        std::fs::create_dir_all(&killed).unwrap();
        let owner = Owner {
            pid: u32::MAX - 1,
            start: 1,
            run: OwnerRun {
                run_id: "20261205T030100Z-bbbb".into(),
                project_id: "p1".into(),
                project: "/repo".into(),
                started_at: "2026-12-05 03:01:00".into(),
                mode: "run".into(),
                command: "rename function x to y".into(),
            },
        };
        std::fs::write(
            killed.join("owner.json"),
            serde_json::to_vec(&owner).unwrap(),
        )
        .unwrap();
        // Half a tests file: dropped.
        std::fs::write(killed.join("tests.csv"), "run_id,test_id\n\"2026").unwrap();
        let recovered = store.recover();
        assert_eq!(recovered.len(), 1);
        assert!(!recovered[0].complete);
        assert!(recovered[0].to_string().contains("recorded as killed"));
        let runs = store.runs();
        assert_eq!(runs.len(), 2);
        let text = std::fs::read_to_string(runs[1].join("runs.csv")).unwrap();
        assert!(text.contains("\"killed\""), "{text}");
        assert!(!runs[1].join("tests.csv").exists());
        assert!(store.recover().is_empty());

        // Retention: the oldest go first.
        for i in 0..3 {
            let id = format!("20261205T04000{i}Z-cccc");
            let pending = store.begin(&run(&id)).unwrap();
            pending
                .finish(
                    &Entry {
                        run: run(&id),
                        ..Entry::default()
                    },
                    3,
                )
                .unwrap();
        }
        let names: Vec<String> = store
            .runs()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "20261205T040000Z-cccc",
                "20261205T040001Z-cccc",
                "20261205T040002Z-cccc"
            ]
        );
    }
}
