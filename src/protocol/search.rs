//! The `search` role: literal or regex search over the project's files,
//! as matching lines or per-file counts, with paging.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

fn default_max_results() -> usize {
    200
}

fn default_line_chars() -> usize {
    160
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Search {
    /// The text (or regex with `regex: true`) to find.
    pub pattern: String,
    #[serde(default)]
    pub regex: bool,
    /// Match whole words only.
    #[serde(default)]
    pub word: bool,
    #[serde(default)]
    pub case_insensitive: bool,
    /// Only files whose relative path ends with one of these suffixes (e.g. `.py`).
    #[serde(default)]
    pub extensions: Vec<String>,
    /// Only files under these relative directories or equal to these files.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Return per-file counts instead of matching lines.
    #[serde(default)]
    pub files_only: bool,
    /// With `files_only`: stop reading each file at its first match (every
    /// count is then 1), for "which files" questions.
    #[serde(default)]
    pub first_per_file: bool,
    /// Page size (matches, or files with `files_only`).
    #[serde(default = "default_max_results")]
    pub max_results: usize,
    /// Items to skip (for the next page).
    #[serde(default)]
    pub offset: usize,
    /// Longest line preview returned.
    #[serde(default = "default_line_chars")]
    pub max_line_chars: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LineMatch {
    pub path: String,
    pub line: u64,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FileCount {
    pub path: String,
    pub count: usize,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SearchResult {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<LineMatch>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileCount>,
    /// All matches (or files) found, before paging.
    pub total: usize,
    pub files_searched: usize,
    /// Offset of the next page, if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
}

impl Search {
    /// A search for `pattern` with the server's defaults.
    pub fn new(pattern: impl Into<String>) -> Self {
        Search {
            pattern: pattern.into(),
            regex: false,
            word: false,
            case_insensitive: false,
            extensions: Vec::new(),
            paths: Vec::new(),
            files_only: false,
            first_per_file: false,
            max_results: default_max_results(),
            offset: 0,
            max_line_chars: default_line_chars(),
        }
    }
}

crate::protocol::define_calls! {
    Search {
        Search => "search" -> SearchResult, vars ["is_regex", "glob"];
    }
}
