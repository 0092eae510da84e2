//! Python analysis with tree-sitter: parsing, syntax-error counts,
//! module-level definitions, scopes and the rename analysis.

pub mod asyncify;
pub mod dead;
pub mod imports;
pub mod methods;
pub mod module_rename;
pub mod modules;
pub mod moves;
pub mod parameters;
pub mod rename;
pub mod scope;

use serde::Serialize;
use tree_sitter::{Node, Parser, Tree};

pub use modules::ModuleIndex;

/// Parses Python source. tree-sitter always yields a tree (with error nodes
/// where the source is broken); `None` only if the parser was cancelled.
pub fn parse(source: &str) -> Option<Tree> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    parser.parse(source, None)
}

/// Number of error and missing nodes in a tree.
pub fn syntax_errors(tree: &Tree) -> usize {
    super::error_nodes(tree.root_node())
}

/// A module-level function or class definition.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    /// `function`, `class` or `variable` (module-level assignment).
    pub kind: &'static str,
    pub line: usize,
    pub column: usize,
}

/// Module-level function and class definitions, including those nested in
/// module-level `if`/`try`/`with` blocks, in source order.
pub fn top_level_definitions(tree: &Tree, source: &str) -> Vec<Definition> {
    let mut out = Vec::new();
    collect_definitions(tree.root_node(), source.as_bytes(), &mut out);
    // A variable counts once (its first assignment), and not at all where
    // the name is also a function or class (`f = wraps(f)`).
    let named: std::collections::BTreeSet<String> = out
        .iter()
        .filter(|d| d.kind != "variable")
        .map(|d| d.name.clone())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|d| {
        d.kind != "variable" || (!named.contains(&d.name) && seen.insert(d.name.clone()))
    });
    out
}

/// Names an assignment target binds: `a`, `a, b`, `(a, [b, c])`.
fn target_names<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    match node.kind() {
        "identifier" => out.push(node),
        "pattern_list" | "tuple_pattern" | "list_pattern" | "parenthesized_expression" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                target_names(child, out);
            }
        }
        _ => {}
    }
}

fn collect_definitions(node: Node, source: &[u8], out: &mut Vec<Definition>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "function_definition" | "class_definition" => {
                if let Some(name) = child.child_by_field_name("name") {
                    out.push(Definition {
                        name: text(name, source).to_owned(),
                        kind: if child.kind() == "class_definition" {
                            "class"
                        } else {
                            "function"
                        },
                        line: name.start_position().row + 1,
                        column: name.start_position().column + 1,
                    });
                }
            }
            "decorated_definition" => collect_definitions(child, source, out),
            "expression_statement" => {
                let mut cursor = child.walk();
                for assignment in child
                    .named_children(&mut cursor)
                    .filter(|c| c.kind() == "assignment")
                {
                    // `a = b = 1` nests assignments on the right.
                    let mut current = Some(assignment);
                    while let Some(node) = current {
                        let mut names = Vec::new();
                        if let Some(left) = node.child_by_field_name("left") {
                            target_names(left, &mut names);
                        }
                        for name in names {
                            out.push(Definition {
                                name: text(name, source).to_owned(),
                                kind: "variable",
                                line: name.start_position().row + 1,
                                column: name.start_position().column + 1,
                            });
                        }
                        current = node
                            .child_by_field_name("right")
                            .filter(|r| r.kind() == "assignment");
                    }
                }
            }
            "if_statement" | "elif_clause" | "else_clause" | "try_statement" | "except_clause"
            | "finally_clause" | "with_statement" | "block" => {
                collect_definitions(child, source, out)
            }
            _ => {}
        }
    }
}

/// The text of a node (empty if it is not valid UTF-8, which cannot happen
/// for nodes of a `&str` source).
pub(crate) fn text<'a>(node: Node, source: &'a [u8]) -> &'a str {
    node.utf8_text(source).unwrap_or("")
}

/// Byte offsets of `word` in `haystack` where it stands as a whole identifier.
pub fn find_word(haystack: &str, word: &str) -> Vec<usize> {
    let bytes = haystack.as_bytes();
    let is_ident = |b: u8| b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80;
    haystack
        .match_indices(word)
        .map(|(i, _)| i)
        .filter(|&i| {
            let before = i == 0 || !is_ident(bytes[i - 1]);
            let end = i + word.len();
            let after = end >= bytes.len() || !is_ident(bytes[end]);
            before && after
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_and_errors() {
        let src = "import os\n\ndef a():\n    def inner(): pass\n\nclass B:\n    def m(self): pass\n\nif True:\n    @dec\n    def c(): pass\n";
        let tree = parse(src).unwrap();
        let names: Vec<_> = top_level_definitions(&tree, src)
            .into_iter()
            .map(|d| (d.name, d.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("a".into(), "function"),
                ("B".into(), "class"),
                ("c".into(), "function")
            ]
        );
        assert_eq!(syntax_errors(&tree), 0);
        assert!(syntax_errors(&parse("def (:\n").unwrap()) > 0);
    }

    #[test]
    fn words() {
        assert_eq!(
            find_word("make_str(make_strs) x.make_str", "make_str"),
            [0, 22]
        );
    }
}
