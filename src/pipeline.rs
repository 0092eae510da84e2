//! The pipeline: the only place that knows the phase order. It prepares a
//! run (repository, project lock, private worktree, servers), runs each
//! phase under its share of the deadline with up to 3 retries on retryable
//! server failures, records every phase, and always cleans up: servers shut
//! down and reaped, worktree removed, record written.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::Instrument as _;

use anyhow::Context as _;
use serde::Serialize;

use crate::budget::{Deadline, Memory, PressureEvent, Tokens};
use crate::forge::Repo;
use crate::intent::Intent;
use crate::mcp::approval::Policy;
use crate::mcp::{Approver, Pool, Role, Servers};
use crate::phase::{self, Context, Failure, StopReason};
use crate::plan::{Plan, Risk};
use crate::printer::Printer;
use crate::settings::Settings;
use crate::state::{self, Project};

/// What to do.
pub enum Mode {
    /// All seven phases.
    Run { command: String },
    /// MAP to PLAN; prints the plan.
    Plan { command: String },
    /// EXECUTE and REVIEW of a saved plan.
    Replay { plan: Box<Plan> },
}

impl Mode {
    fn name(&self) -> &'static str {
        match self {
            Mode::Run { .. } => "run",
            Mode::Plan { .. } => "plan",
            Mode::Replay { .. } => "replay",
        }
    }
}

/// Retries of a phase after a retryable failure.
pub const MAX_RETRIES: u32 = 3;

/// Phase names and their weights in the deadline.
const PHASES: [(&str, u32); 7] = [
    ("MAP", 8),
    ("LOGIC", 12),
    ("MONTE CARLO", 4),
    ("PLAN", 4),
    ("OPTIMIZE", 2),
    ("EXECUTE", 60),
    ("REVIEW", 10),
];

#[derive(Debug, Clone, Serialize)]
pub struct PhaseRecord {
    pub phase: String,
    pub duration_ms: u64,
    pub tokens: usize,
    pub retries: u32,
    /// ok | failed | stopped | skipped
    pub status: String,
    pub error: Option<String>,
}

/// Everything a run leaves behind, written as `record.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub run_id: String,
    pub mode: String,
    pub command: String,
    pub success: bool,
    pub stop_reason: Option<String>,
    pub error: Option<String>,
    pub duration_ms: u64,
    pub total_tokens: usize,
    pub phase_token_budget: usize,
    pub total_token_budget: usize,
    pub peak_memory_mb: u64,
    pub memory_threshold: f64,
    pub memory_events: Vec<PressureEvent>,
    pub plan_id: Option<String>,
    pub branch: Option<String>,
    pub commit: Option<String>,
    /// Push and pull request (absent on dry runs and failed runs).
    pub published: Option<crate::publish::Published>,
    pub dry_run: bool,
    pub phases: Vec<PhaseRecord>,
    pub details: BTreeMap<String, serde_json::Value>,
    pub run_dir: String,
}

/// The result handed back to the command line.
pub struct Finished {
    pub record: Record,
    pub plan: Option<Plan>,
    pub diff: Option<String>,
    pub exit_code: i32,
    pub hint: Option<String>,
}

/// Sets a run up, runs it and cleans up.
pub async fn run(
    settings: Settings,
    mode: Mode,
    printer: Arc<Printer>,
) -> anyhow::Result<Finished> {
    let repo = Repo::open(&settings.repo)?;
    let head = match &settings.publish.base {
        Some(rev) => repo.resolve(rev)?,
        None => repo.head()?,
    };
    let dirty_files = repo.dirty_files()?;
    tracing::debug!(dirty = dirty_files.len(), "repository opened");
    let project = Project::new(&settings.state_home, &settings.repo);
    let lock_printer = printer.clone();
    let _lock = project.lock(Duration::from_secs(600), move || {
        lock_printer.note("waiting for another orch run on this project to finish");
    })?;
    let run_id = state::new_run_id();
    let run_dir = project.run_dir(&run_id);
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("cannot create `{}`", run_dir.display()))?;
    let deadline = Deadline::new(settings.deadline);
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
    let servers =
        Servers::for_settings(&settings, &root).context("cannot find orch's own executable")?;
    for warning in &servers.warnings {
        printer.warn(warning);
    }
    let approver = Arc::new(Approver::new(
        Policy::detect(settings.yes),
        Some(printer.clone()),
    ));
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
    let ((), checked_out) = tokio::join!(
        pool.start_builtin(skipped_roles(&settings, &mode)),
        checkout
    );
    let (repo, worktree) = match checked_out {
        Ok((repo, Ok(worktree))) => (repo, worktree),
        Ok((_, Err(error))) => {
            pool.shutdown().await;
            return Err(error.into());
        }
        Err(error) => {
            pool.shutdown().await;
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
        test_files: tokio::sync::OnceCell::new(),
        settings,
    };
    let mut driver = Driver {
        ctx: &ctx,
        phases: Vec::new(),
        remaining_weight: match &mode {
            Mode::Run { .. } => PHASES.iter().map(|p| p.1).sum(),
            Mode::Plan { .. } => PHASES[..4].iter().map(|p| p.1).sum(),
            Mode::Replay { .. } => PHASES[4..].iter().map(|p| p.1).sum(),
        },
        details: BTreeMap::new(),
        plan: None,
        verdict: None,
    };
    let outcome = {
        let drive = driver.drive(&mode);
        tokio::pin!(drive);
        tokio::select! {
            outcome = &mut drive => outcome,
            _ = interrupted() => Err(Failure::stop(StopReason::Interrupted, "interrupted; nothing was committed")),
        }
    };
    let (phases, details, plan, verdict) =
        (driver.phases, driver.details, driver.plan, driver.verdict);

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
    tracing::debug!(
        shutdown_ms,
        total_ms = cleanup_started.elapsed().as_millis() as u64,
        "servers stopped, worktree removed"
    );

    let (success, stop_reason, error, exit_code, hint) = match &outcome {
        Ok(()) => (true, None, None, 0, None),
        Err(Failure::Input { message, hint }) => (
            false,
            Some("input".to_owned()),
            Some(message.clone()),
            2,
            hint.clone(),
        ),
        Err(Failure::Stop { reason, message }) => {
            let code = if *reason == StopReason::Interrupted {
                130
            } else {
                1
            };
            (
                false,
                Some(reason.as_str().to_owned()),
                Some(message.clone()),
                code,
                stop_hint(*reason),
            )
        }
        Err(Failure::Mcp(e)) => (
            false,
            Some("error".to_owned()),
            Some(e.to_string()),
            1,
            None,
        ),
    };
    let record = Record {
        run_id: ctx.run_id.clone(),
        mode: mode.name().to_owned(),
        command: match &mode {
            Mode::Run { command } | Mode::Plan { command } => command.clone(),
            Mode::Replay { plan } => plan.command.clone(),
        },
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
        published: verdict.as_ref().and_then(|v| v.published.clone()),
        dry_run: ctx.settings.dry_run,
        phases,
        details,
        run_dir: ctx.run_dir.to_string_lossy().into_owned(),
    };
    let text = serde_json::to_string_pretty(&record)?;
    std::fs::write(ctx.run_dir.join("record.json"), text).context("cannot write record.json")?;
    Ok(Finished {
        diff: verdict.map(|v| v.diff),
        record,
        plan,
        exit_code,
        hint,
    })
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

fn stop_hint(reason: StopReason) -> Option<String> {
    match reason {
        StopReason::BudgetTokens => Some(
            "raise --phase-tokens / --total-tokens (or ORCH_PHASE_TOKENS / ORCH_TOTAL_TOKENS)"
                .into(),
        ),
        StopReason::BudgetDeadline => Some("raise --deadline (or ORCH_DEADLINE)".into()),
        StopReason::Approval => {
            Some("run from a terminal to be asked, or pass --yes to approve in advance".into())
        }
        StopReason::Push => Some(
            "the commit is on the local branch; push it yourself (`git push --force REMOTE BRANCH`) or fix the remote and re-run".into(),
        ),
        StopReason::GitHub => Some(
            "check GITHUB_TOKEN (pull-requests: write), --github-repo and GITHUB_API_URL, or pass --no-pr".into(),
        ),
        StopReason::Tests => {
            Some("nothing was committed; `orch plan` shows the plan, `--dry-run` the diff".into())
        }
        _ => None,
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn interrupted() {
    let mut terminate =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match terminate.as_mut() {
                Some(signal) => { signal.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}

struct Driver<'a> {
    ctx: &'a Context,
    phases: Vec<PhaseRecord>,
    remaining_weight: u32,
    details: BTreeMap<String, serde_json::Value>,
    plan: Option<Plan>,
    verdict: Option<phase::review::Verdict>,
}

impl Driver<'_> {
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
        let plan = match (mode, intent) {
            (Mode::Run { command } | Mode::Plan { command }, Some(intent)) => {
                let plan = self.make_plan(command, &intent).await?;
                self.plan = Some(plan.clone());
                if matches!(mode, Mode::Plan { .. }) {
                    return Ok(());
                }
                plan
            }
            (Mode::Replay { plan }, _) => {
                self.plan = Some((**plan).clone());
                phase::plan::save(ctx, plan)?;
                (**plan).clone()
            }
            (Mode::Run { .. } | Mode::Plan { .. }, None) => {
                return Err(Failure::internal("a command without an intent"));
            }
        };
        self.refuse_dirty_targets(&plan)?;
        let schedule = self
            .step("OPTIMIZE", 2, async || {
                phase::optimize::run(ctx, &plan).await
            })
            .await?;
        self.detail("schedule", &schedule);
        let outcome = self
            .step("EXECUTE", 60, async || {
                phase::execute::run(ctx, &plan, &schedule).await
            })
            .await?;
        self.detail("execute", &outcome);
        let phases = self.phases.clone();
        let verdict = self
            .step("REVIEW", 10, async || {
                phase::review::run(ctx, &plan, &schedule, &outcome, &phases).await
            })
            .await?;
        self.detail(
            "review",
            &serde_json::json!({
                "changed_files": verdict.changed_files,
                "syntax": verdict.syntax,
                "new_failures": verdict.new_failures,
            }),
        );
        self.verdict = Some(verdict);
        Ok(())
    }

    async fn make_plan(&mut self, command: &str, intent: &Intent) -> Result<Plan, Failure> {
        let ctx = self.ctx;
        let map = self
            .step("MAP", 8, async || phase::map::run(ctx, intent).await)
            .await?;
        self.detail("map", &map);
        let analysis = self
            .step("LOGIC", 12, async || {
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
        let risk: Risk = self
            .step("MONTE CARLO", 4, async || {
                phase::monte_carlo::run(ctx, &analysis, intent).await
            })
            .await?;
        self.detail("risk", &risk);
        self.step("PLAN", 4, async || {
            phase::plan::run(ctx, command, intent, &analysis, &risk).await
        })
        .await
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
        name: &str,
        weight: u32,
        mut attempt: impl AsyncFnMut() -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let ctx = self.ctx;
        let index = PHASES.iter().position(|p| p.0 == name).unwrap_or(0);
        ctx.tokens.enter(name);
        ctx.printer.phase_started(index + 1, PHASES.len(), name);
        let share = ctx.deadline.phase_budget(weight, self.remaining_weight);
        self.remaining_weight = self.remaining_weight.saturating_sub(weight);
        let until = tokio::time::Instant::now() + share;
        let started = Instant::now();
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
            Ok(_) => ("ok", None),
            Err(failure @ Failure::Stop { .. }) => ("stopped", Some(failure.message())),
            Err(failure) => ("failed", Some(failure.message())),
        };
        let duration = started.elapsed();
        let tokens = ctx.tokens.phase_used(name);
        ctx.printer.phase_finished(name, status, duration, tokens);
        self.phases.push(PhaseRecord {
            phase: name.to_owned(),
            duration_ms: duration.as_millis() as u64,
            tokens,
            retries,
            status: status.to_owned(),
            error,
        });
        result
    }
}
