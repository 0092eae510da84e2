//! The servers of one run: spawned on first use, restarted (bounded, with
//! backoff) after a crash, called through the protocol with approval, the
//! in-flight limit, token charging and an audit line per call.

use super::*;

pub(super) struct Server {
    pub(super) spec: ServerSpec,
    pub(super) slot: tokio::sync::Mutex<Option<Arc<Connection>>>,
    /// Restarts after a death so far.
    pub(super) restarts: AtomicU32,
    pub(super) in_flight: Arc<tokio::sync::Semaphore>,
    /// Why it cannot start, when that cannot change during the run (no such
    /// command, not an MCP server): it is not started again.
    pub(super) cannot_start: Mutex<Option<String>>,
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
pub(super) struct AuditEntry<'a> {
    pub(super) server: &'a str,
    pub(super) role: Option<Role>,
    pub(super) call: &'a str,
    pub(super) tool: &'a str,
    pub(super) arguments: &'a Value,
    pub(super) started: Instant,
    pub(super) attempt: u32,
    pub(super) outcome: Result<&'a Reply, &'a Error>,
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

    /// Asks once, now, for every call of `calls` (all to the same tool),
    /// showing them as `shown`: a batch of writes is one question.
    pub async fn approve_batch<C: Call>(&self, calls: &[C], shown: &str) -> Result<(), Error> {
        let Some(first) = calls.first() else {
            return Ok(());
        };
        let (role, call) = (C::ROLE, C::TOOL);
        let spec = self.server_for(role)?;
        if adapt::is_local(spec, role, call) {
            return Ok(());
        }
        if calls.len() == 1 {
            return self.approve_ahead(first).await;
        }
        let tool = spec.tool_for(role, call);
        let connection = self.connection(&spec.name).await?;
        self.approver
            .check_batch(spec, tool, connection.tool(tool), calls.len(), shown)
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

pub(super) fn first_line(text: &str) -> String {
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
pub(super) fn to_arguments<C: Call>(call: &C) -> Result<Value, Error> {
    serde_json::to_value(call).map_err(|e| Error::Protocol {
        server: C::ROLE.as_str().to_owned(),
        message: format!("cannot encode the arguments of `{}`: {e}", C::TOOL),
    })
}
