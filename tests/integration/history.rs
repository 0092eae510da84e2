//! The run history: every run is recorded (DuckDB reads the records),
//! `orch history` and `orch stats` show it, and it changes what later runs
//! do: flaky tests are re-run alone, likely failures go first.

use crate::TestContext;
use crate::support::git;

/// A test that fails or passes as a sequence file says (one letter per
/// run of it: `F` fails), and imports the package so changes reach it.
fn add_a_flaky_test(t: &TestContext) -> std::path::PathBuf {
    std::fs::write(
        t.repo.join("tests/test_flaky.py"),
        r#"import os

import shop  # noqa: F401 (so the change can affect it)


def test_sometimes():
    path = os.environ.get("FLAKY_SEQUENCE")
    if not path:
        return
    with open(path) as f:
        sequence = f.read()
    with open(path, "w") as f:
        f.write(sequence[1:])
    assert sequence[:1] != "F", "flaked"
"#,
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "a flaky test"]);
    t.scratch.join("flaky-sequence")
}

fn column<'a>(section: &'a serde_json::Value, name: &str) -> Vec<&'a serde_json::Value> {
    let i = section["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name}: {section}"));
    section["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| &row[i])
        .collect()
}

/// A test that failed on the baseline and fails after the edit is re-run
/// alone; passing, it is flaky: reported, recorded, not blocking. Once the
/// history has seen it flip, a new failure of it after an edit is re-run
/// too (and does not stop the run).
#[test]
fn flaky_tests_are_rerun_alone_and_the_history_remembers_them() {
    let t = TestContext::fixture("shop");
    let sequence = add_a_flaky_test(&t);
    // Baseline fails, after the edit fails, alone it passes.
    std::fs::write(&sequence, "FFP").unwrap();
    let out = t.output(
        t.command(&["run", "--yes", "rename function make_str to make_text"])
            .env("FLAKY_SEQUENCE", &sequence),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(
            "flaky: 1 test(s) failed after the edit and passed alone: tests/test_flaky.py::test_sometimes"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&sequence).unwrap(), "");

    // The baseline passes, the edit's run fails: a new failure, but the
    // history saw this test flip, so it is re-run alone and passes. (A new
    // commit, so the baseline is not the cached one.)
    std::fs::write(t.repo.join("NOTES"), "notes\n").unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "notes"]);
    std::fs::write(&sequence, "PFP").unwrap();
    let out = t.output(
        t.command(&["run", "--yes", "rename function describe to summarize"])
            .env("FLAKY_SEQUENCE", &sequence),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("flaky: 1 test(s)"), "{}", out.stderr);

    // Without that history (a new project), the same failure stops the run.
    let fresh = TestContext::fixture("shop");
    let fresh_sequence = add_a_flaky_test(&fresh);
    std::fs::write(&fresh_sequence, "PFP").unwrap();
    let out = fresh.output(
        fresh
            .command(&["run", "--yes", "rename function describe to summarize"])
            .env("FLAKY_SEQUENCE", &fresh_sequence),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("tests are worse after the edit"),
        "{}",
        out.stderr
    );

    // The history: two runs, each with its tests, phases and rerun.
    let history = t.run(&["history", "--json"]).json();
    let runs = &history["sections"][0];
    assert_eq!(column(runs, "outcome"), ["success", "success"], "{history}");
    assert_eq!(column(runs, "flaky"), ["1", "1"], "{history}");
    assert_eq!(column(runs, "kind"), ["rename", "rename"], "{history}");
    let reruns = t
        .run(&[
            "stats",
            "--json",
            "--sql",
            "SELECT test_id, outcome, attempt FROM tests WHERE stage = 'rerun' ORDER BY run_id",
        ])
        .json();
    let result = &reruns["sections"][0];
    assert_eq!(
        column(result, "test_id"),
        [
            "tests/test_flaky.py::test_sometimes",
            "tests/test_flaky.py::test_sometimes"
        ]
    );
    assert_eq!(column(result, "outcome"), ["passed", "passed"]);
    assert_eq!(column(result, "attempt"), ["2", "2"]);
    // Every phase of both runs, and the tests of the suite with times.
    let counts = t
        .run(&[
            "stats",
            "--json",
            "--sql",
            "SELECT (SELECT count(*) FROM phases) AS phases, \
             (SELECT count(DISTINCT test_id) FROM tests) AS tests, \
             (SELECT count(*) FROM tests WHERE duration_ms IS NULL) AS untimed",
        ])
        .json();
    let counts = &counts["sections"][0];
    assert_eq!(column(counts, "phases"), ["14"], "{counts}");
    assert_eq!(column(counts, "tests"), ["5"], "{counts}");
    assert_eq!(column(counts, "untimed"), ["0"], "{counts}");

    // The statistics: by kind, phases, flakiest tests; calibration needs
    // more runs and says so.
    let out = t.run(&["stats"]);
    assert_eq!(out.code, 0, "{out:?}");
    for heading in [
        "== by kind",
        "== phases",
        "== tests",
        "== slowest tests",
        "== flakiest tests",
    ] {
        assert!(out.stdout.contains(heading), "{heading}: {}", out.stdout);
    }
    assert!(
        out.stdout.contains("tests/test_flaky.py::test_sometimes"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains(
            "calibration of P(tests pass): not enough runs yet (2 with tests; 10 needed)"
        ),
        "{}",
        out.stderr
    );
    let stats = t.run(&["stats", "--json"]).json();
    let by_kind = stats["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "by kind")
        .unwrap();
    assert_eq!(column(by_kind, "runs"), ["2"], "{by_kind}");
    assert_eq!(column(by_kind, "success_pct"), ["100"], "{by_kind}");
    // Every project's history together.
    let all = t.run(&["history", "--all-projects", "--json"]).json();
    assert_eq!(all["records"], 2, "{all}");

    // A bad query is a usage error that names the tables.
    let out = t.run(&["stats", "--sql", "SELECT nonsense FROM runs"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("runs, phases and tests"),
        "{}",
        out.stderr
    );
}

/// With history, the run after one that failed a test puts that test's
/// file first, and the estimate of when the run ends is made from the
/// measured times (no longer the default).
#[test]
fn history_orders_the_tests_and_times_the_estimate() {
    let t = TestContext::fixture("shop");
    let first = t.run(&["run", "--json", "rename function make_str to make_text"]);
    assert_eq!(first.code, 0, "{first:?}");
    let basis = first.record()["details"]["risk"]["finish"]["basis"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        basis.contains("no test runs measured on this machine yet"),
        "{basis}"
    );
    // A change that breaks a test: its run stops, its failure is recorded.
    std::fs::write(
        t.repo.join("tests/test_zz_last.py"),
        "import shop.util\n\n\ndef test_describe_exists():\n    assert hasattr(shop.util, 'describe')\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(
        &t.repo,
        &["commit", "-q", "-m", "a test that names describe"],
    );
    let broken = t.run(&["run", "--json", "rename function describe to summarize"]);
    assert_eq!(broken.code, 1, "{broken:?}");
    let next = t.run(&["run", "--json", "rename function describe to summarize"]);
    assert_eq!(next.code, 1, "{next:?}");
    let next = next.record();
    let schedule = &next["details"]["schedule"];
    assert_eq!(
        schedule["selection"][0], "tests/test_zz_last.py",
        "{schedule}"
    );
    assert!(
        schedule["order"]
            .as_str()
            .unwrap()
            .starts_with("1 file(s) with tests that failed last time first"),
        "{schedule}"
    );
    let basis = next["details"]["risk"]["finish"]["basis"].as_str().unwrap();
    assert!(basis.contains("recent runs here"), "{basis}");
    assert!(!basis.contains("no test runs measured"), "{basis}");
}

/// Tests that take more than a few seconds are sharded by file over
/// several pytest processes (one per core, at most 4), and their results
/// merged: every test counted once, each with its time in the history.
/// The first run, with no file timed yet and few files, does not shard.
#[test]
fn slow_suites_are_sharded_over_workers() {
    let t = TestContext::fixture("shop");
    for i in 0..4 {
        std::fs::write(
            t.repo.join(format!("tests/test_slow_{i}.py")),
            format!(
                "import time\n\nimport shop  # noqa: F401\n\n\ndef test_slow_{i}():\n    time.sleep(1.0)\n"
            ),
        )
        .unwrap();
    }
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "slow tests"]);
    let first = t.run(&["run", "--json", "rename function make_str to make_text"]);
    assert_eq!(first.code, 0, "{first:?}");
    let first = first.record();
    assert_eq!(first["details"]["schedule"]["parallelism"], 1, "{first}");
    let out = t.run(&["run", "--json", "rename function describe to summarize"]);
    assert_eq!(out.code, 0, "{out:?}");
    let second = out.record();
    let schedule = &second["details"]["schedule"];
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    assert_eq!(schedule["parallelism"], cores as u64, "{schedule}");
    let shards = schedule["shards"].as_array().map_or(0, Vec::len);
    assert_eq!(shards, if cores > 1 { cores } else { 0 }, "{schedule}");
    // Every test once: 4 slow + 4 of test_shop.
    let execute = &second["details"]["execute"];
    assert_eq!(execute["after"]["passed"], 8, "{execute}");
    if cores > 1 {
        // Side by side: each test file in exactly one shard, the four slow
        // ones spread over the shards (their times are known by now). How
        // much faster that is belongs to the benchmarks, not to a test.
        let mut files: Vec<String> = schedule["shards"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|shard| shard.as_array().unwrap().iter())
            .map(|f| f.as_str().unwrap().to_owned())
            .collect();
        let spread = schedule["shards"]
            .as_array()
            .unwrap()
            .iter()
            .all(|shard| shard.to_string().contains("test_slow_"));
        assert!(spread, "{schedule}");
        let count = files.len();
        files.sort();
        files.dedup();
        assert_eq!(files.len(), count, "{schedule}");
        assert!(
            files.iter().any(|f| f.ends_with("test_shop.py")),
            "{schedule}"
        );
    }
    let timed = t
        .run(&[
            "stats",
            "--json",
            "--sql",
            "SELECT count(*) AS n, min(duration_ms) AS fastest FROM tests \
             WHERE file LIKE 'tests/test_slow_%' AND stage = 'after' AND run_id = (SELECT max(run_id) FROM runs)",
        ])
        .json();
    let section = &timed["sections"][0];
    assert_eq!(column(section, "n"), ["4"], "{section}");
    let fastest: f64 = column(section, "fastest")[0]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(fastest >= 1000.0, "{section}");
}

/// A project that has pytest-xdist (declared, importable) runs its
/// selection in one pytest on xdist's workers, with orch's worker count
/// in place of the `-n` its `addopts` ask for: one worker (`-n 0`) while
/// nothing is measured, then as many as the schedule chose.
#[test]
fn a_project_with_pytest_xdist_runs_its_tests_on_xdist_workers() {
    let t = TestContext::fixture("shop");
    let log = t.scratch.join("workers");
    std::fs::create_dir_all(&log).unwrap();
    std::fs::write(
        t.repo.join("pytest.ini"),
        "[pytest]\n# pytest-xdist is a test dependency\naddopts = -n 3\n",
    )
    .unwrap();
    for i in 0..5 {
        std::fs::write(
            t.repo.join(format!("tests/test_slow_{i}.py")),
            format!(
                "import os\nimport time\n\nimport shop  # noqa: F401\n\n\ndef test_slow_{i}():\n    time.sleep(0.8)\n    worker = os.environ.get('PYTEST_XDIST_WORKER', 'main')\n    with open(os.path.join(os.environ['ORCH_XDIST_LOG'], '{i}-' + worker), 'a'):\n        pass\n"
            ),
        )
        .unwrap();
    }
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "slow tests, xdist"]);
    let workers = || -> std::collections::BTreeSet<String> {
        std::fs::read_dir(&log)
            .unwrap()
            .map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                name.split_once('-').unwrap().1.to_owned()
            })
            .collect()
    };
    let run = |command: &str| {
        let out = t.output(
            t.command(&["run", "--json", command, "--yes"])
                .env("ORCH_XDIST_LOG", &log),
        );
        assert_eq!(out.code, 0, "{out:?}");
        out.record()
    };
    let first = run("rename function make_str to make_text");
    let schedule = &first["details"]["schedule"];
    assert_eq!(schedule["xdist"], true, "{schedule}");
    assert_eq!(schedule["parallelism"], 1, "{schedule}");
    // `-n 0` replaced the project's `-n 3`: every test in the main process.
    assert_eq!(workers(), ["main".to_owned()].into(), "{schedule}");
    assert_eq!(first["details"]["execute"]["after"]["passed"], 9, "{first}");
    for entry in std::fs::read_dir(&log).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let second = run("rename function describe to summarize");
    let schedule = &second["details"]["schedule"];
    assert_eq!(schedule["xdist"], true, "{schedule}");
    let cores = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    assert_eq!(schedule["parallelism"], cores as u64, "{schedule}");
    let execute = &second["details"]["execute"];
    assert_eq!(execute["after"]["passed"], 9, "{execute}");
    // Every test once, per-test results from xdist's JUnit report.
    let ran = std::fs::read_dir(&log).unwrap().count();
    assert_eq!(ran, 5, "{execute}");
    let used = workers();
    if cores > 1 {
        assert!(used.iter().all(|w| w.starts_with("gw")), "{used:?}");
        assert!(used.len() > 1 && used.len() <= cores, "{used:?}");
    } else {
        assert_eq!(used, ["main".to_owned()].into());
    }
    let rows = t
        .run(&[
            "stats",
            "--json",
            "--sql",
            "SELECT count(*) AS n FROM tests WHERE file LIKE 'tests/test_slow_%' \
             AND stage = 'after' AND run_id = (SELECT max(run_id) FROM runs)",
        ])
        .json();
    assert_eq!(column(&rows["sections"][0], "n"), ["5"], "{rows}");
}

/// The first run's baseline traces which functions each test file runs
/// (orch's pytest plugin) into the project's call map; a later change
/// inside one function's body then selects by that evidence: the test file
/// that ran the function first, the ones that ran none of it in tier c,
/// although one of them names the function and the other imports its
/// module. A test file edited since its recording falls back to the static
/// tiers.
#[test]
fn a_recorded_call_map_tiers_tests_by_the_functions_they_ran() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("tests/test_price.py"),
        "from shop.util import Price\n\n\ndef test_price():\n    assert str(Price(5)) == \"0.05\"\n",
    )
    .unwrap();
    std::fs::write(
        t.repo.join("tests/test_label.py"),
        "from shop import util\n\n\ndef test_label():\n    assert util.describe.__name__ == \"describe\"\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "more tests"]);
    let first = traced_rename(&t);
    assert_eq!(first["details"]["execute"]["traced"], 3, "{first}");
    let map = call_map(&t);
    let ran = |test: &str| -> Vec<String> {
        map["tests"][test]["ran"]
            .as_array()
            .unwrap_or_else(|| panic!("{test}: {map}"))
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(ran("tests/test_shop.py").contains(&"shop/util.py::describe".to_owned()));
    assert!(ran("tests/test_price.py").contains(&"shop/util.py::Price.__str__".to_owned()));
    assert!(!ran("tests/test_label.py").contains(&"shop/util.py::describe".to_owned()));
    // The traced times are not the suite's: not used for estimates.
    let stages = t
        .run(&[
            "stats",
            "--json",
            "--sql",
            "SELECT DISTINCT stage FROM tests ORDER BY stage",
        ])
        .json();
    assert_eq!(
        column(&stages["sections"][0], "stage"),
        ["after", "traced"],
        "{stages}"
    );
    // A change inside `describe`'s body alone.
    let second = t.run(&["run", "--json", "rename parameter label of describe to tag"]);
    assert_eq!(second.code, 0, "{second:?}");
    let second = second.record();
    let reason = second["details"]["schedule"]["reason"].as_str().unwrap();
    assert!(reason.contains("(a: 1, b: 0, c: 2;"), "{reason}");
    assert!(second["details"]["execute"]["traced"].is_null(), "{second}");
    // test_label.py edited: its entry no longer holds, so the static tiers
    // place it (it names `describe`, whose edits rename: tier b), and the
    // baseline at the new commit traces it anew (by itself: the tests'
    // times are known now, and small).
    std::fs::write(
        t.repo.join("tests/test_label.py"),
        "from shop import util\n\n\ndef test_label():\n    assert util.describe.__name__.startswith(\"desc\")\n",
    )
    .unwrap();
    git(&t.repo, &["commit", "-q", "-am", "edit a test"]);
    let third = t.run(&["run", "--json", "rename parameter label of describe to tag"]);
    assert_eq!(third.code, 0, "{third:?}");
    let third = third.record();
    let reason = third["details"]["schedule"]["reason"].as_str().unwrap();
    assert!(reason.contains("(a: 1, b: 1, c: 1;"), "{reason}");
    assert_eq!(third["details"]["execute"]["traced"], 3, "{third}");
}

/// A recording per test: the first run's traced baseline records what each
/// test of `test_shop.py` ran; a later change inside `describe`'s body,
/// with too little time for the whole file (one of its tests takes 12 s),
/// runs the one test that ran `describe`, by its node id, its baseline
/// read from the file's at that commit; the rest of the file is said to be
/// left out, and the change commits.
#[test]
fn a_recording_per_test_selects_single_tests_when_time_is_short() {
    let t = TestContext::fixture("shop");
    let path = t.repo.join("tests/test_shop.py");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n\ndef test_slow():\n    import time\n\n    time.sleep(12)\n");
    std::fs::write(&path, text).unwrap();
    git(&t.repo, &["commit", "-q", "-am", "a slow test"]);
    traced_rename(&t);
    let map = call_map(&t);
    let entry = &map["tests"]["tests/test_shop.py"];
    assert_eq!(entry["itemized"], true, "{map}");
    let items: Vec<&str> = entry["items"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        items,
        [
            "test_cart_receipt",
            "test_describe",
            "test_invoice",
            "test_make_str",
            "test_slow"
        ],
        "{map}"
    );
    let second = t.run(&[
        "run",
        "--json",
        "--deadline",
        "14s",
        "rename parameter label of describe to tag",
    ]);
    assert_eq!(second.code, 0, "{second:?}");
    let second = second.record();
    let schedule = &second["details"]["schedule"];
    // Tier b is empty: a–b is tier a.
    assert_eq!(schedule["tiers"], "a–b", "{schedule}");
    assert_eq!(
        schedule["selection"],
        serde_json::json!(["tests/test_shop.py::test_describe"]),
        "{schedule}"
    );
    let reason = schedule["reason"].as_str().unwrap();
    assert!(reason.contains("ran tiers a–b: 1 test ("), "{reason}");
    assert!(
        reason.contains("recorded runs tell the tests of 1 file(s) apart"),
        "{reason}"
    );
    assert!(reason.contains("left out to meet the deadline"), "{reason}");
    assert_eq!(
        second["details"]["execute"]["baseline_cached"], true,
        "{second}"
    );
    // The one test ran after the edit, recorded as part of its file.
    let rows = t
        .run(&[
            "stats",
            "--json",
            "--sql",
            "SELECT test_id, partial FROM tests WHERE stage = 'after' \
             AND run_id = (SELECT max(run_id) FROM runs)",
        ])
        .json();
    assert_eq!(
        column(&rows["sections"][0], "test_id"),
        ["tests/test_shop.py::test_describe"],
        "{rows}"
    );
    assert_eq!(column(&rows["sections"][0], "partial"), ["true"], "{rows}");
}

/// A first run of `rename function make_str to make_text` whose baseline
/// traces calls (a first run's estimate is a default, too unsure to pay
/// for tracing on its own, `auto`: this one is asked to); its record.
fn traced_rename(t: &TestContext) -> serde_json::Value {
    let first = t.output(
        t.command(&[
            "run",
            "--json",
            "--yes",
            "rename function make_str to make_text",
        ])
        .env("ORCH_TRACE_CALLS", "always"),
    );
    assert_eq!(first.code, 0, "{first:?}");
    first.record()
}

/// The project's call map.
fn call_map(t: &TestContext) -> serde_json::Value {
    let path = walk_for(&t.state, "calls.json").expect("a call map");
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

/// The first file named `name` under `dir`.
fn walk_for(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = walk_for(&path, name) {
                return Some(found);
            }
        } else if entry.file_name() == name {
            return Some(path);
        }
    }
    None
}

/// Baselines are kept per test file at the base commit: a later run there
/// whose selection is made of files that already ran (here, in a run of the
/// whole suite) runs no baseline, and counts what they gave.
#[test]
fn a_baseline_is_reused_per_test_file_at_the_same_commit() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("tests/test_other.py"),
        "def test_unrelated():\n    assert 1 + 1 == 2\n\n\ndef test_fails_already():\n    assert False\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "another test file"]);
    let first = t.run(&[
        "run",
        "--json",
        "--tests",
        "all",
        "rename function make_str to make_text",
    ]);
    assert_eq!(first.code, 0, "{first:?}");
    let first = first.record();
    assert_eq!(first["details"]["execute"]["baseline_cached"], false);
    // Another change at the same commit, selecting test_shop.py alone.
    let out = t.run(&["run", "--json", "rename function describe to summarize"]);
    assert_eq!(out.code, 0, "{out:?}");
    let second = out.record();
    let execute = &second["details"]["execute"];
    assert_eq!(
        second["details"]["schedule"]["selection"],
        serde_json::json!(["tests/test_shop.py"]),
        "{second}"
    );
    assert_eq!(execute["baseline_cached"], true, "{execute}");
    let baseline = &execute["baseline"];
    assert_eq!(baseline["failed"], 0, "{baseline}");
    assert!(baseline["passed"].as_u64().unwrap() >= 3, "{baseline}");
}
