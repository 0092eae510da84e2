//! The one shape of an edit, everywhere orch makes, sends, plans or
//! applies one: bytes `start..end` of a file, which hold `old`, become
//! `new`. The analyses produce them, the `code` server sends them, plans
//! carry them (replayable: `old` is checked before anything is written),
//! and [`apply`] is the one function that applies them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Replace bytes `start..end` (which hold `old`) with `new`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "TextEdit")]
pub struct Edit {
    /// Byte offset where the replaced text starts.
    pub start: usize,
    /// Byte offset just past the replaced text.
    pub end: usize,
    /// 1-based line of `start` (for people; not used to apply).
    pub line: usize,
    /// The text being replaced.
    pub old: String,
    /// The replacement.
    pub new: String,
}

impl Edit {
    /// Replace `source[start..end]` with `new`; `old` and the line are
    /// taken from `source`.
    pub(crate) fn new(source: &str, start: usize, end: usize, new: &str) -> Self {
        Edit {
            start,
            end,
            line: source[..start].matches('\n').count() + 1,
            old: source[start..end].to_owned(),
            new: new.to_owned(),
        }
    }

    /// The 1-based column (in characters) of its start in `source`.
    pub(crate) fn column(&self, source: &str) -> usize {
        let before = source.get(..self.start).unwrap_or(source);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        before[line_start..].chars().count() + 1
    }
}

/// Why edits cannot be applied to a source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ApplyError {
    #[error("edit {index} ({start}..{end}) is out of order or out of range")]
    OutOfOrder {
        index: usize,
        start: usize,
        end: usize,
    },
    #[error("edit {index} ({start}..{end}) does not fall on character boundaries")]
    Boundary {
        index: usize,
        start: usize,
        end: usize,
    },
    #[error("edit {index} expected `{expected}` at bytes {start}..{end} but found `{found}`")]
    Mismatch {
        index: usize,
        start: usize,
        end: usize,
        expected: String,
        found: String,
    },
}

/// `source` with `edits` applied. They must come in order of position,
/// not overlap, and each must find its `old` text where it says: otherwise
/// nothing is applied.
pub(crate) fn apply<'a>(
    source: &str,
    edits: impl IntoIterator<Item = &'a Edit>,
) -> Result<String, ApplyError> {
    let mut out = String::with_capacity(source.len() + 64);
    let mut cursor = 0usize;
    for (index, edit) in edits.into_iter().enumerate() {
        let (start, end) = (edit.start, edit.end);
        if start < cursor || end > source.len() || end < start {
            return Err(ApplyError::OutOfOrder { index, start, end });
        }
        let Some(found) = source.get(start..end) else {
            return Err(ApplyError::Boundary { index, start, end });
        };
        if found != edit.old {
            return Err(ApplyError::Mismatch {
                index,
                start,
                end,
                expected: edit.old.clone(),
                found: found.to_owned(),
            });
        }
        out.push_str(&source[cursor..start]);
        out.push_str(&edit.new);
        cursor = end;
    }
    out.push_str(&source[cursor..]);
    Ok(out)
}

/// A unified diff of one file, as `git diff` shows it (3 lines of context).
pub(crate) fn unified_diff(path: &str, before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// What an edit does, as the analysis that made it says: a rename site of
/// some kind, or the refactor that made it. Serialised as the names plans
/// and the `code` server have always used.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub enum EditKind {
    /// The definition of a renamed name.
    #[serde(rename = "definition")]
    Definition,
    /// A name in an `import` statement.
    #[serde(rename = "import")]
    Import,
    /// A reference resolved to the definition.
    #[serde(rename = "reference")]
    Reference,
    /// `module.NAME` through a resolved module.
    #[serde(rename = "attribute")]
    Attribute,
    /// An `__all__` entry.
    #[serde(rename = "all")]
    All,
    /// A site orch could not resolve, edited on request.
    #[serde(rename = "uncertain")]
    Uncertain,
    /// The name in a string or comment, edited on request.
    #[serde(rename = "string")]
    String,
    /// A `global` or `nonlocal` declaration of the name.
    #[serde(rename = "global")]
    Global,
    /// A keyword argument of a renamed parameter.
    #[serde(rename = "keyword")]
    Keyword,
    /// A structural replacement.
    #[serde(rename = "structural")]
    Structural,
    #[serde(rename = "unused-import")]
    UnusedImport,
    #[serde(rename = "dead-function")]
    DeadFunction,
    #[serde(rename = "add_parameter")]
    AddParameter,
    #[serde(rename = "remove_parameter")]
    RemoveParameter,
    #[serde(rename = "reorder_parameters")]
    ReorderParameters,
    #[serde(rename = "inline")]
    Inline,
    #[serde(rename = "extract")]
    Extract,
    #[serde(rename = "async")]
    Async,
    #[serde(rename = "move")]
    Move,
    #[serde(rename = "module")]
    Module,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_and_check_what_they_replace() {
        let source = "def old(): pass\nold()\n";
        let edits = [
            Edit::new(source, 4, 7, "new"),
            Edit::new(source, 16, 19, "new"),
        ];
        assert_eq!(edits[1].line, 2);
        assert_eq!(edits[1].column(source), 1);
        assert_eq!(edits[0].column(source), 5);
        assert_eq!(apply(source, &edits).unwrap(), "def new(): pass\nnew()\n");
        assert!(matches!(
            apply("def xyz(): pass\nold()\n", &edits),
            Err(ApplyError::Mismatch { index: 0, .. })
        ));
        let reversed = [edits[1].clone(), edits[0].clone()];
        assert!(matches!(
            apply(source, &reversed),
            Err(ApplyError::OutOfOrder { index: 1, .. })
        ));
        let split = Edit {
            start: 1,
            end: 2,
            line: 1,
            old: "x".into(),
            new: String::new(),
        };
        assert!(matches!(
            apply("é", [&split]),
            Err(ApplyError::Boundary { .. })
        ));
    }

    #[test]
    fn kinds_keep_their_names() {
        for (kind, name) in [
            (EditKind::Definition, "definition"),
            (EditKind::UnusedImport, "unused-import"),
            (EditKind::AddParameter, "add_parameter"),
            (EditKind::All, "all"),
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
        }
    }
}
