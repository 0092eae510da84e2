//! Branch, push, pull request and the `/refactor` comment, against real
//! components: pushes go to local bare repositories (over a file path, and
//! over git's smart HTTP behind Basic auth), API calls go to Prism serving
//! GitHub's own OpenAPI description (every request validated against it),
//! fronted by `tests/servers/github_api.py`, which keeps pull request,
//! comment and permission state.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::TestContext;
use crate::support::{RunOutput, files_under, git, npm_bin};

const TOKEN: &str = "ghs_orchTESTtoken0123456789abcdefSECRET";

fn servers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servers")
}

/// One Prism for the whole test binary: it takes ~15 s to load GitHub's
/// description. Spawned from a thread that never exits, with
/// PR_SET_PDEATHSIG, so it dies with the test process.
fn prism_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let bin = npm_bin().join("prism");
        let spec = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".ci/npm/node_modules/@octokit/openapi/generated/api.github.com.json");
        assert!(
            bin.exists() && spec.exists(),
            "Prism and @octokit/openapi are not installed: run `.ci/test` (npm ci --prefix .ci/npm)"
        );
        let port = free_port();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut command = Command::new(bin);
            command
                .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
                .arg(spec)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            die_with_parent(&mut command);
            let mut child = command.spawn().expect("prism starts");
            sender.send(child.id()).ok();
            // Reaps Prism if it exits; otherwise blocks for the process's life.
            let _ = child.wait();
        });
        receiver.recv().expect("prism spawned");
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        loop {
            let ready = Command::new("python3")
                .args([
                    "-c",
                    "import sys,urllib.request as u; r=u.Request(sys.argv[1]+'/repos/a/b/pulls/1', headers={'Accept':'application/json'}); u.urlopen(r, timeout=2)",
                    &url,
                ])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "Prism did not start within 120 s"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        url
    })
}

fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child that prints its port first and is killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(command: &mut Command) -> Server {
        die_with_parent(command);
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().expect("server prints its port");
        Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The stateful GitHub API in front of Prism.
struct FakeGitHub {
    server: Server,
    dir: PathBuf,
}

impl FakeGitHub {
    fn start(t: &TestContext, state: Value) -> FakeGitHub {
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = t.scratch.join(format!("github-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("state.json"), state.to_string()).unwrap();
        let server = Server::start(
            Command::new("python3")
                .arg(servers_dir().join("github_api.py"))
                .env("FAKE_STATE_DIR", &dir)
                .env("PRISM_URL", prism_url())
                .env("EXPECTED_TOKEN", TOKEN),
        );
        FakeGitHub { server, dir }
    }

    fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.join("state.json")).unwrap())
            .unwrap()
    }

    /// Every request passed GitHub's schema and carried the token.
    fn assert_all_valid(&self) {
        for request in self.requests() {
            assert!(
                request["status"].as_u64().unwrap() < 400 && request["violations"].is_null(),
                "request rejected by GitHub's OpenAPI description: {request:#}"
            );
            assert_eq!(request["auth_ok"], true, "{request:#}");
        }
    }

    fn writes(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r["method"] != "GET")
            .collect()
    }
}

/// A bare repository as `origin`, holding `main`.
/// Pushes branch `feature/fmt`, one commit past main adding `file`, as
/// another contributor would; returns its commit.
fn push_pull_request_branch(t: &TestContext, bare: &Path, file: &str, content: &str) -> String {
    let other = t.scratch.join("other");
    git(
        &t.scratch,
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            other.to_str().unwrap(),
        ],
    );
    git(&other, &["config", "user.name", "Bob"]);
    git(&other, &["config", "user.email", "bob@example.com"]);
    git(&other, &["checkout", "-q", "-b", "feature/fmt"]);
    std::fs::write(other.join(file), content).unwrap();
    git(&other, &["add", file]);
    git(&other, &["commit", "-q", "-m", "feature"]);
    git(&other, &["push", "-q", "origin", "feature/fmt"]);
    git(&other, &["rev-parse", "HEAD"])
}

fn bare_origin(t: &TestContext) -> PathBuf {
    let bare = t.scratch.join("origin.git");
    git(
        &t.scratch,
        &["init", "-q", "--bare", "-b", "main", "origin.git"],
    );
    git(
        &t.repo,
        &["remote", "add", "origin", bare.to_str().unwrap()],
    );
    git(&t.repo, &["push", "-q", "origin", "main"]);
    bare
}

fn with_github(t: &TestContext, github: &FakeGitHub, args: &[&str]) -> RunOutput {
    let mut all = args.to_vec();
    all.push("--yes");
    t.output(
        t.command(&all)
            .env("GITHUB_API_URL", &github.server.url)
            .env("GITHUB_TOKEN", TOKEN),
    )
}

fn show(bare: &Path, spec: &str) -> String {
    git(bare, &["show", spec])
}

const RENAME: &str = "rename function make_str to make_text";

#[test]
fn a_run_pushes_its_branch_and_opens_then_updates_one_pull_request() {
    let t = TestContext::fixture("shop");
    let bare = bare_origin(&t);
    let github = FakeGitHub::start(&t, json!({}));
    let before = t.snapshot();

    let out = with_github(
        &t,
        &github,
        &["run", "--json", "--github-repo", "acme/shop", RENAME],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    let branch = json["branch"].as_str().unwrap().to_owned();
    let plan_id = json["plan_id"].as_str().unwrap().to_owned();
    assert!(branch.starts_with("orch/rename-make-str-to-make-text-"));
    assert!(branch.ends_with(&plan_id[..8]));
    assert_eq!(json["pr_operation"], "created", "{json:#}");
    assert_eq!(json["published"]["pushed"], true);
    assert!(
        json["pull_request"]
            .as_str()
            .unwrap()
            .ends_with("/pull/100")
    );

    // The pushed branch holds the change, with the trailer and the
    // repository's identity.
    let util = show(&bare, &format!("{branch}:shop/util.py"));
    assert!(util.contains("def make_text(") && !util.contains("def make_str("));
    let message = git(&bare, &["log", "-1", "--format=%an <%ae>%n%B", &branch]);
    assert!(
        message.starts_with("Orch Test <orch-test@example.com>\norch: rename"),
        "{message}"
    );
    assert!(
        message.contains(&format!("Orch-Plan: {plan_id}")),
        "{message}"
    );
    assert_eq!(
        git(&bare, &["rev-parse", &format!("{branch}^")]),
        git(&t.repo, &["rev-parse", "main"])
    );

    // The pull request: right head and base, a body a reviewer can use.
    github.assert_all_valid();
    let creates: Vec<Value> = github
        .writes()
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/repos/acme/shop/pulls")
        .collect();
    assert_eq!(creates.len(), 1);
    let sent = &creates[0]["body"];
    assert_eq!(sent["head"], branch.as_str());
    assert_eq!(sent["base"], "main");
    assert_eq!(sent["title"], "orch: rename function make_str to make_text");
    let body = sent["body"].as_str().unwrap();
    for expected in [
        &format!("`{RENAME}`"),
        plan_id.as_str(),
        "| `edit:shop/util.py` | edit |",
        "| `commit` | commit |",
        "### Risk",
        "P(tests pass)",
        "Chosen: 1 selected (ran tiers a–c: 1 test files",
        "After the edit: ",
        "| MAP |",
        "| EXECUTE |",
        "peak memory",
        "orch replay plan.json",
        "<details><summary>Plan JSON",
        "\"schema\": \"orch.plan/v1\"",
    ] {
        assert!(body.contains(expected), "body lacks {expected:?}:\n{body}");
    }

    // A re-run of the same plan force-updates the branch and the PR.
    let out = with_github(
        &t,
        &github,
        &[
            "run",
            "--json",
            "--github-repo",
            "acme/shop",
            "--author",
            "Jane Doe <jane@example.com>",
            RENAME,
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    assert_eq!(json["branch"], branch.as_str());
    assert_eq!(json["pr_operation"], "updated", "{json:#}");
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%an <%ae>", &branch]).trim(),
        "Jane Doe <jane@example.com>"
    );
    assert_eq!(
        git(&bare, &["rev-list", "--count", &branch]).trim(),
        "2",
        "force-updated, not stacked"
    );
    github.assert_all_valid();
    let state = github.state();
    assert_eq!(state["pulls"].as_array().unwrap().len(), 1, "{state:#}");
    assert!(
        github
            .writes()
            .iter()
            .any(|r| r["method"] == "PATCH" && r["path"] == "/repos/acme/shop/pulls/100")
    );

    assert_eq!(t.snapshot(), before, "the checkout was not touched");
    assert_eq!(t.worktrees(), 1);
}

/// Builds a plan that makes no change (the edits removed, the id re-hashed),
/// as a re-run does once the base already has the change.
fn no_change_plan(t: &TestContext) -> (PathBuf, String) {
    let plan_path = t.scratch.join("plan.json");
    let out = t.run(&["plan", "--plan-out", plan_path.to_str().unwrap(), RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut plan: orch::plan::Plan =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    let edits: Vec<String> = plan
        .nodes
        .iter()
        .filter(|n| n.action.kind() == "edit")
        .map(|n| n.id.clone())
        .collect();
    plan.nodes.retain(|n| !edits.contains(&n.id));
    for node in &mut plan.nodes {
        node.deps.retain(|d| !edits.contains(d));
        match &mut node.action {
            orch::plan::Action::Check { files, .. } => files.clear(),
            orch::plan::Action::Commit { files, .. } => files.clear(),
            _ => {}
        }
    }
    plan.id = plan.content_hash();
    plan.validate().unwrap();
    std::fs::write(&plan_path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    (plan_path, plan.branch().unwrap())
}

#[test]
fn no_diff_closes_the_open_pull_request_and_then_does_nothing() {
    let t = TestContext::fixture("shop");
    let bare = bare_origin(&t);
    let (plan, branch) = no_change_plan(&t);
    let github = FakeGitHub::start(
        &t,
        json!({"pulls": [{"number": 7, "head": branch, "base": "main", "state": "open",
                           "title": "orch: old", "body": "old"}]}),
    );
    let out = with_github(
        &t,
        &github,
        &[
            "replay",
            "--json",
            "--github-repo",
            "acme/shop",
            plan.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    assert_eq!(json["pr_operation"], "closed", "{json:#}");
    assert_eq!(json["published"]["pushed"], false);
    assert_eq!(github.state()["pulls"][0]["state"], "closed");
    github.assert_all_valid();
    assert!(
        git(&bare, &["branch", "--list", &branch]).trim().is_empty(),
        "nothing pushed"
    );

    let out = with_github(
        &t,
        &github,
        &[
            "replay",
            "--json",
            "--github-repo",
            "acme/shop",
            plan.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["pr_operation"], "none");
    assert!(out.json()["pull_request"].is_null());
}

#[test]
fn uncertain_sites_left_alone_open_a_draft() {
    let t = TestContext::fixture("shop");
    bare_origin(&t);
    let plan_path = t.scratch.join("plan.json");
    let out = t.run(&["plan", "--plan-out", plan_path.to_str().unwrap(), RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut plan: Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    // The report is an annotation (not part of the id).
    plan["report"]["uncertain"] = json!([{"file": "shop/cart.py", "line": 3, "column": 5,
        "note": "getattr(obj, \"make_str\") cannot be resolved <@team>"}]);
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    let github = FakeGitHub::start(&t, json!({}));
    let out = with_github(
        &t,
        &github,
        &[
            "replay",
            "--json",
            "--github-repo",
            "acme/shop",
            plan_path.to_str().unwrap(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["published"]["draft"], true);
    github.assert_all_valid();
    let create = github
        .writes()
        .into_iter()
        .find(|r| r["path"] == "/repos/acme/shop/pulls")
        .unwrap();
    assert_eq!(create["body"]["draft"], true);
    let body = create["body"]["body"].as_str().unwrap();
    assert!(
        body.contains("1 uncertain site(s) were left alone"),
        "{body}"
    );
    assert!(
        body.contains("&lt;@\u{200b}team&gt;"),
        "notes cannot mention or inject HTML: {body}"
    );
}

#[test]
fn dry_runs_and_no_pr_stop_where_they_say() {
    let t = TestContext::fixture("shop");
    let bare = bare_origin(&t);
    let github = FakeGitHub::start(&t, json!({}));
    let out = with_github(
        &t,
        &github,
        &[
            "run",
            "--dry-run",
            "--json",
            "--github-repo",
            "acme/shop",
            RENAME,
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(github.requests().is_empty(), "a dry run calls no API");
    assert_eq!(
        git(&bare, &["branch", "--format=%(refname:short)"]).trim(),
        "main"
    );

    let out = with_github(
        &t,
        &github,
        &[
            "run",
            "--no-pr",
            "--json",
            "--github-repo",
            "acme/shop",
            RENAME,
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    assert_eq!(json["published"]["pushed"], true);
    assert!(json["pr_operation"].is_null());
    assert!(github.requests().is_empty(), "--no-pr calls no API");
    let branch = json["branch"].as_str().unwrap();
    assert!(show(&bare, &format!("{branch}:shop/util.py")).contains("def make_text("));
}

#[test]
fn without_a_remote_the_branch_stays_local_and_a_missing_remote_is_an_error() {
    let t = TestContext::fixture("shop");
    let out = t.run(&["run", "--json", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.json()["published"]["skipped"]
            .as_str()
            .unwrap()
            .contains("no remote `origin`")
    );
    let out = t.run(&["run", "--remote", "upstream", RENAME]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("no git remote named `upstream`"),
        "{out:?}"
    );
    assert_eq!(t.worktrees(), 1);
}

#[test]
fn base_starts_the_branch_elsewhere_and_the_pr_targets_it() {
    let t = TestContext::fixture("shop");
    let bare = bare_origin(&t);
    git(&t.repo, &["checkout", "-q", "-b", "release"]);
    std::fs::write(t.repo.join("NOTES.md"), "release notes\n").unwrap();
    git(&t.repo, &["add", "NOTES.md"]);
    git(&t.repo, &["commit", "-q", "-m", "notes"]);
    git(&t.repo, &["checkout", "-q", "main"]);
    // Uncommitted work in the checkout is neither used nor touched.
    std::fs::write(t.repo.join("scratch.txt"), "mine\n").unwrap();
    let github = FakeGitHub::start(&t, json!({}));
    let out = with_github(
        &t,
        &github,
        &[
            "run",
            "--json",
            "--github-repo",
            "acme/shop",
            "--base",
            "release",
            RENAME,
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    assert_eq!(
        git(&bare, &["rev-parse", &format!("{branch}^")]),
        git(&t.repo, &["rev-parse", "release"])
    );
    let create = github
        .writes()
        .into_iter()
        .find(|r| r["path"] == "/repos/acme/shop/pulls")
        .unwrap();
    assert_eq!(create["body"]["base"], "release");
    assert_eq!(
        std::fs::read_to_string(t.repo.join("scratch.txt")).unwrap(),
        "mine\n"
    );

    let out = t.run(&["run", "--base", "no-such-ref", RENAME]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("`no-such-ref` is not a commit"),
        "{out:?}"
    );
}

/// git over smart HTTP, behind Basic auth that only the token opens.
fn http_origin(t: &TestContext) -> (Server, PathBuf) {
    http_origin_with(t, &[])
}

fn http_origin_with(t: &TestContext, env: &[(&str, &Path)]) -> (Server, PathBuf) {
    let root = t.scratch.join("http");
    std::fs::create_dir_all(&root).unwrap();
    git(&root, &["init", "-q", "--bare", "-b", "main", "shop.git"]);
    let bare = root.join("shop.git");
    git(&t.repo, &["push", "-q", bare.to_str().unwrap(), "main"]);
    let mut command = Command::new("python3");
    command
        .arg(servers_dir().join("git_http.py"))
        .env("GIT_ROOT", &root)
        .env("EXPECTED_TOKEN", TOKEN);
    for (name, value) in env {
        command.env(name, value);
    }
    (Server::start(&mut command), bare)
}

/// Every file under `dir`, as text.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    for entry in files_under(dir) {
        if let Ok(bytes) = std::fs::read(&entry) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out
}

#[test]
fn https_style_pushes_use_the_token_and_never_show_it() {
    let t = TestContext::fixture("shop");
    let (server, bare) = http_origin(&t);
    let url = format!("{}/shop.git", server.url);
    git(&t.repo, &["remote", "add", "origin", &url]);

    let out = t.output(
        t.command(&["run", "--no-pr", "--json", "--yes", "-vv", RENAME])
            .env("ORCH_GIT_TOKEN", TOKEN),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    assert!(show(&bare, &format!("{branch}:shop/util.py")).contains("def make_text("));
    let log = std::fs::read_to_string(t.scratch.join("http.log")).unwrap();
    assert!(
        log.contains("POST /shop.git/git-receive-pack authorised"),
        "{log}"
    );

    // A wrong token: a clear error, the commit kept locally, no token shown.
    let wrong = "ghs_WRONGtoken_should_never_be_printed_42";
    let out2 = t.output(
        t.command(&[
            "run",
            "--no-pr",
            "--yes",
            "-vv",
            "rename function describe to describe_price",
        ])
        .env("GITHUB_TOKEN", wrong),
    );
    assert_eq!(out2.code, 1, "{out2:?}");
    assert!(out2.stderr.contains("stopped (push)"), "{out2:?}");
    assert!(out2.stderr.contains("was refused"), "{out2:?}");
    assert!(out2.stderr.contains("committed `orch/"), "{out2:?}");

    // Credentials in the remote URL are redacted too.
    git(
        &t.repo,
        &[
            "remote",
            "set-url",
            "origin",
            &url.replace("http://", &format!("http://x-access-token:{TOKEN}@")),
        ],
    );
    let out3 = t.run(&["run", "--no-pr", "--json", RENAME]);
    assert_eq!(out3.code, 0, "{out3:?}");
    assert_eq!(out3.json()["published"]["remote_url"], url.as_str());

    for (name, text) in [
        ("stdout", out.stdout + &out2.stdout + &out3.stdout),
        ("stderr", out.stderr + &out2.stderr + &out3.stderr),
        ("state", all_text(&t.state)),
    ] {
        for secret in [TOKEN, wrong] {
            assert!(!text.contains(secret), "a token appears in {name}");
        }
    }
}

fn event_file(t: &TestContext, name: &str, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/github/{name}")),
        )
        .unwrap(),
    )
    .unwrap();
    edit(&mut event);
    let path = t.scratch.join("event.json");
    std::fs::write(&path, event.to_string()).unwrap();
    path
}

fn on_event(t: &TestContext, github: &FakeGitHub, event: &Path) -> RunOutput {
    on_event_with(t, github, event, &["-vv"])
}

fn on_event_with(t: &TestContext, github: &FakeGitHub, event: &Path, extra: &[&str]) -> RunOutput {
    let mut args = vec!["run", "--github-event", event.to_str().unwrap(), "--yes"];
    args.extend(extra);
    t.output(
        t.command(&args)
            .env("GITHUB_API_URL", &github.server.url)
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_EVENT_NAME", "issue_comment")
            .env("GITHUB_REPOSITORY", "acme/shop"),
    )
}

#[test]
fn an_owners_refactor_comment_runs_reacts_and_reports_in_one_comment() {
    let t = TestContext::fixture("shop");
    let bare = bare_origin(&t);
    let github = FakeGitHub::start(&t, json!({}));
    let event = event_file(&t, "issue_comment.json", |_| {});
    let out = on_event(&t, &github, &event);
    assert_eq!(out.code, 0, "{out:?}");
    github.assert_all_valid();
    let state = github.state();
    assert_eq!(
        state["reactions"],
        json!([{"comment": 4242, "content": "eyes"}])
    );
    let comments = state["comments"].as_object().unwrap();
    assert_eq!(comments.len(), 1, "one status comment: {state:#}");
    let status = comments.values().next().unwrap().as_str().unwrap();
    assert!(status.starts_with("✅"), "{status}");
    assert!(
        status.contains("https://github.com/acme/shop/pull/100"),
        "{status}"
    );
    let writes = github.writes();
    assert_eq!(
        writes[0]["path"],
        "/repos/acme/shop/issues/comments/4242/reactions"
    );
    assert_eq!(writes[1]["path"], "/repos/acme/shop/issues/7/comments");
    assert!(
        writes[1]["body"]["body"]
            .as_str()
            .unwrap()
            .starts_with("⏳")
    );
    let pr = &state["pulls"][0];
    assert_eq!(pr["base"], "main");
    // Debug logs included, the token is nowhere.
    for text in [&out.stdout, &out.stderr, &all_text(&t.state)] {
        assert!(!text.contains(TOKEN));
    }
    assert!(
        show(
            &bare,
            &format!("{}:shop/util.py", pr["head"].as_str().unwrap())
        )
        .contains("def make_text(")
    );
}

#[test]
fn refused_and_ignored_comments_change_nothing() {
    let t = TestContext::fixture("shop");
    bare_origin(&t);
    let github = FakeGitHub::start(
        &t,
        json!({"permissions": {"carol": "read", "dave": "write"}}),
    );
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(&str, Edit, i32, &str)> = vec![
        (
            "NONE",
            Box::new(|e| e["comment"]["author_association"] = "NONE".into()),
            1,
            "(author association NONE) may not run",
        ),
        (
            "CONTRIBUTOR without write",
            Box::new(|e| {
                e["comment"]["author_association"] = "CONTRIBUTOR".into();
                e["comment"]["user"]["login"] = "carol".into();
            }),
            1,
            "repository permission `read`",
        ),
        (
            "bot",
            Box::new(|e| {
                e["comment"]["user"] = json!({"login": "renovate[bot]", "id": 3, "type": "Bot"});
            }),
            1,
            "from bots are not run",
        ),
        (
            "no prefix",
            Box::new(|e| e["comment"]["body"] = "Thanks! /refactor later maybe".into()),
            0,
            "ignored: the comment does not start with `/refactor`",
        ),
        (
            "edited",
            Box::new(|e| e["action"] = "edited".into()),
            0,
            "ignored: comment edited",
        ),
    ];
    for (name, edit, code, message) in cases {
        let event = event_file(&t, "issue_comment.json", edit);
        let out = on_event(&t, &github, &event);
        assert_eq!(out.code, code, "{name}: {out:?}");
        assert!(out.stderr.contains(message), "{name}: {out:?}");
        assert!(github.writes().is_empty(), "{name}: nothing posted");
    }
    github.assert_all_valid();
    // Only carol's permission was looked up.
    let gets: Vec<Value> = github.requests();
    assert_eq!(gets.len(), 1);
    assert_eq!(
        gets[0]["path"],
        "/repos/acme/shop/collaborators/carol/permission"
    );
    assert_eq!(t.branches(), ["main"]);

    // A CONTRIBUTOR with write permission is admitted.
    let event = event_file(&t, "issue_comment.json", |e| {
        e["comment"]["author_association"] = "CONTRIBUTOR".into();
        e["comment"]["user"]["login"] = "dave".into();
    });
    let out = on_event(&t, &github, &event);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(github.state()["pulls"].as_array().unwrap().len(), 1);
}

#[test]
fn comment_bodies_are_plain_text() {
    let t = TestContext::fixture("shop");
    bare_origin(&t);
    let github = FakeGitHub::start(&t, json!({}));
    let marker = t.scratch.join("PWNED");
    let hostile = format!(
        "/refactor rename function make_str to `$(touch {m})`; touch {m} \"'\n$(touch {m})\n`touch {m}`",
        m = marker.display()
    );
    let event = event_file(&t, "issue_comment.json", |e| {
        e["comment"]["body"] = hostile.clone().into();
    });
    let out = on_event(&t, &github, &event);
    assert_eq!(out.code, 2, "not understood, so refused as input: {out:?}");
    assert!(!marker.exists(), "nothing was executed");
    github.assert_all_valid();
    let comments = github.state()["comments"].clone();
    let status = comments
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert!(status.starts_with("❌"), "{status}");
    assert!(
        status.contains("$(touch"),
        "the text is quoted back as text: {status}"
    );
    assert!(github.state()["pulls"].as_array().unwrap().is_empty());
    assert_eq!(t.branches(), ["main"]);
}

#[test]
fn a_pull_request_comment_refactors_its_head_branch_and_targets_it() {
    let t = TestContext::fixture("shop");
    let bare = bare_origin(&t);
    // The PR's branch exists only on the remote, one commit past main.
    let feature = push_pull_request_branch(&t, &bare, "FEATURE.md", "feature\n");

    let github = FakeGitHub::start(
        &t,
        json!({"pulls": [{"number": 5, "head": "feature/fmt", "base": "main", "state": "open",
                           "title": "Add a price formatter", "body": "", "head_repo": "acme/shop"}]}),
    );
    let event = event_file(&t, "pr_comment.json", |_| {});
    let out = on_event(&t, &github, &event);
    assert_eq!(out.code, 0, "{out:?}");
    github.assert_all_valid();
    let state = github.state();
    let pulls = state["pulls"].as_array().unwrap();
    assert_eq!(pulls.len(), 2, "{state:#}");
    assert_eq!(pulls[1]["base"], "feature/fmt");
    let head = pulls[1]["head"].as_str().unwrap();
    assert_eq!(git(&bare, &["rev-parse", &format!("{head}^")]), feature);

    // A PR from a fork cannot be pushed to: refused, said in the comment.
    let github = FakeGitHub::start(
        &t,
        json!({"pulls": [{"number": 5, "head": "feature/fmt", "base": "main", "state": "open",
                           "title": "t", "body": "", "head_repo": "mallory/shop"}]}),
    );
    let out = on_event(&t, &github, &event);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("comes from mallory/shop"), "{out:?}");
    let status = github.state()["comments"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        status.starts_with("❌") && status.contains("mallory/shop"),
        "{status}"
    );
}

/// sshd on 127.0.0.1 accepting one key, and an ssh agent holding it. Their
/// files live in a directory of their own (not the test's), so the
/// leftover-process check does not see them; both die on drop.
struct Ssh {
    dir: tempfile::TempDir,
    sshd: Child,
    agent: Child,
    port: u16,
    host_key: String,
}

impl Ssh {
    fn start() -> Ssh {
        let sshd_bin = Path::new("/usr/sbin/sshd");
        assert!(
            sshd_bin.exists(),
            "sshd is not installed: run `.ci/test` (it installs openssh-server)"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for key in ["host_key", "user_key"] {
            let status = Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(d.join(key))
                .status()
                .unwrap();
            assert!(status.success());
        }
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys")).unwrap();
        let port = free_port();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
                 PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
                 PidFile none\nPermitRootLogin prohibit-password\n",
                d = d.display()
            ),
        )
        .unwrap();
        // SAFETY: geteuid takes nothing and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            std::fs::create_dir_all("/run/sshd").unwrap();
        }
        let mut command = Command::new(sshd_bin);
        command
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sshd.log")).unwrap());
        die_with_parent(&mut command);
        let sshd = command.spawn().unwrap();
        let socket = d.join("agent.sock");
        let mut command = Command::new("ssh-agent");
        command
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        die_with_parent(&mut command);
        let agent = command.spawn().unwrap();
        let started = Instant::now();
        while !socket.exists() || std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "sshd/ssh-agent did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let added = Command::new("ssh-add")
            .arg("-q")
            .arg(d.join("user_key"))
            .env("SSH_AUTH_SOCK", &socket)
            .status()
            .unwrap();
        assert!(added.success());
        let host_key = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
        let host_key = host_key
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        Ssh {
            dir,
            sshd,
            agent,
            port,
            host_key,
        }
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("agent.sock")
    }

    /// A HOME whose known_hosts lists the server (or not).
    fn home(&self, t: &TestContext, known: bool) -> PathBuf {
        let home = t.scratch.join(if known { "home" } else { "home-unknown" });
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        let line = if known {
            format!("[127.0.0.1]:{} {}\n", self.port, self.host_key)
        } else {
            String::new()
        };
        std::fs::write(home.join(".ssh/known_hosts"), line).unwrap();
        home
    }
}

impl Drop for Ssh {
    fn drop(&mut self) {
        for child in [&mut self.sshd, &mut self.agent] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn ssh_remotes_push_with_the_agent_and_check_the_host_key() {
    let ssh = Ssh::start();
    let t = TestContext::fixture("shop");
    git(
        &t.scratch,
        &["init", "-q", "--bare", "-b", "main", "origin.git"],
    );
    let bare = t.scratch.join("origin.git");
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let url = format!(
        "ssh://{}@127.0.0.1:{}{}",
        user.trim(),
        ssh.port,
        bare.display()
    );
    git(&t.repo, &["remote", "add", "origin", &url]);
    let run = |home: &Path| {
        t.output(
            t.command(&["run", "--no-pr", "--json", "--yes", RENAME])
                .env("HOME", home)
                // pytest may live in the real home's user site.
                .env(
                    "PYTHONUSERBASE",
                    std::env::var("PYTHONUSERBASE").unwrap_or_else(|_| {
                        format!("{}/.local", std::env::var("HOME").unwrap_or_default())
                    }),
                )
                .env("SSH_AUTH_SOCK", ssh.socket()),
        )
    };

    // An unknown host key is refused, with what to do.
    let out = run(&ssh.home(&t, false));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("host key is not in ~/.ssh/known_hosts"),
        "{out:?}"
    );
    assert!(
        git(&bare, &["branch", "--list", "orch/*"])
            .trim()
            .is_empty()
    );

    // A known host and a key in the agent: pushed.
    let out = run(&ssh.home(&t, true));
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    assert_eq!(json["published"]["pushed"], true);
    let branch = json["branch"].as_str().unwrap();
    assert!(show(&bare, &format!("{branch}:shop/util.py")).contains("def make_text("));
}

#[test]
fn https_remotes_verify_the_certificate_and_send_the_token() {
    let t = TestContext::fixture("shop");
    let (cert, key) = (t.scratch.join("cert.pem"), t.scratch.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(made.success());
    let (server, bare) = http_origin_with(&t, &[("TLS_CERT", &cert), ("TLS_KEY", &key)]);
    let url = format!("{}/shop.git", server.url.replace("http://", "https://"));
    git(&t.repo, &["remote", "add", "origin", &url]);

    // A certificate nobody vouches for is refused.
    let out = t.output(
        t.command(&["run", "--no-pr", "--yes", RENAME])
            .env("ORCH_GIT_TOKEN", TOKEN)
            .env("SSL_CERT_FILE", "/dev/null"),
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("stopped (push)"), "{out:?}");
    assert!(out.stderr.to_lowercase().contains("certificate"), "{out:?}");

    // Trusted (SSL_CERT_FILE, as OpenSSL reads it): pushed with the token.
    let out = t.output(
        t.command(&["run", "--no-pr", "--json", "--yes", RENAME])
            .env("ORCH_GIT_TOKEN", TOKEN)
            .env("SSL_CERT_FILE", &cert),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    assert!(show(&bare, &format!("{branch}:shop/util.py")).contains("def make_text("));
    assert!(!out.stderr.contains(TOKEN) && !out.stdout.contains(TOKEN));
}

#[test]
fn the_pull_request_repository_comes_from_the_environment_or_the_remote_url() {
    let t = TestContext::fixture("shop");
    let bare = bare_origin(&t);
    // origin looks like GitHub; git's insteadOf (honoured by libgit2) sends
    // the bytes to the local bare repository.
    git(
        &t.repo,
        &[
            "remote",
            "set-url",
            "origin",
            "https://github.com/acme/shop.git",
        ],
    );
    git(
        &t.repo,
        &[
            "config",
            &format!("url.{}.insteadOf", bare.display()),
            "https://github.com/acme/shop.git",
        ],
    );
    let github = FakeGitHub::start(&t, json!({}));
    let out = with_github(&t, &github, &["run", "--json", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.json()["pr_operation"], "created", "{:#}", out.json());
    assert_eq!(
        out.json()["published"]["remote_url"],
        "https://github.com/acme/shop.git"
    );
    let branch = out.json()["branch"].as_str().unwrap().to_owned();
    assert!(show(&bare, &format!("{branch}:shop/util.py")).contains("def make_text("));

    // GITHUB_REPOSITORY (as Actions sets it) beats the remote URL.
    let github2 = FakeGitHub::start(&t, json!({}));
    let out = t.output(
        t.command(&["run", "--json", "--yes", RENAME])
            .env("GITHUB_API_URL", &github2.server.url)
            .env("GITHUB_TOKEN", TOKEN)
            .env("GITHUB_REPOSITORY", "acme-mirror/shop2"),
    );
    assert_eq!(out.code, 0, "{out:?}");
    github.assert_all_valid();
    github2.assert_all_valid();
    assert!(
        github
            .requests()
            .iter()
            .all(|r| r["path"].as_str().unwrap().starts_with("/repos/acme/shop/"))
    );
    assert!(github2.requests().iter().all(|r| {
        r["path"]
            .as_str()
            .unwrap()
            .starts_with("/repos/acme-mirror/shop2/")
    }));
    assert!(!github2.requests().is_empty());
}

/// Only GitHub is GitHub: an origin on another host (here a `file://` URL,
/// which used to be read as `OWNER/REPO`) gets the branch pushed and a note
/// that no pull request is opened, with no token needed.
#[test]
fn a_remote_that_is_not_github_gets_the_push_and_no_pull_request() {
    let t = TestContext::fixture("shop");
    let bare = t.scratch.join("team").join("proj.git");
    std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
    git(
        bare.parent().unwrap(),
        &["init", "-q", "--bare", "-b", "main", "proj.git"],
    );
    let url = format!("file://{}", bare.display());
    git(&t.repo, &["remote", "add", "origin", &url]);
    git(&t.repo, &["push", "-q", "origin", "main"]);
    let out = t.run(&["run", "--json", RENAME]);
    assert_eq!(out.code, 0, "{out:?}");
    let json = out.json();
    assert_eq!(json["published"]["pushed"], true, "{json:#}");
    assert!(
        json["published"]["skipped"]
            .as_str()
            .unwrap()
            .contains("is not a GitHub URL"),
        "{json:#}"
    );
    let branch = json["branch"].as_str().unwrap();
    let pushed = git(&bare, &["branch", "--list", branch]);
    assert!(pushed.contains(branch), "{pushed}");
}

/// Under `--github-event` on a pull request, the repository's `.mcp.json`
/// is the pull request's own: even `--trust-repo-config` does not start
/// it; orch's own servers serve every role.
#[test]
fn a_pull_requests_mcp_config_is_never_started() {
    let t = TestContext::fixture("shop");
    let bare = bare_origin(&t);
    let ran = t.scratch.join("pwned");
    let config = json!({"mcpServers": {"x": {
        "command": "sh",
        "args": ["-c", format!("touch '{}'", ran.display())],
        "roles": ["search"],
    }}});
    push_pull_request_branch(&t, &bare, ".mcp.json", &config.to_string());
    // The workflow checked the pull request out.
    git(&t.repo, &["fetch", "-q", "origin", "feature/fmt"]);
    git(
        &t.repo,
        &["checkout", "-q", "-b", "feature/fmt", "FETCH_HEAD"],
    );
    let github = FakeGitHub::start(
        &t,
        json!({"pulls": [{"number": 5, "head": "feature/fmt", "base": "main", "state": "open",
                           "title": "t", "body": "", "head_repo": "acme/shop"}]}),
    );
    let event = event_file(&t, "pr_comment.json", |_| {});
    let out = on_event_with(&t, &github, &event, &["--trust-repo-config"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("comes from the pull request"),
        "{out:?}"
    );
    assert!(!ran.exists(), "the pull request's server ran");
}
