//! `make ... async` on `fixtures/store`: callers follow up the call graph,
//! tests and `__main__` get `asyncio.run`, blockers refuse the plan; real
//! pytest runs before and after.

use crate::TestContext;
use crate::support::git;

fn show(t: &TestContext, branch: &str, file: &str) -> String {
    git(&t.repo, &["show", &format!("{branch}:{file}")])
}

#[test]
fn a_function_and_its_callers_become_async_up_to_the_tests_and_main() {
    let t = TestContext::fixture("store");
    let before = t.snapshot();
    let out = t.run(&[
        "run",
        "--json",
        "convert fetch_rates and its callers to async",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    let branch = json["branch"].as_str().unwrap().to_owned();
    assert!(
        branch.starts_with("orch/make-fetch-rates-async-"),
        "{branch}"
    );
    // Every caller on the way up is listed in the commit message.
    let message = git(&t.repo, &["log", "-1", "--format=%B", &branch]);
    for converted in [
        "store/rates.py:6: `fetch_rates` becomes async",
        "store/pricing.py:8: `convert` becomes async",
        "store/pricing.py:12: `quote` becomes async",
        "store/pricing.py:20: `PriceList.total` becomes async",
        "store/report.py:5: `render` becomes async",
        "store/cli.py:6: `main` becomes async",
    ] {
        assert!(message.contains(converted), "{converted}: {message}");
    }
    let changed = git(&t.repo, &["diff", "--name-only", "main", &branch]);
    assert_eq!(
        changed,
        "store/cli.py\nstore/pricing.py\nstore/rates.py\nstore/report.py\ntests/test_store.py\n"
    );
    let pricing = show(&t, &branch, "store/pricing.py");
    assert!(pricing.contains(
        "async def convert(amount, currency):\n    return round_price(amount * await fetch_rates(currency))\n"
    ), "{pricing}");
    assert!(
        pricing.contains(
            "    return [await convert(parse_price(item), currency) for item in items]\n"
        )
    );
    assert!(pricing.contains(
        "    def __init__(self, currency):\n        self.currency = currency\n\n    async def total(self, items):\n        return round_price(sum(await quote(items, self.currency)))\n"
    ));
    // Functions that do not reach fetch_rates stay synchronous.
    assert!(pricing.contains("from store.util import parse_price"));
    assert!(show(&t, &branch, "store/util.py").contains("\ndef parse_price(text):"));
    let report = show(&t, &branch, "store/report.py");
    assert!(report.contains("    lines = await pricing.quote(items, currency)\n"));
    let cli = show(&t, &branch, "store/cli.py");
    assert!(cli.starts_with("import asyncio\nimport sys\n"), "{cli}");
    assert!(cli.contains("async def main(argv=None):\n    print(await render("));
    assert!(
        cli.ends_with("    sys.exit(asyncio.run(main()))\n"),
        "{cli}"
    );
    let tests = show(&t, &branch, "tests/test_store.py");
    assert!(tests.contains("    assert asyncio.run(prices.total([\"$1\", \"$2\"])) == 3.9\n"));
    assert!(tests.contains("    assert parse_price(\"$1,250.50\") == 1250.5\n"));

    // The branch's tests pass, and orch ran them too.
    if let Err(output) = t.pytest_on(&branch) {
        panic!("{output}");
    }
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(format!("{}/record.json", json["run_dir"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let after = &record["details"]["execute"]["after"];
    assert_eq!(
        (after["passed"].as_u64(), after["failed"].as_u64()),
        (Some(5), Some(0)),
        "{after}"
    );
    assert_eq!(t.snapshot(), before);
}

#[test]
fn a_module_named_in_words_resolves_and_ambiguity_lists_candidates() {
    let t = TestContext::fixture("store");
    let out = t.run(&["run", "--json", "make the pricing module async"]);
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    let pricing = show(&t, &branch, "store/pricing.py");
    assert!(pricing.contains("async def convert(") && pricing.contains("async def quote("));
    // fetch_rates is called by the module, not part of it.
    assert!(show(&t, &branch, "store/rates.py").contains("\ndef fetch_rates("));
    assert!(t.pytest_on(&branch).is_ok());

    // A second `pricing` module makes the bare name ambiguous.
    std::fs::create_dir_all(t.repo.join("legacy")).unwrap();
    std::fs::write(
        t.repo.join("legacy/pricing.py"),
        "def old_quote():\n    return 1\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "legacy"]);
    let out = t.run(&["plan", "make the pricing module async"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("`pricing` could mean more than one module:\n  legacy/pricing.py (module `pricing`)\n  store/pricing.py (module `store.pricing`)"),
        "{out:?}"
    );
    let out = t.run(&["plan", "make the prices module async"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("closest modules: "), "{out:?}");
}

#[test]
fn callers_that_cannot_be_async_refuse_the_plan_and_say_where() {
    let t = TestContext::fixture("store");
    std::fs::write(
        t.repo.join("store/display.py"),
        "from store.rates import fetch_rates\n\n\nclass Badge:\n    def __init__(self, currency):\n        self.rate = fetch_rates(currency)\n\n    @property\n    def label(self):\n        return str(fetch_rates(\"EUR\"))\n\n\nDEFAULT = fetch_rates(\"GBP\")\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "display"]);
    let before = t.snapshot();
    let out = t.run(&["run", "make fetch_rates async"]);
    assert_eq!(out.code, 2, "{out:?}");
    for place in [
        "store/display.py:6:",
        "`__init__` calls `fetch_rates` but cannot become async",
        "store/display.py:10:",
        "`label` is a property",
        "store/display.py:13:",
        "at module level",
    ] {
        assert!(out.stderr.contains(place), "{place}: {out:?}");
    }
    assert_eq!(t.snapshot(), before);
    assert_eq!(t.branches(), ["main"]);
}
