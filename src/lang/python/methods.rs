//! The rename analysis for a method of a module-level class.
//!
//! The family is the class and its project subclasses (transitively, bases
//! resolved through imports): renaming a method renames its overrides, as
//! rope's `in_hierarchy` does, so polymorphic calls keep working. Sites are
//! the `def` in each family class, bare uses in a family class body, and
//! `X.NAME` where the receiver is known to be a family instance or class:
//! the first parameter of a method of a family class (`self`, `cls`),
//! `super()` in a family class, a name bound to a family class, or a name
//! assigned a family instance (`x = C(...)`) in the same scope. Every other
//! `.NAME` is reported as uncertain and left alone. A project base class
//! that defines the method too is a clash (the override would break).

use std::collections::{BTreeMap, BTreeSet};

use tree_sitter::Node;

use super::modules::ModuleIndex;
use super::rename::{Note, RenameAnalysis, RenameSite};
use super::scope::{Binding, FileModel, mentions};
use super::{Parsing, find_word, syntax_errors, text};
use crate::edit::EditKind;
use crate::parallel::par_map;

/// A module-level class: `(file, name)`.
type ClassId = (String, String);

struct Class {
    bases: Vec<ClassId>,
    /// Names defined directly in the body (`def`, assignments).
    members: BTreeSet<String>,
    line: usize,
}

/// Analyses renaming method `old` of class `class` (defined at module level
/// in `definition_file`) to `new` over `files` (path, source), which must
/// include every file that mentions `old` and every file defining a class
/// that may be in the family.
pub(crate) fn analyse(
    index: &ModuleIndex,
    definition_file: &str,
    class: &str,
    old: &str,
    new: &str,
    files: &[(String, String)],
) -> RenameAnalysis {
    analyse_with(
        index,
        definition_file,
        class,
        old,
        new,
        files,
        Parsing::Whole,
    )
}

/// [`analyse`] with its files parsed as `parsing` says. Focused, each file
/// parses only the statements that name `old`, `new` or a class that may
/// be in the family or among its ancestors (the textual pre-pass below),
/// and the imports ([`super::focus`]): class headers and bases, overrides,
/// typed attributes (`self.x = C(...)`, `x: C`) and every use of the
/// method are among them.
pub(crate) fn analyse_with(
    index: &ModuleIndex,
    definition_file: &str,
    class: &str,
    old: &str,
    new: &str,
    files: &[(String, String)],
    parsing: Parsing,
) -> RenameAnalysis {
    let started = std::time::Instant::now();
    let mut analysis = RenameAnalysis::default();
    // Which files can matter, from their text alone: those that mention
    // `old` (sites, and overrides above the class), those whose class
    // headers can put a class in the family or among its ancestors, and,
    // below, the files that re-export a name the others import.
    let headers = class_headers(files);
    let aliases = import_aliases(files);
    let below = descendants(class, &headers, &aliases);
    let above = ancestors(class, definition_file, &headers, &aliases);
    let relevant: BTreeSet<&str> = below.names.union(&above.names).copied().collect();
    let words: Vec<&str> = [old, new, class]
        .into_iter()
        .chain(relevant.iter().copied())
        // (The textual pre-pass can pick up keywords and numbers.)
        .filter(|w| super::names::is_identifier(w))
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .collect();
    if parsing != Parsing::Whole {
        analysis.syntax_focus = words.iter().map(|w| w.to_string()).collect();
    }
    let by_path: BTreeMap<&str, &str> = files
        .iter()
        .map(|(path, source)| (path.as_str(), source.as_str()))
        .collect();
    // Per file, on all cores: its classes (bases resolved through its own
    // imports) and import bindings. Only the trees of files that contain
    // `old` are kept for the walk below: a hierarchy can span thousands of
    // files.
    type Summary = (
        BTreeMap<String, ClassId>,
        Vec<(ClassId, Class)>,
        Option<tree_sitter::Tree>,
    );
    let summarise = |(path, source): &(&str, &str)| -> Option<Summary> {
        let tree = parsing.parse(source, &words)?;
        let names = class_bindings(index, path, source, &tree);
        let module_level: BTreeSet<usize> = module_classes(tree.root_node())
            .iter()
            .map(|(_, node)| node.start_byte())
            .collect();
        let bytes = source.as_bytes();
        let file_classes = all_classes(tree.root_node(), bytes)
            .into_iter()
            .map(|(name, node)| {
                let bases = node
                    .child_by_field_name("superclasses")
                    .map(|list| {
                        let mut cursor = list.walk();
                        list.named_children(&mut cursor)
                            .filter_map(|b| resolve_expr(b, bytes, &names))
                            .collect()
                    })
                    .unwrap_or_default();
                let id = class_id(
                    path,
                    text(name, bytes),
                    node,
                    module_level.contains(&node.start_byte()),
                );
                let class = Class {
                    bases,
                    members: members(node, bytes),
                    line: name.start_position().row + 1,
                };
                (id, class)
            })
            .collect();
        let keep = source.contains(old).then_some(tree);
        Some((names, file_classes, keep))
    };
    let mut classes: BTreeMap<ClassId, Class> = BTreeMap::new();
    let mut bindings: BTreeMap<&str, BTreeMap<String, ClassId>> = BTreeMap::new();
    let mut parsed: Vec<(&str, &str, tree_sitter::Tree)> = Vec::new();
    // Parsed first: the files that can hold a site or an override, the
    // ancestors' files, and the family's files that can hold a clash with
    // `new`. A family class elsewhere matters only where a file read here
    // names it, and naming it from another file takes an import: the
    // re-export hops below reach its file then. (Test suites subclass a
    // project's base classes in many files that never name the method.)
    let mut pending: Vec<(&str, &str)> = by_path
        .iter()
        .filter(|(path, source)| {
            **path == definition_file
                || source.contains(old)
                || above.files.contains(*path)
                || (below.files.contains(*path) && source.contains(new))
        })
        .map(|(path, source)| (*path, *source))
        .collect();
    let mut summarised: BTreeSet<&str> = BTreeSet::new();
    while !pending.is_empty() {
        summarised.extend(pending.iter().map(|(path, _)| *path));
        let summaries = par_map(&pending, summarise);
        for ((path, source), summary) in pending.iter().zip(summaries) {
            let Some((names, file_classes, tree)) = summary else {
                continue;
            };
            classes.extend(file_classes);
            bindings.insert(path, names);
            if let Some(tree) = tree {
                parsed.push((path, source, tree));
            }
        }
        // Re-exports: a name that may denote a family class or an ancestor
        // imported from a file not read yet (`from . import C` through a
        // package's `__init__.py`, or `pkg.C` after `import pkg`).
        let mut next: BTreeSet<&str> = BTreeSet::new();
        for (bound, (file, name)) in bindings.values().flat_map(|names| names.iter()) {
            let Some((file, source)) = by_path.get_key_value(file.as_str()) else {
                continue;
            };
            if summarised.contains(file) || next.contains(file) {
                continue;
            }
            let matters = if name == "module:" {
                relevant.iter().any(|n| !find_word(source, n).is_empty())
            } else {
                relevant.contains(name.as_str()) || relevant.contains(bound.as_str())
            };
            if matters {
                next.insert(file);
            }
        }
        pending = next.into_iter().map(|file| (file, by_path[file])).collect();
    }
    parsed.sort_by_key(|(path, _, _)| *path);
    tracing::debug!(
        summarised = summarised.len(),
        kept = parsed.len(),
        ms = started.elapsed().as_millis() as u64,
        "method hierarchy read"
    );
    // Follow re-exports (`from .formatting import HelpFormatter` in a
    // package's `__init__.py`) to the defining file.
    let canonical = |id: ClassId| -> ClassId {
        let mut id = id;
        for _ in 0..8 {
            match bindings
                .get(id.0.as_str())
                .and_then(|names| names.get(&id.1))
            {
                Some(next) if *next != id && next.1 != "module:" => id = next.clone(),
                _ => break,
            }
        }
        id
    };
    for info in classes.values_mut() {
        info.bases = info.bases.drain(..).map(&canonical).collect();
    }
    let bindings: BTreeMap<&str, BTreeMap<String, ClassId>> = bindings
        .iter()
        .map(|(path, names)| {
            (
                *path,
                names
                    .iter()
                    .map(|(n, id)| {
                        let id = if id.1 == "module:" {
                            id.clone()
                        } else {
                            canonical(id.clone())
                        };
                        (n.clone(), id)
                    })
                    .collect(),
            )
        })
        .collect();
    let target: ClassId = (definition_file.to_owned(), class.to_owned());
    let mut family: BTreeSet<ClassId> = BTreeSet::from([target.clone()]);
    loop {
        let grown: Vec<ClassId> = classes
            .iter()
            .filter(|(id, c)| !family.contains(*id) && c.bases.iter().any(|b| family.contains(b)))
            .map(|(id, _)| id.clone())
            .collect();
        if grown.is_empty() {
            break;
        }
        family.extend(grown);
    }
    // Ancestors outside the family that define the method: an override.
    let mut stack: Vec<ClassId> = classes
        .get(&target)
        .map(|c| c.bases.clone())
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    while let Some(base) = stack.pop() {
        if !seen.insert(base.clone()) {
            continue;
        }
        if let Some(info) = classes.get(&base) {
            if info.members.contains(old) {
                analysis.clashes.push(Note {
                    file: base.0.clone(),
                    line: info.line,
                    column: 1,
                    note: format!(
                        "`{}.{old}` overrides `{}.{old}`; renaming it alone would break the override (rename it in `{}` instead)",
                        class, base.1, base.1
                    ),
                });
            }
            stack.extend(info.bases.iter().cloned());
        }
    }
    for id in &family {
        if let Some(info) = classes.get(id)
            && info.members.contains(new)
        {
            analysis.clashes.push(Note {
                file: id.0.clone(),
                line: info.line,
                column: 1,
                note: format!("class `{}` already has a member `{new}`", id.1),
            });
        }
    }
    // With the files whose class headers put a class in the family by
    // name but that were not read (see above).
    analysis.target_modules = family
        .iter()
        .map(|(f, _)| f.as_str())
        .chain(
            below
                .files
                .iter()
                .copied()
                .filter(|f| !summarised.contains(f)),
        )
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    // Only files that contain `old` can hold a site, mention or uncertain
    // use; their trees were kept above.
    for (path, source, tree) in &parsed {
        analysis
            .parse_errors
            .insert(path.to_string(), syntax_errors(tree));
        let mut walker = Walker {
            path,
            source: source.as_bytes(),
            old,
            family: &family,
            target: class,
            typed_attrs: BTreeMap::new(),
            names: bindings.get(path).cloned().unwrap_or_default(),
            reexports: &BTreeMap::new(),
            local_family: BTreeSet::new(),
            marks: {
                let mut marks: Vec<usize> = source.match_indices(old).map(|(i, _)| i).collect();
                marks.extend(find_word(source, "class"));
                marks.sort_unstable();
                marks
            },
            sites: Vec::new(),
            uncertain: Vec::new(),
        };
        walker.reexports = &bindings;
        walker.typed_attrs = walker.typed_attributes(tree.root_node());
        walker.visit(tree.root_node(), &Context::default());
        for mention in mentions(tree, source, old) {
            analysis.mentions.push(Note {
                file: path.to_string(),
                line: mention.line,
                column: mention.column,
                note: format!("`{old}` in a {}; left alone", mention.context),
            });
        }
        analysis.uncertain.extend(walker.uncertain);
        if !walker.sites.is_empty() {
            walker.sites.sort_by_key(|s| s.start);
            walker.sites.dedup_by_key(|s| s.start);
            analysis.sites.insert(path.to_string(), walker.sites);
        }
    }
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "method sites found"
    );
    analysis
}

/// `(class name, line, column)` of every module-level class of `source`
/// (parsed as `tree`) that defines `method` directly in its body.
pub(crate) fn classes_defining(
    tree: &tree_sitter::Tree,
    source: &str,
    method: &str,
) -> Vec<(String, usize, usize)> {
    let bytes = source.as_bytes();
    let mut out: Vec<(String, usize, usize)> = module_classes(tree.root_node())
        .into_iter()
        .filter(|(_, class)| members(*class, bytes).contains(method))
        .map(|(name, _)| {
            let at = name.start_position();
            (text(name, bytes).to_owned(), at.row + 1, at.column + 1)
        })
        .collect();
    out.sort_by_key(|c| (c.1, c.2));
    out
}

/// The files that can hold `class`'s family: those whose `class X(...)`
/// lines name it or, transitively, a class that does, directly or under an
/// import alias (a textual over-approximation; the analysis resolves bases
/// properly).
pub(crate) fn hierarchy_files<'a>(class: &'a str, files: &'a [(String, String)]) -> Vec<&'a str> {
    let headers = class_headers(files);
    let aliases = import_aliases(files);
    descendants(class, &headers, &aliases)
        .files
        .into_iter()
        .collect()
}

/// `(file, X, the identifiers among its bases)` for every `class X(...)`
/// line of `files`.
type Header<'a> = (&'a str, &'a str, Vec<&'a str>);

fn class_headers(files: &[(String, String)]) -> Vec<Header<'_>> {
    let mut headers = Vec::new();
    for (path, source) in files {
        if !source.contains("class ") {
            continue;
        }
        let mut lines = source.split_inclusive('\n');
        let mut at = 0;
        while let Some(line) = lines.next() {
            let start = at;
            at += line.len();
            let Some(rest) = line.trim_start().strip_prefix("class ") else {
                continue;
            };
            let Some((name, _)) = rest.split_once('(') else {
                continue;
            };
            // The bases run to the matching `)`, maybe over several lines
            // (`class C(\n    Base,\n):`).
            let open = start + (line.len() - rest.len()) + name.len();
            let mut depth = 0usize;
            let mut end = open;
            for (i, c) in source[open..].char_indices() {
                match c {
                    '(' | '[' => depth += 1,
                    ')' | ']' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                end = open + i + c.len_utf8();
                if depth == 0 || i > 4096 {
                    break;
                }
            }
            while at < end {
                match lines.next() {
                    Some(next) => at += next.len(),
                    None => break,
                }
            }
            headers.push((
                path.as_str(),
                name.trim(),
                identifiers(&source[open..end]).collect(),
            ));
        }
    }
    headers
}

fn identifiers(text: &str) -> impl DoubleEndedIterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// Every `X as Y` of `files` (imports that rename), as `(X, Y)`.
fn import_aliases(files: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    for (_, source) in files {
        for at in find_word(source, "as") {
            let before = identifiers(&source[..at]).next_back();
            let after = identifiers(&source[at + 2..]).next();
            if let (Some(x), Some(y)) = (before, after) {
                out.push((x, y));
            }
        }
    }
    out
}

/// Class names and the files whose headers define them.
#[derive(Default)]
struct Names<'a> {
    names: BTreeSet<&'a str>,
    files: BTreeSet<&'a str>,
}

/// The classes whose headers name `class` or, transitively, one that does
/// (also under an alias), and their files.
fn descendants<'a>(
    class: &'a str,
    headers: &[Header<'a>],
    aliases: &[(&'a str, &'a str)],
) -> Names<'a> {
    let mut out = Names {
        names: BTreeSet::from([class]),
        files: BTreeSet::new(),
    };
    let mut taken = vec![false; headers.len()];
    loop {
        let before = out.names.len();
        for (x, y) in aliases {
            if out.names.contains(x) {
                out.names.insert(y);
            }
        }
        for (i, (path, name, words)) in headers.iter().enumerate() {
            if !taken[i] && words.iter().any(|w| out.names.contains(w)) {
                taken[i] = true;
                out.names.insert(name);
                out.files.insert(path);
            }
        }
        if out.names.len() == before {
            break;
        }
    }
    out
}

/// The names among the bases of `class` (in `file`) and, transitively, of
/// the classes of those names, and the files whose headers define them.
fn ancestors<'a>(
    class: &str,
    file: &str,
    headers: &[Header<'a>],
    aliases: &[(&'a str, &'a str)],
) -> Names<'a> {
    let mut out = Names::default();
    for (path, name, words) in headers {
        if *path == file && *name == class {
            out.names.extend(words.iter().copied());
        }
    }
    let mut taken = vec![false; headers.len()];
    loop {
        let before = out.names.len();
        // `from m import Base as B; class C(B)`: `B` stands for `Base`.
        for (x, y) in aliases {
            if out.names.contains(y) {
                out.names.insert(x);
            }
        }
        for (i, (path, name, words)) in headers.iter().enumerate() {
            if !taken[i] && out.names.contains(name) {
                taken[i] = true;
                out.names.extend(words.iter().copied());
                out.files.insert(path);
            }
        }
        if out.names.len() == before {
            break;
        }
    }
    out
}

fn class_id(path: &str, name: &str, node: Node, module_level: bool) -> ClassId {
    if module_level {
        (path.to_owned(), name.to_owned())
    } else {
        (path.to_owned(), format!("{name}@{}", node.start_byte()))
    }
}

/// Every class definition, at any depth (one cursor over the whole tree).
fn all_classes<'t>(root: Node<'t>, source: &[u8]) -> Vec<(Node<'t>, Node<'t>)> {
    // Only subtrees holding the keyword `class` can hold a class: the walk
    // skips the rest (most of a large module's function bodies).
    let keywords: Vec<usize> = std::str::from_utf8(source)
        .map(|s| find_word(s, "class"))
        .unwrap_or_default();
    let holds_keyword = |node: Node| holds_mark(&keywords, node);
    let mut out = Vec::new();
    if !holds_keyword(root) {
        return out;
    }
    // The cursor cannot leave `root`: at it, sibling and parent moves fail.
    let mut cursor = root.walk();
    'visit: loop {
        let node = cursor.node();
        if node.kind() == "class_definition"
            && let Some(name) = node.child_by_field_name("name")
        {
            out.push((name, node));
        }
        if cursor.goto_first_child() {
            loop {
                if holds_keyword(cursor.node()) {
                    continue 'visit;
                }
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
            cursor.goto_parent();
        }
        // On to the next sibling (here or further up) that holds one.
        loop {
            if cursor.goto_next_sibling() {
                if holds_keyword(cursor.node()) {
                    continue 'visit;
                }
            } else if !cursor.goto_parent() {
                return out;
            }
        }
    }
}

/// Whether one of the sorted byte offsets `marks` falls inside `node`.
fn holds_mark(marks: &[usize], node: Node) -> bool {
    let i = marks.partition_point(|&m| m < node.start_byte());
    marks.get(i).is_some_and(|&m| m < node.end_byte())
}

/// Module-level class definitions (also inside module-level `if`/`try`).
fn module_classes(root: Node) -> Vec<(Node, Node)> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            match child.kind() {
                "class_definition" => {
                    if let Some(name) = child.child_by_field_name("name") {
                        out.push((name, child));
                    }
                }
                "decorated_definition"
                | "if_statement"
                | "else_clause"
                | "elif_clause"
                | "try_statement"
                | "except_clause"
                | "finally_clause"
                | "block" => stack.push(child),
                _ => {}
            }
        }
    }
    out
}

/// Names defined directly in a class body.
fn members(class: Node, source: &[u8]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(body) = class.child_by_field_name("body") else {
        return out;
    };
    let mut cursor = body.walk();
    for statement in body.named_children(&mut cursor) {
        let definition = if statement.kind() == "decorated_definition" {
            statement.child_by_field_name("definition")
        } else {
            Some(statement)
        };
        let Some(definition) = definition else {
            continue;
        };
        match definition.kind() {
            "function_definition" | "class_definition" => {
                if let Some(name) = definition.child_by_field_name("name") {
                    out.insert(text(name, source).to_owned());
                }
            }
            "expression_statement" => {
                if let Some(assignment) = definition.named_child(0)
                    && assignment.kind() == "assignment"
                    && let Some(left) = assignment.child_by_field_name("left")
                    && left.kind() == "identifier"
                {
                    out.insert(text(left, source).to_owned());
                }
            }
            _ => {}
        }
    }
    out
}

/// Module-level names of a file that denote project classes: its own
/// classes, `from M import C [as D]`, and modules (`import m`, `from p
/// import m`) as `module:<file>` entries for `m.C`.
fn class_bindings(
    index: &ModuleIndex,
    path: &str,
    source: &str,
    tree: &tree_sitter::Tree,
) -> BTreeMap<String, ClassId> {
    let mut out = BTreeMap::new();
    for (name, _) in module_classes(tree.root_node()) {
        let name = text(name, source.as_bytes()).to_owned();
        out.insert(name.clone(), (path.to_owned(), name));
    }
    let model = FileModel::module_imports(tree, source);
    for record in model.imports.iter().filter(|r| r.scope == 0) {
        match &record.binding {
            Binding::From { module, name, .. } => {
                let Some(absolute) = index.absolute(path, module.dots, &module.name) else {
                    continue;
                };
                if let Some(file) = index.resolve(&absolute).first() {
                    out.insert(record.bound.clone(), (file.to_string(), name.clone()));
                }
                // `from pkg import mod`: a module.
                let submodule = if absolute.is_empty() {
                    name.clone()
                } else {
                    format!("{absolute}.{name}")
                };
                if let Some(file) = index.resolve(&submodule).first() {
                    out.insert(record.bound.clone(), (file.to_string(), "module:".into()));
                }
            }
            Binding::Module { module } => {
                if let Some(file) = index.resolve(module).first() {
                    out.insert(record.bound.clone(), (file.to_string(), "module:".into()));
                }
            }
            _ => {}
        }
    }
    out
}

/// The class an expression denotes: `C`, `m.C`, `C[T]`.
fn resolve_expr(node: Node, source: &[u8], names: &BTreeMap<String, ClassId>) -> Option<ClassId> {
    match node.kind() {
        "identifier" => names
            .get(text(node, source))
            .filter(|(_, n)| n != "module:")
            .cloned(),
        "subscript" => resolve_expr(node.child_by_field_name("value")?, source, names),
        "attribute" => {
            let object = node.child_by_field_name("object")?;
            let attribute = node.child_by_field_name("attribute")?;
            if object.kind() != "identifier" {
                return None;
            }
            let (file, kind) = names.get(text(object, source))?;
            (kind == "module:").then(|| (file.clone(), text(attribute, source).to_owned()))
        }
        _ => None,
    }
}

#[derive(Default, Clone)]
struct Context {
    /// Inside the body of a family class (not in a nested function).
    in_family_body: bool,
    /// The enclosing function is a method of a family class: its first
    /// parameter is a family receiver.
    receiver: Option<String>,
    in_family_method: bool,
    /// Names assigned a family instance or class in the enclosing scope.
    instances: BTreeSet<String>,
    /// Directly in the body of a class (any class).
    in_class_body: bool,
    /// That class's attributes annotated with a family class (its own and
    /// those of the classes of this file it derives from).
    class_typed: BTreeSet<String>,
    /// In a method (or a function nested in one): its first parameter and
    /// the class's family-typed attributes, so `self.attr.NAME` is known.
    self_name: Option<String>,
    self_typed: BTreeSet<String>,
}

struct Walker<'a> {
    path: &'a str,
    source: &'a [u8],
    old: &'a str,
    family: &'a BTreeSet<ClassId>,
    /// The class whose method is renamed (for messages).
    target: &'a str,
    /// Per class of this file (by its node's start): its attributes
    /// annotated with a family class.
    typed_attrs: BTreeMap<usize, BTreeSet<String>>,
    names: BTreeMap<String, ClassId>,
    /// Every parsed file's class bindings (to follow `pkg.Class`).
    reexports: &'a BTreeMap<&'a str, BTreeMap<String, ClassId>>,
    /// Family classes defined inside functions of this file, by name.
    local_family: BTreeSet<String>,
    /// Where `old` and the keyword `class` occur, sorted: a function with
    /// neither holds no site and defines no family class, and its local
    /// receivers are its own, so the walk skips it.
    marks: Vec<usize>,
    sites: Vec<RenameSite>,
    uncertain: Vec<Note>,
}

impl Walker<'_> {
    fn site(&mut self, node: Node, kind: EditKind) {
        let position = node.start_position();
        self.sites.push(RenameSite {
            start: node.start_byte(),
            end: node.end_byte(),
            line: position.row + 1,
            column: position.column + 1,
            kind,
        });
    }

    fn is_family(&self, node: Node) -> bool {
        if node.kind() == "identifier" && self.local_family.contains(text(node, self.source)) {
            return true;
        }
        resolve_expr(node, self.source, &self.names).is_some_and(|id| {
            let id = self
                .reexports
                .get(id.0.as_str())
                .and_then(|names| names.get(&id.1))
                .filter(|i| i.1 != "module:")
                .cloned()
                .unwrap_or(id);
            self.family.contains(&id)
        })
    }

    /// Whether a type annotation names a family class: `C`, `"C"`,
    /// `m.C`, `C | None`, `Optional[C]`.
    fn annotation_is_family(&self, node: Node) -> bool {
        match node.kind() {
            "type" => node
                .named_child(0)
                .is_some_and(|n| self.annotation_is_family(n)),
            "identifier" | "attribute" => self.is_family(node),
            "string" => {
                let inner = text(node, self.source).trim_matches(|c| c == '"' || c == '\'');
                self.names
                    .get(inner)
                    .is_some_and(|id| self.family.contains(id))
            }
            "binary_operator" => ["left", "right"].iter().any(|f| {
                node.child_by_field_name(f)
                    .is_some_and(|n| self.annotation_is_family(n))
            }),
            "subscript" | "generic_type" => {
                let mut cursor = node.walk();
                let children: Vec<Node> = node.named_children(&mut cursor).collect();
                let head = children
                    .first()
                    .map(|h| text(*h, self.source))
                    .unwrap_or("");
                head.ends_with("Optional")
                    && children
                        .iter()
                        .skip(1)
                        .any(|c| self.annotation_is_family(*c))
                    || head.ends_with("Union")
                        && children
                            .iter()
                            .skip(1)
                            .any(|c| self.annotation_is_family(*c))
                    || self.is_family(node)
            }
            "type_parameter" => {
                let mut cursor = node.walk();
                let children: Vec<Node> = node.named_children(&mut cursor).collect();
                children.into_iter().any(|c| self.annotation_is_family(c))
            }
            _ => false,
        }
    }

    /// Parameters annotated with a family class.
    fn typed_parameters(&self, function: Node, out: &mut BTreeSet<String>) {
        let Some(parameters) = function.child_by_field_name("parameters") else {
            return;
        };
        let mut cursor = parameters.walk();
        for parameter in parameters.named_children(&mut cursor) {
            if !matches!(
                parameter.kind(),
                "typed_parameter" | "typed_default_parameter"
            ) {
                continue;
            }
            let name = if parameter.kind() == "typed_parameter" {
                parameter.named_child(0)
            } else {
                parameter.child_by_field_name("name")
            };
            if let (Some(name), Some(annotation)) = (name, parameter.child_by_field_name("type"))
                && name.kind() == "identifier"
                && self.annotation_is_family(annotation)
            {
                out.insert(text(name, self.source).to_owned());
            }
        }
    }

    fn visit(&mut self, node: Node, ctx: &Context) {
        match node.kind() {
            "class_definition" => {
                let name = node
                    .child_by_field_name("name")
                    .map(|n| text(n, self.source).to_owned())
                    .unwrap_or_default();
                let module_level = self.names.get(&name)
                    == Some(&(self.path.to_owned(), name.clone()))
                    && node.parent().is_some_and(|p| {
                        p.kind() == "module"
                            || p.kind() == "decorated_definition"
                                && p.parent().is_some_and(|g| g.kind() == "module")
                    });
                let id = class_id(self.path, &name, node, module_level);
                let family = self.family.contains(&id);
                if family && !module_level {
                    self.local_family.insert(name.clone());
                }
                let inner = Context {
                    in_family_body: family,
                    receiver: None,
                    in_family_method: family,
                    instances: BTreeSet::new(),
                    in_class_body: true,
                    class_typed: self
                        .typed_attrs
                        .get(&node.start_byte())
                        .cloned()
                        .unwrap_or_default(),
                    self_name: None,
                    self_typed: BTreeSet::new(),
                };
                if let Some(body) = node.child_by_field_name("body") {
                    if family {
                        self.definitions_in(body);
                    }
                    self.visit_children(body, &inner);
                }
                if let Some(bases) = node.child_by_field_name("superclasses") {
                    self.visit_children(bases, ctx);
                }
            }
            "function_definition" => {
                if !holds_mark(&self.marks, node) {
                    return;
                }
                let mut inner = Context {
                    in_family_body: false,
                    receiver: None,
                    in_family_method: ctx.in_family_body || ctx.in_family_method,
                    instances: BTreeSet::new(),
                    in_class_body: false,
                    class_typed: BTreeSet::new(),
                    self_name: ctx.self_name.clone(),
                    self_typed: ctx.self_typed.clone(),
                };
                if ctx.in_class_body {
                    let method = !self.is_static(node);
                    inner.self_name = first_parameter(node, self.source).filter(|_| method);
                    inner.self_typed = ctx.class_typed.clone();
                }
                if ctx.in_family_body && !self.is_static(node) {
                    inner.receiver = first_parameter(node, self.source);
                } else if !ctx.in_family_body {
                    inner.receiver = ctx.receiver.clone();
                    inner.instances = ctx.instances.clone();
                }
                self.typed_parameters(node, &mut inner.instances);
                if let Some(body) = node.child_by_field_name("body") {
                    self.collect_instances(body, &mut inner.instances);
                    self.visit_children(body, &inner);
                }
                if let Some(parameters) = node.child_by_field_name("parameters") {
                    self.visit_children(parameters, ctx);
                }
            }
            "attribute" => {
                let object = node.child_by_field_name("object");
                let attribute = node.child_by_field_name("attribute");
                if let (Some(object), Some(attribute)) = (object, attribute)
                    && text(attribute, self.source) == self.old
                {
                    self.judge(object, attribute, ctx);
                }
                if let Some(object) = object {
                    self.visit(object, ctx);
                }
            }
            "identifier" if ctx.in_family_body && text(node, self.source) == self.old => {
                self.site(node, EditKind::Reference);
            }
            "keyword_argument" => {
                // `f(old=...)`: the keyword is not this method.
                if let Some(value) = node.child_by_field_name("value") {
                    self.visit(value, ctx);
                }
            }
            _ => self.visit_children(node, ctx),
        }
    }

    fn visit_children(&mut self, node: Node, ctx: &Context) {
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            self.visit(child, ctx);
        }
    }

    /// `def old` directly in a family class body.
    fn definitions_in(&mut self, body: Node) {
        let mut cursor = body.walk();
        let statements: Vec<Node> = body.named_children(&mut cursor).collect();
        for statement in statements {
            let definition = if statement.kind() == "decorated_definition" {
                statement.child_by_field_name("definition")
            } else {
                Some(statement)
            };
            if let Some(definition) = definition
                && definition.kind() == "function_definition"
                && let Some(name) = definition.child_by_field_name("name")
                && text(name, self.source) == self.old
            {
                self.site(name, EditKind::Definition);
            }
        }
    }

    /// For every class of the file, its attributes annotated with a family
    /// class: `attr: C` in the class body and `self.attr: C = ...` in its
    /// methods, plus those of the classes it derives from in this file.
    fn typed_attributes(&self, root: Node) -> BTreeMap<usize, BTreeSet<String>> {
        let classes = all_classes(root, self.source);
        let mut own: Vec<(String, usize, BTreeSet<String>, Vec<String>)> = Vec::new();
        for (name, class) in &classes {
            let mut attrs = BTreeSet::new();
            let bases: Vec<String> = class
                .child_by_field_name("superclasses")
                .map(|list| {
                    let mut cursor = list.walk();
                    list.named_children(&mut cursor)
                        .filter(|b| b.kind() == "identifier")
                        .map(|b| text(b, self.source).to_owned())
                        .collect()
                })
                .unwrap_or_default();
            if let Some(body) = class.child_by_field_name("body") {
                let mut cursor = body.walk();
                for statement in body.named_children(&mut cursor) {
                    let definition = if statement.kind() == "decorated_definition" {
                        statement.child_by_field_name("definition")
                    } else {
                        Some(statement)
                    };
                    let Some(definition) = definition else {
                        continue;
                    };
                    match definition.kind() {
                        "expression_statement" => {
                            if let Some(assignment) = definition.named_child(0) {
                                self.typed_assignment(assignment, None, &mut attrs);
                            }
                        }
                        "function_definition" if !self.is_static(definition) => {
                            let Some(receiver) = first_parameter(definition, self.source) else {
                                continue;
                            };
                            let Some(body) = definition.child_by_field_name("body") else {
                                continue;
                            };
                            for node in scope_assignments(body) {
                                self.typed_assignment(node, Some(&receiver), &mut attrs);
                            }
                        }
                        _ => {}
                    }
                }
            }
            own.push((
                text(*name, self.source).to_owned(),
                class.start_byte(),
                attrs,
                bases,
            ));
        }
        // Inherited from classes of this file, by name, to a fixed point.
        loop {
            let mut grown = false;
            for i in 0..own.len() {
                let inherited: BTreeSet<String> = own[i]
                    .3
                    .iter()
                    .flat_map(|base| own.iter().filter(move |o| &o.0 == base))
                    .flat_map(|o| o.2.iter().cloned())
                    .collect();
                let before = own[i].2.len();
                own[i].2.extend(inherited);
                grown |= own[i].2.len() > before;
            }
            if !grown {
                break;
            }
        }
        own.into_iter()
            .map(|(_, start, attrs, _)| (start, attrs))
            .collect()
    }

    /// `name: C [= ...]` (no receiver) or `receiver.name: C [= ...]` with a
    /// family class `C`: adds `name`.
    fn typed_assignment(
        &self,
        assignment: Node,
        receiver: Option<&str>,
        out: &mut BTreeSet<String>,
    ) {
        if assignment.kind() != "assignment" {
            return;
        }
        let (Some(left), Some(annotation)) = (
            assignment.child_by_field_name("left"),
            assignment.child_by_field_name("type"),
        ) else {
            return;
        };
        let name = match (receiver, left.kind()) {
            (None, "identifier") => Some(left),
            (Some(receiver), "attribute") => left
                .child_by_field_name("object")
                .filter(|o| o.kind() == "identifier" && text(*o, self.source) == receiver)
                .and_then(|_| left.child_by_field_name("attribute")),
            _ => None,
        };
        if let Some(name) = name
            && self.annotation_is_family(annotation)
        {
            out.insert(text(name, self.source).to_owned());
        }
    }

    fn is_static(&self, function: Node) -> bool {
        function.parent().is_some_and(|p| {
            p.kind() == "decorated_definition" && {
                let mut cursor = p.walk();
                p.named_children(&mut cursor)
                    .filter(|c| c.kind() == "decorator")
                    .any(|d| text(d, self.source).trim() == "@staticmethod")
            }
        })
    }

    /// Names assigned `FamilyClass(...)` or `FamilyClass` in a body.
    fn collect_instances(&self, body: Node, out: &mut BTreeSet<String>) {
        for node in scope_assignments(body) {
            if let (Some(left), Some(right)) = (
                node.child_by_field_name("left"),
                node.child_by_field_name("right"),
            ) && left.kind() == "identifier"
            {
                let class = if right.kind() == "call" {
                    right.child_by_field_name("function")
                } else {
                    Some(right)
                };
                if class.is_some_and(|c| self.is_family(c)) {
                    out.insert(text(left, self.source).to_owned());
                }
            }
        }
    }

    fn judge(&mut self, object: Node, attribute: Node, ctx: &Context) {
        let receiver = text(object, self.source);
        let known = match object.kind() {
            "identifier" => {
                ctx.receiver.as_deref() == Some(receiver)
                    || ctx.instances.contains(receiver)
                    || self.is_family(object)
            }
            "attribute" => {
                self.is_family(object)
                    || object
                        .child_by_field_name("object")
                        .is_some_and(|o| ctx.self_name.as_deref() == Some(text(o, self.source)))
                        && object
                            .child_by_field_name("attribute")
                            .is_some_and(|a| ctx.self_typed.contains(text(a, self.source)))
            }
            "call" => {
                let function = object.child_by_field_name("function");
                let is_super = function.is_some_and(|f| text(f, self.source) == "super");
                (is_super && ctx.in_family_method) || function.is_some_and(|f| self.is_family(f))
            }
            _ => false,
        };
        if known {
            self.site(attribute, EditKind::Attribute);
        } else {
            let position = attribute.start_position();
            let shown: String = receiver.chars().take(40).collect();
            self.uncertain.push(Note {
                file: self.path.to_owned(),
                line: position.row + 1,
                column: position.column + 1,
                note: format!(
                    "`{shown}.{}`: orch cannot tell whether `{shown}` is a `{}`; left alone",
                    self.old, self.target
                ),
            });
        }
    }
}

/// The `assignment` nodes of a function body, not those of functions,
/// classes and lambdas nested in it.
fn scope_assignments(body: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        if node.kind() == "assignment" {
            out.push(node);
        }
        if matches!(
            node.kind(),
            "function_definition" | "class_definition" | "lambda"
        ) && node != body
        {
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    out
}

fn first_parameter(function: Node, source: &[u8]) -> Option<String> {
    let parameters = function.child_by_field_name("parameters")?;
    let mut cursor = parameters.walk();
    let first = parameters.named_children(&mut cursor).next()?;
    let name = match first.kind() {
        "identifier" => first,
        "typed_parameter" => first.named_child(0)?,
        "default_parameter" | "typed_default_parameter" => first.child_by_field_name("name")?,
        _ => return None,
    };
    (name.kind() == "identifier").then(|| text(name, source).to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::testing::assert_same;
    use super::*;

    fn run(
        files: &[(&str, &str)],
        class: &str,
        old: &str,
        new: &str,
    ) -> (BTreeMap<String, String>, RenameAnalysis) {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let analysis = analyse(&index, &files[0].0, class, old, new, &files);
        // Every case holds for the focused analysis too.
        let focused = analyse_with(
            &index,
            &files[0].0,
            class,
            old,
            new,
            &files,
            Parsing::FocusedOnly,
        );
        assert_same(&analysis, &focused, &format!("{class}.{old}"));
        let mut out = BTreeMap::new();
        for (path, source) in &files {
            let mut edited = source.clone();
            if let Some(sites) = analysis.sites.get(path) {
                for s in sites.iter().rev() {
                    edited.replace_range(s.start..s.end, new);
                }
            }
            out.insert(path.clone(), edited);
        }
        (out, analysis)
    }

    /// On real code nobody here wrote (this machine's Python standard
    /// library, which CI installs): for methods of a sample of its
    /// classes, the focused analysis finds what the whole-file one does.
    #[test]
    fn focused_and_whole_method_analyses_agree_on_the_standard_library() {
        let files = super::super::testing::stdlib_sample(2);
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let mut methods = 0;
        for (path, source) in files.iter().step_by(3) {
            let tree = super::super::parse(source).unwrap();
            let bytes = source.as_bytes();
            for (name, class) in module_classes(tree.root_node()).into_iter().take(3) {
                let class_name = text(name, bytes);
                let members: Vec<String> = members(class, bytes).into_iter().collect();
                for old in members.iter().step_by(members.len() / 2 + 1) {
                    let mut subset: Vec<(String, String)> = files
                        .iter()
                        .filter(|(p, s)| {
                            p == path
                                || !find_word(s, old).is_empty()
                                || !find_word(s, class_name).is_empty()
                        })
                        .cloned()
                        .collect();
                    let family: BTreeSet<String> = hierarchy_files(class_name, &files)
                        .into_iter()
                        .map(str::to_owned)
                        .collect();
                    for (p, s) in &files {
                        if family.contains(p) && !subset.iter().any(|(q, _)| q == p) {
                            subset.push((p.clone(), s.clone()));
                        }
                    }
                    subset.sort();
                    let whole = analyse(&index, path, class_name, old, "renamed_x", &subset);
                    let focused = analyse_with(
                        &index,
                        path,
                        class_name,
                        old,
                        "renamed_x",
                        &subset,
                        Parsing::FocusedOnly,
                    );
                    let what = format!("{path}: {class_name}.{old}");
                    assert_same(&whole, &focused, &what);
                    methods += 1;
                }
            }
        }
        eprintln!("{methods} methods compared");
        assert!(methods > 40, "{methods} methods");
    }

    #[test]
    fn the_focus_names_only_identifiers() {
        // The textual pre-pass reads `try` and `1` from the bases as names
        // of possible ancestors; a plan's `check` node refuses non-names.
        let source = "class Base(object, **{\"try\": 1}):\n    def m(self):\n        return 1\n";
        let files = vec![("a.py".to_owned(), source.to_owned())];
        let index = ModuleIndex::new(["a.py"]);
        let analysis = analyse_with(&index, "a.py", "Base", "m", "n", &files, Parsing::Focused);
        assert!(analysis.syntax_focus.contains(&"m".to_owned()));
        for word in &analysis.syntax_focus {
            assert!(crate::lang::python::names::is_identifier(word), "{word}");
        }
        assert_eq!(analysis.sites["a.py"].len(), 1);
    }

    #[test]
    fn methods_follow_receivers_and_the_hierarchy() {
        let cart = "class Cart:\n    def total(self):\n        return self.sum()\n\n    def sum(self):\n        return 1\n\n    @classmethod\n    def make(cls):\n        return cls.sum\n\n    @staticmethod\n    def other(x):\n        return x.sum()\n\n    alias = sum\n";
        let special = "from .cart import Cart\n\n\nclass Big(Cart):\n    def sum(self):\n        return super().sum() * 2\n\n\ndef use(thing):\n    c = Cart()\n    n = c.sum() + Cart.sum(c) + Big().sum()\n    return thing.sum() + n\n";
        let (out, analysis) = run(
            &[
                ("shop/cart.py", cart),
                ("shop/special.py", special),
                ("shop/__init__.py", ""),
            ],
            "Cart",
            "sum",
            "subtotal",
        );
        assert_eq!(
            out["shop/cart.py"],
            "class Cart:\n    def total(self):\n        return self.subtotal()\n\n    def subtotal(self):\n        return 1\n\n    @classmethod\n    def make(cls):\n        return cls.subtotal\n\n    @staticmethod\n    def other(x):\n        return x.sum()\n\n    alias = subtotal\n"
        );
        assert_eq!(
            out["shop/special.py"],
            "from .cart import Cart\n\n\nclass Big(Cart):\n    def subtotal(self):\n        return super().subtotal() * 2\n\n\ndef use(thing):\n    c = Cart()\n    n = c.subtotal() + Cart.subtotal(c) + Big().subtotal()\n    return thing.sum() + n\n"
        );
        let uncertain: Vec<String> = analysis
            .uncertain
            .iter()
            .map(|n| format!("{}:{}", n.file, n.line))
            .collect();
        assert_eq!(uncertain, ["shop/cart.py:14", "shop/special.py:12"]);
        assert!(analysis.clashes.is_empty());
    }

    #[test]
    fn classes_defined_in_functions_join_the_family() {
        let cart = "class Cart:\n    def sum(self):\n        return 1\n";
        let test = "import shop.cart as c\n\ndef test_it():\n    class Mine(c.Cart):\n        def sum(self):\n            return self.base() + super().sum()\n    return Mine().sum()\n";
        let (out, _) = run(
            &[
                ("shop/cart.py", cart),
                ("tests/test_cart.py", test),
                ("shop/__init__.py", ""),
            ],
            "Cart",
            "sum",
            "total",
        );
        assert_eq!(
            out["tests/test_cart.py"],
            "import shop.cart as c\n\ndef test_it():\n    class Mine(c.Cart):\n        def total(self):\n            return self.base() + super().total()\n    return Mine().total()\n"
        );
    }

    #[test]
    fn overrides_and_existing_members_clash() {
        let base = "class Base:\n    def sum(self):\n        return 0\n";
        let cart = "from .base import Base\n\nclass Cart(Base):\n    def sum(self):\n        return 1\n\n    def subtotal(self):\n        return 2\n";
        let (_, analysis) = run(
            &[
                ("shop/cart.py", cart),
                ("shop/base.py", base),
                ("shop/__init__.py", ""),
            ],
            "Cart",
            "sum",
            "subtotal",
        );
        let notes: Vec<&str> = analysis.clashes.iter().map(|c| c.note.as_str()).collect();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("overrides `Base.sum`")));
        assert!(
            notes
                .iter()
                .any(|n| n.contains("already has a member `subtotal`"))
        );
    }

    #[test]
    fn files_without_the_method_still_link_the_family() {
        // A re-export in `__init__.py`, a subclass under an import alias in
        // a file that never names the method, and an ancestor two classes
        // up in a file that does not either: none of these files mention
        // `sum`, yet each decides a site or a clash.
        let cart = "from .middle import Middle\n\nclass Cart(Middle):\n    def sum(self):\n        return 1\n";
        let init = "from .cart import Cart\n";
        let middle = "from .root import Root\n\nclass Middle(Root):\n    pass\n";
        let root = "class Root:\n    def sum(self):\n        return 0\n";
        let special = "from shop import Cart as Basket\n\nclass Special(Basket):\n    pass\n";
        let user = "from shop import Cart\nfrom shop.special import Special\n\ndef f():\n    Cart().sum()\n    Special().sum()\n";
        let (out, analysis) = run(
            &[
                ("shop/cart.py", cart),
                ("shop/__init__.py", init),
                ("shop/middle.py", middle),
                ("shop/root.py", root),
                ("shop/special.py", special),
                ("app/user.py", user),
                ("app/__init__.py", ""),
            ],
            "Cart",
            "sum",
            "total",
        );
        assert_eq!(
            out["app/user.py"],
            "from shop import Cart\nfrom shop.special import Special\n\ndef f():\n    Cart().total()\n    Special().total()\n"
        );
        let notes: Vec<&str> = analysis.clashes.iter().map(|c| c.note.as_str()).collect();
        assert!(
            notes.iter().any(|n| n.contains("overrides `Root.sum`")),
            "{notes:?}"
        );
        assert!(analysis.uncertain.is_empty(), "{:?}", analysis.uncertain);
    }

    #[test]
    fn the_class_walk_skips_only_subtrees_without_a_class() {
        let source = "import x\n\nclass A:\n    class Inner(A):\n        pass\n\ndef f():\n    y = 1\n    def g():\n        class Local(x.Base):\n            \"\"\"class in a docstring\"\"\"\n        return Local\n    return g\n\n@decorate\nclass B(A): pass\n\nif x:\n    class C: ...\nelse:\n    z = [i for i in range(3)]\n\ns = 'class D'  # class E\ndef h(): return 1\nclass F(\n    A,\n): pass\n";
        let tree = super::super::parse(source).unwrap();
        let mut every = Vec::new();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            if node.kind() == "class_definition" {
                every.push(node.start_byte());
            }
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        every.sort();
        let mut found: Vec<usize> = all_classes(tree.root_node(), source.as_bytes())
            .iter()
            .map(|(_, class)| class.start_byte())
            .collect();
        found.sort();
        assert_eq!(found, every);
        assert_eq!(found.len(), 6);
        let plain = "def f():\n    return 1\n";
        let tree = super::super::parse(plain).unwrap();
        assert!(all_classes(tree.root_node(), plain.as_bytes()).is_empty());
    }

    #[test]
    fn family_files_that_never_name_the_method_still_report_clashes() {
        // `plugin.py` and `quiet.py` subclass `Base` without naming `sum`
        // and nothing imports them: they are not parsed for sites, but a
        // member already called `total` is still a clash, and both count
        // among the modules the change touches.
        let base = "class Base:\n    def sum(self):\n        return 0\n";
        let plugin = "from shop.base import Base\n\nclass Plugin(Base):\n    def total(self):\n        return 1\n";
        let quiet = "from shop.base import Base\n\nclass Quiet(Base):\n    pass\n";
        let user = "from shop.base import Base\n\ndef f():\n    return Base().sum()\n";
        let (out, analysis) = run(
            &[
                ("shop/base.py", base),
                ("shop/plugin.py", plugin),
                ("shop/quiet.py", quiet),
                ("shop/user.py", user),
                ("shop/__init__.py", ""),
            ],
            "Base",
            "sum",
            "total",
        );
        assert_eq!(
            out["shop/user.py"],
            "from shop.base import Base\n\ndef f():\n    return Base().total()\n"
        );
        let notes: Vec<&str> = analysis.clashes.iter().map(|c| c.note.as_str()).collect();
        assert_eq!(notes, ["class `Plugin` already has a member `total`"]);
        assert_eq!(
            analysis.target_modules,
            ["shop/base.py", "shop/plugin.py", "shop/quiet.py"]
        );
    }

    #[test]
    fn attributes_annotated_with_a_family_class_are_known_receivers() {
        let types = "class ParamType:\n    def metavar(self):\n        return None\n\nclass Choice(ParamType):\n    def metavar(self):\n        return 'x'\n";
        let core = "from . import types\n\nclass Parameter:\n    def __init__(self, t):\n        self.type: types.ParamType = t\n        self.other = t\n\n    def help(self):\n        return self.type.metavar(), self.other.metavar()\n\nclass Argument(Parameter):\n    def usage(self):\n        def inner():\n            return self.type.metavar()\n        return inner()\n\nclass Option(Parameter):\n    kind: types.ParamType | None\n\n    def show(this):\n        return this.kind.metavar()\n";
        let (out, analysis) = run(
            &[
                ("pkg/types.py", types),
                ("pkg/core.py", core),
                ("pkg/__init__.py", ""),
            ],
            "ParamType",
            "metavar",
            "metavar_for",
        );
        assert_eq!(
            out["pkg/core.py"],
            "from . import types\n\nclass Parameter:\n    def __init__(self, t):\n        self.type: types.ParamType = t\n        self.other = t\n\n    def help(self):\n        return self.type.metavar_for(), self.other.metavar()\n\nclass Argument(Parameter):\n    def usage(self):\n        def inner():\n            return self.type.metavar_for()\n        return inner()\n\nclass Option(Parameter):\n    kind: types.ParamType | None\n\n    def show(this):\n        return this.kind.metavar_for()\n"
        );
        let notes: Vec<&str> = analysis.uncertain.iter().map(|n| n.note.as_str()).collect();
        assert_eq!(
            notes,
            [
                "`self.other.metavar`: orch cannot tell whether `self.other` is a `ParamType`; left alone"
            ]
        );
    }

    #[test]
    fn multi_line_headers_and_aliased_bases_link_the_family() {
        // A subclass whose header spans lines, and an ancestor imported
        // under an alias, both in files that never mention `sum`.
        let cart =
            "from .base import Base as B\n\nclass Cart(B):\n    def sum(self):\n        return 1\n";
        let base = "from .root import Root\n\nclass Base(\n    Root,\n):\n    pass\n";
        let root = "class Root:\n    def sum(self):\n        return 0\n";
        let special =
            "from shop.cart import Cart\n\nclass Special(\n    Cart,  # the cart\n):\n    pass\n";
        let user = "from shop.special import Special\n\ndef f():\n    return Special().sum()\n";
        let (out, analysis) = run(
            &[
                ("shop/cart.py", cart),
                ("shop/base.py", base),
                ("shop/root.py", root),
                ("shop/special.py", special),
                ("shop/__init__.py", ""),
                ("app/user.py", user),
                ("app/__init__.py", ""),
            ],
            "Cart",
            "sum",
            "total",
        );
        assert_eq!(
            out["app/user.py"],
            "from shop.special import Special\n\ndef f():\n    return Special().total()\n"
        );
        let notes: Vec<&str> = analysis.clashes.iter().map(|c| c.note.as_str()).collect();
        assert!(
            notes.iter().any(|n| n.contains("overrides `Root.sum`")),
            "{notes:?}"
        );
    }
}
