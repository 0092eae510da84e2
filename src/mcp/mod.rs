//! The MCP client side: servers spawned as stdio child processes, one per
//! role, with handshake and call timeouts, a drained stderr ring buffer,
//! restart after a crash, token accounting of every result and an orderly
//! shutdown (close stdin, SIGTERM, SIGKILL the process group, reap).

mod connection;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::budget::{Exceeded, Tokens};
pub use connection::Connection;

/// What orch asks of servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Search,
    Code,
    Fs,
    Test,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Search, Role::Code, Role::Fs, Role::Test];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Search => "search",
            Role::Code => "code",
            Role::Fs => "fs",
            Role::Test => "test",
        }
    }
}

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
        matches!(
            self,
            Error::Timeout { .. }
                | Error::Crashed { .. }
                | Error::Handshake { .. }
                | Error::Protocol { .. }
        )
    }
}

/// How to start one server.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub name: String,
    pub command: OsString,
    pub args: Vec<OsString>,
    pub env: BTreeMap<String, String>,
    pub cwd: Option<PathBuf>,
    pub startup_timeout: Duration,
    pub call_timeout: Duration,
}

impl ServerSpec {
    /// One of orch's own servers, served by this very binary.
    pub fn builtin(name: &str, root: &Path, python: Option<&str>) -> std::io::Result<Self> {
        let exe = std::env::current_exe()?;
        let mut args: Vec<OsString> = vec![
            "serve-mcp".into(),
            name.into(),
            "--root".into(),
            root.as_os_str().to_owned(),
        ];
        if let Some(python) = python {
            args.push("--python".into());
            args.push(python.into());
        }
        Ok(ServerSpec {
            name: name.to_owned(),
            command: exe.into_os_string(),
            args,
            env: BTreeMap::new(),
            cwd: None,
            startup_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(60),
        })
    }
}

/// A tool's reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub value: Value,
    pub tokens: usize,
    pub bytes: usize,
}

/// The servers of one run, by role, spawned on first use and restarted
/// after a crash.
pub struct Pool {
    specs: BTreeMap<Role, ServerSpec>,
    live: BTreeMap<Role, tokio::sync::Mutex<Option<Arc<Connection>>>>,
    tokens: Arc<Tokens>,
    log_dir: Option<PathBuf>,
}

impl Pool {
    pub fn new(
        specs: BTreeMap<Role, ServerSpec>,
        tokens: Arc<Tokens>,
        log_dir: Option<PathBuf>,
    ) -> Self {
        let live = specs
            .keys()
            .map(|role| (*role, tokio::sync::Mutex::new(None)))
            .collect();
        Pool {
            specs,
            live,
            tokens,
            log_dir,
        }
    }

    /// Starts every server now, in parallel; failures surface on first use.
    pub async fn start_all(&self) {
        let starts = self.specs.keys().map(|role| self.connection(*role));
        for result in futures_join_all(starts).await {
            if let Err(error) = result {
                tracing::debug!(%error, "server failed to start early");
            }
        }
    }

    async fn connection(&self, role: Role) -> Result<Arc<Connection>, Error> {
        let spec = self.specs.get(&role).ok_or_else(|| Error::Protocol {
            server: role.as_str().to_owned(),
            message: format!("no server serves the `{}` role", role.as_str()),
        })?;
        let slot = self.live.get(&role).ok_or_else(|| Error::Protocol {
            server: spec.name.clone(),
            message: "no slot".into(),
        })?;
        let mut guard = slot.lock().await;
        if let Some(existing) = guard.as_ref() {
            if existing.is_alive() {
                return Ok(existing.clone());
            }
            tracing::warn!(server = %spec.name, "server died; restarting");
            if let Some(dead) = guard.take() {
                dead.shutdown(self.log_dir.as_deref()).await;
            }
        }
        let connection = Arc::new(Connection::start(spec).await?);
        *guard = Some(connection.clone());
        Ok(connection)
    }

    /// Calls `tool` on the server serving `role` and charges the reply's
    /// tokens to the current phase.
    pub async fn call(&self, role: Role, tool: &str, arguments: Value) -> Result<Reply, Error> {
        let connection = self.connection(role).await?;
        let span = tracing::info_span!("mcp_call", server = %connection.name(), tool);
        let _enter = span.enter();
        let reply = connection.call(tool, arguments).await?;
        tracing::debug!(tokens = reply.tokens, bytes = reply.bytes, "reply");
        self.tokens.charge(reply.tokens)?;
        Ok(reply)
    }

    /// [`Pool::call`], deserialising the reply.
    pub async fn call_as<T: DeserializeOwned>(
        &self,
        role: Role,
        tool: &str,
        arguments: Value,
    ) -> Result<T, Error> {
        let reply = self.call(role, tool, arguments).await?;
        serde_json::from_value(reply.value).map_err(|e| Error::Protocol {
            server: role.as_str().to_owned(),
            message: format!("unexpected reply from `{tool}`: {e}"),
        })
    }

    /// Process ids of the running servers.
    pub async fn pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        for slot in self.live.values() {
            if let Some(connection) = slot.lock().await.as_ref() {
                pids.extend(connection.pid());
            }
        }
        pids
    }

    /// Shuts every server down and reaps it.
    pub async fn shutdown(&self) {
        let mut connections = Vec::new();
        for slot in self.live.values() {
            if let Some(connection) = slot.lock().await.take() {
                connections.push(connection);
            }
        }
        let log_dir = self.log_dir.as_deref();
        futures_join_all(connections.iter().map(|c| c.shutdown(log_dir))).await;
    }
}

/// Runs futures concurrently and collects their outputs in order.
pub async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs = Vec::with_capacity(set.len());
    // Poll all of them together; outputs keep their order.
    let mut pending: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut done = true;
        for (i, future) in set.iter_mut().enumerate() {
            if pending[i].is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(output) => pending[i] = Some(output),
                    std::task::Poll::Pending => done = false,
                }
            }
        }
        if done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    for output in pending.into_iter().flatten() {
        outputs.push(output);
    }
    outputs
}
