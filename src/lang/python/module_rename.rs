//! Rename (or move) a module file, updating every import of it.
//!
//! `import old.mod` becomes `import new.mod` and the `old.mod` chains in
//! that file follow; `import old_mod` becomes `import new_mod as old_mod`
//! (the name the file uses stays bound); `from old.mod import x` gets the
//! new module (relative imports stay relative inside the same package);
//! `from pkg import mod` becomes `from newpkg import newmod as mod`. When
//! the module changes package, its own relative imports become absolute.
//! Strings that name the old module (`mock.patch("old.mod.x")`) are
//! reported, not edited.

use std::collections::BTreeMap;

use tree_sitter::Node;

use super::modules::ModuleIndex;
use super::rename::Note;
use super::{parse, text};
use crate::edit::Edit;

/// The edits per file (the renamed module's under its old path), the
/// string mentions, and why it cannot be done.
#[derive(Debug, Default)]
pub(crate) struct ModuleRename {
    pub edits: BTreeMap<String, Vec<Edit>>,
    pub mentions: Vec<Note>,
    pub problems: Vec<Note>,
}

/// `index` must know both paths; `files` holds the project's Python files.
pub(crate) fn rename_module(
    index: &ModuleIndex,
    old_path: &str,
    new_path: &str,
    files: &[(String, String)],
) -> ModuleRename {
    let mut out = ModuleRename::default();
    let old = index.module_of(old_path).unwrap_or_default().to_owned();
    let new = index.module_of(new_path).unwrap_or_default().to_owned();
    let old_last = old.rsplit('.').next().unwrap_or(&old).to_owned();
    let new_last = new.rsplit('.').next().unwrap_or(&new).to_owned();
    let old_package = index.package_of(old_path).unwrap_or_default();
    let new_package = index.package_of(new_path).unwrap_or_default();
    for (path, source) in files {
        let moved_file = path == old_path;
        if !moved_file && !source.contains(old_last.as_str()) {
            continue;
        }
        let Some(tree) = parse(source) else { continue };
        let bytes = source.as_bytes();
        let mut edits = Vec::new();
        let mut chains = false;
        let mut statements = Vec::new();
        collect_imports(tree.root_node(), &mut statements);
        for stmt in statements {
            if stmt.kind() == "import_statement" {
                let mut cursor = stmt.walk();
                for item in stmt.children_by_field_name("name", &mut cursor) {
                    let (dotted, aliased) = match item.kind() {
                        "aliased_import" => (item.child_by_field_name("name"), true),
                        _ => (Some(item), false),
                    };
                    let Some(dotted) = dotted else { continue };
                    if text(dotted, bytes) != old {
                        continue;
                    }
                    if aliased || old.contains('.') {
                        edits.push(Edit::new(
                            source,
                            dotted.start_byte(),
                            dotted.end_byte(),
                            &new,
                        ));
                        chains |= !aliased;
                    } else {
                        edits.push(Edit::new(
                            source,
                            dotted.start_byte(),
                            dotted.end_byte(),
                            &format!("{new} as {old}"),
                        ));
                    }
                }
                continue;
            }
            // from X import ...
            let Some(module_node) = stmt.child_by_field_name("module_name") else {
                continue;
            };
            let spec = text(module_node, bytes);
            let dots = spec.chars().take_while(|c| *c == '.').count();
            let Some(absolute) = index.absolute(path, dots, &spec[dots..]) else {
                continue;
            };
            if absolute == old {
                let replacement = if dots > 0 && old_package == new_package {
                    let prefix = &spec[..spec.len() - spec[dots..].len()];
                    let mut parts: Vec<&str> = spec[dots..].split('.').collect();
                    if let Some(last) = parts.last_mut() {
                        *last = &new_last;
                    }
                    format!("{prefix}{}", parts.join("."))
                } else {
                    new.clone()
                };
                edits.push(Edit::new(
                    source,
                    module_node.start_byte(),
                    module_node.end_byte(),
                    &replacement,
                ));
                continue;
            }
            // `from pkg import mod [as x]`: the submodule itself.
            if old_package.is_empty() || absolute != old_package {
                continue;
            }
            let mut cursor = stmt.walk();
            let items: Vec<Node> = stmt.children_by_field_name("name", &mut cursor).collect();
            for item in &items {
                let (name, alias) = match item.kind() {
                    "aliased_import" => (
                        item.child_by_field_name("name"),
                        item.child_by_field_name("alias").map(|a| text(a, bytes)),
                    ),
                    _ => (Some(*item), None),
                };
                let Some(name) = name else { continue };
                if text(name, bytes) != old_last {
                    continue;
                }
                let bound = alias.unwrap_or(&old_last);
                let aliased = if bound == new_last {
                    new_last.clone()
                } else {
                    format!("{new_last} as {bound}")
                };
                if old_package == new_package {
                    edits.push(Edit::new(
                        source,
                        item.start_byte(),
                        item.end_byte(),
                        &aliased,
                    ));
                } else if items.len() == 1 {
                    let text = if new_package.is_empty() {
                        format!("import {aliased}")
                    } else {
                        format!("from {new_package} import {aliased}")
                    };
                    edits.push(Edit::new(source, stmt.start_byte(), stmt.end_byte(), &text));
                } else {
                    out.problems.push(Note {
                        file: path.clone(),
                        line: stmt.start_position().row + 1,
                        column: 1,
                        note: format!(
                            "`{}` imports `{old_last}` with other names from its package; split it before moving the module to another package",
                            text(stmt, bytes)
                        ),
                    });
                }
            }
        }
        if chains {
            dotted_chains(tree.root_node(), bytes, &old, &mut |node| {
                edits.push(Edit::new(source, node.start_byte(), node.end_byte(), &new));
            });
        }
        // The module's own relative imports, when its package changes.
        if moved_file && old_package != new_package {
            let mut statements = Vec::new();
            collect_imports(tree.root_node(), &mut statements);
            for stmt in statements
                .iter()
                .filter(|s| s.kind() == "import_from_statement")
            {
                let Some(module_node) = stmt.child_by_field_name("module_name") else {
                    continue;
                };
                let spec = text(module_node, bytes);
                let dots = spec.chars().take_while(|c| *c == '.').count();
                if dots == 0 {
                    continue;
                }
                if let Some(absolute) = index.absolute(path, dots, &spec[dots..]) {
                    if absolute.is_empty() {
                        continue;
                    }
                    edits.retain(|e: &Edit| e.start != module_node.start_byte());
                    edits.push(Edit::new(
                        source,
                        module_node.start_byte(),
                        module_node.end_byte(),
                        &absolute,
                    ));
                }
            }
        }
        // Strings naming the module.
        string_mentions(tree.root_node(), bytes, &old, &mut |node| {
            out.mentions.push(Note {
                file: path.clone(),
                line: node.start_position().row + 1,
                column: node.start_position().column + 1,
                note: format!("a string names the module `{old}`"),
            });
        });
        if !edits.is_empty() || moved_file {
            edits.sort_by_key(|e| e.start);
            edits.dedup_by_key(|e| e.start);
            out.edits.insert(path.clone(), edits);
        }
    }
    out
}

fn collect_imports<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "import_statement" | "import_from_statement" => out.push(child),
            _ => collect_imports(child, out),
        }
    }
}

/// Outermost `attribute` nodes whose text is exactly `dotted` (outside imports).
fn dotted_chains<'t>(
    node: Node<'t>,
    source: &[u8],
    dotted: &str,
    found: &mut impl FnMut(Node<'t>),
) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "import_statement" | "import_from_statement" => {}
            "attribute" if text(child, source) == dotted => found(child),
            _ => dotted_chains(child, source, dotted, found),
        }
    }
}

fn string_mentions<'t>(
    node: Node<'t>,
    source: &[u8],
    dotted: &str,
    found: &mut impl FnMut(Node<'t>),
) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        if child.kind() == "string" {
            let content = text(child, source);
            if content.contains(dotted) && dotted.contains('.') {
                found(child);
            }
        } else {
            string_mentions(child, source, dotted, found);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        files: &[(&str, &str)],
        old: &str,
        new: &str,
    ) -> (BTreeMap<String, String>, ModuleRename) {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        let mut paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        paths.push(new);
        let index = ModuleIndex::new(paths);
        let change = rename_module(&index, old, new, &files);
        let mut out = BTreeMap::new();
        for (path, source) in &files {
            let edits = change.edits.get(path).into_iter().flatten();
            out.insert(path.clone(), crate::edit::apply(source, edits).unwrap());
        }
        (out, change)
    }

    #[test]
    fn every_import_form_follows() {
        let (out, change) = run(
            &[
                ("shop/__init__.py", "from .util import slug\n"),
                (
                    "shop/util.py",
                    "from .money import cents\n\n\ndef slug(x):\n    return x\n",
                ),
                ("shop/money.py", "def cents(x):\n    return x\n"),
                (
                    "app.py",
                    "import shop.util\nimport shop.util as u\nfrom shop import util\nfrom shop.util import slug\n\nshop.util.slug(1)\nu.slug(2)\nutil.slug(3)\npatch(\"shop.util.slug\")\n",
                ),
            ],
            "shop/util.py",
            "shop/text.py",
        );
        assert!(change.problems.is_empty());
        assert_eq!(out["shop/__init__.py"], "from .text import slug\n");
        assert_eq!(
            out["app.py"],
            "import shop.text\nimport shop.text as u\nfrom shop import text as util\nfrom shop.text import slug\n\nshop.text.slug(1)\nu.slug(2)\nutil.slug(3)\npatch(\"shop.util.slug\")\n"
        );
        // Same package: its relative imports stay.
        assert!(change.edits["shop/util.py"].is_empty());
        assert_eq!(change.mentions.len(), 1);
    }

    #[test]
    fn another_package_makes_relative_imports_absolute() {
        let (out, _) = run(
            &[
                ("shop/__init__.py", ""),
                ("shop/util.py", "from .money import cents\n"),
                ("shop/money.py", ""),
                ("lib/__init__.py", ""),
                ("app.py", "from shop import util\nimport util_top\n"),
            ],
            "shop/util.py",
            "lib/text.py",
        );
        assert_eq!(out["shop/util.py"], "from shop.money import cents\n");
        assert_eq!(
            out["app.py"],
            "from lib import text as util\nimport util_top\n"
        );
    }
}
