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
    let marker = t.scratch.to_string_lossy().into_owned();
    std::fs::read_dir("/proc").unwrap().flatten().any(|entry| {
        std::fs::read(entry.path().join("cmdline")).is_ok_and(|cmdline| {
            let cmdline = String::from_utf8_lossy(&cmdline);
            cmdline.contains("pytest") && cmdline.contains(&marker)
        })
    })
}

fn interrupt(t: &TestContext, when: Option<Duration>) -> std::process::ExitStatus {
    let mut child = t.command(&["run", "--yes", RENAME]).spawn().unwrap();
    match when {
        Some(after) => std::thread::sleep(after),
        // During the baseline tests.
        None => {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !pytest_running(t) {
                assert!(Instant::now() < deadline, "pytest never started");
                std::thread::sleep(Duration::from_millis(20));
            }
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
    std::fs::write(
        t.repo.join("tests/test_slow.py"),
        "import time\n\n\ndef test_slow():\n    time.sleep(60)\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "a slow test"]);
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
        let left: Vec<_> = std::fs::read_dir(t.scratch.join("worktrees"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "{when:?}: left {left:?}");
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
