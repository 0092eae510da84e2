//! The `fs` server: read files, hash them, and edit, write or delete them
//! with a SHA-1 preimage precondition (writes are atomic renames).

use std::io::Write as _;

use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};

use super::Jail;
use crate::plan::sha1_hex;
use crate::protocol::fs::{
    DeleteFile, DeleteResult, EditFile, EditResult, FileHash, HashFiles, HashResult, ReadFile,
    ReadResult, WriteFile, WriteResult,
};

#[derive(Debug, Clone)]
pub(crate) struct FsServer {
    jail: Jail,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl FsServer {
    pub(crate) fn new(jail: Jail) -> Self {
        FsServer {
            jail,
            tool_router: Self::tool_router(),
        }
    }

    /// Read a UTF-8 text file.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn read_file(
        &self,
        Parameters(args): Parameters<ReadFile>,
    ) -> Result<Json<ReadResult>, String> {
        let path = self.jail.resolve(&args.path)?;
        let content = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read `{}`: {e}", args.path))?;
        Ok(Json(ReadResult {
            path: args.path,
            sha1: sha1_hex(content.as_bytes()),
            content,
        }))
    }

    /// SHA-1 of each file (null for a missing file).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn hash_files(
        &self,
        Parameters(args): Parameters<HashFiles>,
    ) -> Result<Json<HashResult>, String> {
        if !args.expected.is_empty() && args.expected.len() != args.paths.len() {
            return Err(format!(
                "{} expected SHA-1s for {} paths",
                args.expected.len(),
                args.paths.len()
            ));
        }
        let mut files = Vec::with_capacity(args.paths.len());
        let mut matched = 0;
        for (i, relative) in args.paths.into_iter().enumerate() {
            let path = self.jail.resolve(&relative)?;
            let sha1 = match std::fs::read(&path) {
                Ok(bytes) => Some(sha1_hex(&bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(format!("cannot read `{relative}`: {e}")),
            };
            if args.expected.get(i).is_some_and(|want| *want == sha1) {
                matched += 1;
                continue;
            }
            files.push(FileHash {
                path: relative,
                sha1,
            });
        }
        Ok(Json(HashResult { files, matched }))
    }

    /// Apply byte edits to a file whose SHA-1 must equal expected_sha1; writes atomically.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn edit_file(
        &self,
        Parameters(args): Parameters<EditFile>,
    ) -> Result<Json<EditResult>, String> {
        let path = self.jail.resolve(&args.path)?;
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", args.path))?;
        let sha1_before = sha1_hex(&bytes);
        // Python sources in the encoding they declare (PEP 263), edited as
        // text and written back in the same encoding.
        let (before, encoding) = if args.path.ends_with(".py") {
            crate::lang::python::encoding::decode(&bytes)
                .map_err(|e| format!("`{}` {e}", args.path))?
        } else {
            let text = String::from_utf8(bytes)
                .map_err(|_| format!("`{}` is not valid UTF-8", args.path))?;
            (text, crate::lang::python::encoding::Encoding::Utf8)
        };
        if sha1_before != args.expected_sha1 {
            return Err(format!(
                "`{}` changed: its SHA-1 is {sha1_before}, the edit expects {}; nothing written",
                args.path, args.expected_sha1
            ));
        }
        let after = crate::edit::apply(&before, &args.edits)
            .map_err(|e| format!("`{}`: {e}; nothing written", args.path))?;
        let written = crate::lang::python::encoding::encode(&after, encoding).ok_or_else(|| {
            format!(
                "`{}` is {encoding:?}, which cannot hold the edited text; nothing written",
                args.path
            )
        })?;
        let sha1_after = sha1_hex(&written);
        if !args.dry_run {
            atomic_write(&path, &written)
                .map_err(|e| format!("cannot write `{}`: {e}", args.path))?;
        }
        let diff = (args.diff || args.dry_run)
            .then(|| crate::edit::unified_diff(&args.path, &before, &after));
        if args.brief {
            return Ok(Json(EditResult {
                path: String::new(),
                sha1_before: String::new(),
                sha1_after: String::new(),
                written: !args.dry_run,
                diff,
            }));
        }
        Ok(Json(EditResult {
            path: args.path,
            sha1_before,
            sha1_after,
            written: !args.dry_run,
            diff,
        }))
    }

    /// Delete a file whose SHA-1 must equal expected_sha1; empty parent directories go too.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn delete_file(
        &self,
        Parameters(args): Parameters<DeleteFile>,
    ) -> Result<Json<DeleteResult>, String> {
        let path = self.jail.resolve(&args.path)?;
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", args.path))?;
        let sha1_before = sha1_hex(&bytes);
        if sha1_before != args.expected_sha1 {
            return Err(format!(
                "`{}` changed: its SHA-1 is {sha1_before}, the plan expects {}; nothing deleted",
                args.path, args.expected_sha1
            ));
        }
        std::fs::remove_file(&path).map_err(|e| format!("cannot delete `{}`: {e}", args.path))?;
        // Directories the deletion emptied (never the root).
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == self.jail.root()
                || !d.starts_with(self.jail.root())
                || std::fs::remove_dir(d).is_err()
            {
                break;
            }
            dir = d.parent();
        }
        Ok(Json(DeleteResult {
            path: args.path,
            sha1_before,
        }))
    }

    /// Write a whole file atomically, optionally only if its SHA-1 matches.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn write_file(
        &self,
        Parameters(args): Parameters<WriteFile>,
    ) -> Result<Json<WriteResult>, String> {
        let path = self.jail.resolve(&args.path)?;
        if let Some(expected) = &args.expected_sha1 {
            let current = match std::fs::read(&path) {
                Ok(bytes) => sha1_hex(&bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(format!("cannot read `{}`: {e}", args.path)),
            };
            if &current != expected {
                return Err(format!(
                    "`{}` changed (SHA-1 {current:?}, expected {expected:?}); nothing written",
                    args.path
                ));
            }
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create `{}`: {e}", parent.display()))?;
        }
        atomic_write(&path, args.content.as_bytes())
            .map_err(|e| format!("cannot write `{}`: {e}", args.path))?;
        Ok(Json(WriteResult {
            path: args.path,
            sha1: sha1_hex(args.content.as_bytes()),
        }))
    }
}

#[tool_handler(router = self.tool_router, name = "orch-fs")]
impl ServerHandler for FsServer {}

/// Writes to a temporary file beside `path`, syncs it, keeps the original
/// permissions and renames it over `path`.
pub(crate) fn atomic_write(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.orch-{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if let Ok(metadata) = std::fs::metadata(path) {
            std::fs::set_permissions(&temporary, metadata.permissions())?;
        }
        std::fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result
}
