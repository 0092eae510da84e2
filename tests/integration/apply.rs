//! `--apply`: the verified change written into the user's checkout, all or
//! nothing, never over a file the user changed, and nothing committed.

use std::time::{Duration, Instant};

use crate::TestContext;
use crate::support::git;

const RENAME: &str = "rename function make_str to make_text";

/// The checkout's changes against HEAD: `git status --porcelain` and the diff.
fn changes(t: &TestContext) -> (String, String) {
    (
        git(&t.repo, &["status", "--porcelain"]),
        git(&t.repo, &["diff", "HEAD"]),
    )
}

#[test]
fn a_verified_change_lands_in_the_checkout_uncommitted() {
    let t = TestContext::fixture("shop");
    // Work in progress elsewhere in the checkout is left as it is.
    std::fs::write(t.repo.join("notes.txt"), "mine\n").unwrap();
    let head = git(&t.repo, &["rev-parse", "HEAD"]);
    let out = t.run(&["run", "--apply", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    let path = out
        .stderr
        .rsplit("record: ")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    let record: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert!(
        record["branch"].is_null() && record["commit"].is_null(),
        "{record}"
    );
    assert!(
        out.stderr
            .contains("done: applied to your checkout, 5 file(s): shop/__init__.py"),
        "{out:?}"
    );
    assert_eq!(git(&t.repo, &["rev-parse", "HEAD"]), head);
    assert_eq!(t.branches(), ["main"]);
    let (status, diff) = changes(&t);
    assert_eq!(
        status,
        " M shop/__init__.py\n M shop/cart.py\n M shop/checkout/invoice.py\n M shop/util.py\n M tests/test_shop.py\n?? notes.txt\n"
    );
    assert!(diff.contains("+def make_text("), "{diff}");
    assert_eq!(
        std::fs::read_to_string(t.repo.join("notes.txt")).unwrap(),
        "mine\n"
    );
    // The applied tree passes its tests.
    let pytest = std::process::Command::new("python3")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .current_dir(&t.repo)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        pytest.status.success(),
        "{}",
        String::from_utf8_lossy(&pytest.stdout)
    );
    assert_eq!(record["details"]["applied"].as_array().unwrap().len(), 5);
}

#[test]
fn apply_refuses_plans_dry_runs_and_files_changed_under_it() {
    let t = TestContext::fixture("shop");
    for args in [
        vec!["plan", "--apply", RENAME],
        vec!["run", "--apply", "--dry-run", RENAME],
    ] {
        let out = t.run(&args);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(
            out.stderr.contains("--apply writes a verified change"),
            "{out:?}"
        );
    }
    // A plan made now, a planned file edited in the checkout afterwards:
    // the replay makes and checks the change, then writes nothing.
    let plan_file = t.scratch.join("plan.json");
    let out = t.run(&["plan", "--plan-out", plan_file.to_str().unwrap(), RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    let util = t.repo.join("shop/util.py");
    let mine = format!("{}# mine\n", std::fs::read_to_string(&util).unwrap());
    std::fs::write(&util, &mine).unwrap();
    git(&t.repo, &["commit", "-qam", "an edit after the plan"]);
    let out = t.run(&["replay", "--apply", plan_file.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("shop/util.py"), "{out:?}");
    assert_eq!(changes(&t).0, "");
    assert_eq!(std::fs::read_to_string(&util).unwrap(), mine);
}

/// Killed at random points while it applies the change (each step is slowed
/// down by a test hook), orch leaves the checkout, once the next run has
/// recovered, either untouched or fully changed: never half-edited.
#[test]
fn killed_while_applying_the_checkout_ends_untouched_or_fully_changed() {
    // The full change, for reference.
    let reference = TestContext::fixture("shop");
    let out = reference.run(&["run", "--apply", "--tests", "none", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    let full = changes(&reference);
    assert!(!full.0.is_empty());

    // 1 journal, 5 staged files, the commit point and 5 renames: 12 steps
    // of 100 ms each; kills spread over them, one after them, and one at a
    // random point.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_millis() as u64;
    let mut outcomes = Vec::new();
    for after_ms in [0, 250, 550, 750, 950, 1_500, seed % 1_200] {
        let t = TestContext::fixture("shop");
        let journals = t.repo.join(".git/orch-apply");
        let mut child = t
            .command(&["run", "--yes", "--apply", "--tests", "none", RENAME])
            .env("ORCH_TEST_APPLY_PAUSE_MS", "100")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::fs::read_dir(&journals).map_or(true, |mut d| d.next().is_none()) {
            assert!(started.elapsed() < Duration::from_secs(60), "no journal");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(after_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        // The next run in the repository recovers (this one then stops:
        // the name is unknown).
        let next = t.run(&["run", "rename function no_such_function to other"]);
        assert_eq!(next.code, 2, "{next:?}");
        let now = changes(&t);
        let outcome = if now.0.is_empty() {
            "untouched"
        } else {
            assert_eq!(now, full, "killed {after_ms} ms in: half-applied");
            "changed"
        };
        assert!(
            std::fs::read_dir(&journals).map_or(true, |mut d| d.next().is_none()),
            "a journal is left"
        );
        let stray = git(&t.repo, &["status", "--porcelain", "--ignored"]);
        assert!(!stray.contains("orch-apply"), "{stray}");
        let recovered = next
            .stderr
            .lines()
            .find(|l| l.contains("was killed"))
            .unwrap_or("")
            .to_owned();
        outcomes.push((after_ms, outcome, recovered));
    }
    eprintln!("{outcomes:#?}");
    // Early kills leave it untouched, late ones fully changed.
    assert_eq!(outcomes[0].1, "untouched", "{outcomes:?}");
    assert_eq!(outcomes[5].1, "changed", "{outcomes:?}");
}
