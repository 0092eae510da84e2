//! `orch run`, `orch plan` and `orch replay` end to end.

use crate::TestContext;
use crate::support::git;

const RENAME: &str = "rename function make_str to make_text";

#[test]
fn dry_run_leaves_the_repository_byte_identical_and_prints_the_diff() {
    let t = TestContext::fixture("shop");
    let before = t.snapshot();
    let branches = t.branches();
    let out = t.run(&["run", "--dry-run", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("-def make_str(cents):\n+def make_text(cents):"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("+from ..util import make_text as fmt"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("+__all__ = [\"make_text\", \"Price\"]"),
        "{out:?}"
    );
    // The docstring and the comment are reported, not edited.
    assert!(
        out.stderr
            .contains("shop/util.py:20:7: `make_str` in a comment; left alone"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("+    # make_text"), "{out:?}");
    assert_eq!(t.snapshot(), before);
    assert_eq!(t.branches(), branches);
    assert_eq!(t.worktrees(), 1);
}

#[test]
fn run_commits_on_a_branch_whose_tests_pass_and_leaves_the_checkout_alone() {
    let t = TestContext::fixture("shop");
    std::fs::write(t.repo.join("NOTES.txt"), "uncommitted work\n").unwrap();
    let before = t.snapshot();
    let out = t.run(&["run", "--json", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    assert_eq!(json["success"], true);
    let branch = json["branch"].as_str().unwrap().to_owned();
    let plan_id = json["plan_id"].as_str().unwrap().to_owned();
    assert_eq!(
        branch,
        format!("orch/rename-make-str-to-make-text-{}", &plan_id[..8])
    );
    let phases: Vec<&str> = json["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(
        phases,
        [
            "MAP",
            "LOGIC",
            "MONTE CARLO",
            "PLAN",
            "OPTIMIZE",
            "EXECUTE",
            "REVIEW"
        ]
    );
    for phase in json["phases"].as_array().unwrap() {
        assert_eq!(phase["status"], "ok", "{phase}");
        assert!(phase["duration_ms"].is_u64() && phase["tokens"].is_u64() && phase["retries"] == 0);
    }
    assert!(json["total_tokens"].as_u64().unwrap() > 0);
    assert!(json["peak_memory_mb"].as_u64().unwrap() > 0);

    // The user's checkout, index and uncommitted file are untouched.
    assert_eq!(t.snapshot(), before);
    assert_eq!(
        git(&t.repo, &["rev-parse", "--abbrev-ref", "HEAD"]).trim(),
        "main"
    );
    assert_eq!(t.worktrees(), 1);
    assert_eq!(t.branches().len(), 2, "{:?}", t.branches());

    let message = git(&t.repo, &["log", "-1", "--format=%B", &branch]);
    assert!(
        message.contains(&format!("Orch-Plan: {plan_id}")),
        "{message}"
    );
    let changed = git(&t.repo, &["diff", "--name-only", "main", &branch]);
    assert_eq!(
        changed.lines().collect::<Vec<_>>(),
        [
            "shop/__init__.py",
            "shop/cart.py",
            "shop/checkout/invoice.py",
            "shop/util.py",
            "tests/test_shop.py"
        ]
    );
    assert!(
        !git(&t.repo, &["grep", "-w", "make_str", &branch, "--", "*.py"]).contains("def make_str")
    );

    // The branch's tests pass with a real pytest run.
    if let Err(output) = t.pytest_on(&branch) {
        panic!("{output}");
    }

    // The run record is where the brief says.
    let run_dir = std::path::PathBuf::from(json["run_dir"].as_str().unwrap());
    assert!(run_dir.starts_with(t.state.join("orch/projects")));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("record.json")).unwrap()).unwrap();
    assert_eq!(record["plan_id"], plan_id.as_str());
    assert!(run_dir.join("plan.json").is_file());
}

#[test]
fn class_rename_in_a_flat_module() {
    let t = TestContext::fixture("textkit");
    let out = t.run(&["run", "--json", "rename class Counter to WordCounter"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let test = git(
        &t.repo,
        &["show", &format!("{branch}:tests/test_textkit.py")],
    );
    assert!(
        test.contains("from textkit import WordCounter, slugify")
            && test.contains("counter = WordCounter(\"one two three\")")
    );
}

#[test]
fn a_syntax_error_away_from_the_renamed_name_does_not_block_the_rename() {
    // Only the statements naming `title_case` are parsed (and checked after
    // the edit): Python 2's `print "..."` further down is not one of them.
    let t = TestContext::fixture("textkit");
    let padding: String = (0..40)
        .map(|i| format!("\n\ndef helper_{i}(value):\n    return value + {i}\n"))
        .collect();
    std::fs::write(
        t.repo.join("legacy.py"),
        format!(
            "from textkit import title_case\n\n\ndef shout(text):\n    return title_case(text).upper()\n{padding}\n\ndef old():\n    print \"python 2\"\n"
        ),
    )
    .unwrap();
    git(&t.repo, &["add", "legacy.py"]);
    git(&t.repo, &["commit", "-q", "-m", "legacy"]);
    let out = t.run(&[
        "run",
        "--dry-run",
        "--json",
        "rename function title_case to headline",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    let diff = json["diff"].as_str().unwrap();
    assert!(
        diff.contains("+from textkit import headline")
            && diff.contains("+    return headline(text).upper()"),
        "{diff}"
    );
    let run_dir = std::path::PathBuf::from(json["run_dir"].as_str().unwrap());
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("plan.json")).unwrap()).unwrap();
    let check = plan["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "check")
        .unwrap()
        .clone();
    assert_eq!(
        check["focus"],
        serde_json::json!(["title_case", "headline"])
    );
    assert_eq!(check["files"]["legacy.py"], 0, "{check}");
}

#[test]
fn unknown_commands_exit_2_with_the_forms_orch_understands() {
    let t = TestContext::fixture("shop");
    let out = t.run(&["run", "make everything faster"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("does not understand")
            && out
                .stderr
                .contains("rename [function|class|variable] OLD to NEW [in PATH]")
            && out.stderr.contains("remove unused imports [in PATH]"),
        "{out:?}"
    );
    // A near miss names the closest form, and nothing was started.
    let out = t.run(&["run", "--json", "replce `a` with `b`"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("closest form: replace `PATTERN` with `REWRITE`"),
        "{out:?}"
    );
    assert!(out.json()["phases"].as_array().unwrap().is_empty());
}

#[test]
fn ambiguous_missing_and_clashing_names_are_refused_with_locations() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("shop/legacy.py"),
        "def make_str(x):\n    return str(x)\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "legacy"]);

    let out = t.run(&["plan", RENAME]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("shop/legacy.py:1") && out.stderr.contains("shop/util.py:14"),
        "{out:?}"
    );

    let out = t.run(&["plan", "rename make_str to make_text in shop/legacy.py"]);
    assert_eq!(out.code, 0, "{out:?}");
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let files: Vec<&str> = plan["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["file"].as_str())
        .collect();
    assert_eq!(files, ["shop/legacy.py"]);

    let out = t.run(&["plan", "rename function make_strng to x"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("closest existing names: make_str"),
        "{out:?}"
    );

    let out = t.run(&["plan", "rename make_str to describe in shop/util.py"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("would clash") && out.stderr.contains("shop/util.py:19"),
        "{out:?}"
    );
}

#[test]
fn a_tiny_token_budget_stops_with_budget_tokens() {
    let t = TestContext::fixture("shop");
    let out = t.run(&["run", "--json", "--phase-tokens", "60", RENAME]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.json()["stop_reason"], "budget.tokens");
    let out = t.run(&["run", "--json", "--total-tokens", "300", RENAME]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.json()["stop_reason"], "budget.tokens");
    assert_eq!(t.branches(), ["main"]);
}

#[test]
fn a_short_deadline_stops_with_budget_deadline_and_no_half_applied_edit() {
    let t = TestContext::fixture("shop");
    let before = t.snapshot();
    let out = t.run(&["run", "--json", "--deadline", "150ms", RENAME]);
    assert_eq!(out.code, 1, "{out:?}");
    let json = out.json();
    assert_eq!(json["stop_reason"], "budget.deadline", "{out:?}");
    assert_eq!(t.snapshot(), before);
    assert_eq!(t.branches(), ["main"]);
    assert_eq!(t.worktrees(), 1);
}

#[test]
fn worse_tests_stop_the_run_and_commit_nothing() {
    let t = TestContext::fixture("shop");
    // A dynamic reference orch reports but cannot rename.
    std::fs::write(
        t.repo.join("tests/test_dynamic.py"),
        "from shop import util\n\ndef test_by_name():\n    assert getattr(util, \"make_str\")(100) == \"1.00\"\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "dynamic"]);
    let out = t.run(&["run", "--json", RENAME]);
    assert_eq!(out.code, 1, "{out:?}");
    let json = out.json();
    assert_eq!(json["stop_reason"], "tests");
    assert!(
        json["error"].as_str().unwrap().contains("test_by_name"),
        "{out:?}"
    );
    assert_eq!(t.branches(), ["main"]);
}

#[test]
fn uncommitted_changes_to_planned_files_are_refused() {
    let t = TestContext::fixture("shop");
    let util = t.repo.join("shop/util.py");
    let mut text = std::fs::read_to_string(&util).unwrap();
    text.push_str("\n# work in progress\n");
    std::fs::write(&util, &text).unwrap();
    let out = t.run(&["run", RENAME]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("shop/util.py") && out.stderr.contains("uncommitted"),
        "{out:?}"
    );
    assert_eq!(std::fs::read_to_string(&util).unwrap(), text);
}

#[test]
fn replay_executes_a_saved_plan_and_refuses_drift() {
    let t = TestContext::fixture("shop");
    let plan_file = t.repo.parent().unwrap().join("plan.json");
    let out = t.run(&["plan", "--plan-out", plan_file.to_str().unwrap(), RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan_file).unwrap()).unwrap();
    assert_eq!(plan["schema"], "orch.plan/v1");
    assert_eq!(t.branches(), ["main"], "plan changes nothing");

    // The same command on the same tree gives the same plan id.
    let again = t.run(&["plan", RENAME]);
    let again: serde_json::Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(again["id"], plan["id"]);

    let out = t.run(&["replay", "--json", plan_file.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    let phases: Vec<&str> = json["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["OPTIMIZE", "EXECUTE", "REVIEW"]);
    assert_eq!(json["plan_id"], plan["id"]);
    assert!(
        t.branches()
            .contains(&json["branch"].as_str().unwrap().to_owned())
    );

    // Drift: a planned file changes after the plan was made.
    let cart = t.repo.join("shop/cart.py");
    let text = std::fs::read_to_string(&cart)
        .unwrap()
        .replace("A shopping cart.", "A cart.");
    std::fs::write(&cart, text).unwrap();
    git(&t.repo, &["commit", "-q", "-am", "edit cart"]);
    let out = t.run(&["replay", plan_file.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("shop/cart.py: SHA-1") && !out.stderr.contains("shop/util.py: SHA-1"),
        "{out:?}"
    );
}

#[test]
fn broken_plan_files_exit_2_naming_the_problem() {
    let t = TestContext::fixture("shop");
    let dir = t.repo.parent().unwrap();
    std::fs::write(dir.join("broken.json"), "{ not json").unwrap();
    let out = t.run(&["replay", dir.join("broken.json").to_str().unwrap()]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("not a valid orch plan"), "{out:?}");

    let plan_file = dir.join("plan.json");
    assert_eq!(
        t.run(&["plan", "--plan-out", plan_file.to_str().unwrap(), RENAME])
            .code,
        0
    );
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan_file).unwrap()).unwrap();
    let last = plan["nodes"].as_array().unwrap().len() - 1;
    plan["nodes"][last]["deps"] = serde_json::json!(["nowhere"]);
    std::fs::write(&plan_file, plan.to_string()).unwrap();
    let out = t.run(&["replay", plan_file.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("does not match its content") || out.stderr.contains("nowhere"),
        "{out:?}"
    );
}

#[test]
fn runs_on_different_projects_proceed_side_by_side() {
    let a = TestContext::fixture("shop");
    let b = TestContext::fixture("textkit");
    let first = a
        .command(&["run", "--dry-run", "--quiet", "--yes", RENAME])
        .spawn()
        .unwrap();
    let second = b
        .command(&[
            "run",
            "--dry-run",
            "--quiet",
            "--yes",
            "rename slugify to to_slug",
        ])
        .spawn()
        .unwrap();
    assert!(first.wait_with_output().unwrap().status.success());
    assert!(second.wait_with_output().unwrap().status.success());
    a.assert_no_processes_left();
    b.assert_no_processes_left();
}

#[test]
fn worktrees_live_in_memory_when_it_fits_and_are_removed() {
    let t = TestContext::fixture("shop");
    let out = t.output(
        t.command(&["plan", "rename function make_str to make_text"])
            .env_remove("ORCH_WORKTREE_DIR")
            .env_remove("XDG_RUNTIME_DIR")
            .env("ORCH_LOG", "orch=debug"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let line = out
        .stderr
        .lines()
        .find(|l| l.contains("worktree and servers ready"))
        .expect("the worktree is logged");
    let path = line
        .split("path=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    // /dev/shm is a tmpfs on Linux machines and CI runners.
    assert!(path.starts_with("/dev/shm/orch-"), "{line}");
    assert!(
        !std::path::Path::new(path).exists(),
        "removed after the run"
    );
    assert_eq!(t.worktrees(), 1);
}

#[test]
fn a_method_rename_follows_receivers_and_commits_when_tests_pass() {
    let t = TestContext::fixture("shop");
    let out = t.run(&["run", "--json", "rename method Cart.add to add_item"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let cart = git(&t.repo, &["show", &format!("{branch}:shop/cart.py")]);
    assert!(
        cart.contains("    def add_item(self, name, cents):"),
        "{cart}"
    );
    let tests = git(&t.repo, &["show", &format!("{branch}:tests/test_shop.py")]);
    // `cart = Cart()` makes `cart` a Cart: its calls follow.
    assert!(
        tests.contains("    cart.add_item(\"tea\", 250)\n    cart.add_item(\"cake\", 375)"),
        "{tests}"
    );
    // `c = cart.Cart()` through `from .. import cart` too.
    let invoice = git(
        &t.repo,
        &["show", &format!("{branch}:shop/checkout/invoice.py")],
    );
    assert!(
        invoice.contains("        c.add_item(name, cents)"),
        "{invoice}"
    );
    let changed = git(&t.repo, &["diff", "--name-only", "main", &branch]);
    assert_eq!(
        changed.trim(),
        "shop/cart.py\nshop/checkout/invoice.py\ntests/test_shop.py"
    );

    // A method name no class defines, and a clash with an existing member.
    let out = t.run(&["plan", "rename method Cart.remove to drop"]);
    assert_eq!(out.code, 2, "{out:?}");
    let out = t.run(&["plan", "rename method Cart.add to total"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("already has a member `total`"),
        "{out:?}"
    );
}

#[test]
fn include_strings_and_include_uncertain_widen_a_rename() {
    let t = TestContext::fixture("shop");
    let plain = t.run(&["run", "--dry-run", "rename function make_str to make_text"]);
    assert_eq!(plain.code, 0, "{plain:?}");
    assert!(
        plain.stderr.contains("in a string; left alone"),
        "{plain:?}"
    );
    let wide = t.run(&[
        "run",
        "--dry-run",
        "--include-strings",
        "rename function make_str to make_text",
    ]);
    assert_eq!(wide.code, 0, "{wide:?}");
    assert!(!wide.stderr.contains("left alone"), "{wide:?}");
    assert!(
        wide.stdout
            .contains("+    \"\"\"Format cents as a price string; make_text(150) == '1.50'.\"\"\""),
        "{}",
        wide.stdout
    );

    // A receiver orch cannot resolve: reported, then edited on request.
    std::fs::write(
        t.repo.join("shop/loose.py"),
        "def use(thing):\n    return thing.add('x', 1)\n",
    )
    .unwrap();
    git(&t.repo, &["add", "shop/loose.py"]);
    git(&t.repo, &["commit", "-q", "-m", "loose"]);
    let out = t.run(&["run", "--dry-run", "rename method Cart.add to add_item"]);
    assert!(
        out.stderr.contains("shop/loose.py:2:18: `thing.add`"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("thing.add_item"), "{out:?}");
    let out = t.run(&[
        "run",
        "--dry-run",
        "--include-uncertain",
        "rename method Cart.add to add_item",
    ]);
    assert!(
        out.stdout.contains("+    return thing.add_item('x', 1)"),
        "{out:?}"
    );
}

#[test]
fn a_parameter_rename_reaches_keyword_arguments_at_calls() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("shop/labels.py"),
        "from .util import describe\nfrom . import util\n\n\ndef tag(cents):\n    return describe(cents, label=\"tag\") + util.describe(cents, label=None)\n\n\ndef other(label):\n    return dict(label=label)\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "labels"]);
    let out = t.run(&[
        "run",
        "--json",
        "rename parameter label of describe to title",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let util = git(&t.repo, &["show", &format!("{branch}:shop/util.py")]);
    assert!(util.contains("def describe(cents, title=None):"), "{util}");
    let labels = git(&t.repo, &["show", &format!("{branch}:shop/labels.py")]);
    assert!(
        labels.contains("describe(cents, title=\"tag\") + util.describe(cents, title=None)"),
        "{labels}"
    );
    // Other functions' parameters and keywords of the same name stay.
    assert!(
        labels.contains("def other(label):\n    return dict(label=label)"),
        "{labels}"
    );

    let out = t.run(&["plan", "rename parameter label of describe to cents"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("`cents` is already bound"), "{out:?}");
}

#[test]
fn a_parameter_is_added_with_a_default_and_calls_stay_valid() {
    let t = TestContext::fixture("shop");
    let out = t.run(&["run", "--json", "add parameter currency=None to describe"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let diff = git(&t.repo, &["diff", "main", &branch]);
    assert!(
        diff.contains(
            "-def describe(cents, label=None):\n+def describe(cents, label=None, currency=None):"
        ),
        "{diff}"
    );
    assert_eq!(diff.matches("\n+").count(), 2, "one line changed: {diff}");

    let out = t.run(&["plan", "add parameter cents=1 to describe"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("already has a parameter `cents`"),
        "{out:?}"
    );
    let out = t.run(&["plan", "add parameter timeout to describe"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("needs a default"), "{out:?}");
}

#[test]
fn a_parameter_is_removed_from_the_definition_and_every_call() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("shop/labels.py"),
        "from .util import describe\n\n\ndef tag(cents, style=None, upper=False):\n    text = describe(cents, \"tag\")\n    return text.upper() if upper else text\n\n\ndef all_tags():\n    return [tag(1, \"bold\"), tag(2, style=None, upper=True), tag(3)]\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "labels"]);
    let out = t.run(&["run", "--json", "remove parameter style from tag"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let labels = git(&t.repo, &["show", &format!("{branch}:shop/labels.py")]);
    assert!(labels.contains("def tag(cents, upper=False):"), "{labels}");
    assert!(
        labels.contains("return [tag(1), tag(2, upper=True), tag(3)]"),
        "{labels}"
    );

    // A parameter the body still uses is refused, with the line.
    let out = t.run(&["plan", "remove parameter upper from tag"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("still used in the body (line 6)"),
        "{out:?}"
    );
}

/// A plan file is data: a test selection that is a pytest option (with the
/// plan id recomputed, as anyone can) is refused before anything runs, and
/// nothing outside the project is touched.
#[test]
fn a_replayed_plan_cannot_pass_options_to_pytest() {
    let t = TestContext::fixture("shop");
    let outside = t.scratch.join("outside");
    std::fs::create_dir_all(outside.join("victim")).unwrap();
    std::fs::write(outside.join("victim/precious.txt"), "keep me").unwrap();
    let plan_file = t.scratch.join("plan.json");
    let out = t.run(&["plan", "--plan-out", plan_file.to_str().unwrap(), RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    let original: orch::plan::Plan =
        serde_json::from_str(&std::fs::read_to_string(&plan_file).unwrap()).unwrap();
    for selection in [
        format!("--basetemp={}", outside.join("victim").display()),
        format!("--junitxml={}", outside.join("x.xml").display()),
        "../outside/test_x.py".to_owned(),
    ] {
        let mut plan = original.clone();
        for node in &mut plan.nodes {
            if let orch::plan::Action::Test { selection: s, .. } = &mut node.action {
                *s = vec![selection.clone()];
            }
        }
        plan.id = plan.content_hash();
        std::fs::write(&plan_file, serde_json::to_string(&plan).unwrap()).unwrap();
        let out = t.run(&["replay", plan_file.to_str().unwrap()]);
        assert_eq!(out.code, 2, "{selection}: {out:?}");
        assert!(out.stderr.contains("test selection"), "{out:?}");
        assert!(outside.join("victim/precious.txt").exists());
        assert!(!outside.join("x.xml").exists());
    }
}

/// Python compares identifiers after NFKC normalisation: `ＡＢＣ` is `ABC`,
/// which `from abc import ABC` binds. The fullwidth spelling is refused
/// with the spelling Python reads.
#[test]
fn a_new_name_is_taken_as_python_reads_it() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("shop/base.py"),
        "from abc import ABC\n\nfrom .util import make_str\n\n\nclass Base(ABC):\n    label = make_str(1)\n",
    )
    .unwrap();
    crate::support::git(&t.repo, &["add", "-A"]);
    crate::support::git(&t.repo, &["commit", "-q", "-m", "base"]);
    let out = t.run(&["plan", "rename function make_str to ＡＢＣ"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("is `ABC` to Python"), "{out:?}");
    // Written as Python reads it, the clash is seen.
    let out = t.run(&["plan", "rename function make_str to ABC"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("clash"), "{out:?}");
}

/// Syntax trees thousands of levels deep (a 30,000-term expression, 3,000
/// nested brackets) are analysed, not a stack overflow of the code server.
#[test]
fn deeply_nested_sources_are_renamed_not_a_crash() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("shop/chain.py"),
        format!(
            "from .util import make_str\n\nx = {} + make_str(1)\n",
            vec!["a"; 30_000].join(" + ")
        ),
    )
    .unwrap();
    std::fs::write(
        t.repo.join("shop/nest.py"),
        format!(
            "from .util import make_str\n\ny = {}make_str(2){}\n",
            "(".repeat(3_000),
            ")".repeat(3_000)
        ),
    )
    .unwrap();
    crate::support::git(&t.repo, &["add", "-A"]);
    crate::support::git(&t.repo, &["commit", "-q", "-m", "deep"]);
    let out = t.run(&["plan", "--json", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    let plan = &out.json()["plan"];
    let files: Vec<&str> = plan["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "edit")
        .map(|n| n["file"].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"shop/chain.py") && files.contains(&"shop/nest.py"),
        "{files:?}"
    );
}

/// An untracked file that names the renamed function is not part of the
/// change (orch works from HEAD): it is listed, not silently left.
#[test]
fn untracked_files_that_mention_the_name_are_listed() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("shop/extra.py"),
        "from .util import make_str\n\nprint(make_str(3))\n",
    )
    .unwrap();
    std::fs::write(t.repo.join("notes.txt"), "nothing to see\n").unwrap();
    let out = t.run(&["plan", "--json", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("not part of the change: untracked shop/extra.py mentions `make_str`"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("notes.txt"), "{out:?}");
}

/// A wait for memory says so when it starts, and is recorded even when the
/// deadline cuts it short.
#[test]
fn a_memory_wait_is_announced_and_recorded() {
    let t = TestContext::fixture("shop");
    let out = t.output(
        t.command(&["plan", "--json", "--deadline", "2s", RENAME])
            .env("ORCHESTRATOR_MEMORY_THRESHOLD", "0.0001"),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("waiting: orch and its servers use"),
        "{out:?}"
    );
    let json = out.json();
    assert_eq!(json["stop_reason"], "budget.deadline", "{json:#}");
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(json["run_dir"].as_str().unwrap()).join("record.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let events = record["memory_events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{record:#}");
    assert!(events[0]["waited_ms"].as_u64().unwrap() > 0, "{record:#}");
}

/// A source declared Latin-1 (PEP 263) is read and written in Latin-1:
/// its definition is found and the rename commits byte for byte; a file
/// that is neither UTF-8 nor declared is refused (exit 2), not skipped.
#[test]
fn sources_are_read_in_the_encoding_they_declare() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("shop/legacy.py"),
        b"# -*- coding: latin-1 -*-\n\"\"\"Vieux code, \xe9crit en Latin-1.\"\"\"\n\n\ndef \xe9tiquette(cents):\n    return 'prix: ' + str(cents)\n\n\ndef old_label(cents):\n    return '\xe9t\xe9 ' + str(cents)\n",
    )
    .unwrap();
    std::fs::write(
        t.repo.join("shop/user.py"),
        b"# -*- coding: latin-1 -*-\nfrom .legacy import old_label\n\nX = old_label(1)  # caf\xe9\n",
    )
    .unwrap();
    crate::support::git(&t.repo, &["add", "-A"]);
    crate::support::git(&t.repo, &["commit", "-q", "-m", "latin-1"]);
    let out = t.run(&["run", "--json", "rename function old_label to new_label"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let shown = std::process::Command::new("git")
        .args(["show", &format!("{branch}:shop/user.py")])
        .current_dir(&t.repo)
        .output()
        .unwrap()
        .stdout;
    assert_eq!(
        shown,
        b"# -*- coding: latin-1 -*-\nfrom .legacy import new_label\n\nX = new_label(1)  # caf\xe9\n"
    );
    // Neither UTF-8 nor declared, and it names the function: refused.
    std::fs::write(
        t.repo.join("shop/bad.py"),
        b"from .util import make_str  # \xff\n",
    )
    .unwrap();
    crate::support::git(&t.repo, &["add", "-A"]);
    crate::support::git(&t.repo, &["commit", "-q", "-m", "bad"]);
    let out = t.run(&["plan", RENAME]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("shop/bad.py"), "{out:?}");
    assert!(out.stderr.contains("declares no encoding"), "{out:?}");
}

/// A file named by a path suffix (`util.py`, `shop/util.py` in a `src/`
/// layout) is taken when one definition matches it; several are listed.
#[test]
fn a_file_named_by_its_path_suffix_is_taken() {
    let t = TestContext::fixture("shop");
    std::fs::create_dir_all(t.repo.join("src")).unwrap();
    std::fs::rename(t.repo.join("shop"), t.repo.join("src/shop")).unwrap();
    crate::support::git(&t.repo, &["add", "-A"]);
    crate::support::git(&t.repo, &["commit", "-q", "-m", "src layout"]);
    for scope in ["util.py", "shop/util.py", "src/shop/util.py", "shop.util"] {
        let out = t.run(&["plan", "--json", &format!("{RENAME} in {scope}")]);
        assert_eq!(out.code, 0, "{scope}: {out:?}");
        let definition = &out.json()["plan"]["nodes"];
        assert!(
            definition.to_string().contains("src/shop/util.py"),
            "{scope}"
        );
    }
    // Two files end in `util.py`: both are listed, nothing is guessed.
    std::fs::create_dir_all(t.repo.join("src/other")).unwrap();
    std::fs::write(
        t.repo.join("src/other/util.py"),
        "def make_str(x):\n    return x\n",
    )
    .unwrap();
    crate::support::git(&t.repo, &["add", "-A"]);
    crate::support::git(&t.repo, &["commit", "-q", "-m", "another util"]);
    let out = t.run(&["plan", &format!("{RENAME} in util.py")]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("src/shop/util.py") && out.stderr.contains("src/other/util.py"),
        "{out:?}"
    );
}

/// A rename with hundreds of sites (like click's `echo`: 355 in 33 files)
/// fits the default budgets: sites travel as compact deltas of their starts.
#[test]
fn a_rename_with_hundreds_of_sites_fits_the_default_budgets() {
    let t = TestContext::fixture("shop");
    for n in 0..33 {
        let mut source = String::from("from .util import make_str\n\n\n");
        for i in 0..5 {
            source.push_str(&format!(
                "def use_{i}(cents):\n    \"\"\"Calls it.\"\"\"\n    return make_str(cents + {i}) + make_str({n})\n\n\n"
            ));
        }
        std::fs::write(t.repo.join(format!("shop/gen_{n}.py")), source).unwrap();
    }
    crate::support::git(&t.repo, &["add", "-A"]);
    crate::support::git(&t.repo, &["commit", "-q", "-m", "many uses"]);
    let out = t.run(&["plan", "--json", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    let edits: usize = json["plan"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["edits"].as_array().map(Vec::len))
        .sum();
    assert!(edits > 350, "{edits}");
    let logic = json["phases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["phase"] == "LOGIC")
        .unwrap()["tokens"]
        .as_u64()
        .unwrap();
    // With room to spare: sites are starts alone, lines and SHA-1s are
    // read from the files.
    assert!(logic < 3_072, "LOGIC used {logic} tokens");
}

/// A rename too large for the budget stops saying how many tokens it needs,
/// and that many is enough.
#[test]
fn a_rename_over_budget_says_what_it_needs() {
    let t = TestContext::fixture("shop");
    for n in 0..150 {
        std::fs::write(
            t.repo.join(format!("shop/uses_{n}.py")),
            format!(
                "from .util import make_str

LABEL = make_str({n}) + make_str(1)
"
            ),
        )
        .unwrap();
    }
    crate::support::git(&t.repo, &["add", "-A"]);
    crate::support::git(&t.repo, &["commit", "-q", "-m", "many files"]);
    let out = t.run(&["plan", RENAME]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("need about"), "{out:?}");
    let needed: String = out
        .stderr
        .split("pass --phase-tokens ")
        .nth(1)
        .unwrap_or_else(|| panic!("{out:?}"))
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let out = t.run(&["plan", "--phase-tokens", &needed, RENAME]);
    assert_eq!(out.code, 0, "--phase-tokens {needed}: {out:?}");
}

/// A rename through star re-exports (`__all__` added up from other
/// modules' `__all__`), package and module aliases, an
/// `importlib.import_module` alias, doctests and a type stub: every code
/// occurrence of the old name is renamed or accounted for, and the suite
/// (doctests included) is green on the branch.
#[test]
fn a_rename_through_star_reexports_and_aliases_is_complete() {
    let t = TestContext::fixture("stars");
    let out = t.run(&["run", "--json", "rename function chunks to batches"]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    let branch = json["branch"].as_str().unwrap().to_owned();
    // What is left of the old name in Python files: the Sphinx role in a
    // docstring (prose, listed) and the test's parameter of the same name
    // (another binding).
    let left = git(
        &t.repo,
        &["grep", "-h", "-w", "chunks", &branch, "--", "*.py"],
    );
    assert_eq!(
        left.lines().map(str::trim).collect::<Vec<_>>(),
        [
            "\"\"\"Split ``items`` into lists of ``size`` items (see :func:`chunks`).",
            "def helper(chunks=None):",
            "return chunks",
            "assert helper(chunks=3) == 3",
        ],
        "{left}"
    );
    let core = git(&t.repo, &["show", &format!("{branch}:stars/core.py")]);
    assert!(
        core.contains("__all__ = [\"batches\", \"first\"]"),
        "{core}"
    );
    assert!(core.contains(">>> batches([1, 2, 3], 2)"), "{core}");
    assert!(
        core.contains(">>> from stars import batches as split"),
        "{core}"
    );
    // 17 words `chunks` in Python files: 13 code occurrences (10 edited,
    // 3 another binding), 2 in doctests (edited), the `__all__` entry
    // (edited, a string) and the Sphinx role (prose). The type stub's is
    // listed as uncertain, not silently left stale.
    let words = git(
        &t.repo,
        &["grep", "-o", "-w", "chunks", "main", "--", "*.py"],
    );
    assert_eq!(words.lines().count(), 17, "{words}");
    let accounting = &json["accounting"];
    assert_eq!(
        (
            &accounting["edited"],
            &accounting["other"],
            &accounting["uncertain"],
            &accounting["in_doctests"]
        ),
        (&12.into(), &3.into(), &1.into(), &2.into()),
        "{json}"
    );
    let stderr = t.run(&["plan", "rename function chunks to batches"]).stderr;
    assert!(
        stderr.contains("stars/core.pyi:1:5: `chunks` in a type stub"),
        "{stderr}"
    );
    assert!(
        stderr.contains("code occurrences of `chunks` accounted for"),
        "{stderr}"
    );
    // The documentation's mentions are listed, and edited on request.
    assert!(
        stderr.contains("docs/index.rst:4:14: `chunks` in the documentation"),
        "{stderr}"
    );
    let out = t.run(&[
        "run",
        "--dry-run",
        "--json",
        "--include-strings",
        "rename function chunks to batches",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let diff = out.json()["diff"].as_str().unwrap().to_owned();
    assert!(
        diff.contains("+:func:`stars.batches` splits a list; ``batches([1, 2], 1)`` gives"),
        "{diff}"
    );
    if let Err(output) = t.pytest_on(&branch) {
        panic!("{output}");
    }
}

/// By default a run tests what the change can affect: a test file that
/// does not import a changed module (tier d) is left out, and the output,
/// the record and `--tests all` say so.
#[test]
fn tests_the_change_cannot_reach_are_left_out_and_said_so() {
    let t = TestContext::fixture("stars");
    std::fs::write(
        t.repo.join("tests/test_unrelated.py"),
        "import json\n\n\ndef test_json():\n    assert json.loads('1') == 1\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "an unrelated test"]);
    let out = t.run(&["run", "rename function chunks to batches"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("tests: ran tiers a–c: 4 test files (a: 4, b: 0, c: 0; P(on time)")
            && out.stderr.contains(
                "; tier d, 1 test files that do not import a changed module, left out (--tests all runs them)"
            ),
        "{}",
        out.stderr
    );
    let record = out.stderr.rsplit("record: ").next().unwrap().trim();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(record).unwrap()).unwrap();
    let schedule = &record["details"]["schedule"];
    assert_eq!(schedule["left_out"], 1, "{schedule}");
    let selection: Vec<&str> = schedule["selection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    // The edited test and, with `--doctest-modules`, the changed modules.
    assert_eq!(
        selection,
        [
            "stars/core.py",
            "stars/extra.py",
            "stars/legacy.py",
            "tests/test_stars.py"
        ]
    );
    let out = t.run(&["run", "--tests", "all", "rename function first to head"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("tests: --tests all: the whole suite (2 test files) in pytest's order"),
        "{}",
        out.stderr
    );
    // The selection's file facts were cached (by content, in the state
    // directory), and the cache can be inspected and emptied.
    let out = t.run(&["cache", "stats", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let stats = out.json();
    assert!(stats["entries"].as_u64().unwrap() >= 6, "{stats}");
    assert_eq!(stats["kinds"][0][0], "file", "{stats}");
    assert!(
        stats["path"]
            .as_str()
            .unwrap()
            .starts_with(t.state.to_str().unwrap())
    );
    let out = t.run(&["cache", "clear"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("removed"), "{}", out.stderr);
    assert_eq!(t.run(&["cache", "stats", "--json"]).json()["entries"], 0);
}

/// A project whose tests are not plain pytest configures its test command
/// (`orch.toml`): with `{junit}` and `{tests}` orch gets per-test results
/// for its selection; with neither, the exit code decides, and a change
/// that breaks it is refused.
#[test]
fn a_configured_test_command_runs_instead_of_pytest() {
    let t = TestContext::fixture("stars");
    std::fs::write(
        t.repo.join("orch.toml"),
        "test-command = \"python3 -m pytest -q -p no:cacheprovider --junitxml={junit} -- {tests}\"\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "a test command"]);
    let out = t.run(&["run", "rename function first to head"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("tests: the project's test command `python3 -m pytest"),
        "{}",
        out.stderr
    );

    // Exit code only: a script that names the function in a string.
    std::fs::write(
        t.repo.join("orch.toml"),
        "test-command = \"python3 check.py\"\n",
    )
    .unwrap();
    std::fs::write(
        t.repo.join("check.py"),
        "import stars\n\nassert getattr(stars, 'chunks')([1], 1) == [[1]]\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "a check script"]);
    let out = t.run(&["run", "rename function chunks to batches"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("runs the whole suite (its exit code only"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("tests are worse after the edit"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("`python3 check.py` (exit 1)"),
        "{}",
        out.stderr
    );

    // A broken configuration is the user's to fix (exit 2).
    std::fs::write(t.repo.join("orch.toml"), "test-command = [1\n").unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "broken"]);
    let out = t.run(&["run", "rename function chunks to batches"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("orch.toml"), "{}", out.stderr);
}

/// Where the words leave the kind open, the project decides: a qualified
/// method, a bare method name, a bare module name are each read as what
/// the project defines (and the reading is said); two readings are listed
/// as commands to copy (exit 2); an attribute is refused as such.
#[test]
fn the_project_decides_what_a_name_is_when_the_words_do_not() {
    let t = TestContext::fixture("shop");
    let plan_nodes = |command: &str| {
        let out = t.run(&["plan", command]);
        assert_eq!(out.code, 0, "{out:?}");
        let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("a plan");
        (plan["nodes"].clone(), out.stderr)
    };
    let (read, stderr) = plan_nodes("rename Cart.total to grand_total");
    assert!(
        stderr.contains(
            "read as `rename method Cart.total to grand_total`: `Cart.total` is a method"
        ),
        "{stderr}"
    );
    let (explicit, _) = plan_nodes("rename method Cart.total to grand_total");
    assert_eq!(read, explicit);
    let (read, stderr) = plan_nodes("rename receipt to summary");
    assert!(
        stderr.contains("read as `rename method Cart.receipt to summary`"),
        "{stderr}"
    );
    assert_eq!(read, plan_nodes("rename method Cart.receipt to summary").0);
    let (read, stderr) = plan_nodes("rename util to helpers");
    assert!(
        stderr.contains(
            "read as `rename module shop.util to helpers`: `util` is the module shop/util.py"
        ),
        "{stderr}"
    );
    assert_eq!(read, plan_nodes("rename module shop.util to helpers").0);
    // Two classes with `total`: both readings, nothing guessed.
    std::fs::write(
        t.repo.join("shop/ledger.py"),
        "class Ledger:\n    def total(self):\n        return 0\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "ledger"]);
    let out = t.run(&["plan", "rename total to grand_total"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("`total` could mean 2 things in this project; say which:")
            && out
                .stderr
                .contains("orch run \"rename method Cart.total to grand_total\"")
            && out
                .stderr
                .contains("orch run \"rename method Ledger.total to grand_total\""),
        "{out:?}"
    );
    // The qualifier still picks one.
    assert_eq!(t.run(&["plan", "rename Ledger.total to sum_all"]).code, 0);
    // An attribute is an attribute.
    let (read, stderr) = plan_nodes("rename Price.cents to amount");
    assert!(
        stderr.contains(
            "read as `rename attribute Price.cents to amount`: `Price.cents` is an attribute"
        ),
        "{stderr}"
    );
    assert_eq!(read, plan_nodes("rename attribute Price.cents to amount").0);
    // A class that neither defines nor assigns the name.
    let out = t.run(&["plan", "rename Price.currency to unit"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("the class `Price` has no method or attribute `currency` of its own"),
        "{out:?}"
    );
}

/// Renaming an attribute: `self.items` across the class's methods, a
/// dataclass field with its constructor keywords and `replace()`, the
/// tests run and the commit made; an attribute read through receivers
/// orch cannot type is listed, the tests catch what was left, nothing is
/// committed, and `--include-uncertain` completes it.
#[test]
fn attribute_renames_follow_the_class_and_list_what_they_cannot_type() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("shop/line.py"),
        "from dataclasses import dataclass, replace\n\n\n@dataclass(frozen=True)\nclass Line:\n    name: str\n    qty: int = 1\n\n    def double(self):\n        return replace(self, qty=self.qty * 2)\n",
    )
    .unwrap();
    std::fs::write(
        t.repo.join("tests/test_line.py"),
        "from shop.line import Line\n\n\ndef test_double():\n    line = Line(name=\"tea\", qty=2)\n    assert line.double().qty == 4\n    assert Line(\"cake\").qty == 1\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "lines"]);
    let before = t.snapshot();

    let out = t.run(&[
        "run",
        "--json",
        "rename the items attribute of Cart to lines",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let cart = git(&t.repo, &["show", &format!("{branch}:shop/cart.py")]);
    assert!(!cart.contains("items"), "{cart}");
    assert_eq!(cart.matches("self.lines").count(), 4, "{cart}");
    t.pytest_on(&branch)
        .expect("the suite passes on the branch");

    let out = t.run(&["run", "--json", "rename field Line.qty to quantity"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let line = git(&t.repo, &["show", &format!("{branch}:shop/line.py")]);
    assert!(
        line.contains("    quantity: int = 1\n")
            && line.contains("replace(self, quantity=self.quantity * 2)"),
        "{line}"
    );
    let test = git(&t.repo, &["show", &format!("{branch}:tests/test_line.py")]);
    assert!(
        test.contains("Line(name=\"tea\", quantity=2)")
            && test.contains("line.double().quantity == 4")
            && test.contains("Line(\"cake\").quantity == 1"),
        "{test}"
    );
    t.pytest_on(&branch)
        .expect("the suite passes on the branch");

    // `price.cents` in a comprehension over `self.items`: not typed.
    let branches = t.branches();
    let out = t.run(&["run", "rename Price.cents to amount"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(
            "shop/cart.py:15:26: `price.cents`: orch cannot tell whether `price` is a `Price`; left alone"
        ) && out.stderr.contains("tests are worse after the edit"),
        "{}",
        out.stderr
    );
    assert_eq!(t.branches(), branches, "nothing committed");
    let out = t.run(&[
        "run",
        "--json",
        "--include-uncertain",
        "rename Price.cents to amount",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let util = git(&t.repo, &["show", &format!("{branch}:shop/util.py")]);
    // The constructor's parameter is not the attribute.
    assert!(
        util.contains("def __init__(self, cents):\n        self.amount = cents"),
        "{util}"
    );
    t.pytest_on(&branch)
        .expect("the suite passes on the branch");
    assert_eq!(t.snapshot(), before, "the checkout is untouched");
}

/// Safe delete: what nothing refers to goes (with its decorators and
/// spacing, the tests run, the commit made); what something refers to
/// stays, and the refusal lists every reference: code, imports,
/// `__all__`, a string naming it, a call orch cannot tie to a class.
#[test]
fn safe_delete_removes_only_what_nothing_refers_to() {
    let t = TestContext::fixture("shop");
    let util = t.repo.join("shop/util.py");
    let mut source = std::fs::read_to_string(&util).unwrap();
    source.push_str(
        "\n\n# Kept for a release.\ndef _orphan():\n    return 42\n\n\ndef _reflected():\n    return 1\n\n\nHANDLER = \"_reflected\"\nUNUSED_LIMIT = 10\n",
    );
    std::fs::write(&util, &source).unwrap();
    git(&t.repo, &["commit", "-q", "-am", "helpers"]);
    let before = t.snapshot();
    // Referenced: code, an import, `__all__`.
    let out = t.run(&["run", "safe delete function make_str"]);
    assert_eq!(out.code, 2, "{out:?}");
    for place in [
        "`make_str` is still referenced",
        "shop/__init__.py:3: an import of it",
        "shop/__init__.py:5: an entry of `__all__`",
        "shop/util.py:11: a use",
        "tests/test_shop.py:",
    ] {
        assert!(out.stderr.contains(place), "{place}: {}", out.stderr);
    }
    // Named in a string (a getattr lookup, say): it stays.
    let out = t.run(&["run", "remove _reflected if unused"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("`_reflected` in a string"),
        "{}",
        out.stderr
    );
    // A method called on receivers: listed.
    let out = t.run(&["run", "delete Cart.receipt"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("tests/test_shop.py:17"),
        "{}",
        out.stderr
    );
    assert_eq!(t.snapshot(), before, "refusals change nothing");
    // Nothing refers to it: it goes, with its comment and spacing.
    let out = t.run(&["run", "--json", "safe delete function _orphan"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let after = git(&t.repo, &["show", &format!("{branch}:shop/util.py")]);
    let expected = source.replace(
        "# Kept for a release.\ndef _orphan():\n    return 42\n\n\n",
        "",
    );
    assert_eq!(after, expected);
    let out = t.run(&["run", "--json", "safe delete variable UNUSED_LIMIT"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let after = git(&t.repo, &["show", &format!("{branch}:shop/util.py")]);
    assert_eq!(after, source.replace("UNUSED_LIMIT = 10\n", ""));
    assert_eq!(t.snapshot(), before, "the checkout is untouched");
}

/// Reordering parameters: the definitions of a method family and every
/// call follow (tests pass on the branch); an order Python refuses, and a
/// call that passes `*args`, are refused with the place and the reason.
#[test]
fn parameters_are_reordered_in_definitions_and_calls() {
    let t = TestContext::fixture("shop");
    let before = t.snapshot();
    let out = t.run(&["run", "--json", "swap the parameters of Cart.add"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let cart = git(&t.repo, &["show", &format!("{branch}:shop/cart.py")]);
    assert!(cart.contains("def add(self, cents, name):"), "{cart}");
    let invoice = git(
        &t.repo,
        &["show", &format!("{branch}:shop/checkout/invoice.py")],
    );
    assert!(invoice.contains("c.add(cents, name)"), "{invoice}");
    let tests = git(&t.repo, &["show", &format!("{branch}:tests/test_shop.py")]);
    assert!(tests.contains("cart.add(250, \"tea\")"), "{tests}");
    t.pytest_on(&branch)
        .expect("the suite passes on the branch");
    // `cents` has no default: it cannot follow `label`.
    let out = t.run(&["run", "move parameter label before cents in describe"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(t.snapshot(), before, "the checkout is untouched");
    assert!(
        out.stderr
            .contains("`cents` has no default and would follow `label`, which has one"),
        "{}",
        out.stderr
    );
    // A splat call cannot follow.
    std::fs::write(
        t.repo.join("shop/splat.py"),
        "from .util import describe\n\nARGS = (150, \"x\")\nTEXT = describe(*ARGS)\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "a splat call"]);
    std::fs::write(
        t.repo.join("shop/util.py"),
        std::fs::read_to_string(t.repo.join("shop/util.py"))
            .unwrap()
            .replace(
                "def describe(cents, label=None):",
                "def describe(cents, label=None, sep=\": \"):",
            ),
    )
    .unwrap();
    git(&t.repo, &["commit", "-q", "-am", "sep"]);
    let committed = t.snapshot();
    let out = t.run(&["run", "swap parameters label and sep of describe"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("shop/splat.py:4") && out.stderr.contains("passes `*args`"),
        "{}",
        out.stderr
    );
    assert_eq!(t.snapshot(), committed, "a refusal changes nothing");
}

/// Inline variable: a local assigned once is replaced by its value (in
/// parentheses where precedence needs them) and its assignment goes, the
/// tests run on the change; a value that calls and is used twice is
/// refused with the reason, and nothing changes.
#[test]
fn a_local_assigned_once_is_inlined() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("shop/tax.py"),
        "def gross(cents, rate):\n    factor = 1 + rate\n    return round(cents * factor)\n",
    )
    .unwrap();
    std::fs::write(
        t.repo.join("tests/test_tax.py"),
        "from shop.tax import gross\n\n\ndef test_gross():\n    assert gross(100, 0.2) == 120\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "tax"]);
    let before = t.snapshot();
    let out = t.run(&["run", "--json", "inline variable factor in gross"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    assert_eq!(
        git(&t.repo, &["show", &format!("{branch}:shop/tax.py")]),
        "def gross(cents, rate):\n    return round(cents * (1 + rate))\n"
    );
    let out = t.run(&["run", "inline the local text in describe"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains(
            "the value of `text` calls, awaits or yields, and is used at 2 places: inlined, it would run 2 times"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(t.snapshot(), before, "the checkout is untouched");
}

/// Extract function / method: a line range becomes a method (a last
/// `return` carried), a function with parameters and a returned value,
/// an expression becomes a function; each commits with the suite green.
/// A range that cuts a statement, and a `return` that cannot be carried,
/// are refused with the reason (exit 2) and nothing changes.
#[test]
fn extract_makes_functions_and_methods_from_lines_and_expressions() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("shop/report.py"),
        "from .util import make_str\n\n\ndef report(rows, tax):\n    total = 0\n    count = 0\n    for name, cents in rows:\n        total += cents\n        count += 1\n    net = total * (100 - tax) // 100\n    if not rows:\n        return 'empty'\n    return f\"{count} rows, {make_str(net)} net\"\n",
    )
    .unwrap();
    std::fs::write(
        t.repo.join("tests/test_report.py"),
        "from shop.report import report\n\n\ndef test_report():\n    assert report([(\"a\", 150), (\"b\", 50)], 10) == \"2 rows, 1.80 net\"\n    assert report([], 10) == \"empty\"\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "report"]);
    let before = t.snapshot();

    let command = "extract lines 19-20 of shop/cart.py into a method receipt_lines";
    let out = t.run(&["plan", command]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("new method receipt_lines(lines) (from `receipt`), at shop/cart.py:21"),
        "{}",
        out.stderr
    );
    let out = t.run(&["run", "--json", command]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let cart = git(&t.repo, &["show", &format!("{branch}:shop/cart.py")]);
    assert!(
        cart.contains("        return self.receipt_lines(lines)\n\n    def receipt_lines(self, lines):\n        lines.append("),
        "{cart}"
    );
    t.pytest_on(&branch)
        .expect("the suite passes on the branch");

    let out = t.run(&[
        "run",
        "--json",
        "pull lines 5-9 of shop/report.py out into a function called tally",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let report = git(&t.repo, &["show", &format!("{branch}:shop/report.py")]);
    assert!(
        report.contains("    total, count = tally(rows)\n    net = ")
            && report.contains("\n\n\ndef tally(rows):\n    total = 0\n    count = 0\n    for name, cents in rows:\n        total += cents\n        count += 1\n    return total, count\n"),
        "{report}"
    );
    t.pytest_on(&branch)
        .expect("the suite passes on the branch");

    let out = t.run(&[
        "run",
        "--json",
        "extract the expression `total * (100 - tax) // 100` in report into function after_tax",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let report = git(&t.repo, &["show", &format!("{branch}:shop/report.py")]);
    assert!(
        report.contains("    net = after_tax(total, tax)\n")
            && report
                .contains("def after_tax(total, tax):\n    return total * (100 - tax) // 100\n"),
        "{report}"
    );
    t.pytest_on(&branch)
        .expect("the suite passes on the branch");

    let branches = t.branches();
    let out = t.run(&["run", "extract lines 6-8 of shop/report.py into function f"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("lines 6-8 cut the statement at lines 7-9: select whole statements"),
        "{}",
        out.stderr
    );
    let out = t.run(&[
        "run",
        "extract lines 11-12 of shop/report.py into function f",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("line 12 returns from `report`"),
        "{}",
        out.stderr
    );
    assert_eq!(t.branches(), branches);
    assert_eq!(t.snapshot(), before, "the checkout is untouched");
}

/// Inline function: every call gets the body with its arguments bound
/// (defaults, keywords, `module.f(...)`, in a generator), the import left
/// unused goes, and so does the definition; where a use remains (a
/// re-export, `__all__`, a call whose argument would run twice, an
/// f-string whose quotes the body would end) the definition stays and
/// each use is listed; a function that is not one `return` is refused.
#[test]
fn inline_function_replaces_calls_and_removes_what_is_left_unused() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("shop/pricing.py"),
        "\"\"\"Pricing.\"\"\"\n\n\ndef gross(cents, tax=20):\n    \"\"\"Cents with tax.\"\"\"\n    return cents + cents * tax // 100\n\n\ndef total(items):\n    return sum(gross(c) for c in items)\n\n\ndef net(cents):\n    rate = 20\n    return cents - cents * rate // 100\n",
    )
    .unwrap();
    std::fs::write(
        t.repo.join("tests/test_pricing.py"),
        "import shop.pricing as pricing\nfrom shop.pricing import gross, net, total\n\n\ndef test_pricing():\n    assert gross(100) == 120\n    assert pricing.gross(100, tax=10) == 110\n    assert total([100, 200]) == 360\n    assert net(100) == 80\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "pricing"]);
    let before = t.snapshot();

    let out = t.run(&["run", "--json", "inline all calls to gross"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let pricing = git(&t.repo, &["show", &format!("{branch}:shop/pricing.py")]);
    assert!(
        !pricing.contains("def gross")
            && pricing.contains("return sum((c + c * 20 // 100) for c in items)"),
        "{pricing}"
    );
    let test = git(
        &t.repo,
        &["show", &format!("{branch}:tests/test_pricing.py")],
    );
    assert!(
        test.contains("from shop.pricing import net, total\n")
            && test.contains("assert (100 + 100 * 20 // 100) == 120")
            && test.contains("assert (100 + 100 * 10 // 100) == 110"),
        "{test}"
    );
    t.pytest_on(&branch)
        .expect("the suite passes on the branch");

    // Uses that stay keep the definition, each said.
    let out = t.run(&["plan", "inline function make_str"]);
    assert_eq!(out.code, 0, "{out:?}");
    for kept in [
        "shop/__init__.py:5: listed in `__all__`",
        "shop/__init__.py:3: imported (a re-export)",
        "shop/cart.py:19: the argument for `cents` has effects and the body uses it 2 times",
        "shop/cart.py:18: the call is inside an f-string whose quotes (`\"`) the body's text would end",
        "shop/checkout/invoice.py:3: imported under another name",
    ] {
        assert!(out.stderr.contains(kept), "{kept}: {}", out.stderr);
    }
    let out = t.run(&["run", "--json", "inline function make_str"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let util = git(&t.repo, &["show", &format!("{branch}:shop/util.py")]);
    assert!(
        util.contains("def make_str(cents):")
            && util.contains("    text = f\"{cents // 100}.{cents % 100:02d}\"\n"),
        "{util}"
    );
    t.pytest_on(&branch)
        .expect("the suite passes on the branch");

    // Neither one `return` nor statements that return no value.
    let branches = t.branches();
    let out = t.run(&["run", "inline net"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("the body of `net` returns at line 15 before its end: it cannot be placed where the call is"),
        "{}",
        out.stderr
    );
    assert_eq!(t.branches(), branches);
    assert_eq!(t.snapshot(), before, "the checkout is untouched");
}
