//! Approval of calls that may do harm: a tool annotated destructive, or any
//! tool of an untrusted server that declares no annotations (the spec says
//! annotations are untrusted unless the server is; orch's own servers are
//! trusted, a configured one with `"trusted": true`).

use std::collections::BTreeSet;
use std::io::IsTerminal as _;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{Error, ServerSpec, ToolInfo};
use crate::printer::Printer;

/// How a needed approval is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `--yes`: approved in advance.
    Yes,
    /// Ask on the terminal.
    Prompt,
    /// No terminal and no `--yes`: refuse.
    Refuse,
}

impl Policy {
    /// `--yes`, else a prompt when stdin and stderr are terminals.
    pub fn detect(yes: bool) -> Policy {
        if yes {
            Policy::Yes
        } else if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
            Policy::Prompt
        } else {
            Policy::Refuse
        }
    }
}

pub struct Approver {
    policy: Policy,
    printer: Option<Arc<Printer>>,
    /// (server, tool) pairs approved for the rest of the run.
    always: Mutex<BTreeSet<(String, String)>>,
    /// One prompt at a time.
    asking: tokio::sync::Mutex<()>,
    /// orch's own servers work in orch's private worktree: their writes
    /// change nothing of the user's until REVIEW commits them to a branch,
    /// so they need no approval.
    own_servers_free: bool,
}

/// Why a call needs approval, if it does.
pub fn reason(spec: &ServerSpec, tool: Option<&ToolInfo>) -> Option<&'static str> {
    match tool {
        None if spec.trusted => None,
        None => Some("the tool is not listed by the server"),
        Some(info) if !spec.trusted && !info.annotated => {
            Some("the server is not trusted and declares no annotations for it")
        }
        Some(info) if info.destructive => Some("the tool is annotated destructive"),
        Some(_) => None,
    }
}

impl Approver {
    pub fn new(policy: Policy, printer: Option<Arc<Printer>>) -> Self {
        Approver {
            policy,
            printer,
            always: Mutex::new(BTreeSet::new()),
            asking: tokio::sync::Mutex::new(()),
            own_servers_free: false,
        }
    }

    /// For a run in orch's private worktree: orch's own servers' calls go
    /// ahead without asking (third-party tools are still asked about).
    pub(crate) fn in_private_worktree(mut self) -> Self {
        self.own_servers_free = true;
        self
    }

    /// One question for a batch of `count` calls to `tool`, shown as
    /// `shown` (for edits, the diff of each file): a yes approves them all
    /// for the rest of the run.
    pub(crate) async fn check_batch(
        &self,
        spec: &ServerSpec,
        tool: &str,
        info: Option<&ToolInfo>,
        count: usize,
        shown: &str,
    ) -> Result<(), Error> {
        let question = |why: &str| {
            format!(
                "\norch wants to call `{tool}` on MCP server `{}` {count} time(s) ({why}):\n{}\nAllow these calls? [y]es / [N]o: ",
                spec.name,
                shorten_lines(shown, 200)
            )
        };
        self.decide(spec, tool, info, question, true).await
    }

    /// Ok when the call may go ahead.
    pub async fn check(
        &self,
        spec: &ServerSpec,
        tool: &str,
        info: Option<&ToolInfo>,
        arguments: &Value,
    ) -> Result<(), Error> {
        let question = |why: &str| {
            let shown = shorten(&serde_json::to_string_pretty(arguments).unwrap_or_default());
            format!(
                "\norch wants to call `{tool}` on MCP server `{}` ({why}).\n  arguments: {}\nAllow? [y]es / [a]ll `{tool}` calls this run / [N]o: ",
                spec.name,
                shown.replace('\n', "\n  ")
            )
        };
        self.decide(spec, tool, info, question, false).await
    }

    /// Whether a call (or a batch) to `tool` may go ahead: by policy, by an
    /// earlier "all", or by asking `question` on the terminal. A yes to a
    /// batch, or "all", approves the tool for the rest of the run.
    async fn decide(
        &self,
        spec: &ServerSpec,
        tool: &str,
        info: Option<&ToolInfo>,
        question: impl FnOnce(&str) -> String,
        batch: bool,
    ) -> Result<(), Error> {
        if self.own_servers_free && spec.source == super::Source::Builtin {
            return Ok(());
        }
        let Some(why) = reason(spec, info) else {
            return Ok(());
        };
        let key = (spec.name.clone(), tool.to_owned());
        let refused = |reason: String| Error::Approval {
            server: spec.name.clone(),
            tool: tool.to_owned(),
            reason,
        };
        match self.policy {
            Policy::Yes => Ok(()),
            Policy::Refuse => Err(refused(format!(
                "{why}, and there is no terminal to ask on; pass --yes to approve in advance"
            ))),
            Policy::Prompt => {
                let _one_at_a_time = self.asking.lock().await;
                if self.always.lock().is_ok_and(|a| a.contains(&key)) {
                    return Ok(());
                }
                let Some(printer) = self.printer.clone() else {
                    return Err(refused(format!("{why}; nothing to ask with")));
                };
                let question = question(why);
                let answer = tokio::task::spawn_blocking(move || printer.ask(&question))
                    .await
                    .ok()
                    .flatten()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let for_the_run = match answer.as_str() {
                    "y" | "yes" => batch,
                    "a" | "all" if !batch => true,
                    _ => return Err(refused("refused at the prompt".into())),
                };
                if for_the_run && let Ok(mut always) = self.always.lock() {
                    always.insert(key);
                }
                Ok(())
            }
        }
    }
}

fn shorten(text: &str) -> String {
    const MAX: usize = 2000;
    if text.len() <= MAX {
        return text.to_owned();
    }
    let mut cut = MAX;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} more bytes)", &text[..cut], text.len() - cut)
}

/// At most `max` lines of `text`, and how many more there were.
fn shorten_lines(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= max {
        return text.trim_end().to_owned();
    }
    format!(
        "{}\n… ({} more lines)",
        lines[..max].join("\n"),
        lines.len() - max
    )
}
