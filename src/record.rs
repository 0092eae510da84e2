//! The record of a run: what `record.json` and `--json` say about it. The
//! phases, their statuses and the reasons a run stops are enums here,
//! serialised to the strings those documents have always had; the
//! snapshot test below pins them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::budget::PressureEvent;
use crate::exit::ExitCode;
use crate::github::{Operation, PullRequest};

/// The seven phases, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum Phase {
    #[serde(rename = "MAP")]
    Map,
    #[serde(rename = "LOGIC")]
    Logic,
    #[serde(rename = "MONTE CARLO")]
    MonteCarlo,
    #[serde(rename = "PLAN")]
    Plan,
    #[serde(rename = "OPTIMIZE")]
    Optimize,
    #[serde(rename = "EXECUTE")]
    Execute,
    #[serde(rename = "REVIEW")]
    Review,
}

impl Phase {
    pub(crate) const ALL: [Phase; 7] = [
        Phase::Map,
        Phase::Logic,
        Phase::MonteCarlo,
        Phase::Plan,
        Phase::Optimize,
        Phase::Execute,
        Phase::Review,
    ];

    /// The phases that make a plan (`orch plan`).
    pub(crate) const PLANNING: &[Phase] =
        &[Phase::Map, Phase::Logic, Phase::MonteCarlo, Phase::Plan];

    /// The phases that carry a plan out (`orch replay`).
    pub(crate) const CARRYING_OUT: &[Phase] = &[Phase::Optimize, Phase::Execute, Phase::Review];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Phase::Map => "MAP",
            Phase::Logic => "LOGIC",
            Phase::MonteCarlo => "MONTE CARLO",
            Phase::Plan => "PLAN",
            Phase::Optimize => "OPTIMIZE",
            Phase::Execute => "EXECUTE",
            Phase::Review => "REVIEW",
        }
    }

    /// Its weight in the sharing of the deadline.
    pub(crate) fn weight(self) -> u32 {
        match self {
            Phase::Map => 8,
            Phase::Logic => 12,
            Phase::MonteCarlo => 12,
            Phase::Plan => 4,
            Phase::Optimize => 2,
            Phase::Execute => 52,
            Phase::Review => 10,
        }
    }

    /// 1-based position among the seven.
    pub(crate) fn number(self) -> usize {
        Phase::ALL.iter().position(|p| *p == self).unwrap_or(0) + 1
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PhaseStatus {
    Ok,
    Failed,
    Stopped,
}

impl PhaseStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PhaseStatus::Ok => "ok",
            PhaseStatus::Failed => "failed",
            PhaseStatus::Stopped => "stopped",
        }
    }
}

impl std::fmt::Display for PhaseStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a run stopped short of its goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum StopReason {
    /// The user's input (command, plan, configuration) cannot be carried out.
    #[serde(rename = "input")]
    Input,
    #[serde(rename = "budget.tokens")]
    BudgetTokens,
    #[serde(rename = "budget.deadline")]
    BudgetDeadline,
    #[serde(rename = "tests")]
    Tests,
    #[serde(rename = "review")]
    Review,
    #[serde(rename = "approval")]
    Approval,
    #[serde(rename = "push")]
    Push,
    #[serde(rename = "github")]
    GitHub,
    /// A server or orch itself failed.
    #[serde(rename = "error")]
    Error,
    #[serde(rename = "interrupted")]
    Interrupted,
}

impl StopReason {
    #[cfg(test)]
    pub(crate) const ALL: [StopReason; 10] = [
        StopReason::Input,
        StopReason::BudgetTokens,
        StopReason::BudgetDeadline,
        StopReason::Tests,
        StopReason::Review,
        StopReason::Approval,
        StopReason::Push,
        StopReason::GitHub,
        StopReason::Error,
        StopReason::Interrupted,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StopReason::Input => "input",
            StopReason::BudgetTokens => "budget.tokens",
            StopReason::BudgetDeadline => "budget.deadline",
            StopReason::Tests => "tests",
            StopReason::Review => "review",
            StopReason::Approval => "approval",
            StopReason::Push => "push",
            StopReason::GitHub => "github",
            StopReason::Error => "error",
            StopReason::Interrupted => "interrupted",
        }
    }

    /// The exit code of a run that stopped for this reason.
    pub(crate) fn exit_code(self) -> ExitCode {
        match self {
            StopReason::Input => ExitCode::Usage,
            StopReason::Interrupted => ExitCode::Interrupted,
            _ => ExitCode::Stopped,
        }
    }

    /// What the user can do about it.
    pub(crate) fn hint(self) -> Option<&'static str> {
        match self {
            StopReason::BudgetTokens => Some(
                "raise --phase-tokens / --total-tokens (or ORCH_PHASE_TOKENS / ORCH_TOTAL_TOKENS)",
            ),
            StopReason::BudgetDeadline => Some("raise --deadline (or ORCH_DEADLINE)"),
            StopReason::Approval => {
                Some("run from a terminal to be asked, or pass --yes to approve in advance")
            }
            StopReason::Push => Some(
                "the commit is on the local branch; push it yourself (`git push --force REMOTE BRANCH`) or fix the remote and re-run",
            ),
            StopReason::GitHub => Some(
                "check GITHUB_TOKEN (pull-requests: write), --github-repo and GITHUB_API_URL, or pass --no-pr",
            ),
            StopReason::Tests => {
                Some("nothing was committed; `orch plan` shows the plan, `--dry-run` the diff")
            }
            StopReason::Input
            | StopReason::Review
            | StopReason::Error
            | StopReason::Interrupted => None,
        }
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a run was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RunMode {
    /// All seven phases.
    Run,
    /// MAP to PLAN.
    Plan,
    /// OPTIMIZE to REVIEW of a saved plan.
    Replay,
}

impl RunMode {
    /// Its name in records (`run`, `plan`, `replay`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunMode::Run => "run",
            RunMode::Plan => "plan",
            RunMode::Replay => "replay",
        }
    }

    /// The phases this mode runs.
    pub(crate) fn phases(self) -> &'static [Phase] {
        match self {
            RunMode::Run => &Phase::ALL,
            RunMode::Plan => Phase::PLANNING,
            RunMode::Replay => Phase::CARRYING_OUT,
        }
    }
}

/// One phase of a run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PhaseRecord {
    pub phase: Phase,
    pub duration_ms: u64,
    pub tokens: usize,
    pub retries: u32,
    pub status: PhaseStatus,
    pub error: Option<String>,
}

/// What publishing did.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Published {
    /// The remote pushed to, if any.
    pub remote: Option<String>,
    /// Its URL, credentials removed.
    pub remote_url: Option<String>,
    pub pushed: bool,
    /// `created`, `updated`, `closed` or `none`.
    pub operation: Option<Operation>,
    pub pull_request: Option<PullRequest>,
    pub draft: bool,
    /// Why the push or the pull request was skipped.
    pub skipped: Option<String>,
}

/// Everything a run leaves behind, written as `record.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Record {
    pub run_id: String,
    pub mode: RunMode,
    pub command: String,
    pub success: bool,
    pub stop_reason: Option<StopReason>,
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
    pub published: Option<Published>,
    pub dry_run: bool,
    pub phases: Vec<PhaseRecord>,
    pub details: BTreeMap<String, serde_json::Value>,
    pub run_dir: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_serialise_to_their_names() {
        for phase in Phase::ALL {
            assert_eq!(serde_json::to_value(phase).unwrap(), phase.name());
        }
        for reason in StopReason::ALL {
            assert_eq!(serde_json::to_value(reason).unwrap(), reason.as_str());
        }
        for mode in [RunMode::Run, RunMode::Plan, RunMode::Replay] {
            assert_eq!(serde_json::to_value(mode).unwrap(), mode.as_str());
        }
        for status in [PhaseStatus::Ok, PhaseStatus::Failed, PhaseStatus::Stopped] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        let weights: u32 = Phase::ALL.iter().map(|p| p.weight()).sum();
        assert_eq!(weights, 100);
        assert_eq!(
            RunMode::Plan.phases().len() + RunMode::Replay.phases().len(),
            7
        );
    }

    #[test]
    fn exit_codes_follow_the_stop_reason() {
        assert_eq!(StopReason::Input.exit_code().code(), 2);
        assert_eq!(StopReason::Interrupted.exit_code().code(), 130);
        for reason in StopReason::ALL {
            if !matches!(reason, StopReason::Input | StopReason::Interrupted) {
                assert_eq!(reason.exit_code().code(), 1, "{reason}");
            }
        }
    }

    /// `record.json` (and `--json`, which repeats its fields) as it has
    /// always been: the field names and the strings of every enum.
    #[test]
    fn record_json_is_pinned() {
        let phase = |phase: Phase, status: PhaseStatus, error: Option<&str>| PhaseRecord {
            phase,
            duration_ms: 12,
            tokens: 345,
            retries: u32::from(status == PhaseStatus::Failed),
            status,
            error: error.map(str::to_owned),
        };
        let record = Record {
            run_id: "20261204-101500-ab12".into(),
            mode: RunMode::Run,
            command: "rename function make_str to make_text".into(),
            success: false,
            stop_reason: Some(StopReason::BudgetTokens),
            error: Some("LOGIC used 5000 tokens of 4096".into()),
            duration_ms: 1234,
            total_tokens: 6789,
            phase_token_budget: 4096,
            total_token_budget: 28672,
            peak_memory_mb: 42,
            memory_threshold: 0.7,
            memory_events: Vec::new(),
            plan_id: Some("7edcbf9f620d653180288e94922d7cd5a3f802af".into()),
            branch: Some("orch/rename-make-str-7edcbf9f".into()),
            commit: None,
            published: Some(Published {
                remote: Some("origin".into()),
                remote_url: Some("https://github.com/o/r.git".into()),
                pushed: true,
                operation: Some(Operation::Created),
                pull_request: None,
                draft: true,
                skipped: None,
            }),
            dry_run: false,
            phases: vec![
                phase(Phase::Map, PhaseStatus::Ok, None),
                phase(Phase::Logic, PhaseStatus::Failed, Some("server died")),
                phase(Phase::MonteCarlo, PhaseStatus::Ok, None),
                phase(Phase::Review, PhaseStatus::Stopped, Some("over budget")),
            ],
            details: BTreeMap::from([("map".to_owned(), serde_json::json!({"candidates": 3}))]),
            run_dir: "/state/orch/projects/abc/runs/20261204-101500-ab12".into(),
        };
        insta::assert_json_snapshot!(record);
        for (mode, name) in [
            (RunMode::Run, "run"),
            (RunMode::Plan, "plan"),
            (RunMode::Replay, "replay"),
        ] {
            assert_eq!(serde_json::to_value(mode).unwrap(), name);
        }
    }
}
