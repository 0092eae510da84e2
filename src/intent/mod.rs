//! From a plain-English command to a typed [`Intent`].
//!
//! The parser is deterministic: it tokenises the command (quotes and
//! back-ticks group words), drops filler words and matches the forms listed
//! in [`FORMS`]. Anything else is an [`Error::Unknown`] that lists those
//! forms, so the user always learns what orch does understand.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod normalize;
mod parse;
mod suggest;
mod token;

pub(crate) use parse::parse;
pub(crate) use suggest::suggest;

/// The command forms orch understands, shown when it does not understand one.
pub(crate) const FORMS: &[&str] = &[
    "rename [function|class|variable] OLD to NEW [in PATH]",
    "rename method [CLASS.]OLD to NEW [in PATH]",
    "rename attribute [CLASS.]OLD to NEW [in PATH]",
    "rename parameter OLD of [CLASS.]FUNCTION to NEW [in PATH]",
    "rename MODULE.OLD to NEW",
    "replace `PATTERN` with `REWRITE` [in PATH] [in LANGUAGE files]",
    "remove unused imports [in PATH]",
    "add parameter NAME=DEFAULT to [CLASS.]FUNCTION [in PATH]",
    "remove unused private functions [in PATH]",
    "remove parameter NAME from [CLASS.]FUNCTION [in PATH]",
    "make [CLASS.]FUNCTION async [in PATH] (its callers follow)",
    "make the MODULE module async",
    "move [function|class] NAME [from PATH] to PATH [and keep an alias]",
    "rename module OLD to NEW (a path, dotted or bare name)",
    "safe delete [function|class|method|variable] [CLASS.]NAME [in PATH]",
    "move parameter NAME before|after OTHER in [CLASS.]FUNCTION [in PATH]",
    "swap parameters A and B of [CLASS.]FUNCTION [in PATH]",
    "inline variable NAME in [CLASS.]FUNCTION [in PATH]",
    "inline function NAME [in PATH]",
    "extract lines A-B of PATH into function|method NAME",
    "extract `EXPRESSION` in [CLASS.]FUNCTION into function|method NAME",
];

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Intent {
    /// Rename a module-level function or class everywhere it is used.
    Rename(Rename),
    /// Rewrite every match of a structural pattern.
    Replace(Replace),
    /// Remove the imports nothing uses (Python).
    RemoveUnusedImports(Cleanup),
    /// Add a parameter with a default to a function or method (Python).
    AddParameter(AddParameter),
    /// Remove module-level private functions nothing refers to (Python).
    RemoveUnusedFunctions(Cleanup),
    /// Remove a parameter from a function or method and from its calls.
    RemoveParameter(RemoveParameter),
    /// Make a function, method or module's functions async; callers follow
    /// up the call graph to a boundary.
    MakeAsync(MakeAsync),
    /// Move a module-level function or class to another module.
    Move(Move),
    /// Rename or move a module file; imports follow.
    RenameModule(RenameModule),
    /// Delete a function, class, method or module-level variable that
    /// nothing references.
    SafeDelete(SafeDelete),
    /// Move a parameter before or after another, or swap two, in the
    /// definition (and overrides) and at every call.
    ReorderParameters(ReorderParameters),
    /// Replace a local assigned once by its value, and drop the assignment.
    InlineVariable(InlineVariable),
    /// Move whole statements (a line range) or one expression of a
    /// function into a new function or method, and call it there.
    Extract(Extract),
    /// Replace every call of a function by its body (one `return`
    /// expression) with the arguments bound; the definition goes when no
    /// use is left.
    InlineFunction(InlineFunction),
}

/// `inline function NAME [in PATH]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineFunction {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl InlineFunction {
    /// The function and its references, found as a rename finds them (any
    /// kind of definition: a class is refused as such, not as missing).
    pub fn lookup(&self) -> Rename {
        Rename {
            symbol: SymbolKind::Any,
            old: self.name.clone(),
            new: format!("{}_orch_inlined", self.name),
            scope: self.scope.clone(),
            class: None,
            function: None,
        }
    }
}

/// `extract lines A-B of PATH into function|method NAME`, or `extract
/// `EXPR` in [CLASS.]FUNCTION into function|method NAME`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Extract {
    /// The new function's (or method's) name.
    pub name: String,
    /// A method of the class the selection is in, not a function.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub method: bool,
    /// The file of a line range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The line range, 1-based and inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_line: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_line: Option<usize>,
    /// The expression (whitespace aside), in `function`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl Extract {
    /// The function an expression is in, to look up.
    pub fn lookup(&self) -> Option<Rename> {
        self.function
            .as_ref()
            .map(|f| function_lookup(f, self.class.as_ref(), self.scope.as_ref()))
    }

    fn kind(&self) -> &'static str {
        if self.method { "method" } else { "function" }
    }
}

/// `inline variable NAME in [CLASS.]FUNCTION [in PATH]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InlineVariable {
    pub name: String,
    pub function: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl InlineVariable {
    /// The function or method to look up.
    pub fn lookup(&self) -> Rename {
        function_lookup(&self.function, self.class.as_ref(), self.scope.as_ref())
    }
}

/// `move parameter P before|after Q in [CLASS.]FUNCTION [in PATH]`,
/// `swap parameters A and B of [CLASS.]FUNCTION`, `swap the parameters of
/// [CLASS.]FUNCTION` (its only two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderParameters {
    pub function: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The parameter that moves (swap: the first; empty: the only two).
    #[serde(default)]
    pub parameter: String,
    /// Where it goes relative to (swap: the second).
    #[serde(default)]
    pub other: String,
    /// `before`, `after` or `swap`.
    pub placement: String,
}

impl ReorderParameters {
    /// The function or method to look up.
    pub fn lookup(&self) -> Rename {
        function_lookup(&self.function, self.class.as_ref(), self.scope.as_ref())
    }
}

/// `safe delete [function|class|method|variable] [CLASS.]NAME [in PATH]`:
/// the definition goes only when nothing refers to it (code, `__all__`,
/// strings); otherwise the references are listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SafeDelete {
    pub symbol: SymbolKind,
    pub name: String,
    /// For a method: the class that defines it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// A file, package directory or dotted module that holds the definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl SafeDelete {
    /// The definition and its references, found as a rename finds them.
    pub fn lookup(&self) -> Rename {
        Rename {
            symbol: self.symbol,
            old: self.name.clone(),
            new: format!("{}_orch_deleted", self.name),
            scope: self.scope.clone(),
            class: self.class.clone(),
            function: None,
        }
    }
}

/// `rename module OLD to NEW`: OLD is a path, dotted or bare module name;
/// NEW a bare name (same directory), a dotted name or a `.py` path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameModule {
    pub old: String,
    pub new: String,
}

/// `move [function|class] NAME [from PATH] to PATH [and keep an alias]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Move {
    /// `any`, `function` or `class`.
    pub symbol: SymbolKind,
    pub name: String,
    /// The module that defines it (a path, dotted or bare module name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The target module: a `.py` path (created when missing), or the name
    /// of an existing module.
    pub to: String,
    /// Leave `from NEW import NAME` in the old module, so old imports work.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keep_alias: bool,
}

impl Move {
    /// The definition to look up.
    pub fn lookup(&self) -> Rename {
        Rename {
            symbol: self.symbol,
            old: self.name.clone(),
            new: self.name.clone(),
            scope: self.from.clone(),
            class: None,
            function: None,
        }
    }
}

/// `make [CLASS.]FUNCTION async [in PATH]` or `make the MODULE module async`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MakeAsync {
    /// The function or method (with `class`); absent for a module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// A module or package whose module-level functions become async: a
    /// path, a dotted name or a bare name, resolved against the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl MakeAsync {
    /// The function or method to look up (none for a module).
    pub fn lookup(&self) -> Option<Rename> {
        self.function
            .as_ref()
            .map(|f| function_lookup(f, self.class.as_ref(), self.scope.as_ref()))
    }

    fn target(&self) -> String {
        match (&self.function, &self.class, &self.module) {
            (Some(f), Some(c), _) => format!("{c}.{f}"),
            (Some(f), None, _) => f.clone(),
            (None, _, Some(m)) => format!("module {m}"),
            _ => String::new(),
        }
    }
}

/// `remove parameter NAME from [CLASS.]FUNCTION [in PATH]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveParameter {
    pub parameter: String,
    pub function: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl RemoveParameter {
    /// The function or method to look up.
    pub fn lookup(&self) -> Rename {
        function_lookup(&self.function, self.class.as_ref(), self.scope.as_ref())
    }
}

/// `add parameter NAME=DEFAULT to [CLASS.]FUNCTION [in PATH]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddParameter {
    pub parameter: String,
    /// A Python expression; existing calls keep working through it.
    pub default: String,
    pub function: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl AddParameter {
    /// The function or method to look up.
    pub fn lookup(&self) -> Rename {
        function_lookup(&self.function, self.class.as_ref(), self.scope.as_ref())
    }
}

/// A function or method (`class` given) to look up, as a rename of itself.
fn function_lookup(function: &str, class: Option<&String>, scope: Option<&String>) -> Rename {
    Rename {
        symbol: if class.is_some() {
            SymbolKind::Method
        } else {
            SymbolKind::Function
        },
        old: function.to_owned(),
        new: function.to_owned(),
        scope: scope.cloned(),
        class: class.cloned(),
        function: None,
    }
}

/// `remove unused imports [in PATH]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cleanup {
    /// A file or directory the cleanup is limited to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// `replace `PATTERN` with `REWRITE` [in PATH] [in LANGUAGE files]`: an
/// ast-grep pattern (`$X` matches one node, `$$$XS` any number) and its
/// rewrite, in which captured metavariables are substituted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Replace {
    pub pattern: String,
    pub rewrite: String,
    /// A file or directory the rewrite is limited to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `python`, `rust`, `javascript`, `typescript` (with TSX), `tsx` or
    /// `go`; every language the pattern is valid in when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// `rename [function|class] OLD to NEW [in PATH]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    /// Which kind of definition `old` must be.
    pub symbol: SymbolKind,
    pub old: String,
    pub new: String,
    /// A file, package directory or dotted module that holds the definition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// For a method: the class that defines it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// For a parameter: the function (or method, with `class`) that has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
}

impl Rename {
    /// The definition to look up: the renamed symbol, or for a parameter
    /// its function or method.
    pub fn lookup(&self) -> Rename {
        match (&self.symbol, &self.function) {
            (SymbolKind::Parameter, Some(function)) => {
                function_lookup(function, self.class.as_ref(), self.scope.as_ref())
            }
            _ => self.clone(),
        }
    }
}

/// The kind of symbol a rename targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    /// A module-level function, class or variable.
    Any,
    Function,
    Class,
    /// A module-level variable (constant).
    Variable,
    /// A method of a module-level class (and its overrides in subclasses).
    Method,
    /// An attribute of a module-level class (and of its subclasses):
    /// `self.x`, `C.x`, `__slots__`, dataclass fields.
    Attribute,
    /// A parameter of a function or method (and keyword arguments at calls).
    Parameter,
}

impl SymbolKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SymbolKind::Any => "symbol",
            SymbolKind::Function => "function",
            SymbolKind::Class => "class",
            SymbolKind::Variable => "variable",
            SymbolKind::Method => "method",
            SymbolKind::Attribute => "attribute",
            SymbolKind::Parameter => "parameter",
        }
    }
}

impl Intent {
    /// A short, branch-safe description, e.g. `rename-make-str-to-make-text`.
    pub fn slug(&self) -> String {
        let text = match self {
            Intent::Rename(r) => format!("rename {} to {}", r.old, r.new),
            Intent::Replace(r) => format!("replace {} with {}", r.pattern, r.rewrite),
            Intent::RemoveUnusedImports(c) => match &c.scope {
                Some(scope) => format!("remove unused imports in {scope}"),
                None => "remove unused imports".to_owned(),
            },
            Intent::AddParameter(a) => format!("add parameter {} to {}", a.parameter, a.function),
            Intent::RemoveUnusedFunctions(c) => match &c.scope {
                Some(scope) => format!("remove unused private functions in {scope}"),
                None => "remove unused private functions".to_owned(),
            },
            Intent::RemoveParameter(r) => {
                format!("remove parameter {} from {}", r.parameter, r.function)
            }
            Intent::MakeAsync(a) => format!("make {} async", a.target()),
            Intent::Move(m) => format!("move {} to {}", m.name, m.to),
            Intent::RenameModule(r) => format!("rename module {} to {}", r.old, r.new),
            Intent::SafeDelete(d) => format!("delete {}", d.name),
            Intent::ReorderParameters(r) => format!("reorder parameters of {}", r.function),
            Intent::InlineVariable(v) => format!("inline {} in {}", v.name, v.function),
            Intent::Extract(e) => format!("extract {} {}", e.kind(), e.name),
            Intent::InlineFunction(f) => format!("inline function {}", f.name),
        };
        let mut slug = String::new();
        for c in text.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_matches('-');
        let mut cut: String = slug.chars().take(48).collect();
        while cut.ends_with('-') {
            cut.pop();
        }
        cut
    }

    /// One line for people, e.g. `rename function make_str to make_text`.
    pub fn describe(&self) -> String {
        match self {
            Intent::Rename(r) => {
                let scope = in_scope(&r.scope);
                let old = match (&r.class, &r.function) {
                    (Some(class), Some(function)) => format!("{class}.{function}.{}", r.old),
                    (None, Some(function)) => format!("{function}.{}", r.old),
                    (Some(class), None) => format!("{class}.{}", r.old),
                    (None, None) => r.old.clone(),
                };
                format!("rename {}{old} to {}{scope}", kind_prefix(r.symbol), r.new)
            }
            Intent::Replace(r) => {
                let scope = in_scope(&r.scope);
                let language = r
                    .language
                    .as_deref()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default();
                format!(
                    "replace `{}` with `{}`{scope}{language}",
                    r.pattern, r.rewrite
                )
            }
            Intent::RemoveUnusedImports(c) => match &c.scope {
                Some(scope) => format!("remove unused imports in {scope}"),
                None => "remove unused imports".to_owned(),
            },
            Intent::RemoveUnusedFunctions(c) => match &c.scope {
                Some(scope) => format!("remove unreferenced private functions in {scope}"),
                None => "remove unreferenced private functions".to_owned(),
            },
            Intent::RemoveParameter(r) => {
                let function = qualified(&r.class, &r.function);
                let scope = in_scope(&r.scope);
                format!("remove parameter {} from {function}{scope}", r.parameter)
            }
            Intent::RenameModule(r) => format!("rename module {} to {}", r.old, r.new),
            Intent::InlineVariable(v) => {
                let function = qualified(&v.class, &v.function);
                let scope = in_scope(&v.scope);
                format!("inline variable {} in {function}{scope}", v.name)
            }
            Intent::InlineFunction(f) => {
                format!("inline function {}{}", f.name, in_scope(&f.scope))
            }
            Intent::Extract(e) => match (&e.expression, &e.function) {
                (Some(expression), Some(function)) => format!(
                    "extract `{expression}` in {}{} into {} {}",
                    qualified(&e.class, function),
                    in_scope(&e.scope),
                    e.kind(),
                    e.name
                ),
                _ => format!(
                    "extract lines {}-{} of {} into {} {}",
                    e.first_line.unwrap_or_default(),
                    e.last_line.unwrap_or_default(),
                    e.path.as_deref().unwrap_or_default(),
                    e.kind(),
                    e.name
                ),
            },
            Intent::ReorderParameters(r) => {
                let function = qualified(&r.class, &r.function);
                let scope = in_scope(&r.scope);
                match (r.placement.as_str(), r.parameter.is_empty()) {
                    ("swap", true) => format!("swap the parameters of {function}{scope}"),
                    ("swap", false) => format!(
                        "swap parameters {} and {} of {function}{scope}",
                        r.parameter, r.other
                    ),
                    (placement, _) => format!(
                        "move parameter {} {placement} {} in {function}{scope}",
                        r.parameter, r.other
                    ),
                }
            }
            Intent::SafeDelete(d) => {
                let name = qualified(&d.class, &d.name);
                let scope = in_scope(&d.scope);
                format!("safe delete {}{name}{scope}", kind_prefix(d.symbol))
            }
            Intent::Move(m) => {
                let from = m
                    .from
                    .as_deref()
                    .map(|f| format!(" from {f}"))
                    .unwrap_or_default();
                let alias = if m.keep_alias {
                    ", keeping an alias"
                } else {
                    ""
                };
                format!(
                    "move {}{}{from} to {}{alias}",
                    kind_prefix(m.symbol),
                    m.name,
                    m.to
                )
            }
            Intent::MakeAsync(a) => {
                let scope = in_scope(&a.scope);
                match &a.module {
                    Some(_) if a.function.is_none() => {
                        format!("make the functions of {} async{scope}", a.target())
                    }
                    _ => format!("make {} async{scope}, with its callers", a.target()),
                }
            }
            Intent::AddParameter(a) => {
                let function = qualified(&a.class, &a.function);
                let scope = in_scope(&a.scope);
                format!(
                    "add parameter {}={} to {function}{scope}",
                    a.parameter, a.default
                )
            }
        }
    }
}

/// ` in SCOPE`, or nothing.
fn in_scope(scope: &Option<String>) -> String {
    scope
        .as_deref()
        .map(|s| format!(" in {s}"))
        .unwrap_or_default()
}

/// `function `, `method `, ...; nothing when the kind is left open (the
/// words of a command that says no kind).
fn kind_prefix(symbol: SymbolKind) -> String {
    match symbol {
        SymbolKind::Any => String::new(),
        other => format!("{} ", other.as_str()),
    }
}

/// `CLASS.NAME` for a method, `NAME` otherwise.
fn qualified(class: &Option<String>, name: &str) -> String {
    match class {
        Some(class) => format!("{class}.{name}"),
        None => name.to_owned(),
    }
}

/// Why a command was not understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum Error {
    #[error("orch does not understand `{command}`")]
    Unknown { command: String },
    #[error("`{name}` is not a valid Python identifier")]
    InvalidName { name: String },
    #[error("`{name}` is a Python keyword and cannot be a name")]
    Keyword { name: String },
    #[error(transparent)]
    Name(crate::lang::python::names::NameError),
    #[error("the old and the new name are both `{0}`: nothing to rename")]
    SameName(String),
    #[error("unbalanced quote in `{0}`")]
    Unbalanced(String),
    #[error("the pattern and the rewrite are the same: nothing to replace")]
    SamePattern,
    #[error("input too deeply nested: brackets {depth} levels deep (orch takes up to 256)")]
    TooDeep { depth: usize },
    #[error(
        "a new parameter needs a default so existing calls keep working, e.g. `add parameter {0}=None to FUNCTION`"
    )]
    NoDefault(String),
    #[error(
        "`{0}` is not a language orch rewrites (python, rust, javascript, typescript, tsx, go)"
    )]
    Language(String),
    #[error(
        "lines {first}-{last} are no range: lines count from 1, and the first comes before the last"
    )]
    LineRange { first: usize, last: usize },
}

#[cfg(test)]
mod tests;
