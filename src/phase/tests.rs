//! Each phase's entry function on a real project, with orch's own servers
//! in process (`pipeline::testing`): no binary, real MCP sessions.

use super::*;
use crate::intent::{self, Intent};
use crate::pipeline::Mode;
use crate::pipeline::testing::{Project, Run};

fn command(text: &str) -> (Mode, Intent) {
    let mode = Mode::Run {
        command: text.into(),
    };
    (mode, intent::parse(text).unwrap())
}

/// MAP and LOGIC for `command` on `fixture`, flags `flags`.
async fn analyse(
    fixture: &str,
    flags: &[&str],
    text: &str,
) -> (Project, Run, map::RepoMap, Result<logic::Analysis, Failure>) {
    let project = Project::fixture(fixture);
    let (mode, intent) = command(text);
    let run = project.prepare(flags, &mode).await;
    run.ctx().pool.start_all(&[]).await;
    let map = map::run(run.ctx(), &intent).await.unwrap();
    let analysis = logic::run(run.ctx(), &intent, &map).await;
    (project, run, map, analysis)
}

/// MONTE CARLO and PLAN after `analysis`.
async fn make_plan(ctx: &Context, text: &str, analysis: &logic::Analysis) -> crate::plan::Plan {
    let (_, intent) = command(text);
    let risk = monte_carlo::run(ctx, analysis, &intent, 1, None)
        .await
        .unwrap();
    plan::run(ctx, text, &intent, analysis, &risk)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_finds_the_definition_the_files_and_counts_test_files() {
    let (_project, run, map, _) =
        analyse("shop", &[], "rename function make_str to make_text").await;
    assert_eq!(map.definitions.len(), 1);
    assert_eq!(map.definitions[0].path, "shop/util.py");
    let mut candidates = map.candidates.clone();
    candidates.sort();
    assert!(
        candidates.contains(&"shop/util.py".to_owned()),
        "{candidates:?}"
    );
    assert!(
        candidates.contains(&"tests/test_shop.py".to_owned()),
        "{candidates:?}"
    );
    assert_eq!(map.test_files, Some(1));
    run.clean_up().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logic_resolves_every_site_and_plan_makes_the_dag() {
    let text = "rename function make_str to make_text";
    let (_project, run, _map, analysis) = analyse("shop", &[], text).await;
    let analysis = analysis.unwrap();
    assert_eq!(analysis.sites, 11);
    assert_eq!(analysis.files.len(), 5);
    assert!(
        analysis
            .files
            .iter()
            .all(|f| f.edits.iter().all(|e| e.edit.new == "make_text"))
    );
    let ctx = run.ctx();
    let (_, intent) = command(text);
    let risk = monte_carlo::run(ctx, &analysis, &intent, 1, None)
        .await
        .unwrap();
    assert_eq!(risk.blast_radius.sites, 11);
    let plan = plan::run(ctx, text, &intent, &analysis, &risk)
        .await
        .unwrap();
    assert_eq!(plan.edits().count(), 5);
    assert_eq!(
        plan.branch().as_deref(),
        Some(&*format!(
            "orch/rename-make-str-to-make-text-{}",
            &plan.id[..8]
        ))
    );
    run.clean_up().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logic_refuses_a_rename_onto_a_bound_name() {
    let (_project, run, _map, analysis) =
        analyse("shop", &[], "rename function make_str to Price").await;
    let failure = analysis.unwrap_err();
    assert_eq!(failure.stop_reason(), StopReason::Input);
    assert!(
        failure.message().contains("would clash"),
        "{}",
        failure.message()
    );
    run.clean_up().await;
}

/// OPTIMIZE, EXECUTE and REVIEW of a plan: the edits land in the private
/// worktree, the tests (real pytest) run before and after, REVIEW accepts
/// the diff and commits it on the plan's branch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_and_review_carry_a_plan_out() {
    let text = "rename function make_str to make_text";
    let (project, run, map, analysis) = analyse("shop", &["--yes"], text).await;
    let ctx = run.ctx();
    let plan = make_plan(ctx, text, &analysis.unwrap()).await;
    let schedule = optimize::run(ctx, &plan, map.test_files.unwrap(), None)
        .await
        .unwrap();
    assert!(schedule.run_tests, "{}", schedule.reason);
    let outcome = execute::run(ctx, &plan, &schedule).await.unwrap();
    assert_eq!(outcome.applied.len(), 5);
    assert!(
        outcome
            .applied
            .iter()
            .all(|a| a.sha1_before != a.sha1_after)
    );
    let (baseline, after) = (
        outcome.baseline.clone().unwrap(),
        outcome.after.clone().unwrap(),
    );
    assert!(baseline.passed > 0 && baseline.failed == 0, "{baseline:?}");
    assert_eq!(
        (after.passed, after.failed),
        (baseline.passed, 0),
        "{after:?}"
    );
    let verdict = review::run(ctx, &plan, &outcome).await.unwrap();
    assert_eq!(verdict.changed_files.len(), 5);
    assert!(
        verdict
            .syntax
            .values()
            .all(|(before, after)| before == after)
    );
    assert_eq!(verdict.branch, plan.branch());
    let commit = verdict.commit.unwrap();
    let branch = std::process::Command::new("git")
        .args([
            "rev-parse",
            &format!("refs/heads/{}", plan.branch().unwrap()),
        ])
        .current_dir(project.repo())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&branch.stdout).trim(), commit);
    // The pull request body, as a reviewer reads it.
    let phases = [crate::record::PhaseRecord {
        phase: crate::record::Phase::Map,
        duration_ms: 5,
        tokens: 107,
        retries: 0,
        status: crate::record::PhaseStatus::Ok,
        error: None,
    }];
    let facts = crate::publish::Facts {
        schedule: &schedule,
        outcome: &outcome,
        phases: &phases,
        changed_files: &verdict.changed_files,
    };
    let body = crate::publish::body(ctx, &plan, &facts, &[], &plan.branch().unwrap());
    insta::with_settings!({filters => vec![
        (r"\b[0-9a-f]{40}\b", "[sha1]"),
        (r"\b[0-9a-f]{8,12}\b", "[short sha1]"),
        (r"\d+\.\d+ s\b", "[t] s"),
        (r"\d+ ms\b", "[t] ms"),
        (r"\d+ of \d+ tokens", "[n] of [n] tokens"),
        (r"peak memory \d+ MiB", "peak memory [n] MiB"),
        (r"P\(tests pass\) [0-9.]+", "P(tests pass) [p]"),
        (r"P\(on time\) [0-9.]+", "P(on time) [p]"),
        (r"\d+ (passed|failed)", "[n] $1"),
        (r#""path": "[^"]*""#, r#""path": "[repo]""#),
        (r"\(\d+ bytes\)", "([n] bytes)"),
        (r"over \d+ trials", "over [n] trials"),
        (r#""(trials|p_tests_pass|p_on_time)": [0-9.]+"#, r#""$1": [n]"#),
    ]}, {
        insta::assert_snapshot!("pull_request_body", body);
    });
    // The user's checkout is as it was.
    let util = std::fs::read_to_string(project.repo().join("shop/util.py")).unwrap();
    assert!(util.contains("def make_str("));
    run.clean_up().await;
}

/// A file that changed since the plan was made: EXECUTE refuses (exit 2)
/// before writing anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_refuses_a_plan_whose_files_drifted() {
    let text = "rename function make_str to make_text";
    let (_project, run, map, analysis) = analyse("shop", &["--dry-run", "--yes"], text).await;
    let ctx = run.ctx();
    let plan = make_plan(ctx, text, &analysis.unwrap()).await;
    let worktree = ctx.worktree.lock().unwrap().path.clone();
    std::fs::write(worktree.join("shop/cart.py"), "# changed\n").unwrap();
    let schedule = optimize::run(ctx, &plan, map.test_files.unwrap(), None)
        .await
        .unwrap();
    let failure = execute::run(ctx, &plan, &schedule).await.unwrap_err();
    assert_eq!(failure.stop_reason(), StopReason::Input);
    assert!(
        failure.message().contains("shop/cart.py: SHA-1 is"),
        "{}",
        failure.message()
    );
    let util = std::fs::read_to_string(worktree.join("shop/util.py")).unwrap();
    assert!(util.contains("def make_str("), "nothing was written");
    run.clean_up().await;
}
