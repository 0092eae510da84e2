//! Structural replace (ast-grep patterns) on `fixtures/polyglot`: Python
//! with real pytest runs, and TypeScript/TSX, JavaScript, Rust and Go.

use crate::TestContext;
use crate::support::git;

const JOIN: &str = "replace `os.path.join($A, $B)` with `Path($A) / $B`";

#[test]
fn a_python_replace_edits_only_matching_code_and_commits_when_tests_pass() {
    let t = TestContext::fixture("polyglot");
    let before = t.snapshot();
    let out = t.run(&[
        "run",
        "--json",
        &format!("{JOIN} in src/inventory/paths.py"),
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    let branch = json["branch"].as_str().unwrap().to_owned();
    assert!(
        branch.starts_with("orch/replace-os-path-join-a-b-with-path-a-b-"),
        "{branch}"
    );
    let paths = git(
        &t.repo,
        &["show", &format!("{branch}:src/inventory/paths.py")],
    );
    assert_eq!(
        paths,
        r#"import os
from pathlib import Path


def data_file(root, name):
    # Kept as text: os.path.join(root, name)
    return Path(root) / name


def archive_file(root, year):
    return Path(Path(root) / "archive") / f"{year}.csv"


def many(root):
    """os.path.join(root, "x") in a docstring stays."""
    return os.path.join(root, "a", "b")
"#
    );
    let changed = git(&t.repo, &["diff", "--name-only", "main", &branch]);
    assert_eq!(changed.trim(), "src/inventory/paths.py");
    let message = git(&t.repo, &["log", "-1", "--format=%B", &branch]);
    assert!(message.starts_with("orch: replace `os.path.join($A, $B)` with `Path($A) / $B` in src/inventory/paths.py\n\n2 matches in 1 files."), "{message}");
    assert_eq!(t.snapshot(), before);
}

#[test]
fn a_replace_that_breaks_the_tests_commits_nothing() {
    // report.py has no `Path` import: the rewrite is valid syntax but the
    // tests catch the NameError.
    let t = TestContext::fixture("polyglot");
    let out = t.run(&["run", &format!("{JOIN} in src/")]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("stopped (tests)"), "{out:?}");
    assert!(out.stderr.contains("test_report"), "{out:?}");
    assert_eq!(t.branches(), ["main"]);
}

#[test]
fn other_languages_are_rewritten_by_their_own_grammar() {
    let t = TestContext::fixture("polyglot");
    let cases: [(&str, usize, &[&str]); 4] = [
        (
            "replace `console.log($$$A)` with `logger.info($$$A)` in web/",
            2,
            &[
                "+++ b/web/app.ts",
                "+  logger.info(\"total\", xs.length);",
                "+++ b/web/legacy.js",
                "+  logger.info(\"legacy\", a);",
            ],
        ),
        (
            "replace `parseInt($S)` with `Number($S)` in typescript files",
            2,
            &[
                "+  return xs.map((x) => Number(x)).reduce((a, b) => a + b, 0);",
                "+export const Count = ({ n }: { n: string }) => <span>{Number(n)}</span>;",
            ],
        ),
        (
            "replace `$X.unwrap()` with `$X?` in rust files",
            1,
            &["+    Ok(*x?)"],
        ),
        (
            "replace `panic($E)` with `log.Fatal($E)` in goapp/",
            1,
            &["+\t\tlog.Fatal(err)"],
        ),
    ];
    for (command, files, lines) in cases {
        let out = t.run(&["run", "--dry-run", command]);
        assert_eq!(out.code, 0, "{command}: {out:?}");
        for line in lines {
            assert!(
                out.stdout.contains(line),
                "{command}: no {line:?} in\n{}",
                out.stdout
            );
        }
        // Only the intended files.
        assert_eq!(out.stdout.matches("+++ b/").count(), files, "{command}");
    }
    assert_eq!(t.branches(), ["main"]);
}

#[test]
fn bad_patterns_scopes_and_no_matches_are_reported() {
    let t = TestContext::fixture("polyglot");
    let out = t.run(&[
        "run",
        "--dry-run",
        "replace `os.path.join($A, $B)` with `Path($C)` in src/",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("$C"), "{out:?}");

    let out = t.run(&[
        "run",
        "--dry-run",
        "replace `def (` with `x` in python files",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("not valid python"), "{out:?}");

    let out = t.run(&["run", "--dry-run", &format!("{JOIN} in nowhere/")]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("no source files under `nowhere/`"),
        "{out:?}"
    );

    let out = t.run(&["run", "--dry-run", "replace `frobnicate($X)` with `f($X)`"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("matches nothing"), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

/// Hundreds of rewrites fit the default token budgets: MAP counts the files
/// (the `code` server lists them itself), LOGIC gets where each rewrite
/// starts and derives the edits from the same pattern, nested and
/// multi-line matches included.
#[test]
fn hundreds_of_rewrites_fit_the_default_budgets() {
    let t = TestContext::fixture("polyglot");
    let files = 100;
    std::fs::create_dir_all(t.repo.join("src/gen")).unwrap();
    for i in 0..files {
        std::fs::write(
            t.repo.join(format!("src/gen/mod_{i}.py")),
            format!(
                "import os\nfrom pathlib import Path\n\n\ndef f{i}(root, name):\n    a = os.path.join(root, name)\n    b = os.path.join(os.path.join(root, \"x{i}\"), name)\n    c = os.path.join(\n        root,\n        \"multi\",\n    )\n    return a, b, c  # os.path.join(root, name) in a comment\n"
            ),
        )
        .unwrap();
    }
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "generated modules"]);
    let out = t.run(&[
        "run",
        "--json",
        "--tests",
        "none",
        &format!("{JOIN} in src/gen"),
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    let tokens = |phase: &str| {
        json["phases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["phase"] == phase)
            .map(|p| p["tokens"].as_u64().unwrap())
            .unwrap()
    };
    // 300 rewrites in 100 files: well inside the 4,096-token phase budget.
    assert!(tokens("MAP") < 200, "{json}");
    assert!(tokens("LOGIC") < 2_500, "{json}");
    let branch = json["branch"].as_str().unwrap();
    for i in [0, 57, 99] {
        let text = git(&t.repo, &["show", &format!("{branch}:src/gen/mod_{i}.py")]);
        assert_eq!(
            text,
            format!(
                "import os\nfrom pathlib import Path\n\n\ndef f{i}(root, name):\n    a = Path(root) / name\n    b = Path(Path(root) / \"x{i}\") / name\n    c = Path(root) / \"multi\"\n    return a, b, c  # os.path.join(root, name) in a comment\n"
            )
        );
    }
    let stat = git(&t.repo, &["diff", "--shortstat", "main", branch]);
    assert!(stat.contains(&format!("{files} files changed")), "{stat}");
}
