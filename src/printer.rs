//! All user-facing output: a progress bar for the current phase (stderr,
//! only on a terminal and without --json/--quiet), notes and warnings for
//! people on stderr, data (diffs, plans, --json) on stdout.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What a run reports as it goes, for an observer (`orch mcp` turns it
/// into MCP progress notifications).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Phase `index` (0-based) of `total` started.
    Phase {
        index: usize,
        total: usize,
        phase: String,
    },
    /// What the current phase is doing.
    Step(String),
}

type Observer = std::sync::Arc<dyn Fn(&Progress) + Send + Sync>;

pub struct Printer {
    json: bool,
    quiet: bool,
    bars: bool,
    bar: Mutex<Option<ProgressBar>>,
    observer: Mutex<Option<Observer>>,
}

impl Printer {
    pub fn new(json: bool, quiet: bool) -> Self {
        Printer {
            json,
            quiet,
            bars: !json && !quiet && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
            observer: Mutex::new(None),
        }
    }

    /// Calls `observer` with every phase start and progress message.
    pub(crate) fn observe(&self, observer: impl Fn(&Progress) + Send + Sync + 'static) {
        if let Ok(mut slot) = self.observer.lock() {
            *slot = Some(std::sync::Arc::new(observer));
        }
    }

    fn notify(&self, progress: Progress) {
        let observer = self.observer.lock().ok().and_then(|slot| slot.clone());
        if let Some(observer) = observer {
            observer(&progress);
        }
    }

    /// Whether human progress lines are printed (not with --json/--quiet).
    fn chatty(&self) -> bool {
        !self.json && !self.quiet
    }

    /// Shows `[n/total] PHASE` with a spinner.
    pub fn phase_started(&self, index: usize, total: usize, phase: &str) {
        self.notify(Progress::Phase {
            index,
            total,
            phase: phase.to_owned(),
        });
        if !self.bars {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} [{pos}/{len}] {prefix:12} {wide_msg} {elapsed}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_position(index as u64);
        bar.set_prefix(phase.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        if let Ok(mut slot) = self.bar.lock()
            && let Some(old) = slot.replace(bar)
        {
            old.finish_and_clear();
        }
    }

    /// Updates the current phase's message.
    pub fn progress(&self, message: &str) {
        self.notify(Progress::Step(message.to_owned()));
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.set_message(message.to_owned());
        }
    }

    /// One line per finished phase.
    pub fn phase_finished(&self, phase: &str, status: &str, duration: Duration, tokens: usize) {
        self.clear_bar();
        if self.chatty() {
            self.line(&format!(
                "  {phase:<12} {status:<8} {:>7.0} ms {tokens:>6} tokens",
                duration.as_secs_f64() * 1000.0
            ));
        }
    }

    fn clear_bar(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }

    /// A line for people (stderr), hidden by --quiet and --json.
    pub fn note(&self, text: &str) {
        if self.chatty() {
            self.line(text);
        }
    }

    /// A warning (stderr), hidden only by --quiet.
    pub fn warn(&self, text: &str) {
        if !self.quiet {
            self.line(&format!("warning: {text}"));
        }
    }

    /// An error with its cause chain and optional hint (always shown).
    pub fn error(&self, error: &anyhow::Error, hint: Option<&str>) {
        self.clear_bar();
        let mut text = format!("error: {error}");
        for cause in error.chain().skip(1) {
            text.push_str(&format!("\n  caused by: {cause}"));
        }
        if let Some(hint) = hint {
            text.push_str(&format!("\nhint: {hint}"));
        }
        self.line(&text);
    }

    /// Writes one message to stderr. Text from a repository or a plan may
    /// hold control characters (escape sequences that clear the screen or
    /// fake a line): they are shown escaped, never sent to the terminal.
    fn line(&self, text: &str) {
        let text = escape_controls(text);
        let bar = self.bar.lock().ok().and_then(|slot| slot.clone());
        let write = || {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "{text}");
        };
        match bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }

    /// Asks a question on the terminal (stderr) and reads one line from
    /// stdin; `None` when stdin is closed.
    pub fn ask(&self, question: &str) -> Option<String> {
        let bar = self.bar.lock().ok().and_then(|slot| slot.clone());
        let ask = || {
            {
                let mut stderr = std::io::stderr().lock();
                let _ = write!(stderr, "{question}");
                let _ = stderr.flush();
            }
            let mut answer = String::new();
            match std::io::stdin().read_line(&mut answer) {
                Ok(0) | Err(_) => None,
                Ok(_) => Some(answer.trim().to_owned()),
            }
        };
        match bar {
            Some(bar) => bar.suspend(ask),
            None => ask(),
        }
    }

    /// Data on stdout (a diff, a plan). A closed pipe is not an error.
    pub fn data(&self, text: &str) {
        self.clear_bar();
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = stdout.write_all(b"\n");
        }
        let _ = stdout.flush();
    }

    /// A JSON document on stdout.
    pub fn json(&self, value: &serde_json::Value) {
        let text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
        self.data(&text);
    }
}

/// `text` with every control character but newlines and tabs escaped
/// (`\u{1b}`), so that no text reaches the terminal as a command.
pub(crate) fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() && c != '\n' && c != '\t' {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// One field from a repository or a plan on one line: control characters,
/// newlines included, escaped.
pub(crate) fn escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod escape_tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(escape_controls("plain\n\tline"), "plain\n\tline");
        assert_eq!(
            escape_controls("a\u{1b}[2Jdone: committed\r"),
            "a\\u{1b}[2Jdone: committed\\u{d}"
        );
        assert_eq!(escape("x\ny"), "x\\u{a}y");
    }
}
