//! `orch mcp` driven by a real MCP client: the official Python SDK
//! (`tests/mcp_client.py`), as a coding agent would drive it.

use crate::TestContext;
use crate::support::{git, npm_bin};

/// Runs a scenario of `tests/mcp_client.py` against `orch mcp` on `t`.
fn client(t: &TestContext, scenario: &str) -> serde_json::Value {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp_client.py");
    let orch = t.command(&[]);
    let mut command = std::process::Command::new("python3");
    command
        .arg(script)
        .arg(scenario)
        .arg(env!("CARGO_BIN_EXE_orch"))
        .arg(&t.repo);
    // The server gets the test's environment (state, worktrees, config).
    for (name, value) in orch.get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "the client failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// List the tools, learn the language, plan (with progress per phase and a
/// page of the diff), explain, apply the plan to the checkout, and be
/// refused with stable codes.
#[test]
fn an_agent_plans_explains_and_applies_through_the_python_sdk() {
    let t = TestContext::fixture("shop");
    let out = client(&t, "session");
    let tools = &out["tools"];
    assert_eq!(tools["plan"]["read_only"], true, "{tools}");
    assert_eq!(tools["explain"]["read_only"], true, "{tools}");
    assert_eq!(tools["refactors"]["read_only"], true, "{tools}");
    assert_eq!(tools["apply"]["destructive"], true, "{tools}");
    assert!(
        out["refactors"]["text"]
            .as_str()
            .unwrap()
            .contains("rename function make_str to make_text"),
        "{out}"
    );
    assert_eq!(out["plan_error"], false, "{out}");
    let plan = &out["plan"];
    assert_eq!(plan["edits"], 11, "{plan}");
    assert_eq!(plan["files"].as_array().unwrap().len(), 5, "{plan}");
    assert_eq!(plan["left_alone_total"], 2, "{plan}");
    assert_eq!(plan["diff"]["offset"], 0);
    assert!(
        plan["diff"]["next_offset"].as_u64().unwrap() == 40,
        "{plan}"
    );
    assert!(
        plan["diff"]["text"]
            .as_str()
            .unwrap()
            .contains("+from .util import make_text, Price")
    );
    let phases: Vec<&str> = out["progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[2].as_str().unwrap())
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
    assert_eq!(out["progress"][0][0], 1.0);
    assert_eq!(out["progress"][0][1], 7.0);
    // explain: the plan's sites in one file, edited and left alone.
    let sites = out["explain"]["sites"].as_array().unwrap();
    let statuses: Vec<&str> = sites
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"edited") && statuses.contains(&"mention"),
        "{statuses:?}"
    );
    assert!(sites.iter().all(|s| s["path"] == "shop/util.py"));
    // apply: the plan, verified, in the checkout; nothing committed.
    assert_eq!(out["apply_error"], false, "{out}");
    let applied = &out["apply"];
    assert_eq!(applied["to"], "checkout");
    assert_eq!(applied["applied"].as_array().unwrap().len(), 5, "{applied}");
    assert!(applied["tests_run"].as_u64().unwrap() > 0, "{applied}");
    assert_eq!(applied["tests_run"], applied["tests_passed"], "{applied}");
    assert!(applied["branch"].is_null(), "{applied}");
    let status = git(&t.repo, &["status", "--porcelain"]);
    assert_eq!(status.lines().count(), 5, "{status}");
    assert_eq!(t.branches(), ["main"]);
    // Refusals: stable codes, the CLI's message and hint.
    assert_eq!(out["unknown_error"], true);
    assert_eq!(out["unknown"]["code"], "unknown_name", "{out}");
    assert_eq!(out["garbled"]["code"], "not_understood", "{out}");
    assert!(
        out["garbled"]["hint"]
            .as_str()
            .unwrap()
            .contains("closest form"),
        "{out}"
    );
    t.assert_no_processes_left();
}

/// A `notifications/cancelled` (the client abandons the call) stops the run
/// as an interrupt does: pytest and the servers stopped, the worktree and
/// temporary branch removed, nothing committed; the server keeps serving.
#[test]
fn a_cancelled_apply_stops_the_run_and_cleans_up() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("tests/test_slow.py"),
        "import time\n\nimport shop  # noqa: F401\n\n\ndef test_slow():\n    time.sleep(60)\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "a slow test"]);
    let out = client(&t, "cancel");
    assert_eq!(out["cancelled"], true, "{out}");
    assert!(out["seconds"].as_f64().unwrap() < 30.0, "{out}");
    assert_eq!(out["after"], true, "{out}");
    let progress: Vec<&str> = out["progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(progress.contains(&"EXECUTE"), "{progress:?}");
    // orch mcp has exited (the client closed it) after cleaning up.
    assert_eq!(t.branches(), ["main"]);
    assert_eq!(t.worktrees(), 1);
    assert_eq!(git(&t.repo, &["status", "--porcelain"]), "");
    t.assert_no_processes_left();
    let history = t.run(&["history", "--json"]).json();
    let outcome = history["sections"][0]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c == "stop_reason")
        .unwrap();
    assert_eq!(
        history["sections"][0]["rows"][0][outcome], "interrupted",
        "{history}"
    );
}

/// A request outside orch's language goes to the client's model
/// (`sampling/createMessage`) with the grammar and the project's closest
/// names; orch parses the answer itself and says what it ran. An answer it
/// cannot parse runs nothing.
#[test]
fn requests_outside_the_language_are_restated_by_the_clients_model() {
    let t = TestContext::fixture("shop");
    let out = client(&t, "sampling");
    assert_eq!(out["plan_error"], false, "{out}");
    let translated = &out["plan"]["translated"];
    assert_eq!(
        translated["from"],
        "could make_str please be known as make_text from now on"
    );
    assert_eq!(
        translated["command"],
        "rename function make_str to make_text"
    );
    assert_eq!(out["plan"]["edits"], 11, "{out}");
    let asked = &out["asked"][0];
    let prompt = asked["prompt"].as_str().unwrap();
    assert!(
        prompt.contains("rename method [CLASS.]OLD to NEW"),
        "{prompt}"
    );
    assert!(prompt.contains("may mean: make_str"), "{prompt}");
    assert!(
        asked["system"]
            .as_str()
            .unwrap()
            .contains("exactly one command")
    );
    assert_eq!(out["bad_error"], true, "{out}");
    assert_eq!(out["bad"]["code"], "not_understood", "{out}");
    assert!(
        out["bad"]["message"]
            .as_str()
            .unwrap()
            .contains("restated it as `frobnicate the cart, please`"),
        "{out}"
    );
    // Nothing ran for it: one plan run recorded (the restated one).
    let history = t.run(&["history", "--json"]).json();
    assert_eq!(history["records"], 1, "{history}");
}

/// The official MCP Inspector, in CLI mode, lists orch's tools and calls
/// `refactors` and `plan`.
#[test]
fn the_mcp_inspector_lists_and_calls_the_tools() {
    let t = TestContext::fixture("shop");
    let inspector = npm_bin().join("mcp-inspector");
    let orch = t.command(&[]);
    let catalog = t.scratch.join("inspector.json");
    let call = |args: &[&str]| -> serde_json::Value {
        let mut command = std::process::Command::new(&inspector);
        command.arg("--cli").env("MCP_CATALOG_PATH", &catalog);
        // The server's environment: the test's state and worktrees.
        for (name, value) in orch.get_envs() {
            if let Some(value) = value {
                command.arg("-e").arg(format!(
                    "{}={}",
                    name.to_string_lossy(),
                    value.to_string_lossy()
                ));
            }
        }
        command
            .args(args)
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_orch"))
            .args(["mcp", "--repo"])
            .arg(&t.repo);
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    };
    let listed = call(&["--method", "tools/list"]);
    let mut names: Vec<&str> = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["apply", "explain", "plan", "refactors"]);
    let apply = listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "apply")
        .unwrap();
    assert_eq!(apply["annotations"]["destructiveHint"], true, "{apply}");
    let refactors = call(&["--method", "tools/call", "--tool-name", "refactors"]);
    assert!(
        refactors
            .to_string()
            .contains("rename function make_str to make_text")
    );
    let plan = call(&[
        "--method",
        "tools/call",
        "--tool-name",
        "plan",
        "--tool-arg",
        "command=rename function make_str to make_text",
        "diff_lines=5",
    ]);
    let text = plan["content"][0]["text"].as_str().unwrap();
    let result: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(result["edits"], 11, "{result}");
    assert_eq!(result["diff"]["next_offset"], 5, "{result}");
    assert_eq!(t.branches(), ["main"]);
    assert_eq!(git(&t.repo, &["status", "--porcelain"]), "");
}

/// A plan that leaves sites orch could not resolve is not applied behind
/// the agent's back: `uncertain_sites` lists them, and `accept_uncertain`
/// (or `include_uncertain`) is the agent's decision.
#[test]
fn uncertain_sites_need_the_agents_decision() {
    let t = TestContext::fixture("shop");
    std::fs::write(
        t.repo.join("shop/report.py"),
        "def grand(anything):\n    return anything.total()\n",
    )
    .unwrap();
    git(&t.repo, &["add", "-A"]);
    git(&t.repo, &["commit", "-q", "-m", "an untyped receiver"]);
    let out = client(&t, "uncertain");
    assert_eq!(out["first_error"], true, "{out}");
    assert_eq!(out["first"]["code"], "uncertain_sites", "{out}");
    let message = out["first"]["message"].as_str().unwrap();
    assert!(message.contains("shop/report.py:2:"), "{message}");
    assert!(
        out["first"]["hint"]
            .as_str()
            .unwrap()
            .contains("accept_uncertain")
    );
    assert_eq!(git(&t.repo, &["status", "--porcelain"]), "");
    assert_eq!(out["second_error"], false, "{out}");
    let branch = out["second"]["branch"].as_str().unwrap();
    let report = git(&t.repo, &["show", &format!("{branch}:shop/report.py")]);
    assert!(
        report.contains("anything.total()"),
        "left as it was: {report}"
    );
    let cart = git(&t.repo, &["show", &format!("{branch}:shop/cart.py")]);
    assert!(cart.contains("def grand_total("), "{cart}");
    assert_eq!(
        out["second"]["not_published"],
        "--no-push: the branch stays local"
    );
}
