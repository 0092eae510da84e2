//! Module-level private functions (`_name`, not dunder) that nothing in the
//! project refers to, and the edits that delete them.
//!
//! A function counts as referenced when its name appears as a word anywhere
//! else in the project's Python files: code, strings or comments (a string
//! may be a `getattr` lookup, a comment may say why it stays). Kept and
//! reported: decorated functions (a decorator may register them) and names
//! listed in `__all__`. The deletion takes the `def` (with decorators and
//! the comment block directly above it) and the blank lines after it, so the
//! file keeps its spacing.

use std::collections::BTreeMap;

use tree_sitter::Node;

use super::{find_word, parse, text};
use crate::edit::Edit;

/// A private function and whether it can go.
pub(crate) struct Candidate {
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the tests read it; the server reports by line")
    )]
    pub name: String,
    pub line: usize,
    /// Why it is kept, when it is.
    pub kept: Option<String>,
    pub edit: Option<Edit>,
}

/// The unreferenced private module-level functions of `source`.
/// `mentions` counts, per name, the word's occurrences in the whole project
/// (this file included).
pub(crate) fn unused_private_functions(
    source: &str,
    mentions: &BTreeMap<String, usize>,
) -> Vec<Candidate> {
    let Some(tree) = parse(source) else {
        return Vec::new();
    };
    let bytes = source.as_bytes();
    let in_all = source.contains("__all__");
    let mut out = Vec::new();
    let root = tree.root_node();
    let mut cursor = root.walk();
    for statement in root.named_children(&mut cursor) {
        let (function, decorated) = match statement.kind() {
            "function_definition" => (statement, false),
            "decorated_definition" => match statement.child_by_field_name("definition") {
                Some(d) if d.kind() == "function_definition" => (d, true),
                _ => continue,
            },
            _ => continue,
        };
        let Some(name_node) = function.child_by_field_name("name") else {
            continue;
        };
        let name = text(name_node, bytes);
        if !name.starts_with('_') || name.starts_with("__") && name.ends_with("__") {
            continue;
        }
        // The definition is one occurrence; any other is a reference.
        let others = mentions.get(name).copied().unwrap_or(0).saturating_sub(1);
        if others > 0 {
            continue;
        }
        let line = name_node.start_position().row + 1;
        let kept = if decorated {
            Some(format!(
                "`{name}` is never referenced but is decorated (a decorator may register it); left alone"
            ))
        } else if in_all && !find_word(source, &format!("'{name}'")).is_empty() {
            Some(format!("`{name}` is listed in `__all__`; left alone"))
        } else {
            None
        };
        let edit = kept.is_none().then(|| deletion(source, statement));
        out.push(Candidate {
            name: name.to_owned(),
            line,
            kept,
            edit,
        });
    }
    out
}

/// The statement's lines, the comment lines directly above it, and the
/// blank lines after it (or, at the end of the file, the blank lines
/// before it).
pub(crate) fn deletion(source: &str, statement: Node) -> Edit {
    let line_start = |at: usize| source[..at].rfind('\n').map_or(0, |i| i + 1);
    let mut start = line_start(statement.start_byte());
    // Comment lines directly above.
    while start > 0 {
        let previous = line_start(start - 1);
        if source[previous..start].trim_start().starts_with('#') {
            start = previous;
        } else {
            break;
        }
    }
    let mut end = source[statement.end_byte()..]
        .find('\n')
        .map_or(source.len(), |i| statement.end_byte() + i + 1);
    while end < source.len() {
        let next = source[end..]
            .find('\n')
            .map_or(source.len(), |i| end + i + 1);
        if source[end..next].trim().is_empty() {
            end = next;
        } else {
            break;
        }
    }
    if end == source.len() {
        // Nothing follows: drop the blank lines before instead.
        while start > 0 {
            let previous = line_start(start - 1);
            if source[previous..start].trim().is_empty() {
                start = previous;
            } else {
                break;
            }
        }
    }
    Edit::new(source, start, end, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(sources: &[&str], names: &[&str]) -> BTreeMap<String, usize> {
        names
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    sources.iter().map(|s| find_word(s, n).len()).sum(),
                )
            })
            .collect()
    }

    #[test]
    fn unreferenced_private_functions_go_with_their_spacing() {
        let source = "import os\n\n\ndef public():\n    return _used()\n\n\ndef _used():\n    return 1\n\n\n# Old helper.\ndef _dead():\n    return 2\n\n\n@register\ndef _hook():\n    pass\n\n\ndef _tail():\n    pass\n";
        let other = "x = 1  # mentions nothing\n";
        let found = unused_private_functions(
            source,
            &counts(&[source, other], &["_used", "_dead", "_hook", "_tail"]),
        );
        let names: Vec<(&str, bool)> = found
            .iter()
            .map(|c| (c.name.as_str(), c.kept.is_none()))
            .collect();
        assert_eq!(names, [("_dead", true), ("_hook", false), ("_tail", true)]);
        let out = crate::edit::apply(source, found.iter().filter_map(|c| c.edit.as_ref())).unwrap();
        assert_eq!(
            out,
            "import os\n\n\ndef public():\n    return _used()\n\n\ndef _used():\n    return 1\n\n\n@register\ndef _hook():\n    pass\n"
        );
    }

    #[test]
    fn a_mention_anywhere_keeps_it() {
        let source = "def _helper():\n    return 1\n";
        let other = "getattr(mod, \"_helper\")\n";
        let found = unused_private_functions(source, &counts(&[source, other], &["_helper"]));
        assert!(found.is_empty());
    }
}
