//! orch's built-in MCP servers, run by `orch serve-mcp NAME` on stdio and
//! spawned by orch like any other server.
//!
//! Each server (`fs`, `search`, `code`, `test`) serves the calls of the
//! role of the same name, as `crate::protocol` defines them (arguments and
//! results are the protocol's types); `fs` also serves `read_file`, for
//! people. A test below holds every server to its role's list.
//!
//! Every server is rooted at one directory and refuses paths outside it.
//! Servers log to stderr only: stdout is the protocol.

pub(crate) mod code;
pub(crate) mod combined;
pub(crate) mod fs;
pub(crate) mod search;
pub(crate) mod test;

use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context as _;
use rmcp::ServiceExt;

/// The built-in servers.
pub(crate) const NAMES: &[&str] = &["fs", "search", "code", "test"];

/// Options for `orch serve-mcp`.
#[derive(Debug, Clone)]
pub(crate) struct ServeOptions {
    pub root: PathBuf,
    /// The root may not exist yet (orch starts its servers while it checks
    /// the worktree out); it is resolved on first use.
    pub await_root: bool,
    /// Python interpreter for the `test` server.
    pub python: Option<String>,
}

/// Runs the named server on stdin/stdout until the client closes stdin.
///
/// When stdin and stdout are pipes (as when orch spawns the server) they are
/// driven by epoll directly; tokio's stdio would hand every read and write
/// to a blocking thread, which costs a thread hop per message.
pub(crate) async fn serve(name: &str, options: ServeOptions) -> anyhow::Result<()> {
    match pipes() {
        Some(pipes) => serve_on(name, options, pipes).await,
        None => serve_on(name, options, rmcp::transport::stdio()).await,
    }
}

fn pipes() -> Option<(
    tokio::net::unix::pipe::Receiver,
    tokio::net::unix::pipe::Sender,
)> {
    use std::os::fd::AsFd as _;
    let stdin = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
    let stdout = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
    let receiver = tokio::net::unix::pipe::Receiver::from_owned_fd(stdin).ok()?;
    let sender = tokio::net::unix::pipe::Sender::from_owned_fd(stdout).ok()?;
    Some((receiver, sender))
}

/// Serves the named server on `transport` until the client closes it: stdio
/// for `orch serve-mcp`, an in-memory pipe for a pool that keeps orch's own
/// servers in its own process (tests).
pub(crate) async fn serve_on<R, W>(
    name: &str,
    options: ServeOptions,
    transport: (R, W),
) -> anyhow::Result<()>
where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let root = if options.await_root {
        Jail::pending(&options.root)
    } else {
        Jail::new(&options.root)?
    };
    if name.contains('+') {
        let names: Vec<&str> = name.split('+').collect();
        let combined = combined::Combined::new(&names, root, options.python)?;
        return until_closed(combined, transport).await;
    }
    match name {
        "fs" => until_closed(fs::FsServer::new(root), transport).await,
        "search" => until_closed(search::SearchServer::new(root), transport).await,
        "code" => until_closed(code::CodeServer::new(root), transport).await,
        "test" => until_closed(test::TestServer::new(root, options.python), transport).await,
        other => anyhow::bail!(
            "unknown built-in server `{other}` (known: {})",
            NAMES.join(", ")
        ),
    }
}

/// Serves until the client closes the stream.
async fn until_closed<S, R, W>(server: S, transport: (R, W)) -> anyhow::Result<()>
where
    S: rmcp::ServerHandler,
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
    W: tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    server
        .serve(transport)
        .await?
        .waiting()
        .await
        .context("server task failed")?;
    Ok(())
}

/// A directory that paths may not escape.
#[derive(Debug, Clone)]
pub(crate) struct Jail {
    /// The root as given.
    given: PathBuf,
    /// The root canonicalised, once it exists.
    root: OnceLock<PathBuf>,
}

impl Jail {
    /// A jail on an existing directory.
    pub(crate) fn new(root: &Path) -> anyhow::Result<Self> {
        let jail = Jail::pending(root);
        jail.ready()
            .with_context(|| format!("server root `{}` does not exist", root.display()))?;
        Ok(jail)
    }

    /// A jail on a directory that may not exist yet: it is canonicalised
    /// the first time it is used after it appears. Until then every path is
    /// refused.
    pub(crate) fn pending(root: &Path) -> Self {
        Jail {
            given: root.to_owned(),
            root: OnceLock::new(),
        }
    }

    fn ready(&self) -> std::io::Result<&Path> {
        if let Some(root) = self.root.get() {
            return Ok(root);
        }
        let canonical = self.given.canonicalize()?;
        Ok(self.root.get_or_init(|| canonical))
    }

    pub(crate) fn root(&self) -> &Path {
        self.ready().unwrap_or(&self.given)
    }

    /// Resolves a relative path inside the root. Refuses absolute paths,
    /// `..`, and symlinks that lead outside.
    pub(crate) fn resolve(&self, relative: &str) -> Result<PathBuf, String> {
        let path = Path::new(relative);
        if relative.is_empty()
            || path.is_absolute()
            || path
                .components()
                .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
        {
            return Err(format!("`{relative}` is outside the server's root"));
        }
        let root = self.ready().map_err(|e| {
            format!(
                "the server's root `{}` is not available: {e}",
                self.given.display()
            )
        })?;
        let joined = root.join(path);
        // Canonicalise the deepest existing ancestor to catch symlink escapes.
        let mut existing = joined.as_path();
        while !existing.exists() {
            existing = existing.parent().unwrap_or(root);
        }
        let real = existing
            .canonicalize()
            .map_err(|e| format!("`{relative}`: {e}"))?;
        if !real.starts_with(root) {
            return Err(format!("`{relative}` leads outside the server's root"));
        }
        Ok(joined)
    }

    /// `/`-separated path relative to the root.
    pub(crate) fn relative(&self, path: &Path) -> String {
        let relative = path.strip_prefix(self.root()).unwrap_or(path);
        relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// Walks the project's files, honouring `.gitignore` and skipping hidden
/// directories, calling `keep` to filter by relative path.
pub(crate) fn project_files(jail: &Jail, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut files: Vec<String> = ignore::WalkBuilder::new(jail.root())
        .require_git(false)
        .build()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_type().is_some_and(|t| t.is_file()))
        .map(|entry| jail.relative(entry.path()))
        .filter(|path| keep(path))
        .collect();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::ServerHandler as _;

    /// The protocol is the list of what orch may call: each built-in
    /// server serves every call of its role, under the same name.
    #[test]
    fn each_server_serves_every_call_of_its_role() {
        let dir = tempfile::tempdir().unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        for role in crate::protocol::Role::ALL {
            let server = combined::Combined::new(&[role.as_str()], jail.clone(), None).unwrap();
            for call in crate::protocol::calls(role) {
                assert!(
                    server.get_tool(call.tool).is_some(),
                    "orch's `{}` server lacks `{}`",
                    role.as_str(),
                    call.tool
                );
            }
        }
    }

    #[test]
    fn a_pending_jail_refuses_every_path_until_its_root_exists() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("worktree");
        assert!(Jail::new(&root).is_err());
        let jail = Jail::pending(&root);
        let error = jail.resolve("a.py").unwrap_err();
        assert!(error.contains("is not available"), "{error}");
        std::fs::create_dir(&root).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        assert_eq!(
            jail.resolve("a.py").unwrap(),
            root.canonicalize().unwrap().join("a.py")
        );
        assert!(jail.resolve("link/passwd").is_err());
        assert!(jail.resolve("../x").is_err());
    }

    #[test]
    fn jail_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", dir.path().join("link")).unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        assert!(jail.resolve("a.py").is_ok());
        assert!(jail.resolve("new/file.py").is_ok());
        for bad in ["../x", "/etc/passwd", "link/passwd", "a/../../x", ""] {
            assert!(jail.resolve(bad).is_err(), "{bad}");
        }
    }
}
