//! `orch mcp`: orch as an MCP server (stdio) for coding agents, on the
//! project it is started in (or `--repo`).
//!
//! Tools: `refactors` (the command language), `plan` (read-only: a command
//! → the plan, its risk, what is left alone and a page of the diff),
//! `apply` (destructive: a command or a plan id run end to end, the change
//! applied to the checkout, committed to orch's branch, or pushed with a
//! pull request) and `explain` (why each site of a plan is edited or left
//! alone). Each call is one orch run, with the same guarantees as on the
//! command line. A refusal is an error result whose text is JSON with a
//! stable `code`, the message and orch's hint. Phases are reported as MCP
//! progress notifications; `notifications/cancelled` stops the run as an
//! interrupt does (servers stopped, worktree removed, nothing committed).
//!
//! stdout is the protocol: nothing else is ever printed there.

use std::path::PathBuf;
use std::sync::Arc;

use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::model::{ProgressNotificationParam, ServerCapabilities, ServerConfig};
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::cli::{GlobalArgs, TestsMode};
use crate::exit::ExitCode;
use crate::pipeline::{Finished, Mode};
use crate::plan::Plan;
use crate::printer::{Printer, Progress};
use crate::record::StopReason;
use crate::settings::Settings;

/// Where `apply` puts the verified change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Target {
    /// Written into the working tree, uncommitted (all or nothing; every
    /// planned file must still be as the plan found it).
    #[default]
    Checkout,
    /// Committed to orch's branch `orch/<slug>-<plan id>`, not pushed.
    Branch,
    /// Committed, pushed, and a pull request opened or updated.
    PullRequest,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct PlanArgs {
    /// A command in orch's language (see the `refactors` tool), e.g.
    /// "rename function make_str to make_text".
    pub command: String,
    /// First line of the diff to return [default: 0].
    #[serde(default)]
    pub diff_offset: usize,
    /// Lines of the diff to return [default: 200].
    #[serde(default)]
    pub diff_lines: Option<usize>,
    /// Renames: also edit the sites orch cannot resolve with confidence.
    #[serde(default)]
    pub include_uncertain: bool,
    /// Renames: also edit mentions in strings and comments.
    #[serde(default)]
    pub include_strings: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ApplyArgs {
    /// A command in orch's language; or give `plan_id`.
    #[serde(default)]
    pub command: Option<String>,
    /// The id (or its first 8 or more characters) of a plan `plan` made.
    #[serde(default)]
    pub plan_id: Option<String>,
    /// Where the verified change goes [default: checkout].
    #[serde(default)]
    pub to: Target,
    /// Which tests run: `affected` (default), `all` or `none`.
    #[serde(default)]
    pub tests: Option<String>,
    /// Renames: also edit the sites orch cannot resolve with confidence.
    #[serde(default)]
    pub include_uncertain: bool,
    /// Apply even though the plan leaves uncertain sites alone (without
    /// this or `include_uncertain`, such a plan is refused with
    /// `uncertain_sites`, listing them).
    #[serde(default)]
    pub accept_uncertain: bool,
    /// Renames: also edit mentions in strings and comments.
    #[serde(default)]
    pub include_strings: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ExplainArgs {
    /// The plan's id (or its first 8 or more characters).
    pub plan_id: String,
    /// Only sites in this file.
    #[serde(default)]
    pub path: Option<String>,
    /// Only sites on this line (with `path`).
    #[serde(default)]
    pub line: Option<usize>,
}

/// A page of a diff.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct DiffPage {
    pub text: String,
    pub offset: usize,
    pub total_lines: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
}

/// A place left alone, and why.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct LeftAlone {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub why: String,
}

/// A request orch's grammar did not parse, and the command the client's
/// model restated it as (which it did parse).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Translated {
    pub from: String,
    pub command: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PlanResult {
    /// Set when the command was restated through the client's model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translated: Option<Translated>,
    pub plan_id: String,
    pub summary: String,
    pub edits: usize,
    pub files: Vec<String>,
    pub p_tests_pass: Option<f64>,
    pub p_on_time: Option<f64>,
    pub risk: Option<String>,
    /// Uncertain sites first (a person should check them), then mentions.
    pub left_alone: Vec<LeftAlone>,
    pub left_alone_total: usize,
    /// Renames: every code occurrence of the old name, accounted for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounting: Option<crate::protocol::code::Accounting>,
    pub diff: DiffPage,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ApplyResult {
    /// Set when the command was restated through the client's model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub translated: Option<Translated>,
    pub plan_id: Option<String>,
    pub summary: String,
    /// `checkout`, `branch` or `pull_request`.
    pub to: Target,
    /// Files written into the checkout (`to: checkout`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<String>,
    /// Why nothing was pushed or opened, if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_published: Option<String>,
    pub tests_run: usize,
    pub tests_passed: usize,
    pub p_tests_pass: Option<f64>,
    pub p_on_time: Option<f64>,
    pub duration_ms: u64,
    pub tokens: usize,
}

/// One site of a plan and what orch did with it.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Explained {
    pub path: String,
    pub line: usize,
    pub column: usize,
    /// `edited`, `uncertain` or `mention`.
    pub status: String,
    pub why: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ExplainResult {
    pub plan_id: String,
    pub command: String,
    pub sites: Vec<Explained>,
    pub total: usize,
}

/// A refusal, as the error result's text (JSON).
#[derive(Debug, Serialize)]
struct Refusal {
    code: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

fn refuse(code: &str, message: impl Into<String>, hint: Option<String>) -> String {
    serde_json::to_string(&Refusal {
        code: code.to_owned(),
        message: message.into(),
        hint,
    })
    .unwrap_or_default()
}

/// The stable code of why a run stopped. Input errors are told apart by
/// what they say (one place, tested).
pub(crate) fn refusal_code(reason: Option<StopReason>, message: &str) -> &'static str {
    match reason {
        Some(StopReason::BudgetTokens) => "budget.tokens",
        Some(StopReason::BudgetDeadline) => "budget.deadline",
        Some(StopReason::Tests) => "tests_failed",
        Some(StopReason::Review) => "review",
        Some(StopReason::Approval) => "approval",
        Some(StopReason::Push) => "push",
        Some(StopReason::GitHub) => "github",
        Some(StopReason::Interrupted) => "cancelled",
        Some(StopReason::Error) => "error",
        Some(StopReason::Input) | None => {
            let m = message.to_lowercase();
            if m.contains("does not understand") {
                "not_understood"
            } else if m.contains("ambiguous") || m.contains("more than one") {
                "ambiguous_name"
            } else if m.contains("would clash") || m.contains("clash") {
                "name_clash"
            } else if m.contains("no longer applies")
                || m.contains("changed since the plan")
                || m.contains("uncommitted changes")
            {
                "drift"
            } else if m.contains("no module-level")
                || m.contains("no symbol")
                || m.contains("no method")
                || m.contains("no class")
                || m.contains("not found")
            {
                "unknown_name"
            } else {
                "input"
            }
        }
    }
}

#[derive(Clone)]
pub(crate) struct Agent {
    /// The project directory (as given; orch canonicalises it per call).
    repo: Option<PathBuf>,
    /// Cancelled when the client goes: runs in progress stop.
    shutdown: tokio_util::sync::CancellationToken,
    /// The threads of the runs in progress, joined before orch exits (so
    /// each cleans up after itself).
    runs: Arc<std::sync::Mutex<Vec<std::thread::JoinHandle<()>>>>,
    tool_router: ToolRouter<Self>,
}

fn lines_of(diff: &str, offset: usize, limit: usize) -> DiffPage {
    let lines: Vec<&str> = diff.lines().collect();
    let end = (offset + limit.max(1)).min(lines.len());
    let start = offset.min(end);
    DiffPage {
        text: lines[start..end].join("\n"),
        offset: start,
        total_lines: lines.len(),
        next_offset: (end < lines.len()).then_some(end),
    }
}

fn summary(plan: &Plan) -> String {
    let edits: usize = plan.edits().map(|(_, _, e)| e.len()).sum();
    let files = plan.edits().count();
    format!(
        "plan {}: {} — {edits} edits in {files} files",
        plan.short_id(),
        plan.intent.describe()
    )
}

fn left_alone(plan: &Plan) -> Vec<LeftAlone> {
    plan.report
        .uncertain
        .iter()
        .chain(&plan.report.mentions)
        .map(|s| LeftAlone {
            path: s.file.clone(),
            line: s.line,
            column: s.column,
            why: s.note.clone(),
        })
        .collect()
}

impl Agent {
    fn args(&self) -> GlobalArgs {
        GlobalArgs {
            repo: self.repo.clone(),
            yes: true,
            json: true,
            quiet: true,
            ..GlobalArgs::default()
        }
    }

    /// Runs orch once for a call: progress as MCP notifications, cancelled
    /// with the request. A refusal as the error text.
    async fn run(
        &self,
        args: GlobalArgs,
        mode: Mode,
        context: &RequestContext<RoleServer>,
    ) -> Result<Finished, String> {
        let mut settings = Settings::resolve(&args, &|name| std::env::var(name).ok())
            .map_err(|e| refuse("input", e.to_string(), None))?;
        let printer = Arc::new(Printer::new(true, true));
        // A repository's own .mcp.json is never trusted on an agent's
        // behalf: `orch servers trust` first.
        if let Err(error) = settings.check_repo_config(&printer, true) {
            let hint = error.hint(&settings.repo);
            return Err(refuse("untrusted_config", error.to_string(), hint));
        }
        if let Some(token) = context.meta.get_progress_token() {
            // One notification per phase, in order (one task sends them):
            // `progress` counts the phases started, `total` is how many the
            // run has.
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<ProgressNotificationParam>();
            let peer = context.peer.clone();
            tokio::spawn(async move {
                while let Some(param) = rx.recv().await {
                    let _ = peer.notify_progress(param).await;
                }
            });
            printer.observe(move |progress| {
                if let Progress::Phase {
                    index,
                    total,
                    phase,
                } = progress
                {
                    let mut param = ProgressNotificationParam::new(token.clone(), *index as f64);
                    param.total = Some(*total as f64);
                    param.message = Some(phase.clone());
                    let _ = tx.send(param);
                }
            });
        }
        // The run gets a runtime of its own on its own thread, as on the
        // command line (its future is not `Send`).
        let (tx, rx) = tokio::sync::oneshot::channel();
        let cancel = self.shutdown.child_token();
        let (request, run) = (context.ct.clone(), cancel.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = request.cancelled() => run.cancel(),
                _ = run.cancelled() => {}
            }
        });
        let done = cancel.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build();
            let result = match runtime {
                Ok(runtime) => runtime.block_on(crate::pipeline::run_cancellable(
                    settings, mode, printer, cancel,
                )),
                Err(error) => Err(anyhow::Error::new(error)),
            };
            let _ = tx.send(result);
        });
        if let Ok(mut runs) = self.runs.lock() {
            runs.retain(|t| !t.is_finished());
            runs.push(thread);
        }
        let answer = rx.await;
        // Ends the watcher above.
        done.cancel();
        let finished = answer
            .map_err(|_| refuse("error", "the run's thread ended without an answer", None))?
            .map_err(|e| refuse("error", format!("{e:#}"), None))?;
        if !finished.record.success {
            let message = finished.record.error.clone().unwrap_or_default();
            let code = refusal_code(finished.record.stop_reason, &message);
            return Err(refuse(code, message, finished.hint.clone()));
        }
        Ok(finished)
    }

    /// A command orch's grammar does not parse, restated in orch's
    /// language by the client's model (MCP sampling) when the client
    /// offers it: the grammar and the project's closest names go with the
    /// request, and the answer must parse, or nothing runs. `None`: the
    /// command parses as it is, or the client cannot sample (the run then
    /// refuses with the closest commands).
    #[allow(deprecated)] // sampling/createMessage: what clients offer today
    async fn restate(
        &self,
        command: &str,
        context: &RequestContext<RoleServer>,
    ) -> Result<Option<String>, String> {
        if crate::intent::parse(command).is_ok() {
            return Ok(None);
        }
        let samples = context
            .peer
            .peer_info()
            .is_some_and(|info| info.capabilities.sampling.is_some());
        if !samples {
            return Ok(None);
        }
        let symbols = self.candidate_symbols(command);
        let forms: Vec<String> = crate::intent::FORMS
            .iter()
            .map(|f| format!("- {f}"))
            .collect();
        let prompt = format!(
            "Restate this refactoring request as one command of the language below. Answer with the command alone, on one line.\n\nCommand forms:\n{}\n\nNames defined in this project that the request may mean: {}\n\nRequest: {command}",
            forms.join("\n"),
            if symbols.is_empty() {
                "(none found)".to_owned()
            } else {
                symbols.join(", ")
            }
        );
        let mut params = rmcp::model::CreateMessageRequestParams::new(
            vec![rmcp::model::SamplingMessage::user_text(prompt)],
            200,
        );
        params.system_prompt = Some(
            "You translate requests into orch's refactoring command language. You answer with exactly one command and nothing else."
                .into(),
        );
        params.temperature = Some(0.0);
        let answer = context.peer.create_message(params).await.map_err(|e| {
            refuse(
                "not_understood",
                format!("orch does not understand `{command}`, and asking the client's model to restate it failed: {e}"),
                Some(format!("write it as one of: {}", crate::intent::FORMS.join("; "))),
            )
        })?;
        let text = answer
            .message
            .content
            .first()
            .and_then(|block| block.as_text())
            .map(|t| t.text.clone())
            .unwrap_or_default();
        let restated = restated_command(&text);
        match crate::intent::parse(&restated) {
            Ok(_) => Ok(Some(restated)),
            Err(_) => Err(refuse(
                "not_understood",
                format!(
                    "orch does not understand `{command}`; the client's model restated it as `{}`, which orch does not understand either: nothing was run",
                    restated.chars().take(200).collect::<String>()
                ),
                Some(format!(
                    "write it as one of: {}",
                    crate::intent::FORMS.join("; ")
                )),
            )),
        }
    }

    /// The project's module-level names closest to the request's words.
    fn candidate_symbols(&self, command: &str) -> Vec<String> {
        let Some(jail) = self
            .repo
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .and_then(|root| crate::servers::Jail::new(&root).ok())
        else {
            return Vec::new();
        };
        let mut names: Vec<String> = Vec::new();
        let words = command
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .filter(|w| w.len() >= 3)
            .take(12);
        for word in words {
            let last = word.rsplit('.').next().unwrap_or(word);
            for similar in crate::servers::code::similar_names(&jail, last, 3).names {
                if !names.contains(&similar.name) {
                    names.push(similar.name);
                }
            }
        }
        names.truncate(20);
        names
    }

    fn stored_plan(&self, id: &str) -> Result<(PathBuf, Plan), String> {
        let settings = Settings::resolve(&self.args(), &|name| std::env::var(name).ok())
            .map_err(|e| refuse("input", e.to_string(), None))?;
        let project = crate::state::Project::new(&settings.state_home, &settings.repo);
        let dir = project.dir.join("plans");
        let id = id.trim();
        if id.len() < 8 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(refuse(
                "unknown_plan",
                format!("`{id}` is not a plan id (8 or more hex digits)"),
                Some("use the plan_id the `plan` tool returned".into()),
            ));
        }
        let matches: Vec<PathBuf> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "json")
                    && p.file_stem()
                        .and_then(|s| s.to_str())
                        .is_some_and(|s| s.starts_with(id))
            })
            .collect();
        let [path] = matches.as_slice() else {
            return Err(refuse(
                if matches.is_empty() {
                    "unknown_plan"
                } else {
                    "ambiguous_plan"
                },
                format!("{} plans of this project start with `{id}`", matches.len()),
                Some("make the plan with the `plan` tool first, or give more of its id".into()),
            ));
        };
        let plan = crate::commands::run::load_plan(path)
            .map_err(|e| refuse("input", format!("{e:#}"), None))?;
        Ok((path.clone(), plan))
    }
}

#[tool_router]
impl Agent {
    pub(crate) fn new(repo: Option<PathBuf>) -> Self {
        Agent {
            repo,
            shutdown: tokio_util::sync::CancellationToken::new(),
            runs: Arc::default(),
            tool_router: Self::tool_router(),
        }
    }

    /// orch's command language: every refactor it makes, with examples. Read this first.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn refactors(&self) -> String {
        let mut text = String::from(
            "orch makes one refactor per call, deterministically (the same words on the same commit give the same plan id). Commands:\n",
        );
        for form in crate::intent::FORMS {
            text.push_str(&format!("- {form}\n"));
        }
        text.push_str(
            "\nExamples:\n\
             - rename function make_str to make_text\n\
             - rename method Cart.total to grand_total\n\
             - rename parameter cents of describe to amount\n\
             - replace `os.path.join($A, $B)` with `Path($A) / $B` in src/\n\
             - add parameter strict=False to parse\n\
             - make fetch_prices async\n\
             - move function helper from util.py to shop/helpers.py\n\
             - remove unused imports in shop/\n\
             - safe delete function _old_helper\n\
             - move parameter label before cents in describe\n\
             - swap the parameters of Cart.add\n\
             - rename attribute Cart.items to lines\n\
             - inline variable total in describe\n\
             - inline function make_str\n\
             - extract lines 12-18 of shop/cart.py into method receipt_lines\n\
             - extract `price.cents * qty` in line_total into function cost\n\
             \nUse `plan` to see the change (read-only), `apply` to make it: the selected tests run on the change before it goes anywhere. Refusals carry a `code` (ambiguous_name, unknown_name, name_clash, not_understood, uncertain_sites, drift, tests_failed, budget.tokens, budget.deadline, review, cancelled, ...) and a hint.\n",
        );
        text
    }

    /// Plan a refactor: the plan's id, a summary, the risk, what is left alone and why, and a page of the diff. Changes nothing.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn plan(
        &self,
        Parameters(args): Parameters<PlanArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<PlanResult>, String> {
        let global = GlobalArgs {
            dry_run: true,
            tests: TestsMode::Affected,
            include_uncertain: args.include_uncertain,
            include_strings: args.include_strings,
            ..self.args()
        };
        let restated = self.restate(&args.command, &context).await?;
        let command = restated.clone().unwrap_or_else(|| args.command.clone());
        let finished = self.run(global, Mode::Run { command }, &context).await?;
        let plan = finished
            .plan
            .ok_or_else(|| refuse("error", "the run made no plan", None))?;
        let left = left_alone(&plan);
        let total = left.len();
        Ok(Json(PlanResult {
            translated: restated.map(|command| Translated {
                from: args.command.clone(),
                command,
            }),
            plan_id: plan.id.clone(),
            summary: summary(&plan),
            edits: plan.edits().map(|(_, _, e)| e.len()).sum(),
            files: plan
                .edits()
                .map(|(f, _, _)| f.to_owned())
                .chain(plan.creates().map(|(f, _)| f.to_owned()))
                .chain(plan.deletes().map(|(f, _)| f.to_owned()))
                .collect(),
            p_tests_pass: plan.risk.as_ref().map(|r| r.p_tests_pass),
            p_on_time: plan.risk.as_ref().map(|r| r.p_on_time),
            risk: plan.risk.as_ref().map(|r| r.level.clone()),
            left_alone: left.into_iter().take(50).collect(),
            left_alone_total: total,
            accounting: plan.report.accounting,
            diff: lines_of(
                finished.diff.as_deref().unwrap_or(""),
                args.diff_offset,
                args.diff_lines.unwrap_or(200),
            ),
        }))
    }

    /// Make a refactor (a command or a plan id) end to end: edit in a private worktree, run the tests it can affect, review, then write it into the working tree (default), commit it to orch's branch, or push it and open a pull request.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn apply(
        &self,
        Parameters(args): Parameters<ApplyArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<ApplyResult>, String> {
        let tests = match args.tests.as_deref() {
            None | Some("affected") => TestsMode::Affected,
            Some("all") => TestsMode::All,
            Some("none") => TestsMode::None,
            Some(other) => {
                return Err(refuse(
                    "input",
                    format!("tests: `{other}` is not affected, all or none"),
                    None,
                ));
            }
        };
        let global = GlobalArgs {
            apply: args.to == Target::Checkout,
            no_push: args.to == Target::Branch,
            tests,
            include_uncertain: args.include_uncertain,
            include_strings: args.include_strings,
            ..self.args()
        };
        let mut translated = None;
        let plan = match (&args.command, &args.plan_id) {
            (Some(command), None) => {
                let restated = self.restate(command, &context).await?;
                translated = restated.clone().map(|to| Translated {
                    from: command.clone(),
                    command: to,
                });
                // Planned first (MAP to PLAN), so that uncertain sites are
                // known before anything is made.
                let planning = GlobalArgs {
                    include_uncertain: args.include_uncertain,
                    include_strings: args.include_strings,
                    ..self.args()
                };
                let command = restated.unwrap_or_else(|| command.clone());
                self.run(planning, Mode::Plan { command }, &context)
                    .await?
                    .plan
                    .ok_or_else(|| refuse("error", "the run made no plan", None))?
            }
            (None, Some(id)) => self.stored_plan(id)?.1,
            _ => {
                return Err(refuse("input", "give either `command` or `plan_id`", None));
            }
        };
        if !plan.report.uncertain.is_empty() && !args.include_uncertain && !args.accept_uncertain {
            let listed: Vec<String> = plan
                .report
                .uncertain
                .iter()
                .take(20)
                .map(|s| format!("  {}:{}:{}: {}", s.file, s.line, s.column, s.note))
                .collect();
            return Err(refuse(
                "uncertain_sites",
                format!(
                    "plan {} leaves {} site(s) orch could not resolve with confidence:\n{}",
                    plan.short_id(),
                    plan.report.uncertain.len(),
                    listed.join("\n")
                ),
                Some(format!(
                    "check them, then apply with accept_uncertain (left as they are) or include_uncertain (edited too); plan_id {}",
                    plan.id
                )),
            ));
        }
        let mode = Mode::Replay {
            plan: Box::new(plan),
        };
        let finished = self.run(global, mode, &context).await?;
        let record = &finished.record;
        let applied: Vec<String> = record
            .details
            .get("applied")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let after = record.details.get("execute").and_then(|e| e.get("after"));
        let count = |key: &str| {
            after
                .and_then(|a| a.get(key))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0) as usize
        };
        let run = count("passed") + count("failed") + count("errors");
        let published = record.published.as_ref();
        Ok(Json(ApplyResult {
            translated,
            plan_id: record.plan_id.clone(),
            summary: finished.plan.as_ref().map(summary).unwrap_or_default(),
            to: args.to,
            applied,
            branch: record.branch.clone(),
            commit: record.commit.clone(),
            pull_request: published
                .and_then(|p| p.pull_request.as_ref())
                .map(|p| p.url.clone()),
            not_published: published.and_then(|p| p.skipped.clone()),
            tests_run: run,
            tests_passed: count("passed"),
            p_tests_pass: finished
                .plan
                .as_ref()
                .and_then(|p| p.risk.as_ref())
                .map(|r| r.p_tests_pass),
            p_on_time: finished
                .plan
                .as_ref()
                .and_then(|p| p.risk.as_ref())
                .map(|r| r.p_on_time),
            duration_ms: record.duration_ms,
            tokens: record.total_tokens,
        }))
    }

    /// For a plan: every site, and why it is edited, uncertain (left alone) or only a mention (left alone).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn explain(
        &self,
        Parameters(args): Parameters<ExplainArgs>,
    ) -> Result<Json<ExplainResult>, String> {
        let (_, plan) = self.stored_plan(&args.plan_id)?;
        let mut sites: Vec<Explained> = Vec::new();
        for (file, _, edits) in plan.edits() {
            for edit in edits {
                sites.push(Explained {
                    path: file.to_owned(),
                    line: edit.line,
                    column: 0,
                    status: "edited".into(),
                    why: format!("`{}` -> `{}`", one_line(&edit.old), one_line(&edit.new)),
                });
            }
        }
        for (status, list) in [
            ("uncertain", &plan.report.uncertain),
            ("mention", &plan.report.mentions),
        ] {
            for site in list {
                sites.push(Explained {
                    path: site.file.clone(),
                    line: site.line,
                    column: site.column,
                    status: status.into(),
                    why: site.note.clone(),
                });
            }
        }
        sites.retain(|s| {
            args.path.as_deref().is_none_or(|p| s.path == p)
                && args.line.is_none_or(|l| s.line == l)
        });
        let total = sites.len();
        sites.truncate(200);
        Ok(Json(ExplainResult {
            plan_id: plan.id.clone(),
            command: plan.command.clone(),
            sites,
            total,
        }))
    }
}

/// The command in a model's answer: its first non-empty line, without
/// quotes, backticks or a `command:` label.
fn restated_command(answer: &str) -> String {
    let line = answer
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("```"))
        .unwrap_or("");
    let line = line
        .strip_prefix("Command:")
        .or_else(|| line.strip_prefix("command:"))
        .unwrap_or(line)
        .trim();
    let line = line.strip_prefix("- ").unwrap_or(line);
    let quoted = line.len() >= 2
        && ((line.starts_with('"') && line.ends_with('"'))
            || (line.starts_with('\'') && line.ends_with('\''))
            || (line.starts_with('`')
                && line.ends_with('`')
                && !line[1..line.len() - 1].contains('`')));
    if quoted {
        line[1..line.len() - 1].trim().to_owned()
    } else {
        line.to_owned()
    }
}

fn one_line(text: &str) -> String {
    let line: String = text.lines().next().unwrap_or("").chars().take(80).collect();
    if line.len() < text.len() {
        format!("{line}…")
    } else {
        line
    }
}

#[tool_handler(router = self.tool_router, name = "orch")]
impl ServerHandler for Agent {
    fn get_info(&self) -> ServerConfig {
        let mut info = ServerConfig::default();
        info.capabilities = ServerCapabilities::builder().enable_tools().build();
        info.instructions = Some(
            "orch makes refactors (renames, moves, structural replace, signature changes, async conversion) with a guarantee: every site resolved, the affected tests run, the change reviewed. Call `refactors` to learn the command language, `plan` to see a change, `apply` to make it."
                .into(),
        );
        info
    }
}

/// `orch mcp`: serves until the client closes stdin.
pub(crate) async fn serve(global: &GlobalArgs) -> ExitCode {
    let agent = Agent::new(global.repo.clone());
    let (shutdown, runs) = (agent.shutdown.clone(), agent.runs.clone());
    let transport = (tokio::io::stdin(), tokio::io::stdout());
    let served = match agent.serve(transport).await {
        Ok(service) => service
            .waiting()
            .await
            .map(|_| ())
            .map_err(anyhow::Error::new),
        Err(error) => Err(anyhow::Error::new(error)),
    };
    // The client is gone: runs in progress stop as on an interrupt, and
    // clean up before orch exits.
    shutdown.cancel();
    let threads: Vec<_> = runs
        .lock()
        .map(|mut r| r.drain(..).collect())
        .unwrap_or_default();
    let _ = tokio::task::spawn_blocking(move || {
        for thread in threads {
            let _ = thread.join();
        }
    })
    .await;
    match served {
        Ok(()) => ExitCode::Done,
        Err(error) => {
            eprintln!("error: orch mcp: {error:#}");
            ExitCode::Stopped
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_have_stable_codes() {
        let input = Some(StopReason::Input);
        for (message, code) in [
            ("orch does not understand `frobnicate x`", "not_understood"),
            (
                "`make_str` is ambiguous: defined in a.py and b.py",
                "ambiguous_name",
            ),
            ("renaming `a` to `b` would clash:\n  a.py:1", "name_clash"),
            ("the plan no longer applies: these files changed", "drift"),
            (
                "no module-level function named `x` in this project",
                "unknown_name",
            ),
            ("something else", "input"),
        ] {
            assert_eq!(refusal_code(input, message), code, "{message}");
        }
        assert_eq!(refusal_code(Some(StopReason::Tests), ""), "tests_failed");
        assert_eq!(
            refusal_code(Some(StopReason::BudgetTokens), ""),
            "budget.tokens"
        );
        assert_eq!(refusal_code(Some(StopReason::Interrupted), ""), "cancelled");
    }

    #[test]
    fn a_models_answer_is_read_as_one_command() {
        for (answer, command) in [
            ("rename function a to b", "rename function a to b"),
            ("  `rename function a to b`\n", "rename function a to b"),
            ("```\nrename function a to b\n```", "rename function a to b"),
            (
                "Command: \"rename function a to b\"",
                "rename function a to b",
            ),
            (
                "replace `f($A)` with `g($A)`",
                "replace `f($A)` with `g($A)`",
            ),
            ("", ""),
        ] {
            assert_eq!(restated_command(answer), command, "{answer:?}");
        }
    }

    #[test]
    fn diffs_are_paged_by_line() {
        let diff = (0..10)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let page = lines_of(&diff, 3, 4);
        assert_eq!(page.text, "line 3\nline 4\nline 5\nline 6");
        assert_eq!(
            (page.offset, page.total_lines, page.next_offset),
            (3, 10, Some(7))
        );
        let last = lines_of(&diff, 8, 4);
        assert_eq!(last.next_offset, None);
        assert_eq!(lines_of(&diff, 50, 4).text, "");
    }
}
