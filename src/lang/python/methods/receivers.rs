//! The walk over a file that finds a method's sites: `def`s in family
//! classes and `X.NAME` where the receiver is known to be a family
//! instance or class (`self`, `cls`, `super()`, class names, instances,
//! annotated attributes); other receivers are uncertain.

use super::*;

#[derive(Default, Clone)]
pub(super) struct Context {
    /// Inside the body of a family class (not in a nested function).
    pub(super) in_family_body: bool,
    /// The enclosing function is a method of a family class: its first
    /// parameter is a family receiver.
    pub(super) receiver: Option<String>,
    pub(super) in_family_method: bool,
    /// Names assigned a family instance or class in the enclosing scope.
    pub(super) instances: BTreeSet<String>,
    /// Directly in the body of a class (any class).
    pub(super) in_class_body: bool,
    /// That class's attributes annotated with a family class (its own and
    /// those of the classes of this file it derives from).
    pub(super) class_typed: BTreeSet<String>,
    /// In a method (or a function nested in one): its first parameter and
    /// the class's family-typed attributes, so `self.attr.NAME` is known.
    pub(super) self_name: Option<String>,
    pub(super) self_typed: BTreeSet<String>,
    /// In a class that is neither in the family nor an ancestor of one of
    /// its classes (or in one of its methods): its `self` is no family
    /// instance.
    pub(super) unrelated: bool,
}

pub(super) struct Walker<'a> {
    pub(super) path: &'a str,
    pub(super) source: &'a [u8],
    pub(super) old: &'a str,
    pub(super) family: &'a BTreeSet<ClassId>,
    /// The class whose method is renamed (for messages).
    pub(super) target: &'a str,
    /// Per class of this file (by its node's start): its attributes
    /// annotated with a family class.
    pub(super) typed_attrs: BTreeMap<usize, BTreeSet<String>>,
    pub(super) names: BTreeMap<String, ClassId>,
    /// Every parsed file's class bindings (to follow `pkg.Class`).
    pub(super) reexports: &'a BTreeMap<&'a str, BTreeMap<String, ClassId>>,
    /// Module-level functions whose calls give a family instance.
    pub(super) family_functions: &'a BTreeSet<ClassId>,
    /// Methods of family classes whose calls give a family instance.
    pub(super) family_methods: &'a BTreeSet<String>,
    /// Family classes defined inside functions of this file, by name.
    pub(super) local_family: BTreeSet<String>,
    pub(super) member: Member,
    /// Family classes whose constructors take the fields as keywords.
    pub(super) keyword_classes: &'a BTreeSet<ClassId>,
    /// The ancestors of the family's classes (outside the family).
    pub(super) related: &'a BTreeSet<ClassId>,
    /// Where `old` and the keyword `class` occur, sorted: a function with
    /// neither holds no site and defines no family class, and its local
    /// receivers are its own, so the walk skips it.
    pub(super) marks: Vec<usize>,
    pub(super) sites: Vec<RenameSite>,
    pub(super) uncertain: Vec<Note>,
}

impl Walker<'_> {
    pub(super) fn site(&mut self, node: Node, kind: EditKind) {
        let position = node.start_position();
        self.sites.push(RenameSite {
            start: node.start_byte(),
            end: node.end_byte(),
            line: position.row + 1,
            column: position.column + 1,
            kind,
        });
    }

    pub(super) fn is_family(&self, node: Node) -> bool {
        if node.kind() == "identifier" && self.local_family.contains(text(node, self.source)) {
            return true;
        }
        self.class_of(node)
            .is_some_and(|id| self.family.contains(&id))
    }

    /// The project class an expression names (re-exports followed).
    pub(super) fn class_of(&self, node: Node) -> Option<ClassId> {
        resolve_expr(node, self.source, &self.names).map(|id| {
            self.reexports
                .get(id.0.as_str())
                .and_then(|names| names.get(&id.1))
                .filter(|i| i.1 != "module:")
                .cloned()
                .unwrap_or(id)
        })
    }

    /// An attribute's sites and notes in a call: the keyword `old=` of a
    /// field-declaring family constructor, of `obj._replace(...)`,
    /// `dataclasses.replace(obj, ...)` or `attrs.evolve(obj, ...)` on a
    /// known receiver; `getattr(obj, "old")` and its kin listed as
    /// uncertain.
    pub(super) fn attribute_call(&mut self, call: Node, ctx: &Context) {
        let (Some(function), Some(arguments)) = (
            call.child_by_field_name("function"),
            call.child_by_field_name("arguments"),
        ) else {
            return;
        };
        let mut cursor = arguments.walk();
        let args: Vec<Node> = arguments.named_children(&mut cursor).collect();
        let callee = text(function, self.source);
        let last = callee.rsplit('.').next().unwrap_or(callee);
        if matches!(callee, "getattr" | "setattr" | "hasattr" | "delattr") {
            if let Some(name) = args.get(1)
                && name.kind() == "string"
                && let Some(content) = name.named_child(1).filter(|c| c.kind() == "string_content")
                && name.named_child_count() == 3
                && text(content, self.source) == self.old
            {
                let position = content.start_position();
                let shown: String = args
                    .first()
                    .map(|a| text(*a, self.source))
                    .unwrap_or("")
                    .chars()
                    .take(40)
                    .collect();
                self.uncertain.push(Note {
                    file: self.path.to_owned(),
                    line: position.row + 1,
                    column: position.column + 1,
                    note: format!(
                        "`{callee}({shown}, \"{}\")` names the attribute in a string; left alone",
                        self.old
                    ),
                });
            }
            return;
        }
        let keywords = if self
            .class_of(function)
            .is_some_and(|id| self.keyword_classes.contains(&id))
        {
            true
        } else if last == "_replace" && function.kind() == "attribute" {
            function
                .child_by_field_name("object")
                .is_some_and(|o| self.is_known(o, ctx))
        } else if matches!(last, "replace" | "evolve") {
            self.copies_known(function, call, ctx)
        } else {
            false
        };
        if !keywords {
            return;
        }
        for argument in args {
            if argument.kind() == "keyword_argument"
                && let Some(name) = argument.child_by_field_name("name")
                && text(name, self.source) == self.old
            {
                self.site(name, EditKind::Keyword);
            }
        }
    }

    /// `__slots__` entries naming the attribute in a family class body.
    pub(super) fn slots_in(&mut self, body: Node) {
        let mut cursor = body.walk();
        let statements: Vec<Node> = body.named_children(&mut cursor).collect();
        for statement in statements {
            if statement.kind() == "expression_statement"
                && let Some(assignment) = statement.named_child(0)
                && assignment.kind() == "assignment"
                && let (Some(left), Some(right)) = (
                    assignment.child_by_field_name("left"),
                    assignment.child_by_field_name("right"),
                )
                && text(left, self.source) == "__slots__"
            {
                for entry in slot_strings(right, self.source) {
                    if text(entry, self.source) == self.old {
                        self.site(entry, EditKind::Definition);
                    }
                }
            }
        }
    }

    pub(super) fn visit(&mut self, node: Node, ctx: &Context) {
        crate::lang::deep(|| self.visit_node(node, ctx));
    }

    pub(super) fn visit_node(&mut self, node: Node, ctx: &Context) {
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
                let mut inner = Context {
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
                    unrelated: !family && !self.related.contains(&id),
                };
                if let Some(body) = node.child_by_field_name("body") {
                    if family {
                        self.definitions_in(body);
                        if self.member == Member::Attribute {
                            self.slots_in(body);
                        }
                    }
                    // Class attributes assigned a family instance, for the
                    // class body's own statements.
                    let mut instances = BTreeSet::new();
                    self.collect_instances(body, &inner, &mut instances);
                    inner.instances = instances;
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
                    unrelated: ctx.unrelated,
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
                    let mut instances = inner.instances.clone();
                    self.collect_instances(body, &inner, &mut instances);
                    inner.instances = instances;
                    self.visit(body, &inner);
                }
                // Defaults and annotations run in the enclosing scope; the
                // parameters' names are the function's own.
                if let Some(parameters) = node.child_by_field_name("parameters") {
                    let mut cursor = parameters.walk();
                    let list: Vec<Node> = parameters.named_children(&mut cursor).collect();
                    for parameter in list {
                        for field in ["value", "type"] {
                            if let Some(part) = parameter.child_by_field_name(field) {
                                self.visit(part, ctx);
                            }
                        }
                    }
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
            // Narrowing: after `if not isinstance(x, C): return`, and
            // inside `if isinstance(x, C):`, `x` is a family instance.
            "block" | "module" => {
                let mut cursor = node.walk();
                let children: Vec<Node> = node.named_children(&mut cursor).collect();
                let mut narrowed: Option<Context> = None;
                for child in children {
                    self.visit(child, narrowed.as_ref().unwrap_or(ctx));
                    if let Some(name) = self.narrowed_after(child) {
                        narrowed
                            .get_or_insert_with(|| ctx.clone())
                            .instances
                            .insert(name);
                    }
                }
            }
            "if_statement" => {
                let positive = node
                    .child_by_field_name("condition")
                    .and_then(|c| self.isinstance_of_family(c));
                let mut cursor = node.walk();
                let children: Vec<Node> = node.named_children(&mut cursor).collect();
                let consequence = node.child_by_field_name("consequence");
                for child in children {
                    match (&positive, Some(child) == consequence) {
                        (Some(name), true) => {
                            let mut inner = ctx.clone();
                            inner.instances.insert(name.clone());
                            self.visit(child, &inner);
                        }
                        _ => self.visit(child, ctx),
                    }
                }
            }
            // `isinstance(x, C) and x.NAME`: narrowed on the right.
            "boolean_operator"
                if node
                    .child_by_field_name("operator")
                    .is_some_and(|o| text(o, self.source) == "and") =>
            {
                let left = node.child_by_field_name("left");
                let right = node.child_by_field_name("right");
                if let Some(left) = left {
                    self.visit(left, ctx);
                }
                if let Some(right) = right {
                    match left.and_then(|l| self.isinstance_of_family(l)) {
                        Some(name) => {
                            let mut inner = ctx.clone();
                            inner.instances.insert(name);
                            self.visit(right, &inner);
                        }
                        None => self.visit(right, ctx),
                    }
                }
            }
            "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => {
                let mut inner: Option<Context> = None;
                let mut cursor = node.walk();
                for clause in node.named_children(&mut cursor) {
                    if clause.kind() == "for_in_clause"
                        && let (Some(left), Some(right)) = (
                            clause.child_by_field_name("left"),
                            clause.child_by_field_name("right"),
                        )
                        && left.kind() == "identifier"
                        && self.is_container(right, inner.as_ref().unwrap_or(ctx))
                    {
                        inner
                            .get_or_insert_with(|| ctx.clone())
                            .instances
                            .insert(text(left, self.source).to_owned());
                    }
                }
                let inner = inner.as_ref().unwrap_or(ctx);
                let mut cursor = node.walk();
                let children: Vec<Node> = node.named_children(&mut cursor).collect();
                for child in children {
                    self.visit(child, inner);
                }
            }
            "call" if self.member == Member::Attribute => {
                self.attribute_call(node, ctx);
                self.visit_children(node, ctx);
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

    pub(super) fn visit_children(&mut self, node: Node, ctx: &Context) {
        let mut cursor = node.walk();
        for child in node.named_children(&mut cursor) {
            self.visit(child, ctx);
        }
    }

    /// `def old` directly in a family class body.
    pub(super) fn definitions_in(&mut self, body: Node) {
        for definition in super::hierarchy::statements(body) {
            if definition.kind() == "function_definition"
                && let Some(name) = definition.child_by_field_name("name")
                && text(name, self.source) == self.old
            {
                self.site(name, EditKind::Definition);
            }
        }
    }

    pub(super) fn judge(&mut self, object: Node, attribute: Node, ctx: &Context) {
        let receiver = text(object, self.source);
        let known = self.is_known(object, ctx);
        if known {
            self.site(attribute, EditKind::Attribute);
        } else if ctx.unrelated
            && object.kind() == "identifier"
            && ctx.self_name.as_deref() == Some(receiver)
        {
            // `self` of a class outside the family's hierarchy: another
            // class's member of the same name.
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
