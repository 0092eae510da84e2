//! Receivers from return types: a call of a function annotated `-> C`
//! (`Optional[C]`, `C | None`, `"C"`), or whose every `return` builds a
//! `C(...)`, gives an instance of `C`; a method of a family class that
//! returns `self` (`-> Self`, `cls(...)`, `type(self)(...)`, or the class
//! by name) on every path keeps a chain on the family (`Cart().add(x)
//! .total()`).

use super::*;

/// The `return_statement`s of a function body (not of functions, classes
/// and lambdas nested in it), or `None` if it is a generator.
fn returns(body: Node) -> Option<Vec<Node>> {
    let mut out = Vec::new();
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "return_statement" => out.push(node),
            "yield" => return None,
            "function_definition" | "class_definition" | "lambda" if node != body => continue,
            _ => {}
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
    Some(out)
}

/// The class of the elements of a collection an annotation names:
/// `list[C]`, `Sequence[C]`, `tuple[C, ...]`, `Iterable[C]`, `set[C]`.
fn annotated_collection(
    node: Node,
    source: &[u8],
    names: &BTreeMap<String, ClassId>,
) -> Option<ClassId> {
    let node = if node.kind() == "type" {
        node.named_child(0)?
    } else {
        node
    };
    if !matches!(node.kind(), "subscript" | "generic_type") {
        return None;
    }
    let mut cursor = node.walk();
    let children: Vec<Node> = node.named_children(&mut cursor).collect();
    let head = text(*children.first()?, source);
    let last = head.rsplit('.').next().unwrap_or(head);
    if !COLLECTIONS.contains(&last) {
        return None;
    }
    let first = children.get(1)?;
    let first = if first.kind() == "type_parameter" {
        first.named_child(0)?
    } else {
        *first
    };
    annotated(first, source, names)
}

/// The expression an annotation names a class with: `C`, `m.C`, `"C"`,
/// `Optional[C]`, `C | None`, `Union[C, None]`.
fn annotated(node: Node, source: &[u8], names: &BTreeMap<String, ClassId>) -> Option<ClassId> {
    match node.kind() {
        "type" => annotated(node.named_child(0)?, source, names),
        "identifier" | "attribute" => resolve_expr(node, source, names),
        "string" => {
            let inner = text(node, source).trim_matches(|c| c == '"' || c == '\'');
            names.get(inner).filter(|(_, n)| n != "module:").cloned()
        }
        "binary_operator" => {
            let sides: Vec<Node> = ["left", "right"]
                .iter()
                .filter_map(|f| node.child_by_field_name(f))
                .filter(|n| text(*n, source) != "None")
                .collect();
            match sides.as_slice() {
                [one] => annotated(*one, source, names),
                _ => None,
            }
        }
        "subscript" | "generic_type" => {
            let mut cursor = node.walk();
            let children: Vec<Node> = node.named_children(&mut cursor).collect();
            let head = text(*children.first()?, source);
            let arguments: Vec<Node> = children
                .iter()
                .skip(1)
                .flat_map(|c| {
                    // `Optional[C]`: the slice may be wrapped (`type_parameter`).
                    let mut cursor = c.walk();
                    let inner: Vec<Node> = c.named_children(&mut cursor).collect();
                    if c.kind() == "type_parameter" {
                        inner
                    } else {
                        vec![*c]
                    }
                })
                .filter(|n| text(*n, source) != "None")
                .collect();
            let optional = head.ends_with("Optional") || head.ends_with("Union");
            match arguments.as_slice() {
                [one] if optional => annotated(*one, source, names),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The class every `return` of `function` builds with `C(...)`.
fn built(function: Node, source: &[u8], names: &BTreeMap<String, ClassId>) -> Option<ClassId> {
    let returns = returns(function.child_by_field_name("body")?)?;
    let mut class = None;
    for statement in &returns {
        let value = statement.named_child(0)?;
        if value.kind() != "call" {
            return None;
        }
        let id = resolve_expr(value.child_by_field_name("function")?, source, names)?;
        if class.as_ref().is_some_and(|c| *c != id) {
            return None;
        }
        class = Some(id);
    }
    class
}

/// Module-level functions of a file whose calls give an instance of a
/// class: (function name, the class as the file's names resolve it).
pub(super) fn function_returns(
    root: Node,
    source: &[u8],
    names: &BTreeMap<String, ClassId>,
) -> Vec<(String, ClassId)> {
    let mut out = Vec::new();
    for function in super::hierarchy::statements(root) {
        if function.kind() != "function_definition" {
            continue;
        }
        let Some(name) = function.child_by_field_name("name") else {
            continue;
        };
        let class = match function.child_by_field_name("return_type") {
            Some(annotation) => annotated(annotation, source, names),
            None => built(function, source, names),
        };
        if let Some(class) = class {
            out.push((text(name, source).to_owned(), class));
        }
    }
    out
}

/// Methods of `class` (a class node named `class_name`) whose calls give an
/// instance of the class itself, or of a class `is_family` accepts.
pub(super) fn chaining_methods(
    class: Node,
    class_name: &str,
    source: &[u8],
    names: &BTreeMap<String, ClassId>,
    is_family: &dyn Fn(&ClassId) -> bool,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for method in super::hierarchy::body_statements(class) {
        if method.kind() != "function_definition" {
            continue;
        }
        let (Some(name), Some(receiver)) = (
            method.child_by_field_name("name"),
            first_parameter(method, source),
        ) else {
            continue;
        };
        // `-> list[C]` and the like: calls give a collection of the
        // family (noted `[]name`).
        if let Some(annotation) = method.child_by_field_name("return_type")
            && annotated_collection(annotation, source, names).is_some_and(|id| is_family(&id))
        {
            out.insert(container(text(name, source)));
        }
        let chains = match method.child_by_field_name("return_type") {
            Some(annotation) => {
                let shown = text(annotation, source).trim_matches(|c| c == '"' || c == '\'');
                shown == "Self"
                    || shown.ends_with(".Self")
                    || shown == class_name
                    || annotated(annotation, source, names).is_some_and(|id| is_family(&id))
            }
            None => method
                .child_by_field_name("body")
                .and_then(returns)
                .is_some_and(|returns| {
                    !returns.is_empty()
                        && returns.iter().all(|r| {
                            r.named_child(0)
                                .is_some_and(|v| is_self(v, &receiver, class_name, source))
                        })
                }),
        };
        if chains {
            out.insert(text(name, source).to_owned());
        }
    }
    out
}

/// `self`, `cls(...)`, `type(self)(...)`, `self.__class__(...)`,
/// `Class(...)`, or a copy of `self`: `replace(self, ...)`,
/// `evolve(self, ...)`, `copy(self)`, `deepcopy(self)` (plain or through
/// their modules), `self._replace(...)`.
fn is_self(value: Node, receiver: &str, class_name: &str, source: &[u8]) -> bool {
    match value.kind() {
        "identifier" => text(value, source) == receiver,
        "call" => value.child_by_field_name("function").is_some_and(|f| {
            let called = text(f, source);
            let first_argument = value
                .child_by_field_name("arguments")
                .and_then(|a| a.named_child(0))
                .map(|a| text(a, source));
            called == receiver
                || called == class_name
                || called == format!("type({receiver})")
                || called == format!("{receiver}.__class__")
                || called == format!("{receiver}._replace")
                || is_copier(called) && first_argument == Some(receiver)
        }),
        _ => false,
    }
}
