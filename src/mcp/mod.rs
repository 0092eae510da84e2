//! The MCP client side: configured and built-in servers spawned as stdio
//! child processes (process-group leaders, with memory and open-file
//! limits), handshake and call timeouts, cancellation, a drained stderr ring
//! buffer, bounded restarts with backoff, per-server concurrency limits,
//! approval of destructive calls, an audit log of every call, token
//! accounting of every result and an orderly shutdown (close stdin,
//! SIGTERM, SIGKILL the process group, reap).
//!
//! `spec` says how to start each server and which serves which role,
//! `pool` runs a run's servers and makes its calls, `connection` is one
//! server's session, `adapt` maps calls onto third-party tools, `config`
//! reads MCP config files, `approval` asks before destructive calls and
//! `inspect` backs `orch servers list|check`.

mod adapt;
pub mod approval;
pub mod config;
mod connection;
pub mod inspect;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tracing::Instrument as _;

use crate::budget::{Exceeded, Tokens};
use crate::protocol::Call;
pub use approval::Approver;
pub use config::{Config, ServerConfig, Source, ToolMapping};
pub use connection::{Connection, ToolInfo};

pub use crate::protocol::Role;

mod pool;
mod spec;
pub use pool::*;
pub use spec::*;

/// Everything that can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot start MCP server `{server}`: {reason}")]
    Spawn { server: String, reason: String },
    #[error("MCP server `{server}` failed its handshake: {reason}{}", tail_suffix(.stderr))]
    Handshake {
        server: String,
        reason: String,
        stderr: String,
    },
    /// The command ran but does not speak MCP (it exited, or answered
    /// something else): starting it again would do the same.
    #[error(
        "MCP server `{server}` failed its handshake: {reason} (it ended the session or is not an MCP server; not started again){}",
        tail_suffix(.stderr)
    )]
    NotMcp {
        server: String,
        reason: String,
        stderr: String,
    },
    #[error("MCP server `{server}` did not answer `{tool}` within {}s", .after.as_secs_f64())]
    Timeout {
        server: String,
        tool: String,
        after: Duration,
    },
    #[error("MCP server `{server}` exited during `{tool}` ({status}){}", tail_suffix(.stderr))]
    Crashed {
        server: String,
        tool: String,
        status: String,
        stderr: String,
    },
    #[error("MCP server `{server}`: tool `{tool}` failed: {message}")]
    Tool {
        server: String,
        tool: String,
        message: String,
    },
    #[error("MCP server `{server}`: {message}")]
    Protocol { server: String, message: String },
    #[error("approval refused for `{tool}` on MCP server `{server}`: {reason}")]
    Approval {
        server: String,
        tool: String,
        reason: String,
    },
    #[error("{0}")]
    Budget(#[from] Exceeded),
}

fn tail_suffix(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!(
            "\n  server stderr (last lines):\n{}",
            indent(stderr.trim_end())
        )
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    /// Server crashes, hangs and failed handshakes are worth another try.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Crashed { status, stderr, .. } => !deterministic_crash(status, stderr),
            Error::Timeout { .. } | Error::Handshake { .. } | Error::Protocol { .. } => true,
            _ => false,
        }
    }
}

/// A crash that the same call would cause again: a stack overflow, a
/// panic, an abort or a segmentation fault (not a kill from outside, such
/// as the out-of-memory killer).
fn deterministic_crash(status: &str, stderr: &str) -> bool {
    stderr.contains("has overflowed its stack")
        || stderr.contains("panicked at")
        || [
            "SIGABRT",
            "SIGSEGV",
            "SIGILL",
            "SIGBUS",
            "signal: 6",
            "signal: 11",
        ]
        .iter()
        .any(|s| status.contains(s))
}

/// A tool's reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub value: Value,
    pub tokens: usize,
    pub bytes: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_the_same_call_would_repeat_is_not_retried() {
        let crash = |status: &str, stderr: &str| Error::Crashed {
            server: "orch".into(),
            tool: "rename_references".into(),
            status: status.into(),
            stderr: stderr.into(),
        };
        assert!(!crash("signal: 6 (SIGABRT) (core dumped)", "").is_retryable());
        assert!(!crash("exit status: 134", "thread 'x' has overflowed its stack").is_retryable());
        assert!(
            !crash("exit status: 101", "thread 'main' panicked at src/x.rs:1:1").is_retryable()
        );
        // Killed from outside (the OOM killer), or an exit it may not repeat.
        assert!(crash("signal: 9 (SIGKILL)", "").is_retryable());
        assert!(crash("exit status: 1", "connection reset").is_retryable());
    }
}
