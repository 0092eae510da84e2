//! A repository's own `.mcp.json` runs nothing until the user trusts it,
//! and what runs gets a scrubbed environment.

use serde_json::json;

use crate::TestContext;
use crate::support::git;

const RENAME: &str = "rename function make_str to make_text";

/// Commits a `.mcp.json` whose `search` server records that it ran (and
/// its environment) in the scratch directory, then serves orch's own
/// search tools.
fn commit_repo_config(t: &TestContext, extra: &str) {
    let script = format!(
        "echo ran >> '{ran}'; env > '{env}'; {extra} exec \"$0\" serve-mcp search --root \"$1\"",
        ran = t.scratch.join("ran").display(),
        env = t.scratch.join("env").display(),
    );
    let config = json!({"mcpServers": {"searcher": {
        "command": "sh",
        "args": ["-c", script, env!("CARGO_BIN_EXE_orch"), "${ORCH_ROOT}"],
        "roles": ["search"],
        "env": {"SEARCHER_SETTING": "kept"},
    }}});
    std::fs::write(
        t.repo.join(".mcp.json"),
        serde_json::to_string_pretty(&config).unwrap(),
    )
    .unwrap();
    git(&t.repo, &["add", ".mcp.json"]);
    git(&t.repo, &["commit", "-q", "-m", "mcp config"]);
}

fn runs(t: &TestContext) -> usize {
    std::fs::read_to_string(t.scratch.join("ran"))
        .map(|text| text.lines().count())
        .unwrap_or(0)
}

#[test]
fn a_repository_mcp_config_runs_only_once_trusted_and_without_orchs_tokens() {
    let t = TestContext::fixture("shop");
    commit_repo_config(&t, "");
    // Without a terminal and without a decision: refused, nothing runs.
    let out = t.output(
        t.command(&["plan", RENAME])
            .env("GITHUB_TOKEN", "ghp_secret_token_value"),
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("searcher"), "{out:?}");
    let hint = format!("orch servers trust --repo {}", t.repo.display());
    assert!(out.stderr.contains(&hint), "{out:?}");
    assert_eq!(runs(&t), 0);
    // `servers list` shows it and runs nothing.
    let out = t.run_asking(&["servers", "list"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("searcher"), "{out:?}");
    assert_eq!(runs(&t), 0);

    // For one run: it starts once, without orch's credentials.
    let out = t.output(
        t.command(&["plan", "--trust-repo-config", RENAME])
            .env("GITHUB_TOKEN", "ghp_secret_token_value")
            .env("ORCH_GIT_TOKEN", "another_secret"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(runs(&t), 1);
    let env = std::fs::read_to_string(t.scratch.join("env")).unwrap();
    assert!(!env.contains("secret"), "{env}");
    assert!(env.contains("SEARCHER_SETTING=kept"), "{env}");
    assert!(env.lines().any(|l| l.starts_with("PATH=")), "{env}");
    assert!(!env.contains("XDG_STATE_HOME"), "{env}");

    // Trusted once, remembered.
    let out = t.run_asking(&["servers", "trust"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = t.run_asking(&["plan", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(runs(&t), 2);

    // A changed file is a new decision.
    commit_repo_config(&t, "true;");
    let out = t.run_asking(&["plan", RENAME]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(runs(&t), 2);
}

#[test]
fn a_command_that_is_not_an_mcp_server_runs_once() {
    let t = TestContext::fixture("shop");
    let config = json!({"mcpServers": {"fake": {
        "command": "sh",
        "args": ["-c", format!("echo ran >> '{}'; echo not json", t.scratch.join("ran").display())],
        "roles": ["search"],
    }}});
    std::fs::write(t.repo.join(".mcp.json"), config.to_string()).unwrap();
    git(&t.repo, &["add", ".mcp.json"]);
    git(&t.repo, &["commit", "-q", "-m", "mcp config"]);
    let out = t.run(&["plan", "--trust-repo-config", RENAME]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("is not an MCP server"), "{out:?}");
    assert!(out.stderr.contains("not started again"), "{out:?}");
    assert_eq!(runs(&t), 1, "{out:?}");
}
