//! Unused imports of one Python file, and the minimal edits that remove
//! them.
//!
//! An imported name is used if any reference to it resolves (with Python's
//! scoping, see [`FileModel::resolve`]) to the scope the import binds it in,
//! or if the module's `__all__` lists it. Kept, and reported, when removal
//! could be wrong: a string mentions the name (a string annotation,
//! `globals()["name"]`, `getattr`), the import sits in a `try` block (an
//! availability probe or fallback), or the line says `noqa`. Never touched:
//! `from __future__`, star imports, the explicit re-export idiom
//! `import x as x` / `from m import x as x`, and `__init__.py` files
//! (their imports are the package's interface).

use std::collections::BTreeSet;

use tree_sitter::Node;

use super::scope::{FileModel, Resolution, Role, ScopeKind};
use super::{parse, text};
use crate::edit::Edit;

/// One imported name.
pub(crate) struct Item<'t> {
    /// The `dotted_name` or `aliased_import` node in the statement.
    pub node: Node<'t>,
    /// The name it binds.
    pub bound: String,
    /// Start byte of the bound identifier (matches the model's occurrence).
    bound_start: usize,
    /// `import x as x` / `from m import x as x`.
    reexport: bool,
}

pub(crate) struct Statement<'t> {
    pub node: Node<'t>,
    pub items: Vec<Item<'t>>,
}

/// What was found in a file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Unused {
    /// Deletions (and `pass` where a block would be left empty).
    pub edits: Vec<Edit>,
    /// Unused names left alone, with why: (line, column, note).
    pub kept: Vec<(usize, usize, String)>,
    /// Names removed.
    pub removed: Vec<String>,
}

/// `(file, name)` for every `from M import name [as x]` in `source` (a file
/// at `path`) where `M` is a project module: names other modules take from
/// that file, so its own import of them is not unused.
pub(crate) fn imported_from(
    index: &super::ModuleIndex,
    path: &str,
    source: &str,
) -> Vec<(String, String)> {
    let Some(tree) = parse(source) else {
        return Vec::new();
    };
    let bytes = source.as_bytes();
    let mut statements = Vec::new();
    collect(tree.root_node(), bytes, &mut statements);
    let mut out = Vec::new();
    for statement in statements
        .iter()
        .filter(|s| s.node.kind() == "import_from_statement")
    {
        let Some(module_node) = statement.node.child_by_field_name("module_name") else {
            continue;
        };
        let spec = text(module_node, bytes);
        let dots = spec.chars().take_while(|c| *c == '.').count();
        let Some(module) = index.absolute(path, dots, &spec[dots..]) else {
            continue;
        };
        for file in index.resolve(&module) {
            for item in &statement.items {
                let imported = match item.node.kind() {
                    "aliased_import" => item
                        .node
                        .child_by_field_name("name")
                        .map(|n| text(n, bytes).to_owned()),
                    _ => Some(text(item.node, bytes).to_owned()),
                };
                if let Some(name) = imported {
                    out.push((file.to_owned(), name));
                }
            }
        }
    }
    out
}

/// The unused imports of `source` (a file at `path`). `exported` holds the
/// names other project modules import from this one.
pub(crate) fn unused_imports(path: &str, source: &str, exported: &BTreeSet<String>) -> Unused {
    let mut out = Unused::default();
    if path.ends_with("__init__.py") {
        return out;
    }
    let Some(tree) = parse(source) else {
        return out;
    };
    let bytes = source.as_bytes();
    let mut statements = Vec::new();
    collect(tree.root_node(), bytes, &mut statements);
    // `x += 1` reads `x`: such names count as used.
    let mut read_by_augmented = BTreeSet::new();
    augmented_targets(tree.root_node(), bytes, &mut read_by_augmented);
    if statements.is_empty() {
        return out;
    }
    let names: BTreeSet<String> = statements
        .iter()
        .flat_map(|s| s.items.iter().map(|i| i.bound.clone()))
        .collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let model = FileModel::build(&tree, source, &name_refs);
    let in_all: BTreeSet<&str> = model.all_entries.iter().map(|e| e.value.as_str()).collect();
    let in_strings: BTreeSet<&str> = model
        .mentions
        .iter()
        .filter(|m| m.context == "string")
        .map(|m| m.name.as_str())
        .collect();

    for statement in &statements {
        let mut unused = Vec::new();
        for (index, item) in statement.items.iter().enumerate() {
            let Some(binding) = model
                .occurrences
                .iter()
                .find(|o| o.start == item.bound_start && matches!(o.role, Role::Bind(_)))
            else {
                continue;
            };
            let scope = binding.scope;
            let used = model.occurrences.iter().any(|o| {
                o.name == item.bound
                    && matches!(o.role, Role::Reference | Role::Declaration)
                    && match model.resolve(&o.name, o.scope) {
                        Resolution::Scope(s) if s == scope => true,
                        // A class body reads a name before its own binding of
                        // it shadows it (`uuid = Field(default=uuid.uuid4)`,
                        // `Answer = Answer`): such a read may be the import.
                        Resolution::Scope(s) => {
                            s == o.scope
                                && model.scopes[s].kind == ScopeKind::Class
                                && model.is_within(s, scope)
                        }
                        Resolution::Free => false,
                    }
            });
            if used
                || item.reexport
                || read_by_augmented.contains(&item.bound)
                || (scope == 0 && exported.contains(&item.bound))
                || (scope == 0 && in_all.contains(item.bound.as_str()))
            {
                continue;
            }
            let position = item.node.start_position();
            let keep = |why: &str| {
                (
                    position.row + 1,
                    position.column + 1,
                    format!("`{}` looks unused but {why}; left alone", item.bound),
                )
            };
            if in_strings.contains(item.bound.as_str()) {
                out.kept.push(keep(
                    "a string mentions it (an annotation or dynamic lookup?)",
                ));
            } else if inside(statement.node, "try_statement") {
                out.kept.push(keep("it is imported in a `try` block"));
            } else if line_of(source, statement.node)
                .to_ascii_lowercase()
                .contains("noqa")
            {
                out.kept.push(keep("its line says `noqa`"));
            } else {
                unused.push(index);
            }
        }
        if unused.is_empty() {
            continue;
        }
        for &index in &unused {
            out.removed.push(statement.items[index].bound.clone());
        }
        if unused.len() == statement.items.len() {
            out.edits.push(remove_statement(source, statement.node));
        } else {
            out.edits
                .extend(remove_items(source, &statement.items, &unused));
        }
    }
    out.edits.sort_by_key(|e| e.start);
    out
}

fn collect<'t>(node: Node<'t>, source: &[u8], out: &mut Vec<Statement<'t>>) {
    crate::lang::deep(|| collect_node(node, source, out));
}

fn collect_node<'t>(node: Node<'t>, source: &[u8], out: &mut Vec<Statement<'t>>) {
    match node.kind() {
        "import_statement" | "import_from_statement" => {
            if let Some(statement) = statement(node, source) {
                out.push(statement);
            }
            return;
        }
        "future_import_statement" => return,
        _ => {}
    }
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        collect(child, source, out);
    }
}

pub(crate) fn statement<'t>(node: Node<'t>, source: &[u8]) -> Option<Statement<'t>> {
    let mut cursor = node.walk();
    if node
        .named_children(&mut cursor)
        .any(|c| c.kind() == "wildcard_import")
    {
        return None;
    }
    let mut cursor = node.walk();
    let mut items = Vec::new();
    for name in node.children_by_field_name("name", &mut cursor) {
        let item = match name.kind() {
            "dotted_name" => {
                let first = name.named_child(0)?;
                Item {
                    node: name,
                    bound: text(first, source).to_owned(),
                    bound_start: first.start_byte(),
                    reexport: false,
                }
            }
            "aliased_import" => {
                let alias = name.child_by_field_name("alias")?;
                let imported = name.child_by_field_name("name")?;
                let bound = text(alias, source).to_owned();
                let imported_text = text(imported, source);
                Item {
                    node: name,
                    reexport: bound == imported_text,
                    bound,
                    bound_start: alias.start_byte(),
                }
            }
            _ => continue,
        };
        items.push(item);
    }
    (!items.is_empty()).then_some(Statement { node, items })
}

fn augmented_targets(node: Node, source: &[u8], out: &mut BTreeSet<String>) {
    if node.kind() == "augmented_assignment"
        && let Some(left) = node.child_by_field_name("left")
        && left.kind() == "identifier"
    {
        out.insert(text(left, source).to_owned());
    }
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        augmented_targets(child, source, out);
    }
}

fn inside(node: Node, kind: &str) -> bool {
    let mut current = node.parent();
    while let Some(n) = current {
        if n.kind() == kind {
            return true;
        }
        if matches!(
            n.kind(),
            "function_definition" | "class_definition" | "module"
        ) {
            return false;
        }
        current = n.parent();
    }
    false
}

fn line_of<'s>(source: &'s str, node: Node) -> &'s str {
    let start = source[..node.start_byte()].rfind('\n').map_or(0, |i| i + 1);
    let end = source[node.end_byte()..]
        .find('\n')
        .map_or(source.len(), |i| node.end_byte() + i);
    &source[start..end]
}

/// Deletes a whole statement: its lines when it is alone on them, else the
/// statement and its `;`. A block left empty gets `pass`.
pub(crate) fn remove_statement(source: &str, node: Node) -> Edit {
    let (start, end) = (node.start_byte(), node.end_byte());
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    let after = &source[end..];
    let line_end = after.find('\n').map_or(source.len(), |i| end + i + 1);
    let before_blank = source[line_start..start].trim().is_empty();
    let rest = &source[end..line_end];
    let rest_code = rest.split('#').next().unwrap_or("").trim();
    let only_child = node.parent().is_some_and(|p| {
        p.kind() == "block" && {
            let mut cursor = p.walk();
            p.named_children(&mut cursor)
                .filter(|c| c.kind() != "comment")
                .count()
                == 1
        }
    });
    if only_child {
        return Edit::new(source, start, end, "pass");
    }
    if before_blank && rest_code.is_empty() {
        return Edit::new(source, line_start, line_end, "");
    }
    // `import os; x = 1` or `x = 1; import os`.
    let trimmed_after = after.trim_start_matches([' ', '\t']);
    if let Some(stripped) = trimmed_after.strip_prefix(';') {
        let skip = after.len() - stripped.trim_start_matches([' ', '\t']).len();
        return Edit::new(source, start, end + skip, "");
    }
    let before = &source[line_start..start];
    if let Some(semi) = before.rfind(';') {
        return Edit::new(source, line_start + semi, end, "");
    }
    Edit::new(source, start, end, "pass")
}

/// Deletes unused names from a statement that keeps others: a run of
/// unused names followed by a kept one loses everything up to that name; a
/// run at the end loses everything from the previous kept name's end.
pub(crate) fn remove_items(source: &str, items: &[Item], unused: &[usize]) -> Vec<Edit> {
    let mut edits = Vec::new();
    let mut i = 0;
    while i < items.len() {
        if !unused.contains(&i) {
            i += 1;
            continue;
        }
        let first = i;
        while i < items.len() && unused.contains(&i) {
            i += 1;
        }
        let last = i - 1;
        let (start, end) = if i < items.len() {
            (items[first].node.start_byte(), items[i].node.start_byte())
        } else {
            (
                items[first - 1].node.end_byte(),
                items[last].node.end_byte(),
            )
        };
        edits.push(Edit::new(source, start, end, ""));
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(path: &str, source: &str) -> (String, Unused) {
        let found = unused_imports(path, source, &BTreeSet::new());
        (crate::edit::apply(source, &found.edits).unwrap(), found)
    }

    #[test]
    fn whole_statements_and_single_names() {
        let source = "import os\nimport sys, json\nfrom a import (\n    b,\n    c,\n    d,\n)\nfrom e import f as g, h\n\nprint(sys.argv, c, h)\n";
        let (out, found) = apply("m.py", source);
        assert_eq!(
            out,
            "import sys\nfrom a import (\n    c,\n)\nfrom e import h\n\nprint(sys.argv, c, h)\n"
        );
        assert_eq!(found.removed, ["os", "json", "b", "d", "g"]);
    }

    #[test]
    fn scoping_all_and_dotted_imports() {
        let source = "import os.path\nimport re\n__all__ = ['re']\n\ndef f():\n    import json\n    return os.path.join('a', 'b')\n\nclass C:\n    import typing\n";
        let (out, _) = apply("m.py", source);
        assert_eq!(
            out,
            "import os.path\nimport re\n__all__ = ['re']\n\ndef f():\n    return os.path.join('a', 'b')\n\nclass C:\n    pass\n"
        );
        // A local import used in its function is used; the module-level
        // name of the same spelling is not.
        let source = "import json\n\ndef f():\n    import json\n    return json.dumps(1)\n";
        let (out, _) = apply("m.py", source);
        assert_eq!(
            out,
            "\ndef f():\n    import json\n    return json.dumps(1)\n"
        );
    }

    #[test]
    fn reads_that_scoping_alone_would_miss() {
        // Found on Django: class bodies reading a module name before
        // shadowing it, and `+=` on an imported list.
        let source = "import uuid\nfrom .models import Answer\nfrom .urls import urlpatterns\n\nclass M:\n    uuid = Field(default=uuid.uuid4)\n    Answer = Answer\n\nurlpatterns += [1]\n";
        let (out, found) = apply("m.py", source);
        assert_eq!(out, source, "{:?}", found.removed);
        let (out, _) = apply("m.py", "from django.db import modelz  # NOQA\n");
        assert_eq!(out, "from django.db import modelz  # NOQA\n");
    }

    #[test]
    fn names_other_modules_import_are_kept() {
        let index =
            crate::lang::python::ModuleIndex::new(["pkg/__init__.py", "pkg/a.py", "pkg/b.py"]);
        let taken = imported_from(
            &index,
            "pkg/b.py",
            "from .a import helper, other as o\nfrom os import path\n",
        );
        assert_eq!(
            taken,
            [
                ("pkg/a.py".to_owned(), "helper".to_owned()),
                ("pkg/a.py".to_owned(), "other".to_owned())
            ]
        );
        let exported: BTreeSet<String> = ["helper".to_owned()].into();
        let (out, _) = {
            let found = unused_imports(
                "pkg/a.py",
                "from os.path import join as helper\nimport json\n",
                &exported,
            );
            let out = crate::edit::apply(
                "from os.path import join as helper\nimport json\n",
                &found.edits,
            )
            .unwrap();
            (out, found)
        };
        assert_eq!(out, "from os.path import join as helper\n");
    }

    #[test]
    fn doubtful_imports_are_kept_and_said() {
        let source = "try:\n    import ujson\nexcept ImportError:\n    ujson = None\nfrom typing import List\nimport os  # noqa: F401\nimport x as x\n\ndef f(a: \"List[int]\"):\n    pass\n";
        let (out, found) = apply("m.py", source);
        assert_eq!(out, source);
        let notes: Vec<&str> = found.kept.iter().map(|k| k.2.as_str()).collect();
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].contains("`try` block"));
        assert!(notes[1].contains("string"));
        assert!(notes[2].contains("noqa"));
        assert_eq!(
            unused_imports("pkg/__init__.py", "import os\n", &BTreeSet::new()),
            Unused::default()
        );
        let (out, _) = apply(
            "m.py",
            "from __future__ import annotations\nimport os; x = 1\n",
        );
        assert_eq!(out, "from __future__ import annotations\nx = 1\n");
    }
}
