//! The history, queried: an in-memory DuckDB database whose tables `runs`,
//! `phases` and `tests` are read from the complete records (CSV) of one
//! project or of every project. Nothing here writes the history.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Column, Error, PhaseRow, Row, RunRow, Store, TestRow};

/// A query's result, every value as text (`None`: null).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub(crate) struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Table {
    /// The value in `row` under `column`.
    pub(crate) fn get(&self, row: usize, column: &str) -> Option<&str> {
        let i = self.columns.iter().position(|c| c == column)?;
        self.rows.get(row)?.get(i)?.as_deref()
    }

    pub(crate) fn f64(&self, row: usize, column: &str) -> Option<f64> {
        self.get(row, column)?.parse().ok()
    }
}

/// What a test's history says about it (only tests that ever failed).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TestHistory {
    pub runs: u64,
    pub failures: u64,
    /// Its latest result was a failure.
    pub last_failed: bool,
    /// It both passed and failed on the same code (a baseline at one
    /// commit, or the edited tree of one run): flaky.
    pub flipped: bool,
}

/// The history of `stores`, loaded into DuckDB.
pub(crate) struct Db {
    conn: duckdb::Connection,
    /// Complete records read.
    pub records: usize,
}

fn sql_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn columns_struct(columns: &[Column]) -> String {
    let fields: Vec<String> = columns
        .iter()
        .map(|(name, kind)| format!("{}: {}", sql_string(name), sql_string(kind)))
        .collect();
    format!("{{{}}}", fields.join(", "))
}

fn create_table<R: Row>(conn: &duckdb::Connection, files: &[PathBuf]) -> Result<(), Error> {
    let sql = if files.is_empty() {
        let columns: Vec<String> = R::COLUMNS
            .iter()
            .map(|(name, kind)| format!("\"{name}\" {kind}"))
            .collect();
        format!("CREATE TABLE {} ({})", R::TABLE, columns.join(", "))
    } else {
        let list: Vec<String> = files
            .iter()
            .map(|f| sql_string(&f.to_string_lossy()))
            .collect();
        format!(
            "CREATE TABLE {} AS SELECT * FROM read_csv([{}], header = true, auto_detect = false, \
             delim = ',', quote = '\"', escape = '\"', null_padding = true, parallel = false, columns = {})",
            R::TABLE,
            list.join(", "),
            columns_struct(R::COLUMNS)
        )
    };
    conn.execute_batch(&sql)
        .map_err(|e| Error::Query(format!("cannot read the {} records: {e}", R::TABLE)))
}

/// Text of a DuckDB value.
fn text(value: duckdb::types::Value) -> Option<String> {
    use duckdb::types::{TimeUnit, Value};
    Some(match value {
        Value::Null => return None,
        Value::Boolean(b) => b.to_string(),
        Value::TinyInt(n) => n.to_string(),
        Value::SmallInt(n) => n.to_string(),
        Value::Int(n) => n.to_string(),
        Value::BigInt(n) => n.to_string(),
        Value::HugeInt(n) => n.to_string(),
        Value::UHugeInt(n) => n.to_string(),
        Value::UTinyInt(n) => n.to_string(),
        Value::USmallInt(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::UBigInt(n) => n.to_string(),
        Value::Float(x) => format_float(f64::from(x)),
        Value::Double(x) => format_float(x),
        Value::Text(s) | Value::Enum(s) => s,
        Value::Timestamp(unit, n) => {
            let micros = match unit {
                TimeUnit::Second => n.saturating_mul(1_000_000),
                TimeUnit::Millisecond => n.saturating_mul(1_000),
                TimeUnit::Microsecond => n,
                TimeUnit::Nanosecond => n / 1_000,
            };
            let time = std::time::UNIX_EPOCH
                + std::time::Duration::from_micros(u64::try_from(micros).unwrap_or(0));
            super::timestamp(time)
        }
        Value::List(items) | Value::Array(items) => {
            let items: Vec<String> = items
                .into_iter()
                .map(|v| text(v).unwrap_or_else(|| "NULL".into()))
                .collect();
            format!("[{}]", items.join(", "))
        }
        other => format!("{other:?}"),
    })
}

/// A float without noise: integers as integers, else up to 4 decimals.
fn format_float(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let text = format!("{x:.4}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

impl Db {
    /// The history of one project (its state directory).
    pub(crate) fn project(project_dir: &Path) -> Result<Db, Error> {
        Db::open(&[Store::new(project_dir)], true)
    }

    /// The history of every project under `state_home`.
    pub(crate) fn all(state_home: &Path) -> Result<Db, Error> {
        Db::open(&Self::stores(state_home), true)
    }

    /// Every project's runs, without their phases and tests (empty
    /// tables): the one-row files, for machine-wide figures.
    pub(crate) fn all_runs(state_home: &Path) -> Result<Db, Error> {
        Db::open(&Self::stores(state_home), false)
    }

    fn stores(state_home: &Path) -> Vec<Store> {
        std::fs::read_dir(state_home.join("projects"))
            .map(|entries| entries.flatten().map(|e| Store::new(&e.path())).collect())
            .unwrap_or_default()
    }

    /// The records of `stores`; their phases and tests only if `details`.
    fn open(stores: &[Store], details: bool) -> Result<Db, Error> {
        let conn = duckdb::Connection::open_in_memory()
            .map_err(|e| Error::Query(format!("cannot start DuckDB: {e}")))?;
        let (mut runs, mut phases, mut tests) = (Vec::new(), Vec::new(), Vec::new());
        for store in stores {
            for dir in store.runs() {
                runs.push(dir.join("runs.csv"));
                if !details {
                    continue;
                }
                for (table, files) in [("phases", &mut phases), ("tests", &mut tests)] {
                    let file = dir.join(format!("{table}.csv"));
                    if file.is_file() {
                        files.push(file);
                    }
                }
            }
        }
        create_table::<RunRow>(&conn, &runs)?;
        create_table::<PhaseRow>(&conn, &phases)?;
        create_table::<TestRow>(&conn, &tests)?;
        Ok(Db {
            conn,
            records: runs.len(),
        })
    }

    /// Runs `sql` and returns its result as text.
    pub(crate) fn table(&self, sql: &str) -> Result<Table, Error> {
        let sql = sql.trim().trim_end_matches(';');
        let mut statement = self
            .conn
            .prepare(sql)
            .map_err(|e| Error::Query(e.to_string()))?;
        let mut rows = statement
            .query([])
            .map_err(|e| Error::Query(e.to_string()))?;
        let columns = rows.as_ref().map(|s| s.column_names()).unwrap_or_default();
        let mut out = Table {
            columns,
            rows: Vec::new(),
        };
        while let Some(row) = rows.next().map_err(|e| Error::Query(e.to_string()))? {
            let mut values = Vec::with_capacity(out.columns.len());
            for i in 0..out.columns.len() {
                let value: duckdb::types::Value =
                    row.get(i).map_err(|e| Error::Query(e.to_string()))?;
                values.push(text(value));
            }
            out.rows.push(values);
        }
        Ok(out)
    }

    /// Per test file, its recent test times (ms, the sum of its tests' in
    /// one run; the last 20 runs of it).
    pub(crate) fn file_samples(&self) -> Result<BTreeMap<String, Vec<f64>>, Error> {
        let table = self.table(
            "SELECT file, ms FROM (
               SELECT file, run_id, stage, sum(tests.duration_ms) AS ms,
                      row_number() OVER (PARTITION BY file ORDER BY any_value(started_at) DESC, run_id DESC, stage) AS n
               FROM tests JOIN runs USING (run_id) WHERE file IS NOT NULL AND stage NOT IN ('rerun', 'traced')
                 AND NOT coalesce(partial, false)
               GROUP BY file, run_id, stage)
             WHERE n <= 20 ORDER BY file, n",
        )?;
        let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for i in 0..table.rows.len() {
            if let (Some(file), Some(ms)) = (table.get(i, "file"), table.f64(i, "ms")) {
                samples.entry(file.to_owned()).or_default().push(ms);
            }
        }
        Ok(samples)
    }

    /// Per test (node id), its median time (ms) over its last 5 runs, the
    /// traced ones included (slower, so the estimate errs long) when there
    /// are no others: what a selection of single tests is estimated from.
    pub(crate) fn test_ms(&self) -> Result<BTreeMap<String, f64>, Error> {
        let table = self.table(
            "SELECT test_id, median(duration_ms) AS ms FROM (
               SELECT test_id, tests.duration_ms, row_number() OVER (
                        PARTITION BY test_id
                        ORDER BY stage = 'traced', started_at DESC, run_id DESC) AS n
               FROM tests JOIN runs USING (run_id)
               WHERE file IS NOT NULL AND stage <> 'rerun' AND tests.duration_ms IS NOT NULL)
             WHERE n <= 5 GROUP BY test_id",
        )?;
        let mut out = BTreeMap::new();
        for i in 0..table.rows.len() {
            if let (Some(id), Some(ms)) = (table.get(i, "test_id"), table.f64(i, "ms")) {
                out.insert(id.to_owned(), ms);
            }
        }
        Ok(out)
    }

    /// The tests that ever failed, with what history says about them.
    pub(crate) fn failing_tests(&self) -> Result<BTreeMap<String, TestHistory>, Error> {
        let table = self.table(
            "WITH t AS (
               SELECT tests.*, runs.base_commit, epoch_ms(runs.started_at) AS at_ms,
                      CASE WHEN stage IN ('baseline', 'traced') THEN 'base:' || coalesce(runs.base_commit, '')
                           ELSE 'edit:' || tests.run_id END AS code
               FROM tests JOIN runs USING (run_id)
               WHERE test_id IN (SELECT test_id FROM tests WHERE outcome IN ('failed', 'error'))),
             flips AS (
               SELECT test_id FROM t GROUP BY test_id, code
               HAVING bool_or(outcome IN ('failed', 'error')) AND bool_or(outcome = 'passed'))
             SELECT test_id, count(*) AS runs,
                    count(*) FILTER (WHERE outcome IN ('failed', 'error')) AS failures,
                    arg_max(outcome, at_ms * 100 + CASE stage WHEN 'baseline' THEN 0 WHEN 'traced' THEN 0 WHEN 'after' THEN 10 ELSE 20 END + attempt) AS last,
                    test_id IN (SELECT test_id FROM flips) AS flipped
             FROM t GROUP BY test_id",
        )?;
        let mut out = BTreeMap::new();
        for i in 0..table.rows.len() {
            let Some(id) = table.get(i, "test_id") else {
                continue;
            };
            out.insert(
                id.to_owned(),
                TestHistory {
                    runs: table.f64(i, "runs").unwrap_or(0.0) as u64,
                    failures: table.f64(i, "failures").unwrap_or(0.0) as u64,
                    last_failed: matches!(table.get(i, "last"), Some("failed" | "error")),
                    flipped: table.get(i, "flipped") == Some("true"),
                },
            );
        }
        Ok(out)
    }

    /// This history's test speed: (ms per test file, runs measured), the
    /// median over runs of a test run's wall time per file it ran.
    pub(crate) fn ms_per_test_file(&self) -> Result<Option<(f64, u64)>, Error> {
        let table = self.table(
            "SELECT median(ms / files) AS per_file, count(*) AS n FROM (
               SELECT after_ms AS ms, selected_files AS files FROM runs
               WHERE after_ms IS NOT NULL AND selected_files > 0
               UNION ALL
               SELECT baseline_ms, selected_files FROM runs
               WHERE baseline_ms IS NOT NULL AND NOT coalesce(baseline_cached, false) AND selected_files > 0)",
        )?;
        Ok(match (table.f64(0, "per_file"), table.f64(0, "n")) {
            (Some(per_file), Some(n)) if n >= 1.0 => Some((per_file, n as u64)),
            _ => None,
        })
    }

    /// The time of one test (ms): all measured tests' time over their
    /// number (a mean: test times have long tails, and an estimate that
    /// errs should err long), once tests of at least 5 files were measured
    /// (not the traced runs, nor re-runs); `None` before.
    pub(crate) fn ms_per_test(&self) -> Result<Option<f64>, Error> {
        let table = self.table(
            "SELECT sum(duration_ms) / count(*) AS per_test, count(DISTINCT file) AS files
             FROM tests WHERE file IS NOT NULL AND stage IN ('baseline', 'after')",
        )?;
        Ok(match (table.f64(0, "per_test"), table.f64(0, "files")) {
            (Some(ms), Some(files)) if files >= 5.0 && ms.is_finite() && ms >= 0.0 => Some(ms),
            _ => None,
        })
    }

    /// The recent durations (ms) of `phase` where it succeeded (the last 50).
    pub(crate) fn phase_samples(&self, phase: &str) -> Result<Vec<f64>, Error> {
        let table = self.table(&format!(
            "SELECT phases.duration_ms FROM phases JOIN runs USING (run_id)
             WHERE phase = {} AND status = 'ok' ORDER BY started_at DESC LIMIT 50",
            sql_string(phase)
        ))?;
        Ok((0..table.rows.len())
            .filter_map(|i| table.f64(i, "duration_ms"))
            .collect())
    }

    /// A test run's time besides its tests (start-up, collection), ms: the
    /// median over runs of the wall time less the tests' times over the
    /// workers (which ran side by side, each paying the start-up). Sharded
    /// runs count: a project whose runs were all sharded (click's first
    /// runs) used to fall back to a default far below its collection time.
    pub(crate) fn run_overhead_ms(&self) -> Result<Option<f64>, Error> {
        let table = self.table(
            "SELECT median(greatest(runs.after_ms - t.ms / greatest(coalesce(runs.workers, 1), 1), 0)) AS overhead
             FROM runs
             JOIN (SELECT run_id, sum(duration_ms) AS ms FROM tests WHERE stage = 'after' GROUP BY run_id) AS t
             USING (run_id)
             WHERE runs.after_ms IS NOT NULL",
        )?;
        Ok(table.f64(0, "overhead"))
    }

    /// Whether sharding ever broke tests here (they failed only when the
    /// files were split over several pytest processes).
    pub(crate) fn shard_unsafe(&self) -> Result<bool, Error> {
        let table = self.table("SELECT count(*) AS n FROM runs WHERE shard_safe = false")?;
        Ok(table.f64(0, "n").unwrap_or(0.0) > 0.0)
    }

    /// By refactor kind, the runs whose tests ran: (runs, runs whose tests
    /// were no worse after the edit).
    /// Every run whose tests ran (not dry), with what P(tests pass) is
    /// fitted on.
    pub(crate) fn scored_runs(&self) -> Result<Vec<Scored>, Error> {
        let table = self.table(
            "SELECT kind, coalesce(sites, 0) AS sites, coalesce(files, 0) AS files,
                    coalesce(uncertain, 0) AS uncertain,
                    CASE WHEN tiers = 'all' OR coalesce(test_files, 0) = 0 THEN 1.0
                         ELSE least(1.0, coalesce(selected_files, 0) / test_files) END AS coverage,
                    tests_passed
             FROM runs WHERE tests_passed IS NOT NULL AND kind IS NOT NULL AND NOT dry_run
             ORDER BY started_at",
        )?;
        Ok((0..table.rows.len())
            .filter_map(|i| {
                Some(Scored {
                    kind: table.get(i, "kind")?.to_owned(),
                    sites: table.f64(i, "sites").unwrap_or(0.0),
                    files: table.f64(i, "files").unwrap_or(0.0),
                    uncertain: table.f64(i, "uncertain").unwrap_or(0.0),
                    coverage: table.f64(i, "coverage").unwrap_or(1.0),
                    passed: table.get(i, "tests_passed") == Some("true"),
                })
            })
            .collect())
    }

    pub(crate) fn test_outcomes(&self) -> Result<BTreeMap<String, (u64, u64)>, Error> {
        let table = self.table(
            "SELECT kind, count(*) AS n, count(*) FILTER (WHERE tests_passed) AS passed FROM runs
             WHERE tests_passed IS NOT NULL AND kind IS NOT NULL GROUP BY kind",
        )?;
        Ok((0..table.rows.len())
            .filter_map(|i| {
                let kind = table.get(i, "kind")?.to_owned();
                let n = table.f64(i, "n").unwrap_or(0.0) as u64;
                let passed = table.f64(i, "passed").unwrap_or(0.0) as u64;
                Some((kind, (n, passed)))
            })
            .collect())
    }
}

/// A past run, as P(tests pass) is fitted on it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scored {
    pub kind: String,
    pub sites: f64,
    pub files: f64,
    pub uncertain: f64,
    /// The share of the project's test files that ran (1: all).
    pub coverage: f64,
    pub passed: bool,
}

#[cfg(test)]
mod tests {
    use super::super::{Entry, Stage};
    use super::*;
    use crate::junit::Outcome;

    fn entry(id: &str, commit: &str, tests: &[(&str, Stage, Outcome, f64)]) -> Entry {
        Entry {
            run: RunRow {
                run_id: id.into(),
                project_id: "p".into(),
                project: "/r".into(),
                started_at: "2026-12-05 03:00:00".into(),
                mode: "run".into(),
                command: "rename function 'a',\nto \"b\"".into(),
                kind: Some("rename".into()),
                base_commit: Some(commit.into()),
                outcome: "success".into(),
                tests_passed: Some(true),
                p_tests_pass: Some(0.9),
                after_ms: Some(3000),
                selected_files: Some(2),
                orch_version: "0.1.0".into(),
                ..RunRow::default()
            },
            phases: vec![PhaseRow {
                run_id: id.into(),
                phase: "EXECUTE".into(),
                duration_ms: 4000,
                tokens: 12,
                status: "ok".into(),
                retries: 0,
            }],
            tests: tests
                .iter()
                .map(|(test, stage, outcome, ms)| TestRow {
                    run_id: id.into(),
                    test_id: (*test).into(),
                    junit_id: String::new(),
                    file: test.split("::").next().map(str::to_owned),
                    stage: *stage,
                    attempt: u32::from(*stage == Stage::Rerun) + 1,
                    outcome: *outcome,
                    duration_ms: *ms,
                    partial: false,
                })
                .collect(),
        }
    }

    #[test]
    fn real_duckdb_reads_the_records() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        // No history: empty tables, queries still work.
        let db = Db::project(dir.path()).unwrap();
        assert_eq!(db.records, 0);
        assert!(db.file_samples().unwrap().is_empty());
        assert!(db.test_ms().unwrap().is_empty());
        assert_eq!(db.ms_per_test_file().unwrap(), None);
        use Outcome::*;
        use Stage::*;
        let records = [
            entry(
                "20261205T030000Z-0001",
                "c1",
                &[
                    ("t/test_a.py::test_x", Baseline, Passed, 100.0),
                    ("t/test_a.py::test_y", Baseline, Passed, 50.0),
                    ("t/test_b.py::test_z", Baseline, Passed, 10.0),
                    ("t/test_a.py::test_x", After, Failed, 120.0),
                    ("t/test_a.py::test_y", After, Passed, 40.0),
                    ("t/test_b.py::test_z", After, Passed, 10.0),
                ],
            ),
            entry(
                "20261205T030100Z-0002",
                "c2",
                &[
                    ("t/test_b.py::test_z", After, Failed, 12.0),
                    ("t/test_b.py::test_z", Rerun, Passed, 11.0),
                ],
            ),
        ];
        let mut records = records;
        records[1].run.workers = Some(2);
        for record in &records {
            store
                .begin(&record.run)
                .unwrap()
                .finish(record, 10)
                .unwrap();
        }
        let db = Db::project(dir.path()).unwrap();
        assert_eq!(db.records, 2);
        let samples = db.file_samples().unwrap();
        assert_eq!(samples["t/test_a.py"], vec![160.0, 150.0]);
        assert_eq!(samples["t/test_b.py"], vec![12.0, 10.0, 10.0]);
        let failing = db.failing_tests().unwrap();
        assert_eq!(failing.len(), 2);
        let x = &failing["t/test_a.py::test_x"];
        assert_eq!(
            (x.runs, x.failures, x.last_failed, x.flipped),
            (2, 1, true, false)
        );
        let z = &failing["t/test_b.py::test_z"];
        assert_eq!(
            (z.runs, z.failures, z.last_failed, z.flipped),
            (4, 1, false, true)
        );
        assert_eq!(db.ms_per_test_file().unwrap(), Some((1500.0, 2)));
        // Start-up and collection: the wall time less the tests' (over the
        // workers, which ran side by side): 3000 - 170 and 3000 - 12 / 2.
        assert_eq!(db.run_overhead_ms().unwrap(), Some(2912.0));
        // Tests of 2 files measured: too few for a time per test.
        assert_eq!(db.ms_per_test().unwrap(), None);
        assert_eq!(db.phase_samples("EXECUTE").unwrap(), vec![4000.0, 4000.0]);
        assert_eq!(db.test_outcomes().unwrap()["rename"], (2, 2));
        let scored = db.scored_runs().unwrap();
        assert_eq!(scored.len(), 2);
        assert!(
            scored
                .iter()
                .all(|s| s.passed && s.kind == "rename" && s.coverage == 1.0),
            "{scored:?}"
        );
        // Per test: the median of its recent runs, re-runs left out.
        let per_test = db.test_ms().unwrap();
        assert_eq!(per_test["t/test_a.py::test_x"], 110.0);
        assert_eq!(per_test["t/test_b.py::test_z"], 10.0);
        // A run of some tests of a file is no sample of the file's time.
        let mut partial = entry(
            "20261205T030150Z-0004",
            "c3",
            &[("t/test_a.py::test_x", After, Passed, 5.0)],
        );
        partial.tests[0].partial = true;
        store
            .begin(&partial.run)
            .unwrap()
            .finish(&partial, 10)
            .unwrap();
        let db = Db::project(dir.path()).unwrap();
        assert_eq!(
            db.file_samples().unwrap()["t/test_a.py"],
            vec![160.0, 150.0]
        );
        assert_eq!(db.test_ms().unwrap()["t/test_a.py::test_x"], 100.0);
        // Text survives quoting; timestamps are timestamps.
        let table = db
            .table("SELECT command, started_at + INTERVAL 1 HOUR AS later FROM runs LIMIT 1;")
            .unwrap();
        assert_eq!(
            table.get(0, "command"),
            Some("rename function 'a',\nto \"b\"")
        );
        assert_eq!(table.get(0, "later"), Some("2026-12-05 04:00:00.000"));
        assert!(db.table("SELECT nonsense FROM runs").is_err());

        // A record written before a column was added reads with a null.
        let old = dir.path().join("history/20261205T030200Z-0003");
        std::fs::create_dir_all(&old).unwrap();
        let text = super::super::csv(&[records[0].run.clone()]);
        let (header, row) = text.trim_end().split_once('\n').unwrap();
        let header = header.trim_end_matches(",shard_safe");
        let row = row.strip_suffix(',').unwrap_or(row);
        std::fs::write(old.join("runs.csv"), format!("{header}\n{row}\n")).unwrap();
        let mut tests = records[0].tests[..1].to_vec();
        tests[0].run_id = "20261205T030200Z-0003".into();
        let text = super::super::csv(&tests);
        let (header, row) = text.trim_end().split_once('\n').unwrap();
        let header = header.trim_end_matches(",partial");
        let row = row.strip_suffix(",false").unwrap_or(row);
        std::fs::write(old.join("tests.csv"), format!("{header}\n{row}\n")).unwrap();
        let db = Db::project(dir.path()).unwrap();
        let table = db
            .table("SELECT count(*) AS n, count(shard_safe) AS known FROM runs")
            .unwrap();
        assert_eq!(table.get(0, "n"), Some("4"));
        assert_eq!(table.get(0, "known"), Some("0"));
        let table = db
            .table("SELECT count(*) AS n, count(partial) AS known FROM tests WHERE run_id LIKE '%0003'")
            .unwrap();
        assert_eq!(table.get(0, "n"), Some("1"));
        assert_eq!(table.get(0, "known"), Some("0"));
    }
}
