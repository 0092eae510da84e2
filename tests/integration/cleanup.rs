//! `remove unused imports` on `fixtures/imports`, with real pytest runs.

use crate::TestContext;
use crate::support::git;

#[test]
fn unused_imports_go_and_doubtful_or_reexported_ones_stay() {
    let t = TestContext::fixture("imports");
    let out = t.run(&["run", "--json", "remove unused imports in ledger/"]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    let branch = json["branch"].as_str().unwrap().to_owned();
    assert!(branch.starts_with("orch/remove-unused-imports-in-ledger-"));
    let changed = git(&t.repo, &["diff", "--name-only", "main", &branch]);
    assert_eq!(changed, "ledger/entries.py\nledger/report.py\n");
    let entries = git(&t.repo, &["show", &format!("{branch}:ledger/entries.py")]);
    assert!(entries.starts_with(
        "import json\nimport sys\nfrom dataclasses import dataclass, field\nfrom decimal import Decimal\nfrom typing import (\n    Iterable,\n    List,\n)\n"
    ), "{entries}");
    // Kept: the try-block probe, the name only a string annotation uses,
    // the name another module imports from here.
    assert!(entries.contains("    import ujson\n"));
    assert!(entries.contains("from .money import quantize"));
    assert!(!entries.contains("import math"));
    let report = git(&t.repo, &["show", &format!("{branch}:ledger/report.py")]);
    assert!(
        report.starts_with("import textwrap\n\nfrom .entries import quantize, total\n"),
        "{report}"
    );
    // __init__.py re-exports and the noqa line are untouched.
    let diff = git(
        &t.repo,
        &[
            "diff",
            "main",
            &branch,
            "--",
            "ledger/money.py",
            "ledger/__init__.py",
        ],
    );
    assert!(diff.is_empty(), "{diff}");

    let plan: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/plan.json", json["run_dir"].as_str().unwrap()))
            .unwrap(),
    )
    .unwrap();
    let notes: Vec<&str> = plan["report"]["uncertain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["note"].as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("`ujson`") && n.contains("`try` block"))
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("`List`") && n.contains("string"))
    );
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("`re`") && n.contains("noqa"))
    );

    // Nothing left to remove on the result: a second run changes nothing.
    let again = t.run(&[
        "run",
        "--dry-run",
        "--base",
        &branch,
        "remove unused imports in ledger/",
    ]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.stdout.is_empty(), "{again:?}");
    assert!(again.stderr.contains("0 edits in 0 files"), "{again:?}");
}

#[test]
fn a_cleanup_of_a_missing_directory_is_refused() {
    let t = TestContext::fixture("imports");
    let out = t.run(&["run", "--dry-run", "remove unused imports in nowhere/"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("no Python files with imports under `nowhere/`"),
        "{out:?}"
    );
}

#[test]
fn unreferenced_private_functions_are_removed_and_referenced_ones_stay() {
    let t = TestContext::fixture("imports");
    let before = std::fs::read_to_string(t.repo.join("ledger/money.py")).unwrap();
    let out = t.run(&[
        "run",
        "--json",
        "remove unused private functions in ledger/",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let money = git(&t.repo, &["show", &format!("{branch}:ledger/money.py")]);
    let expected = before
        .split("\n\n\n# Kept for a migration")
        .next()
        .unwrap()
        .to_owned()
        + "\n";
    assert_eq!(money, expected);
    assert!(money.contains("def _rate():"), "{money}");
    let changed = git(&t.repo, &["diff", "--name-only", "main", &branch]);
    assert_eq!(changed.trim(), "ledger/money.py");
}
