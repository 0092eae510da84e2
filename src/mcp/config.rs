//! MCP server configuration in the ecosystem's shape:
//!
//! ```json
//! {"mcpServers": {"NAME": {"command": "...", "args": [], "env": {}, "cwd": "...", "enabled": true,
//!   "roles": {"search": {"search": {"tool": "count-matches", "arguments": {...}, "result": "rg-count"}}},
//!   "startupTimeoutMs": 10000, "callTimeoutMs": 60000, "memoryLimitMb": 2048, "openFilesLimit": 1024,
//!   "maxInFlight": 8, "restart": {"maxRestarts": 3}, "trusted": false,
//!   "container": {"image": "node:22-slim", "cpus": 1}}}}
//! ```
//!
//! Files are read in order `~/.config/orch/mcp.json`, `.mcp.json` at the
//! repository root, `--mcp-config FILE`; a later file's server replaces an
//! earlier one of the same name. `${VAR}` and `${VAR:-default}` in `env`,
//! `args`, `command` and `cwd` expand from the environment; `${ORCH_ROOT}`
//! is the directory the run works on (orch's private worktree).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use super::Role;

pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_MEMORY_LIMIT_MB: u64 = 2048;
pub const DEFAULT_OPEN_FILES_LIMIT: u64 = 1024;
pub const DEFAULT_MAX_RESTARTS: u32 = 3;
/// Expanded at spawn time to the run's root directory.
pub const ROOT_VAR: &str = "ORCH_ROOT";

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read MCP config `{}`: {reason}", .file.display())]
    Read { file: PathBuf, reason: String },
    #[error("MCP config `{}`: {key}: {expected}", .file.display())]
    Invalid {
        file: PathBuf,
        key: String,
        expected: String,
    },
}

/// Where a server's configuration came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Builtin,
    File(PathBuf),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Builtin => f.write_str("built-in"),
            Source::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// How the result of a mapped tool is read back into orch's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultFormat {
    /// The structured content, or the text parsed as JSON (orch's own shape).
    Json,
    /// ripgrep `--count`/`--count-matches` lines: `PATH:N`.
    RgCount,
    /// ripgrep match lines: `PATH:LINE:TEXT` (counted per file).
    RgLines,
    /// Any text; orch checks the effect itself (fs edits).
    Text,
}

impl ResultFormat {
    fn parse(text: &str) -> Option<ResultFormat> {
        Some(match text {
            "json" => ResultFormat::Json,
            "rg-count" => ResultFormat::RgCount,
            "rg-lines" => ResultFormat::RgLines,
            "text" => ResultFormat::Text,
            _ => return None,
        })
    }
}

/// How one of orch's calls maps onto a server's tool.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolMapping {
    /// The server's tool name.
    pub tool: String,
    /// Argument template; `"{var}"` is replaced by the variable's JSON value,
    /// `{var}` inside a longer string by its text. `None`: orch's own arguments.
    pub arguments: Option<Value>,
    pub result: ResultFormat,
}

/// One configured server.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub name: String,
    pub source: Source,
    pub command: String,
    pub args: Vec<String>,
    /// Expanded values (secrets: never logged or recorded).
    pub env: BTreeMap<String, String>,
    pub cwd: Option<String>,
    pub enabled: bool,
    /// Roles served and, per orch call, the mapping (absent: same name and arguments).
    pub roles: BTreeMap<Role, BTreeMap<String, ToolMapping>>,
    pub startup_timeout: Duration,
    pub call_timeout: Option<Duration>,
    pub memory_limit_mb: u64,
    pub open_files_limit: u64,
    pub max_in_flight: Option<usize>,
    pub max_restarts: u32,
    pub container: Option<Container>,
    /// Whether its tool annotations are believed.
    pub trusted: bool,
}

/// Run the server in a container: orch builds the `docker run` command.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub image: String,
    pub cpus: Option<f64>,
    /// `docker` unless set (`podman` works too).
    pub runtime: String,
}

/// Every configured server, in file order, and what was noticed on the way.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub servers: Vec<ServerConfig>,
    pub warnings: Vec<String>,
    /// Files read, in order.
    pub files: Vec<PathBuf>,
}

/// The files orch reads, lowest precedence first, and whether each must exist.
pub fn config_files(
    repo_root: &Path,
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<(PathBuf, bool)> {
    let mut files = Vec::new();
    let config_home = env("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(home) = config_home {
        files.push((home.join("orch").join("mcp.json"), false));
    }
    files.push((repo_root.join(".mcp.json"), false));
    if let Some(file) = explicit {
        // Absolute, so that `servers list` says where a server came from.
        let file = file.canonicalize().unwrap_or_else(|_| file.to_owned());
        files.push((file, true));
    }
    files
}

/// Reads and merges the files (later ones win per server name).
pub fn load(
    files: &[(PathBuf, bool)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, Error> {
    let mut config = Config::default();
    for (file, required) in files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => continue,
            Err(e) => {
                return Err(Error::Read {
                    file: file.clone(),
                    reason: e.to_string(),
                });
            }
        };
        // The shared files (`~/.config/orch/mcp.json`, `.mcp.json`) may
        // hold other tools' servers; a file named with `--mcp-config` is
        // orch's, and its mistakes are errors.
        let lenient = !required;
        let servers = parse(file, &text, env, lenient, &mut config.warnings)?;
        config.files.push(file.clone());
        for server in servers {
            config.servers.retain(|s| s.name != server.name);
            config.servers.push(server);
        }
    }
    Ok(config)
}

const SERVER_KEYS: &[&str] = &[
    "command",
    "args",
    "env",
    "cwd",
    "enabled",
    "disabled",
    "type",
    "roles",
    "startupTimeoutMs",
    "callTimeoutMs",
    "memoryLimitMb",
    "openFilesLimit",
    "maxInFlight",
    "restart",
    "container",
    "trusted",
    "description",
];

/// Parses one file's text.
pub fn parse(
    file: &Path,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    lenient: bool,
    warnings: &mut Vec<String>,
) -> Result<Vec<ServerConfig>, Error> {
    let invalid = |key: &str, expected: &str| invalid_key(file, key, expected);
    let root: Value = serde_json::from_str(text).map_err(|e| Error::Invalid {
        file: file.to_owned(),
        key: format!("line {}, column {}", e.line(), e.column()),
        expected: format!("valid JSON ({e})"),
    })?;
    let Value::Object(root) = root else {
        return Err(invalid("(top level)", "an object with `mcpServers`"));
    };
    for key in root.keys() {
        if key != "mcpServers" {
            warnings.push(format!("{}: unknown key `{key}` ignored", file.display()));
        }
    }
    let servers = match root.get("mcpServers") {
        None => return Ok(Vec::new()),
        Some(Value::Object(servers)) => servers,
        Some(_) => return Err(invalid("mcpServers", "an object of servers by name")),
    };
    let mut out = Vec::new();
    for (name, value) in servers {
        // In a shared file, a server that claims no role is never started:
        // configuration orch cannot use (a remote transport, an unset
        // variable, another tool's keys) only skips it, with a warning.
        let claims_role = value
            .get("roles")
            .is_some_and(|roles| !roles.is_null() && roles != &Value::Array(Vec::new()));
        match parse_server(file, name, value, env, warnings) {
            Ok(server) => out.push(server),
            Err(error) if lenient && !claims_role => warnings.push(format!(
                "MCP server `{name}` skipped ({}): orch does not use it",
                first_sentence(&error.to_string())
            )),
            Err(error) => return Err(error),
        }
    }
    Ok(out)
}

/// One entry of `mcpServers`.
fn parse_server(
    file: &Path,
    name: &String,
    value: &Value,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<ServerConfig, Error> {
    let invalid = |key: &str, expected: &str| invalid_key(file, key, expected);
    let at = |key: &str| format!("mcpServers.{name}.{key}");
    let Value::Object(entry) = value else {
        return Err(invalid(&format!("mcpServers.{name}"), "an object"));
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(invalid(
            &format!("mcpServers.{name}"),
            "a name of letters, digits, `-`, `_` or `.`",
        ));
    }
    for key in entry.keys() {
        if !SERVER_KEYS.contains(&key.as_str()) {
            warnings.push(format!(
                "{}: unknown key `{}` ignored",
                file.display(),
                at(key)
            ));
        }
    }
    if let Some(kind) = entry.get("type")
        && kind.as_str() != Some("stdio")
    {
        return Err(invalid(
            &at("type"),
            "\"stdio\" (orch runs servers as child processes; remote transports are not supported)",
        ));
    }
    let expand = |key: &str, text: &str| -> Result<String, Error> {
        expand_vars(text, env).map_err(|var| {
            invalid(
                key,
                &format!("`${{{var}}}` is not set in the environment (use `${{{var}:-default}}` for a default)"),
            )
        })
    };
    let command = match entry.get("command") {
        Some(Value::String(c)) if !c.trim().is_empty() => expand(&at("command"), c)?,
        _ => return Err(invalid(&at("command"), "a non-empty string")),
    };
    let args = match entry.get("args") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            let mut args = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let key = format!("{}[{i}]", at("args"));
                match item {
                    Value::String(s) => args.push(expand(&key, s)?),
                    _ => return Err(invalid(&key, "a string")),
                }
            }
            args
        }
        Some(_) => return Err(invalid(&at("args"), "an array of strings")),
    };
    let mut server_env = BTreeMap::new();
    match entry.get("env") {
        None => {}
        Some(Value::Object(vars)) => {
            for (key, value) in vars {
                let at_key = format!("{}.{key}", at("env"));
                match value {
                    Value::String(s) => {
                        server_env.insert(key.clone(), expand(&at_key, s)?);
                    }
                    _ => return Err(invalid(&at_key, "a string")),
                }
            }
        }
        Some(_) => return Err(invalid(&at("env"), "an object of strings")),
    }
    let cwd = match entry.get("cwd") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(expand(&at("cwd"), s)?),
        Some(_) => return Err(invalid(&at("cwd"), "a string")),
    };
    let mut enabled = bool_key(entry, "enabled", &at("enabled"), file)?.unwrap_or(true);
    if bool_key(entry, "disabled", &at("disabled"), file)? == Some(true) {
        enabled = false;
    }
    let trusted = bool_key(entry, "trusted", &at("trusted"), file)?.unwrap_or(false);
    let startup_timeout = millis(entry, "startupTimeoutMs", &at("startupTimeoutMs"), file)?
        .unwrap_or(DEFAULT_STARTUP_TIMEOUT);
    let call_timeout = millis(entry, "callTimeoutMs", &at("callTimeoutMs"), file)?;
    let memory_limit_mb = positive(entry, "memoryLimitMb", &at("memoryLimitMb"), file)?
        .unwrap_or(DEFAULT_MEMORY_LIMIT_MB);
    let open_files_limit = positive(entry, "openFilesLimit", &at("openFilesLimit"), file)?
        .unwrap_or(DEFAULT_OPEN_FILES_LIMIT);
    let max_in_flight = positive(entry, "maxInFlight", &at("maxInFlight"), file)?
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let max_restarts = match entry.get("restart") {
        None => DEFAULT_MAX_RESTARTS,
        Some(Value::Object(restart)) => {
            for key in restart.keys() {
                if key != "maxRestarts" {
                    warnings.push(format!(
                        "{}: unknown key `{}.{key}` ignored",
                        file.display(),
                        at("restart")
                    ));
                }
            }
            match restart.get("maxRestarts") {
                None => DEFAULT_MAX_RESTARTS,
                Some(v) => v
                    .as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| {
                        invalid(
                            &format!("{}.maxRestarts", at("restart")),
                            "a whole number ≥ 0",
                        )
                    })?,
            }
        }
        Some(_) => {
            return Err(invalid(
                &at("restart"),
                "an object such as {\"maxRestarts\": 3}",
            ));
        }
    };
    let container = match entry.get("container") {
        None | Some(Value::Null) => None,
        Some(Value::Object(c)) => {
            for key in c.keys() {
                if !["image", "cpus", "runtime"].contains(&key.as_str()) {
                    warnings.push(format!(
                        "{}: unknown key `{}.{key}` ignored",
                        file.display(),
                        at("container")
                    ));
                }
            }
            let image = match c.get("image") {
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                _ => {
                    return Err(invalid(
                        &format!("{}.image", at("container")),
                        "a non-empty image name",
                    ));
                }
            };
            let cpus = match c.get("cpus") {
                None => None,
                Some(v) => Some(v.as_f64().filter(|n| *n > 0.0).ok_or_else(|| {
                    invalid(&format!("{}.cpus", at("container")), "a positive number")
                })?),
            };
            let runtime = match c.get("runtime") {
                None => "docker".to_owned(),
                Some(Value::String(s)) if !s.is_empty() => s.clone(),
                Some(_) => {
                    return Err(invalid(
                        &format!("{}.runtime", at("container")),
                        "a command such as \"docker\" or \"podman\"",
                    ));
                }
            };
            Some(Container {
                image,
                cpus,
                runtime,
            })
        }
        Some(_) => {
            return Err(invalid(
                &at("container"),
                "an object such as {\"image\": \"node:22-slim\"}",
            ));
        }
    };
    let roles = parse_roles(entry.get("roles"), &at("roles"), file)?;
    Ok(ServerConfig {
        name: name.clone(),
        source: Source::File(file.to_owned()),
        command,
        args,
        env: server_env,
        cwd,
        enabled,
        roles,
        startup_timeout,
        call_timeout,
        memory_limit_mb,
        open_files_limit,
        max_in_flight,
        max_restarts,
        container,
        trusted,
    })
}

/// An error's first part (before any parenthesised explanation).
fn first_sentence(text: &str) -> &str {
    text.split(" (").next().unwrap_or(text)
}

fn parse_roles(
    value: Option<&Value>,
    at: &str,
    file: &Path,
) -> Result<BTreeMap<Role, BTreeMap<String, ToolMapping>>, Error> {
    let invalid = |key: &str, expected: &str| invalid_key(file, key, expected);
    let role_of = |name: &str, key: &str| {
        Role::parse(name).ok_or_else(|| invalid(key, "one of the roles search, code, fs, test"))
    };
    let mut roles = BTreeMap::new();
    match value {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let key = format!("{at}[{i}]");
                let name = item.as_str().ok_or_else(|| invalid(&key, "a role name"))?;
                roles.insert(role_of(name, &key)?, BTreeMap::new());
            }
        }
        Some(Value::Object(map)) => {
            for (name, calls) in map {
                let key = format!("{at}.{name}");
                let role = role_of(name, &key)?;
                let known = crate::protocol::calls(role);
                let mut mapped = BTreeMap::new();
                match calls {
                    Value::Bool(true) | Value::Null => {}
                    Value::Object(calls) => {
                        for (call, mapping) in calls {
                            let call_key = format!("{key}.{call}");
                            let Some(known_call) = known.iter().find(|c| c.tool == call) else {
                                return Err(invalid(
                                    &call_key,
                                    &format!(
                                        "one of orch's `{}` calls: {}",
                                        role.as_str(),
                                        known.iter().map(|c| c.tool).collect::<Vec<_>>().join(", ")
                                    ),
                                ));
                            };
                            mapped.insert(
                                call.clone(),
                                parse_mapping(mapping, &call_key, &known_call.variables(), file)?,
                            );
                        }
                    }
                    _ => {
                        return Err(invalid(
                            &key,
                            "true, or an object mapping orch's calls to the server's tools",
                        ));
                    }
                }
                roles.insert(role, mapped);
            }
        }
        Some(_) => {
            return Err(invalid(
                at,
                "an array of roles or an object of role mappings",
            ));
        }
    }
    Ok(roles)
}

fn parse_mapping(
    value: &Value,
    at: &str,
    vars: &[String],
    file: &Path,
) -> Result<ToolMapping, Error> {
    let invalid = |key: &str, expected: &str| invalid_key(file, key, expected);
    let Value::Object(map) = value else {
        return Err(invalid(
            at,
            "an object such as {\"tool\": \"NAME\", \"arguments\": {...}}",
        ));
    };
    for key in map.keys() {
        if !["tool", "arguments", "result"].contains(&key.as_str()) {
            return Err(invalid(
                &format!("{at}.{key}"),
                "no such key (known: tool, arguments, result)",
            ));
        }
    }
    let tool = match map.get("tool") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(invalid(&format!("{at}.tool"), "the server's tool name")),
    };
    let arguments = match map.get("arguments") {
        None => None,
        Some(template @ Value::Object(_)) => {
            let mut used = Vec::new();
            template_vars(template, &mut used);
            if let Some(unknown) = used.iter().find(|v| !vars.contains(v)) {
                return Err(invalid(
                    &format!("{at}.arguments"),
                    &format!(
                        "no variable `{{{unknown}}}` here (known: {})",
                        vars.iter()
                            .map(|v| format!("{{{v}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            Some(template.clone())
        }
        Some(_) => return Err(invalid(&format!("{at}.arguments"), "an object")),
    };
    let result = match map.get("result") {
        None => ResultFormat::Json,
        Some(Value::String(s)) => ResultFormat::parse(s).ok_or_else(|| {
            invalid(
                &format!("{at}.result"),
                "one of \"json\", \"rg-count\", \"rg-lines\", \"text\"",
            )
        })?,
        Some(_) => return Err(invalid(&format!("{at}.result"), "a string")),
    };
    Ok(ToolMapping {
        tool,
        arguments,
        result,
    })
}

fn invalid_key(file: &Path, key: &str, expected: &str) -> Error {
    Error::Invalid {
        file: file.to_owned(),
        key: key.to_owned(),
        expected: expected.to_owned(),
    }
}

fn bool_key(
    entry: &Map<String, Value>,
    key: &str,
    at: &str,
    file: &Path,
) -> Result<Option<bool>, Error> {
    match entry.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid_key(file, at, "true or false")),
    }
}

fn positive(
    entry: &Map<String, Value>,
    key: &str,
    at: &str,
    file: &Path,
) -> Result<Option<u64>, Error> {
    match entry.get(key) {
        None => Ok(None),
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(invalid_key(file, at, "a whole number > 0")),
        },
    }
}

fn millis(
    entry: &Map<String, Value>,
    key: &str,
    at: &str,
    file: &Path,
) -> Result<Option<Duration>, Error> {
    Ok(positive(entry, key, at, file)?.map(Duration::from_millis))
}

/// Expands `${VAR}` and `${VAR:-default}`; `${ORCH_ROOT}` is kept for spawn
/// time. Returns the name of a variable that is not set.
pub fn expand_vars(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (inner, None),
        };
        if name == ROOT_VAR {
            out.push_str(&rest[start..start + 2 + end + 1]);
        } else {
            match (env(name), default) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => return Err(name.to_owned()),
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Replaces `${ORCH_ROOT}` with the run's root.
pub fn expand_root(text: &str, root: &Path) -> String {
    text.replace(&format!("${{{ROOT_VAR}}}"), &root.to_string_lossy())
}

/// Variables `{name}` used in string values of a template.
fn template_vars(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            let mut rest = s.as_str();
            while let Some(start) = rest.find('{') {
                let after = &rest[start + 1..];
                match after.find('}') {
                    Some(end) if is_var_name(&after[..end]) => {
                        out.push(after[..end].to_owned());
                        rest = &after[end + 1..];
                    }
                    _ => rest = after,
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| template_vars(v, out)),
        Value::Object(map) => map.values().for_each(|v| template_vars(v, out)),
        _ => {}
    }
}

fn is_var_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_lowercase() || c == '_')
}

/// Fills a template: `"{var}"` becomes the variable's value (any JSON type);
/// `{var}` inside a longer string becomes its text.
pub fn render(template: &Value, vars: &Map<String, Value>) -> Value {
    match template {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}'))
                && is_var_name(name)
            {
                return vars.get(name).cloned().unwrap_or(Value::Null);
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find('{') {
                out.push_str(&rest[..start]);
                let after = &rest[start + 1..];
                match after.find('}') {
                    Some(end) if is_var_name(&after[..end]) => {
                        match vars.get(&after[..end]) {
                            Some(Value::String(text)) => out.push_str(text),
                            Some(Value::Null) => {}
                            Some(other) => out.push_str(&other.to_string()),
                            None => out.push_str(&rest[start..start + end + 2]),
                        }
                        rest = &after[end + 1..];
                    }
                    _ => {
                        out.push('{');
                        rest = after;
                    }
                }
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| render(v, vars)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render(v, vars)))
                .filter(|(_, v)| !v.is_null())
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The command line for a container: `docker run -i --rm --network none
/// --user 65534:65534 --memory ... --cpus ...` with the root mounted at the
/// same path and the environment passed by name only.
pub fn container_command(
    container: &Container,
    command: &str,
    args: &[String],
    env_names: &[&String],
    root: &Path,
    cwd: &Path,
    memory_limit_mb: u64,
) -> (String, Vec<String>) {
    let root = root.to_string_lossy();
    let mut out: Vec<String> = vec![
        "run".into(),
        "-i".into(),
        "--rm".into(),
        "--init".into(),
        "--network".into(),
        "none".into(),
        "--user".into(),
        "65534:65534".into(),
        "--memory".into(),
        format!("{memory_limit_mb}m"),
        "--pids-limit".into(),
        "256".into(),
        "--security-opt".into(),
        "no-new-privileges".into(),
    ];
    if let Some(cpus) = container.cpus {
        out.push("--cpus".into());
        out.push(cpus.to_string());
    }
    out.push("--volume".into());
    out.push(format!("{root}:{root}"));
    out.push("--workdir".into());
    out.push(cwd.to_string_lossy().into_owned());
    for name in env_names {
        // By name only: the value comes from orch's environment for the
        // child, so it never appears on a command line.
        out.push("--env".into());
        out.push((*name).clone());
    }
    out.push(container.image.clone());
    out.push(command.to_owned());
    out.extend(args.iter().cloned());
    (container.runtime.clone(), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "HOME" => Some("/home/u".into()),
            _ => None,
        }
    }

    fn parse_text(text: &str) -> (Result<Vec<ServerConfig>, Error>, Vec<String>) {
        let mut warnings = Vec::new();
        let result = parse(Path::new("/x/.mcp.json"), text, &env, true, &mut warnings);
        (result, warnings)
    }

    #[test]
    fn reads_the_common_shape_and_orch_keys() {
        let (servers, warnings) = parse_text(
            r#"{"mcpServers": {"files": {
                "command": "mcp-server-filesystem", "args": ["${ORCH_ROOT}", "${HOME}/x"],
                "env": {"API_TOKEN": "${TOKEN}", "MODE": "${MODE:-fast}"},
                "roles": {"fs": {"edit_file": {"tool": "edit_file",
                    "arguments": {"path": "{abs_path}", "edits": "{text_edits}"}, "result": "text"}}},
                "callTimeoutMs": 5000, "maxInFlight": 2, "restart": {"maxRestarts": 1},
                "memoryLimitMb": 512, "colour": "blue"}}}"#,
        );
        let servers = servers.unwrap();
        let s = &servers[0];
        assert_eq!(s.args, vec!["${ORCH_ROOT}", "/home/u/x"]);
        assert_eq!(s.env["API_TOKEN"], "s3cret");
        assert_eq!(s.env["MODE"], "fast");
        assert_eq!(s.call_timeout, Some(Duration::from_millis(5000)));
        assert_eq!(
            (s.max_in_flight, s.max_restarts, s.memory_limit_mb),
            (Some(2), 1, 512)
        );
        let mapping = &s.roles[&Role::Fs]["edit_file"];
        assert_eq!(mapping.tool, "edit_file");
        assert_eq!(mapping.result, ResultFormat::Text);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("mcpServers.files.colour"),
            "{warnings:?}"
        );
    }

    #[test]
    fn errors_name_the_file_the_key_and_what_was_expected() {
        for (text, key) in [
            (
                r#"{"mcpServers": {"a": {"roles": ["search"], "args": []}}}"#,
                "mcpServers.a.command",
            ),
            (
                r#"{"mcpServers": {"a": {"roles": ["search"], "command": "x", "args": "y"}}}"#,
                "mcpServers.a.args",
            ),
            (
                r#"{"mcpServers": {"a": {"roles": ["search"], "command": "x", "maxInFlight": 0}}}"#,
                "mcpServers.a.maxInFlight",
            ),
            (
                r#"{"mcpServers": {"a": {"command": "x", "roles": ["git"]}}}"#,
                "mcpServers.a.roles[0]",
            ),
            (
                r#"{"mcpServers": {"a": {"roles": ["search"], "command": "x", "env": {"K": "${NOPE}"}}}}"#,
                "mcpServers.a.env.K",
            ),
            (
                r#"{"mcpServers": {"a": {"command": "x", "roles": {"search": {"search": {"tool": "t", "arguments": {"p": "{nope}"}}}}}}}"#,
                "mcpServers.a.roles.search.search.arguments",
            ),
            (r#"{"mcpServers": [1]"#, "line 1"),
        ] {
            let error = parse_text(text).0.unwrap_err().to_string();
            assert!(error.contains("/x/.mcp.json"), "{error}");
            assert!(error.contains(key), "{key}: {error}");
        }
        // The same mistakes in a server that claims no role (orch never
        // starts it) only skip it.
        for text in [
            r#"{"mcpServers": {"a": {"args": []}}}"#,
            r#"{"mcpServers": {"a": {"type": "http", "url": "https://x"}}}"#,
            r#"{"mcpServers": {"a": {"command": "x", "env": {"K": "${NOPE}"}}}}"#,
        ] {
            let (servers, warnings) = parse_text(text);
            assert!(servers.unwrap().is_empty(), "{text}");
            assert!(
                warnings.iter().any(|w| w.contains("`a` skipped")),
                "{warnings:?}"
            );
        }
    }

    #[test]
    fn later_files_replace_servers_of_the_same_name() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let b = dir.path().join("b.json");
        std::fs::write(
            &a,
            r#"{"mcpServers": {"s": {"command": "one"}, "t": {"command": "t"}}}"#,
        )
        .unwrap();
        std::fs::write(&b, r#"{"mcpServers": {"s": {"command": "two"}}}"#).unwrap();
        let missing = dir.path().join("missing.json");
        let config = load(&[(a, false), (missing.clone(), false), (b, true)], &env).unwrap();
        let commands: Vec<_> = config.servers.iter().map(|s| s.command.as_str()).collect();
        assert_eq!(commands, vec!["t", "two"]);
        assert!(load(&[(missing, true)], &env).is_err());
    }

    #[test]
    fn templates_keep_types_and_interpolate_text() {
        let vars = json!({"root": "/r", "max_results": 5, "word": true, "glob": null})
            .as_object()
            .cloned()
            .unwrap();
        let out = render(
            &json!({"path": "{root}", "n": "{max_results}", "w": "{word}", "g": "{glob}", "s": "in {root}/x {y}"}),
            &vars,
        );
        assert_eq!(
            out,
            json!({"path": "/r", "n": 5, "w": true, "s": "in /r/x {y}"})
        );
    }

    #[test]
    fn container_command_passes_secrets_by_name_only() {
        let container = Container {
            image: "node:22-slim".into(),
            cpus: Some(1.5),
            runtime: "docker".into(),
        };
        let name = "API_TOKEN".to_owned();
        let (program, args) = container_command(
            &container,
            "node",
            &["server.js".into()],
            &[&name],
            Path::new("/w/root"),
            Path::new("/w/root"),
            512,
        );
        assert_eq!(program, "docker");
        let line = args.join(" ");
        assert!(line.starts_with("run -i --rm"), "{line}");
        for part in [
            "--network none",
            "--user 65534:65534",
            "--memory 512m",
            "--cpus 1.5",
            "--volume /w/root:/w/root",
            "--env API_TOKEN node:22-slim node server.js",
        ] {
            assert!(line.contains(part), "{part}: {line}");
        }
    }
}
