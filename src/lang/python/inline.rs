//! Inline variable: a local assigned once, at the top level of its
//! function's body, is replaced by its value at every use, and the
//! assignment goes.
//!
//! Refused, with the reason, whenever the value could change meaning on
//! the way: another binding of the name in the function (a second
//! assignment, `+=`, a loop or `with` target, `global`, `nonlocal`, `del`,
//! a walrus, an import, a parameter, a nested scope that binds it), a use
//! before the assignment, a value that calls, awaits or yields used at
//! more than one place (it would run more than once) or moved past code
//! that runs between (calls, assignments), a value whose names are bound
//! again before a use, and a use inside an f-string the value's quotes
//! would end.

use tree_sitter::Node;

use super::{parse, text};
use crate::edit::Edit;

/// The edits that inline `name` in the function whose `def` starts at
/// byte `def_start` of `source`, or why it cannot be done.
pub(crate) fn inline_variable(
    source: &str,
    def_start: usize,
    name: &str,
) -> Result<Vec<Edit>, String> {
    let tree = parse(source).ok_or("the file cannot be parsed")?;
    let bytes = source.as_bytes();
    let def = tree
        .root_node()
        .descendant_for_byte_range(def_start, def_start)
        .and_then(|n| {
            let mut node = Some(n);
            while let Some(current) = node {
                if current.kind() == "function_definition" {
                    return Some(current);
                }
                node = current.parent();
            }
            None
        })
        .ok_or("no function there")?;
    let body = def
        .child_by_field_name("body")
        .ok_or("the function has no body")?;
    if def
        .child_by_field_name("parameters")
        .is_some_and(|parameters| identifiers(parameters, bytes, name).next().is_some())
    {
        return Err(format!(
            "`{name}` is a parameter of the function, not a local"
        ));
    }
    // The one assignment: `NAME = value` (or `NAME: T = value`), a
    // statement of the body's own block.
    let mut assignments = Vec::new();
    let mut cursor = body.walk();
    for statement in body.named_children(&mut cursor) {
        if statement.kind() != "expression_statement" || statement.named_child_count() != 1 {
            continue;
        }
        let Some(assignment) = statement
            .named_child(0)
            .filter(|a| a.kind() == "assignment")
        else {
            continue;
        };
        let left = assignment.child_by_field_name("left");
        if left.is_some_and(|l| l.kind() == "identifier" && text(l, bytes) == name) {
            assignments.push((statement, assignment));
        }
    }
    let (statement, assignment) = match assignments.as_slice() {
        [one] => *one,
        [] => {
            return Err(format!(
                "`{name}` is not assigned by a statement of its own at the top level of the function's body"
            ));
        }
        many => {
            return Err(format!(
                "`{name}` is assigned {} times in the function; orch inlines a local assigned once",
                many.len()
            ));
        }
    };
    let value = assignment
        .child_by_field_name("right")
        .filter(|v| v.kind() != "assignment")
        .ok_or_else(|| format!("`{name}` is assigned together with other names"))?;
    // Every other occurrence of the name in the body must be a plain read.
    let mut uses = Vec::new();
    for ident in identifiers(body, bytes, name) {
        if ident.id() == assignment.child_by_field_name("left").map_or(0, |l| l.id()) {
            continue;
        }
        let parent = ident.parent().ok_or("a name without a parent")?;
        let line = ident.start_position().row + 1;
        // `obj.NAME` and `f(NAME=...)` are other names.
        if parent.kind() == "attribute" && parent.child_by_field_name("attribute") == Some(ident) {
            continue;
        }
        if parent.kind() == "keyword_argument" && parent.child_by_field_name("name") == Some(ident)
        {
            continue;
        }
        if let Some(why) = binding(ident, parent) {
            return Err(format!(
                "line {line}: `{name}` is {why} there; orch inlines a local bound once"
            ));
        }
        if ident.start_byte() < statement.end_byte() {
            return Err(format!(
                "line {line}: `{name}` is used before it is assigned"
            ));
        }
        if let Some(scope) = nested_scope_binding(ident, body, bytes, name) {
            return Err(format!(
                "line {line}: a nested {scope} binds `{name}` of its own"
            ));
        }
        uses.push(ident);
    }
    let effects = has_effects(value);
    if effects && uses.len() > 1 {
        return Err(format!(
            "the value of `{name}` calls, awaits or yields, and is used at {} places: inlined, it would run {} times",
            uses.len(),
            uses.len()
        ));
    }
    // `buf = []` read twice: each use would make an object of its own,
    // and what one use changes the other would no longer see.
    if uses.len() > 1 && makes_objects(value) {
        return Err(format!(
            "the value of `{name}` makes a new object (a list, dict, set, comprehension, lambda or generator), and is used at {} places: inlined, each would get its own",
            uses.len()
        ));
    }
    if effects && uses.is_empty() {
        return Err(format!(
            "`{name}` is never used, but its value calls, awaits or yields: deleting it would change what runs"
        ));
    }
    // Between the assignment and each use, nothing may rebind what the
    // value reads, and a value with effects may not move past code that
    // has some.
    let reads: Vec<&str> = identifier_texts(value, bytes);
    for ident in &uses {
        let between = (statement.end_byte(), ident.start_byte());
        let mut cursor = body.walk();
        for other in body.named_children(&mut cursor) {
            if other.end_byte() <= between.0 || other.start_byte() >= between.1 {
                continue;
            }
            let part = (
                other.start_byte().max(between.0),
                other.end_byte().min(between.1),
            );
            if let Some(rebound) = reads.iter().find(|r| rebinds(other, bytes, r, part)) {
                return Err(format!(
                    "`{rebound}`, which the value of `{name}` reads, is assigned before line {}",
                    ident.start_position().row + 1
                ));
            }
            if effects && has_effects_in(other, part, Some(ident.start_byte())) {
                return Err(format!(
                    "the value of `{name}` calls, awaits or yields, and code with effects runs between it and its use on line {}",
                    ident.start_position().row + 1
                ));
            }
        }
    }
    let value_text = text(value, bytes);
    let atomic = matches!(
        value.kind(),
        "identifier"
            | "integer"
            | "float"
            | "string"
            | "concatenated_string"
            | "true"
            | "false"
            | "none"
            | "call"
            | "attribute"
            | "subscript"
            | "parenthesized_expression"
            | "list"
            | "dictionary"
            | "set"
            | "tuple"
            | "list_comprehension"
            | "dictionary_comprehension"
            | "set_comprehension"
            | "generator_expression"
    );
    let replacement = if atomic {
        value_text.to_owned()
    } else {
        format!("({value_text})")
    };
    let mut edits = Vec::new();
    for ident in &uses {
        if fstring_quote(*ident, bytes).is_some_and(|quote| replacement.contains(quote)) {
            return Err(format!(
                "line {}: the use is inside an f-string whose quotes the value's would end",
                ident.start_position().row + 1
            ));
        }
        edits.push(Edit::new(
            source,
            ident.start_byte(),
            ident.end_byte(),
            &replacement,
        ));
    }
    edits.push(statement_deletion(source, statement));
    edits.sort_by_key(|e| e.start);
    Ok(edits)
}

/// The identifiers `name` under `node`.
fn identifiers<'t>(
    node: Node<'t>,
    bytes: &'t [u8],
    name: &'t str,
) -> impl Iterator<Item = Node<'t>> {
    let mut stack = vec![node];
    std::iter::from_fn(move || {
        while let Some(current) = stack.pop() {
            let mut cursor = current.walk();
            let children: Vec<Node> = current.named_children(&mut cursor).collect();
            stack.extend(children.into_iter().rev());
            if current.kind() == "identifier" && text(current, bytes) == name {
                return Some(current);
            }
        }
        None
    })
}

/// The texts of every identifier under `node`.
fn identifier_texts<'a>(node: Node, bytes: &'a [u8]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        if current.kind() == "identifier" {
            out.push(text(current, bytes));
        }
        let mut cursor = current.walk();
        stack.extend(current.named_children(&mut cursor));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// What binds the name at `ident` (whose parent is `parent`), if anything.
fn binding(ident: Node, parent: Node) -> Option<&'static str> {
    let is_left = |field: &str| parent.child_by_field_name(field) == Some(ident);
    match parent.kind() {
        "assignment" if is_left("left") => Some("assigned again"),
        "augmented_assignment" if is_left("left") => Some("updated (`+=` and the like)"),
        "named_expression" if is_left("name") => Some("assigned by `:=`"),
        "for_statement" | "for_in_clause" if is_left("left") => Some("a loop target"),
        "global_statement" => Some("declared `global`"),
        "nonlocal_statement" => Some("declared `nonlocal`"),
        "delete_statement" => Some("deleted"),
        "as_pattern_target" | "as_pattern" => Some("bound by `as`"),
        "pattern_list" | "tuple_pattern" | "list_pattern" => Some("an unpacking target"),
        "dotted_name" | "aliased_import" => Some("imported"),
        "except_clause" => Some("bound by `except ... as`"),
        _ => None,
    }
}

/// A nested function, class or lambda that binds `name` (a parameter, or
/// an assignment of its own), between `ident` and the body.
fn nested_scope_binding(ident: Node, body: Node, bytes: &[u8], name: &str) -> Option<&'static str> {
    let mut node = ident.parent();
    while let Some(current) = node {
        if current.id() == body.id() {
            return None;
        }
        match current.kind() {
            "function_definition" | "lambda"
                if current
                    .child_by_field_name("parameters")
                    .is_some_and(|p| identifiers(p, bytes, name).next().is_some()) =>
            {
                return Some("function");
            }
            "class_definition" => return Some("class"),
            _ => {}
        }
        node = current.parent();
    }
    None
}

/// Whether evaluating `node` makes a mutable object or a function: a list,
/// dict or set display, a comprehension, a generator or a lambda.
fn makes_objects(node: Node) -> bool {
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        if matches!(
            current.kind(),
            "list"
                | "dictionary"
                | "set"
                | "list_comprehension"
                | "dictionary_comprehension"
                | "set_comprehension"
                | "generator_expression"
                | "lambda"
        ) {
            return true;
        }
        let mut cursor = current.walk();
        stack.extend(current.named_children(&mut cursor));
    }
    false
}

/// Whether evaluating `node` may call, await or yield.
fn has_effects(node: Node) -> bool {
    has_effects_in(node, (node.start_byte(), node.end_byte()), None)
}

/// [`has_effects`] for the part of `node` within `range`; a node around
/// the byte `around` (the use: a call whose argument it is runs after its
/// arguments are evaluated) counts only for its parts before it.
fn has_effects_in(node: Node, range: (usize, usize), around: Option<usize>) -> bool {
    let mut stack = vec![node];
    while let Some(current) = stack.pop() {
        if current.end_byte() <= range.0 || current.start_byte() >= range.1 {
            continue;
        }
        let encloses =
            around.is_some_and(|at| current.start_byte() <= at && at < current.end_byte());
        if !encloses
            && matches!(
                current.kind(),
                "call"
                    | "await"
                    | "yield"
                    | "assignment"
                    | "augmented_assignment"
                    | "named_expression"
                    | "delete_statement"
                    | "raise_statement"
            )
        {
            return true;
        }
        let mut cursor = current.walk();
        stack.extend(current.named_children(&mut cursor));
    }
    false
}

/// Whether the part `range` of `node` binds `name` again.
fn rebinds(node: Node, bytes: &[u8], name: &str, range: (usize, usize)) -> bool {
    identifiers(node, bytes, name).any(|ident| {
        ident.start_byte() >= range.0
            && ident.end_byte() <= range.1
            && ident.parent().is_some_and(|p| binding(ident, p).is_some())
    })
}

/// The quote character of the f-string `ident` is interpolated in: text
/// written there may not hold it (nor a backslash) before Python 3.12.
pub(crate) fn fstring_quote(ident: Node, bytes: &[u8]) -> Option<char> {
    let mut node = ident.parent();
    while let Some(current) = node {
        if current.kind() == "string" {
            let start = text(current, bytes);
            return start
                .trim_start_matches(|c: char| c.is_ascii_alphabetic())
                .chars()
                .next();
        }
        node = current.parent();
    }
    None
}

/// The statement's lines (a statement alone on them).
fn statement_deletion(source: &str, statement: Node) -> Edit {
    let start = source[..statement.start_byte()]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let end = source[statement.end_byte()..]
        .find('\n')
        .map_or(source.len(), |i| statement.end_byte() + i + 1);
    Edit::new(source, start, end, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline(source: &str, name: &str) -> Result<String, String> {
        let edits = inline_variable(source, 0, name)?;
        crate::edit::apply(source, &edits).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn a_local_assigned_once_is_replaced_by_its_value() {
        assert_eq!(
            inline(
                "def total(items, rate):\n    base = sum(items)\n    return base * rate + base.real\n",
                "base"
            ),
            Err("the value of `base` calls, awaits or yields, and is used at 2 places: inlined, it would run 2 times".into())
        );
        assert_eq!(
            inline(
                "def total(items, rate):\n    tax = rate + 1\n    print('x', tax)\n    return [i * tax for i in items]\n",
                "tax"
            )
            .unwrap(),
            "def total(items, rate):\n    print('x', (rate + 1))\n    return [i * (rate + 1) for i in items]\n"
        );
        // A call used once, nothing with effects in between.
        assert_eq!(
            inline(
                "def f(a):\n    b = g(a)\n    c = 1\n    return b\n",
                "b"
            ),
            Err("the value of `b` calls, awaits or yields, and code with effects runs between it and its use on line 4".into())
        );
        assert_eq!(
            inline("def f(a):\n    b = g(a)\n    return h(b, key=1)\n", "b").unwrap(),
            "def f(a):\n    return h(g(a), key=1)\n"
        );
    }

    #[test]
    fn what_could_change_meaning_is_refused() {
        let refused = |source: &str, name: &str| inline(source, name).unwrap_err();
        assert!(
            refused("def f():\n    x = 1\n    x += 1\n    return x\n", "x").contains("updated")
        );
        assert!(
            refused("def f():\n    x = 1\n    x = 2\n    return x\n", "x")
                .contains("assigned 2 times")
        );
        assert!(refused("def f(x):\n    return x\n", "x").contains("a parameter"));
        assert!(
            refused("def f(a):\n    if a:\n        x = 1\n    return x\n", "x")
                .contains("top level")
        );
        assert!(
            refused("def f(a):\n    x = a\n    a = 2\n    return x\n", "x")
                .contains("`a`, which the value of `x` reads, is assigned")
        );
        assert!(
            refused("def f():\n    print(x)\n    x = 1\n    return x\n", "x")
                .contains("used before")
        );
        assert!(
            refused(
                "def f():\n    x = 1\n    for x in range(3):\n        pass\n    return x\n",
                "x"
            )
            .contains("a loop target")
        );
        assert!(
            refused("def f():\n    x = 'a'\n    return f'{x}' + f\"{x}\"\n", "x")
                .contains("f-string")
        );
        // A fresh object shared by two uses (click's progress bar: a list
        // appended to, then joined).
        assert!(
            refused(
                "def f(a):\n    bits = []\n    bits.append(a)\n    return ' '.join(bits)\n",
                "bits"
            )
            .contains("each would get its own")
        );
        // Attributes and keywords of the same name are other names.
        assert_eq!(
            inline("def f(o):\n    x = 2\n    return o.x + g(x=x)\n", "x").unwrap(),
            "def f(o):\n    return o.x + g(x=2)\n"
        );
    }
}
