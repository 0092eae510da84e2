//! How to start each server of a run: orch's own (`ServerSpec::builtin`)
//! and the configured ones, and which server serves which role.

use super::*;

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
    pub(super) served: String,
    pub(super) options: crate::servers::ServeOptions,
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
