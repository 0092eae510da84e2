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
    /// The SHA-1 each path should have (`null`: it should not exist), in
    /// the order of `paths`: then only the files that differ are answered,
    /// and the others counted in `matched`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expected: Vec<Option<String>>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct HashResult {
    pub files: Vec<FileHash>,
    /// With `expected`: how many files are as expected (and not listed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub matched: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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
    /// Answer with `written` alone: the caller knows the path and the
    /// SHA-1s (it sent the one before and can hash the file after), so a
    /// change of hundreds of files costs a few tokens a file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub brief: bool,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct EditResult {
    /// Empty with `brief`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Empty with `brief`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha1_before: String,
    /// Empty with `brief`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
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
