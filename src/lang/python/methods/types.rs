//! What the walk knows about types: which expressions are family
//! instances or classes (`self`, `cls`, `super()`, class names, instances,
//! annotated parameters and attributes, return types, copies, `isinstance`
//! narrowing) and which are collections of them.

use super::*;

impl Walker<'_> {
    /// Whether a type annotation names a family class: `C`, `"C"`,
    /// `m.C`, `C | None`, `Optional[C]`.
    pub(super) fn annotation_is_family(&self, node: Node) -> bool {
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
    pub(super) fn typed_parameters(&self, function: Node, out: &mut BTreeSet<String>) {
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
            {
                if self.annotation_is_family(annotation) {
                    out.insert(text(name, self.source).to_owned());
                } else if self.container_of_family(annotation) {
                    out.insert(container(text(name, self.source)));
                }
            }
        }
    }

    /// Whether a type annotation is a collection of a family class:
    /// `list[C]`, `Sequence[C]`, `Iterable[C]`, `tuple[C, ...]`, `set[C]`
    /// (also under `Optional[...]` or `| None`).
    pub(super) fn container_of_family(&self, node: Node) -> bool {
        match node.kind() {
            "type" => node
                .named_child(0)
                .is_some_and(|n| self.container_of_family(n)),
            "binary_operator" => ["left", "right"].iter().any(|f| {
                node.child_by_field_name(f)
                    .is_some_and(|n| self.container_of_family(n))
            }),
            "subscript" | "generic_type" => {
                let mut cursor = node.walk();
                let children: Vec<Node> = node.named_children(&mut cursor).collect();
                let head = children
                    .first()
                    .map(|h| text(*h, self.source))
                    .unwrap_or("");
                let last = head.rsplit('.').next().unwrap_or(head);
                // The type arguments: `type_parameter` holds them in
                // annotations, the subscript's other children elsewhere.
                let arguments: Vec<Node> = children
                    .iter()
                    .skip(1)
                    .flat_map(|c| {
                        if c.kind() == "type_parameter" {
                            let mut cursor = c.walk();
                            c.named_children(&mut cursor).collect::<Vec<_>>()
                        } else {
                            vec![*c]
                        }
                    })
                    .collect();
                if last == "Optional" {
                    return arguments.iter().any(|a| self.container_of_family(*a));
                }
                COLLECTIONS.contains(&last)
                    && arguments
                        .first()
                        .is_some_and(|a| self.annotation_is_family(*a))
            }
            _ => false,
        }
    }

    /// Whether `node` is known to be a collection of family instances: a
    /// name or `self.attr` annotated so, a slice of one, `list(...)`,
    /// `tuple(...)`, `sorted(...)`, `reversed(...)` of one, or `a + b` of
    /// two.
    pub(super) fn is_container(&self, node: Node, ctx: &Context) -> bool {
        match node.kind() {
            "identifier" => ctx.instances.contains(&container(text(node, self.source))),
            "attribute" => {
                node.child_by_field_name("object")
                    .is_some_and(|o| ctx.self_name.as_deref() == Some(text(o, self.source)))
                    && node
                        .child_by_field_name("attribute")
                        .is_some_and(|a| ctx.self_typed.contains(&container(text(a, self.source))))
            }
            "subscript" => {
                node.child_by_field_name("subscript")
                    .is_some_and(|s| s.kind() == "slice")
                    && node
                        .child_by_field_name("value")
                        .is_some_and(|v| self.is_container(v, ctx))
            }
            // A method of the family annotated `-> list[C]`.
            "call"
                if node.child_by_field_name("function").is_some_and(|f| {
                    f.kind() == "attribute"
                        && f.child_by_field_name("attribute").is_some_and(|a| {
                            self.family_methods
                                .contains(&container(text(a, self.source)))
                        })
                }) =>
            {
                node.child_by_field_name("function")
                    .and_then(|f| f.child_by_field_name("object"))
                    .is_some_and(|o| self.is_known(o, ctx))
            }
            "call" => {
                node.child_by_field_name("function").is_some_and(|f| {
                    matches!(
                        text(f, self.source),
                        "list" | "tuple" | "sorted" | "reversed" | "set" | "frozenset"
                    )
                }) && node
                    .child_by_field_name("arguments")
                    .and_then(|a| a.named_child(0))
                    .is_some_and(|a| self.is_container(a, ctx))
            }
            "binary_operator" => {
                node.child_by_field_name("operator")
                    .is_some_and(|o| text(o, self.source) == "+")
                    && ["left", "right"].iter().all(|f| {
                        node.child_by_field_name(f)
                            .is_some_and(|n| self.is_container(n, ctx))
                    })
            }
            "parenthesized_expression" => node
                .named_child(0)
                .is_some_and(|n| self.is_container(n, ctx)),
            _ => false,
        }
    }

    /// `isinstance(X, C)` (or a tuple of family classes) with a name `X`:
    /// the name.
    pub(super) fn isinstance_of_family(&self, condition: Node) -> Option<String> {
        let condition = if condition.kind() == "parenthesized_expression" {
            condition.named_child(0)?
        } else {
            condition
        };
        if condition.kind() != "call"
            || condition
                .child_by_field_name("function")
                .map(|f| text(f, self.source))
                != Some("isinstance")
        {
            return None;
        }
        let arguments = condition.child_by_field_name("arguments")?;
        let mut cursor = arguments.walk();
        let args: Vec<Node> = arguments.named_children(&mut cursor).collect();
        let [subject, classes] = args.as_slice() else {
            return None;
        };
        if subject.kind() != "identifier" {
            return None;
        }
        let family = if classes.kind() == "tuple" {
            let mut cursor = classes.walk();
            let all: Vec<Node> = classes.named_children(&mut cursor).collect();
            !all.is_empty() && all.iter().all(|c| self.is_family(*c))
        } else {
            self.is_family(*classes)
        };
        family.then(|| text(*subject, self.source).to_owned())
    }

    /// After `if not isinstance(X, C): <return|raise|continue|break>`, `X`
    /// is a family instance for the rest of the block.
    pub(super) fn narrowed_after(&self, statement: Node) -> Option<String> {
        if statement.kind() != "if_statement"
            || statement.child_by_field_name("alternative").is_some()
        {
            return None;
        }
        let condition = statement.child_by_field_name("condition")?;
        if condition.kind() != "not_operator" {
            return None;
        }
        let name = self.isinstance_of_family(condition.child_by_field_name("argument")?)?;
        let body = statement.child_by_field_name("consequence")?;
        let mut cursor = body.walk();
        let last = body
            .named_children(&mut cursor)
            .filter(|c| c.kind() != "comment")
            .last()?;
        matches!(
            last.kind(),
            "return_statement" | "raise_statement" | "continue_statement" | "break_statement"
        )
        .then_some(name)
    }

    /// For every class of the file, its attributes annotated with a family
    /// class: `attr: C` in the class body and `self.attr: C = ...` in its
    /// methods, plus those of the classes it derives from in this file.
    pub(super) fn typed_attributes(&self, root: Node) -> BTreeMap<usize, BTreeSet<String>> {
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
            for definition in super::hierarchy::body_statements(*class) {
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
                        // `self.x = p` with a parameter `p: C`.
                        let mut typed = BTreeSet::new();
                        self.typed_parameters(definition, &mut typed);
                        for node in scope_assignments(body) {
                            self.typed_assignment(node, Some(&receiver), &mut attrs);
                            if let (Some(left), Some(right)) = (
                                node.child_by_field_name("left"),
                                node.child_by_field_name("right"),
                            ) && right.kind() == "identifier"
                                && left.kind() == "attribute"
                                && left
                                    .child_by_field_name("object")
                                    .is_some_and(|o| text(o, self.source) == receiver)
                                && let Some(attribute) = left.child_by_field_name("attribute")
                            {
                                let value = text(right, self.source);
                                let attribute = text(attribute, self.source);
                                if typed.contains(value) {
                                    attrs.insert(attribute.to_owned());
                                } else if typed.contains(&container(value)) {
                                    attrs.insert(container(attribute));
                                }
                            }
                        }
                    }
                    _ => {}
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
    pub(super) fn typed_assignment(
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
        if let Some(name) = name {
            if self.annotation_is_family(annotation) {
                out.insert(text(name, self.source).to_owned());
            } else if self.container_of_family(annotation) {
                out.insert(container(text(name, self.source)));
            }
        }
    }

    pub(super) fn is_static(&self, function: Node) -> bool {
        is_static_method(function, self.source)
    }

    /// Names assigned `FamilyClass(...)` or `FamilyClass` in a body, or
    /// anything [`Walker::is_known`] knows to be a family instance (the
    /// result of a call that returns one, `a + b` of family instances).
    pub(super) fn collect_instances(&self, body: Node, ctx: &Context, out: &mut BTreeSet<String>) {
        let assignments: Vec<(Node, Node)> = scope_assignments(body)
            .into_iter()
            .filter_map(|node| {
                let left = node.child_by_field_name("left")?;
                let right = node.child_by_field_name("right")?;
                (left.kind() == "identifier").then_some((left, right))
            })
            .collect();
        let loops = scope_loops(body);
        // Instances made from instances (`b = replace(a)`), in any order:
        // a few rounds, each knowing what the last found.
        let mut known = ctx.clone();
        for _ in 0..4 {
            let before = out.len();
            for (left, right) in &assignments {
                let class = if right.kind() == "call" {
                    right.child_by_field_name("function")
                } else {
                    Some(*right)
                };
                if class.is_some_and(|c| self.is_family(c)) || self.is_known(*right, &known) {
                    out.insert(text(*left, self.source).to_owned());
                } else if self.is_container(*right, &known) {
                    out.insert(container(text(*left, self.source)));
                }
            }
            // `for x in <collection of family instances>`.
            for (target, iterable) in &loops {
                if self.is_container(*iterable, &known) {
                    out.insert(text(*target, self.source).to_owned());
                }
            }
            if out.len() == before {
                break;
            }
            known.instances.extend(out.iter().cloned());
        }
    }

    /// Whether a call gives a family instance: a function whose return
    /// type (or every `return`) is a family class, or a chaining method of
    /// the family on a known receiver.
    pub(super) fn returns_family(&self, call: Node, ctx: &Context) -> bool {
        let Some(function) = call.child_by_field_name("function") else {
            return false;
        };
        let by_name = resolve_expr(function, self.source, &self.names)
            .is_some_and(|id| self.family_functions.contains(&id));
        // Calling a family instance whose `__call__` gives one.
        let called = self.family_methods.contains("__call__")
            && !self.is_family(function)
            && self.is_known(function, ctx);
        by_name
            || called
            || function.kind() == "attribute"
                && function
                    .child_by_field_name("attribute")
                    .is_some_and(|a| self.family_methods.contains(text(a, self.source)))
                && function
                    .child_by_field_name("object")
                    .is_some_and(|o| self.is_known(o, ctx))
    }

    /// A call that gives a copy of a known instance: `copy.copy(x)`,
    /// `copy.deepcopy(x)`, `dataclasses.replace(x, ...)`,
    /// `attrs.evolve(x, ...)` and `x._replace(...)`.
    pub(super) fn copies_known(&self, function: Node, call: Node, ctx: &Context) -> bool {
        let callee = text(function, self.source);
        let last = callee.rsplit('.').next().unwrap_or(callee);
        if last == "_replace" && function.kind() == "attribute" {
            return function
                .child_by_field_name("object")
                .is_some_and(|o| self.is_known(o, ctx));
        }
        is_copier(callee)
            && call
                .child_by_field_name("arguments")
                .and_then(|a| a.named_child(0))
                .filter(|a| a.kind() != "keyword_argument")
                .is_some_and(|a| self.is_known(a, ctx))
    }

    /// Whether `object` is known to be a family instance or class.
    pub(super) fn is_known(&self, object: Node, ctx: &Context) -> bool {
        let receiver = text(object, self.source);
        match object.kind() {
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
                // `object.__new__(cls)`, `super().__new__(cls)` with the
                // family method's own receiver.
                let allocates = function.is_some_and(|f| {
                    f.kind() == "attribute"
                        && f.child_by_field_name("attribute")
                            .is_some_and(|a| text(a, self.source) == "__new__")
                }) && object
                    .child_by_field_name("arguments")
                    .and_then(|a| a.named_child(0))
                    .is_some_and(|first| {
                        first.kind() == "identifier"
                            && ctx.receiver.as_deref() == Some(text(first, self.source))
                    });
                (is_super && ctx.in_family_method)
                    || allocates
                    || function.is_some_and(|f| self.is_family(f))
                    || self.returns_family(object, ctx)
                    || function.is_some_and(|f| self.copies_known(f, object, ctx))
            }
            "parenthesized_expression" => object
                .named_child(0)
                .is_some_and(|inner| self.is_known(inner, ctx)),
            // `a[...]` whose `__getitem__` gives a family instance.
            "subscript" => {
                self.family_methods.contains("__getitem__")
                    && object
                        .child_by_field_name("value")
                        .is_some_and(|v| self.is_known(v, ctx))
                    // An element of a collection of family instances.
                    || object
                        .child_by_field_name("subscript")
                        .is_some_and(|s| s.kind() != "slice")
                        && object
                            .child_by_field_name("value")
                            .is_some_and(|v| self.is_container(v, ctx))
            }
            // `a + b` on a family instance whose `__add__` (or the right
            // operand's `__radd__`) gives a family instance, `~a`, `-a`.
            "binary_operator" => {
                let operator = object
                    .child_by_field_name("operator")
                    .map(|o| text(o, self.source));
                let Some(dunder) = operator.and_then(binary_dunder) else {
                    return false;
                };
                let side = |field: &str, method: String| {
                    self.family_methods.contains(&method)
                        && object
                            .child_by_field_name(field)
                            .is_some_and(|o| self.is_known(o, ctx))
                };
                side("left", format!("__{dunder}__")) || side("right", format!("__r{dunder}__"))
            }
            "unary_operator" => {
                let dunder = match object
                    .child_by_field_name("operator")
                    .map(|o| text(o, self.source))
                {
                    Some("~") => "__invert__",
                    Some("-") => "__neg__",
                    Some("+") => "__pos__",
                    _ => return false,
                };
                self.family_methods.contains(dunder)
                    && object
                        .child_by_field_name("argument")
                        .is_some_and(|o| self.is_known(o, ctx))
            }
            _ => false,
        }
    }
}

/// The name of the special method of a binary operator (`+` -> `add`).
fn binary_dunder(operator: &str) -> Option<&'static str> {
    Some(match operator {
        "+" => "add",
        "-" => "sub",
        "*" => "mul",
        "@" => "matmul",
        "/" => "truediv",
        "//" => "floordiv",
        "%" => "mod",
        "**" => "pow",
        "<<" => "lshift",
        ">>" => "rshift",
        "&" => "and",
        "|" => "or",
        "^" => "xor",
        _ => return None,
    })
}

/// How a collection of family instances is noted among the names of a
/// context: `[]name`.
pub(super) fn container(name: &str) -> String {
    format!("[]{name}")
}

/// `(target, iterable)` of the `for` statements of a body whose target is
/// a name, not those of functions, classes and lambdas nested in it.
fn scope_loops(body: Node) -> Vec<(Node, Node)> {
    let mut out = Vec::new();
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        if node.kind() == "for_statement"
            && let (Some(left), Some(right)) = (
                node.child_by_field_name("left"),
                node.child_by_field_name("right"),
            )
            && left.kind() == "identifier"
        {
            out.push((left, right));
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

/// The `assignment` nodes of a function body, not those of functions,
/// classes and lambdas nested in it.
pub(super) fn scope_assignments(body: Node) -> Vec<Node> {
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

pub(super) fn first_parameter(function: Node, source: &[u8]) -> Option<String> {
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
