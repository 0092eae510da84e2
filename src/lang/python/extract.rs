//! Extract function and extract method: whole statements (a line range)
//! or one expression of a function become a new function (placed after
//! the module-level statement that holds the original) or a new method
//! (after the original, in its class), and the selection becomes a call.
//!
//! The data flow decides the signature: the parameters are the locals of
//! the function (and of functions around it) that the selection reads
//! before writing and that may hold a value when it starts; the return
//! values are the locals it writes that the function reads after it (or
//! anywhere, when the selection is inside a loop).
//!
//! Refused, with the reason: a selection that cuts a statement; one that
//! is not inside a function; `return` other than as the selection's last
//! statement (that one is carried: `return new(...)`; so is every `return`
//! of a selection that ends the function's body), `yield`, `break` or
//! `continue` of a loop outside the selection; a write to a name the
//! function declares `nonlocal`; `del` of a local; `global`/`nonlocal`
//! declarations; a returned name the selection assigns only on some
//! paths; `super()` without arguments moved out of its class; a new name
//! that is already taken.

use std::collections::BTreeSet;

use tree_sitter::{Node, Tree};

use super::scope::{FileModel, Resolution, Role, ScopeKind};
use super::{parse, text};
use crate::edit::Edit;

/// What to extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Lines `first..=last` (1-based) of the file: whole statements.
    Lines { first: usize, last: usize },
    /// The one expression, in the function whose `def` starts at
    /// `def_start`, whose text (whitespace aside) is `text`.
    Expression { def_start: usize, text: String },
}

/// The edits, and what the new function takes and gives.
#[derive(Debug, Clone)]
pub(crate) struct Extracted {
    pub edits: Vec<Edit>,
    pub parameters: Vec<String>,
    pub returns: Vec<String>,
    /// The function the selection was in.
    pub function: String,
    /// 1-based line of the new `def` after the edits.
    pub line: usize,
}

const SCOPES: &[&str] = &[
    "function_definition",
    "lambda",
    "class_definition",
    "list_comprehension",
    "set_comprehension",
    "dictionary_comprehension",
    "generator_expression",
];

/// Extracts `selection` of `source` into a function (or, with `method`,
/// a method of the class of the function it is in) called `name`.
pub(crate) fn extract(
    source: &str,
    selection: &Selection,
    name: &str,
    method: bool,
) -> Result<Extracted, String> {
    let tree = parse(source).ok_or("the file cannot be parsed")?;
    if super::syntax_errors(&tree) > 0 {
        return Err("the file has syntax errors".into());
    }
    let bytes = source.as_bytes();
    let picked = match selection {
        Selection::Lines { first, last } => pick_lines(&tree, source, *first, *last)?,
        Selection::Expression { def_start, text } => {
            pick_expression(&tree, source, *def_start, text)?
        }
    };
    let function = picked.function;
    let function_name = function
        .child_by_field_name("name")
        .map(|n| text(n, bytes).to_owned())
        .unwrap_or_default();
    let (start, end) = (picked.start, picked.end);

    // What the selection holds that cannot move.
    let mut awaits = false;
    let mut returns_at: Vec<Node> = Vec::new();
    let mut stack: Vec<(Node, bool)> = picked.nodes.iter().map(|n| (*n, false)).collect();
    while let Some((node, in_loop)) = stack.pop() {
        let line = node.start_position().row + 1;
        match node.kind() {
            "function_definition" | "lambda" | "class_definition" => continue,
            "return_statement" => returns_at.push(node),
            "yield" => {
                return Err(format!(
                    "line {line} yields: a generator's `yield` cannot move into another function"
                ));
            }
            "await" => awaits = true,
            "break_statement" | "continue_statement" if !in_loop => {
                return Err(format!(
                    "line {line} has `{}` for a loop outside the selection",
                    if node.kind() == "break_statement" {
                        "break"
                    } else {
                        "continue"
                    }
                ));
            }
            "global_statement" | "nonlocal_statement" => {
                return Err(format!(
                    "line {line} declares names `{}`; move the declaration out of the selection first",
                    if node.kind() == "global_statement" {
                        "global"
                    } else {
                        "nonlocal"
                    }
                ));
            }
            "call"
                if !method
                    && node
                        .child_by_field_name("function")
                        .is_some_and(|f| text(f, bytes) == "super")
                    && node
                        .child_by_field_name("arguments")
                        .is_some_and(|a| a.named_child_count() == 0) =>
            {
                return Err(format!(
                    "line {line} calls `super()` without arguments, which works only inside its class: extract a method instead"
                ));
            }
            _ => {}
        }
        // `async for` / `async with` await too.
        if matches!(node.kind(), "for_statement" | "with_statement")
            && node.child(0).is_some_and(|c| text(c, bytes) == "async")
        {
            awaits = true;
        }
        let loops = in_loop || matches!(node.kind(), "for_statement" | "while_statement");
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            // A loop's `else` runs after the loop: not inside it.
            let child_in_loop = loops
                && !(matches!(node.kind(), "for_statement" | "while_statement")
                    && child.kind() == "else_clause");
            stack.push((child, child_in_loop || in_loop));
        }
    }
    // The selection ends the function's body: every path out of it leaves
    // the function, so any `return` in it is carried (`return NAME(...)`,
    // falling off the end returns None either way).
    let tail = picked.lines
        && picked.nodes.first().and_then(|n| n.parent()) == function.child_by_field_name("body")
        && {
            let mut next = picked.nodes.last().and_then(|n| n.next_named_sibling());
            while next.is_some_and(|n| n.kind() == "comment") {
                next = next.and_then(|n| n.next_named_sibling());
            }
            next.is_none()
        };
    let carried = match returns_at.as_slice() {
        [] => false,
        _ if tail => true,
        [only]
            if picked.lines
                && picked
                    .nodes
                    .iter()
                    .rev()
                    .find(|n| n.kind() != "comment")
                    .is_some_and(|last| last == only) =>
        {
            true
        }
        [first, ..] => {
            return Err(format!(
                "line {} returns from `{function_name}`: only a `return` that is the selection's last statement can be carried (`return {name}(...)`)",
                first.start_position().row + 1
            ));
        }
    };
    if awaits && function.child(0).is_none_or(|c| text(c, bytes) != "async") {
        return Err("the selection awaits outside an async function".into());
    }

    // Names and scopes.
    let mut names: BTreeSet<&str> = BTreeSet::new();
    collect_identifiers(function, bytes, &mut names);
    names.insert(name);
    let names: Vec<&str> = names.into_iter().collect();
    let model = FileModel::build(&tree, source, &names);
    let root = tree.root_node();
    let scope_node = |at: usize| -> Option<Node> {
        let mut node = root.descendant_for_byte_range(at, at)?;
        loop {
            if SCOPES.contains(&node.kind()) {
                return Some(node);
            }
            node = node.parent()?;
        }
    };
    let body = function
        .child_by_field_name("body")
        .ok_or("the function has no body")?;
    let own_scope = model
        .occurrences
        .iter()
        .find(|o| {
            !o.doctest
                && o.start >= body.start_byte()
                && o.end <= body.end_byte()
                && scope_node(o.start) == Some(function)
        })
        .map(|o| o.scope)
        .or_else(|| {
            // A parameter binds in the function's scope.
            let parameters = function.child_by_field_name("parameters")?;
            model
                .occurrences
                .iter()
                .find(|o| {
                    !o.doctest
                        && o.start >= parameters.start_byte()
                        && o.end <= parameters.end_byte()
                        && matches!(o.role, Role::Bind(_))
                })
                .map(|o| o.scope)
        });
    // Scopes of the functions around the function (closures).
    let enclosing: BTreeSet<usize> = match own_scope {
        Some(own) => {
            let mut out = BTreeSet::new();
            let mut current = model.scopes[own].parent;
            while let Some(id) = current {
                if model.scopes[id].kind == ScopeKind::Function {
                    out.insert(id);
                }
                current = model.scopes[id].parent;
            }
            out
        }
        None => BTreeSet::new(),
    };
    let Some(own) = own_scope else {
        // No name at all in the function: nothing flows in or out.
        return finish(
            source,
            &tree,
            &picked,
            name,
            method,
            awaits,
            carried,
            &[],
            &[],
            &[],
            &function_name,
        );
    };
    let declared_global = &model.scopes[own].globals;
    let declared_nonlocal = &model.scopes[own].nonlocals;
    // Per occurrence: the scope the name lives in.
    let target = |o: &super::scope::Occurrence| -> Option<usize> {
        match &o.role {
            Role::Bind(_) => {
                if o.scope == own
                    && (declared_global.contains(&o.name) || declared_nonlocal.contains(&o.name))
                {
                    match model.resolve(&o.name, o.scope) {
                        Resolution::Scope(s) => Some(s),
                        Resolution::Free => Some(0),
                    }
                } else {
                    Some(o.scope)
                }
            }
            Role::Reference => match model.resolve(&o.name, o.scope) {
                Resolution::Scope(s) => Some(s),
                Resolution::Free => None,
            },
            _ => None,
        }
    };
    let in_selection = |o: &super::scope::Occurrence| o.start >= start && o.end <= end;
    let passable = |scope: usize| scope == own || enclosing.contains(&scope);
    // The loop of the function around the selection, if any: a name
    // written in the selection flows to the next iteration.
    let mut around_loop: Option<Node> = None;
    {
        let mut node = picked.nodes.first().and_then(|n| n.parent());
        while let Some(current) = node {
            if current == function {
                break;
            }
            if matches!(current.kind(), "for_statement" | "while_statement") {
                around_loop = Some(current);
                break;
            }
            node = current.parent();
        }
    }
    let mut bound_before: BTreeSet<&str> = BTreeSet::new();
    let mut bound_outside: BTreeSet<&str> = BTreeSet::new();
    let mut read_after: BTreeSet<&str> = BTreeSet::new();
    let mut written: Vec<&str> = Vec::new();
    let mut closure_reads: BTreeSet<&str> = BTreeSet::new();
    for o in &model.occurrences {
        if o.doctest {
            continue;
        }
        let Some(scope) = target(o) else { continue };
        let bind = matches!(o.role, Role::Bind(_));
        if in_selection(o) {
            if bind && scope == own && o.scope == own {
                if !written.contains(&o.name.as_str()) {
                    written.push(&o.name);
                }
                if matches!(o.role, Role::Bind(super::scope::Binding::Other))
                    && is_deleted(root, o.start)
                {
                    return Err(format!("line {} deletes the local `{}`", o.line, o.name));
                }
            }
            if bind && o.scope == own && declared_nonlocal.contains(&o.name) {
                return Err(format!(
                    "line {} assigns `{}`, which `{function_name}` declares nonlocal: a new function cannot rebind it",
                    o.line, o.name
                ));
            }
            if !bind && enclosing.contains(&scope) {
                closure_reads.insert(&o.name);
            }
            continue;
        }
        if scope == own && o.start >= function.start_byte() && o.end <= function.end_byte() {
            if bind {
                bound_outside.insert(&o.name);
                if o.start < start {
                    bound_before.insert(&o.name);
                }
            } else if o.start >= end
                || around_loop.is_some_and(|l| o.start >= l.start_byte() && o.end <= l.end_byte())
            {
                read_after.insert(&o.name);
            }
        }
    }
    // Reads before writes, statement by statement. (`x += 1` reads `x`.)
    let mut augmented: BTreeSet<usize> = BTreeSet::new();
    let mut stack: Vec<Node> = picked.nodes.clone();
    while let Some(node) = stack.pop() {
        if node.kind() == "augmented_assignment"
            && let Some(left) = node.child_by_field_name("left")
            && left.kind() == "identifier"
        {
            augmented.insert(left.start_byte());
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    let reads_in = |node: Node| -> Vec<&str> {
        model
            .occurrences
            .iter()
            .filter(|o| {
                !o.doctest
                    && (o.role == Role::Reference || augmented.contains(&o.start))
                    && o.start >= node.start_byte()
                    && o.end <= node.end_byte()
                    && target(o).is_some_and(passable)
            })
            .map(|o| o.name.as_str())
            .collect()
    };
    let mut exposed: Vec<&str> = Vec::new();
    let mut assigned: BTreeSet<&str> = BTreeSet::new();
    fn expose<'n>(names: Vec<&'n str>, assigned: &BTreeSet<&'n str>, exposed: &mut Vec<&'n str>) {
        for n in names {
            if !assigned.contains(n) && !exposed.contains(&n) {
                exposed.push(n);
            }
        }
    }
    for node in &picked.nodes {
        let statement = *node;
        let inner = (statement.kind() == "expression_statement")
            .then(|| statement.named_child(0))
            .flatten();
        match inner.map(|i| (i.kind(), i)) {
            Some(("assignment", assignment)) => {
                let mut reads = Vec::new();
                for field in ["right", "type"] {
                    if let Some(part) = assignment.child_by_field_name(field) {
                        reads.extend(reads_in(part));
                    }
                }
                let mut targets = Vec::new();
                if let Some(left) = assignment.child_by_field_name("left") {
                    for t in super::assignment_targets(left) {
                        if t.kind() == "identifier" {
                            targets.push(text(t, bytes));
                        } else {
                            reads.extend(reads_in(t));
                        }
                    }
                }
                expose(reads, &assigned, &mut exposed);
                // `a = b = v`: the chained right side is another assignment.
                let mut right = assignment.child_by_field_name("right");
                while let Some(r) = right.filter(|r| r.kind() == "assignment") {
                    if let Some(left) = r.child_by_field_name("left") {
                        targets.extend(
                            super::assignment_targets(left)
                                .into_iter()
                                .filter(|t| t.kind() == "identifier")
                                .map(|t| text(t, bytes)),
                        );
                    }
                    right = r.child_by_field_name("right");
                }
                assigned.extend(targets);
            }
            Some(("augmented_assignment", assignment)) => {
                expose(reads_in(assignment), &assigned, &mut exposed);
                if let Some(left) = assignment.child_by_field_name("left")
                    && left.kind() == "identifier"
                {
                    assigned.insert(text(left, bytes));
                }
            }
            _ => {
                expose(reads_in(statement), &assigned, &mut exposed);
                // Compound statements that assign on every path (`if`/`else`
                // whose branches all assign, `with`, `try`).
                if let Some(names) = definitely_assigned(statement, bytes) {
                    for name in names {
                        if let Some(known) = written.iter().find(|w| **w == name) {
                            assigned.insert(known);
                        }
                    }
                }
                match statement.kind() {
                    "function_definition" | "class_definition" => {
                        if let Some(n) = statement.child_by_field_name("name") {
                            assigned.insert(text(n, bytes));
                        }
                    }
                    "decorated_definition" => {
                        if let Some(n) = statement
                            .child_by_field_name("definition")
                            .and_then(|d| d.child_by_field_name("name"))
                        {
                            assigned.insert(text(n, bytes));
                        }
                    }
                    "import_statement" | "import_from_statement" => {
                        for o in model.occurrences.iter().filter(|o| {
                            matches!(o.role, Role::Bind(_))
                                && o.start >= statement.start_byte()
                                && o.end <= statement.end_byte()
                        }) {
                            assigned.insert(&o.name);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let receiver = method
        .then(|| super::methods::receiver_of(function, bytes))
        .flatten();
    let parameters: Vec<String> = exposed
        .iter()
        .filter(|n| {
            closure_reads.contains(*n)
                || bound_before.contains(*n)
                || around_loop.is_some() && bound_outside.contains(*n)
        })
        .filter(|n| receiver.as_deref() != Some(**n))
        .map(|n| n.to_string())
        .collect();
    let mut returns: Vec<String> = Vec::new();
    if !carried {
        for n in &written {
            if !read_after.contains(n) {
                continue;
            }
            if !assigned.contains(n) && !parameters.iter().any(|p| p == n) {
                return Err(format!(
                    "`{n}` is assigned on some paths of the selection only and used after it: assign it before the selection, or select whole branches"
                ));
            }
            returns.push(n.to_string());
        }
    }
    let globals: Vec<String> = written
        .iter()
        .filter(|n| declared_global.contains(**n))
        .map(|n| n.to_string())
        .collect();
    let returns: Vec<String> = returns
        .into_iter()
        .filter(|n| !globals.contains(n))
        .collect();

    // The new name must be free where it goes and where it is called: a
    // module-level function would also capture the module's uses of a
    // builtin of that name.
    if !method && model.scopes[0].bound.contains(name) {
        return Err(format!("`{name}` is already defined in this module"));
    }
    if !method
        && let Some(used) = model
            .occurrences
            .iter()
            .find(|o| o.name == name && o.role == Role::Reference && !o.doctest)
    {
        return Err(format!(
            "`{name}` is already used in this module (line {}): a new function of that name would change what it means",
            used.line
        ));
    }
    if model
        .occurrences
        .iter()
        .any(|o| o.name == name && o.start >= function.start_byte() && o.end <= function.end_byte())
    {
        return Err(format!("`{name}` is already used in `{function_name}`"));
    }
    finish(
        source,
        &tree,
        &picked,
        name,
        method,
        awaits,
        carried,
        &parameters,
        &returns,
        &globals,
        &function_name,
    )
}

/// What was picked: the selected statements (or the one expression), the
/// byte range they span, and the function they are in.
struct Picked<'t> {
    nodes: Vec<Node<'t>>,
    start: usize,
    end: usize,
    function: Node<'t>,
    /// Statements (a line range), not an expression.
    lines: bool,
}

fn pick_lines<'t>(
    tree: &'t Tree,
    source: &str,
    first: usize,
    last: usize,
) -> Result<Picked<'t>, String> {
    let starts: Vec<usize> = std::iter::once(0)
        .chain(source.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let count = if source.ends_with('\n') {
        starts.len() - 1
    } else {
        starts.len()
    };
    if first == 0 || first > last || last > count {
        return Err(format!(
            "lines {first}-{last} are not a range of the file's {count} lines"
        ));
    }
    let line_text = |line: usize| {
        let from = starts[line - 1];
        let to = starts.get(line).map_or(source.len(), |e| e - 1);
        (from, &source[from..to])
    };
    let content = |line: usize| {
        let (from, text) = line_text(line);
        let trimmed = text.trim_start();
        (!trimmed.trim_end().is_empty()).then(|| {
            let at = from + text.len() - trimmed.len();
            (at, from + text.trim_end().len())
        })
    };
    let begin = (first..=last)
        .find_map(content)
        .map(|c| c.0)
        .ok_or_else(|| format!("lines {first}-{last} are blank"))?;
    let finish = (first..=last)
        .rev()
        .find_map(content)
        .map(|c| c.1)
        .ok_or_else(|| format!("lines {first}-{last} are blank"))?;
    let root = tree.root_node();
    let mut container = root
        .descendant_for_byte_range(begin, finish)
        .ok_or("nothing there")?;
    while !matches!(container.kind(), "block" | "module") {
        container = container.parent().ok_or("nothing there")?;
    }
    let mut cursor = container.walk();
    let nodes: Vec<Node> = container
        .named_children(&mut cursor)
        .filter(|s| s.end_byte() > begin && s.start_byte() < finish)
        .collect();
    for statement in &nodes {
        if statement.start_byte() < begin || statement.end_byte() > finish {
            return Err(format!(
                "lines {first}-{last} cut the statement at lines {}-{}: select whole statements",
                statement.start_position().row + 1,
                statement.end_position().row + 1
            ));
        }
    }
    if nodes.iter().all(|n| n.kind() == "comment") {
        return Err(format!("lines {first}-{last} hold no statement"));
    }
    // The function around, directly (not a class body in between).
    let mut owner = container.parent();
    let function = loop {
        match owner {
            Some(node) if node.kind() == "function_definition" => break node,
            Some(node) if node.kind() == "class_definition" || node.kind() == "module" => {
                return Err(format!(
                    "lines {first}-{last} are not inside a function (orch extracts from function bodies)"
                ));
            }
            Some(node) => owner = node.parent(),
            None => {
                return Err(format!(
                    "lines {first}-{last} are not inside a function (orch extracts from function bodies)"
                ));
            }
        }
    };
    // Whole lines: nothing else shares the first or the last line.
    let (start, end) = (
        nodes.first().map(|n| n.start_byte()).unwrap_or(begin),
        nodes.last().map(|n| n.end_byte()).unwrap_or(finish),
    );
    let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
    if !source[line_start..start].trim().is_empty() {
        return Err(format!(
            "line {first} starts inside another statement (after a `;` or a `:`): select whole lines of statements"
        ));
    }
    let line_end = source[end..].find('\n').map_or(source.len(), |i| end + i);
    if !source[end..line_end].trim().is_empty() && !source[end..line_end].trim().starts_with('#') {
        return Err(format!(
            "line {last} goes on after the selection's last statement: select whole lines of statements"
        ));
    }
    Ok(Picked {
        nodes,
        start,
        end,
        function,
        lines: true,
    })
}

fn pick_expression<'t>(
    tree: &'t Tree,
    source: &str,
    def_start: usize,
    wanted: &str,
) -> Result<Picked<'t>, String> {
    let bytes = source.as_bytes();
    let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let wanted = squash(wanted.trim_matches('`'));
    let mut function = tree
        .root_node()
        .descendant_for_byte_range(def_start, def_start)
        .ok_or("no function there")?;
    while function.kind() != "function_definition" {
        function = function.parent().ok_or("no function there")?;
    }
    let body = function
        .child_by_field_name("body")
        .ok_or("the function has no body")?;
    let mut found: Vec<Node> = Vec::new();
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        if node.is_named()
            && !node.kind().ends_with("statement")
            && !matches!(
                node.kind(),
                "block"
                    | "assignment"
                    | "augmented_assignment"
                    | "keyword_argument"
                    | "pair"
                    | "comment"
            )
            && squash(text(node, bytes)) == wanted
        {
            // The outermost node of that text.
            if !found
                .iter()
                .any(|f| f.start_byte() <= node.start_byte() && f.end_byte() >= node.end_byte())
            {
                found.push(node);
            }
            continue;
        }
        if matches!(
            node.kind(),
            "function_definition" | "class_definition" | "lambda"
        ) {
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    let fname = function
        .child_by_field_name("name")
        .map(|n| text(n, bytes))
        .unwrap_or("");
    match found.as_slice() {
        [one] => {
            let one = *one;
            let parent = one.parent();
            let is_target = parent.is_some_and(|p| {
                matches!(
                    p.kind(),
                    "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause"
                ) && p.child_by_field_name("left") == Some(one)
            }) || one.kind() == "identifier"
                && parent.is_some_and(|p| p.kind() == "named_expression");
            if is_target {
                return Err(format!(
                    "`{wanted}` at line {} is assigned to, not an expression to extract",
                    one.start_position().row + 1
                ));
            }
            let mut walrus = vec![one];
            while let Some(node) = walrus.pop() {
                if node.kind() == "named_expression" {
                    return Err("the expression assigns with `:=`".into());
                }
                let mut cursor = node.walk();
                walrus.extend(node.named_children(&mut cursor));
            }
            Ok(Picked {
                nodes: vec![one],
                start: one.start_byte(),
                end: one.end_byte(),
                function,
                lines: false,
            })
        }
        [] => Err(format!(
            "no expression `{wanted}` in `{fname}` (whitespace aside)"
        )),
        many => {
            let lines: Vec<String> = many
                .iter()
                .map(|n| (n.start_position().row + 1).to_string())
                .collect();
            Err(format!(
                "`{wanted}` occurs {} times in `{fname}` (lines {}): extract one by its lines instead",
                many.len(),
                lines.join(", ")
            ))
        }
    }
}

/// The text of the edits.
#[allow(clippy::too_many_arguments)]
fn finish(
    source: &str,
    tree: &Tree,
    picked: &Picked,
    name: &str,
    method: bool,
    awaits: bool,
    carried: bool,
    parameters: &[String],
    returns: &[String],
    globals: &[String],
    function_name: &str,
) -> Result<Extracted, String> {
    let bytes = source.as_bytes();
    let function = picked.function;
    // The file's line ending, for the lines written.
    let eol = if source.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let indent_of = |at: usize| -> &str {
        let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
        let line = &source[line_start..];
        &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
    };
    let def_indent = indent_of(function.start_byte()).to_owned();
    let body = function
        .child_by_field_name("body")
        .ok_or("the function has no body")?;
    let unit = {
        let body_indent = indent_of(body.start_byte());
        body_indent
            .strip_prefix(def_indent.as_str())
            .filter(|u| !u.is_empty())
            .unwrap_or("    ")
            .to_owned()
    };
    // Where the new definition goes, and its own indentation.
    let (anchor, new_indent, receiver, decorator) = if method {
        let statement = match function.parent() {
            Some(p) if p.kind() == "decorated_definition" => p,
            _ => function,
        };
        let in_class = statement
            .parent()
            .filter(|b| b.kind() == "block")
            .and_then(|b| b.parent())
            .filter(|c| c.kind() == "class_definition");
        if in_class.is_none() {
            return Err(format!(
                "`{function_name}` is not a method of a class: extract a function instead"
            ));
        }
        let decorators = decorators(statement, bytes);
        if decorators.iter().any(|d| d == "staticmethod") {
            return Err(format!(
                "`{function_name}` is a static method: extract a function instead"
            ));
        }
        let receiver = super::methods::receiver_of(function, bytes)
            .ok_or_else(|| format!("`{function_name}` has no `self` parameter"))?;
        if let Some(class) = in_class
            && super::methods::class_members(class, bytes).contains(name)
        {
            return Err(format!("the class already has a member `{name}`"));
        }
        let decorator = decorators
            .iter()
            .any(|d| d == "classmethod")
            .then(|| "@classmethod".to_owned());
        (statement, def_indent.clone(), Some(receiver), decorator)
    } else {
        let mut top = function;
        while let Some(parent) = top.parent() {
            if parent.kind() == "module" {
                break;
            }
            top = parent;
        }
        (top, String::new(), None, None)
    };
    let mut signature: Vec<String> = receiver.iter().cloned().collect();
    signature.extend(parameters.iter().cloned());
    let call_arguments = parameters.join(", ");
    let callee = match &receiver {
        Some(receiver) => format!("{receiver}.{name}({call_arguments})"),
        None => format!("{name}({call_arguments})"),
    };
    let call = if awaits {
        format!("await {callee}")
    } else {
        callee
    };
    let body_indent = format!("{new_indent}{unit}");
    let mut def = String::new();
    if let Some(decorator) = &decorator {
        def.push_str(&format!("{new_indent}{decorator}{eol}"));
    }
    def.push_str(&format!(
        "{new_indent}{}def {name}({}):{eol}",
        if awaits { "async " } else { "" },
        signature.join(", ")
    ));
    if !globals.is_empty() {
        def.push_str(&format!("{body_indent}global {}{eol}", globals.join(", ")));
    }
    let (replace_start, replace_end, replacement) = if picked.lines {
        let line_start = source[..picked.start].rfind('\n').map_or(0, |i| i + 1);
        let base = &source[line_start..picked.start];
        let line_end = source[picked.end..]
            .find('\n')
            .map_or(source.len(), |i| picked.end + i);
        let strings = string_spans(tree.root_node());
        let mut offset = line_start;
        for raw in source[line_start..line_end].split('\n') {
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            let in_string = strings.iter().any(|(s, e)| *s < offset && offset < *e);
            if in_string {
                def.push_str(line);
            } else if line.trim().is_empty() {
                // A blank line stays blank.
            } else {
                let stripped = line.strip_prefix(base).unwrap_or_else(|| line.trim_start());
                def.push_str(&body_indent);
                def.push_str(stripped);
            }
            def.push_str(eol);
            offset += raw.len() + 1;
        }
        if !returns.is_empty() {
            def.push_str(&format!("{body_indent}return {}{eol}", returns.join(", ")));
        }
        let statement = if carried {
            format!("return {call}")
        } else if returns.is_empty() {
            call
        } else {
            format!("{} = {call}", returns.join(", "))
        };
        (picked.start, picked.end, statement)
    } else {
        let expression = &source[picked.start..picked.end];
        if expression.contains('\n')
            && !matches!(
                picked.nodes[0].kind(),
                "parenthesized_expression"
                    | "call"
                    | "list"
                    | "dictionary"
                    | "set"
                    | "tuple"
                    | "subscript"
                    | "string"
                    | "concatenated_string"
            )
        {
            def.push_str(&format!("{body_indent}return ({expression}){eol}"));
        } else {
            def.push_str(&format!("{body_indent}return {expression}{eol}"));
        }
        (picked.start, picked.end, call)
    };
    // After the anchor statement's last line.
    let anchor_end = anchor.end_byte();
    let insert_at = source[anchor_end..]
        .find('\n')
        .map_or(source.len(), |i| anchor_end + i + 1);
    let separator = if method {
        eol.to_owned()
    } else {
        eol.repeat(2)
    };
    let inserted = if insert_at == source.len() && !source.ends_with('\n') {
        format!("{eol}{separator}{def}")
    } else {
        format!("{separator}{def}")
    };
    let edits = vec![
        Edit::new(source, replace_start, replace_end, &replacement),
        Edit::new(source, insert_at, insert_at, &inserted),
    ];
    // The `def` line after both edits.
    let before_insert = source[..insert_at].matches('\n').count()
        + replacement.matches('\n').count()
        - source[replace_start..replace_end].matches('\n').count();
    let line = before_insert
        + 1
        + separator.matches('\n').count()
        + usize::from(decorator.is_some())
        + usize::from(insert_at == source.len() && !source.ends_with('\n'));
    Ok(Extracted {
        edits,
        parameters: parameters.to_vec(),
        returns: returns.to_vec(),
        function: function_name.to_owned(),
        line,
    })
}

/// The decorators of a (decorated) definition, as names (`classmethod`).
fn decorators(statement: Node, source: &[u8]) -> Vec<String> {
    if statement.kind() != "decorated_definition" {
        return Vec::new();
    }
    let mut cursor = statement.walk();
    statement
        .named_children(&mut cursor)
        .filter(|c| c.kind() == "decorator")
        .map(|d| text(d, source).trim_start_matches('@').trim().to_owned())
        .collect()
}

/// The byte spans of every string literal (a line starting inside one is
/// part of its text: re-indenting it would change the string).
fn string_spans(root: Node) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.kind() == "string" {
            if node.start_position().row != node.end_position().row {
                out.push((node.start_byte(), node.end_byte()));
            }
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    out
}

/// Every identifier under `node`.
fn collect_identifiers<'s>(node: Node, source: &'s [u8], out: &mut BTreeSet<&'s str>) {
    let mut stack = vec![node];
    while let Some(node) = stack.pop() {
        if node.kind() == "identifier" {
            out.insert(text(node, source));
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
}

/// The names a statement assigns on every path that goes on after it
/// (`None`: no path goes on: it returns, raises, breaks or continues).
fn definitely_assigned(statement: Node, source: &[u8]) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    match statement.kind() {
        "return_statement" | "raise_statement" | "break_statement" | "continue_statement" => {
            return None;
        }
        "expression_statement" => {
            if let Some(inner) = statement.named_child(0)
                && matches!(inner.kind(), "assignment" | "augmented_assignment")
            {
                let mut node = Some(inner);
                while let Some(assignment) =
                    node.filter(|n| n.kind() == "assignment" || n.kind() == "augmented_assignment")
                {
                    if assignment.child_by_field_name("right").is_some()
                        && let Some(left) = assignment.child_by_field_name("left")
                    {
                        for target in super::assignment_targets(left) {
                            if target.kind() == "identifier" {
                                out.insert(text(target, source).to_owned());
                            }
                        }
                    }
                    node = assignment.child_by_field_name("right");
                }
            }
        }
        "block" => {
            let mut cursor = statement.walk();
            for child in statement.named_children(&mut cursor) {
                out.extend(definitely_assigned(child, source)?);
            }
        }
        "if_statement" => {
            let mut branches: Vec<Node> = statement
                .child_by_field_name("consequence")
                .into_iter()
                .collect();
            let mut has_else = false;
            let mut cursor = statement.walk();
            for clause in statement.children_by_field_name("alternative", &mut cursor) {
                if clause.kind() == "else_clause" {
                    has_else = true;
                }
                if let Some(body) = clause
                    .child_by_field_name("body")
                    .or_else(|| clause.child_by_field_name("consequence"))
                {
                    branches.push(body);
                }
            }
            if !has_else {
                return Some(out);
            }
            let mut common: Option<BTreeSet<String>> = None;
            let mut all_diverge = true;
            for branch in branches {
                let Some(names) = definitely_assigned(branch, source) else {
                    continue;
                };
                all_diverge = false;
                common = Some(match common {
                    None => names,
                    Some(c) => c.intersection(&names).cloned().collect(),
                });
            }
            if all_diverge {
                return None;
            }
            out.extend(common.unwrap_or_default());
        }
        "with_statement" => {
            if let Some(body) = statement.child_by_field_name("body") {
                out.extend(definitely_assigned(body, source)?);
            }
        }
        // The paths that go on: the body (and its `else`) completed, or a
        // handler did; a `finally` runs on each.
        "try_statement" => {
            let mut paths: Vec<Option<BTreeSet<String>>> = Vec::new();
            let mut main = statement
                .child_by_field_name("body")
                .map(|b| definitely_assigned(b, source))
                .unwrap_or(Some(BTreeSet::new()));
            let mut finally = BTreeSet::new();
            let mut cursor = statement.walk();
            for clause in statement.named_children(&mut cursor) {
                match clause.kind() {
                    "except_clause" | "except_group_clause" => {
                        paths.push(block_of(clause).and_then(|b| definitely_assigned(b, source)));
                    }
                    "else_clause" => {
                        if let (Some(m), Some(body)) =
                            (main.as_mut(), clause.child_by_field_name("body"))
                        {
                            match definitely_assigned(body, source) {
                                Some(names) => m.extend(names),
                                None => main = None,
                            }
                        }
                    }
                    "finally_clause" => {
                        if let Some(block) = block_of(clause) {
                            finally = definitely_assigned(block, source)?;
                        }
                    }
                    _ => {}
                }
            }
            paths.push(main);
            let mut common: Option<BTreeSet<String>> = None;
            for names in paths.into_iter().flatten() {
                common = Some(match common {
                    None => names,
                    Some(c) => c.intersection(&names).cloned().collect(),
                });
            }
            out.extend(common?);
            out.extend(finally);
        }
        _ => {}
    }
    Some(out)
}

/// The block of a clause (`except ...:`, `finally:`).
fn block_of(clause: Node) -> Option<Node> {
    let mut cursor = clause.walk();
    #[allow(clippy::let_and_return)]
    let found = clause
        .named_children(&mut cursor)
        .find(|c| c.kind() == "block");
    found
}

/// Whether the identifier at `at` is a target of `del`.
fn is_deleted(root: Node, at: usize) -> bool {
    let mut node = root.descendant_for_byte_range(at, at);
    while let Some(current) = node {
        if current.kind() == "delete_statement" {
            return true;
        }
        if current.kind().ends_with("statement") {
            return false;
        }
        node = current.parent();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(source: &str, extracted: &Extracted) -> String {
        let mut out = source.to_owned();
        let mut edits = extracted.edits.clone();
        edits.sort_by_key(|e| std::cmp::Reverse(e.start));
        for edit in edits {
            out.replace_range(edit.start..edit.end, &edit.new);
        }
        out
    }

    fn lines(
        source: &str,
        first: usize,
        last: usize,
        name: &str,
        method: bool,
    ) -> Result<String, String> {
        let extracted = extract(source, &Selection::Lines { first, last }, name, method)?;
        let out = apply(source, &extracted);
        assert!(
            super::super::parse(&out).is_some_and(|t| super::super::syntax_errors(&t) == 0),
            "{out}"
        );
        assert!(
            out.lines()
                .nth(extracted.line - 1)
                .is_some_and(|l| l.trim_start().contains(&format!("def {name}("))),
            "line {} of\n{out}",
            extracted.line
        );
        Ok(out)
    }

    const CART: &str = "class Cart:\n    def __init__(self):\n        self.items = []\n\n    def receipt(self, header):\n        lines = [header]\n        total = 0\n        for name, cents in self.items:\n            lines.append(f\"{name} {cents}\")\n            total += cents\n        lines.append(f\"total {total}\")\n        return \"\\n\".join(lines)\n\n\ndef after():\n    return 1\n";

    #[test]
    fn statements_become_a_function_with_parameters_and_returns() {
        let out = lines(CART, 7, 10, "tally", false).unwrap();
        assert_eq!(
            out,
            "class Cart:\n    def __init__(self):\n        self.items = []\n\n    def receipt(self, header):\n        lines = [header]\n        total = tally(self, lines)\n        lines.append(f\"total {total}\")\n        return \"\\n\".join(lines)\n\n\ndef tally(self, lines):\n    total = 0\n    for name, cents in self.items:\n        lines.append(f\"{name} {cents}\")\n        total += cents\n    return total\n\n\ndef after():\n    return 1\n"
        );
    }

    #[test]
    fn statements_become_a_method_and_a_last_return_is_carried() {
        let out = lines(CART, 7, 12, "finish", true).unwrap();
        assert_eq!(
            out,
            "class Cart:\n    def __init__(self):\n        self.items = []\n\n    def receipt(self, header):\n        lines = [header]\n        return self.finish(lines)\n\n    def finish(self, lines):\n        total = 0\n        for name, cents in self.items:\n            lines.append(f\"{name} {cents}\")\n            total += cents\n        lines.append(f\"total {total}\")\n        return \"\\n\".join(lines)\n\n\ndef after():\n    return 1\n"
        );
    }

    #[test]
    fn several_values_come_back_and_loops_carry_their_state() {
        let source = "def stats(xs):\n    low = high = None\n    count = 0\n    for x in xs:\n        if low is None or x < low:\n            low = x\n        count += 1\n    return low, count\n";
        // Inside the loop: `low` flows to the next iteration and `count`
        // is read after.
        let out = lines(source, 5, 7, "step", false).unwrap();
        assert!(
            out.contains("        low, count = step(low, x, count)\n"),
            "{out}"
        );
        assert!(out.contains("def step(low, x, count):\n    if low is None or x < low:\n        low = x\n    count += 1\n    return low, count\n"), "{out}");
    }

    #[test]
    fn what_cannot_move_is_refused_with_the_reason() {
        let source = "def f(xs):\n    for x in xs:\n        if x:\n            break\n        y = x\n    if xs:\n        z = 1\n    print(z)\n    return xs\n\n\ndef g():\n    yield 1\n    return 2\n\n\ndef k(x):\n    if x:\n        return 1\n    x += 1\n    return x\n";
        let refused = |first, last| lines(source, first, last, "h", false).unwrap_err();
        assert!(
            refused(3, 4).contains("`break` for a loop outside the selection"),
            "{}",
            refused(3, 4)
        );
        assert!(
            refused(6, 7).contains("`z` is assigned on some paths"),
            "{}",
            refused(6, 7)
        );
        assert!(
            refused(2, 3).contains("cut the statement at lines 2-5"),
            "{}",
            refused(2, 3)
        );
        assert!(refused(13, 13).contains("yields"), "{}", refused(13, 13));
        assert!(
            refused(18, 20).contains("only a `return` that is the selection's last"),
            "{}",
            refused(18, 20)
        );
        // The tail of a body carries every `return` in it.
        let tail = lines(source, 18, 21, "h", false).unwrap();
        assert!(
            tail.contains("def k(x):\n    return h(x)\n")
                && tail
                    .contains("def h(x):\n    if x:\n        return 1\n    x += 1\n    return x\n"),
            "{tail}"
        );
        // A last `return` is carried.
        assert!(
            lines(source, 8, 9, "h", false)
                .unwrap()
                .contains("    return h(z, xs)\n")
        );
        assert!(
            lines(source, 1, 2, "h", false)
                .unwrap_err()
                .contains("cut the statement")
        );
        assert!(
            lines(source, 12, 14, "h", false)
                .unwrap_err()
                .contains("not inside a function")
        );
        // The loop itself (with its `break`) moves whole.
        assert!(lines(source, 2, 5, "h", false).is_ok());
        // A name taken, or a builtin the module uses.
        assert!(
            lines(source, 5, 5, "g", false)
                .unwrap_err()
                .contains("already defined")
        );
        assert!(
            lines(source, 5, 5, "print", false)
                .unwrap_err()
                .contains("already used in this module (line 8)")
        );
        // A method of nothing.
        assert!(
            lines(source, 5, 5, "h", true)
                .unwrap_err()
                .contains("not a method")
        );
    }

    #[test]
    fn branches_that_all_assign_define_the_value() {
        let source = "def f(text, win):\n    if text is None:\n        data = b''\n    elif isinstance(text, bytes):\n        data = text\n    else:\n        if win:\n            data = text.encode('x')\n        else:\n            data = text.encode('y')\n    return data\n\n\ndef g(x):\n    if x:\n        y = 1\n    elif x is None:\n        raise ValueError(x)\n    return y\n";
        let out = lines(source, 2, 10, "h", false).unwrap();
        assert!(
            out.contains("    data = h(text, win)\n    return data\n"),
            "{out}"
        );
        // A branch that raises does not go on: `y` is set where it does.
        // (Without an `else`, it is not.)
        assert!(
            lines(source, 15, 18, "k", false)
                .unwrap_err()
                .contains("`y` is assigned on some paths")
        );
        // A handler that raises: the value is set on every path that goes on.
        let guarded = "def o(name):\n    try:\n        rv, mode = open(name), 'r'\n    except OSError as e:\n        raise ValueError(name) from e\n    return rv, mode\n";
        let out = lines(guarded, 2, 5, "opened", false).unwrap();
        assert!(out.contains("    rv, mode = opened(name)\n"), "{out}");
        let swallowed = "def o(name):\n    try:\n        rv = open(name)\n    except OSError:\n        pass\n    return rv\n";
        assert!(
            lines(swallowed, 2, 5, "opened", false)
                .unwrap_err()
                .contains("`rv` is assigned on some paths")
        );
    }

    #[test]
    fn windows_line_endings_stay_windows_line_endings() {
        let crlf = "def f(a):\r\n    b = a + 1\r\n    c = b * 2\r\n    return c\r\n";
        let out = lines(crlf, 2, 3, "g", false).unwrap();
        assert_eq!(
            out,
            "def f(a):\r\n    c = g(a)\r\n    return c\r\n\r\n\r\ndef g(a):\r\n    b = a + 1\r\n    c = b * 2\r\n    return c\r\n"
        );
    }

    #[test]
    fn strings_keep_their_lines_and_async_stays_async() {
        let source = "async def fetch(client, url):\n    if url:\n        text = await client.get(url)\n        doc = \"\"\"\nkept\n   as is\n\"\"\"\n        return text + doc\n    return None\n";
        let out = lines(source, 3, 8, "load", false).unwrap();
        assert!(
            out.contains("        return await load(client, url)\n"),
            "{out}"
        );
        assert!(out.contains("async def load(client, url):\n    text = await client.get(url)\n    doc = \"\"\"\nkept\n   as is\n\"\"\"\n    return text + doc\n"), "{out}");
    }

    #[test]
    fn an_expression_becomes_a_function() {
        let source = "from .util import rate\n\n\ndef price(item, qty):\n    base = item.cents * qty\n    return base + round(item.cents * qty * rate(item), 2)\n";
        let def_start = source.find("def price").unwrap();
        let selection = Selection::Expression {
            def_start,
            text: "round(item.cents * qty * rate(item),2)".into(),
        };
        let extracted = extract(source, &selection, "tax", false).unwrap();
        assert_eq!(extracted.parameters, ["item", "qty"]);
        let out = apply(source, &extracted);
        assert_eq!(
            out,
            "from .util import rate\n\n\ndef price(item, qty):\n    base = item.cents * qty\n    return base + tax(item, qty)\n\n\ndef tax(item, qty):\n    return round(item.cents * qty * rate(item), 2)\n"
        );
        // Into a method: `self` is the receiver, not a parameter.
        let cart = "class Cart:\n    def total(self, tax):\n        return sum(p.cents for p in self.items) * (100 + tax) // 100\n";
        let selection = Selection::Expression {
            def_start: cart.find("def total").unwrap(),
            text: "sum(p.cents for p in self.items)".into(),
        };
        let extracted = extract(cart, &selection, "subtotal", true).unwrap();
        assert_eq!(
            apply(cart, &extracted),
            "class Cart:\n    def total(self, tax):\n        return self.subtotal() * (100 + tax) // 100\n\n    def subtotal(self):\n        return sum(p.cents for p in self.items)\n"
        );
        // Twice in the function: which one is not guessed.
        let twice = Selection::Expression {
            def_start,
            text: "item.cents * qty".into(),
        };
        let error = extract(source, &twice, "cost", false).unwrap_err();
        assert!(error.contains("occurs 2 times"), "{error}");
    }

    #[test]
    fn closures_pass_their_names_and_nonlocal_writes_are_refused() {
        let source = "def outer(a):\n    def inner(b):\n        nonlocal a\n        c = a + b\n        a = c\n        return c\n    return inner\n";
        let refused = lines(source, 5, 5, "h", false).unwrap_err();
        assert!(refused.contains("declares nonlocal"), "{refused}");
        let out = lines(source, 4, 4, "h", false).unwrap();
        assert!(out.contains("        c = h(a, b)\n"), "{out}");
    }
}

/// Extraction over real code (the standard library sample and the PyPI
/// corpora): every result compiles, and Python's own symbol tables agree
/// that no local of the original function is read unbound in the new
/// function (a missed parameter) or after the call (a missed return).
#[cfg(test)]
mod real_code {
    use super::*;

    #[test]
    fn extractions_from_real_code_compile_and_keep_every_name_bound() {
        let files = super::super::testing::real_code(6, 2);
        let mut cases = Vec::new();
        let (mut refused, mut tried) = (0, 0);
        for (path, source) in &files {
            let Some(tree) = parse(source) else { continue };
            if super::super::syntax_errors(&tree) > 0 {
                continue;
            }
            let mut functions = Vec::new();
            let mut stack = vec![tree.root_node()];
            while let Some(node) = stack.pop() {
                if node.kind() == "function_definition" {
                    functions.push(node);
                }
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
            for function in functions.into_iter().take(40) {
                let Some(body) = function.child_by_field_name("body") else {
                    continue;
                };
                let mut cursor = body.walk();
                let statements: Vec<Node> = body
                    .named_children(&mut cursor)
                    .filter(|s| s.kind() != "comment")
                    .collect();
                if statements.len() < 4 {
                    continue;
                }
                let (first, last) = (statements[1], statements[2]);
                let selection = Selection::Lines {
                    first: first.start_position().row + 1,
                    last: last.end_position().row + 1,
                };
                tried += 1;
                match extract(source, &selection, "orch_extracted", false) {
                    Ok(extracted) => {
                        let mut edited = source.clone();
                        let mut edits = extracted.edits.clone();
                        edits.sort_by_key(|e| std::cmp::Reverse(e.start));
                        for edit in edits {
                            edited.replace_range(edit.start..edit.end, &edit.new);
                        }
                        cases.push(serde_json::json!({
                            "path": path,
                            "source": source,
                            "edited": edited,
                            "function": extracted.function,
                            "line": function.start_position().row + 1,
                            "selection": format!("{}-{}", first.start_position().row + 1, last.end_position().row + 1),
                        }));
                    }
                    Err(_) => refused += 1,
                }
            }
        }
        eprintln!(
            "{tried} extractions tried, {} made, {refused} refused",
            cases.len()
        );
        assert!(cases.len() > 300, "{} extractions made", cases.len());
        let checker = r#"
import json, sys, symtable
def tables(table):
    yield table
    for child in table.get_children():
        yield from tables(child)
def find(table, name, line):
    for t in tables(table):
        if t.get_type() == "function" and t.get_name() == name and t.get_lineno() == line:
            return t
bad = []
for case in json.load(sys.stdin):
    what = f"{case['path']}:{case['selection']} ({case['function']})"
    try:
        compile(case["edited"], case["path"], "exec")
        new = symtable.symtable(case["edited"], case["path"], "exec")
        old = symtable.symtable(case["source"], case["path"], "exec")
    except SyntaxError as error:
        bad.append(f"{what}: does not compile: {error}")
        continue
    original = find(old, case["function"], case["line"])
    after = find(new, case["function"], case["line"])
    made = [t for t in tables(new) if t.get_type() == "function" and t.get_name() == "orch_extracted"]
    if original is None or after is None or len(made) != 1:
        bad.append(f"{what}: tables not found")
        continue
    locals_ = {s.get_name() for s in original.get_symbols() if s.is_local() or s.is_parameter()}
    for s in made[0].get_symbols():
        if s.is_referenced() and not (s.is_local() or s.is_parameter()) and s.get_name() in locals_:
            bad.append(f"{what}: `{s.get_name()}` is read in the new function but not passed")
    for s in after.get_symbols():
        if s.is_referenced() and s.get_name() in locals_ and not (s.is_local() or s.is_parameter()):
            bad.append(f"{what}: `{s.get_name()}` is read after the call but no longer bound")
print(json.dumps(bad))
"#;
        let bad = super::super::testing::python_check(checker, &cases);
        assert!(
            bad.is_empty(),
            "{} of {}:\n{}",
            bad.len(),
            cases.len(),
            bad.join("\n")
        );
    }
}
