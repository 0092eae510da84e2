//! One running MCP server: the child process (a process-group leader), its
//! rmcp client session and its drained stderr. orch's own servers can also
//! run as a task in this process, over an in-memory pipe (tests).

use std::collections::VecDeque;
use std::path::Path;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tracing::Instrument as _;

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequest, CallToolRequestParams, ClientRequest, ServerResult};
use rmcp::service::{Peer, RoleClient, RunningService};
use rmcp::service::{PeerRequestOptions, ServiceError};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use super::{Error, Reply, ServerSpec};
use crate::budget::count_tokens;

/// Bytes of stderr kept per server.
const STDERR_KEEP: usize = 64 * 1024;
/// The SDK drops longer lines (and the request would hang until its timeout).
const MAX_LINE: usize = rmcp::transport::async_rw::DEFAULT_MAX_LINE_LENGTH;
/// Bytes of stderr shown in an error.
const STDERR_SHOW: usize = 2 * 1024;

/// What `tools/list` said about one tool.
#[derive(Debug, Clone)]
pub struct ToolInfo {
    pub name: String,
    /// Whether the server declared any annotations.
    pub annotated: bool,
    pub read_only: bool,
    /// The spec's default is `true` for a tool that is not read-only.
    pub destructive: bool,
    pub idempotent: bool,
}

impl ToolInfo {
    fn from_tool(tool: &rmcp::model::Tool) -> ToolInfo {
        let annotations = tool.annotations.as_ref();
        let read_only = annotations.and_then(|a| a.read_only_hint).unwrap_or(false);
        ToolInfo {
            name: tool.name.to_string(),
            annotated: annotations.is_some(),
            read_only,
            destructive: !read_only && annotations.and_then(|a| a.destructive_hint).unwrap_or(true),
            idempotent: annotations.and_then(|a| a.idempotent_hint).unwrap_or(false),
        }
    }

    /// Safe to send again after the server died mid-call.
    pub fn retryable(&self) -> bool {
        self.read_only || self.idempotent
    }
}

pub struct Connection {
    name: String,
    server_info: Option<String>,
    tools: Vec<ToolInfo>,
    call_timeout: Duration,
    max_reply_bytes: usize,
    memory_limit_mb: u64,
    open_files_limit: u64,
    pid: Option<u32>,
    process: Mutex<Process>,
    peer: Peer<RoleClient>,
    service: tokio::sync::Mutex<Option<RunningService<RoleClient, ()>>>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    oversized: Arc<Oversized>,
    /// One of orch's own servers: it keeps nothing that needs a goodbye.
    builtin: bool,
}

/// Runs orch's own server `builtin` on `io` as a task. (A plain function:
/// the server's future stays out of the layout of every future that starts
/// a connection.)
fn spawn_server(
    name: String,
    builtin: &super::Builtin,
    io: tokio::io::DuplexStream,
) -> tokio::task::JoinHandle<()> {
    let (served, options) = (builtin.served.clone(), builtin.options.clone());
    tokio::spawn(async move {
        if let Err(error) = crate::servers::serve_on(&served, options, tokio::io::split(io)).await {
            tracing::debug!(server = %name, %error, "in-process server ended");
        }
    })
}

/// orch's credentials: never passed to a server unless its `env` names them.
const CREDENTIALS: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ORCH_GIT_TOKEN",
    "GITHUB_API_TOKEN",
];

/// What a configured server inherits from orch's environment besides its
/// own `env`: where programs are, the home directory, the locale and the
/// temporary directory.
const INHERITED: &[&str] = &[
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TMPDIR", "TZ",
];

/// A configured server gets a scrubbed environment (the variables above,
/// `LC_*`, and its own `env`); orch's own servers keep orch's (the test
/// server's pytest needs the project's Python environment) less orch's
/// credentials.
fn scrub_environment(command: &mut tokio::process::Command, spec: &ServerSpec) {
    if spec.builtin.is_some() {
        for name in CREDENTIALS {
            command.env_remove(name);
        }
        return;
    }
    command.env_clear();
    for (name, value) in std::env::vars_os() {
        let keep = name
            .to_str()
            .is_some_and(|name| INHERITED.contains(&name) || name.starts_with("LC_"));
        if keep {
            command.env(name, value);
        }
    }
}

/// What runs the server.
enum Process {
    /// A child process, leading its own process group.
    Child(tokio::process::Child),
    /// One of orch's own servers, as a task of this process.
    Task(tokio::task::JoinHandle<()>),
}

impl Connection {
    /// Spawns the server (with its limits), completes the handshake, lists
    /// its tools and returns the session.
    pub async fn start(spec: &ServerSpec) -> Result<Connection, Error> {
        let span = tracing::info_span!("mcp_start", server = %spec.name);
        match (&spec.builtin, spec.in_process) {
            (Some(builtin), true) => {
                Self::connect_in_process(spec, builtin)
                    .instrument(span)
                    .await
            }
            _ => Self::spawn_and_connect(spec).instrument(span).await,
        }
    }

    /// orch's own server as a task of this process, connected through an
    /// in-memory pipe: the same server and client code as a child's.
    async fn connect_in_process(
        spec: &ServerSpec,
        builtin: &super::Builtin,
    ) -> Result<Connection, Error> {
        let (client, server) = tokio::io::duplex(1 << 20);
        let task = spawn_server(spec.name.clone(), builtin, server);
        let (reader, writer) = tokio::io::split(client);
        let oversized = Arc::new(Oversized::default());
        let reader = LineGuard::new(reader, oversized.clone());
        let handshake = async {
            let service = ().serve((reader, writer)).await.map_err(|e| e.to_string())?;
            let tools = service
                .list_all_tools()
                .await
                .map_err(|e| format!("`tools/list` failed: {e}"))?;
            Ok::<_, String>((service, tools))
        };
        let (service, tools) = match tokio::time::timeout(spec.startup_timeout, handshake).await {
            Ok(Ok(ready)) => ready,
            Ok(Err(reason)) => {
                task.abort();
                return Err(Error::Handshake {
                    server: spec.name.clone(),
                    reason,
                    stderr: String::new(),
                });
            }
            Err(_) => {
                task.abort();
                return Err(Error::Handshake {
                    server: spec.name.clone(),
                    reason: "no answer within the startup timeout".into(),
                    stderr: String::new(),
                });
            }
        };
        let peer = service.peer().clone();
        Ok(Connection {
            tools: tools.iter().map(ToolInfo::from_tool).collect(),
            server_info: Some("orch (in process)".into()),
            name: spec.name.clone(),
            call_timeout: spec.call_timeout,
            max_reply_bytes: spec.max_reply_bytes,
            memory_limit_mb: spec.memory_limit_mb,
            open_files_limit: spec.open_files_limit,
            pid: None,
            process: Mutex::new(Process::Task(task)),
            peer,
            service: tokio::sync::Mutex::new(Some(service)),
            stderr: Arc::new(Mutex::new(VecDeque::new())),
            oversized,
            builtin: true,
        })
    }

    async fn spawn_and_connect(spec: &ServerSpec) -> Result<Connection, Error> {
        let started = std::time::Instant::now();
        let mut command = tokio::process::Command::new(&spec.command);
        scrub_environment(&mut command, spec);
        command
            .args(&spec.args)
            .envs(&spec.env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(cwd) = &spec.cwd {
            command.current_dir(cwd);
        }
        let memory = spec.memory_limit_mb.saturating_mul(1024 * 1024);
        let files = spec.open_files_limit;
        // orch's own servers get their limits right after they start
        // (`prlimit`): they start nothing of their own before their first
        // call, and without a `pre_exec` hook the standard library spawns
        // with `posix_spawn` instead of forking this whole process. Other
        // servers may start children at once, which must inherit the
        // limits: those are set between fork and exec.
        let builtin = matches!(spec.source, super::Source::Builtin);
        if !builtin {
            // SAFETY: only async-signal-safe calls (setrlimit) between fork and exec.
            unsafe {
                command.pre_exec(move || {
                    crate::sys::set_own_limit(crate::sys::MEMORY, memory)?;
                    crate::sys::set_own_limit(crate::sys::OPEN_FILES, files)?;
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().map_err(|e| Error::Spawn {
            server: spec.name.clone(),
            reason: format!("`{}`: {e}", spec.command.to_string_lossy()),
        })?;
        let pid = child.id();
        if builtin
            && let Some(id) = pid
            && let Err(e) = crate::sys::set_limit_of(id, crate::sys::MEMORY, memory)
                .and_then(|()| crate::sys::set_limit_of(id, crate::sys::OPEN_FILES, files))
        {
            kill_group(pid, libc::SIGKILL);
            let _ = child.wait().await;
            return Err(Error::Spawn {
                server: spec.name.clone(),
                reason: format!("cannot set its memory and file limits: {e}"),
            });
        }
        let (Some(stdout), Some(stdin), Some(mut stderr_pipe)) =
            (child.stdout.take(), child.stdin.take(), child.stderr.take())
        else {
            return Err(Error::Spawn {
                server: spec.name.clone(),
                reason: "no stdio pipes".into(),
            });
        };
        let stderr = Arc::new(Mutex::new(VecDeque::with_capacity(4096)));
        let sink = stderr.clone();
        tokio::spawn(async move {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = stderr_pipe.read(&mut buffer).await {
                if n == 0 {
                    break;
                }
                if let Ok(mut ring) = sink.lock() {
                    ring.extend(&buffer[..n]);
                    let excess = ring.len().saturating_sub(STDERR_KEEP);
                    ring.drain(..excess);
                }
            }
        });
        let oversized = Arc::new(Oversized::default());
        let stdout = LineGuard::new(stdout, oversized.clone());
        let connection_error =
            |reason: String, stderr: &Arc<Mutex<VecDeque<u8>>>| Error::Handshake {
                server: spec.name.clone(),
                reason,
                stderr: tail(stderr, STDERR_SHOW),
            };
        let service =
            match tokio::time::timeout(spec.startup_timeout, ().serve((stdout, stdin))).await {
                Ok(Ok(service)) => service,
                Ok(Err(e)) => {
                    // Give the stderr reader a moment to collect the last words.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    kill_group(pid, libc::SIGKILL);
                    let _ = child.wait().await;
                    let status = limit_hint(
                        &tail(&stderr, STDERR_SHOW),
                        spec.memory_limit_mb,
                        spec.open_files_limit,
                    );
                    // It ended the session or answered something else: it
                    // would do the same again.
                    return Err(Error::NotMcp {
                        server: spec.name.clone(),
                        reason: format!("{e}{status}"),
                        stderr: tail(&stderr, STDERR_SHOW),
                    });
                }
                Err(_) => {
                    kill_group(pid, libc::SIGKILL);
                    let _ = child.wait().await;
                    return Err(connection_error(
                        format!(
                            "no answer to `initialize` within {}s (startupTimeoutMs)",
                            spec.startup_timeout.as_secs_f64()
                        ),
                        &stderr,
                    ));
                }
            };
        let tools = match tokio::time::timeout(spec.startup_timeout, service.list_all_tools()).await
        {
            Ok(Ok(tools)) => tools.iter().map(ToolInfo::from_tool).collect(),
            Ok(Err(e)) => {
                kill_group(pid, libc::SIGKILL);
                let _ = child.wait().await;
                return Err(connection_error(
                    format!("`tools/list` failed: {e}"),
                    &stderr,
                ));
            }
            Err(_) => {
                kill_group(pid, libc::SIGKILL);
                let _ = child.wait().await;
                return Err(connection_error(
                    format!(
                        "no answer to `tools/list` within {}s",
                        spec.startup_timeout.as_secs_f64()
                    ),
                    &stderr,
                ));
            }
        };
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "server ready");
        let peer = service.peer().clone();
        let server_info = peer.peer_info().map(|info| match &info.server_info {
            Some(server) => format!(
                "{} {}, protocol {}",
                server.name, server.version, info.protocol_version
            ),
            None => format!("protocol {}", info.protocol_version),
        });
        Ok(Connection {
            tools,
            server_info,
            name: spec.name.clone(),
            call_timeout: spec.call_timeout,
            max_reply_bytes: spec.max_reply_bytes,
            memory_limit_mb: spec.memory_limit_mb,
            open_files_limit: spec.open_files_limit,
            pid,
            process: Mutex::new(Process::Child(child)),
            peer,
            service: tokio::sync::Mutex::new(Some(service)),
            stderr,
            oversized,
            builtin,
        })
    }

    /// The server's name, version and protocol from the handshake.
    pub fn server_info(&self) -> Option<String> {
        self.server_info.clone()
    }

    /// The tools the server listed.
    pub fn tools(&self) -> &[ToolInfo] {
        &self.tools
    }

    pub fn tool(&self, name: &str) -> Option<&ToolInfo> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// The last `max` bytes of the server's stderr.
    pub fn stderr_tail(&self, max: usize) -> String {
        tail(&self.stderr, max)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether the process (or task) is still running.
    pub fn is_alive(&self) -> bool {
        self.process
            .lock()
            .map(|mut process| match &mut *process {
                Process::Child(child) => matches!(child.try_wait(), Ok(None)),
                Process::Task(task) => !task.is_finished(),
            })
            .unwrap_or(false)
    }

    /// Ends an in-process server's task at once (a child is signalled
    /// instead).
    fn abort_task(&self) {
        if let Ok(process) = self.process.lock()
            && let Process::Task(task) = &*process
        {
            task.abort();
        }
    }

    fn exit_status(&self) -> Option<String> {
        let mut process = self.process.lock().ok()?;
        match &mut *process {
            Process::Child(child) => child
                .try_wait()
                .ok()
                .flatten()
                .map(|status| status.to_string()),
            Process::Task(task) => task
                .is_finished()
                .then(|| "the in-process server ended".to_owned()),
        }
    }

    /// Calls one tool with the call timeout.
    pub async fn call(&self, tool: &str, arguments: Value) -> Result<Reply, Error> {
        let arguments = match arguments {
            Value::Object(map) => map,
            Value::Null => serde_json::Map::new(),
            other => {
                return Err(Error::Protocol {
                    server: self.name.clone(),
                    message: format!("arguments for `{tool}` must be an object, not {other}"),
                });
            }
        };
        if self.tool(tool).is_none() {
            return Err(Error::Tool {
                server: self.name.clone(),
                tool: tool.to_owned(),
                message: format!(
                    "the server has no such tool (it lists: {})",
                    self.tools
                        .iter()
                        .map(|t| t.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        let oversized_before = self.oversized.count.load(Ordering::SeqCst);
        let oversized = async {
            loop {
                let notified = self.oversized.notify.notified();
                if self.oversized.count.load(Ordering::SeqCst) != oversized_before {
                    return self.oversized.last.load(Ordering::SeqCst);
                }
                notified.await;
            }
        };
        let request = ClientRequest::CallToolRequest(CallToolRequest::new(params));
        // With a timeout in the request options, rmcp sends (and awaits)
        // `notifications/cancelled` before reporting the timeout; dropping
        // the request (an oversized reply) sends it too.
        let handle = self
            .peer
            .send_request_with_option(request, PeerRequestOptions::with_timeout(self.call_timeout))
            .await;
        let response = match handle {
            Err(error) => Err(error),
            Ok(handle) => tokio::select! {
                response = handle.await_response() => response,
                size = oversized => {
                    return Err(Error::Protocol {
                        server: self.name.clone(),
                        message: format!(
                            "`{tool}`: the server sent a message of more than {} MiB ({:.1} MiB read so far), over the limit a line may have; the reply was dropped",
                            MAX_LINE / (1024 * 1024),
                            size as f64 / (1024.0 * 1024.0),
                        ),
                    });
                }
            },
        };
        let result = match response {
            Ok(ServerResult::CallToolResult(result)) => result,
            Ok(ServerResult::InputRequiredResult(_) | ServerResult::CreateTaskResult(_)) => {
                return Err(Error::Protocol {
                    server: self.name.clone(),
                    message: format!(
                        "`{tool}` asked for input or started a task; orch supports neither"
                    ),
                });
            }
            Ok(_) => {
                return Err(Error::Protocol {
                    server: self.name.clone(),
                    message: format!("`{tool}`: unexpected response"),
                });
            }
            Err(ServiceError::Timeout { .. }) => {
                return Err(Error::Timeout {
                    server: self.name.clone(),
                    tool: tool.to_owned(),
                    after: self.call_timeout,
                });
            }
            Err(error) => return Err(self.failure(tool, error).await),
        };
        let text: String = result
            .content
            .iter()
            .filter_map(|block| block.as_text().map(|t| t.text.as_str()))
            .collect::<Vec<_>>()
            .join("\n");
        let counted = if text.is_empty() {
            result
                .structured_content
                .as_ref()
                .map(Value::to_string)
                .unwrap_or_default()
        } else {
            text.clone()
        };
        let bytes = counted.len();
        if bytes > self.max_reply_bytes {
            return Err(Error::Protocol {
                server: self.name.clone(),
                message: format!(
                    "`{tool}` returned {:.1} MiB, more than orch accepts from one call ({} MiB); narrow the request",
                    bytes as f64 / (1024.0 * 1024.0),
                    self.max_reply_bytes / (1024 * 1024)
                ),
            });
        }
        let tokens = count_tokens(&counted);
        if result.is_error == Some(true) {
            return Err(Error::Tool {
                server: self.name.clone(),
                tool: tool.to_owned(),
                message: text,
            });
        }
        let value = match result.structured_content {
            Some(value) => value,
            None => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        };
        Ok(Reply {
            value,
            tokens,
            bytes,
        })
    }

    /// A failed call: a dead server (with its exit status, a limit it
    /// probably hit and its stderr tail), or a protocol problem.
    async fn failure(&self, tool: &str, error: ServiceError) -> Error {
        let mut status = None;
        for _ in 0..20 {
            status = self.exit_status();
            if status.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        match status {
            Some(status) => {
                let stderr = tail(&self.stderr, STDERR_SHOW);
                let hint = limit_hint(
                    &format!("{stderr}\n{status}"),
                    self.memory_limit_mb,
                    self.open_files_limit,
                );
                Error::Crashed {
                    server: self.name.clone(),
                    tool: tool.to_owned(),
                    status: format!("{status}{hint}"),
                    stderr,
                }
            }
            None => Error::Protocol {
                server: self.name.clone(),
                message: format!("`{tool}`: {error}"),
            },
        }
    }

    /// Close stdin, wait, SIGTERM the group, wait, SIGKILL the group, reap;
    /// saves the stderr tail to `log_dir/<name>.stderr.log`.
    /// Stops one of orch's own servers at once (a signal; [`shutdown`]
    /// reaps it later). Nothing for a configured server.
    ///
    /// [`shutdown`]: Connection::shutdown
    pub fn stop_builtin(&self) {
        if self.builtin {
            kill_tree(self.pid);
            self.abort_task();
        }
    }

    pub async fn shutdown(&self, log_dir: Option<&Path>) {
        let started = std::time::Instant::now();
        // The process groups its descendants started (a test server's
        // pytest): found now, while they are still its descendants.
        let groups = self
            .pid
            .map(crate::sys::descendant_groups)
            .unwrap_or_default();
        // orch's own servers hold nothing to flush or hand back once their
        // last call has answered (edits are written atomically within a
        // call): they are stopped at once instead of being asked to exit,
        // which took 2–4 ms of every run. A server configured by the user
        // gets its end of input first and time to exit on its own.
        if self.builtin {
            kill_group(self.pid, libc::SIGKILL);
            self.abort_task();
        }
        if let Some(service) = self.service.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_millis(500), service.cancel()).await;
        }
        let cancelled = started.elapsed();
        let mut exited = self.wait(Duration::from_millis(1500)).await;
        tracing::debug!(
            server = %self.name,
            cancel_us = cancelled.as_micros() as u64,
            exit_us = started.elapsed().as_micros() as u64,
            "server stopping"
        );
        if !exited {
            kill_group(self.pid, libc::SIGTERM);
            exited = self.wait(Duration::from_millis(1500)).await;
        }
        // Also sweeps grandchildren left in the group after the leader exited.
        kill_group(self.pid, libc::SIGKILL);
        if !exited {
            self.wait(Duration::from_millis(1000)).await;
        }
        for group in &groups {
            crate::sys::kill_group(*group, libc::SIGKILL);
        }
        // SIGKILL is delivered asynchronously: a grandchild can still be
        // running for a moment after `killpg` returns. Wait until it is.
        wait_group_gone(self.pid, Duration::from_millis(1000)).await;
        for group in groups {
            wait_group_gone(u32::try_from(group).ok(), Duration::from_millis(1000)).await;
        }
        if let Some(dir) = log_dir {
            let bytes: Vec<u8> = self
                .stderr
                .lock()
                .map(|r| r.iter().copied().collect())
                .unwrap_or_default();
            if !bytes.is_empty() && std::fs::create_dir_all(dir).is_ok() {
                let _ = std::fs::write(dir.join(format!("{}.stderr.log", self.name)), bytes);
            }
        }
    }

    async fn wait(&self, limit: Duration) -> bool {
        if !self.is_alive() {
            return true;
        }
        // Woken by the kernel as the server exits (a pidfd turns readable);
        // polling would add a millisecond or two to every stop. The child is
        // not reaped yet (only `is_alive` reaps it), so its pid is still its.
        if let Some(fd) = self.pid.and_then(crate::sys::pidfd) {
            // SAFETY: the `OwnedFd` moves into the `AsyncFd`, which keeps it
            // open, and the same descriptor, until the `AsyncFd` is dropped.
            let registered = unsafe {
                tokio::io::unix::AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE)
            };
            if let Ok(exit) = registered {
                let _ = tokio::time::timeout(limit, exit.readable()).await;
                return !self.is_alive();
            }
        }
        poll_until(limit, || !self.is_alive()).await
    }
}

impl Drop for Connection {
    /// A connection dropped without `shutdown` (a panic, an abandoned run)
    /// still takes its whole process group down.
    fn drop(&mut self) {
        if self.is_alive() {
            kill_tree(self.pid);
            self.abort_task();
        }
    }
}

/// Kills the server's process group and every process group its
/// descendants started (a test server's pytest runs in a group of its own).
fn kill_tree(pid: Option<u32>) {
    let groups = pid.map(crate::sys::descendant_groups).unwrap_or_default();
    kill_group(pid, libc::SIGKILL);
    for group in groups {
        crate::sys::kill_group(group, libc::SIGKILL);
    }
}

fn kill_group(pid: Option<u32>, signal: i32) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // The group is the server's own (it was spawned as a group
        // leader), never orch's.
        crate::sys::kill_group(pid, signal);
    }
}

/// Waits until no process of the group `pid` is still running (exited
/// members that nobody has reaped yet count as gone), up to `limit`.
async fn wait_group_gone(pid: Option<u32>, limit: Duration) {
    let Some(pgid) = pid.and_then(|p| i32::try_from(p).ok()) else {
        return;
    };
    poll_until(limit, || !group_has_live_member(pgid)).await;
}

/// Polls `done` until it holds (true) or `limit` passes (false). A server
/// asked to stop usually exits within a few ms: poll every ms at first,
/// then every 10 ms.
async fn poll_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    let started = tokio::time::Instant::now();
    loop {
        if done() {
            return true;
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return false;
        }
        // Every ms (the timer's resolution) for the first 20 ms, where
        // nearly every exit lands, then every 10 ms.
        let pause = if now - started < Duration::from_millis(20) {
            Duration::from_millis(1)
        } else {
            Duration::from_millis(10)
        };
        tokio::time::sleep(pause).await;
    }
}

fn group_has_live_member(pgid: i32) -> bool {
    // Signal 0 only checks that the group has a member.
    if !crate::sys::kill_group(pgid, 0) {
        return false;
    }
    // Members that exited but were not reaped (their parent is init or a
    // subreaper) still count for `killpg`; look at their states instead.
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return true;
    };
    entries.flatten().any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            return false;
        };
        // `pid (comm) state ppid pgrp ...`; comm may contain spaces and ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
            return false;
        };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let group = fields.nth(1).and_then(|g| g.parse::<i32>().ok());
        group == Some(pgid) && !matches!(state, Some("Z" | "X"))
    })
}

fn tail(ring: &Arc<Mutex<VecDeque<u8>>>, max: usize) -> String {
    let bytes: Vec<u8> = ring
        .lock()
        .map(|r| {
            let skip = r.len().saturating_sub(max);
            r.iter().skip(skip).copied().collect()
        })
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Says when a server's death looks like one of its limits.
fn limit_hint(stderr: &str, memory_limit_mb: u64, open_files_limit: u64) -> String {
    let lower = stderr.to_ascii_lowercase();
    const MEMORY: &[&str] = &[
        "memory allocation of",
        "out of memory",
        "cannot allocate memory",
        "memoryerror",
        "enomem",
        "bad_alloc",
        "allocation failed",
    ];
    const FILES: &[&str] = &["too many open files", "emfile"];
    if lower.contains("signal: 9") || lower.contains("sigkill") {
        format!(
            "; it was killed (SIGKILL), as the kernel's OOM killer does; its memory limit is {memory_limit_mb} MiB"
        )
    } else if MEMORY.iter().any(|m| lower.contains(m)) {
        format!(
            "; it ran out of memory under its limit of {memory_limit_mb} MiB (raise `memoryLimitMb`)"
        )
    } else if FILES.iter().any(|m| lower.contains(m)) {
        format!(
            "; it ran out of file descriptors under its limit of {open_files_limit} (raise `openFilesLimit`)"
        )
    } else {
        String::new()
    }
}

/// Counts stdout lines longer than the SDK accepts.
#[derive(Default)]
struct Oversized {
    count: AtomicU64,
    last: AtomicUsize,
    notify: tokio::sync::Notify,
}

/// Passes the server's stdout through and notices over-long lines, which
/// the SDK drops silently.
struct LineGuard<R> {
    inner: R,
    line: usize,
    flagged: bool,
    oversized: Arc<Oversized>,
}

impl<R> LineGuard<R> {
    fn new(inner: R, oversized: Arc<Oversized>) -> Self {
        LineGuard {
            inner,
            line: 0,
            flagged: false,
            oversized,
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for LineGuard<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &poll {
            let this = &mut *self;
            for chunk in buf.filled()[before..].split_inclusive(|b| *b == b'\n') {
                this.line += chunk.len();
                if !this.flagged && this.line > MAX_LINE {
                    this.flagged = true;
                    this.oversized.last.store(this.line, Ordering::SeqCst);
                    this.oversized.count.fetch_add(1, Ordering::SeqCst);
                    this.oversized.notify.notify_waiters();
                }
                if chunk.last() == Some(&b'\n') {
                    this.line = 0;
                    this.flagged = false;
                }
            }
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn another_process_gets_its_limits_and_this_one_keeps_its_own() {
        let mine = std::fs::read_to_string("/proc/self/limits").unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        crate::sys::set_limit_of(child.id(), crate::sys::OPEN_FILES, 77).unwrap();
        crate::sys::set_limit_of(child.id(), crate::sys::MEMORY, 512 * 1024 * 1024).unwrap();
        let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        let row = |text: &str, name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .unwrap()
        };
        assert_eq!(row(&limits, "Max open files"), "Max open files 77 77 files");
        assert_eq!(
            row(&limits, "Max address space"),
            "Max address space 536870912 536870912 bytes"
        );
        assert_eq!(std::fs::read_to_string("/proc/self/limits").unwrap(), mine);
    }
}
