//! `move NAME to MODULE` on `fixtures/store`, with real pytest runs.

use crate::TestContext;
use crate::support::git;

fn show(t: &TestContext, branch: &str, file: &str) -> String {
    git(&t.repo, &["show", &format!("{branch}:{file}")])
}

#[test]
fn a_function_moves_with_its_helper_and_every_import_follows() {
    let t = TestContext::fixture("store");
    let before = t.snapshot();
    let out = t.run(&[
        "run",
        "--json",
        "move parse_price from store/util.py to store/money.py",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let changed = git(&t.repo, &["diff", "--name-only", "main", &branch]);
    assert_eq!(
        changed,
        "store/money.py\nstore/pricing.py\nstore/util.py\ntests/test_store.py\n"
    );
    let util = show(&t, &branch, "store/util.py");
    assert_eq!(
        util,
        "\"\"\"Parsing helpers.\"\"\"\n\n\ndef slug(text):\n    return \"-\".join(text.lower().split())\n"
    );
    let money = show(&t, &branch, "store/money.py");
    assert!(
        money.starts_with("\"\"\"Money helpers.\"\"\"\n\nimport re\n\n\ndef round_price(value):"),
        "{money}"
    );
    assert!(money.contains("\n\n\n_NUMBER = re.compile("));
    assert!(money.ends_with("    return float(match.group())\n"));
    assert!(
        show(&t, &branch, "store/pricing.py").contains("from store.money import parse_price\n")
    );
    assert!(
        show(&t, &branch, "tests/test_store.py").contains("from store.money import parse_price\n")
    );
    let message = git(&t.repo, &["log", "-1", "--format=%B", &branch]);
    assert!(message.contains("`_NUMBER` moves along"), "{message}");
    if let Err(output) = t.pytest_on(&branch) {
        panic!("{output}");
    }
    assert_eq!(t.snapshot(), before);
}

#[test]
fn a_class_moves_into_a_new_module_and_keep_alias_leaves_a_reexport() {
    let t = TestContext::fixture("store");
    let out = t.run(&["run", "--json", "move class PriceList to store.lists"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let created = show(&t, &branch, "store/lists.py");
    assert_eq!(
        created,
        "from store.money import round_price\nfrom store.pricing import quote\n\n\nclass PriceList:\n    def __init__(self, currency):\n        self.currency = currency\n\n    def total(self, items):\n        return round_price(sum(quote(items, self.currency)))\n"
    );
    let tests = show(&t, &branch, "tests/test_store.py");
    assert!(
        tests.contains("from store.pricing import convert\nfrom store.lists import PriceList\n"),
        "{tests}"
    );
    let pricing = show(&t, &branch, "store/pricing.py");
    assert!(!pricing.contains("class PriceList"));
    // `round_price` is still used by `convert`: its import stays.
    assert!(pricing.contains("from store.money import round_price\n"));
    assert!(t.pytest_on(&branch).is_ok());

    // --keep-alias: the old module re-exports the name.
    let out = t.run(&[
        "run",
        "--json",
        "--keep-alias",
        "move slug to store/text.py",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let util = show(&t, &branch, "store/util.py");
    assert!(
        util.contains("import re\nfrom store.text import slug\n"),
        "{util}"
    );
    assert!(!util.contains("def slug"));
    assert!(show(&t, &branch, "store/report.py").contains("from store.text import slug\n"));
    assert!(t.pytest_on(&branch).is_ok());
}

#[test]
fn circular_imports_and_clashes_refuse_the_move() {
    let t = TestContext::fixture("store");
    // PriceList uses `quote` from store.pricing, which would import it back.
    let out = t.run(&[
        "run",
        "--keep-alias",
        "move class PriceList to store/lists.py",
    ]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("circular import"), "{out:?}");
    assert!(out.stderr.contains("`quote`"), "{out:?}");
    // The target already defines the name.
    std::fs::write(
        t.repo.join("store/text.py"),
        "def slug(text):\n    return text\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "text"]);
    let before = t.snapshot();
    let out = t.run(&["run", "move slug from store/util.py to store/text.py"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("`store/text.py` already defines `slug`"),
        "{out:?}"
    );
    // An unknown target module names the closest ones.
    assert_eq!(t.snapshot(), before);
    let out = t.run(&["run", "move slug to the textutils module"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("no Python module `textutils`"),
        "{out:?}"
    );
    assert_eq!(t.snapshot(), before);
    assert_eq!(t.branches(), ["main"]);
}

#[test]
fn a_module_renamed_in_words_takes_every_import_with_it() {
    let t = TestContext::fixture("store");
    let out = t.run(&["run", "--json", "rename the util module to helpers"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let changed = git(&t.repo, &["diff", "--name-status", "-M", "main", &branch]);
    assert_eq!(
        changed,
        "R100\tstore/util.py\tstore/helpers.py\nM\tstore/pricing.py\nM\tstore/report.py\nM\ttests/test_store.py\n"
    );
    assert!(show(&t, &branch, "store/report.py").contains("from store.helpers import slug\n"));
    assert!(t.pytest_on(&branch).is_ok());

    // To another package: importers get the new dotted name.
    let out = t.run(&["run", "--json", "rename module store.money to money_utils"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    assert!(
        show(&t, &branch, "store/pricing.py")
            .contains("from store.money_utils import round_price\n")
    );

    let out = t.run(&["run", "--json", "rename store/money.py to money_utils.py"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    assert!(
        show(&t, &branch, "store/pricing.py").contains("from money_utils import round_price\n")
    );
    assert!(t.pytest_on(&branch).is_ok());

    // Onto an existing module: refused, nothing changed.
    let before = t.snapshot();
    let out = t.run(&["run", "rename module store.util to store.money"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("exists already"), "{out:?}");
    assert_eq!(t.snapshot(), before);
}

/// In a `src/` layout, paths are named as people type them: a unique path
/// suffix is taken (`util.py`, `store/money.py`), a new module's directory
/// too (`store/extra.py`), and an ambiguous one lists the candidates.
#[test]
fn paths_by_their_suffix_resolve_in_a_src_layout() {
    let t = TestContext::fixture("store");
    std::fs::create_dir_all(t.repo.join("src")).unwrap();
    git(&t.repo, &["mv", "store", "src/store"]);
    std::fs::write(t.repo.join("pytest.ini"), "[pytest]\npythonpath = src\n").unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "src layout"]);
    let created = |out: &crate::support::RunOutput| -> Vec<String> {
        out.json()["plan"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["file"].as_str().map(str::to_owned))
            .collect()
    };

    let out = t.run(&[
        "plan",
        "--json",
        "move parse_price from util.py to money.py",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let files = created(&out);
    assert!(
        files.contains(&"src/store/money.py".to_owned()),
        "{files:?}"
    );
    assert!(!files.iter().any(|f| f == "money.py"), "{files:?}");

    let out = t.run(&[
        "plan",
        "--json",
        "move parse_price from store/util.py to store/extra.py",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let files = created(&out);
    assert!(
        files.contains(&"src/store/extra.py".to_owned()),
        "{files:?}"
    );

    // Two modules end in `util.py`: the candidates are listed.
    std::fs::create_dir_all(t.repo.join("src/store/legacy")).unwrap();
    std::fs::write(t.repo.join("src/store/legacy/__init__.py"), "").unwrap();
    std::fs::write(t.repo.join("src/store/legacy/util.py"), "X = 1\n").unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "another util"]);
    let out = t.run(&["plan", "move parse_price from store/util.py to util.py"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("src/store/legacy/util.py") && out.stderr.contains("src/store/util.py"),
        "{}",
        out.stderr
    );
}
