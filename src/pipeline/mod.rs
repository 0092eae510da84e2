//! The pipeline: the only place that knows the phase order. It prepares a
//! run (repository, project lock, private worktree, servers), runs each
//! phase under its share of the deadline with up to 3 retries on retryable
//! server failures, records every phase, and always cleans up: servers shut
//! down and reaped, worktree removed, record written.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tracing::Instrument as _;

use anyhow::Context as _;
use serde::Serialize;

use crate::budget::{Deadline, Memory, Tokens};
use crate::exit::ExitCode;
use crate::forge::Repo;
use crate::intent::Intent;
use crate::mcp::approval::Policy;
use crate::mcp::{Approver, Pool, Role};
use crate::phase::{self, Context, Failure, StopReason};
use crate::plan::{Plan, Risk};
use crate::printer::Printer;
use crate::publish::{self, Facts};
use crate::record::{Phase, PhaseRecord, PhaseStatus, Published, Record, RunMode};
use crate::settings::Settings;
use crate::state::{self, Project};

/// What to do.
pub(crate) enum Mode {
    /// All seven phases.
    Run { command: String },
    /// MAP to PLAN; prints the plan.
    Plan { command: String },
    /// EXECUTE and REVIEW of a saved plan.
    Replay { plan: Box<Plan> },
}

impl Mode {
    /// The refactor command (a replay's is its plan's).
    pub(crate) fn command(&self) -> &str {
        match self {
            Mode::Run { command } | Mode::Plan { command } => command,
            Mode::Replay { plan } => &plan.command,
        }
    }

    pub(crate) fn kind(&self) -> RunMode {
        match self {
            Mode::Run { .. } => RunMode::Run,
            Mode::Plan { .. } => RunMode::Plan,
            Mode::Replay { .. } => RunMode::Replay,
        }
    }
}

/// Retries of a phase after a retryable failure.
pub(crate) const MAX_RETRIES: u32 = 3;

/// The result handed back to the command line.
pub(crate) struct Finished {
    pub record: Record,
    pub plan: Option<Plan>,
    pub diff: Option<String>,
    pub exit_code: ExitCode,
    pub hint: Option<String>,
}

/// Sets a run up, runs it and cleans up.
pub(crate) async fn run(
    settings: Settings,
    mode: Mode,
    printer: Arc<Printer>,
) -> anyhow::Result<Finished> {
    run_with(settings, mode, printer, Transport::Processes, None).await
}

/// [`run`], stopped like an interrupt (servers, worktree cleaned up,
/// nothing committed) when `cancel` is cancelled.
pub(crate) async fn run_cancellable(
    settings: Settings,
    mode: Mode,
    printer: Arc<Printer>,
    cancel: tokio_util::sync::CancellationToken,
) -> anyhow::Result<Finished> {
    run_with(settings, mode, printer, Transport::Processes, Some(cancel)).await
}

/// How orch's own servers run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transport {
    /// As child processes (`orch serve-mcp`), as in every real run.
    Processes,
    /// As tasks of this process over in-memory pipes (tests).
    InProcess,
}

async fn run_with(
    settings: Settings,
    mode: Mode,
    printer: Arc<Printer>,
    transport: Transport,
    cancel: Option<tokio_util::sync::CancellationToken>,
) -> anyhow::Result<Finished> {
    let mut signals = Signals::catch();
    let cancel = cancel.unwrap_or_default();
    let prepared = prepare(settings, &mode, printer, transport).await?;
    let ctx = &prepared.ctx;
    let mut driver = Driver::new(ctx, &mode);
    let outcome = {
        let drive = driver.drive(&mode);
        tokio::pin!(drive);
        tokio::select! {
            outcome = &mut drive => outcome,
            _ = signals.received() => Err(Failure::stop(StopReason::Interrupted, "interrupted; nothing was committed")),
            _ = cancel.cancelled() => Err(Failure::stop(StopReason::Interrupted, "cancelled by the client; nothing was committed")),
        }
    };
    if matches!(
        &outcome,
        Err(Failure::Stop {
            reason: StopReason::Interrupted,
            ..
        })
    ) {
        driver.interrupted();
    }
    let driven = Driven {
        phases: driver.phases,
        details: driver.details,
        plan: driver.plan,
        verdict: driver.verdict,
        published: driver.published,
        schedule: driver.schedule,
        outcome: driver.outcome,
        kind: driver.kind,
    };
    clean_up(ctx).await;
    finish(prepared, &mode, outcome, driven)
}

/// A run set up: its context, holding the project lock.
struct Prepared {
    ctx: Context,
    _lock: Option<state::ProjectLock>,
    /// This run's history record, claimed at the start.
    history: Option<crate::history::Pending>,
    started_at: std::time::SystemTime,
}

/// What the phases left.
struct Driven {
    phases: Vec<PhaseRecord>,
    details: BTreeMap<String, serde_json::Value>,
    plan: Option<Plan>,
    verdict: Option<phase::review::Verdict>,
    published: Option<Published>,
    schedule: Option<phase::optimize::Schedule>,
    outcome: Option<phase::execute::Outcome>,
    kind: Option<String>,
}

/// Opens the repository, takes the project lock, checks the private
/// worktree out and starts orch's own servers meanwhile.
async fn prepare(
    settings: Settings,
    mode: &Mode,
    printer: Arc<Printer>,
    transport: Transport,
) -> anyhow::Result<Prepared> {
    let repo = Repo::open(&settings.repo)?;
    let head = match &settings.publish.base {
        Some(rev) => repo.resolve(rev)?,
        None => repo.head()?,
    };
    let crate::forge::Changes {
        dirty: dirty_files,
        untracked: untracked_files,
    } = repo.changes()?;
    tracing::debug!(dirty = dirty_files.len(), "repository opened");
    let project = Project::new(&settings.state_home, &settings.repo);
    project.record_root(&settings.repo);
    // The deadline counts from here: waiting for the lock is part of it.
    let deadline = Deadline::new(settings.deadline);
    // A plan and a dry run commit nothing and use a worktree of their own:
    // they cannot conflict with another run, and do not wait for one.
    let locks = !(settings.dry_run || matches!(mode, Mode::Plan { .. }));
    let lock = if locks {
        let lock_printer = printer.clone();
        Some(project.lock(deadline.remaining(), move |holder| {
            lock_printer.note(&format!(
                "waiting for another orch run on this project to finish ({})",
                holder.as_deref().unwrap_or("holder unknown")
            ));
        })?)
    } else {
        None
    };
    let run_id = state::new_run_id();
    // What killed runs left behind goes (only what no live process owns:
    // safe with or without the lock). This run is claimed so that no other
    // run sweeps it.
    let owners = state::Owners::new(&repo.common_dir());
    let swept = repo.sweep(|run| run == run_id || owners.is_live(run));
    if !swept.is_empty() {
        printer.note(&format!(
            "removed what killed runs left behind: {}",
            swept.join(", ")
        ));
    }
    // A change a killed run was applying to the checkout is finished (or,
    // not yet committed to, dropped): under the project lock.
    if locks {
        let is_live = |run: &str| run == run_id || owners.is_live(run);
        for recovered in crate::apply::recover(&repo.common_dir(), is_live) {
            printer.note(&recovered.to_string());
        }
    }
    owners.claim(&run_id)?;
    let started_at = std::time::SystemTime::now();
    let history = begin_history(&settings, &project, &run_id, mode, started_at, &printer);
    let run_dir = project.run_dir(&run_id);
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("cannot create `{}`", run_dir.display()))?;
    let worktree_dir = project.worktree_dir(
        &run_id,
        repo.checkout_bytes(),
        settings.worktree_root.as_deref(),
        settings.runtime_dir.as_deref(),
    );
    let root = if repo.subdir.is_empty() {
        worktree_dir.clone()
    } else {
        worktree_dir.join(&repo.subdir)
    };
    let tokens = Arc::new(Tokens::new(settings.phase_tokens, settings.total_tokens));
    if let Some(parent) = worktree_dir.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    // orch's own servers' temporary files, removed at clean-up.
    let scratch = worktree_dir.with_extension("tmp");
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create `{}`", scratch.display()))?;
    let mut servers = settings
        .servers(&root)
        .context("cannot find orch's own executable")?
        .with_scratch(&scratch);
    if transport == Transport::InProcess {
        servers = servers.in_process();
    }
    for warning in &servers.warnings {
        printer.warn(warning);
    }
    let approver = Arc::new(
        Approver::new(Policy::detect(settings.yes), Some(printer.clone())).in_private_worktree(),
    );
    let pool = Pool::new(
        servers,
        root.clone(),
        tokens.clone(),
        approver,
        Some(&run_dir),
    );
    let memory = Memory::start(settings.memory_threshold);
    // orch's own servers start while the worktree is checked out (they
    // wait for their root); configured ones start once it exists.
    let checkout_started = Instant::now();
    let checkout = {
        let (run_id, dir, head) = (run_id.clone(), worktree_dir.clone(), head.clone());
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let added = repo.add_worktree(&run_id, &dir, &head);
            tracing::debug!(
                ms = started.elapsed().as_millis() as u64,
                "worktree checked out"
            );
            (repo, added)
        })
    };
    let ((), checked_out) =
        tokio::join!(pool.start_builtin(skipped_roles(&settings, mode)), checkout);
    let (repo, worktree) = match checked_out {
        Ok((repo, Ok(worktree))) => (repo, worktree),
        Ok((_, Err(error))) => {
            pool.shutdown().await;
            let _ = std::fs::remove_dir_all(&scratch);
            owners.release(&run_id);
            return Err(error.into());
        }
        Err(error) => {
            pool.shutdown().await;
            let _ = std::fs::remove_dir_all(&scratch);
            owners.release(&run_id);
            anyhow::bail!("the worktree checkout failed: {error}");
        }
    };
    tracing::debug!(
        path = %worktree_dir.display(),
        ms = checkout_started.elapsed().as_millis() as u64,
        "worktree and servers ready"
    );
    let ctx = Context {
        pool,
        tokens,
        memory,
        deadline,
        printer: printer.clone(),
        project,
        run_id,
        run_dir,
        head,
        subdir: repo.subdir.clone(),
        worktree: Mutex::new(worktree),
        dirty_files,
        untracked_files,
        owners,
        settings,
        evidence: Default::default(),
    };
    Ok(Prepared {
        ctx,
        _lock: lock,
        history,
        started_at,
    })
}

/// Records what killed runs left in the history, then claims this run's
/// record. A history that cannot be written costs the record, not the run.
fn begin_history(
    settings: &Settings,
    project: &Project,
    run_id: &str,
    mode: &Mode,
    started_at: std::time::SystemTime,
    printer: &Printer,
) -> Option<crate::history::Pending> {
    let store = crate::history::Store::new(&project.dir);
    for recovered in store.recover() {
        printer.note(&format!("history: {recovered}"));
    }
    let row = crate::history::RunRow {
        run_id: run_id.to_owned(),
        project_id: project.id.clone(),
        project: settings.repo.to_string_lossy().into_owned(),
        started_at: crate::history::timestamp(started_at),
        mode: mode.kind().as_str().to_owned(),
        command: mode.command().to_owned(),
        ..Default::default()
    };
    match store.begin(&row) {
        Ok(pending) => Some(pending),
        Err(error) => {
            printer.warn(&format!("{error}: this run is not recorded in the history"));
            None
        }
    }
}

/// Stops the servers and removes the worktree, whatever happened.
async fn clean_up(ctx: &Context) {
    // Clean up whatever happened.
    // The servers stop while the worktree goes (a server still writing
    // there as it dies is caught by the second look below).
    let cleanup_started = Instant::now();
    let mut worktree = match ctx.worktree.lock() {
        Ok(mut worktree) => worktree.take(),
        Err(poisoned) => poisoned.into_inner().take(),
    };
    let worktree_path = worktree.path.clone();
    let removing = tokio::task::spawn_blocking(move || worktree.remove());
    let (shutdown_ms, _) = tokio::join!(
        async {
            ctx.pool.shutdown().await;
            cleanup_started.elapsed().as_millis() as u64
        },
        removing
    );
    if worktree_path.exists() {
        let _ = std::fs::remove_dir_all(&worktree_path);
    }
    let _ = std::fs::remove_dir_all(worktree_path.with_extension("tmp"));
    ctx.owners.release(&ctx.run_id);
    tracing::debug!(
        shutdown_ms,
        total_ms = cleanup_started.elapsed().as_millis() as u64,
        "servers stopped, worktree removed"
    );
}

/// The run's record, written as `record.json`, and what the command line
/// reports.
fn finish(
    prepared: Prepared,
    mode: &Mode,
    outcome: Result<(), Failure>,
    driven: Driven,
) -> anyhow::Result<Finished> {
    let ctx = &prepared.ctx;
    let Driven {
        phases,
        details,
        plan,
        verdict,
        published,
        schedule,
        outcome: executed,
        kind,
    } = driven;
    let (success, stop_reason, error, exit_code, hint) = match &outcome {
        Ok(()) => (true, None, None, ExitCode::Done, None),
        Err(failure) => {
            let reason = failure.stop_reason();
            let hint = match failure {
                Failure::Input { hint, .. } => hint.clone(),
                // Asked and answered: nothing to suggest.
                Failure::Stop {
                    reason: StopReason::Approval,
                    message,
                } if message.contains("refused at the prompt") => None,
                Failure::Stop { .. } => reason.hint().map(str::to_owned),
                Failure::Mcp(_) => None,
            };
            (
                false,
                Some(reason),
                Some(failure.message()),
                reason.exit_code(),
                hint,
            )
        }
    };
    let record = Record {
        run_id: ctx.run_id.clone(),
        mode: mode.kind(),
        command: mode.command().to_owned(),
        success,
        stop_reason,
        error,
        duration_ms: ctx.deadline.elapsed().as_millis() as u64,
        total_tokens: ctx.tokens.total(),
        phase_token_budget: ctx.settings.phase_tokens,
        total_token_budget: ctx.settings.total_tokens,
        peak_memory_mb: ctx.memory.peak_mb(),
        memory_threshold: ctx.settings.memory_threshold,
        memory_events: ctx.memory.events(),
        plan_id: plan.as_ref().map(|p| p.id.clone()),
        branch: verdict.as_ref().and_then(|v| v.branch.clone()),
        commit: verdict.as_ref().and_then(|v| v.commit.clone()),
        published,
        dry_run: ctx.settings.dry_run,
        phases,
        details,
        run_dir: ctx.run_dir.to_string_lossy().into_owned(),
    };
    let text = serde_json::to_string_pretty(&record)?;
    std::fs::write(ctx.run_dir.join("record.json"), text).context("cannot write record.json")?;
    if let Some(pending) = prepared.history {
        let entry = history_entry(
            ctx,
            &record,
            prepared.started_at,
            plan.as_ref(),
            kind,
            schedule.as_ref(),
            executed,
            verdict.as_ref(),
        );
        if let Err(error) = pending.finish(&entry, ctx.settings.history_runs) {
            ctx.printer
                .warn(&format!("{error}: this run is not recorded in the history"));
        }
    }
    Ok(Finished {
        diff: verdict.map(|v| v.diff),
        record,
        plan,
        exit_code,
        hint,
    })
}

/// The run as the history keeps it.
#[allow(clippy::too_many_arguments)]
fn history_entry(
    ctx: &Context,
    record: &Record,
    started_at: std::time::SystemTime,
    plan: Option<&Plan>,
    kind: Option<String>,
    schedule: Option<&phase::optimize::Schedule>,
    executed: Option<phase::execute::Outcome>,
    verdict: Option<&phase::review::Verdict>,
) -> crate::history::Entry {
    use crate::history::{Entry, PhaseRow, RunRow};
    let outcome = match record.stop_reason {
        None => "success",
        Some(StopReason::Interrupted) => "interrupted",
        Some(StopReason::Error) => "failed",
        Some(_) => "stopped",
    };
    let risk = plan.and_then(|p| p.risk.as_ref());
    let kind = kind.or_else(|| plan.map(|p| phase::monte_carlo::intent_kind(&p.intent)));
    let (baseline, after) = match &executed {
        Some(o) => (o.baseline.as_ref(), o.after.as_ref()),
        None => (None, None),
    };
    // Whether the tests were no worse after the edit: REVIEW's verdict, or
    // the reason the run stopped.
    let tests_passed = match (after, record.stop_reason) {
        (None, _) => None,
        (Some(_), Some(StopReason::Tests)) => Some(false),
        (Some(_), _) => verdict.map(|v| v.new_failures.is_empty()),
    };
    let selected = schedule.map(|s| {
        if s.run_tests && s.paths().is_empty() {
            s.test_files
        } else {
            // Test files: tests selected alone count as their file.
            s.paths()
                .iter()
                .map(|p| crate::calls::split_unit(p).0)
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        }
    });
    let run = RunRow {
        run_id: record.run_id.clone(),
        project_id: ctx.project.id.clone(),
        project: ctx.settings.repo.to_string_lossy().into_owned(),
        started_at: crate::history::timestamp(started_at),
        mode: record.mode.as_str().to_owned(),
        command: record.command.clone(),
        kind,
        plan_id: record.plan_id.clone(),
        base_commit: Some(ctx.head.clone()),
        outcome: outcome.to_owned(),
        stop_reason: record.stop_reason.map(|r| r.as_str().to_owned()),
        duration_ms: record.duration_ms,
        total_tokens: record.total_tokens,
        peak_memory_mb: record.peak_memory_mb,
        dry_run: record.dry_run,
        sites: risk.map(|r| r.blast_radius.sites),
        files: risk.map(|r| r.blast_radius.files),
        modules: risk.map(|r| r.blast_radius.public_names),
        uncertain: plan.map(|p| p.report.uncertain.len()),
        tests_mode: Some(
            match ctx.settings.tests {
                crate::cli::TestsMode::Affected => "affected",
                crate::cli::TestsMode::All => "all",
                crate::cli::TestsMode::None => "none",
            }
            .to_owned(),
        ),
        tiers: schedule.map(|s| s.tiers.clone()),
        test_files: schedule.map(|s| s.test_files),
        selected_files: selected.filter(|_| schedule.is_some_and(|s| s.run_tests)),
        left_out_files: schedule.map(|s| s.left_out),
        left_out_ms: schedule.and_then(|s| s.left_out_ms),
        workers: executed
            .as_ref()
            .filter(|o| o.after.is_some())
            .map(|o| o.workers)
            .or(schedule.map(|s| s.parallelism)),
        baseline_ms: baseline.map(|r| r.duration_ms),
        baseline_cached: executed.as_ref().map(|o| o.baseline_cached),
        after_ms: after.map(|r| r.duration_ms),
        tests_passed,
        flaky: executed.as_ref().map(|o| o.flaky.len()),
        p_tests_pass: risk.map(|r| r.p_tests_pass),
        p_on_time: risk.map(|r| r.p_on_time),
        p50_ms: risk.and_then(|r| r.finish.as_ref()).map(|f| f.p50_ms),
        p85_ms: risk.and_then(|r| r.finish.as_ref()).map(|f| f.p85_ms),
        p95_ms: risk.and_then(|r| r.finish.as_ref()).map(|f| f.p95_ms),
        estimate_basis: risk.map(|r| r.model.clone()),
        orch_version: env!("CARGO_PKG_VERSION").to_owned(),
        shard_safe: executed.as_ref().and_then(|o| o.shard_safe),
    };
    let phases = record
        .phases
        .iter()
        .map(|p| PhaseRow {
            run_id: record.run_id.clone(),
            phase: p.phase.name().to_owned(),
            duration_ms: p.duration_ms,
            tokens: p.tokens,
            status: p.status.as_str().to_owned(),
            retries: p.retries,
        })
        .collect();
    Entry {
        run,
        phases,
        tests: executed.map(|o| o.tests).unwrap_or_default(),
    }
}

/// Roles whose servers are not started up front: plans and dry runs run
/// no tests, so the test server starts only if a phase asks for it.
fn skipped_roles(settings: &Settings, mode: &Mode) -> &'static [Role] {
    if settings.dry_run || matches!(mode, Mode::Plan { .. }) {
        &[Role::Test]
    } else {
        &[]
    }
}

/// SIGINT and SIGTERM, caught from the start of a run: one that arrives
/// while the run is being set up (servers spawning, worktree being made)
/// is seen as soon as the set-up ends, and the run cleans up.
struct Signals {
    interrupt: Option<tokio::signal::unix::Signal>,
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn catch() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        Signals {
            interrupt: signal(SignalKind::interrupt()).ok(),
            terminate: signal(SignalKind::terminate()).ok(),
        }
    }

    /// Resolves on SIGINT or SIGTERM.
    async fn received(&mut self) {
        async fn one(signal: &mut Option<tokio::signal::unix::Signal>) {
            match signal.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        tokio::select! {
            _ = one(&mut self.interrupt) => {}
            _ = one(&mut self.terminate) => {}
        }
    }
}

struct Driver<'a> {
    ctx: &'a Context,
    phases: Vec<PhaseRecord>,
    remaining_weight: u32,
    details: BTreeMap<String, serde_json::Value>,
    plan: Option<Plan>,
    verdict: Option<phase::review::Verdict>,
    published: Option<Published>,
    /// The phase running now, and since when (an interrupted run records it).
    current: Option<(Phase, Instant)>,
    schedule: Option<phase::optimize::Schedule>,
    outcome: Option<phase::execute::Outcome>,
    kind: Option<String>,
    /// The tiers MONTE CARLO asked for, for OPTIMIZE.
    tiers: Option<phase::optimize::Tiers>,
}

impl<'a> Driver<'a> {
    fn new(ctx: &'a Context, mode: &Mode) -> Self {
        Driver {
            ctx,
            phases: Vec::new(),
            remaining_weight: mode.kind().phases().iter().map(|p| p.weight()).sum(),
            details: BTreeMap::new(),
            plan: None,
            verdict: None,
            published: None,
            current: None,
            schedule: None,
            outcome: None,
            kind: None,
            tiers: None,
        }
    }

    /// Records the phase an interruption cut short, with its time so far.
    fn interrupted(&mut self) {
        if let Some((phase, started)) = self.current.take() {
            self.phases.push(PhaseRecord {
                phase,
                duration_ms: started.elapsed().as_millis() as u64,
                tokens: self.ctx.tokens.phase_used(phase.name()),
                retries: 0,
                status: PhaseStatus::Stopped,
                error: Some("interrupted".into()),
            });
        }
    }

    async fn drive(&mut self, mode: &Mode) -> Result<(), Failure> {
        let ctx = self.ctx;
        // The command first: a typo costs nothing.
        let intent = match mode {
            Mode::Run { command } | Mode::Plan { command } => {
                let mut intent = crate::intent::parse(command).map_err(|e| {
                    Failure::input(e.to_string(), Some(crate::intent::suggest(command)))
                })?;
                if let crate::intent::Intent::Move(m) = &mut intent {
                    m.keep_alias |= ctx.settings.keep_alias;
                } else if ctx.settings.keep_alias {
                    ctx.printer
                        .warn("--keep-alias only applies to `move`; ignored");
                }
                Some(intent)
            }
            Mode::Replay { .. } => None,
        };
        if !matches!(mode, Mode::Plan { .. }) {
            crate::publish::preflight(ctx)?;
        }
        ctx.pool.start_all(skipped_roles(&ctx.settings, mode)).await;
        // The test-file count MAP made (a replay has none yet).
        let (plan, counted) = match (mode, intent) {
            (Mode::Run { command } | Mode::Plan { command }, Some(intent)) => {
                let (plan, counted) = self.make_plan(command, &intent).await?;
                self.note_untracked(&intent);
                self.plan = Some(plan.clone());
                if matches!(mode, Mode::Plan { .. }) {
                    return Ok(());
                }
                (plan, counted)
            }
            (Mode::Replay { plan }, _) => {
                self.plan = Some((**plan).clone());
                phase::plan::save(ctx, plan)?;
                ((**plan).clone(), None)
            }
            (Mode::Run { .. } | Mode::Plan { .. }, None) => {
                return Err(Failure::internal("a command without an intent"));
            }
        };
        self.refuse_dirty_targets(&plan)?;
        let known = self.tiers.take();
        let schedule = self
            .step(Phase::Optimize, async || {
                let test_files = test_files(ctx, counted).await?;
                phase::optimize::run(ctx, &plan, test_files, known.clone()).await
            })
            .await?;
        self.detail("schedule", &schedule);
        self.schedule = Some(schedule.clone());
        if schedule.run_tests {
            ctx.printer.note(&format!("tests: {}", schedule.reason));
        }
        let outcome = self
            .step(Phase::Execute, async || {
                phase::execute::run(ctx, &plan, &schedule).await
            })
            .await?;
        self.detail("execute", &outcome);
        self.outcome = Some(outcome.clone());
        let phases = self.phases.clone();
        // REVIEW's verdict, then (not on dry runs) the commit published.
        let (verdict, published, applied) = self
            .step(Phase::Review, async || {
                let verdict = phase::review::run(ctx, &plan, &outcome).await?;
                let applied = if ctx.settings.apply && !verdict.changed_files.is_empty() {
                    Some(phase::review::apply(ctx, &plan).await?)
                } else {
                    None
                };
                let published = match &verdict.branch {
                    Some(branch) => {
                        let facts = Facts {
                            schedule: &schedule,
                            outcome: &outcome,
                            phases: &phases,
                            changed_files: &verdict.changed_files,
                        };
                        let has_diff = !verdict.changed_files.is_empty();
                        Some(publish::run(ctx, &plan, branch, has_diff, &facts).await?)
                    }
                    None => None,
                };
                Ok((verdict, published, applied))
            })
            .await?;
        if let Some(applied) = &applied {
            self.detail("applied", applied);
        }
        self.detail(
            "review",
            &serde_json::json!({
                "changed_files": verdict.changed_files,
                "syntax": verdict.syntax,
                "new_failures": verdict.new_failures,
            }),
        );
        self.verdict = Some(verdict);
        self.published = published;
        Ok(())
    }

    /// MAP to PLAN; the plan, and the project's test files if counted.
    async fn make_plan(
        &mut self,
        command: &str,
        intent: &Intent,
    ) -> Result<(Plan, Option<usize>), Failure> {
        let ctx = self.ctx;
        // Where the words leave the kind open, the project decides first.
        let (resolved, map) = self
            .step(Phase::Map, async || {
                let resolved = phase::map::entity::resolve(ctx, intent).await?;
                let target = resolved.as_ref().map_or(intent, |(i, _)| i);
                let map = phase::map::run(ctx, target).await?;
                Ok((resolved, map))
            })
            .await?;
        let reading;
        let intent = match resolved {
            Some((resolved, why)) => {
                ctx.printer.note(&why);
                self.detail("reading", &why);
                reading = resolved;
                &reading
            }
            None => intent,
        };
        self.detail("map", &map);
        let analysis = self
            .step(Phase::Logic, async || {
                phase::logic::run(ctx, intent, &map).await
            })
            .await?;
        self.detail(
            "logic",
            &serde_json::json!({
                "definition": analysis.definition,
                "sites": analysis.sites,
                "files": analysis.files.len(),
                "pruned_files": analysis.pruned_files,
                "target_modules": analysis.target_modules,
                "mentions": analysis.mentions_total,
                "uncertain": analysis.uncertain_total,
            }),
        );
        self.kind = Some(phase::monte_carlo::intent_kind(intent));
        // The estimate is of what a run of the plan does: a plan made now
        // and replayed later, or a dry run, is estimated as a run would be.
        let tests_mode = ctx.settings.tests;
        let (risk, test_files, tiers): (Risk, usize, Option<phase::optimize::Tiers>) = self
            .step(Phase::MonteCarlo, async || {
                let test_files = test_files(ctx, map.test_files).await?;
                // The tests OPTIMIZE will choose from: the estimate of
                // when the run ends depends on them.
                let tiers = if tests_mode == crate::cli::TestsMode::Affected && test_files > 0 {
                    let mut changed: Vec<String> =
                        analysis.files.iter().map(|f| f.path.clone()).collect();
                    changed.extend(analysis.creates.iter().map(|f| f.path.clone()));
                    changed.extend(analysis.deletes.iter().map(|f| f.path.clone()));
                    let edited = phase::optimize::edited_ranges(analysis.files.iter().map(|f| {
                        let ranges = f.edits.iter().map(|e| [e.edit.start, e.edit.end]);
                        (f.path.as_str(), ranges)
                    }));
                    match phase::optimize::tiers(
                        ctx,
                        changed,
                        edited,
                        phase::optimize::old_names(intent),
                    )
                    .await
                    {
                        Ok(tiers) => Some(tiers),
                        Err(error) => {
                            tracing::warn!(%error, "test impact unavailable to MONTE CARLO");
                            None
                        }
                    }
                } else {
                    None
                };
                let evidence = ctx.evidence().await;
                let work = match tests_mode {
                    // No tests: only the run's own time.
                    crate::cli::TestsMode::None => Some(phase::monte_carlo::Workload {
                        units: Vec::new(),
                        workers: 1,
                        runs: 0,
                        whole_files: 0,
                        coverage: 0.0,
                        tests: Default::default(),
                    }),
                    _ => tiers.as_ref().and_then(|t| t.workload(ctx, &evidence)),
                };
                let risk =
                    phase::monte_carlo::run(ctx, &analysis, intent, test_files, work).await?;
                Ok((risk, test_files, tiers))
            })
            .await?;
        self.tiers = tiers;
        self.detail("risk", &risk);
        let plan = self
            .step(Phase::Plan, async || {
                phase::plan::run(ctx, command, intent, &analysis, &risk).await
            })
            .await?;
        Ok((plan, Some(test_files)))
    }

    /// Untracked files in the user's checkout that name the renamed (or
    /// moved) symbol: orch cannot see them, and they will break after the
    /// change is merged. Listed, and kept in the record.
    fn note_untracked(&mut self, intent: &Intent) {
        let ctx = self.ctx;
        let name = match intent {
            Intent::Rename(rename) => rename.old.as_str(),
            Intent::Move(request) => request.name.as_str(),
            _ => return,
        };
        let mentioning: Vec<&String> = ctx
            .untracked_files
            .iter()
            .filter(|file| {
                std::fs::read_to_string(ctx.settings.repo.join(file))
                    .is_ok_and(|text| crate::lang::structural::has_word(&text, name))
            })
            .collect();
        if mentioning.is_empty() {
            return;
        }
        for file in mentioning.iter().take(20) {
            ctx.printer.warn(&format!(
                "not part of the change: untracked {file} mentions `{name}` (orch works from HEAD; commit it first for orch to change it)"
            ));
        }
        self.detail("untracked_mentions", &mentioning);
    }

    /// Planned files with uncommitted changes in the user's checkout would
    /// make the branch silently drop or conflict with them: refuse.
    fn refuse_dirty_targets(&self, plan: &Plan) -> Result<(), Failure> {
        let ctx = self.ctx;
        let files = plan.files();
        let touched: Vec<&str> = files
            .iter()
            .map(String::as_str)
            .filter(|f| ctx.dirty_files.iter().any(|d| d == f))
            .collect();
        if !ctx.dirty_files.is_empty() {
            ctx.printer.note("note: uncommitted changes in your checkout are not part of the base (orch works from HEAD)");
        }
        if touched.is_empty() || ctx.settings.dry_run {
            return Ok(());
        }
        Err(Failure::input(
            format!(
                "these planned files have uncommitted changes: {}",
                touched.join(", ")
            ),
            Some(
                "commit or stash them first (orch edits HEAD's version in a private worktree)"
                    .into(),
            ),
        ))
    }

    fn detail(&mut self, key: &str, value: &impl Serialize) {
        if let Ok(value) = serde_json::to_value(value) {
            self.details.insert(key.to_owned(), value);
        }
    }

    /// Runs one phase under its deadline share, retrying retryable failures.
    async fn step<T>(
        &mut self,
        phase: Phase,
        mut attempt: impl AsyncFnMut() -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let ctx = self.ctx;
        let name = phase.name();
        ctx.tokens.enter(name);
        ctx.printer
            .phase_started(phase.number(), Phase::ALL.len(), name);
        let weight = phase.weight();
        let share = ctx.deadline.phase_budget(weight, self.remaining_weight);
        self.remaining_weight = self.remaining_weight.saturating_sub(weight);
        let until = tokio::time::Instant::now() + share;
        let started = Instant::now();
        self.current = Some((phase, started));
        let span = tracing::info_span!("phase", phase = name);
        let mut retries = 0;
        let result = async {
            loop {
                match tokio::time::timeout_at(until, attempt()).await {
                    Err(_) => {
                        break Err(Failure::stop(
                            StopReason::BudgetDeadline,
                            format!(
                                "{name} did not finish within its {:.1}s share of the {}s deadline",
                                share.as_secs_f64(),
                                ctx.deadline.total().as_secs_f64()
                            ),
                        ));
                    }
                    Ok(Err(Failure::Mcp(error)))
                        if error.is_retryable() && retries < MAX_RETRIES =>
                    {
                        retries += 1;
                        ctx.printer.warn(&format!(
                            "{name}: {error}; retrying ({retries}/{MAX_RETRIES})"
                        ));
                    }
                    Ok(result) => break result,
                }
            }
        }
        .instrument(span)
        .await;
        // Short runs end before the sampler's next tick: sample at every
        // phase end too, so the peak covers the servers' work.
        ctx.memory.sample_now();
        let (status, error) = match &result {
            Ok(_) => (PhaseStatus::Ok, None),
            Err(failure @ Failure::Stop { .. }) => (PhaseStatus::Stopped, Some(failure.message())),
            Err(failure) => (PhaseStatus::Failed, Some(failure.message())),
        };
        let duration = started.elapsed();
        let tokens = ctx.tokens.phase_used(name);
        self.current = None;
        ctx.printer
            .phase_finished(name, status.as_str(), duration, tokens);
        self.phases.push(PhaseRecord {
            phase,
            duration_ms: duration.as_millis() as u64,
            tokens,
            retries,
            status,
            error,
        });
        result
    }
}

/// The project's test files: MAP's count, or counted now.
async fn test_files(ctx: &Context, counted: Option<usize>) -> Result<usize, Failure> {
    match counted {
        Some(count) => Ok(count),
        None => phase::map::count_test_files(ctx).await,
    }
}

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;
