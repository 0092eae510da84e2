//! `orch servers list` and `orch servers check`: what orch would run, and
//! whether each server starts, answers and has the tools its roles need.

use std::time::Instant;

use serde::Serialize;

use super::{Connection, Role, ServerSpec, Servers, adapt, futures_join_all};

/// One server as `orch servers list` shows it.
#[derive(Debug, Serialize)]
pub struct Listed {
    pub name: String,
    pub source: String,
    pub enabled: bool,
    /// Roles it serves in a run.
    pub roles: Vec<&'static str>,
    /// Roles it claims but another server serves.
    pub overridden: Vec<&'static str>,
    pub command: String,
    /// Names only: values are secrets.
    pub env: Vec<String>,
    pub trusted: bool,
    pub call_timeout_ms: u128,
    pub startup_timeout_ms: u128,
    pub memory_limit_mb: u64,
    pub open_files_limit: u64,
    pub max_in_flight: usize,
    pub max_restarts: u32,
}

pub fn list(servers: &Servers) -> Vec<Listed> {
    let enabled = servers
        .specs
        .iter()
        .map(|spec| listed(spec, servers.roles_of(&spec.name), true));
    let disabled = servers
        .disabled
        .iter()
        .map(|spec| listed(spec, Vec::new(), false));
    enabled.chain(disabled).collect()
}

fn listed(spec: &ServerSpec, roles: Vec<Role>, enabled: bool) -> Listed {
    Listed {
        name: spec.name.clone(),
        source: spec.source.to_string(),
        enabled,
        roles: roles.iter().map(|r| r.as_str()).collect(),
        overridden: spec
            .roles
            .keys()
            .filter(|r| !roles.contains(r))
            .map(|r| r.as_str())
            .collect(),
        command: spec.command_line(),
        env: spec.env.keys().cloned().collect(),
        trusted: spec.trusted,
        call_timeout_ms: spec.call_timeout.as_millis(),
        startup_timeout_ms: spec.startup_timeout.as_millis(),
        memory_limit_mb: spec.memory_limit_mb,
        open_files_limit: spec.open_files_limit,
        max_in_flight: spec.max_in_flight,
        max_restarts: spec.max_restarts,
    }
}

/// What `orch servers check` found for one server.
#[derive(Debug, Serialize)]
pub struct Checked {
    pub name: String,
    pub source: String,
    pub ok: bool,
    /// Spawn to handshake done and tools listed.
    pub ready_ms: Option<f64>,
    pub server_info: Option<String>,
    pub tools: Vec<CheckedTool>,
    /// Roles it serves in a run.
    pub roles: Vec<&'static str>,
    /// Roles whose tools it has (as configured, or by orch's own names).
    pub can_serve: Vec<&'static str>,
    /// `role: tool` pairs a role it serves needs and it lacks.
    pub missing: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CheckedTool {
    pub name: String,
    /// read-only, destructive, idempotent, or unannotated.
    pub hints: Vec<&'static str>,
}

/// The server tools a role needs from `spec`, with the refactors that
/// need them when not every run does.
fn needed(spec: &ServerSpec, role: Role) -> Vec<(&str, Option<&'static str>)> {
    crate::protocol::calls(role)
        .iter()
        .filter(|call| !adapt::is_local(spec, role, call.tool))
        .map(|call| (spec.tool_for(role, call.tool), call.needed_for))
        .collect()
}

pub async fn check(servers: &Servers, names: &[String]) -> Vec<Checked> {
    let chosen: Vec<&ServerSpec> = servers
        .specs
        .iter()
        .filter(|s| names.is_empty() || names.contains(&s.name))
        .collect();
    futures_join_all(chosen.into_iter().map(|spec| check_one(servers, spec))).await
}

async fn check_one(servers: &Servers, spec: &ServerSpec) -> Checked {
    let roles = servers.roles_of(&spec.name);
    let started = Instant::now();
    let mut checked = Checked {
        name: spec.name.clone(),
        source: spec.source.to_string(),
        ok: false,
        ready_ms: None,
        server_info: None,
        tools: Vec::new(),
        roles: roles.iter().map(|r| r.as_str()).collect(),
        can_serve: Vec::new(),
        missing: Vec::new(),
        error: None,
    };
    let connection = match Connection::start(spec).await {
        Ok(connection) => connection,
        Err(error) => {
            checked.error = Some(error.to_string());
            return checked;
        }
    };
    checked.ready_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    checked.server_info = connection.server_info();
    checked.tools = connection
        .tools()
        .iter()
        .map(|t| CheckedTool {
            name: t.name.clone(),
            hints: if !t.annotated {
                vec!["unannotated"]
            } else {
                let mut hints = Vec::new();
                if t.read_only {
                    hints.push("read-only");
                }
                if t.destructive {
                    hints.push("destructive");
                }
                if t.idempotent {
                    hints.push("idempotent");
                }
                hints
            },
        })
        .collect();
    for role in Role::ALL {
        let lacking: Vec<String> = needed(spec, role)
            .into_iter()
            .filter(|(tool, _)| connection.tool(tool).is_none())
            .map(|(tool, needed_for)| match needed_for {
                Some(refactors) => format!("{tool} (for {refactors})"),
                None => tool.to_owned(),
            })
            .collect();
        if lacking.is_empty() {
            checked.can_serve.push(role.as_str());
        } else if roles.contains(&role) {
            checked
                .missing
                .extend(lacking.iter().map(|t| format!("{}: {t}", role.as_str())));
        }
    }
    connection.shutdown(None).await;
    checked.ok = checked.missing.is_empty();
    checked
}
