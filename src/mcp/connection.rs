//! One running MCP server: the child process (a process-group leader), its
//! rmcp client session and its drained stderr.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResponse};
use rmcp::service::{Peer, RoleClient, RunningService};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use super::{Error, Reply, ServerSpec};
use crate::budget::count_tokens;

/// Bytes of stderr kept per server.
const STDERR_KEEP: usize = 64 * 1024;
/// Bytes of stderr shown in an error.
const STDERR_SHOW: usize = 2 * 1024;

pub struct Connection {
    name: String,
    /// Tool names from `tools/list`.
    tools: Vec<String>,
    call_timeout: Duration,
    pid: Option<u32>,
    child: Mutex<tokio::process::Child>,
    peer: Peer<RoleClient>,
    service: tokio::sync::Mutex<Option<RunningService<RoleClient, ()>>>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
}

impl Connection {
    /// Spawns the server, completes the handshake and returns the session.
    pub async fn start(spec: &ServerSpec) -> Result<Connection, Error> {
        let span = tracing::info_span!("mcp_start", server = %spec.name);
        let _enter = span.enter();
        let mut command = tokio::process::Command::new(&spec.command);
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
        let mut child = command.spawn().map_err(|e| Error::Spawn {
            server: spec.name.clone(),
            reason: format!("`{}`: {e}", spec.command.to_string_lossy()),
        })?;
        let pid = child.id();
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
                    let _ = child.start_kill();
                    return Err(connection_error(e.to_string(), &stderr));
                }
                Err(_) => {
                    kill_group(pid, libc::SIGKILL);
                    return Err(connection_error(
                        format!(
                            "no answer to `initialize` within {}s",
                            spec.startup_timeout.as_secs_f64()
                        ),
                        &stderr,
                    ));
                }
            };
        let tools = match tokio::time::timeout(spec.startup_timeout, service.list_all_tools()).await
        {
            Ok(Ok(tools)) => tools.into_iter().map(|t| t.name.to_string()).collect(),
            Ok(Err(e)) => {
                kill_group(pid, libc::SIGKILL);
                return Err(connection_error(
                    format!("`tools/list` failed: {e}"),
                    &stderr,
                ));
            }
            Err(_) => {
                kill_group(pid, libc::SIGKILL);
                return Err(connection_error(
                    "no answer to `tools/list`".into(),
                    &stderr,
                ));
            }
        };
        let peer = service.peer().clone();
        Ok(Connection {
            tools,
            name: spec.name.clone(),
            call_timeout: spec.call_timeout,
            pid,
            child: Mutex::new(child),
            peer,
            service: tokio::sync::Mutex::new(Some(service)),
            stderr,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether the process is still running.
    pub fn is_alive(&self) -> bool {
        self.child
            .lock()
            .map(|mut child| matches!(child.try_wait(), Ok(None)))
            .unwrap_or(false)
    }

    fn exit_status(&self) -> Option<String> {
        let mut child = self.child.lock().ok()?;
        child
            .try_wait()
            .ok()
            .flatten()
            .map(|status| status.to_string())
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
        if !self.tools.iter().any(|t| t == tool) {
            return Err(Error::Tool {
                server: self.name.clone(),
                tool: tool.to_owned(),
                message: format!(
                    "the server has no such tool (it lists: {})",
                    self.tools.join(", ")
                ),
            });
        }
        let params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        let outcome =
            tokio::time::timeout(self.call_timeout, self.peer.call_tool_once(params)).await;
        let response = match outcome {
            Err(_) => {
                return Err(Error::Timeout {
                    server: self.name.clone(),
                    tool: tool.to_owned(),
                    after: self.call_timeout,
                });
            }
            Ok(Err(error)) => {
                // Distinguish a dead server from a protocol problem.
                tokio::time::sleep(Duration::from_millis(20)).await;
                if let Some(status) = self.exit_status() {
                    return Err(Error::Crashed {
                        server: self.name.clone(),
                        tool: tool.to_owned(),
                        status,
                        stderr: tail(&self.stderr, STDERR_SHOW),
                    });
                }
                return Err(Error::Protocol {
                    server: self.name.clone(),
                    message: format!("`{tool}`: {error}"),
                });
            }
            Ok(Ok(response)) => response,
        };
        let CallToolResponse::Complete(result) = response else {
            return Err(Error::Protocol {
                server: self.name.clone(),
                message: format!(
                    "`{tool}` asked for input or started a task; orch supports neither"
                ),
            });
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
        let tokens = count_tokens(&counted);
        let bytes = counted.len();
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

    /// Close stdin, wait, SIGTERM the group, wait, SIGKILL the group, reap;
    /// saves the stderr tail to `log_dir/<name>.stderr.log`.
    pub async fn shutdown(&self, log_dir: Option<&Path>) {
        if let Some(service) = self.service.lock().await.take() {
            let _ = tokio::time::timeout(Duration::from_millis(500), service.cancel()).await;
        }
        let mut exited = self.wait(Duration::from_millis(1500)).await;
        if !exited {
            kill_group(self.pid, libc::SIGTERM);
            exited = self.wait(Duration::from_millis(1500)).await;
        }
        // Also sweeps grandchildren left in the group after the leader exited.
        kill_group(self.pid, libc::SIGKILL);
        if !exited {
            self.wait(Duration::from_millis(1000)).await;
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
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if !self.is_alive() {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Connection {
    /// A connection dropped without `shutdown` (a panic, an abandoned run)
    /// still takes its whole process group down.
    fn drop(&mut self) {
        if self.is_alive() {
            kill_group(self.pid, libc::SIGKILL);
        }
    }
}

fn kill_group(pid: Option<u32>, signal: i32) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: killpg only sends a signal; the group is the server's own
        // (it was spawned as a group leader), never orch's.
        unsafe {
            libc::killpg(pid, signal);
        }
    }
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
