//! The MCP client side: configured and built-in servers spawned as stdio
//! child processes (process-group leaders, with memory and open-file
//! limits), handshake and call timeouts, cancellation, a drained stderr ring
//! buffer, bounded restarts with backoff, per-server concurrency limits,
//! approval of destructive calls, an audit log of every call, token
//! accounting of every result and an orderly shutdown (close stdin,
//! SIGTERM, SIGKILL the process group, reap).

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

/// Bytes orch accepts from one call unless a server says otherwise.
pub const DEFAULT_MAX_REPLY_BYTES: usize = 8 * 1024 * 1024;

/// How to start one server, resolved for one run.
#[derive(Debug, Clone)]
pub struct ServerSpec {
    pub name: String,
    pub source: Source,
    pub command: OsString,
    pub args: Vec<OsString>,
    /// Secrets: passed to the child, never printed, logged or recorded.
    pub env: BTreeMap<String, String>,
    pub cwd: Option<PathBuf>,
    pub startup_timeout: Duration,
    pub call_timeout: Duration,
    pub memory_limit_mb: u64,
    pub open_files_limit: u64,
    pub max_in_flight: usize,
    pub max_restarts: u32,
    pub max_reply_bytes: usize,
    /// Whether its annotations are believed (orch's own servers are).
    pub trusted: bool,
    /// Roles it serves and how orch's calls map onto its tools.
    pub roles: BTreeMap<Role, BTreeMap<String, ToolMapping>>,
    /// For orch's own server: what it serves.
    pub builtin: Option<Builtin>,
    /// Run orch's own server inside this process, over an in-memory pipe
    /// (see [`Servers::in_process`]).
    pub in_process: bool,
}

/// What one of orch's own servers serves.
#[derive(Debug, Clone)]
pub struct Builtin {
    /// What `serve-mcp` is given: `code+fs+search`, `test`, ...
    served: String,
    options: crate::servers::ServeOptions,
}

impl ServerSpec {
    /// orch's own server for `roles`, served by this very binary: `orch-ROLE`
    /// for one role; `orch` for several, one process serving all their
    /// tools (`serve-mcp code+fs+search`).
    pub fn builtin(
        roles: &[Role],
        root: &Path,
        python: Option<&str>,
        max_in_flight: usize,
        call_timeout: Duration,
    ) -> std::io::Result<Self> {
        let exe = std::env::current_exe()?;
        let (name, served) = match roles {
            [role] => (format!("orch-{}", role.as_str()), role.as_str().to_owned()),
            _ => (
                "orch".to_owned(),
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join("+"),
            ),
        };
        let mut args: Vec<OsString> = vec![
            "serve-mcp".into(),
            served.clone().into(),
            "--root".into(),
            root.as_os_str().to_owned(),
        ];
        if let Some(python) = python {
            args.push("--python".into());
            args.push(python.into());
        }
        // A run's servers start while its worktree is being checked out:
        // they wait for their root, and start in the nearest directory that
        // already exists (the built-in servers use absolute paths only).
        let cwd = root
            .ancestors()
            .find(|dir| dir.is_dir())
            .map(Path::to_owned);
        let await_root = cwd.as_deref() != Some(root);
        if await_root {
            args.push("--await-root".into());
        }
        let options = crate::servers::ServeOptions {
            root: root.to_owned(),
            await_root,
            python: python.map(str::to_owned),
        };
        Ok(ServerSpec {
            builtin: Some(Builtin { served, options }),
            in_process: false,
            name,
            source: Source::Builtin,
            command: exe.into_os_string(),
            args,
            env: BTreeMap::new(),
            cwd,
            startup_timeout: config::DEFAULT_STARTUP_TIMEOUT,
            call_timeout,
            memory_limit_mb: config::DEFAULT_MEMORY_LIMIT_MB,
            open_files_limit: config::DEFAULT_OPEN_FILES_LIMIT,
            max_in_flight,
            max_restarts: config::DEFAULT_MAX_RESTARTS,
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
            trusted: true,
            roles: roles.iter().map(|r| (*r, BTreeMap::new())).collect(),
        })
    }

    /// A configured server for a run rooted at `root`.
    pub fn from_config(
        server: &ServerConfig,
        root: &Path,
        max_in_flight: usize,
        call_timeout: Duration,
    ) -> ServerSpec {
        let expand = |text: &str| config::expand_root(text, root);
        let cwd = server
            .cwd
            .as_deref()
            .map(|c| root.join(expand(c)))
            .unwrap_or_else(|| root.to_owned());
        let args: Vec<String> = server.args.iter().map(|a| expand(a)).collect();
        let env: BTreeMap<String, String> = server
            .env
            .iter()
            .map(|(k, v)| (k.clone(), expand(v)))
            .collect();
        let command = expand(&server.command);
        let (command, args, cwd) = match &server.container {
            Some(container) => {
                let names: Vec<&String> = env.keys().collect();
                let (program, args) = config::container_command(
                    container,
                    &command,
                    &args,
                    &names,
                    root,
                    &cwd,
                    server.memory_limit_mb,
                );
                (program, args, root.to_owned())
            }
            None => (command, args, cwd),
        };
        ServerSpec {
            builtin: None,
            in_process: false,
            name: server.name.clone(),
            source: server.source.clone(),
            command: command.into(),
            args: args.into_iter().map(OsString::from).collect(),
            env,
            cwd: Some(cwd),
            startup_timeout: server.startup_timeout,
            call_timeout: server.call_timeout.unwrap_or(call_timeout),
            // The container runtime enforces the memory limit itself; its
            // client must not be squeezed by RLIMIT_AS.
            memory_limit_mb: if server.container.is_some() {
                config::DEFAULT_MEMORY_LIMIT_MB.max(server.memory_limit_mb)
            } else {
                server.memory_limit_mb
            },
            open_files_limit: server.open_files_limit,
            max_in_flight: server.max_in_flight.unwrap_or(max_in_flight),
            max_restarts: server.max_restarts,
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
            trusted: server.trusted,
            roles: server.roles.clone(),
        }
    }

    /// The server's tool for orch's `call` of `role`: the mapped one, or
    /// orch's own name.
    pub fn tool_for<'a>(&'a self, role: Role, call: &'a str) -> &'a str {
        self.roles
            .get(&role)
            .and_then(|m| m.get(call))
            .map_or(call, |m| m.tool.as_str())
    }

    /// The command line as shown to users (no environment values).
    pub fn command_line(&self) -> String {
        std::iter::once(&self.command)
            .chain(&self.args)
            .map(|a| {
                let a = a.to_string_lossy();
                if a.contains(' ') || a.is_empty() {
                    format!("'{a}'")
                } else {
                    a.into_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The servers of one run and the role each serves.
#[derive(Debug, Clone)]
pub struct Servers {
    pub specs: Vec<ServerSpec>,
    /// Configured but disabled (listed, never started).
    pub disabled: Vec<ServerSpec>,
    pub roles: BTreeMap<Role, String>,
    /// The config files' warnings, then conflicting role claims.
    pub warnings: Vec<String>,
}

impl Servers {
    /// orch's own servers keep their temporary files (the test server's
    /// JUnit reports, pytest's `tmp_path`s) in `dir`, which the run removes
    /// whatever happens to the servers.
    pub(crate) fn with_scratch(mut self, dir: &Path) -> Servers {
        for spec in self.specs.iter_mut().filter(|s| s.builtin.is_some()) {
            spec.env
                .insert("TMPDIR".to_owned(), dir.to_string_lossy().into_owned());
        }
        self
    }

    /// The same servers, with orch's own run inside this process over
    /// in-memory pipes instead of as child processes: the same server and
    /// client code, for tests of the phases and the pipeline that need no
    /// binary.
    pub fn in_process(mut self) -> Servers {
        for spec in &mut self.specs {
            spec.in_process = spec.builtin.is_some();
        }
        self
    }

    /// Configured servers first (the last enabled one claiming a role gets
    /// it), then orch's built-in servers for every role nobody claims.
    pub fn resolve(
        config: &Config,
        root: &Path,
        python: Option<&str>,
        max_in_flight: usize,
        call_timeout: Duration,
    ) -> std::io::Result<Servers> {
        let mut specs = Vec::new();
        let mut roles: BTreeMap<Role, String> = BTreeMap::new();
        let mut warnings = config.warnings.clone();
        let mut disabled = Vec::new();
        for server in &config.servers {
            let spec = ServerSpec::from_config(server, root, max_in_flight, call_timeout);
            if !server.enabled {
                disabled.push(spec);
                continue;
            }
            for role in server.roles.keys() {
                if let Some(previous) = roles.insert(*role, server.name.clone()) {
                    warnings.push(format!(
                        "role `{}` is claimed by `{previous}` and `{}`; `{}` serves it",
                        role.as_str(),
                        server.name,
                        server.name
                    ));
                }
            }
            specs.push(spec);
        }
        // The roles nobody claims: `test` gets a server of its own (it
        // starts only when tests run, and runs them in its process group);
        // the others share one process.
        let unclaimed: Vec<Role> = Role::ALL
            .into_iter()
            .filter(|role| !roles.contains_key(role))
            .collect();
        let (test, shared): (Vec<Role>, Vec<Role>) =
            unclaimed.into_iter().partition(|r| *r == Role::Test);
        for group in [shared, test] {
            if group.is_empty() {
                continue;
            }
            let python = group.contains(&Role::Test).then_some(python).flatten();
            let spec = ServerSpec::builtin(&group, root, python, max_in_flight, call_timeout)?;
            for role in &group {
                roles.insert(*role, spec.name.clone());
            }
            specs.push(spec);
        }
        Ok(Servers {
            specs,
            disabled,
            roles,
            warnings,
        })
    }

    pub fn spec(&self, name: &str) -> Option<&ServerSpec> {
        self.specs.iter().find(|s| s.name == name)
    }

    /// Roles a server serves in this run.
    pub fn roles_of(&self, name: &str) -> Vec<Role> {
        self.roles
            .iter()
            .filter(|(_, n)| n.as_str() == name)
            .map(|(r, _)| *r)
            .collect()
    }
}

/// A tool's reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub value: Value,
    pub tokens: usize,
    pub bytes: usize,
}

struct Server {
    spec: ServerSpec,
    slot: tokio::sync::Mutex<Option<Arc<Connection>>>,
    /// Restarts after a death so far.
    restarts: AtomicU32,
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Why it cannot start, when that cannot change during the run (no such
    /// command, not an MCP server): it is not started again.
    cannot_start: Mutex<Option<String>>,
}

/// The servers of one run, spawned on first use and restarted (bounded,
/// with backoff) after a crash.
pub struct Pool {
    servers: BTreeMap<String, Server>,
    roles: BTreeMap<Role, String>,
    tokens: Arc<Tokens>,
    log_dir: Option<PathBuf>,
    audit: Option<Mutex<std::fs::File>>,
    approver: Arc<Approver>,
    /// The directory the run works on (orch's worktree).
    root: PathBuf,
}

/// What one call did, for `calls.jsonl`.
struct AuditEntry<'a> {
    server: &'a str,
    role: Option<Role>,
    call: &'a str,
    tool: &'a str,
    arguments: &'a Value,
    started: Instant,
    attempt: u32,
    outcome: Result<&'a Reply, &'a Error>,
}

impl Pool {
    pub fn new(
        servers: Servers,
        root: PathBuf,
        tokens: Arc<Tokens>,
        approver: Arc<Approver>,
        run_dir: Option<&Path>,
    ) -> Self {
        let audit = run_dir.and_then(|dir| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("calls.jsonl"))
                .map_err(|e| tracing::warn!("cannot open calls.jsonl: {e}"))
                .ok()
                .map(Mutex::new)
        });
        let servers_by_name = servers
            .specs
            .into_iter()
            .map(|spec| {
                let permits = spec.max_in_flight.max(1);
                (
                    spec.name.clone(),
                    Server {
                        spec,
                        slot: tokio::sync::Mutex::new(None),
                        restarts: AtomicU32::new(0),
                        in_flight: Arc::new(tokio::sync::Semaphore::new(permits)),
                        cannot_start: Mutex::new(None),
                    },
                )
            })
            .collect();
        Pool {
            servers: servers_by_name,
            roles: servers.roles,
            tokens,
            log_dir: run_dir.map(|d| d.join("servers")),
            audit,
            approver,
            root,
        }
    }

    /// Starts every server that serves a role now, in parallel; failures
    /// surface on first use. Servers serving only roles in `skip` are left
    /// to start on first use (a dry run calls no test runner).
    pub async fn start_all(&self, skip: &[Role]) {
        self.start_where(skip, |_| true).await;
    }

    /// Starts orch's own servers for the roles not skipped: they can start
    /// before their root exists.
    pub async fn start_builtin(&self, skip: &[Role]) {
        self.start_where(skip, |server| server.spec.source == Source::Builtin)
            .await;
    }

    async fn start_where(&self, skip: &[Role], keep: impl Fn(&Server) -> bool) {
        let wanted = |name: &&String| {
            self.roles
                .iter()
                .any(|(role, server)| server == *name && !skip.contains(role))
                && self.servers.get(*name).is_some_and(&keep)
        };
        let starts = self
            .servers
            .keys()
            .filter(wanted)
            .map(|name| self.connection(name));
        for result in futures_join_all(starts).await {
            if let Err(error) = result {
                tracing::debug!(%error, "server failed to start early");
            }
        }
    }

    fn server(&self, name: &str) -> Result<&Server, Error> {
        self.servers.get(name).ok_or_else(|| Error::Protocol {
            server: name.to_owned(),
            message: "no such server".into(),
        })
    }

    /// The live connection, started (or restarted after a death) as needed.
    pub async fn connection(&self, name: &str) -> Result<Arc<Connection>, Error> {
        let server = self.server(name)?;
        let mut guard = server.slot.lock().await;
        if let Some(existing) = guard.as_ref() {
            if existing.is_alive() {
                return Ok(existing.clone());
            }
            let restarts = server.restarts.fetch_add(1, Ordering::SeqCst);
            if let Some(dead) = guard.take() {
                dead.shutdown(self.log_dir.as_deref()).await;
            }
            if restarts >= server.spec.max_restarts {
                return Err(Error::Spawn {
                    server: name.to_owned(),
                    reason: format!(
                        "it died again after {restarts} restart(s) (`restart.maxRestarts` is {})",
                        server.spec.max_restarts
                    ),
                });
            }
            let backoff = Duration::from_millis(100 * (1 << restarts.min(5)));
            tracing::warn!(server = name, ?backoff, "server died; restarting");
            tokio::time::sleep(backoff).await;
        }
        if let Some(reason) = server.cannot_start.lock().ok().and_then(|r| r.clone()) {
            return Err(Error::Spawn {
                server: name.to_owned(),
                reason,
            });
        }
        let connection = match Connection::start(&server.spec).await {
            Ok(connection) => Arc::new(connection),
            Err(error) => {
                // A command that cannot be run, or that is not an MCP
                // server, is not tried again (each try runs it).
                if matches!(error, Error::Spawn { .. } | Error::NotMcp { .. })
                    && let Ok(mut slot) = server.cannot_start.lock()
                {
                    *slot = Some(first_line(&error.to_string()));
                }
                return Err(error);
            }
        };
        *guard = Some(connection.clone());
        Ok(connection)
    }

    /// The server serving `role`.
    pub fn server_for(&self, role: Role) -> Result<&ServerSpec, Error> {
        let name = self.roles.get(&role).ok_or_else(|| Error::Protocol {
            server: role.as_str().to_owned(),
            message: format!("no server serves the `{}` role", role.as_str()),
        })?;
        Ok(&self.server(name)?.spec)
    }

    /// Asks for approval of `call` on `role`'s server now, before anything
    /// is written, as the first call would.
    pub async fn approve_ahead<C: Call>(&self, call: &C) -> Result<(), Error> {
        let (role, call, arguments) = (C::ROLE, C::TOOL, &to_arguments(call)?);
        let spec = self.server_for(role)?;
        if adapt::is_local(spec, role, call) {
            return Ok(());
        }
        let tool = spec.tool_for(role, call);
        let connection = self.connection(&spec.name).await?;
        self.approver
            .check(spec, tool, connection.tool(tool), arguments)
            .await
    }

    /// Calls orch's `call` on the server serving `role` (mapped onto the
    /// server's own tool if configured), and charges the reply's tokens to
    /// the current phase.
    async fn call(&self, role: Role, call: &str, arguments: Value) -> Result<Reply, Error> {
        let spec = self.server_for(role)?;
        let span = tracing::info_span!("mcp_call", server = %spec.name, role = role.as_str(), call);
        async {
            let started = Instant::now();
            let prepared = adapt::prepare(spec, role, call, &arguments, &self.root)?;
            let (tool, sent, finish) = match prepared {
                adapt::Prepared::Local(value) => {
                    return Ok(Reply {
                        value,
                        tokens: 0,
                        bytes: 0,
                    });
                }
                adapt::Prepared::Remote {
                    tool,
                    arguments,
                    finish,
                } => (tool, arguments, finish),
            };
            let reply = self
                .invoke(&spec.name, Some(role), call, &tool, &sent, &finish)
                .await?;
            tracing::debug!(
                tokens = reply.tokens,
                bytes = reply.bytes,
                ms = started.elapsed().as_millis() as u64,
                "reply"
            );
            self.tokens.charge(reply.tokens)?;
            Ok(reply)
        }
        .instrument(span)
        .await
    }

    /// Calls a server's tool by name, with no mapping (`orch servers call`).
    pub async fn call_direct(
        &self,
        server: &str,
        tool: &str,
        arguments: Value,
    ) -> Result<Reply, Error> {
        let span = tracing::info_span!("mcp_call", server, tool);
        async {
            let reply = self
                .invoke(server, None, tool, tool, &arguments, &adapt::Finish::Json)
                .await?;
            self.tokens.charge(reply.tokens)?;
            Ok(reply)
        }
        .instrument(span)
        .await
    }

    /// One call with approval, the in-flight limit, a restart after a death
    /// (retrying once when the tool is read-only or idempotent) and an
    /// audit record per attempt.
    async fn invoke(
        &self,
        name: &str,
        role: Option<Role>,
        call: &str,
        tool: &str,
        sent: &Value,
        finish: &adapt::Finish,
    ) -> Result<Reply, Error> {
        let server = self.server(name)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = Instant::now();
            let result = self.call_once(server, tool, sent).await;
            let result = match result {
                Ok(reply) => adapt::finish(finish, reply, name, tool),
                Err(e) => Err(e),
            };
            self.audit(AuditEntry {
                server: name,
                role,
                call,
                tool,
                arguments: sent,
                started,
                attempt,
                outcome: result.as_ref(),
            });
            if let Err(error @ Error::Crashed { .. }) = &result
                && attempt == 1
                && error.is_retryable()
            {
                let retryable = server
                    .slot
                    .lock()
                    .await
                    .as_ref()
                    .and_then(|c| c.tool(tool).map(ToolInfo::retryable))
                    .unwrap_or(false);
                if retryable {
                    tracing::warn!(
                        server = name,
                        tool,
                        "server died mid-call; retrying the read-only call once"
                    );
                    continue;
                }
            }
            return result;
        }
    }

    async fn call_once(
        &self,
        server: &Server,
        tool: &str,
        arguments: &Value,
    ) -> Result<Reply, Error> {
        let connection = self.connection(&server.spec.name).await?;
        self.approver
            .check(&server.spec, tool, connection.tool(tool), arguments)
            .await?;
        let _permit = server
            .in_flight
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Protocol {
                server: server.spec.name.clone(),
                message: "shutting down".into(),
            })?;
        connection.call(tool, arguments.clone()).await
    }

    fn audit(&self, entry: AuditEntry<'_>) {
        let Some(file) = &self.audit else { return };
        let (outcome, error, bytes, tokens) = match entry.outcome {
            Ok(reply) => ("ok", None, reply.bytes, reply.tokens),
            Err(error) => (
                match error {
                    Error::Timeout { .. } => "timeout",
                    Error::Crashed { .. } => "crashed",
                    Error::Approval { .. } => "refused",
                    Error::Tool { .. } => "tool_error",
                    Error::Spawn { .. } | Error::Handshake { .. } | Error::NotMcp { .. } => {
                        "unavailable"
                    }
                    Error::Budget(_) => "budget",
                    Error::Protocol { .. } => "protocol_error",
                },
                Some(first_line(&error.to_string())),
                0,
                0,
            ),
        };
        let record = json!({
            "time": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            "server": entry.server,
            "role": entry.role.map(Role::as_str),
            "call": entry.call,
            "tool": entry.tool,
            "arguments_sha1": crate::plan::sha1_hex(entry.arguments.to_string().as_bytes()),
            "attempt": entry.attempt,
            "duration_ms": entry.started.elapsed().as_secs_f64() * 1000.0,
            "bytes": bytes,
            "tokens": tokens,
            "outcome": outcome,
            "error": error,
        });
        // One write per record: the file is unbuffered, and `Display` for
        // a JSON value writes it in pieces (hundreds of syscalls a run).
        let line = format!("{record}\n");
        if let Ok(mut file) = file.lock() {
            let _ = file.write_all(line.as_bytes());
        }
    }

    /// Sends one call of the protocol to the server serving its role (see
    /// [`Pool::call`]) and reads the reply into the call's output type.
    pub async fn request<C: Call>(&self, call: &C) -> Result<C::Output, Error> {
        let reply = self.call(C::ROLE, C::TOOL, to_arguments(call)?).await?;
        serde_json::from_value(reply.value).map_err(|e| Error::Protocol {
            server: C::ROLE.as_str().to_owned(),
            message: format!("unexpected reply from `{}`: {e}", C::TOOL),
        })
    }

    /// Process ids of the running servers.
    pub async fn pids(&self) -> Vec<u32> {
        let mut pids = Vec::new();
        for server in self.servers.values() {
            if let Some(connection) = server.slot.lock().await.as_ref() {
                pids.extend(connection.pid());
            }
        }
        pids
    }

    /// Stops orch's own servers now, after the run's last call, so they
    /// exit (freeing their memory takes the kernel a few milliseconds)
    /// while orch finishes its own work; [`Pool::shutdown`] reaps them.
    /// Further calls are refused.
    pub async fn stop_builtins(&self) {
        for server in self.servers.values() {
            server.in_flight.close();
            if let Some(connection) = server.slot.lock().await.as_ref() {
                connection.stop_builtin();
            }
        }
    }

    /// Shuts every server down and reaps it.
    pub async fn shutdown(&self) {
        let mut connections = Vec::new();
        for server in self.servers.values() {
            server.in_flight.close();
            if let Some(connection) = server.slot.lock().await.take() {
                connections.push(connection);
            }
        }
        let log_dir = self.log_dir.as_deref();
        futures_join_all(connections.iter().map(|c| c.shutdown(log_dir))).await;
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
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

/// A call's arguments as the JSON object sent to the server.
fn to_arguments<C: Call>(call: &C) -> Result<Value, Error> {
    serde_json::to_value(call).map_err(|e| Error::Protocol {
        server: C::ROLE.as_str().to_owned(),
        message: format!("cannot encode the arguments of `{}`: {e}", C::TOOL),
    })
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
