//! Move a module-level function or class to another module.
//!
//! The definition (with its decorators and the comments right above it)
//! leaves the source module and is appended to the target module, which is
//! created when it does not exist. What the moved code uses from its old
//! module comes along: imports are copied (relative ones made absolute when
//! the package changes), private helpers nothing else uses move with it,
//! and other module-level names are imported from the old module. Every
//! `from old import NAME` in the project becomes `from new import NAME`
//! (split out of statements that import other names too), `old.NAME`
//! becomes `NAME` with an import, and an import of the name into the target
//! module itself goes away. The old module imports the name back when it
//! still uses it, lists it in `__all__`, or `keep_alias` asks for a
//! re-export. A circular import, a name the target already binds, or a
//! star import that carried the name is refused.

use std::collections::{BTreeMap, BTreeSet};

use tree_sitter::{Node, Tree};

use super::imports::{remove_items, remove_statement, statement};
use super::modules::ModuleIndex;
use super::rename::{Note, RenameAnalysis};
use super::scope::{Binding, FileModel, Resolution, Role};
use super::{find_word, parse, text, top_level_definitions};
use crate::edit::{Edit, EditKind};

/// What to move where.
pub(crate) struct Move<'a> {
    pub source_file: &'a str,
    pub name: &'a str,
    pub target_file: &'a str,
    pub keep_alias: bool,
}

/// The edits, the new file (if any), and why it cannot be done.
#[derive(Debug, Default)]
pub(crate) struct MoveChange {
    pub edits: BTreeMap<String, Vec<Edit>>,
    /// The target module when it does not exist yet: (path, content).
    pub create: Option<(String, String)>,
    pub problems: Vec<Note>,
    /// What happened besides the edits, for people.
    pub notes: Vec<Note>,
}

/// `files` holds every project Python file (path, source); `index` must
/// know the target path too; `analysis` is the rename analysis of `name`
/// in `source_file` (its import, reference and attribute sites).
pub(crate) fn move_symbol(
    index: &ModuleIndex,
    request: &Move,
    files: &[(String, String)],
    analysis: &RenameAnalysis,
) -> MoveChange {
    let mut change = MoveChange::default();
    let sources: BTreeMap<&str, &str> = files
        .iter()
        .map(|(p, s)| (p.as_str(), s.as_str()))
        .collect();
    let (a_path, b_path, name) = (request.source_file, request.target_file, request.name);
    let problem = |file: &str, line: usize, note: String| Note {
        file: file.to_owned(),
        line,
        column: 1,
        note,
    };
    let Some(a_source) = sources.get(a_path).copied() else {
        change.problems.push(problem(
            a_path,
            1,
            "not a Python file of the project".into(),
        ));
        return change;
    };
    let Some(a_tree) = parse(a_source) else {
        return change;
    };
    let a_bytes = a_source.as_bytes();
    let a_module = index.module_of(a_path).unwrap_or_default().to_owned();
    let b_module = index.module_of(b_path).unwrap_or_default().to_owned();
    if a_path == b_path {
        change.problems.push(problem(
            a_path,
            1,
            format!("`{name}` is already in `{b_path}`"),
        ));
        return change;
    }

    // The module-level statements of A by the names they define.
    let statements = module_statements(a_tree.root_node(), a_bytes);
    let Some(&main) = statements.get(name) else {
        change.problems.push(problem(
            a_path,
            1,
            format!("`{name}` is not a function or class defined at the top level of `{a_path}` (orch does not move definitions inside `if`/`try` blocks)"),
        ));
        return change;
    };

    // Names bound at A's module level, and which of them are imports.
    let (a_defined, import_names) = module_names(&a_tree, a_source);
    let names: Vec<String> = a_defined.union(&import_names).cloned().collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let model = FileModel::build(&a_tree, a_source, &name_refs);

    // The moved statements: the definition, plus private helpers only it uses.
    let mut moved: Vec<Node> = vec![main];
    let mut dependencies: BTreeSet<String>;
    loop {
        dependencies = BTreeSet::new();
        for node in &moved {
            dependencies.extend(uses_of_module_names(&model, *node));
        }
        let mut grew = false;
        for dep in &dependencies {
            let Some(&node) = statements.get(dep.as_str()) else {
                continue;
            };
            if moved.iter().any(|m| m.id() == node.id()) || !dep.starts_with('_') {
                continue;
            }
            let outside = find_word(a_source, dep)
                .into_iter()
                .filter(|&at| !moved.iter().chain([&node]).any(|m| within(*m, at)))
                .count();
            let elsewhere = files
                .iter()
                .any(|(p, s)| p != a_path && !find_word(s, dep).is_empty());
            if outside == 0 && !elsewhere {
                moved.push(node);
                grew = true;
            }
        }
        if !grew {
            break;
        }
    }
    moved.sort_by_key(|n| n.start_byte());
    let moved_names: BTreeSet<String> = moved
        .iter()
        .filter_map(|n| defined_name(*n, a_bytes))
        .collect();
    for helper in moved_names.iter().filter(|n| *n != name) {
        change.notes.push(problem(
            a_path,
            1,
            format!("`{helper}` moves along: only `{name}` uses it"),
        ));
    }

    // What B must import for the moved code.
    let mut b_imports: Vec<String> = Vec::new();
    let mut from_a: Vec<String> = Vec::new();
    for dep in dependencies.iter().filter(|d| !moved_names.contains(*d)) {
        if import_names.contains(dep) {
            if let Some(line) = import_line(index, a_path, b_path, &model, &a_tree, a_bytes, dep)
                && !b_imports.contains(&line)
            {
                b_imports.push(line);
            }
        } else if statements.contains_key(dep.as_str()) || a_defined.contains(dep) {
            from_a.push(dep.clone());
        }
    }
    if !from_a.is_empty() {
        b_imports.push(format!("from {a_module} import {}", from_a.join(", ")));
    }

    // Does A still need the name?
    let a_sites = analysis.sites.get(a_path).cloned().unwrap_or_default();
    let a_uses = a_sites
        .iter()
        .any(|s| s.kind == EditKind::Reference && !moved.iter().any(|m| within(*m, s.start)));
    let a_all = a_sites.iter().any(|s| s.kind == EditKind::All);
    let a_imports_b = a_uses || a_all || request.keep_alias;
    if a_imports_b && !from_a.is_empty() {
        change.problems.push(problem(
            a_path,
            main.start_position().row + 1,
            format!(
                "a circular import: `{name}` uses {} from `{a_module}`, and `{a_module}` would import `{name}` back from `{b_module}` ({}); move those along first or break the cycle by hand",
                from_a.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "),
                if request.keep_alias { "--keep-alias" } else if a_all { "it is in `__all__`" } else { "it still calls it" }
            ),
        ));
    }
    if a_all && !request.keep_alias {
        change.notes.push(problem(
            a_path,
            1,
            format!(
                "`{a_path}` lists `{name}` in `__all__`, so it imports it back from `{b_module}`"
            ),
        ));
    }

    // A: the definitions go; imports only they used go too; the name
    // comes back by import if needed.
    let deletions: Vec<Edit> = moved
        .iter()
        .map(|n| super::dead::deletion(a_source, *n))
        .collect();
    let mut a_edits = keep_spacing(a_source, deletions.clone());
    let moved_imports: BTreeSet<&String> = dependencies
        .iter()
        .filter(|d| import_names.contains(*d))
        .collect();
    if !moved_imports.is_empty() {
        let first = a_edits.iter().map(|e| e.start).min().unwrap_or(0);
        let exported: BTreeSet<String> = files
            .iter()
            .filter(|(p, _)| p != a_path)
            .flat_map(|(p, s)| super::imports::imported_from(index, p, s))
            .filter(|(file, _)| file == a_path)
            .map(|(_, name)| name)
            .collect();
        let before = super::imports::unused_imports(a_path, a_source, &exported);
        if let Ok(edited) = apply(a_source, &a_edits) {
            let after = super::imports::unused_imports(a_path, &edited, &exported);
            for edit in after.edits {
                let new_here = !before
                    .edits
                    .iter()
                    .any(|b| b.start == edit.start && b.old == edit.old);
                if new_here && edit.end <= first {
                    change.notes.push(problem(
                        a_path,
                        edit.line,
                        format!("`{}` goes: only the moved code used it", edit.old.trim()),
                    ));
                    a_edits.push(edit);
                }
            }
        }
    }
    // A deletion followed by only blank lines and another deletion takes
    // the blank lines too (a whole import block going leaves no gap).
    a_edits.sort_by_key(|e| e.start);
    for i in 0..a_edits.len().saturating_sub(1) {
        let (end, next) = (a_edits[i].end, a_edits[i + 1].start);
        if a_edits[i].new.is_empty()
            && next > end
            && a_source[end..next]
                .chars()
                .all(|c| c == '\n' || c == ' ' || c == '\t')
        {
            a_edits[i].end = next;
            a_edits[i].old = a_source[a_edits[i].start..next].to_owned();
        }
    }
    if a_imports_b {
        let mut at = import_point(&a_tree, a_source);
        // Not inside a deletion.
        if let Some(covering) = a_edits.iter().find(|e| e.start < at && at < e.end) {
            at = covering.end;
        }
        a_edits.push(insertion(
            a_source,
            at,
            &format!("from {b_module} import {name}\n"),
        ));
    }
    change.edits.insert(a_path.to_owned(), a_edits);

    // The moved text, in source order.
    let moved_text: Vec<String> = moved
        .iter()
        .zip(&deletions)
        .map(|(n, deletion)| {
            let mut chunk = a_source[deletion.start..n.end_byte()]
                .trim_start_matches('\n')
                .to_owned();
            chunk.push('\n');
            chunk
        })
        .collect();
    let body = moved_text.join("\n\n");

    // B: append (or create).
    match sources.get(b_path).copied() {
        Some(b_source) => {
            let Some(b_tree) = parse(b_source) else {
                return change;
            };
            let (b_defined, b_imported) = module_names(&b_tree, b_source);
            let b_bound: BTreeSet<String> = b_defined.union(&b_imported).cloned().collect();
            // An import of the name into B goes; a definition clashes.
            if b_defined.contains(name) {
                change.problems.push(problem(
                    b_path,
                    1,
                    format!("`{b_path}` already defines `{name}`"),
                ));
            }
            for helper in &moved_names {
                if helper != name && b_bound.contains(helper) {
                    change.problems.push(problem(
                        b_path,
                        1,
                        format!(
                            "`{b_path}` already defines `{helper}`, which moves along with `{name}`"
                        ),
                    ));
                }
            }
            let wanted: Vec<String> = b_imports
                .iter()
                .filter(|line| {
                    let bound = line_binds(line);
                    !bound.iter().all(|b| b_bound.contains(b))
                })
                .cloned()
                .collect();
            let mut b_edits = Vec::new();
            if !wanted.is_empty() {
                let at = import_point(&b_tree, b_source);
                // Without imports to join, the new ones stand apart: after
                // a docstring (whose blank lines follow), or before the code.
                let lines = wanted.join("\n");
                let text = if has_imports(&b_tree) {
                    format!("{lines}\n")
                } else if at > 0 {
                    format!("\n{lines}\n")
                } else {
                    format!("{lines}\n\n\n")
                };
                b_edits.push(insertion(b_source, at, &text));
            }
            let mut tail = String::new();
            if !b_source.is_empty() && !b_source.ends_with('\n') {
                tail.push('\n');
            }
            let trailing_blank = b_source.len() - b_source.trim_end_matches('\n').len();
            if !b_source.trim().is_empty() {
                tail.push_str(&"\n".repeat(3usize.saturating_sub(trailing_blank.max(1))));
            }
            tail.push_str(&body);
            b_edits.push(insertion(b_source, b_source.len(), &tail));
            change.edits.insert(b_path.to_owned(), b_edits);
        }
        None => {
            let mut content = String::new();
            if !b_imports.is_empty() {
                content.push_str(&b_imports.join("\n"));
                content.push_str("\n\n\n");
            }
            content.push_str(&body);
            change.create = Some((b_path.to_owned(), content));
        }
    }

    // Everyone else: imports and `module.NAME`.
    for (path, sites) in &analysis.sites {
        if path == a_path {
            continue;
        }
        let Some(source) = sources.get(path.as_str()).copied() else {
            continue;
        };
        let Some(tree) = parse(source) else { continue };
        let bytes = source.as_bytes();
        let mut edits: Vec<Edit> = Vec::new();
        let mut needs_import = false;
        let mut done_statements = BTreeSet::new();
        for site in sites {
            let Some(node) = tree
                .root_node()
                .descendant_for_byte_range(site.start, site.end)
            else {
                continue;
            };
            match site.kind {
                EditKind::Import => {
                    let Some(stmt) = ancestor(node, "import_from_statement") else {
                        continue;
                    };
                    if !done_statements.insert(stmt.id()) {
                        continue;
                    }
                    edits.extend(rewrite_import(
                        index, path, b_path, &b_module, source, bytes, stmt, name,
                    ));
                }
                EditKind::Attribute => {
                    let Some(attribute) = node.parent().filter(|p| p.kind() == "attribute") else {
                        continue;
                    };
                    if path == b_path {
                        edits.push(Edit::new(
                            source,
                            attribute.start_byte(),
                            attribute.end_byte(),
                            name,
                        ));
                        continue;
                    }
                    let others = find_word(source, name)
                        .into_iter()
                        .filter(|&at| !sites.iter().any(|s| s.start == at))
                        .count();
                    if others > 0 {
                        change.problems.push(problem(
                            path,
                            site.line,
                            format!("`{}` would become `{name}`, but `{path}` uses that name for something else; change it by hand", text(attribute, bytes)),
                        ));
                        continue;
                    }
                    edits.push(Edit::new(
                        source,
                        attribute.start_byte(),
                        attribute.end_byte(),
                        name,
                    ));
                    needs_import = true;
                }
                EditKind::Reference if !request.keep_alias => {
                    // Bound through a star import of the old module.
                    let model = FileModel::build(&tree, source, &[name]);
                    if model.resolve(name, 0) == Resolution::Free {
                        change.problems.push(problem(
                            path,
                            site.line,
                            format!("`{name}` comes into `{path}` through `from ... import *` of `{a_module}`; pass --keep-alias so it still does"),
                        ));
                    }
                }
                _ => {}
            }
        }
        // An import of the name from the new module is there already.
        let imported_here = sites.iter().any(|s| s.kind == EditKind::Import);
        if needs_import && !imported_here {
            let at = import_point(&tree, source);
            edits.push(insertion(
                source,
                at,
                &format!("from {b_module} import {name}\n"),
            ));
        }
        if !edits.is_empty() {
            change.edits.entry(path.clone()).or_default().extend(edits);
        }
    }
    for edits in change.edits.values_mut() {
        edits.sort_by_key(|e| (e.start, e.end));
        // Insertions at the same place as a deletion go first.
        merge_same_start(edits);
    }
    change.edits.retain(|_, e| !e.is_empty());
    let overlapping: Vec<String> = change
        .edits
        .iter()
        .filter(|(_, e)| e.windows(2).any(|w| w[1].start < w[0].end))
        .map(|(p, _)| p.clone())
        .collect();
    for path in overlapping {
        change.problems.push(problem(
            &path,
            1,
            "the definition sits among the imports, where orch cannot place the new import; move it below them first".into(),
        ));
    }
    change
}

/// Module-level function/class statements (the decorated form where there
/// is one) and simple assignments, by the name they define.
fn module_statements<'t>(root: Node<'t>, source: &[u8]) -> BTreeMap<String, Node<'t>> {
    let mut out = BTreeMap::new();
    let mut cursor = root.walk();
    for child in root.named_children(&mut cursor) {
        if let Some(name) = defined_name(child, source) {
            out.entry(name).or_insert(child);
        }
    }
    out
}

/// The name a module-level statement defines: `def`/`class` (decorated or
/// not) or a single-target assignment `NAME = ...`.
fn defined_name(node: Node, source: &[u8]) -> Option<String> {
    match node.kind() {
        "function_definition" | "class_definition" => {
            Some(text(node.child_by_field_name("name")?, source).to_owned())
        }
        "decorated_definition" => defined_name(node.child_by_field_name("definition")?, source),
        "expression_statement" => {
            let assignment = node.named_child(0).filter(|c| c.kind() == "assignment")?;
            let left = assignment.child_by_field_name("left")?;
            (left.kind() == "identifier").then(|| text(left, source).to_owned())
        }
        _ => None,
    }
}

fn within(node: Node, at: usize) -> bool {
    node.start_byte() <= at && at < node.end_byte()
}

/// Module-level names the code of `node` reads.
fn uses_of_module_names(model: &FileModel, node: Node) -> BTreeSet<String> {
    model
        .occurrences
        .iter()
        .filter(|o| within(node, o.start))
        .filter(|o| matches!(o.role, Role::Reference))
        .filter(|o| model.resolve(&o.name, o.scope) == Resolution::Scope(0))
        .map(|o| o.name.clone())
        .collect()
}

/// The import statement that binds `dep` in A, rewritten for B.
#[allow(clippy::too_many_arguments)]
fn import_line(
    index: &ModuleIndex,
    a_path: &str,
    b_path: &str,
    model: &FileModel,
    tree: &Tree,
    source: &[u8],
    dep: &str,
) -> Option<String> {
    let binding = model.occurrences.iter().find(|o| {
        o.scope == 0
            && o.name == dep
            && matches!(
                o.role,
                Role::Bind(Binding::Module { .. } | Binding::From { .. })
            )
    })?;
    let node = tree
        .root_node()
        .descendant_for_byte_range(binding.start, binding.end)?;
    let item = ancestor(node, "aliased_import").or_else(|| {
        ancestor(node, "dotted_name")
            .filter(|d| d.parent().is_some_and(|p| p.kind().starts_with("import")))
    })?;
    let item_text = text(item, source);
    if let Some(stmt) = ancestor(node, "import_from_statement") {
        let module_node = stmt.child_by_field_name("module_name")?;
        let module_text = text(module_node, source);
        let module_text = if module_text.starts_with('.')
            && index.package_of(a_path) != index.package_of(b_path)
        {
            let dots = module_text.chars().take_while(|c| *c == '.').count();
            index.absolute(a_path, dots, &module_text[dots..])?
        } else {
            module_text.to_owned()
        };
        Some(format!("from {module_text} import {item_text}"))
    } else {
        Some(format!("import {item_text}"))
    }
}

fn ancestor<'t>(node: Node<'t>, kind: &str) -> Option<Node<'t>> {
    let mut current = Some(node);
    while let Some(n) = current {
        if n.kind() == kind {
            return Some(n);
        }
        current = n.parent();
    }
    None
}

/// `from A import NAME [as X], other` in some file: the module changes, or
/// NAME is split out into its own `from B import ...` line. In B itself the
/// import goes away.
#[allow(clippy::too_many_arguments)]
fn rewrite_import(
    index: &ModuleIndex,
    path: &str,
    b_path: &str,
    b_module: &str,
    source: &str,
    bytes: &[u8],
    stmt: Node,
    name: &str,
) -> Vec<Edit> {
    let Some(parsed) = statement(stmt, bytes) else {
        return Vec::new();
    };
    let Some(module_node) = stmt.child_by_field_name("module_name") else {
        return Vec::new();
    };
    let ours: Vec<usize> = parsed
        .items
        .iter()
        .enumerate()
        .filter(|(_, item)| {
            let imported = match item.node.kind() {
                "aliased_import" => item
                    .node
                    .child_by_field_name("name")
                    .map_or("", |n| text(n, bytes)),
                _ => text(item.node, bytes),
            };
            imported == name
        })
        .map(|(i, _)| i)
        .collect();
    if ours.is_empty() {
        return Vec::new();
    }
    if path == b_path {
        return if ours.len() == parsed.items.len() {
            vec![remove_statement(source, stmt)]
        } else {
            remove_items(source, &parsed.items, &ours)
        };
    }
    let relative = text(module_node, bytes).starts_with('.');
    let module = if relative && index.package_of(path) == index.package_of(b_path) {
        format!(".{}", b_module.rsplit('.').next().unwrap_or(b_module))
    } else {
        b_module.to_owned()
    };
    if ours.len() == parsed.items.len() {
        return vec![Edit::new(
            source,
            module_node.start_byte(),
            module_node.end_byte(),
            &module,
        )];
    }
    let mut edits = remove_items(source, &parsed.items, &ours);
    let items: Vec<&str> = ours
        .iter()
        .map(|&i| text(parsed.items[i].node, bytes))
        .collect();
    let line_start = source[..stmt.start_byte()].rfind('\n').map_or(0, |i| i + 1);
    let indent: String = source[line_start..stmt.start_byte()]
        .chars()
        .take_while(|c| c.is_whitespace())
        .collect();
    edits.push(insertion(
        source,
        stmt.end_byte(),
        &format!("\n{indent}from {module} import {}", items.join(", ")),
    ));
    edits
}

/// Names bound at module level: (definitions and assignments, imports).
fn module_names(tree: &Tree, source: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let defined = top_level_definitions(tree, source)
        .into_iter()
        .map(|d| d.name)
        .collect();
    let imported = FileModel::build(tree, source, &[])
        .imports
        .into_iter()
        .filter(|r| r.scope == 0)
        .map(|r| r.bound)
        .collect();
    (defined, imported)
}

/// The names an import line we wrote binds.
fn line_binds(line: &str) -> Vec<String> {
    let items = match line.split_once(" import ") {
        Some((_, items)) => items,
        None => line.trim_start_matches("import "),
    };
    items
        .split(',')
        .map(|item| {
            let item = item.trim();
            match item.split_once(" as ") {
                Some((_, alias)) => alias.trim().to_owned(),
                None => item.split('.').next().unwrap_or(item).to_owned(),
            }
        })
        .collect()
}

fn has_imports(tree: &Tree) -> bool {
    let root = tree.root_node();
    let mut cursor = root.walk();
    root.named_children(&mut cursor)
        .any(|c| matches!(c.kind(), "import_statement" | "import_from_statement"))
}

/// After the last module-level import (at the start of the next line), or
/// after the docstring and `from __future__` imports when there is none.
fn import_point(tree: &Tree, source: &str) -> usize {
    let root = tree.root_node();
    let mut cursor = root.walk();
    let children: Vec<Node> = root.named_children(&mut cursor).collect();
    let line_after = |node: Node| {
        source[node.end_byte()..]
            .find('\n')
            .map_or(source.len(), |i| node.end_byte() + i + 1)
    };
    if let Some(last) = children
        .iter()
        .rev()
        .find(|c| matches!(c.kind(), "import_statement" | "import_from_statement"))
    {
        return line_after(*last);
    }
    let mut at = 0;
    for (i, child) in children.iter().enumerate() {
        let docstring = i == 0
            && child.kind() == "expression_statement"
            && child.named_child(0).is_some_and(|s| s.kind() == "string");
        if docstring || child.kind() == "future_import_statement" {
            at = line_after(*child);
        } else if child.kind() != "comment" {
            break;
        }
    }
    at
}

/// Deletions that leave fewer blank lines before the next statement than
/// they removed after the last deleted one (one blank line after an import
/// block where a `def` wants two) keep the difference. Adjacent deletions
/// merge first.
fn keep_spacing(source: &str, mut edits: Vec<Edit>) -> Vec<Edit> {
    edits.sort_by_key(|e| e.start);
    let mut merged: Vec<Edit> = Vec::new();
    for edit in edits {
        match merged.last_mut() {
            Some(last) if last.end == edit.start => {
                last.end = edit.end;
                last.old.push_str(&edit.old);
            }
            _ => merged.push(edit),
        }
    }
    for edit in &mut merged {
        if edit.end >= source.len() {
            continue;
        }
        let blank_before = source[..edit.start]
            .trim_end_matches(['\n', ' ', '\t'])
            .len();
        let kept = source[blank_before..edit.start]
            .matches('\n')
            .count()
            .saturating_sub(1);
        let removed = edit.old.len() - edit.old.trim_end_matches(['\n', ' ', '\t']).len();
        let removed_lines = edit.old[edit.old.len() - removed..]
            .matches('\n')
            .count()
            .saturating_sub(1);
        if removed_lines > kept && blank_before > 0 {
            edit.new = "\n".repeat(removed_lines - kept);
        }
    }
    merged
}

/// `source` with `edits` applied in order of position (they may come in
/// any order; overlapping ones are an error).
fn apply(source: &str, edits: &[Edit]) -> Result<String, String> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| e.start);
    crate::edit::apply(source, sorted).map_err(|e| e.to_string())
}

fn insertion(source: &str, at: usize, new: &str) -> Edit {
    let mut new = new.to_owned();
    if at == source.len() && !source.is_empty() && !source.ends_with('\n') && !new.starts_with('\n')
    {
        new.insert(0, '\n');
    }
    Edit::new(source, at, at, &new)
}

/// Pure insertions at the start of a deletion fold into it.
fn merge_same_start(edits: &mut Vec<Edit>) {
    let mut out: Vec<Edit> = Vec::with_capacity(edits.len());
    for edit in edits.drain(..) {
        match out.last_mut() {
            Some(last) if last.start == edit.start && last.start == last.end => {
                let mut merged = edit;
                merged.new = format!("{}{}", last.new, merged.new);
                *last = merged;
            }
            _ => out.push(edit),
        }
    }
    *edits = out;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::python::rename;

    fn run(
        files: &[(&str, &str)],
        from: &str,
        name: &str,
        to: &str,
        keep_alias: bool,
    ) -> (BTreeMap<String, String>, MoveChange) {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        let mut paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        paths.push(to);
        let index = ModuleIndex::new(paths);
        let analysis = rename::analyse(&index, from, name, "__moved__", &files);
        let change = move_symbol(
            &index,
            &Move {
                source_file: from,
                name,
                target_file: to,
                keep_alias,
            },
            &files,
            &analysis,
        );
        let mut out = BTreeMap::new();
        for (path, source) in &files {
            let edits = change.edits.get(path).into_iter().flatten();
            out.insert(path.clone(), crate::edit::apply(source, edits).unwrap());
        }
        if let Some((path, content)) = &change.create {
            out.insert(path.clone(), content.clone());
        }
        (out, change)
    }

    const UTIL: &str = "\"\"\"Helpers.\"\"\"\n\nimport re\nfrom .money import round_price\n\n_NUMBER = re.compile(r\"\\d+\")\n\n\n# Parse one price.\ndef parse_price(text):\n    return round_price(float(_NUMBER.search(text).group()))\n\n\ndef slug(text):\n    return text.lower()\n";
    const MONEY: &str = "def round_price(value):\n    return round(value, 2)\n";
    const USER: &str = "from shop.util import parse_price, slug\nfrom shop import util\n\n\ndef total(items):\n    return sum(parse_price(i) for i in items) + len(util.parse_price(\"1\"))\n";

    #[test]
    fn a_function_moves_with_its_private_helper_and_imports() {
        let (out, change) = run(
            &[
                ("shop/__init__.py", ""),
                ("shop/util.py", UTIL),
                ("shop/money.py", MONEY),
                ("shop/cart.py", USER),
            ],
            "shop/util.py",
            "parse_price",
            "shop/money.py",
            false,
        );
        assert!(change.problems.is_empty(), "{:?}", change.problems);
        assert_eq!(
            out["shop/util.py"],
            "\"\"\"Helpers.\"\"\"\n\n\ndef slug(text):\n    return text.lower()\n"
        );
        assert_eq!(
            out["shop/money.py"],
            "import re\n\n\ndef round_price(value):\n    return round(value, 2)\n\n\n_NUMBER = re.compile(r\"\\d+\")\n\n\n# Parse one price.\ndef parse_price(text):\n    return round_price(float(_NUMBER.search(text).group()))\n"
        );
        assert_eq!(
            out["shop/cart.py"],
            "from shop.util import slug\nfrom shop.money import parse_price\nfrom shop import util\n\n\ndef total(items):\n    return sum(parse_price(i) for i in items) + len(parse_price(\"1\"))\n"
        );
        let notes: Vec<&str> = change.notes.iter().map(|n| n.note.as_str()).collect();
        assert!(
            notes.contains(&"`_NUMBER` moves along: only `parse_price` uses it"),
            "{notes:?}"
        );
        assert!(
            notes.contains(&"`import re` goes: only the moved code used it"),
            "{notes:?}"
        );
    }

    #[test]
    fn keep_alias_reexports_and_a_new_module_is_created() {
        let (out, change) = run(
            &[
                ("shop/__init__.py", ""),
                ("shop/util.py", UTIL),
                ("shop/money.py", MONEY),
            ],
            "shop/util.py",
            "slug",
            "shop/text.py",
            true,
        );
        assert!(change.problems.is_empty(), "{:?}", change.problems);
        assert!(
            out["shop/util.py"]
                .contains("from .money import round_price\nfrom shop.text import slug\n")
        );
        assert!(!out["shop/util.py"].contains("def slug"));
        assert_eq!(
            out["shop/text.py"],
            "def slug(text):\n    return text.lower()\n"
        );
    }

    #[test]
    fn cycles_and_clashes_are_refused() {
        let util = "def helper():\n    return 1\n\n\ndef parse_price(text):\n    return helper()\n\n\ndef other():\n    return parse_price(\"1\")\n";
        let (_, change) = run(
            &[
                ("util.py", util),
                ("money.py", "def parse_price():\n    pass\n"),
            ],
            "util.py",
            "parse_price",
            "money.py",
            false,
        );
        let notes: Vec<&str> = change.problems.iter().map(|p| p.note.as_str()).collect();
        assert!(
            notes.iter().any(|n| n.contains("circular import")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("already defines `parse_price`")),
            "{notes:?}"
        );
    }
}
