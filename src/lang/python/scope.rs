//! Scopes, bindings and name occurrences of one Python file.
//!
//! [`FileModel::build`] walks the syntax tree once and records, for a small
//! set of names of interest, every occurrence with its role (binding,
//! reference, attribute, imported name) and the scope it sits in. Scopes
//! follow Python's rules: module, class (not visible from nested
//! functions), function, lambda and comprehension, with `global` and
//! `nonlocal` declarations. [`FileModel::resolve`] answers which scope a
//! name used in a scope refers to.

use std::collections::BTreeSet;

use tree_sitter::{Node, Tree};

use super::text;

/// Kinds of scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScopeKind {
    Module,
    Class,
    Function,
    Comprehension,
}

/// One scope.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub kind: ScopeKind,
    pub parent: Option<usize>,
    /// Names bound here (only names of interest).
    pub bound: BTreeSet<String>,
    pub globals: BTreeSet<String>,
    pub nonlocals: BTreeSet<String>,
    /// Modules imported with `from M import *` here, in source order.
    pub star_imports: Vec<StarImport>,
}

/// `from M import *`: the module and where the statement starts (its place
/// among the scope's bindings decides which binding wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StarImport {
    pub module: ImportSpec,
    pub start: usize,
}

/// A module as an import statement names it: leading dots and dotted name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImportSpec {
    pub dots: usize,
    pub name: String,
}

/// How an occurrence binds its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Binding {
    /// `def NAME` / `class NAME`.
    Definition,
    /// Assignment, `for`, `with ... as`, `except ... as`, walrus, `del`, parameter.
    Other,
    /// `import a.b.c` binds `a`; `import a.b as x` binds `x` (the module `a.b`).
    Module { module: String },
    /// `from M import NAME` (not aliased: the imported name and the binding are
    /// the same identifier) or `from M import X as NAME`.
    From {
        module: ImportSpec,
        name: String,
        aliased: bool,
    },
}

/// The role of one occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Role {
    Bind(Binding),
    /// A load (or store through `global`/`nonlocal`).
    Reference,
    /// The declaration `global NAME` / `nonlocal NAME`.
    Declaration,
    /// `OBJECT.NAME`; `object` is the dotted chain if OBJECT is a plain
    /// chain of names (`a.b.c`), else `None`.
    Attribute {
        object: Option<Vec<String>>,
    },
    /// `X` in `from M import X as Y` (not a binding).
    ImportedName {
        module: ImportSpec,
    },
    /// The name of a keyword argument, `f(NAME=...)`: it names a parameter
    /// of whatever is called, not a binding of this file.
    Keyword,
    /// A part of a module's dotted name in an import (`import a.NAME`,
    /// `from NAME.b import x`): a module, not a binding of this file.
    ModulePath,
}

/// One occurrence of a name of interest.
#[derive(Debug, Clone)]
pub(crate) struct Occurrence {
    pub name: String,
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
    pub scope: usize,
    pub role: Role,
    /// In a doctest (`>>>` lines of a docstring), not in the file's code.
    pub doctest: bool,
}

/// A comment or string fragment mentioning a name of interest.
#[derive(Debug, Clone)]
pub(crate) struct Mention {
    pub name: String,
    pub start: usize,
    pub line: usize,
    pub column: usize,
    /// `comment` or `string`.
    pub context: &'static str,
}

/// The mentions of `name` (as a word) in the comments and strings of
/// `source`, in source order: what [`FileModel::build`] records as
/// mentions, found from the text's occurrences instead of a whole walk.
pub(crate) fn mentions(tree: &Tree, source: &str, name: &str) -> Vec<Mention> {
    let root = tree.root_node();
    // Occurrences come in order: lines are counted from the previous one.
    let (mut counted, mut line, mut line_start) = (0, 1, 0);
    let mut out = Vec::new();
    for start in super::find_word(source, name) {
        let Some(node) = root.descendant_for_byte_range(start, start + name.len()) else {
            continue;
        };
        let context = match node.kind() {
            "comment" => "comment",
            "string_content" => "string",
            _ => continue,
        };
        let skipped = &source[counted..start];
        line += skipped.matches('\n').count();
        if let Some(i) = skipped.rfind('\n') {
            line_start = counted + i + 1;
        }
        counted = start;
        out.push(Mention {
            name: name.to_owned(),
            start,
            line,
            column: start - line_start + 1,
            context,
        });
    }
    out
}

/// A string literal inside a module-level `__all__`.
#[derive(Debug, Clone)]
pub(crate) struct AllEntry {
    pub value: String,
    /// Byte range of the string's content (inside the quotes).
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
}

/// A name bound by an import statement (recorded for every name, so
/// module receivers like `util` in `util.NAME` can be resolved).
#[derive(Debug, Clone)]
pub(crate) struct ImportRecord {
    pub bound: String,
    pub binding: Binding,
    pub scope: usize,
}

/// What a module-level `__all__` is made of, beyond its string entries
/// ([`FileModel::all_entries`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AllDecl {
    /// Modules whose `__all__` it includes (`__all__ = a.__all__ + [...]`,
    /// `__all__ += b.c.__all__`, `__all__.extend(d.__all__)`), as chains.
    pub sources: Vec<Vec<String>>,
    /// Some part is computed in a way orch does not follow (a name, a
    /// comprehension, a call): the list is only known at run time.
    pub dynamic: bool,
}

/// What a module-level assignment `NAME = VALUE` binds, when the value can
/// denote a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AliasValue {
    /// `np = numpy`, `p = pkg.sub`.
    Chain(Vec<String>),
    /// `m = importlib.import_module("pkg.mod")` with a literal name.
    ImportModule(String),
    /// Anything else.
    Other,
}

/// A module-level assignment to a plain name (recorded for every name, so
/// aliases of modules can be followed when they are unambiguous).
#[derive(Debug, Clone)]
pub(crate) struct Assignment {
    pub bound: String,
    pub value: AliasValue,
}

/// Everything recorded about one file.
#[derive(Debug, Clone)]
pub(crate) struct FileModel {
    pub scopes: Vec<Scope>,
    pub imports: Vec<ImportRecord>,
    pub occurrences: Vec<Occurrence>,
    pub mentions: Vec<Mention>,
    pub all_entries: Vec<AllEntry>,
    /// The module-level `__all__`, if the module defines one.
    pub all: Option<AllDecl>,
    /// Module-level assignments to plain names.
    pub assignments: Vec<Assignment>,
}

/// Where a name used in some scope resolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    Scope(usize),
    /// Bound nowhere in the file: a builtin, a star import or an error.
    Free,
}

impl FileModel {
    /// Walks `tree` and records every occurrence of the names in `names`.
    pub(crate) fn build(tree: &Tree, source: &str, names: &[&str]) -> Self {
        Self::walk(tree, source, names, false)
    }

    /// Only the imports of the module scope (also those inside module-level
    /// `if`/`try`/`with` blocks): a walk of the statements, not of every
    /// expression and function body.
    pub(crate) fn module_imports(tree: &Tree, source: &str) -> Self {
        Self::walk(tree, source, &[], true)
    }

    fn walk(tree: &Tree, source: &str, names: &[&str], module_imports_only: bool) -> Self {
        let mut walker = Walker {
            source: source.as_bytes(),
            names,
            in_doctest: false,
            doctest_code: Vec::new(),
            module_imports_only,
            model: FileModel {
                scopes: vec![Scope::new(ScopeKind::Module, None)],
                imports: Vec::new(),
                occurrences: Vec::new(),
                mentions: Vec::new(),
                all_entries: Vec::new(),
                all: None,
                assignments: Vec::new(),
            },
        };
        walker.visit_children(tree.root_node(), 0);
        walker.model
    }

    /// The scope a use of `name` in `scope` refers to (LEGB, skipping class
    /// scopes above the first).
    pub(crate) fn resolve(&self, name: &str, scope: usize) -> Resolution {
        let first = &self.scopes[scope];
        if first.globals.contains(name) {
            return self.module_binding(name);
        }
        if first.bound.contains(name) && !first.nonlocals.contains(name) {
            return Resolution::Scope(scope);
        }
        let mut current = first.parent;
        while let Some(id) = current {
            let s = &self.scopes[id];
            if s.kind == ScopeKind::Module {
                return self.module_binding(name);
            }
            if s.kind != ScopeKind::Class && s.bound.contains(name) && !s.globals.contains(name) {
                return Resolution::Scope(id);
            }
            current = s.parent;
        }
        self.module_binding(name)
    }

    fn module_binding(&self, name: &str) -> Resolution {
        if self.scopes[0].bound.contains(name) {
            Resolution::Scope(0)
        } else {
            Resolution::Free
        }
    }

    /// Whether `inner` is `outer` or nested inside it.
    pub(crate) fn is_within(&self, inner: usize, outer: usize) -> bool {
        let mut current = Some(inner);
        while let Some(id) = current {
            if id == outer {
                return true;
            }
            current = self.scopes[id].parent;
        }
        false
    }
}

impl Scope {
    fn new(kind: ScopeKind, parent: Option<usize>) -> Self {
        Scope {
            kind,
            parent,
            bound: BTreeSet::new(),
            globals: BTreeSet::new(),
            nonlocals: BTreeSet::new(),
            star_imports: Vec::new(),
        }
    }
}

struct Walker<'a> {
    source: &'a [u8],
    names: &'a [&'a str],
    /// Walking a doctest's tree ([`Walker::visit_doctest`]).
    in_doctest: bool,
    /// Byte ranges of strings that are doctest code: not prose.
    doctest_code: Vec<std::ops::Range<usize>>,
    /// See [`FileModel::module_imports`].
    module_imports_only: bool,
    model: FileModel,
}

impl Walker<'_> {
    fn interesting(&self, name: &str) -> bool {
        self.names.contains(&name)
    }

    fn new_scope(&mut self, kind: ScopeKind, parent: usize) -> usize {
        self.model.scopes.push(Scope::new(kind, Some(parent)));
        self.model.scopes.len() - 1
    }

    fn record(&mut self, node: Node, scope: usize, role: Role) {
        let name = text(node, self.source);
        if !self.interesting(name) {
            return;
        }
        if let Role::Bind(_) = role {
            self.model.scopes[scope].bound.insert(name.to_owned());
        }
        let position = node.start_position();
        self.model.occurrences.push(Occurrence {
            name: name.to_owned(),
            start: node.start_byte(),
            end: node.end_byte(),
            line: position.row + 1,
            column: position.column + 1,
            scope,
            role,
            doctest: self.in_doctest,
        });
    }

    fn visit_children(&mut self, node: Node, scope: usize) {
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            self.visit(child, scope);
        }
    }

    fn visit(&mut self, node: Node, scope: usize) {
        // Deep trees (long operator chains, nested brackets) recurse deeply.
        crate::lang::deep(|| self.visit_node(node, scope));
    }

    fn visit_node(&mut self, node: Node, scope: usize) {
        if self.module_imports_only {
            match node.kind() {
                "import_statement" => self.visit_import(node, scope),
                "import_from_statement" => self.visit_import_from(node, scope),
                "block"
                | "if_statement"
                | "elif_clause"
                | "else_clause"
                | "try_statement"
                | "except_clause"
                | "except_group_clause"
                | "finally_clause"
                | "with_statement"
                | "for_statement"
                | "while_statement"
                | "match_statement"
                | "case_clause" => self.visit_children(node, scope),
                _ => {}
            }
            return;
        }
        match node.kind() {
            "identifier" => self.record(node, scope, Role::Reference),
            "comment" => self.mentions_in(node, "comment"),
            "string_content" => self.mentions_in(node, "string"),
            "function_definition" => self.visit_function(node, scope),
            "class_definition" => self.visit_class(node, scope),
            "lambda" => self.visit_lambda(node, scope),
            "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression" => self.visit_comprehension(node, scope),
            "assignment" | "augmented_assignment" => {
                if scope == 0 {
                    self.maybe_all(node);
                    self.maybe_alias(node);
                }
                if let Some(left) = node.child_by_field_name("left") {
                    self.visit_target(left, scope);
                }
                for field in ["type", "right"] {
                    if let Some(child) = node.child_by_field_name(field) {
                        self.visit(child, scope);
                    }
                }
            }
            "for_statement" => {
                if let Some(left) = node.child_by_field_name("left") {
                    self.visit_target(left, scope);
                }
                for field in ["right", "body", "alternative"] {
                    if let Some(child) = node.child_by_field_name(field) {
                        self.visit(child, scope);
                    }
                }
            }
            "named_expression" => {
                // PEP 572: the target binds in the nearest non-comprehension scope.
                let mut target_scope = scope;
                while self.model.scopes[target_scope].kind == ScopeKind::Comprehension {
                    target_scope = self.model.scopes[target_scope].parent.unwrap_or(0);
                }
                if let Some(name) = node.child_by_field_name("name") {
                    self.visit_target(name, target_scope);
                }
                if let Some(value) = node.child_by_field_name("value") {
                    self.visit(value, scope);
                }
            }
            "as_pattern_target" => self.visit_target_children(node, scope),
            "delete_statement" => self.visit_target_children(node, scope),
            "global_statement" | "nonlocal_statement" => {
                let global = node.kind() == "global_statement";
                let mut cursor = node.walk();
                let names: Vec<Node> = node
                    .named_children(&mut cursor)
                    .filter(|n| n.kind() == "identifier")
                    .collect();
                for name in names {
                    let value = text(name, self.source).to_owned();
                    if self.interesting(&value) {
                        let s = &mut self.model.scopes[scope];
                        if global {
                            s.globals.insert(value);
                        } else {
                            s.nonlocals.insert(value);
                        }
                    }
                    self.record(name, scope, Role::Declaration);
                }
            }
            "import_statement" => self.visit_import(node, scope),
            "import_from_statement" => self.visit_import_from(node, scope),
            "future_import_statement" => {}
            "keyword_argument" => {
                if let Some(name) = node.child_by_field_name("name") {
                    self.record(name, scope, Role::Keyword);
                }
                if let Some(value) = node.child_by_field_name("value") {
                    self.visit(value, scope);
                }
            }
            "call" if scope == 0 => {
                self.maybe_all_call(node);
                self.visit_children(node, scope);
            }
            "attribute" => self.visit_attribute(node, scope),
            "decorated_definition" => self.visit_children(node, scope),
            "expression_statement" if !self.in_doctest => {
                let mut cursor = node.walk();
                let only: Vec<Node> = node.named_children(&mut cursor).collect();
                if let [string] = only.as_slice()
                    && string.kind() == "string"
                    && self.names.iter().any(|n| {
                        self.source[string.start_byte()..string.end_byte()]
                            .windows(n.len())
                            .any(|w| w == n.as_bytes())
                    })
                {
                    self.visit_doctest(*string);
                }
                self.visit_children(node, scope);
            }
            _ => self.visit_children(node, scope),
        }
    }

    fn visit_attribute(&mut self, node: Node, scope: usize) {
        if let Some(object) = node.child_by_field_name("object") {
            self.visit(object, scope);
            if let Some(attribute) = node.child_by_field_name("attribute") {
                let chain = self.chain(object);
                self.record(attribute, scope, Role::Attribute { object: chain });
            }
        }
    }

    /// `a.b.c` -> [a, b, c]; anything else -> None.
    fn chain(&self, node: Node) -> Option<Vec<String>> {
        match node.kind() {
            "identifier" => Some(vec![text(node, self.source).to_owned()]),
            "attribute" => {
                let mut head = self.chain(node.child_by_field_name("object")?)?;
                head.push(text(node.child_by_field_name("attribute")?, self.source).to_owned());
                Some(head)
            }
            _ => None,
        }
    }

    /// An assignment target: identifiers bind, anything under an attribute
    /// or subscript is a load.
    fn visit_target(&mut self, node: Node, scope: usize) {
        match node.kind() {
            "identifier" => self.record(node, scope, Role::Bind(Binding::Other)),
            "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "tuple"
            | "list"
            | "parenthesized_expression"
            | "list_splat_pattern"
            | "list_splat"
            | "expression_list" => self.visit_target_children(node, scope),
            _ => self.visit(node, scope),
        }
    }

    fn visit_target_children(&mut self, node: Node, scope: usize) {
        let mut cursor = node.walk();
        let children: Vec<Node> = node.named_children(&mut cursor).collect();
        for child in children {
            self.visit_target(child, scope);
        }
    }

    /// Comments attached directly to a definition node (before its body).
    fn stray_comments(&mut self, node: Node) {
        let mut cursor = node.walk();
        let comments: Vec<Node> = node
            .children(&mut cursor)
            .filter(|c| c.kind() == "comment")
            .collect();
        for comment in comments {
            self.mentions_in(comment, "comment");
        }
    }

    fn visit_function(&mut self, node: Node, scope: usize) {
        self.stray_comments(node);
        if let Some(name) = node.child_by_field_name("name") {
            self.record(name, scope, Role::Bind(Binding::Definition));
        }
        let inner = self.new_scope(ScopeKind::Function, scope);
        if let Some(parameters) = node.child_by_field_name("parameters") {
            self.visit_parameters(parameters, scope, inner);
        }
        for field in ["return_type", "type_parameters"] {
            if let Some(child) = node.child_by_field_name(field) {
                self.visit(child, scope);
            }
        }
        if let Some(body) = node.child_by_field_name("body") {
            self.visit_children(body, inner);
        }
    }

    fn visit_class(&mut self, node: Node, scope: usize) {
        self.stray_comments(node);
        if let Some(name) = node.child_by_field_name("name") {
            self.record(name, scope, Role::Bind(Binding::Definition));
        }
        for field in ["superclasses", "type_parameters"] {
            if let Some(child) = node.child_by_field_name(field) {
                self.visit(child, scope);
            }
        }
        let inner = self.new_scope(ScopeKind::Class, scope);
        if let Some(body) = node.child_by_field_name("body") {
            self.visit_children(body, inner);
        }
    }

    fn visit_lambda(&mut self, node: Node, scope: usize) {
        let inner = self.new_scope(ScopeKind::Function, scope);
        if let Some(parameters) = node.child_by_field_name("parameters") {
            self.visit_parameters(parameters, scope, inner);
        }
        if let Some(body) = node.child_by_field_name("body") {
            self.visit(body, inner);
        }
    }

    /// Parameter names bind in `inner`; defaults and annotations are
    /// evaluated in `outer`.
    fn visit_parameters(&mut self, parameters: Node, outer: usize, inner: usize) {
        let mut cursor = parameters.walk();
        let children: Vec<Node> = parameters.named_children(&mut cursor).collect();
        for parameter in children {
            match parameter.kind() {
                "identifier" => self.record(parameter, inner, Role::Bind(Binding::Other)),
                "default_parameter" | "typed_default_parameter" => {
                    if let Some(name) = parameter.child_by_field_name("name") {
                        self.visit_parameter_name(name, inner);
                    }
                    for field in ["type", "value"] {
                        if let Some(child) = parameter.child_by_field_name(field) {
                            self.visit(child, outer);
                        }
                    }
                }
                "typed_parameter" => {
                    let mut c = parameter.walk();
                    let parts: Vec<Node> = parameter.named_children(&mut c).collect();
                    let type_node = parameter.child_by_field_name("type");
                    for part in parts {
                        if Some(part) == type_node {
                            self.visit(part, outer);
                        } else {
                            self.visit_parameter_name(part, inner);
                        }
                    }
                }
                "list_splat_pattern" | "dictionary_splat_pattern" => {
                    self.visit_parameter_name(parameter, inner)
                }
                _ => self.visit(parameter, outer),
            }
        }
    }

    fn visit_parameter_name(&mut self, node: Node, inner: usize) {
        match node.kind() {
            "identifier" => self.record(node, inner, Role::Bind(Binding::Other)),
            _ => {
                let mut cursor = node.walk();
                let children: Vec<Node> = node.named_children(&mut cursor).collect();
                for child in children {
                    self.visit_parameter_name(child, inner);
                }
            }
        }
    }

    fn visit_comprehension(&mut self, node: Node, scope: usize) {
        let inner = self.new_scope(ScopeKind::Comprehension, scope);
        let mut cursor = node.walk();
        let children: Vec<Node> = node.named_children(&mut cursor).collect();
        let mut first_clause = true;
        for child in children {
            if child.kind() == "for_in_clause" {
                if let Some(left) = child.child_by_field_name("left") {
                    self.visit_target(left, inner);
                }
                if let Some(right) = child.child_by_field_name("right") {
                    // The first iterable is evaluated in the enclosing scope.
                    self.visit(right, if first_clause { scope } else { inner });
                }
                first_clause = false;
            } else {
                self.visit(child, inner);
            }
        }
    }

    fn visit_import(&mut self, node: Node, scope: usize) {
        let mut cursor = node.walk();
        let names: Vec<Node> = node.children_by_field_name("name", &mut cursor).collect();
        for name in names {
            match name.kind() {
                "dotted_name" => {
                    if let Some(first) = name.named_child(0) {
                        let head = text(first, self.source).to_owned();
                        self.import_record(
                            &head,
                            scope,
                            Binding::Module {
                                module: head.clone(),
                            },
                        );
                        self.record(first, scope, Role::Bind(Binding::Module { module: head }));
                    }
                    self.dotted_parts(name, 1, scope);
                }
                "aliased_import" => {
                    let module_node = name.child_by_field_name("name");
                    if let Some(module_node) = module_node {
                        self.dotted_parts(module_node, 0, scope);
                    }
                    let module = module_node
                        .map(|n| text(n, self.source).to_owned())
                        .unwrap_or_default();
                    if let Some(alias) = name.child_by_field_name("alias") {
                        let bound = text(alias, self.source).to_owned();
                        self.import_record(
                            &bound,
                            scope,
                            Binding::Module {
                                module: module.clone(),
                            },
                        );
                        self.record(alias, scope, Role::Bind(Binding::Module { module }));
                    }
                }
                _ => {}
            }
        }
    }

    fn visit_import_from(&mut self, node: Node, scope: usize) {
        let Some(module_node) = node.child_by_field_name("module_name") else {
            return;
        };
        let module = self.import_spec(module_node);
        let mut cursor = node.walk();
        let wildcard = node
            .named_children(&mut cursor)
            .any(|c| c.kind() == "wildcard_import");
        self.module_path(module_node, scope);
        if wildcard {
            self.model.scopes[scope].star_imports.push(StarImport {
                module,
                start: node.start_byte(),
            });
            return;
        }
        let mut cursor = node.walk();
        let names: Vec<Node> = node.children_by_field_name("name", &mut cursor).collect();
        for name in names {
            match name.kind() {
                "dotted_name" => {
                    if let Some(first) = name.named_child(0) {
                        let imported = text(first, self.source).to_owned();
                        self.import_record(
                            &imported,
                            scope,
                            Binding::From {
                                module: module.clone(),
                                name: imported.clone(),
                                aliased: false,
                            },
                        );
                        self.record(
                            first,
                            scope,
                            Role::Bind(Binding::From {
                                module: module.clone(),
                                name: imported,
                                aliased: false,
                            }),
                        );
                    }
                }
                "aliased_import" => {
                    let imported = name
                        .child_by_field_name("name")
                        .and_then(|n| n.named_child(0));
                    let imported_text = imported
                        .map(|n| text(n, self.source).to_owned())
                        .unwrap_or_default();
                    if let Some(imported) = imported {
                        self.record(
                            imported,
                            scope,
                            Role::ImportedName {
                                module: module.clone(),
                            },
                        );
                    }
                    if let Some(alias) = name.child_by_field_name("alias") {
                        let bound = text(alias, self.source).to_owned();
                        // `from m import X as X` is the explicit re-export idiom:
                        // the binding is X itself, so it renames with X.
                        let aliased = bound != imported_text;
                        self.import_record(
                            &bound,
                            scope,
                            Binding::From {
                                module: module.clone(),
                                name: imported_text.clone(),
                                aliased,
                            },
                        );
                        self.record(
                            alias,
                            scope,
                            Role::Bind(Binding::From {
                                module: module.clone(),
                                name: imported_text,
                                aliased,
                            }),
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// The identifiers of a dotted module name after the first `skip`, as
    /// [`Role::ModulePath`].
    fn dotted_parts(&mut self, node: Node, skip: usize, scope: usize) {
        let mut cursor = node.walk();
        let parts: Vec<Node> = node
            .named_children(&mut cursor)
            .filter(|n| n.kind() == "identifier")
            .skip(skip)
            .collect();
        for part in parts {
            self.record(part, scope, Role::ModulePath);
        }
    }

    /// The module of `from M import ...` (`M` or `.M`): every part of its
    /// name is a [`Role::ModulePath`].
    fn module_path(&mut self, node: Node, scope: usize) {
        match node.kind() {
            "dotted_name" => self.dotted_parts(node, 0, scope),
            "relative_import" => {
                let mut cursor = node.walk();
                let names: Vec<Node> = node
                    .named_children(&mut cursor)
                    .filter(|n| n.kind() == "dotted_name")
                    .collect();
                for name in names {
                    self.dotted_parts(name, 0, scope);
                }
            }
            _ => {}
        }
    }

    fn import_record(&mut self, bound: &str, scope: usize, binding: Binding) {
        self.model.imports.push(ImportRecord {
            bound: bound.to_owned(),
            binding,
            scope,
        });
    }

    fn import_spec(&self, node: Node) -> ImportSpec {
        match node.kind() {
            "relative_import" => {
                let mut dots = 0;
                let mut name = String::new();
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    match child.kind() {
                        "import_prefix" => {
                            dots = text(child, self.source)
                                .chars()
                                .filter(|&c| c == '.')
                                .count()
                        }
                        "dotted_name" => name = text(child, self.source).to_owned(),
                        _ => {}
                    }
                }
                ImportSpec { dots, name }
            }
            _ => ImportSpec {
                dots: 0,
                name: text(node, self.source).to_owned(),
            },
        }
    }

    fn mentions_in(&mut self, node: Node, context: &'static str) {
        let value = text(node, self.source);
        for &name in self.names {
            for offset in super::find_word(value, name) {
                let start = node.start_byte() + offset;
                if !self.in_doctest && self.doctest_code.iter().any(|r| r.contains(&start)) {
                    // Code of a doctest, walked as code.
                    continue;
                }
                let prefix = &value[..offset];
                let newlines = prefix.matches('\n').count();
                let column = match prefix.rfind('\n') {
                    Some(i) => prefix.len() - i,
                    None => node.start_position().column + offset + 1,
                };
                self.model.mentions.push(Mention {
                    name: name.to_owned(),
                    start,
                    line: node.start_position().row + 1 + newlines,
                    column,
                    context,
                });
            }
        }
    }

    /// A docstring's doctest (`>>> ` lines and their `... ` continuations)
    /// is code run in the module's namespace: parsed as Python (the lines'
    /// code only, as tree-sitter included ranges, so positions are the
    /// file's) and walked in a scope of its own whose free names resolve
    /// in the module, like doctest's copy of the module's globals. A
    /// doctest that does not parse stays prose.
    fn visit_doctest(&mut self, string: Node) {
        let Some((tree, ranges)) = super::doctest::parse(self.source, string) else {
            return;
        };
        let scope = self.new_scope(ScopeKind::Function, 0);
        self.in_doctest = true;
        self.visit_children(tree.root_node(), scope);
        self.in_doctest = false;
        self.doctest_code.extend(ranges);
    }

    /// Records a module-level `__all__ = ...` / `__all__ += ...`: its
    /// string entries, the modules whose `__all__` it includes, and whether
    /// some part is computed.
    fn maybe_all(&mut self, node: Node) {
        let Some(left) = node.child_by_field_name("left") else {
            return;
        };
        if left.kind() != "identifier" || text(left, self.source) != "__all__" {
            return;
        }
        let Some(right) = node.child_by_field_name("right") else {
            return;
        };
        // Assignments in branches (`if TYPE_CHECKING: ... else: ...`) add
        // up: the entries of all of them are the module's.
        self.model.all.get_or_insert_with(AllDecl::default);
        self.all_strings(right);
    }

    /// `__all__.extend(...)`, `__all__.append("x")`, `__all__.remove(...)`
    /// at module level.
    fn maybe_all_call(&mut self, node: Node) {
        let Some(function) = node.child_by_field_name("function") else {
            return;
        };
        if function.kind() != "attribute" {
            return;
        }
        let (Some(object), Some(method)) = (
            function.child_by_field_name("object"),
            function.child_by_field_name("attribute"),
        ) else {
            return;
        };
        if object.kind() != "identifier" || text(object, self.source) != "__all__" {
            return;
        }
        let Some(arguments) = node.child_by_field_name("arguments") else {
            return;
        };
        self.model.all.get_or_insert_with(AllDecl::default);
        match text(method, self.source) {
            "extend" | "append" => self.all_strings(arguments),
            _ => {
                // remove, insert, pop, clear, ...: not followed.
                if let Some(decl) = self.model.all.as_mut() {
                    decl.dynamic = true;
                }
            }
        }
    }

    fn all_strings(&mut self, node: Node) {
        match node.kind() {
            "list" | "tuple" | "parenthesized_expression" | "expression_list" | "argument_list" => {
                let mut cursor = node.walk();
                let children: Vec<Node> = node
                    .named_children(&mut cursor)
                    .filter(|c| c.kind() != "comment")
                    .collect();
                for child in children {
                    self.all_strings(child);
                }
            }
            "binary_operator" => {
                let operator = node
                    .child_by_field_name("operator")
                    .map(|o| text(o, self.source));
                if operator != Some("+") {
                    self.all_dynamic();
                }
                for field in ["left", "right"] {
                    if let Some(child) = node.child_by_field_name(field) {
                        self.all_strings(child);
                    }
                }
            }
            "attribute" => {
                let is_all = node
                    .child_by_field_name("attribute")
                    .is_some_and(|a| text(a, self.source) == "__all__");
                match node
                    .child_by_field_name("object")
                    .and_then(|o| self.chain(o))
                {
                    Some(chain) if is_all => {
                        if let Some(decl) = self.model.all.as_mut() {
                            decl.sources.push(chain);
                        }
                    }
                    _ => self.all_dynamic(),
                }
            }
            "string" => {
                let mut cursor = node.walk();
                let contents: Vec<Node> = node
                    .named_children(&mut cursor)
                    .filter(|c| c.kind() == "string_content")
                    .collect();
                if let [content] = contents.as_slice() {
                    let position = content.start_position();
                    self.model.all_entries.push(AllEntry {
                        value: text(*content, self.source).to_owned(),
                        start: content.start_byte(),
                        end: content.end_byte(),
                        line: position.row + 1,
                        column: position.column + 1,
                    });
                } else if contents.len() > 1 || node.named_child_count() > contents.len() + 2 {
                    // Interpolated or escaped: not a plain name.
                    self.all_dynamic();
                }
            }
            "comment" => {}
            _ => self.all_dynamic(),
        }
    }

    fn all_dynamic(&mut self) {
        if let Some(decl) = self.model.all.as_mut() {
            decl.dynamic = true;
        }
    }

    /// Records a module-level `NAME = VALUE` (see [`Assignment`]).
    fn maybe_alias(&mut self, node: Node) {
        let Some(left) = node.child_by_field_name("left") else {
            return;
        };
        if left.kind() != "identifier" {
            return;
        }
        let bound = text(left, self.source).to_owned();
        let value = match node.child_by_field_name("right") {
            Some(right) if node.kind() == "assignment" => self.alias_value(right),
            _ => AliasValue::Other,
        };
        self.model.assignments.push(Assignment { bound, value });
    }

    fn alias_value(&self, right: Node) -> AliasValue {
        if let Some(chain) = self.chain(right) {
            return AliasValue::Chain(chain);
        }
        if right.kind() != "call" {
            return AliasValue::Other;
        }
        let called = right
            .child_by_field_name("function")
            .and_then(|f| self.chain(f));
        let is_import_module = called.as_ref().is_some_and(|c| {
            c.last().is_some_and(|l| l == "import_module")
                && (c.len() == 1 || c.len() == 2 && c[0] == "importlib")
        });
        if !is_import_module {
            return AliasValue::Other;
        }
        let Some(arguments) = right.child_by_field_name("arguments") else {
            return AliasValue::Other;
        };
        let mut cursor = arguments.walk();
        let args: Vec<Node> = arguments.named_children(&mut cursor).collect();
        match args.as_slice() {
            [only] if only.kind() == "string" => {
                let mut cursor = only.walk();
                let contents: Vec<Node> = only
                    .named_children(&mut cursor)
                    .filter(|c| c.kind() == "string_content")
                    .collect();
                match contents.as_slice() {
                    [content] if !text(*content, self.source).starts_with('.') => {
                        AliasValue::ImportModule(text(*content, self.source).to_owned())
                    }
                    _ => AliasValue::Other,
                }
            }
            _ => AliasValue::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::python::parse;

    fn model(src: &str) -> FileModel {
        FileModel::build(&parse(src).unwrap(), src, &["f", "g"])
    }

    #[test]
    fn mentions_from_the_text_are_the_walks_mentions() {
        let src = "# f here, and f again\ndef f():\n    \"\"\"Docs: f.\n\n    more f\n    \"\"\"\n    x = 'f' + f\"{f} f\" + b'f' + r'''f\n f'''\n    return f  # f\n\nfoo = 'f_not a word' + 'af'\nclass C:\n    '''f'''\n";
        let tree = parse(src).unwrap();
        let walked: Vec<(usize, usize, usize, &str)> = FileModel::build(&tree, src, &["f"])
            .mentions
            .iter()
            .map(|m| (m.start, m.line, m.column, m.context))
            .collect();
        let found: Vec<(usize, usize, usize, &str)> = mentions(&tree, src, "f")
            .iter()
            .map(|m| (m.start, m.line, m.column, m.context))
            .collect();
        assert_eq!(found, walked);
        assert_eq!(found.len(), 11, "{found:?}");
    }

    #[test]
    fn scopes_resolve_like_python() {
        let src = "def f(): pass\nclass C:\n    f = 1\n    def m(self):\n        return f()\n    x = [f for f in range(3)]\ndef g(f):\n    return f\ndef h():\n    global f\n    f = 2\n";
        let m = model(src);
        let refs: Vec<(usize, Resolution)> = m
            .occurrences
            .iter()
            .filter(|o| o.name == "f" && o.role == Role::Reference)
            .map(|o| (o.line, m.resolve("f", o.scope)))
            .collect();
        // Line 5: the method skips the class scope -> module. Line 6: the
        // comprehension's own f. Line 8: the parameter.
        assert_eq!(refs[0], (5, Resolution::Scope(0)));
        assert_ne!(refs[1].1, Resolution::Scope(0));
        assert_ne!(refs[2].1, Resolution::Scope(0));
        let global_store = m
            .occurrences
            .iter()
            .find(|o| o.line == 11 && o.name == "f")
            .unwrap();
        assert_eq!(m.resolve("f", global_store.scope), Resolution::Scope(0));
    }

    #[test]
    fn imports_and_all() {
        let src =
            "from .a import f as g\nfrom b import *\nimport x.y\n__all__ = ['f', \"g\"]\nh.f(g)\n";
        let m = model(src);
        assert!(
            m.occurrences
                .iter()
                .any(|o| o.name == "f" && matches!(o.role, Role::ImportedName { .. }))
        );
        assert!(
            m.occurrences.iter().any(|o| o.name == "g"
                && matches!(o.role, Role::Bind(Binding::From { aliased: true, .. })))
        );
        assert_eq!(
            m.scopes[0].star_imports,
            [StarImport {
                module: ImportSpec {
                    dots: 0,
                    name: "b".into()
                },
                start: 22,
            }]
        );
        assert_eq!(
            m.all_entries
                .iter()
                .map(|e| e.value.as_str())
                .collect::<Vec<_>>(),
            ["f", "g"]
        );
        assert!(m.occurrences.iter().any(|o| o.name == "f"
            && matches!(&o.role, Role::Attribute { object: Some(c) } if c == &["h"])));
    }
}
