//! Safe delete: a function, class, method or module-level variable goes
//! only when nothing refers to it.
//!
//! The references are found as a rename finds them (every site of the
//! name, through imports, aliases, star re-exports and `__all__`), so
//! "nothing refers to it" is as strong as a rename's accounting: any code
//! site other than the definition, any entry in `__all__`, any site orch
//! cannot resolve (a method called on a receiver it cannot type) and any
//! string that names it (a `getattr` lookup, a `mock.patch` target) keeps
//! it, and the refusal lists them. Mentions in comments are reported, not
//! counted. The deletion takes the statement with its decorators and the
//! comment block directly above it, and the blank lines after it; a class
//! left without a statement gets `pass`.

use tree_sitter::Node;

use super::{Analysis, EditSite, FileEdits};
use crate::edit::{Edit, EditKind};
use crate::intent::SafeDelete;
use crate::phase::{Context, Failure};
use crate::protocol::code::DefinitionKind;

/// The deletion, or the input error that lists what still refers to it.
pub(super) fn analyse(
    ctx: &Context,
    delete: &SafeDelete,
    references: Analysis,
) -> Result<Analysis, Failure> {
    let definition = references
        .definition
        .clone()
        .ok_or_else(|| Failure::internal("a safe delete without its definition"))?;
    let name = &delete.name;
    let (bytes, source) = super::worktree_source(ctx, &definition.path)?;
    let (edit, own_line) = deletion(&source, &definition, name).ok_or_else(|| {
        Failure::input(
            format!(
                "`{name}` at {}:{} is not a statement orch can delete on its own (an assignment with other targets, or a definition inside another statement)",
                definition.path, definition.line
            ),
            None,
        )
    })?;
    let mut places: Vec<String> = Vec::new();
    let mut definitions = 0;
    for file in &references.files {
        for site in &file.edits {
            // The definition itself.
            if file.path == definition.path && site.edit.line == own_line {
                continue;
            }
            if site.kind == EditKind::Definition {
                definitions += 1;
            }
            let what = match site.kind {
                EditKind::Definition => "another definition of it (an override or a redefinition)",
                EditKind::Import => "an import of it",
                EditKind::All => "an entry of `__all__`",
                EditKind::Attribute => "a use as an attribute",
                EditKind::Global => "a `global` declaration",
                EditKind::Keyword => "a keyword argument",
                _ => "a use",
            };
            places.push(format!("{}:{}: {what}", file.path, site.edit.line));
        }
    }
    for uncertain in &references.uncertain {
        places.push(format!(
            "{}:{}: {} (orch cannot tell whether it is this one)",
            uncertain.path, uncertain.line, uncertain.note
        ));
    }
    let strings: Vec<String> = references
        .mentions
        .iter()
        .filter(|m| m.note.contains("in a string") || m.note.contains("documentation"))
        .map(|m| {
            format!(
                "{}:{}: {}",
                m.path,
                m.line,
                m.note.replace("; left alone", "")
            )
        })
        .collect();
    places.extend(strings);
    // `from .m import NAME as NAME` is two sites on one line: one place.
    let mut seen = std::collections::BTreeSet::new();
    places.retain(|place| seen.insert(place.clone()));
    let unlisted = references
        .uncertain_total
        .saturating_sub(references.uncertain.len())
        + references
            .mentions_total
            .saturating_sub(references.mentions.len());
    if !places.is_empty() || unlisted > 0 {
        let more = if unlisted > 0 {
            format!("\n  ... and {unlisted} more mentions or uncertain sites")
        } else {
            String::new()
        };
        return Err(Failure::input(
            format!(
                "`{name}` is still referenced ({} places), so it stays:\n  {}{more}",
                places.len() + unlisted,
                places.join("\n  ")
            ),
            Some(if definitions > 0 {
                "remove these uses (or the other definitions) first; `rename` moves every use at once".into()
            } else {
                "remove these uses first, or keep it".into()
            }),
        ));
    }
    let sha1 = crate::plan::sha1_hex(&bytes);
    Ok(Analysis {
        definition: Some(definition.clone()),
        files: vec![FileEdits {
            path: definition.path.clone(),
            sha1,
            edits: vec![EditSite {
                edit,
                kind: EditKind::Definition,
            }],
        }],
        sites: 1,
        // A deletion edits one statement: no occurrences to account for.
        accounting: None,
        mentions: references.mentions,
        uncertain: Vec::new(),
        uncertain_total: 0,
        ..references
    })
}

/// The edit that deletes the definition `definition` points at (1-based
/// line, 0-based column of its name; for a method, of its class's name)
/// from `source`, and the line of the deleted definition's name.
fn deletion(
    source: &str,
    definition: &crate::protocol::code::Definition,
    name: &str,
) -> Option<(Edit, usize)> {
    let tree = crate::lang::python::parse(source)?;
    let point = tree_sitter::Point::new(definition.line.checked_sub(1)?, definition.column);
    let at = tree.root_node().descendant_for_point_range(point, point)?;
    let (statement, name_node) = match definition.kind {
        DefinitionKind::Method => method_of(at, name, source.as_bytes())?,
        kind => (statement_of(at, kind)?, at),
    };
    let mut edit = crate::lang::python::dead::deletion(source, statement);
    // A class body cannot be empty.
    if let Some(block) = statement.parent().filter(|p| p.kind() == "block") {
        let mut cursor = block.walk();
        let others = block
            .named_children(&mut cursor)
            .filter(|c| c.id() != statement.id() && c.kind() != "comment")
            .count();
        if others == 0 {
            let line_start = source[..statement.start_byte()]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let indent = &source[line_start..statement.start_byte()];
            edit = Edit::new(source, edit.start, edit.end, &format!("{indent}pass\n"));
        }
    }
    Some((edit, name_node.start_position().row + 1))
}

/// The method `name` of the class whose name is `class_name`: its
/// statement (with decorators) and its name.
pub(super) fn method_of<'t>(
    class_name: Node<'t>,
    name: &str,
    source: &[u8],
) -> Option<(Node<'t>, Node<'t>)> {
    let class = class_name
        .parent()
        .filter(|p| p.kind() == "class_definition")?;
    let body = class.child_by_field_name("body")?;
    let mut cursor = body.walk();
    body.named_children(&mut cursor).find_map(|statement| {
        let function = match statement.kind() {
            "function_definition" => statement,
            "decorated_definition" => statement.child_by_field_name("definition")?,
            _ => return None,
        };
        let function_name = function.child_by_field_name("name")?;
        (function.kind() == "function_definition"
            && crate::lang::python::text(function_name, source) == name)
            .then_some((statement, function_name))
    })
}

/// The statement a definition's name stands in: the function or class
/// (with its decorators), or a plain `NAME = ...` assignment.
fn statement_of(name: Node, kind: DefinitionKind) -> Option<Node> {
    if name.kind() != "identifier" {
        return None;
    }
    let parent = name.parent()?;
    match parent.kind() {
        "function_definition" | "class_definition" if kind != DefinitionKind::Variable => {
            if parent.child_by_field_name("name")?.id() != name.id() {
                return None;
            }
            Some(
                parent
                    .parent()
                    .filter(|p| p.kind() == "decorated_definition")
                    .unwrap_or(parent),
            )
        }
        "assignment" if matches!(kind, DefinitionKind::Variable | DefinitionKind::Any) => {
            // `NAME = value` or `NAME: T = value`, alone on its statement.
            if parent.child_by_field_name("left")?.id() != name.id() {
                return None;
            }
            if parent
                .child_by_field_name("right")
                .is_some_and(|r| r.kind() == "assignment")
            {
                return None;
            }
            let statement = parent.parent()?;
            (statement.kind() == "expression_statement" && statement.named_child_count() == 1)
                .then_some(statement)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::code::Definition;

    fn delete(
        source: &str,
        (line, column): (usize, usize),
        kind: DefinitionKind,
        name: &str,
    ) -> Option<String> {
        let definition = Definition {
            path: "m.py".into(),
            module: "m".into(),
            kind,
            line,
            column,
            class: None,
        };
        let (edit, _) = deletion(source, &definition, name)?;
        crate::edit::apply(source, [&edit]).ok()
    }

    #[test]
    fn a_definition_goes_with_its_decorators_comments_and_spacing() {
        let source = "import os\n\n\n# Old helper.\n@cache\ndef helper():\n    return 1\n\n\ndef kept():\n    return 2\n";
        assert_eq!(
            delete(source, (6, 4), DefinitionKind::Function, "helper").unwrap(),
            "import os\n\n\ndef kept():\n    return 2\n"
        );
    }

    #[test]
    fn a_method_goes_and_an_emptied_class_gets_pass() {
        let source = "class A:\n    def one(self):\n        return 1\n\n    def two(self):\n        return 2\n\n\nclass B:\n    def only(self):\n        return 3\n";
        assert_eq!(
            delete(source, (1, 6), DefinitionKind::Method, "one").unwrap(),
            "class A:\n    def two(self):\n        return 2\n\n\nclass B:\n    def only(self):\n        return 3\n"
        );
        assert_eq!(
            delete(source, (9, 6), DefinitionKind::Method, "only").unwrap(),
            "class A:\n    def one(self):\n        return 1\n\n    def two(self):\n        return 2\n\n\nclass B:\n    pass\n"
        );
    }

    #[test]
    fn a_variable_goes_only_when_it_is_the_statement_alone() {
        let source = "LIMIT = 10\nA = B = 2\nRATE: float = 0.5\nx = 1\n";
        assert_eq!(
            delete(source, (1, 0), DefinitionKind::Variable, "LIMIT").unwrap(),
            "A = B = 2\nRATE: float = 0.5\nx = 1\n"
        );
        assert_eq!(
            delete(source, (3, 0), DefinitionKind::Variable, "RATE").unwrap(),
            "LIMIT = 10\nA = B = 2\nx = 1\n"
        );
        // `A = B = 2`: B would go with it.
        assert!(delete(source, (2, 0), DefinitionKind::Variable, "A").is_none());
        // Not a definition's name.
        assert!(delete(source, (1, 8), DefinitionKind::Variable, "LIMIT").is_none());
    }
}
