//! Inline function: a module-level function whose body is one `return
//! EXPR` (after an optional docstring) is replaced, at each call, by EXPR
//! with the call's arguments bound to its parameters. A body of plain
//! statements that returns no value is placed where a call that is a
//! statement of its own stands, when its arguments are names or literals,
//! the names it assigns are free there and it assigns no parameter.
//!
//! Refused for the function, with the reason: decorators, `async`,
//! `*args`/`**kwargs`, a body other than one `return`, a body that calls
//! the function itself, or that binds a parameter's name in a lambda or
//! comprehension. Refused at one call, with the reason (the function then
//! stays): `*x`/`**x` arguments, arguments that do not bind, a default
//! that is not a literal (it was evaluated once, at definition), an
//! argument with effects that would run more than once, not at all, in
//! another order or conditionally, a name of the body that means
//! something else where the call is, and a name of the body defined in
//! the function's module, at a call in another module.

use std::collections::{BTreeMap, BTreeSet};

use tree_sitter::Node;

use super::inline::fstring_quote;
use super::scope::{Binding, FileModel, Resolution, Role};
use super::{parse, text};
use crate::edit::Edit;

#[derive(Debug, Clone)]
pub(crate) struct Parameter {
    pub name: String,
    /// After `*`: keyword only.
    pub keyword_only: bool,
    /// The default's text (a literal).
    pub default: Option<String>,
    /// The default is not a literal: a call must pass the parameter.
    pub computed_default: bool,
}

/// The function's one expression, read once.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub name: String,
    pub parameters: Vec<Parameter>,
    /// The returned expression's text.
    pub expression: String,
    /// Where the parameters occur in it: (start, end relative to the
    /// expression, parameter index, inside a part that may not run or may
    /// run many times).
    pub uses: Vec<(usize, usize, usize, bool)>,
    /// For the uses inside an f-string's braces (by start): the string's
    /// quote, which an argument's text may not hold there (before Python
    /// 3.12), nor a backslash.
    pub quoted_uses: BTreeMap<usize, char>,
    /// Where calls of the body end (relative): an argument with effects
    /// must be evaluated before them, as it was.
    pub call_ends: Vec<usize>,
    /// Names bound inside it (comprehension variables, lambda parameters).
    pub inner_bound: BTreeSet<String>,
    /// Other names it reads: builtins or the module's globals.
    pub free: BTreeSet<String>,
    /// The expression needs no parentheses anywhere.
    pub atomic: bool,
    /// The expression is a bare tuple (`a, b`).
    pub bare_tuple: bool,
    /// The `def` statement's byte range (with its decorators).
    pub statement: (usize, usize),
    /// A body of statements (no value returned), placed where a call that
    /// is a statement of its own stands: the names it assigns, which must
    /// be free there, and its statements' indentation; `None` for one
    /// `return` expression.
    pub statements: Option<Placed>,
}

/// A body of statements, as [`Body::expression`] holds its text.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub locals: BTreeSet<String>,
    /// The indentation of the body's lines.
    pub indent: String,
    /// Offsets (relative) of line starts inside multi-line strings: their
    /// text stays as it is.
    pub in_strings: Vec<usize>,
}

const ATOMIC: &[&str] = &[
    "identifier",
    "attribute",
    "call",
    "subscript",
    "parenthesized_expression",
    "list",
    "dictionary",
    "set",
    "tuple",
    "string",
    "concatenated_string",
    "integer",
    "float",
    "true",
    "false",
    "none",
    "list_comprehension",
    "set_comprehension",
    "dictionary_comprehension",
    "generator_expression",
];

/// Reads the function whose `def` starts at `def_start` of `source`.
pub(crate) fn body_of(source: &str, def_start: usize) -> Result<Body, String> {
    let tree = parse(source).ok_or("the file cannot be parsed")?;
    let bytes = source.as_bytes();
    let mut function = tree
        .root_node()
        .descendant_for_byte_range(def_start, def_start)
        .ok_or("no function there")?;
    while function.kind() != "function_definition" {
        function = function.parent().ok_or("no function there")?;
    }
    let name = function
        .child_by_field_name("name")
        .map(|n| text(n, bytes).to_owned())
        .unwrap_or_default();
    let statement = match function.parent() {
        Some(p) if p.kind() == "decorated_definition" => {
            return Err(format!(
                "`{name}` is decorated: its calls go through the decorator"
            ));
        }
        _ => function,
    };
    if function.child(0).is_some_and(|c| text(c, bytes) == "async") {
        return Err(format!("`{name}` is async: its calls give awaitables"));
    }
    // Parameters.
    let mut parameters = Vec::new();
    let mut keyword_only = false;
    if let Some(list) = function.child_by_field_name("parameters") {
        let mut cursor = list.walk();
        for parameter in list.named_children(&mut cursor) {
            let (name_node, default) = match parameter.kind() {
                "identifier" => (Some(parameter), None),
                "typed_parameter" => (parameter.named_child(0), None),
                "default_parameter" | "typed_default_parameter" => (
                    parameter.child_by_field_name("name"),
                    parameter.child_by_field_name("value"),
                ),
                "keyword_separator" => {
                    keyword_only = true;
                    continue;
                }
                "positional_separator" => continue,
                "list_splat_pattern" | "dictionary_splat_pattern" => {
                    return Err(format!(
                        "`{name}` takes `{}`: orch does not bind variable arguments",
                        text(parameter, bytes)
                    ));
                }
                "comment" => continue,
                other => {
                    return Err(format!(
                        "`{name}` has a parameter orch does not read ({other})"
                    ));
                }
            };
            let name_node = name_node
                .filter(|n| n.kind() == "identifier")
                .ok_or_else(|| format!("`{name}` has a parameter orch does not read"))?;
            let literal = default.is_some_and(is_literal);
            parameters.push(Parameter {
                name: text(name_node, bytes).to_owned(),
                keyword_only,
                default: default
                    .filter(|d| is_literal(*d))
                    .map(|d| text(d, bytes).to_owned()),
                computed_default: default.is_some() && !literal,
            });
        }
    }
    // The body: [docstring] return EXPR.
    let block = function
        .child_by_field_name("body")
        .ok_or("the function has no body")?;
    let mut cursor = block.walk();
    let statements: Vec<Node> = block
        .named_children(&mut cursor)
        .filter(|s| s.kind() != "comment")
        .collect();
    let statements: Vec<Node> = match statements.as_slice() {
        [first, rest @ ..]
            if first.kind() == "expression_statement"
                && first.named_child(0).is_some_and(|s| s.kind() == "string")
                && !rest.is_empty() =>
        {
            rest.to_vec()
        }
        all => all.to_vec(),
    };
    // One `return EXPR`, or statements that return no value (a last bare
    // `return` goes).
    let (region, placed): (Vec<Node>, bool) = match statements.as_slice() {
        [only] if only.kind() == "return_statement" => match only.named_child(0) {
            Some(expression) => (vec![expression], false),
            None => return Err(format!("`{name}` returns nothing")),
        },
        all => {
            let mut all = all.to_vec();
            if all
                .last()
                .is_some_and(|l| l.kind() == "return_statement" && l.named_child_count() == 0)
            {
                all.pop();
            }
            if all.is_empty() {
                return Err(format!("`{name}` does nothing"));
            }
            (all, true)
        }
    };
    let expression = region[0];
    let base = expression.start_byte();
    let region_end = region.last().map_or(base, |n| n.end_byte());
    // The names the statements bind: they land in the caller's scope.
    let mut locals = BTreeSet::new();
    if placed {
        let mut stack: Vec<Node> = region.clone();
        while let Some(node) = stack.pop() {
            let line = node.start_position().row + 1;
            match node.kind() {
                "return_statement" => {
                    return Err(format!(
                        "the body of `{name}` returns at line {line} before its end: it cannot be placed where the call is"
                    ));
                }
                "global_statement"
                | "nonlocal_statement"
                | "function_definition"
                | "class_definition"
                | "try_statement"
                | "with_statement" => {
                    return Err(format!(
                        "the body of `{name}` has a `{}` (line {line}): orch places bodies of plain statements",
                        node.kind()
                            .trim_end_matches("_statement")
                            .trim_end_matches("_definition")
                    ));
                }
                "assignment" | "augmented_assignment" | "for_statement" => {
                    if let Some(left) = node.child_by_field_name("left") {
                        let mut targets = vec![left];
                        while let Some(t) = targets.pop() {
                            match t.kind() {
                                "identifier" => {
                                    locals.insert(text(t, bytes).to_owned());
                                }
                                "pattern_list" | "tuple_pattern" | "list_pattern"
                                | "expression_list" | "tuple" | "list" => {
                                    let mut c = t.walk();
                                    targets.extend(t.named_children(&mut c));
                                }
                                _ => {}
                            }
                        }
                    }
                }
                "import_statement" | "import_from_statement" | "delete_statement" => {
                    return Err(format!(
                        "the body of `{name}` has a `{}` (line {line}): orch places bodies of plain statements",
                        node.kind().trim_end_matches("_statement")
                    ));
                }
                _ => {}
            }
            if matches!(node.kind(), "lambda") {
                continue;
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        if let Some(p) = parameters.iter().find(|p| locals.contains(&p.name)) {
            return Err(format!(
                "the body of `{name}` assigns its parameter `{}`: placed, that would assign the caller's argument",
                p.name
            ));
        }
    }
    let mut uses = Vec::new();
    let mut quoted_uses = BTreeMap::new();
    let mut call_ends = Vec::new();
    let mut inner_bound = BTreeSet::new();
    let mut free = BTreeSet::new();
    // (node, conditional)
    let mut stack: Vec<(Node, bool)> = region.iter().map(|n| (*n, false)).collect();
    while let Some((node, conditional)) = stack.pop() {
        match node.kind() {
            "yield" | "await" | "named_expression" => {
                return Err(format!(
                    "the body of `{name}` has `{}`",
                    match node.kind() {
                        "named_expression" => ":=",
                        other => other,
                    }
                ));
            }
            "call" => call_ends.push(node.end_byte() - base),
            "lambda"
            | "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => bound_names(node, bytes, &mut inner_bound),
            _ => {}
        }
        if node.kind() == "identifier" {
            let parent = node.parent();
            let is_attribute_name = parent.is_some_and(|p| {
                p.kind() == "attribute" && p.child_by_field_name("attribute") == Some(node)
            });
            let is_keyword = parent.is_some_and(|p| {
                p.kind() == "keyword_argument" && p.child_by_field_name("name") == Some(node)
            });
            if !is_attribute_name && !is_keyword {
                let word = text(node, bytes);
                if word == name {
                    return Err(format!("`{name}` calls itself"));
                }
                if let Some(index) = parameters.iter().position(|p| p.name == word) {
                    if let Some(quote) = fstring_quote(node, bytes) {
                        quoted_uses.insert(node.start_byte() - base, quote);
                    }
                    uses.push((
                        node.start_byte() - base,
                        node.end_byte() - base,
                        index,
                        conditional,
                    ));
                } else {
                    free.insert(word.to_owned());
                }
            }
        }
        // Parts that may not run, or run many times.
        let mut cursor = node.walk();
        let children: Vec<Node> = node.named_children(&mut cursor).collect();
        for (i, child) in children.iter().enumerate() {
            let may_skip = match node.kind() {
                "boolean_operator" => i > 0,
                "conditional_expression" => i != 1,
                "lambda"
                | "list_comprehension"
                | "set_comprehension"
                | "dictionary_comprehension"
                | "generator_expression" => true,
                _ => false,
            };
            stack.push((*child, conditional || may_skip));
        }
    }
    if let Some(shadowed) = parameters.iter().find(|p| inner_bound.contains(&p.name)) {
        return Err(format!(
            "the body of `{name}` binds `{}` again (in a lambda or comprehension)",
            shadowed.name
        ));
    }
    for bound in inner_bound.iter().chain(&locals) {
        free.remove(bound);
    }
    uses.sort_unstable();
    let statements = placed.then(|| {
        let line_start = source[..base].rfind('\n').map_or(0, |i| i + 1);
        let mut in_strings = Vec::new();
        let mut strings = vec![function];
        while let Some(node) = strings.pop() {
            if node.kind() == "string" {
                for (i, _) in source[node.start_byte()..node.end_byte()].match_indices('\n') {
                    let at = node.start_byte() + i + 1;
                    if at > base && at < region_end {
                        in_strings.push(at - base);
                    }
                }
                continue;
            }
            let mut cursor = node.walk();
            strings.extend(node.named_children(&mut cursor));
        }
        Placed {
            locals: locals.clone(),
            indent: source[line_start..base].to_owned(),
            in_strings,
        }
    });
    Ok(Body {
        statements,
        name,
        parameters,
        expression: source[base..region_end].to_owned(),
        uses,
        quoted_uses,
        call_ends,
        inner_bound,
        free,
        atomic: ATOMIC.contains(&expression.kind()),
        bare_tuple: expression.kind() == "expression_list",
        statement: (statement.start_byte(), statement.end_byte()),
    })
}

/// Names a lambda or comprehension binds (its parameters, its `for`
/// targets).
fn bound_names(node: Node, source: &[u8], out: &mut BTreeSet<String>) {
    let mut targets = Vec::new();
    if node.kind() == "lambda" {
        if let Some(parameters) = node.child_by_field_name("parameters") {
            targets.push(parameters);
        }
    } else {
        let mut cursor = node.walk();
        for clause in node.named_children(&mut cursor) {
            if clause.kind() == "for_in_clause"
                && let Some(left) = clause.child_by_field_name("left")
            {
                targets.push(left);
            }
        }
    }
    while let Some(target) = targets.pop() {
        if target.kind() == "identifier" {
            out.insert(text(target, source).to_owned());
            continue;
        }
        let mut cursor = target.walk();
        targets.extend(target.named_children(&mut cursor));
    }
}

fn is_literal(node: Node) -> bool {
    match node.kind() {
        "integer" | "float" | "true" | "false" | "none" => true,
        "string" => {
            let mut cursor = node.walk();
            !node
                .named_children(&mut cursor)
                .any(|c| c.kind() == "interpolation")
        }
        "unary_operator" => node.named_child(0).is_some_and(is_literal),
        _ => false,
    }
}

/// An argument that can be evaluated any number of times, or not at all:
/// a name, a literal, or attributes of a name.
fn is_trivial(node: Node) -> bool {
    match node.kind() {
        "identifier" => true,
        "attribute" => node.child_by_field_name("object").is_some_and(is_trivial),
        "parenthesized_expression" => node.named_child(0).is_some_and(is_trivial),
        _ => is_literal(node),
    }
}

/// The module-level absolute imports of a file: the name each binds, and
/// what (two modules that import the same thing under the same name see
/// it the same way).
pub(crate) fn absolute_imports(model: &FileModel) -> BTreeMap<String, String> {
    model
        .imports
        .iter()
        .filter(|record| record.scope == 0)
        .filter_map(|record| {
            let what = match &record.binding {
                Binding::Module { module } => format!("import {module}"),
                Binding::From { module, name, .. } if module.dots == 0 => {
                    format!("from {} import {name}", module.name)
                }
                _ => return None,
            };
            Some((record.bound.clone(), what))
        })
        .collect()
}

/// The edit that replaces `call` (a call of the function, in `source`) by
/// the body with the arguments bound. `same_module`: the call is in the
/// function's own module; `module_names`: the names that module defines
/// at its top level; `shared`: those of them this module imports the same
/// way (`from itertools import islice` in both).
#[allow(clippy::too_many_arguments)]
pub(crate) fn inline_call(
    body: &Body,
    source: &str,
    model: &FileModel,
    call: Node,
    call_scope: usize,
    same_module: bool,
    module_names: &BTreeSet<String>,
    shared: &BTreeSet<String>,
) -> Result<Edit, String> {
    let bytes = source.as_bytes();
    let arguments = call
        .child_by_field_name("arguments")
        .ok_or("a call without arguments")?;
    if arguments.kind() != "argument_list" {
        return Err("a call with a generator argument".into());
    }
    let mut bound: Vec<Option<Node>> = vec![None; body.parameters.len()];
    let mut positional = 0;
    let mut cursor = arguments.walk();
    let mut order: Vec<usize> = Vec::new();
    for argument in arguments.named_children(&mut cursor) {
        match argument.kind() {
            "comment" => continue,
            "list_splat" | "dictionary_splat" => {
                return Err(format!("the call passes `{}`", text(argument, bytes)));
            }
            "keyword_argument" => {
                let key = argument
                    .child_by_field_name("name")
                    .map(|n| text(n, bytes))
                    .unwrap_or("");
                let index = body
                    .parameters
                    .iter()
                    .position(|p| p.name == key)
                    .ok_or_else(|| {
                        format!(
                            "the call passes `{key}=`, which `{}` does not take",
                            body.name
                        )
                    })?;
                if bound[index].is_some() {
                    return Err(format!("the call passes `{key}` twice"));
                }
                bound[index] = argument.child_by_field_name("value");
                order.push(index);
            }
            _ => {
                while positional < body.parameters.len() && body.parameters[positional].keyword_only
                {
                    positional += 1;
                }
                if positional >= body.parameters.len() || body.parameters[positional].keyword_only {
                    return Err(format!(
                        "the call passes more arguments than `{}` takes",
                        body.name
                    ));
                }
                bound[positional] = Some(argument);
                order.push(positional);
                positional += 1;
            }
        }
    }
    // What each parameter becomes.
    let mut values: Vec<String> = Vec::new();
    let mut effectful: Vec<usize> = Vec::new();
    for (index, parameter) in body.parameters.iter().enumerate() {
        let uses: Vec<&(usize, usize, usize, bool)> =
            body.uses.iter().filter(|u| u.2 == index).collect();
        let value = match bound[index] {
            Some(node) => {
                if !is_trivial(node) {
                    if uses.len() != 1 {
                        return Err(format!(
                            "the argument for `{}` has effects and the body uses it {} times",
                            parameter.name,
                            uses.len()
                        ));
                    }
                    if uses[0].3 {
                        return Err(format!(
                            "the argument for `{}` has effects and the body may not evaluate it, or evaluate it many times",
                            parameter.name
                        ));
                    }
                    effectful.push(index);
                }
                // Names of the argument must not be captured by the body.
                let mut stack = vec![node];
                while let Some(n) = stack.pop() {
                    if n.kind() == "identifier" && body.inner_bound.contains(text(n, bytes)) {
                        return Err(format!(
                            "the argument for `{}` names `{}`, which the body binds in a comprehension or lambda",
                            parameter.name,
                            text(n, bytes)
                        ));
                    }
                    let mut c = n.walk();
                    stack.extend(n.named_children(&mut c));
                }
                let written = text(node, bytes);
                if ATOMIC.contains(&node.kind()) || is_literal(node) {
                    written.to_owned()
                } else {
                    format!("({written})")
                }
            }
            None if parameter.computed_default => {
                return Err(format!(
                    "the call leaves `{}` to its default, which is computed once where `{}` is defined",
                    parameter.name, body.name
                ));
            }
            None => match &parameter.default {
                Some(default) => default.clone(),
                None => return Err(format!("the call does not pass `{}`", parameter.name)),
            },
        };
        values.push(value);
    }
    // Effects keep their order: the arguments with effects appear in the
    // body in the order they were passed, and no call of the body runs
    // before one of them.
    let call_order: Vec<usize> = order
        .iter()
        .copied()
        .filter(|i| effectful.contains(i))
        .collect();
    let body_order: Vec<usize> = body
        .uses
        .iter()
        .map(|u| u.2)
        .filter(|i| effectful.contains(i))
        .collect();
    if call_order != body_order {
        return Err("the call's arguments with effects would run in another order".into());
    }
    if let Some(last) = body
        .uses
        .iter()
        .filter(|u| effectful.contains(&u.2))
        .map(|u| u.0)
        .max()
        && body.call_ends.iter().any(|end| *end <= last)
    {
        return Err("the body calls something before an argument with effects runs".into());
    }
    // The body's other names mean the same where the call is.
    for name in &body.free {
        let here = model.resolve(name, call_scope);
        let defined = module_names.contains(name);
        let ok = match (same_module, defined) {
            (true, true) => here == Resolution::Scope(0),
            (true, false) | (false, false) => here == Resolution::Free,
            (false, true) => shared.contains(name) && here == Resolution::Scope(0),
        };
        if !ok {
            return Err(if !same_module && defined {
                format!(
                    "the body uses `{name}`, defined in `{}`'s module, which this module does not see the same way",
                    body.name
                )
            } else {
                format!("the body uses `{name}`, which means something else here")
            });
        }
    }
    // The text.
    let mut expression = String::new();
    let mut at = 0;
    for (start, end, index, _) in &body.uses {
        if let Some(quote) = body.quoted_uses.get(start)
            && (values[*index].contains(*quote) || values[*index].contains('\\'))
        {
            return Err(format!(
                "the argument for `{}` would be written inside an f-string of the body whose quotes (`{quote}`) it uses",
                body.parameters[*index].name
            ));
        }
        expression.push_str(&body.expression[at..*start]);
        expression.push_str(&values[*index]);
        at = *end;
    }
    expression.push_str(&body.expression[at..]);
    if let Some(placed) = &body.statements {
        return place(
            body, placed, source, model, call, call_scope, &bound, &values,
        );
    }
    let bare_context = call.parent().is_some_and(|p| {
        matches!(
            p.kind(),
            "expression_statement" | "return_statement" | "parenthesized_expression"
        ) || p.kind() == "assignment" && p.child_by_field_name("right") == Some(call)
            || matches!(p.kind(), "argument_list" | "keyword_argument") && !body.bare_tuple
    });
    let replacement = if body.atomic || bare_context && !body.bare_tuple {
        expression
    } else {
        format!("({expression})")
    };
    // Inside an f-string's braces, before Python 3.12, the text may not
    // hold a backslash or the string's own quote.
    if let Some(quote) = fstring_quote(call, bytes)
        && (replacement.contains(quote) || replacement.contains('\\') || replacement.contains('#'))
    {
        return Err(format!(
            "the call is inside an f-string whose quotes (`{quote}`) the body's text would end"
        ));
    }
    Ok(Edit::new(
        source,
        call.start_byte(),
        call.end_byte(),
        &replacement,
    ))
}

/// A body of statements placed where `call` (a statement of its own)
/// stands: its arguments must be names or literals (they are written at
/// each use), the names it assigns free there, and its lines indented as
/// the call's (lines inside multi-line strings stay as they are).
#[allow(clippy::too_many_arguments)]
fn place(
    body: &Body,
    placed: &Placed,
    source: &str,
    model: &FileModel,
    call: Node,
    call_scope: usize,
    bound: &[Option<Node>],
    values: &[String],
) -> Result<Edit, String> {
    let statement = call
        .parent()
        .filter(|p| p.kind() == "expression_statement" && p.named_child_count() == 1)
        .ok_or_else(|| {
            format!(
                "the body of `{}` is statements: only a call that is a statement of its own can take them",
                body.name
            )
        })?;
    if let Some((index, _)) = bound
        .iter()
        .enumerate()
        .find(|(_, b)| b.is_some_and(|n| !is_trivial(n)))
    {
        return Err(format!(
            "the argument for `{}` is not a name or a literal, and the body's statements would evaluate it where it is used",
            body.parameters[index].name
        ));
    }
    for local in &placed.locals {
        if model.resolve(local, call_scope) != Resolution::Free
            || model
                .occurrences
                .iter()
                .any(|o| o.name == *local && model.is_within(o.scope, call_scope))
        {
            return Err(format!(
                "the body assigns `{local}`, which the caller already uses"
            ));
        }
    }
    let line_start = source[..statement.start_byte()]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let indent = &source[line_start..statement.start_byte()];
    if !indent.trim().is_empty() {
        return Err("the call shares its line with other code".into());
    }
    let eol = if source.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    // Line by line over the body's own text: each use replaced by its
    // value, each line re-indented unless it starts inside a string.
    let mut out = String::new();
    let mut at = 0;
    let text = &body.expression;
    for (i, raw) in text.split('\n').enumerate() {
        let line_end = at + raw.len();
        let mut line = String::new();
        let mut from = at;
        for (start, end, index, _) in body.uses.iter().filter(|u| u.0 >= at && u.0 < line_end) {
            line.push_str(&text[from..*start]);
            line.push_str(&values[*index]);
            from = *end;
        }
        line.push_str(&text[from..line_end]);
        let line = line.strip_suffix('\r').unwrap_or(&line).to_owned();
        if i > 0 {
            out.push_str(eol);
            if placed.in_strings.contains(&at) {
                out.push_str(&line);
            } else if !line.trim().is_empty() {
                out.push_str(indent);
                out.push_str(
                    line.strip_prefix(placed.indent.as_str())
                        .unwrap_or(line.trim_start()),
                );
            }
        } else {
            out.push_str(&line);
        }
        at = line_end + 1;
    }
    Ok(Edit::new(
        source,
        statement.start_byte(),
        statement.end_byte(),
        &out,
    ))
}

/// The scope of the occurrence of `name` starting at `start` in `model`.
pub(crate) fn scope_at(model: &FileModel, start: usize) -> Option<usize> {
    model
        .occurrences
        .iter()
        .find(|o| o.start == start && matches!(o.role, Role::Reference | Role::Attribute { .. }))
        .map(|o| o.scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inline_all(source: &str, function: &str) -> Result<String, Vec<String>> {
        let def_start = source.find(&format!("def {function}")).unwrap();
        let body = body_of(source, def_start).map_err(|e| vec![e])?;
        let tree = parse(source).unwrap();
        let mut names: Vec<&str> = body.free.iter().map(String::as_str).collect();
        names.push(function);
        if let Some(placed) = &body.statements {
            names.extend(placed.locals.iter().map(String::as_str));
        }
        let model = FileModel::build(&tree, source, &names);
        let module_names: BTreeSet<String> = model.scopes[0].bound.iter().cloned().collect();
        let mut edits = Vec::new();
        let mut errors = Vec::new();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            if node.kind() == "call"
                && node
                    .child_by_field_name("function")
                    .is_some_and(|f| text(f, source.as_bytes()) == function)
            {
                let start = node.start_byte();
                let scope = scope_at(&model, start).unwrap();
                match inline_call(
                    &body,
                    source,
                    &model,
                    node,
                    scope,
                    true,
                    &module_names,
                    &BTreeSet::new(),
                ) {
                    Ok(edit) => edits.push(edit),
                    Err(e) => errors.push(format!("{}: {e}", node.start_position().row + 1)),
                }
                continue;
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        if !errors.is_empty() {
            errors.sort();
            return Err(errors);
        }
        edits.sort_by_key(|e| e.start);
        Ok(crate::edit::apply(source, &edits).unwrap())
    }

    #[test]
    fn calls_get_the_body_with_arguments_bound() {
        let source = "def area(w, h=2):\n    \"\"\"The area.\"\"\"\n    return w * h\n\n\ndef use(a, b):\n    x = area(a, b)\n    y = area(a + 1)\n    z = area(h=b, w=a) ** 2\n    return area(w=len(a))\n";
        let out = inline_all(source, "area").unwrap();
        assert_eq!(
            out,
            "def area(w, h=2):\n    \"\"\"The area.\"\"\"\n    return w * h\n\n\ndef use(a, b):\n    x = a * b\n    y = (a + 1) * 2\n    z = (a * b) ** 2\n    return len(a) * 2\n"
        );
    }

    #[test]
    fn effects_keep_their_count_order_and_condition() {
        let twice = "def sq(x):\n    return x * x\n\n\ndef use(f):\n    return sq(f())\n";
        let errors = inline_all(twice, "sq").unwrap_err();
        assert!(
            errors[0].contains("has effects and the body uses it 2 times"),
            "{errors:?}"
        );
        let cond =
            "def pick(c, x):\n    return c and x\n\n\ndef use(f):\n    return pick(True, f())\n";
        let errors = inline_all(cond, "pick").unwrap_err();
        assert!(errors[0].contains("may not evaluate it"), "{errors:?}");
        let order =
            "def sub(a, b):\n    return b - a\n\n\ndef use(f, g):\n    return sub(f(), g())\n";
        let errors = inline_all(order, "sub").unwrap_err();
        assert!(errors[0].contains("another order"), "{errors:?}");
        let before = "def add(a):\n    return log() + a\n\n\ndef use(f):\n    return add(f())\n";
        let errors = inline_all(before, "add").unwrap_err();
        assert!(errors[0].contains("calls something before"), "{errors:?}");
        let fine = "def add(a):\n    return a + log()\n\n\ndef use(f):\n    return add(f())\n";
        assert_eq!(
            inline_all(fine, "add").unwrap(),
            "def add(a):\n    return a + log()\n\n\ndef use(f):\n    return f() + log()\n"
        );
    }

    #[test]
    fn a_body_of_statements_is_placed_where_the_call_is_a_statement() {
        let source = "def log_both(a, b):\n    \"\"\"Doc.\"\"\"\n    print(a)\n    total = a + b\n    print(f\"{total}\", \"\"\"x\n  y\"\"\")\n    return\n\n\ndef use(x):\n    log_both(x, 2)\n    if x:\n        log_both(x, b=x)\n";
        let out = inline_all(source, "log_both").unwrap();
        assert_eq!(
            out,
            "def log_both(a, b):\n    \"\"\"Doc.\"\"\"\n    print(a)\n    total = a + b\n    print(f\"{total}\", \"\"\"x\n  y\"\"\")\n    return\n\n\ndef use(x):\n    print(x)\n    total = x + 2\n    print(f\"{total}\", \"\"\"x\n  y\"\"\")\n    if x:\n        print(x)\n        total = x + x\n        print(f\"{total}\", \"\"\"x\n  y\"\"\")\n"
        );
        let refused = |source: &str| inline_all(source, "log").unwrap_err().join("; ");
        let body = "def log(a):\n    print(a)\n    print(a)\n\n\n";
        assert!(
            refused(&format!("{body}y = log(1)\n"))
                .contains("only a call that is a statement of its own")
        );
        let once = "def log(a):\n    print(a)\n    print(2)\n\n\nlog(x + 1)\n";
        assert!(refused(once).contains("not a name or a literal"));
        let local = "def log(a):\n    seen = a\n    print(seen)\n\n\ndef g(seen):\n    log(1)\n";
        assert!(refused(local).contains("assigns `seen`, which the caller already uses"));
        let rebinds = "def log(a):\n    a = a + 1\n    print(a)\n\n\nlog(1)\n";
        assert!(refused(rebinds).contains("assigns its parameter `a`"));
        let early = "def log(a):\n    if a:\n        return\n    print(a)\n\n\nlog(1)\n";
        assert!(refused(early).contains("returns at line 3 before its end"));
    }

    #[test]
    fn what_cannot_be_inlined_says_why() {
        let refused = |source: &str, f: &str| inline_all(source, f).unwrap_err().join("; ");
        assert!(refused("@cache\ndef f(x):\n    return x\n", "f").contains("decorated"));
        assert!(
            refused("def f(x):\n    y = x\n    return y\n\n\nf(1)\n", "f")
                .contains("returns at line 3 before its end")
        );
        assert!(refused("def f(*xs):\n    return xs\n", "f").contains("variable arguments"));
        assert!(refused("def f(x):\n    return f(x)\n", "f").contains("calls itself"));
        assert!(
            refused("def f(x=[]):\n    return x\n\n\ny = f()\n", "f").contains("computed once")
        );
        assert!(refused("def f(x):\n    return x\n\n\ny = f(*z)\n", "f").contains("passes `*z`"));
        // A local of the caller shadows a global of the body.
        let shadow = "LIMIT = 3\n\n\ndef f(x):\n    return min(x, LIMIT)\n\n\ndef g(x):\n    LIMIT = 5\n    return f(x)\n";
        assert!(refused(shadow, "f").contains("`LIMIT`, which means something else here"));
        // An argument written into the body's f-string with its quotes.
        let quoted = "def f(op):\n    return f'a {op} b'\n\n\ny = f('==')\nz = f(\"!=\")\n";
        assert!(refused(quoted, "f").contains("inside an f-string of the body whose quotes (`'`)"));
        // A comprehension variable would capture the argument's name.
        let capture =
            "def f(x):\n    return [x for i in range(3)]\n\n\ndef g(i):\n    return f(i)\n";
        assert!(refused(capture, "f").contains("binds in a comprehension"));
    }
}

/// Inlining over real code (the standard library sample and the PyPI
/// corpora): every function of one `return` is inlined at each call of
/// its own module that allows it, and every result compiles.
#[cfg(test)]
mod real_code {
    use super::*;

    #[test]
    fn inlining_real_functions_gives_code_that_compiles() {
        let files = super::super::testing::real_code(3, 1);
        let mut cases = Vec::new();
        let (mut functions, mut inlined, mut kept) = (0, 0, 0);
        for (path, source) in &files {
            let Some(tree) = parse(source) else { continue };
            if super::super::syntax_errors(&tree) > 0 {
                continue;
            }
            let bytes = source.as_bytes();
            let mut cursor = tree.root_node().walk();
            let defs: Vec<Node> = tree
                .root_node()
                .named_children(&mut cursor)
                .filter(|n| n.kind() == "function_definition")
                .collect();
            for def in defs {
                let Ok(body) = body_of(source, def.start_byte()) else {
                    continue;
                };
                functions += 1;
                let mut names: Vec<&str> = body.free.iter().map(String::as_str).collect();
                names.push(&body.name);
                let model = FileModel::build(&tree, source, &names);
                let module_names = model.scopes[0].bound.clone();
                let mut edits = Vec::new();
                let mut stack = vec![tree.root_node()];
                while let Some(node) = stack.pop() {
                    if node.kind() == "call"
                        && node.start_byte() >= body.statement.1
                        && node.child_by_field_name("function").is_some_and(|f| {
                            f.kind() == "identifier" && text(f, bytes) == body.name
                        })
                    {
                        let scope = scope_at(&model, node.start_byte()).unwrap_or(0);
                        match inline_call(
                            &body,
                            source,
                            &model,
                            node,
                            scope,
                            true,
                            &module_names,
                            &BTreeSet::new(),
                        ) {
                            Ok(edit) => edits.push(edit),
                            Err(_) => kept += 1,
                        }
                        continue;
                    }
                    let mut cursor = node.walk();
                    stack.extend(node.named_children(&mut cursor));
                }
                if edits.is_empty() {
                    continue;
                }
                inlined += edits.len();
                edits.sort_by_key(|e| e.start);
                // Calls inside calls of the same function: the outer one only.
                let mut outer: Vec<Edit> = Vec::new();
                for edit in edits {
                    if outer.last().is_some_and(|o| o.end > edit.start) {
                        continue;
                    }
                    outer.push(edit);
                }
                let edited = crate::edit::apply(source, &outer).unwrap();
                cases.push(serde_json::json!({
                    "what": format!("{path}: {}", body.name),
                    "edited": edited,
                }));
            }
        }
        eprintln!(
            "{functions} inlinable functions, {inlined} calls inlined in {} modules, {kept} left",
            cases.len()
        );
        assert!(inlined > 100, "{inlined} calls inlined");
        let checker = r#"
import json, sys
bad = []
for case in json.load(sys.stdin):
    try:
        compile(case["edited"], case["what"], "exec")
    except SyntaxError as error:
        bad.append(f"{case['what']}: {error}")
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
