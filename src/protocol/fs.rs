//! The `fs` role: reading, hashing and writing the project's files. Every
//! write names the SHA-1 it expects to find, so nothing is overwritten
//! that changed under orch.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::edit::Edit;

/// `read_file`: served by orch's fs server for people (`orch servers
/// call`); no phase reads through it, so it is not a [`super::Call`].
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ReadFile {
    /// Path relative to the root.
    pub path: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReadResult {
    pub path: String,
    pub sha1: String,
    pub content: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct HashFiles {
    pub paths: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct HashResult {
    pub files: Vec<FileHash>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct FileHash {
    pub path: String,
    /// `null` when the file does not exist.
    pub sha1: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EditFile {
    pub path: String,
    /// The file's SHA-1 must be this, or nothing is written.
    pub expected_sha1: String,
    /// Sorted, non-overlapping byte edits.
    pub edits: Vec<Edit>,
    /// Compute the result and the diff but write nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// Return a unified diff of the change.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub diff: bool,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct EditResult {
    pub path: String,
    pub sha1_before: String,
    pub sha1_after: String,
    pub written: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct WriteFile {
    pub path: String,
    pub content: String,
    /// If set, the file's current SHA-1 must be this (`""`: must not exist).
    #[serde(default)]
    pub expected_sha1: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct WriteResult {
    pub path: String,
    pub sha1: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DeleteFile {
    pub path: String,
    /// The file's SHA-1 must be this, or nothing is deleted.
    pub expected_sha1: String,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DeleteResult {
    pub path: String,
    pub sha1_before: String,
}

crate::protocol::define_calls! {
    Fs {
        HashFiles => "hash_files" -> HashResult, vars ["abs_paths"];
        EditFile => "edit_file" -> EditResult, vars ["abs_path", "text_edits", "content"];
        WriteFile => "write_file" -> WriteResult, for "moves and module renames";
        DeleteFile => "delete_file" -> DeleteResult, for "module renames";
    }
}
