//! The checked-in schema and example plans.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn checked_in_schema_matches_the_types() {
    let generated = std::process::Command::new(env!("CARGO_BIN_EXE_orch"))
        .arg("schema")
        .output()
        .unwrap();
    assert!(generated.status.success());
    let generated: serde_json::Value = serde_json::from_slice(&generated.stdout).unwrap();
    let checked_in: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("plans/schema.json")).unwrap()).unwrap();
    assert!(
        generated == checked_in,
        "plans/schema.json is stale: run `cargo run -- schema > plans/schema.json`"
    );
}

#[test]
fn example_plans_are_valid() {
    let mut count = 0;
    for entry in std::fs::read_dir(root().join("plans")).unwrap().flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n != "schema.json")
            && path.extension().is_some_and(|e| e == "json")
        {
            orch::load_plan(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            count += 1;
        }
    }
    assert!(count >= 2, "plans/ should hold at least two example plans");
}

/// The plan ids of one command per refactor kind on the fixtures (made on
/// fixed-date commits, so the repository head is the same on every run).
/// A plan id changes only when what the plan does changes: a layout change
/// must leave these as they are.
#[test]
fn plan_ids_of_the_fixture_commands_are_pinned() {
    let pinned = [
        (
            "shop",
            "rename function make_str to make_text",
            "3bd65993c26bd33dcb0e15b506443b8748ccb706",
        ),
        (
            "shop",
            "rename method Cart.add to add_item",
            "7b14497c48b7141a1e68037539a86c0c8d3a3c7b",
        ),
        (
            "shop",
            "rename parameter label of describe to title",
            "ad24f4a5b8a6b553a2542ef551f7bc68eacccd71",
        ),
        (
            "textkit",
            "rename class Counter to WordCounter",
            "d10ac1461252d14129c34aba50101e4d4ef0fd78",
        ),
        (
            "store",
            "make the pricing module async",
            "4bff63d49772a6ee0ecd01de8c892bfadfccb7bf",
        ),
        (
            "store",
            "move slug from store/util.py to store/text.py",
            "77ac53d2f7677e148d794b5af70fa9621a23bec7",
        ),
        (
            "store",
            "rename module store.money to money_utils",
            "9309ff2d5bb7dcffc7f3d7d7652ab7e132fed8fb",
        ),
        (
            "imports",
            "remove unused imports in ledger/",
            "08c4984453aecc619933f4ca7a15f72f6238103b",
        ),
        (
            "polyglot",
            "replace `os.path.join($A, $B)` with `Path($A) / $B`",
            "7b9c4a43b8ded1df4933efd9c352f46f202a26e7",
        ),
    ];
    for (fixture, command, id) in pinned {
        let t = crate::TestContext::fixture(fixture);
        let out = t.run(&["plan", "--json", command]);
        assert_eq!(out.code, 0, "{command}: {out:?}");
        assert_eq!(out.json()["plan_id"], id, "{fixture}: {command}");
    }
}
