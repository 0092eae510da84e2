//! The pipeline without the binary: orch's own servers in process.

use std::time::Duration;

use super::testing::Project;
use super::*;

fn rename() -> Mode {
    Mode::Run {
        command: "rename function make_str to make_text".into(),
    }
}

/// The whole run without the binary: orch's own servers in process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_goes_through_every_phase_with_servers_in_process() {
    let project = Project::fixture("shop");
    let settings = project.settings(&["--dry-run", "--yes"]);
    let printer = Arc::new(Printer::new(false, true));
    let finished = run_with(settings, rename(), printer, Transport::InProcess, None)
        .await
        .unwrap();
    let record = &finished.record;
    assert!(record.success, "{:?}", record.error);
    assert_eq!(finished.exit_code, ExitCode::Done);
    let phases: Vec<(Phase, PhaseStatus)> =
        record.phases.iter().map(|p| (p.phase, p.status)).collect();
    assert_eq!(
        phases,
        Phase::ALL.map(|p| (p, PhaseStatus::Ok)).to_vec(),
        "{record:?}"
    );
    assert!(record.total_tokens > 0);
    let diff = finished.diff.unwrap();
    assert!(diff.contains("+def make_text(cents):"), "{diff}");
    let added = diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"));
    assert!(added.clone().all(|l| !l.contains("make_str")), "{diff}");
    assert!(added.count() >= 6, "{diff}");
    let plan = finished.plan.unwrap();
    insta::assert_json_snapshot!("shop_rename_plan", plan, {
        ".id" => "[id]",
        ".repository.path" => "[repo]",
        // Estimates drawn under a time cap: their figures vary.
        ".risk.p_tests_pass" => "[p]",
        ".risk.p_on_time" => "[p]",
        ".risk.trials" => "[trials]",
    });
    // Nothing of the run is left: its worktree is gone.
    let worktrees = std::fs::read_dir(project.repo().join(".git/worktrees"))
        .map(|entries| entries.count())
        .unwrap_or(0);
    assert_eq!(worktrees, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_is_retried_after_a_retryable_server_failure() {
    let project = Project::fixture("shop");
    let mode = rename();
    let run = project.prepare(&[], &mode).await;
    let mut driver = Driver::new(run.ctx(), &mode);
    let mut attempts = 0;
    let result = driver
        .step(Phase::Map, async || {
            attempts += 1;
            if attempts < 3 {
                return Err(Failure::Mcp(crate::mcp::Error::Timeout {
                    server: "orch".into(),
                    tool: "search".into(),
                    after: Duration::from_secs(1),
                }));
            }
            Ok(attempts)
        })
        .await;
    assert_eq!(result.unwrap(), 3);
    let record = &driver.phases[0];
    assert_eq!((record.retries, record.status), (2, PhaseStatus::Ok));
    // An input error is not retried.
    let result: Result<(), Failure> = driver
        .step(Phase::Logic, async || {
            Err(Failure::input("no such name", None))
        })
        .await;
    assert!(matches!(result, Err(Failure::Input { .. })));
    assert_eq!(
        (driver.phases[1].retries, driver.phases[1].status),
        (0, PhaseStatus::Failed)
    );
    run.clean_up().await;
}

/// Each phase gets its weight's share of what is left of the deadline;
/// one that overruns its share stops the run (exit 1, `budget.deadline`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phase_over_its_share_of_the_deadline_stops_the_run() {
    let project = Project::fixture("shop");
    let mode = rename();
    let run = project.prepare(&["--deadline", "2s"], &mode).await;
    let mut driver = Driver::new(run.ctx(), &mode);
    let started = Instant::now();
    let result: Result<(), Failure> = driver
        .step(Phase::Map, async || {
            tokio::time::sleep(Duration::from_secs(30)).await;
            Ok(())
        })
        .await;
    // MAP's weight is 8 of 100: about 0.16 s of the 2 s.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let failure = result.unwrap_err();
    assert_eq!(failure.stop_reason(), StopReason::BudgetDeadline);
    assert!(
        failure
            .message()
            .contains("MAP did not finish within its 0.2s share"),
        "{}",
        failure.message()
    );
    assert_eq!(driver.phases[0].status, PhaseStatus::Stopped);
    let driven = Driven {
        phases: driver.phases,
        details: driver.details,
        plan: None,
        verdict: None,
        published: None,
        schedule: None,
        outcome: None,
        kind: None,
    };
    clean_up(run.ctx()).await;
    let finished = finish(run.prepared, &mode, Err(failure), driven).unwrap();
    assert_eq!(finished.exit_code, ExitCode::Stopped);
    assert_eq!(
        finished.record.stop_reason,
        Some(StopReason::BudgetDeadline)
    );
    assert_eq!(
        finished.hint.as_deref(),
        Some("raise --deadline (or ORCH_DEADLINE)")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stops_map_to_exit_codes_in_the_record() {
    let project = Project::fixture("shop");
    let mode = rename();
    for (failure, code, reason) in [
        (
            Failure::input("unknown", None),
            ExitCode::Usage,
            StopReason::Input,
        ),
        (
            Failure::stop(StopReason::Interrupted, "interrupted"),
            ExitCode::Interrupted,
            StopReason::Interrupted,
        ),
        (
            Failure::stop(StopReason::Tests, "red"),
            ExitCode::Stopped,
            StopReason::Tests,
        ),
        (
            Failure::Mcp(crate::mcp::Error::Protocol {
                server: "orch".into(),
                message: "garbage".into(),
            }),
            ExitCode::Stopped,
            StopReason::Error,
        ),
    ] {
        let run = project.prepare(&[], &mode).await;
        clean_up(run.ctx()).await;
        let driven = Driven {
            phases: Vec::new(),
            details: BTreeMap::new(),
            plan: None,
            verdict: None,
            published: None,
            schedule: None,
            outcome: None,
            kind: None,
        };
        let finished = finish(run.prepared, &mode, Err(failure), driven).unwrap();
        assert_eq!(finished.exit_code, code);
        assert_eq!(finished.record.stop_reason, Some(reason));
        assert!(!finished.record.success);
        let written = std::fs::read_to_string(
            std::path::Path::new(&finished.record.run_dir).join("record.json"),
        )
        .unwrap();
        let written: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(written["stop_reason"], reason.as_str());
    }
}
