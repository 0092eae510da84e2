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
