//! Interrupts at any point leave nothing behind: no process (pytest
//! included, which runs in a process group of its own), no temporary
//! directory, no worktree or temporary branch; the record names the phase
//! that was cut short.

use std::time::{Duration, Instant};

use crate::TestContext;
use crate::support::git;

const RENAME: &str = "rename function make_str to make_text";

/// Whether a pytest process of this test is running.
fn pytest_running(t: &TestContext) -> bool {
    // Its report goes to the run directory (in the state directory), its
    // temporary files to the scratch directory.
    let markers = [
        t.scratch.to_string_lossy().into_owned(),
        t.state.to_string_lossy().into_owned(),
    ];
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline")).is_ok_and(|cmdline| {
            let cmdline = String::from_utf8_lossy(&cmdline);
            cmdline.contains("pytest") && markers.iter().any(|m| cmdline.contains(m.as_str()))
        })
    })
}

/// Commits a test that sleeps for a minute.
fn add_a_slow_test(t: &TestContext) {
    std::fs::write(
        t.repo.join("tests/test_slow.py"),
        "import time\n\nimport shop  # noqa: F401 (so the change can affect it)\n\n\ndef test_slow():\n    time.sleep(60)\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "a slow test"]);
}

/// Nothing is left where the runs' worktrees go.
fn assert_no_worktree_left(t: &TestContext, when: Option<Duration>) {
    let left: Vec<_> = std::fs::read_dir(t.scratch.join("worktrees"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "{when:?}: left {left:?}");
}

fn wait_for_pytest(t: &TestContext) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !pytest_running(t) {
        assert!(Instant::now() < deadline, "pytest never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn interrupt(t: &TestContext, when: Option<Duration>) -> std::process::ExitStatus {
    let mut child = t.command(&["run", "--yes", RENAME]).spawn().unwrap();
    match when {
        Some(after) => std::thread::sleep(after),
        // During the baseline tests.
        None => {
            wait_for_pytest(t);
        }
    }
    // SAFETY: sends a signal to our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    child.wait().unwrap()
}

#[test]
fn interrupts_at_any_point_leave_nothing_running_or_behind() {
    let t = TestContext::fixture("shop");
    // A test that would run for a minute.
    add_a_slow_test(&t);
    let branches = t.branches();
    // A fixed spread of points (from start-up to the tests), then during
    // the baseline tests, where pytest runs in its own process group.
    let points = [
        Some(Duration::from_millis(5)),
        Some(Duration::from_millis(40)),
        Some(Duration::from_millis(120)),
        Some(Duration::from_millis(300)),
        None,
    ];
    for when in points {
        let status = interrupt(&t, when);
        // Exit 130, or (before orch installed its handler) the signal.
        assert!(
            status.code() == Some(130) || status.code().is_none(),
            "{when:?}: {status:?}"
        );
        t.assert_no_processes_left();
        assert_eq!(t.branches(), branches, "{when:?}");
        assert_eq!(t.worktrees(), 1, "{when:?}");
        assert_no_worktree_left(&t, when);
    }
    // The last run was interrupted in EXECUTE: its record says so.
    let runs = crate::support::files_under(&t.state)
        .into_iter()
        .filter(|p| p.ends_with("record.json"))
        .max_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(runs).unwrap()).unwrap();
    assert_eq!(record["stop_reason"], "interrupted");
    let last = record["phases"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["phase"], "EXECUTE", "{record:#}");
    assert_eq!(last["status"], "stopped");
    assert_eq!(last["error"], "interrupted");
}

/// After a run is killed with SIGKILL (or by the out-of-memory killer), the
/// next run removes what it left: its worktree (a full copy of the
/// checkout), git's registration, its `orch/tmp/...` branch, and its
/// orphaned servers and pytest.
#[test]
fn the_run_after_a_kill_sweeps_what_the_killed_run_left() {
    let t = TestContext::fixture("shop");
    add_a_slow_test(&t);
    let branches = t.branches();
    for when in [None, Some(Duration::from_millis(60))] {
        let mut child = t.command(&["run", "--yes", RENAME]).spawn().unwrap();
        match when {
            Some(after) => std::thread::sleep(after),
            None => {
                wait_for_pytest(&t);
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        if when.is_none() {
            // The killed run left its worktree, branch and pytest behind.
            assert_eq!(t.worktrees(), 2);
            assert!(pytest_running(&t));
        }
        let out = t.run(&["run", "--dry-run", RENAME]);
        assert_eq!(out.code, 0, "{out:?}");
        if when.is_none() {
            assert!(
                out.stderr.contains("removed what killed runs left behind"),
                "{out:?}"
            );
            // The run history says what happened to it.
            assert!(
                out.stderr
                    .contains("was killed before it finished: recorded as killed"),
                "{out:?}"
            );
            let history = t.run(&["history", "--json"]).json();
            let rows = history["sections"][0]["rows"].as_array().unwrap().clone();
            let columns = history["sections"][0]["columns"]
                .as_array()
                .unwrap()
                .clone();
            let outcome = columns.iter().position(|c| c == "outcome").unwrap();
            let outcomes: Vec<&str> = rows.iter().map(|r| r[outcome].as_str().unwrap()).collect();
            assert_eq!(outcomes, ["success", "killed"], "{history}");
        }
        assert_eq!(t.worktrees(), 1, "{when:?}");
        assert_eq!(t.branches(), branches, "{when:?}");
        assert!(!pytest_running(&t), "{when:?}");
        t.assert_no_processes_left();
        assert_no_worktree_left(&t, when);
    }
}

/// `orch gc` keeps the newest runs of each project, the plans they use and
/// the state of projects that still exist.
#[test]
fn gc_prunes_old_runs_unused_plans_and_gone_projects() {
    let t = TestContext::fixture("shop");
    for _ in 0..3 {
        assert_eq!(t.run(&["run", "--dry-run", RENAME]).code, 0);
    }
    let project_dirs = |state: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(state.join("orch/projects"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect()
    };
    let [project] = project_dirs(&t.state).try_into().unwrap();
    let count = |dir: &str| {
        std::fs::read_dir(project.join(dir))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(count("runs"), 3);
    assert_eq!(count("plans"), 1, "the same plan is stored once");
    // A second project, whose directory then goes away.
    let other = TestContext::fixture("textkit");
    assert_eq!(
        other
            .run(&["run", "--dry-run", "rename class Counter to WordCounter"])
            .code,
        0
    );
    let [gone] = project_dirs(&other.state).try_into().unwrap();
    let moved = t
        .state
        .join("orch/projects")
        .join(gone.file_name().unwrap());
    std::fs::rename(&gone, &moved).unwrap();
    std::fs::remove_dir_all(&other.repo).unwrap();

    let out = t.run(&["gc", "--keep-runs", "1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("2 old run(s)"), "{out:?}");
    assert!(
        out.stderr.contains("1 project(s) whose directory is gone"),
        "{out:?}"
    );
    assert_eq!(count("runs"), 1);
    assert_eq!(count("plans"), 1, "the kept run's plan stays");
    assert!(!moved.exists());
    // The kept run's plan still replays.
    let run = std::fs::read_dir(project.join("runs"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let plan = run.join("plan.json");
    assert_eq!(
        t.run(&["replay", "--dry-run", plan.to_str().unwrap()]).code,
        0
    );
}

/// A run waits for the project lock within its deadline and names the run
/// holding it; a plan and a dry run do not wait at all.
#[test]
fn the_lock_wait_names_its_holder_and_counts_against_the_deadline() {
    let t = TestContext::fixture("shop");
    add_a_slow_test(&t);
    let mut holder = t.command(&["run", "--yes", RENAME]).spawn().unwrap();
    wait_for_pytest(&t);
    // (Not `t.run`: it checks that nothing of the test is running.)
    let run = |args: &[&str]| {
        let output = t.command(args).arg("--yes").output().unwrap();
        crate::support::RunOutput {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    };
    let started = Instant::now();
    let out = run(&["run", "--deadline", "2s", RENAME]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert!(out.stderr.contains("ran out of deadline"), "{out:?}");
    assert!(
        out.stderr.contains(&format!("pid {}", holder.id())),
        "{out:?}"
    );
    // A plan and a dry run go ahead while the other run holds the lock.
    let started = Instant::now();
    assert_eq!(run(&["plan", RENAME]).code, 0);
    assert_eq!(run(&["run", "--dry-run", RENAME]).code, 0);
    assert!(started.elapsed() < Duration::from_secs(15));
    // SAFETY: sends a signal to our own child.
    unsafe {
        libc::kill(holder.id() as i32, libc::SIGINT);
    }
    holder.wait().unwrap();
    t.assert_no_processes_left();
}
