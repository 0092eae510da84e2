//! The class hierarchy: class headers read from the text, descendants and
//! ancestors through imports and aliases, each class's members and the
//! names bound to classes.

use super::*;

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

/// `(class name, line, column)` of every module-level class of `source`
/// that assigns the attribute `name` (see [`attribute_positions`]) and
/// does not define it as a method or nested class; the position is the
/// attribute's first assignment.
pub(crate) fn classes_assigning(
    tree: &tree_sitter::Tree,
    source: &str,
    name: &str,
) -> Vec<(String, usize, usize)> {
    let bytes = source.as_bytes();
    let mut out: Vec<(String, usize, usize)> = module_classes(tree.root_node())
        .into_iter()
        .filter(|(_, class)| !defines(*class, bytes, name))
        .filter_map(|(class_name, class)| {
            let (line, column) = *attribute_positions(class, bytes).get(name)?;
            Some((text(class_name, bytes).to_owned(), line, column))
        })
        .collect();
    out.sort_by_key(|c| (c.1, c.2));
    out
}

/// Whether a class body holds `def name` or `class name`.
fn defines(class: Node, source: &[u8], name: &str) -> bool {
    body_statements(class).into_iter().any(|d| {
        matches!(d.kind(), "function_definition" | "class_definition")
            && d.child_by_field_name("name")
                .is_some_and(|n| text(n, source) == name)
    })
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
pub(super) type Header<'a> = (&'a str, &'a str, Vec<&'a str>);

pub(super) fn class_headers(files: &[(String, String)]) -> Vec<Header<'_>> {
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

pub(super) fn identifiers(text: &str) -> impl DoubleEndedIterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// Every `X as Y` of `files` (imports that rename), as `(X, Y)`.
pub(super) fn import_aliases(files: &[(String, String)]) -> Vec<(&str, &str)> {
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
pub(super) struct Names<'a> {
    pub(super) names: BTreeSet<&'a str>,
    pub(super) files: BTreeSet<&'a str>,
}

/// The classes whose headers name `class` or, transitively, one that does
/// (also under an alias), and their files.
pub(super) fn descendants<'a>(
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
pub(super) fn ancestors<'a>(
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

pub(super) fn class_id(path: &str, name: &str, node: Node, module_level: bool) -> ClassId {
    if module_level {
        (path.to_owned(), name.to_owned())
    } else {
        (path.to_owned(), format!("{name}@{}", node.start_byte()))
    }
}

/// Every class definition, at any depth (one cursor over the whole tree).
pub(super) fn all_classes<'t>(root: Node<'t>, source: &[u8]) -> Vec<(Node<'t>, Node<'t>)> {
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
pub(super) fn holds_mark(marks: &[usize], node: Node) -> bool {
    let i = marks.partition_point(|&m| m < node.start_byte());
    marks.get(i).is_some_and(|&m| m < node.end_byte())
}

/// Module-level class definitions (also inside module-level `if`/`try`).
pub(super) fn module_classes(root: Node) -> Vec<(Node, Node)> {
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

/// The statements of a class body (see [`statements`]).
pub(super) fn body_statements(class: Node) -> Vec<Node> {
    class
        .child_by_field_name("body")
        .map(statements)
        .unwrap_or_default()
}

/// The statements of a block (a module, a body), a decorated definition as
/// the definition itself.
pub(super) fn statements(block: Node) -> Vec<Node> {
    let mut cursor = block.walk();
    block
        .named_children(&mut cursor)
        .filter_map(|statement| {
            if statement.kind() == "decorated_definition" {
                statement.child_by_field_name("definition")
            } else {
                Some(statement)
            }
        })
        .collect()
}

/// Names defined directly in a class body.
pub(super) fn members(class: Node, source: &[u8]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for definition in body_statements(class) {
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

/// The attributes a class body and its methods assign, with where each is
/// first assigned (line, column, 1-based): `x = ...` and `x: T` in the
/// body, `__slots__` entries, and `self.x = ...` (`self.x: T`, tuple
/// targets) in its methods, `self` being each method's first parameter.
pub(crate) fn attribute_positions(class: Node, source: &[u8]) -> BTreeMap<String, (usize, usize)> {
    let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let note = |node: Node, out: &mut BTreeMap<String, (usize, usize)>| {
        let at = node.start_position();
        let name = text(node, source).to_owned();
        let here = (at.row + 1, at.column + 1);
        let entry = out.entry(name).or_insert(here);
        if here < *entry {
            *entry = here;
        }
    };
    for definition in body_statements(class) {
        match definition.kind() {
            "expression_statement" => {
                let Some(assignment) = definition.named_child(0) else {
                    continue;
                };
                if assignment.kind() != "assignment" {
                    continue;
                }
                let Some(left) = assignment.child_by_field_name("left") else {
                    continue;
                };
                if left.kind() == "identifier" && text(left, source) == "__slots__" {
                    if let Some(right) = assignment.child_by_field_name("right") {
                        for entry in slot_strings(right, source) {
                            note(entry, &mut out);
                        }
                    }
                } else {
                    for target in super::super::assignment_targets(left) {
                        if target.kind() == "identifier" {
                            note(target, &mut out);
                        }
                    }
                }
            }
            "function_definition" if !is_static_method(definition, source) => {
                let Some(receiver) = first_parameter(definition, source) else {
                    continue;
                };
                let Some(function_body) = definition.child_by_field_name("body") else {
                    continue;
                };
                for assignment in scope_assignments(function_body) {
                    let Some(left) = assignment.child_by_field_name("left") else {
                        continue;
                    };
                    for target in super::super::assignment_targets(left) {
                        if target.kind() == "attribute"
                            && let (Some(object), Some(attribute)) = (
                                target.child_by_field_name("object"),
                                target.child_by_field_name("attribute"),
                            )
                            && object.kind() == "identifier"
                            && text(object, source) == receiver
                        {
                            note(attribute, &mut out);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The `string_content` nodes of the plain strings in a `__slots__` value
/// (a string, or a tuple, list or set of strings).
pub(super) fn slot_strings<'t>(value: Node<'t>, source: &[u8]) -> Vec<Node<'t>> {
    let mut out = Vec::new();
    let mut stack = vec![value];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "string" => {
                let mut cursor = node.walk();
                let parts: Vec<Node> = node.named_children(&mut cursor).collect();
                let prefix = text(node, source)
                    .chars()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if prefix.contains('f') || prefix.contains('b') {
                    continue;
                }
                if let [_, content, _] = parts.as_slice()
                    && content.kind() == "string_content"
                {
                    out.push(*content);
                }
            }
            "tuple" | "list" | "set" | "parenthesized_expression" | "expression_list" => {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
            _ => {}
        }
    }
    out
}

/// Whether a function is decorated `@staticmethod`.
pub(super) fn is_static_method(function: Node, source: &[u8]) -> bool {
    function.parent().is_some_and(|p| {
        p.kind() == "decorated_definition" && {
            let mut cursor = p.walk();
            p.named_children(&mut cursor)
                .filter(|c| c.kind() == "decorator")
                .any(|d| text(d, source).trim() == "@staticmethod")
        }
    })
}

/// Whether a class's constructor takes its fields as keyword arguments:
/// a dataclass, an attrs class, a `NamedTuple` or a pydantic model (by
/// its decorators and bases, as written).
pub(super) fn declares_fields(class: Node, source: &[u8]) -> bool {
    let decorated = class
        .parent()
        .filter(|p| p.kind() == "decorated_definition")
        .is_some_and(|p| {
            let mut cursor = p.walk();
            p.named_children(&mut cursor)
                .filter(|c| c.kind() == "decorator")
                .any(|d| {
                    let written = text(d, source).trim_start_matches('@').trim();
                    let callee = written.split('(').next().unwrap_or("").trim();
                    let last = callee.rsplit('.').next().unwrap_or(callee);
                    matches!(last, "dataclass" | "define" | "frozen" | "mutable")
                        || matches!(callee, "attr.s" | "attr.attrs" | "attrs" | "s")
                })
        });
    let based = class
        .child_by_field_name("superclasses")
        .is_some_and(|list| {
            let mut cursor = list.walk();
            list.named_children(&mut cursor).any(|base| {
                let written = text(base, source);
                let last = written.rsplit('.').next().unwrap_or(written);
                matches!(last, "NamedTuple" | "BaseModel")
            })
        });
    decorated || based
}

/// Module-level names of a file that denote project classes: its own
/// classes, `from M import C [as D]`, and modules (`import m`, `from p
/// import m`) as `module:<file>` entries for `m.C`.
pub(super) fn class_bindings(
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

/// The project files a file star-imports at module level
/// (`from .core import *`), in order.
pub(super) fn star_files(
    index: &ModuleIndex,
    path: &str,
    source: &str,
    tree: &tree_sitter::Tree,
) -> Vec<String> {
    let model = FileModel::module_imports(tree, source);
    model.scopes[0]
        .star_imports
        .iter()
        .filter_map(|star| {
            let absolute = index.absolute(path, star.module.dots, &star.module.name)?;
            index.resolve(&absolute).first().map(|f| f.to_string())
        })
        .collect()
}

/// The class an expression denotes: `C`, `m.C`, `C[T]`.
pub(super) fn resolve_expr(
    node: Node,
    source: &[u8],
    names: &BTreeMap<String, ClassId>,
) -> Option<ClassId> {
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
