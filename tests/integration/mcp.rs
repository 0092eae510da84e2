//! The MCP layer: configuration, `orch servers`, third-party servers from
//! npm, approval, the audit log, and misbehaving servers.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::TestContext;
use crate::support::npm_bin;

const RENAME: &str = "rename function make_str to make_text";

fn write_json(path: &Path, value: &Value) -> PathBuf {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
    path.to_owned()
}

/// `fixtures/mcp/third-party.json`: server-filesystem serves `fs`,
/// mcp-ripgrep serves `search`, server-everything is listed.
fn third_party_config() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/mcp/third-party.json")
        .to_string_lossy()
        .into_owned()
}

/// The third-party config with only server-filesystem (the `fs` role).
fn files_only_config(t: &TestContext) -> PathBuf {
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(third_party_config()).unwrap()).unwrap();
    config["mcpServers"]
        .as_object_mut()
        .unwrap()
        .retain(|name, _| name == "files");
    write_json(&t.scratch.join("files.json"), &config)
}

/// PATH with the npm servers first.
fn npm_path() -> String {
    format!(
        "{}:{}",
        npm_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// An orch command with the npm servers on PATH.
fn with_npm(t: &TestContext, args: &[&str]) -> crate::support::RunOutput {
    t.output(t.command(args).env("PATH", npm_path()))
}

/// The run directory's `calls.jsonl`, parsed.
fn calls(run_dir: &str) -> Vec<Value> {
    std::fs::read_to_string(Path::new(run_dir).join("calls.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn fault_path() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/servers/fault.py")
        .to_string_lossy()
        .into_owned()
}

/// A config with one fault server `f` in `mode`, plus `extra` keys.
fn fault_config(t: &TestContext, mode: &str, extra: Value) -> String {
    let state = t.scratch.join("fault");
    std::fs::create_dir_all(&state).unwrap();
    let mut server = json!({
        "command": "python3",
        "args": [fault_path(), mode, state.to_string_lossy()],
        "startupTimeoutMs": 5000,
        "callTimeoutMs": 5000,
    });
    for (k, v) in extra.as_object().unwrap() {
        server[k] = v.clone();
    }
    write_json(
        &t.scratch.join(format!("{mode}.json")),
        &json!({ "mcpServers": { "f": server } }),
    )
    .to_string_lossy()
    .into_owned()
}

fn fault_seen(t: &TestContext) -> String {
    std::fs::read_to_string(t.scratch.join("fault/seen.log")).unwrap_or_default()
}

#[test]
fn config_files_merge_in_order_and_unknown_keys_warn() {
    let t = TestContext::fixture("shop");
    let user = t.scratch.join("config/orch");
    std::fs::create_dir_all(&user).unwrap();
    write_json(
        &user.join("mcp.json"),
        &json!({"mcpServers": {
            "tools": {"command": "user-tools"},
            "grep": {"command": "user-grep", "roles": ["search"]},
        }}),
    );
    write_json(
        &t.repo.join(".mcp.json"),
        &json!({"mcpServers": {
            "grep": {"command": "project-grep", "args": ["--root", "${ORCH_ROOT}"],
                     "roles": ["search"], "env": {"GREP_TOKEN": "${ORCH_TEST_SECRET}"}},
            "old": {"command": "old", "enabled": false},
        }}),
    );
    let explicit = write_json(
        &t.scratch.join("extra.json"),
        &json!({"mcpServers": {"tools": {"command": "explicit-tools", "flavour": "x"}}}),
    );
    let out = t.output(
        t.command(&[
            "servers",
            "list",
            "--json",
            "--mcp-config",
            explicit.to_str().unwrap(),
        ])
        .env("ORCH_TEST_SECRET", "hunter2-do-not-print"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("unknown key `mcpServers.tools.flavour` ignored"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"));
    let listed = out.json();
    let servers = listed["servers"].as_array().unwrap();
    let by_name = |name: &str| {
        servers
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {listed:#}"))
    };
    assert_eq!(by_name("tools")["command"], "explicit-tools");
    assert!(
        by_name("tools")["source"]
            .as_str()
            .unwrap()
            .ends_with("extra.json")
    );
    let grep = by_name("grep");
    assert!(
        grep["command"]
            .as_str()
            .unwrap()
            .starts_with("project-grep --root /")
    );
    assert_eq!(grep["roles"], json!(["search"]));
    assert_eq!(grep["env"], json!(["GREP_TOKEN"]));
    assert_eq!(by_name("old")["enabled"], false);
    // Built-in servers serve the roles nobody claimed: one process for
    // `code` and `fs`, and `test` on its own.
    assert_eq!(by_name("orch")["roles"], json!(["code", "fs"]));
    assert!(
        by_name("orch")["command"]
            .as_str()
            .unwrap()
            .contains(" serve-mcp code+fs --root /")
    );
    assert_eq!(by_name("orch-test")["roles"], json!(["test"]));
    assert!(
        servers.iter().all(
            |s| !["orch-search", "orch-fs", "orch-code"].contains(&s["name"].as_str().unwrap())
        )
    );
    assert_eq!(listed["files"].as_array().unwrap().len(), 3);
}

#[test]
fn a_malformed_config_names_the_file_the_key_and_what_was_expected() {
    let t = TestContext::fixture("shop");
    let bad = write_json(
        &t.scratch.join("bad.json"),
        &json!({"mcpServers": {"x": {"command": "x", "maxInFlight": "lots"}}}),
    );
    let out = t.run(&["plan", "--mcp-config", bad.to_str().unwrap(), RENAME]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("bad.json"), "{out:?}");
    assert!(out.stderr.contains("mcpServers.x.maxInFlight"), "{out:?}");
    assert!(out.stderr.contains("a whole number > 0"), "{out:?}");
    std::fs::write(t.repo.join(".mcp.json"), "{\"mcpServers\": {").unwrap();
    let out = t.run(&["servers", "list"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains(".mcp.json") && out.stderr.contains("line 1"),
        "{out:?}"
    );
    std::fs::remove_file(t.repo.join(".mcp.json")).unwrap();
    let out = t.run(&["servers", "list", "--mcp-config", "/nonexistent/mcp.json"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("/nonexistent/mcp.json"), "{out:?}");
}

#[test]
fn third_party_fs_and_search_servers_give_the_same_diff_as_the_built_in_ones() {
    let t = TestContext::fixture("shop");
    let builtin = t.run(&["run", "--dry-run", "--json", RENAME]);
    assert_eq!(builtin.code, 0, "{builtin:?}");
    let config = third_party_config();
    let third = with_npm(
        &t,
        &[
            "run",
            "--dry-run",
            "--json",
            "--yes",
            "--mcp-config",
            &config,
            RENAME,
        ],
    );
    assert_eq!(third.code, 0, "{third:?}");
    let (a, b) = (builtin.json(), third.json());
    assert!(
        a["diff"]
            .as_str()
            .unwrap()
            .contains("+def make_text(cents):")
    );
    assert_eq!(a["diff"], b["diff"]);
    assert_eq!(a["plan_id"], b["plan_id"]);
    // The calls really went to the third-party servers.
    let log = calls(b["run_dir"].as_str().unwrap());
    let used = |server: &str, tool: &str| {
        log.iter()
            .any(|c| c["server"] == server && c["tool"] == tool && c["outcome"] == "ok")
    };
    assert!(used("ripgrep", "count-matches"), "{log:#?}");
    assert!(used("files", "edit_file"), "{log:#?}");
    assert!(
        !log.iter()
            .any(|c| (c["role"] == "fs" || c["role"] == "search")
                && c["server"].as_str().unwrap().starts_with("orch"))
    );

    // And a full run commits the same change, tests passing.
    let full = with_npm(
        &t,
        &["run", "--json", "--yes", "--mcp-config", &config, RENAME],
    );
    assert_eq!(full.code, 0, "{full:?}");
    let branch = full.json()["branch"].as_str().unwrap().to_owned();
    let shown = crate::support::git(&t.repo, &["show", &format!("{branch}:shop/util.py")]);
    assert!(shown.contains("def make_text(cents):"), "{shown}");
}

#[test]
fn servers_check_reports_the_npm_servers_and_their_roles() {
    let t = TestContext::fixture("shop");
    let config = third_party_config();
    let out = with_npm(&t, &["servers", "check", "--json", "--mcp-config", &config]);
    // server-filesystem has no tool that deletes a file, which a module
    // rename needs of the `fs` role: the check says so (exit 1).
    assert_eq!(out.code, 1, "{out:?}");
    let json = out.json();
    assert_eq!(json["ok"], false);
    let servers = json["servers"].as_array().unwrap();
    let by_name = |name: &str| servers.iter().find(|s| s["name"] == name).unwrap();
    for name in ["files", "ripgrep", "everything", "orch-code", "orch-test"] {
        let s = by_name(name);
        assert_eq!(s["ok"], name != "files", "{s:#}");
        assert!(s["ready_ms"].as_f64().unwrap() > 0.0);
        assert!(!s["tools"].as_array().unwrap().is_empty());
    }
    assert_eq!(
        by_name("files")["missing"],
        json!(["fs: delete_file (for module renames)"])
    );
    assert_eq!(by_name("files")["can_serve"], json!([]));
    assert_eq!(by_name("ripgrep")["roles"], json!(["search"]));
    // mcp-ripgrep declares no annotations.
    assert!(
        by_name("ripgrep")["tools"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["hints"] == json!(["unannotated"]))
    );
    // server-everything sends unsolicited notifications; a call still works.
    let out = with_npm(
        &t,
        &[
            "servers",
            "call",
            "everything",
            "echo",
            r#"{"message": "hi"}"#,
            "--yes",
            "--mcp-config",
            &config,
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("hi"), "{out:?}");

    // A role whose tool is missing is reported.
    let broken = write_json(
        &t.scratch.join("broken.json"),
        &json!({"mcpServers": {"files": {
            "command": "mcp-server-filesystem", "args": ["${ORCH_ROOT}"],
            "roles": {"fs": {"edit_file": {"tool": "patch_file"}}}}}}),
    );
    let out = with_npm(
        &t,
        &[
            "servers",
            "check",
            "files",
            "--mcp-config",
            broken.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("missing tools: fs: patch_file"),
        "{out:?}"
    );
}

/// orch's own servers write only in orch's private worktree, which changes
/// nothing of the user's until the commit: a dry run and a run need no
/// approval and no `--yes`.
#[test]
fn orchs_own_edits_in_its_worktree_need_no_approval() {
    let t = TestContext::fixture("shop");
    let before = t.snapshot();
    let out = t.run_asking(&["run", "--dry-run", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("+def make_text(cents):"), "{out:?}");
    let out = t.run_asking(&["run", "--json", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.json()["commit"].is_string(), "{out:?}");
    assert_eq!(t.snapshot(), before);
}

/// A third-party server's writes are asked about: without a terminal and
/// without `--yes`, the run stops before any write and before any test.
#[test]
fn without_a_terminal_or_yes_a_destructive_call_stops_the_run_before_any_write() {
    let t = TestContext::fixture("shop");
    let before = t.snapshot();
    let branches = t.branches();
    // server-filesystem for the `fs` role only.
    let config = files_only_config(&t);
    let config = config.to_str().unwrap();
    let out = t.output(
        t.command(&["run", "--json", "--mcp-config", config, RENAME])
            .env("PATH", npm_path()),
    );
    assert_eq!(out.code, 1, "{out:?}");
    let json = out.json();
    assert_eq!(json["stop_reason"], "approval", "{out:?}");
    assert!(
        json["error"].as_str().unwrap().contains("edit_file"),
        "{out:?}"
    );
    assert!(out.stderr.contains("--yes"), "{out:?}");
    assert_eq!(t.snapshot(), before);
    assert_eq!(t.branches(), branches);
    let log = calls(json["run_dir"].as_str().unwrap());
    assert!(log.iter().all(|c| c["tool"] != "edit_file"), "{log:#?}");
    // No test ran either: approval is asked before the baseline.
    assert!(log.iter().all(|c| c["tool"] != "run_tests"), "{log:#?}");
}

#[test]
fn every_call_is_audited_and_secrets_stay_out_of_every_record() {
    let t = TestContext::fixture("shop");
    let secret = "s3cr3t-value-7f1d2c";
    let config = write_json(
        &t.scratch.join("secret.json"),
        &json!({"mcpServers": {"ripgrep": {
            "command": "mcp-ripgrep",
            "env": {"RG_API_TOKEN": "${ORCH_TEST_SECRET}"},
            "roles": {"search": {"search": {"tool": "count-matches",
                "arguments": {"pattern": "{regex}", "path": "{root}", "filePattern": "{glob}", "countLines": false},
                "result": "rg-count"}}}}}}),
    );
    let out = t.output(
        t.command(&[
            "run",
            "--json",
            "--yes",
            "--mcp-config",
            config.to_str().unwrap(),
            RENAME,
        ])
        .env("ORCH_TEST_SECRET", secret)
        .env("PATH", npm_path()),
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
    let json = out.json();
    let log = calls(json["run_dir"].as_str().unwrap());
    assert!(log.len() >= 6, "{log:#?}");
    for call in &log {
        for key in [
            "time",
            "server",
            "tool",
            "arguments_sha1",
            "duration_ms",
            "bytes",
            "tokens",
            "outcome",
        ] {
            assert!(!call[key].is_null(), "{key} in {call}");
        }
    }
    assert!(
        log.iter()
            .any(|c| c["server"] == "ripgrep" && c["outcome"] == "ok")
    );
    assert!(
        log.iter()
            .any(|c| c["tool"] == "run_tests" && c["tokens"].as_u64().unwrap() > 0)
    );
    // Nothing orch wrote anywhere mentions the secret.
    let files = crate::support::files_under(&t.state);
    assert!(!files.is_empty(), "the run wrote its state");
    for path in files {
        if let Ok(text) = std::fs::read(&path) {
            assert!(
                !String::from_utf8_lossy(&text).contains(secret),
                "secret in {}",
                path.display()
            );
        }
    }
}

#[test]
fn a_server_that_exits_during_the_handshake_is_reported_with_its_stderr() {
    let t = TestContext::fixture("shop");
    let config = fault_config(&t, "handshake-exit", json!({}));
    let out = t.run(&["servers", "check", "--mcp-config", &config]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("✗ f"), "{out:?}");
    assert!(out.stdout.contains("failed its handshake"), "{out:?}");
    assert!(
        out.stdout
            .contains("fault: cannot start, missing configuration"),
        "{out:?}"
    );
}

#[test]
fn a_server_that_never_answers_times_out_with_a_clear_error() {
    let t = TestContext::fixture("shop");
    let config = fault_config(&t, "silent", json!({"startupTimeoutMs": 700}));
    let out = t.run(&["servers", "check", "--mcp-config", &config]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("no answer to `initialize` within 0.7s"),
        "{out:?}"
    );

    // A call that is never answered times out and is cancelled.
    let config = fault_config(&t, "silent-call", json!({"callTimeoutMs": 700}));
    let out = t.run(&["servers", "call", "f", "read", "--mcp-config", &config]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("did not answer `read` within 0.7s"),
        "{out:?}"
    );
    let seen = fault_seen(&t);
    assert!(seen.contains("got notifications/cancelled"), "{seen}");
}

#[test]
fn garbage_on_stdout_does_not_break_the_session() {
    let t = TestContext::fixture("shop");
    let config = fault_config(&t, "garbage", json!({}));
    let out = t.run(&[
        "servers",
        "call",
        "f",
        "read",
        r#"{"x": 1}"#,
        "--mcp-config",
        &config,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("\"tool\": \"read\""), "{out:?}");
}

#[test]
fn megabytes_of_stderr_on_every_call_do_not_deadlock() {
    let t = TestContext::fixture("shop");
    let config = fault_config(&t, "stderr-flood", json!({"callTimeoutMs": 20000}));
    let out = t.run(&[
        "servers",
        "call",
        "f",
        "read",
        "--mcp-config",
        &config,
        "--json",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    // The ring buffer kept the last 64 KiB, saved in the run directory.
    let log = find_file(&t.state, "f.stderr.log").expect("stderr log saved");
    let size = std::fs::metadata(log).unwrap().len();
    assert!(size > 60_000 && size <= 64 * 1024, "{size}");
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if entry.file_name() == name {
            return Some(path);
        }
    }
    None
}

#[test]
fn a_crash_mid_call_restarts_the_server_and_retries_only_read_only_calls() {
    let t = TestContext::fixture("shop");
    let config = fault_config(&t, "crash-once", json!({}));
    let out = t.run(&[
        "servers",
        "call",
        "f",
        "read",
        r#"{"n": 1}"#,
        "--mcp-config",
        &config,
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("\"call\": 2"), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(t.scratch.join("fault/read.count")).unwrap(),
        "2"
    );

    let out = t.run(&[
        "servers",
        "call",
        "f",
        "write",
        r#"{"n": 1}"#,
        "--mcp-config",
        &config,
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("exited during `write`"), "{out:?}");
    assert!(
        out.stderr
            .contains("fault: crashing in the middle of write"),
        "{out:?}"
    );
    // The destructive call was sent once, never retried.
    assert_eq!(
        std::fs::read_to_string(t.scratch.join("fault/write.count")).unwrap(),
        "1"
    );

    // Restarts are bounded.
    let always = fault_config(&t, "crash-once", json!({"restart": {"maxRestarts": 0}}));
    std::fs::remove_file(t.scratch.join("fault/read.count")).unwrap();
    let out = t.run(&["servers", "call", "f", "read", "--mcp-config", &always]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("`restart.maxRestarts` is 0"), "{out:?}");
}

#[test]
fn oversized_replies_fail_fast_with_a_clear_error() {
    let t = TestContext::fixture("shop");
    for (mode, expected) in [
        ("huge", "over the limit a line may have"),
        ("large", "more than orch accepts from one call"),
    ] {
        let config = fault_config(&t, mode, json!({"callTimeoutMs": 60000}));
        let started = std::time::Instant::now();
        let out = t.run(&["servers", "call", "f", "read", "--mcp-config", &config]);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains(expected), "{mode}: {out:?}");
        // Far sooner than the call timeout.
        assert!(started.elapsed().as_secs() < 30, "{mode}");
    }
}

#[test]
fn a_server_over_its_limits_is_reported_as_such() {
    let t = TestContext::fixture("shop");
    let config = fault_config(&t, "hog", json!({"memoryLimitMb": 100}));
    let out = t.run(&["servers", "call", "f", "read", "--mcp-config", &config]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("ran out of memory under its limit of 100 MiB"),
        "{out:?}"
    );
    let config = fault_config(&t, "files", json!({"openFilesLimit": 64}));
    let out = t.run(&["servers", "call", "f", "read", "--mcp-config", &config]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("file descriptors under its limit of 64"),
        "{out:?}"
    );
}

#[test]
fn a_grandchild_of_a_server_is_gone_after_the_run() {
    let t = TestContext::fixture("shop");
    let config = fault_config(&t, "grandchild", json!({}));
    // `run` checks that no process mentioning the test's directories is left;
    // the grandchild has the fault state directory on its command line.
    let out = t.run(&["servers", "call", "f", "read", "--mcp-config", &config]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(fault_seen(&t).contains("started grandchild"));
}

#[test]
fn sigint_during_a_run_shuts_the_servers_down_and_exits_130() {
    interrupt_during_tests(libc::SIGINT);
}

#[test]
fn sigterm_during_a_run_shuts_the_servers_down_and_exits_130() {
    interrupt_during_tests(libc::SIGTERM);
}

fn interrupt_during_tests(signal: i32) {
    let t = TestContext::fixture("shop");
    // The `test` role is served by a server whose tool never returns.
    let config = fault_config(
        &t,
        "slow",
        json!({"roles": {"test": {"run_tests": {"tool": "slow", "arguments": {"seconds": 600}}}},
               "callTimeoutMs": 600000}),
    );
    let before = t.snapshot();
    let branches = t.branches();
    let mut child = t
        .command(&["run", "--yes", "--mcp-config", &config, RENAME])
        .spawn()
        .unwrap();
    // Wait for the tests to start.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !fault_seen(&t).contains("got tools/call") {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never reached the tests"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: sends a signal to our own child.
    unsafe {
        libc::kill(child.id() as i32, signal);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    t.assert_no_processes_left();
    assert_eq!(t.snapshot(), before);
    assert_eq!(t.branches(), branches);
    assert_eq!(t.worktrees(), 1);
}

/// Six concurrent calls through orch's pool to one server: the server sees
/// at most `maxInFlight` of them at once.
fn most_at_once(max_in_flight: u64) -> String {
    use std::sync::Arc;

    use orch::budget::Tokens;
    use orch::mcp::approval::Policy;
    use orch::mcp::{Approver, Pool, Servers, config};

    let t = TestContext::fixture("shop");
    let file = fault_config(&t, "slow", json!({"maxInFlight": max_in_flight}));
    let env = |name: &str| std::env::var(name).ok();
    let loaded = config::load(&[(PathBuf::from(file), true)], &env).unwrap();
    let servers = Servers::resolve(
        &loaded,
        &t.repo,
        None,
        8,
        std::time::Duration::from_secs(30),
    )
    .unwrap();
    let pool = Pool::new(
        servers,
        t.repo.clone(),
        Arc::new(Tokens::new(1 << 30, 1 << 30)),
        Arc::new(Approver::new(Policy::Yes, None)),
        None,
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let calls = (0..6).map(|_| pool.call_direct("f", "slow", json!({"seconds": 0.4})));
        for result in orch::mcp::futures_join_all(calls).await {
            result.unwrap();
        }
        pool.shutdown().await;
    });
    t.assert_no_processes_left();
    std::fs::read_to_string(t.scratch.join("fault/slow.max")).unwrap()
}

#[test]
fn calls_to_one_server_run_concurrently_up_to_max_in_flight() {
    assert_eq!(most_at_once(2), "2");
    assert_eq!(most_at_once(8), "6");
}

/// Runs orch under `script`, which gives it a terminal, typing `answer`.
fn on_a_terminal(t: &TestContext, orch_args: &str, answer: &str) -> std::process::Output {
    use std::io::Write as _;
    let line = format!(
        "{} {orch_args} --repo {}",
        env!("CARGO_BIN_EXE_orch"),
        t.repo.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("XDG_STATE_HOME", &t.state)
        .env("XDG_CONFIG_HOME", t.scratch.join("config"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    t.assert_no_processes_left();
    output
}

#[test]
fn on_a_terminal_orch_asks_before_a_destructive_or_unannotated_call() {
    let t = TestContext::fixture("shop");
    let config = fault_config(&t, "slow", json!({}));
    let yes = on_a_terminal(
        &t,
        &format!("servers call f write '{{\"a\": 1}}' --mcp-config {config}"),
        "y\n",
    );
    let text = String::from_utf8_lossy(&yes.stdout);
    assert!(yes.status.success(), "{text}");
    assert!(
        text.contains(
            "orch wants to call `write` on MCP server `f` (the tool is annotated destructive)"
        ),
        "{text}"
    );
    assert!(text.contains("\"a\": 1"), "{text}");
    assert!(text.contains("\"tool\": \"write\""), "{text}");

    let no = on_a_terminal(
        &t,
        &format!("servers call f plain --mcp-config {config}"),
        "n\n",
    );
    let text = String::from_utf8_lossy(&no.stdout);
    assert_eq!(no.status.code(), Some(1), "{text}");
    assert!(text.contains("declares no annotations"), "{text}");
    assert!(text.contains("refused at the prompt"), "{text}");
    // The refused call never reached the server.
    assert!(!t.scratch.join("fault/plain.count").exists());

    // A read-only tool needs no approval.
    let read = on_a_terminal(
        &t,
        &format!("servers call f read --mcp-config {config}"),
        "",
    );
    assert!(read.status.success());
    assert!(!String::from_utf8_lossy(&read.stdout).contains("orch wants to call"));
}

/// A typical Claude Code `.mcp.json` (a remote server, a variable that is
/// not set) names servers orch never starts: they are skipped with a
/// warning, and orch works. A server that claims a role must be right.
#[test]
fn configuration_orch_cannot_use_does_not_block_it() {
    let t = TestContext::fixture("shop");
    write_json(
        &t.repo.join(".mcp.json"),
        &json!({"mcpServers": {
            "github": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"},
            "notes": {"command": "notes-mcp", "env": {"TOKEN": "${ORCH_TEST_UNSET_VAR}"}},
        }}),
    );
    for args in [&["servers", "list"][..], &["plan", RENAME][..]] {
        let out = t.run(args);
        assert_eq!(out.code, 0, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains("MCP server `github` skipped")
                && out.stderr.contains("MCP server `notes` skipped"),
            "{out:?}"
        );
    }
    write_json(
        &t.repo.join(".mcp.json"),
        &json!({"mcpServers": {
            "notes": {"command": "notes-mcp", "env": {"TOKEN": "${ORCH_TEST_UNSET_VAR}"},
                      "roles": ["search"]},
        }}),
    );
    let out = t.run(&["servers", "list"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("ORCH_TEST_UNSET_VAR"), "{out:?}");
}

/// On a terminal, a replayed plan shows what it will run and change, and
/// runs nothing unless the user says yes.
#[test]
fn on_a_terminal_a_replay_shows_the_plan_and_asks_first() {
    let t = TestContext::fixture("shop");
    let plan = t.scratch.join("plan.json");
    let out = t.run(&["plan", "--plan-out", plan.to_str().unwrap(), RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    let branches = t.branches();
    let no = on_a_terminal(&t, &format!("replay {}", plan.display()), "n\n");
    let text = String::from_utf8_lossy(&no.stdout);
    assert_eq!(no.status.code(), Some(1), "{text}");
    for shown in [
        "edit shop/util.py (3 edits)",
        "run pytest on the whole test suite",
        "commit 5 files on orch/rename-make-str-to-make-text-",
        "The plan id is a checksum, not a signature",
        "refused: the plan was not run",
    ] {
        assert!(text.contains(shown), "{shown}: {text}");
    }
    assert_eq!(t.branches(), branches);
}

/// A third-party server's edits are one question on a terminal, shown as
/// the diff of each file; `N` stops the run, "refused", with nothing
/// written.
#[test]
fn on_a_terminal_third_party_edits_are_one_question_with_their_diffs() {
    use std::io::Write as _;
    let t = TestContext::fixture("shop");
    let before = t.snapshot();
    let config = files_only_config(&t);
    let line = format!(
        "{} run --mcp-config {} '{RENAME}' --repo {}",
        env!("CARGO_BIN_EXE_orch"),
        config.display(),
        t.repo.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("XDG_STATE_HOME", &t.state)
        .env("XDG_CONFIG_HOME", t.scratch.join("config"))
        .env("ORCH_WORKTREE_DIR", t.scratch.join("worktrees"))
        .env("PATH", npm_path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs");
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let output = child.wait_with_output().unwrap();
    t.assert_no_processes_left();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert_eq!(
        text.matches("orch wants to call `edit_file`").count(),
        1,
        "{text}"
    );
    assert!(text.contains("5 time(s)"), "{text}");
    assert!(text.contains("-def make_str(cents):"), "{text}");
    assert!(text.contains("+def make_text(cents):"), "{text}");
    assert!(text.contains("refused at the prompt"), "{text}");
    assert!(!text.contains("run from a terminal"), "{text}");
    assert_eq!(t.snapshot(), before);
}

/// `orch servers call SERVER TOOL -` reads the arguments from standard
/// input (a test-impact call with the edited ranges of many files does not
/// fit on a command line).
#[test]
fn servers_call_reads_long_arguments_from_standard_input() {
    use std::io::Write;
    let t = TestContext::fixture("shop");
    let util = std::fs::read_to_string(t.repo.join("shop/util.py")).unwrap();
    let at = util.find("return f\"{cents").unwrap();
    let args = serde_json::json!({
        "changed": ["shop/util.py"],
        "edited": {"shop/util.py": [[at, at + 6]]},
        // Long, as a real call's can be.
        "old_names": (0..20_000).map(|i| format!("unused_name_{i}")).collect::<Vec<_>>(),
    });
    let mut command = t.command(&["servers", "call", "--yes", "orch", "test_impact", "-"]);
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(args.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let impact: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // test_shop.py (the only test file: `tests/`) names make_str, the
    // function the range is in.
    assert_eq!(impact["tier_a"], serde_json::json!(["tests/"]), "{impact}");
    assert_eq!(impact["a"], 1, "{impact}");
    t.assert_no_processes_left();
}
