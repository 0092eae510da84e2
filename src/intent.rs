//! From a plain-English command to a typed [`Intent`].
//!
//! The parser is deterministic: it tokenises the command (quotes and
//! back-ticks group words), drops filler words and matches the forms listed
//! in [`FORMS`]. Anything else is an [`Error::Unknown`] that lists those
//! forms, so the user always learns what orch does understand.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::lang::python::names;

/// The command forms orch understands, shown when it does not understand one.
pub(crate) const FORMS: &[&str] = &[
    "rename [function|class|variable] OLD to NEW [in PATH]",
    "rename method [CLASS.]OLD to NEW [in PATH]",
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
                let scope = r
                    .scope
                    .as_deref()
                    .map(|s| format!(" in {s}"))
                    .unwrap_or_default();
                let old = match (&r.class, &r.function) {
                    (Some(class), Some(function)) => format!("{class}.{function}.{}", r.old),
                    (None, Some(function)) => format!("{function}.{}", r.old),
                    (Some(class), None) => format!("{class}.{}", r.old),
                    (None, None) => r.old.clone(),
                };
                format!("rename {} {old} to {}{scope}", r.symbol.as_str(), r.new)
            }
            Intent::Replace(r) => {
                let scope = r
                    .scope
                    .as_deref()
                    .map(|s| format!(" in {s}"))
                    .unwrap_or_default();
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
                let function = match &r.class {
                    Some(class) => format!("{class}.{}", r.function),
                    None => r.function.clone(),
                };
                let scope = r
                    .scope
                    .as_deref()
                    .map(|s| format!(" in {s}"))
                    .unwrap_or_default();
                format!("remove parameter {} from {function}{scope}", r.parameter)
            }
            Intent::RenameModule(r) => format!("rename module {} to {}", r.old, r.new),
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
                    "move {} {}{from} to {}{alias}",
                    m.symbol.as_str(),
                    m.name,
                    m.to
                )
            }
            Intent::MakeAsync(a) => {
                let scope = a
                    .scope
                    .as_deref()
                    .map(|s| format!(" in {s}"))
                    .unwrap_or_default();
                match &a.module {
                    Some(_) if a.function.is_none() => {
                        format!("make the functions of {} async{scope}", a.target())
                    }
                    _ => format!("make {} async{scope}, with its callers", a.target()),
                }
            }
            Intent::AddParameter(a) => {
                let function = match &a.class {
                    Some(class) => format!("{class}.{}", a.function),
                    None => a.function.clone(),
                };
                let scope = a
                    .scope
                    .as_deref()
                    .map(|s| format!(" in {s}"))
                    .unwrap_or_default();
                format!(
                    "add parameter {}={} to {function}{scope}",
                    a.parameter, a.default
                )
            }
        }
    }
}

fn form_index(verb: &str) -> usize {
    FORMS.iter().position(|f| f.starts_with(verb)).unwrap_or(0)
}

/// The supported form closest to a command that was not understood, and
/// the others.
pub(crate) fn suggest(command: &str) -> String {
    let first = command
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let verbs: [(&[&str], usize); 6] = [
        (&["make", "turn", "asyncify"], form_index("make")),
        (&["rename", "call"], 0),
        (&["move", "relocate", "transfer"], form_index("move")),
        (&["add", "introduce", "insert"], form_index("add")),
        (
            &["replace", "rewrite", "substitute", "change", "swap"],
            form_index("replace"),
        ),
        (
            &[
                "remove", "delete", "drop", "strip", "clean", "cleanup", "prune", "tidy",
            ],
            form_index("remove"),
        ),
    ];
    let mut best = (0.0, 0);
    for (words, form) in verbs {
        for word in words {
            let score = strsim::jaro_winkler(&first, word);
            if score > best.0 {
                best = (score, form);
            }
        }
    }
    let closest = if best.0 >= 0.8 {
        FORMS[best.1]
    } else {
        // By the whole command's words.
        FORMS
            .iter()
            .max_by(|a, b| {
                strsim::jaro_winkler(command, a).total_cmp(&strsim::jaro_winkler(command, b))
            })
            .copied()
            .unwrap_or(FORMS[0])
    };
    format!(
        "closest form: {closest}\norch understands: {}",
        FORMS.join("; ")
    )
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
    #[error("the old and the new name are both `{0}`: nothing to rename")]
    SameName(String),
    #[error("unbalanced quote in `{0}`")]
    Unbalanced(String),
    #[error("the pattern and the rewrite are the same: nothing to replace")]
    SamePattern,
    #[error(
        "a new parameter needs a default so existing calls keep working, e.g. `add parameter {0}=None to FUNCTION`"
    )]
    NoDefault(String),
    #[error(
        "`{0}` is not a language orch rewrites (python, rust, javascript, typescript, tsx, go)"
    )]
    Language(String),
}

/// Parses a command.
pub(crate) fn parse(command: &str) -> Result<Intent, Error> {
    let tokens = tokenize(command)?;
    let lowered: Vec<String> = tokens.iter().map(|t| t.text.to_ascii_lowercase()).collect();
    let unknown = || Error::Unknown {
        command: command.trim().to_owned(),
    };
    let Some(first) = lowered.first() else {
        return Err(unknown());
    };
    let wants_async = tokens.iter().zip(&lowered).any(|(t, w)| {
        !t.quoted
            && matches!(
                w.as_str(),
                "async" | "asynchronous" | "coroutine" | "coroutines"
            )
    });
    match first.as_str() {
        "make" | "convert" | "turn" | "change" | "asyncify" | "transform" | "port"
            if wants_async || first == "asyncify" =>
        {
            parse_async(&tokens, &lowered).ok_or_else(unknown)?
        }
        "move" | "relocate" | "transfer" => parse_move(&tokens, &lowered).ok_or_else(unknown)?,
        "rename" => parse_rename(&tokens, &lowered).ok_or_else(unknown)?,
        "replace" | "rewrite" | "substitute" | "change" => {
            parse_replace(&tokens, &lowered).ok_or_else(unknown)?
        }
        "remove" | "delete" | "drop" | "strip" | "clean" | "cleanup" | "prune" | "tidy"
            if lowered
                .iter()
                .any(|w| matches!(w.as_str(), "parameter" | "param" | "argument" | "arg")) =>
        {
            parse_remove_parameter(&tokens, &lowered).ok_or_else(unknown)
        }
        "remove" | "delete" | "drop" | "strip" | "clean" | "cleanup" | "prune" | "tidy" => {
            parse_cleanup(&tokens, &lowered).ok_or_else(unknown)
        }
        "add" | "introduce" => parse_add_parameter(&tokens, &lowered).ok_or_else(unknown)?,
        _ => Err(unknown()),
    }
}

/// `add [a|an|the] [optional|keyword] parameter NAME=DEFAULT to
/// [function|method] [CLASS.]FUNCTION [in PATH]`; also `NAME = DEFAULT`,
/// `NAME with default DEFAULT`, `NAME defaulting to DEFAULT`.
fn parse_add_parameter(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
    let mut i = 1;
    while i < tokens.len()
        && !tokens[i].quoted
        && matches!(
            lowered[i].as_str(),
            "a" | "an"
                | "the"
                | "new"
                | "optional"
                | "keyword"
                | "parameter"
                | "param"
                | "argument"
                | "arg"
        )
    {
        i += 1;
    }
    // NAME=DEFAULT | NAME = DEFAULT | NAME with default DEFAULT | NAME defaulting to DEFAULT
    let first = tokens.get(i)?.text.clone();
    i += 1;
    let (parameter, mut default) = match first.split_once('=') {
        Some((name, value)) => (name.trim().to_owned(), value.trim().to_owned()),
        None => (first, String::new()),
    };
    if default.is_empty() {
        match lowered.get(i).map(String::as_str) {
            Some("=") => {
                default = tokens.get(i + 1)?.text.clone();
                i += 2;
            }
            Some("with") if lowered.get(i + 1).map(String::as_str) == Some("default") => {
                default = tokens.get(i + 2)?.text.clone();
                i += 3;
            }
            Some("defaulting") if lowered.get(i + 1).map(String::as_str) == Some("to") => {
                default = tokens.get(i + 2)?.text.clone();
                i += 3;
            }
            _ => {}
        }
    }
    let (function, scope) = target_clauses(tokens, lowered, i, &["to", "on", "for"])?;
    if let Err(error) = validate_identifier(&parameter) {
        return Some(Err(error));
    }
    if default.is_empty() {
        return Some(Err(Error::NoDefault(parameter)));
    }
    let (name, class, scope) = split_target(&function, scope)?;
    Some(Ok(Intent::AddParameter(AddParameter {
        parameter,
        default,
        function: name,
        class,
        scope,
    })))
}

/// `move [the] [function|class] NAME [from PATH] to|into PATH [and keep an
/// alias]`; `PATH` may be `the money module`.
fn parse_move(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
    let mut i = 1;
    let mut symbol = SymbolKind::Any;
    while i < tokens.len() && !tokens[i].quoted {
        match lowered[i].as_str() {
            "the" => i += 1,
            "function" | "def" | "func" | "fn" => {
                symbol = SymbolKind::Function;
                i += 1;
            }
            "class" => {
                symbol = SymbolKind::Class;
                i += 1;
            }
            _ => break,
        }
    }
    let name = strip_call(&tokens.get(i)?.text);
    i += 1;
    let mut from = None;
    let mut to = None;
    let mut keep_alias = false;
    let module_words = |j: &mut usize| {
        while lowered
            .get(*j)
            .is_some_and(|w| matches!(w.as_str(), "the" | "module" | "file" | "package"))
        {
            *j += 1;
        }
    };
    while i < tokens.len() {
        let word = if tokens[i].quoted {
            ""
        } else {
            lowered[i].as_str()
        };
        match word {
            "from" | "out" | "of" if from.is_none() => {
                let mut j = i + 1;
                if lowered.get(j).map(String::as_str) == Some("of") {
                    j += 1;
                }
                module_words(&mut j);
                from = Some(tokens.get(j)?.text.clone());
                j += 1;
                module_words(&mut j);
                i = j;
            }
            "to" | "into" | "in" | "over" if to.is_none() => {
                let mut j = i + 1;
                if lowered.get(j).map(String::as_str) == Some("to") {
                    j += 1;
                }
                module_words(&mut j);
                to = Some(tokens.get(j)?.text.clone());
                j += 1;
                module_words(&mut j);
                i = j;
            }
            "and" | "keep" | "keeping" | "leave" | "leaving" | "with" | "an" | "a" | "alias"
            | "re-export" | "reexport" | "behind" => {
                if matches!(word, "alias" | "re-export" | "reexport") {
                    keep_alias = true;
                }
                i += 1;
            }
            _ => return None,
        }
    }
    let to = to?;
    // `shop.util.parse_price` names the module in its prefix.
    let (name, from) = split_dotted(&name, from);
    if let Err(error) = validate_identifier(&name) {
        return Some(Err(error));
    }
    Some(Ok(Intent::Move(Move {
        symbol,
        name,
        from,
        to,
        keep_alias,
    })))
}

/// `make [the] [function|method] [CLASS.]NAME async [in PATH]`,
/// `convert NAME and its callers to async`, `make the pricing module
/// async`, `make all functions in shop/pricing.py async`, `asyncify NAME`.
fn parse_async(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
    let mut i = 1;
    let mut name: Option<String> = None;
    let mut module_word = false;
    let mut module: Option<String> = None;
    let mut scope: Option<String> = None;
    let mut saw_async = lowered[0] == "asyncify";
    while i < tokens.len() {
        let word = if tokens[i].quoted {
            ""
        } else {
            lowered[i].as_str()
        };
        match word {
            "the" | "a" | "an" | "all" | "every" | "each" | "its" | "their" | "callers"
            | "caller" | "and" | "to" | "into" | "be" | "code" | "functions" | "function"
            | "func" | "def" | "method" | "methods" | "of" | "callees" | "call" | "graph"
            | "with" | "up" => i += 1,
            "module" | "package" | "file" => {
                module_word = true;
                i += 1;
            }
            "async" | "asynchronous" | "coroutine" | "coroutines" => {
                saw_async = true;
                i += 1;
            }
            "in" | "within" | "inside" | "under" | "from" => {
                let mut j = i + 1;
                while lowered
                    .get(j)
                    .is_some_and(|w| matches!(w.as_str(), "the" | "module" | "package" | "file"))
                {
                    j += 1;
                }
                let value = tokens.get(j)?.text.clone();
                j += 1;
                if matches!(
                    lowered.get(j).map(String::as_str),
                    Some("module" | "package" | "file")
                ) {
                    j += 1;
                }
                // `all functions in X` names the module; `NAME in X` a scope.
                if name.is_none() {
                    if module.is_some() {
                        return None;
                    }
                    module = Some(value);
                } else {
                    if scope.is_some() {
                        return None;
                    }
                    scope = Some(value);
                }
                i = j;
            }
            _ if name.is_none() && module.is_none() => {
                name = Some(strip_call(&tokens[i].text));
                i += 1;
            }
            _ => return None,
        }
    }
    if !saw_async {
        return None;
    }
    let looks_like_path = |n: &str| n.ends_with(".py") || n.contains('/');
    match (name, module) {
        (Some(name), None) if module_word || looks_like_path(&name) => {
            Some(Ok(Intent::MakeAsync(MakeAsync {
                function: None,
                class: None,
                module: Some(name),
                scope,
            })))
        }
        (None, Some(module)) => Some(Ok(Intent::MakeAsync(MakeAsync {
            function: None,
            class: None,
            module: Some(module),
            scope,
        }))),
        (Some(name), None) => {
            let (function, class, scope) = split_target(&name, scope)?;
            if let Err(error) = validate_identifier(&function) {
                return Some(Err(error));
            }
            Some(Ok(Intent::MakeAsync(MakeAsync {
                function: Some(function),
                class,
                module: None,
                scope,
            })))
        }
        _ => None,
    }
}

/// From token `i` on: `<to-word> [function|method] [CLASS.]FUNCTION` and an
/// optional `in PATH`, in either order; `to` lists the words that introduce
/// the function. Returns the function as written and the scope.
fn target_clauses(
    tokens: &[Token],
    lowered: &[String],
    mut i: usize,
    to: &[&str],
) -> Option<(String, Option<String>)> {
    let mut function = None;
    let mut scope = None;
    while i < tokens.len() {
        let word = if tokens[i].quoted {
            ""
        } else {
            lowered[i].as_str()
        };
        let skip = |mut j: usize, words: &[&str]| {
            while lowered.get(j).is_some_and(|w| words.contains(&w.as_str())) {
                j += 1;
            }
            j
        };
        if function.is_none() && to.contains(&word) {
            let j = skip(i + 1, &["function", "method", "def", "the"]);
            function = Some(strip_call(&tokens.get(j)?.text));
            i = j + 1;
        } else if scope.is_none() && matches!(word, "in" | "within" | "inside") {
            let j = skip(i + 1, &["the", "module", "package", "file"]);
            scope = Some(tokens.get(j)?.text.clone());
            i = j + 1;
        } else {
            return None;
        }
    }
    Some((function?, scope))
}

/// `[module.][Class.]function` into the function, its class (a capitalised
/// segment) and the scope (the module prefix, unless `scope` is given).
fn split_target(
    function: &str,
    scope: Option<String>,
) -> Option<(String, Option<String>, Option<String>)> {
    let mut parts: Vec<&str> = function.split('.').collect();
    let name = parts.pop()?.to_owned();
    let class = parts
        .last()
        .filter(|c| c.chars().next().is_some_and(char::is_uppercase))
        .map(|c| (*c).to_owned());
    if class.is_some() {
        parts.pop();
    }
    let scope = scope.or_else(|| (!parts.is_empty()).then(|| parts.join(".")));
    Some((name, class, scope))
}

/// `remove [the] parameter NAME from|of [function|method] [CLASS.]FUNCTION [in PATH]`.
fn parse_remove_parameter(tokens: &[Token], lowered: &[String]) -> Option<Intent> {
    let mut i = 1;
    while i < tokens.len()
        && !tokens[i].quoted
        && matches!(
            lowered[i].as_str(),
            "the" | "a" | "unused" | "parameter" | "param" | "argument" | "arg"
        )
    {
        i += 1;
    }
    let parameter = tokens.get(i)?.text.clone();
    i += 1;
    let (function, scope) = target_clauses(tokens, lowered, i, &["from", "of", "on"])?;
    validate_identifier(&parameter).ok()?;
    let (name, class, scope) = split_target(&function, scope)?;
    Some(Intent::RemoveParameter(RemoveParameter {
        parameter,
        function: name,
        class,
        scope,
    }))
}

/// `remove [all] [the] unused imports [in|from|under PATH]`, also
/// `clean up unused imports in PATH`, `drop imports that are unused`.
fn parse_cleanup(tokens: &[Token], lowered: &[String]) -> Option<Intent> {
    let mut i = 1;
    let mut unused = false;
    let mut imports = false;
    let mut functions = false;
    let mut scope = None;
    while i < tokens.len() {
        let word = if tokens[i].quoted {
            ""
        } else {
            lowered[i].as_str()
        };
        match word {
            "up" | "all" | "the" | "any" | "every" | "that" | "which" | "are" | "is"
            | "statements" | "statement" | "python" => i += 1,
            "unused" | "unneeded" | "unreferenced" | "dead" => {
                unused = true;
                i += 1;
            }
            "import" | "imports" => {
                imports = true;
                i += 1;
            }
            "private" | "internal" | "helper" | "helpers" | "function" | "functions" => {
                functions = functions || !matches!(word, "private" | "internal");
                i += 1;
            }
            "in" | "from" | "under" | "within" | "inside" | "across" | "of" if scope.is_none() => {
                let mut j = i + 1;
                while j < tokens.len()
                    && !tokens[j].quoted
                    && matches!(
                        lowered[j].as_str(),
                        "the" | "directory" | "folder" | "file" | "package" | "module"
                    )
                {
                    j += 1;
                }
                scope = Some(tokens.get(j)?.text.clone());
                j += 1;
                if matches!(
                    lowered.get(j).map(String::as_str),
                    Some("directory" | "folder" | "package" | "module" | "file")
                ) {
                    j += 1;
                }
                i = j;
            }
            _ => return None,
        }
    }
    match (unused, imports, functions) {
        (true, true, false) => Some(Intent::RemoveUnusedImports(Cleanup { scope })),
        (true, false, true) => Some(Intent::RemoveUnusedFunctions(Cleanup { scope })),
        _ => None,
    }
}

/// `replace [all] [occurrences of] `P` with `R` [in PATH] [in LANG files]`.
fn parse_replace(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
    let mut i = 1;
    while i < tokens.len()
        && !tokens[i].quoted
        && matches!(
            lowered[i].as_str(),
            "all" | "every" | "each" | "the" | "pattern" | "occurrences" | "occurrence" | "uses"
                | "calls" | "of" | "to"
        )
        // `change X to Y`: "to" is the separator once a pattern was seen.
        && !(lowered[i] == "to" && i == 1)
    {
        i += 1;
    }
    let pattern = tokens.get(i)?.text.clone();
    i += 1;
    let mut rewrite = None;
    let mut scope = None;
    let mut language = None;
    while i < tokens.len() {
        let word = lowered[i].as_str();
        match word {
            "with" | "by" | "to" | "into" | "->" | "=>"
                if !tokens[i].quoted && rewrite.is_none() =>
            {
                rewrite = Some(tokens.get(i + 1)?.text.clone());
                i += 2;
            }
            "in" | "under" | "within" | "inside" | "across" | "for" if !tokens[i].quoted => {
                let mut j = i + 1;
                while j < tokens.len()
                    && !tokens[j].quoted
                    && matches!(
                        lowered[j].as_str(),
                        "the" | "all" | "directory" | "folder" | "file" | "files"
                    )
                {
                    j += 1;
                }
                let value = tokens.get(j)?;
                let named = crate::lang::structural::language_named(&value.text);
                // A bare language name is the language (a directory called
                // `go` is written `go/`).
                let is_language = !value.quoted && named.is_some();
                if is_language {
                    if language.is_some() {
                        return None;
                    }
                    language = named.map(str::to_owned);
                    j += 1;
                    if matches!(
                        lowered.get(j).map(String::as_str),
                        Some("files" | "file" | "code" | "sources" | "source")
                    ) {
                        j += 1;
                    }
                } else {
                    if scope.is_some() {
                        return None;
                    }
                    scope = Some(value.text.clone());
                    j += 1;
                    if matches!(
                        lowered.get(j).map(String::as_str),
                        Some("directory" | "folder" | "module" | "package")
                    ) {
                        j += 1;
                    }
                }
                i = j;
            }
            "using" | "language" | "lang" if !tokens[i].quoted => {
                let value = tokens.get(i + 1)?;
                match crate::lang::structural::language_named(&value.text) {
                    Some(l) => language = Some(l.to_owned()),
                    None => return Some(Err(Error::Language(value.text.clone()))),
                }
                i += 2;
            }
            _ => return None,
        }
    }
    let rewrite = rewrite?;
    if pattern.trim().is_empty() {
        return None;
    }
    if pattern == rewrite {
        return Some(Err(Error::SamePattern));
    }
    Some(Ok(Intent::Replace(Replace {
        pattern,
        rewrite,
        scope,
        language,
    })))
}

/// `rename [the] module|file OLD [module] to|as NEW [module]`, and
/// `rename OLD.py to NEW.py`.
fn parse_rename_module(tokens: &[Token], lowered: &[String]) -> Option<Intent> {
    let mut i = 1;
    let mut module_word = false;
    while i < tokens.len()
        && !tokens[i].quoted
        && matches!(lowered[i].as_str(), "the" | "module" | "file" | "package")
    {
        module_word |= lowered[i] != "the";
        i += 1;
    }
    let old = tokens.get(i)?.text.clone();
    i += 1;
    if lowered
        .get(i)
        .is_some_and(|w| matches!(w.as_str(), "module" | "file"))
    {
        module_word = true;
        i += 1;
    }
    if !module_word && !old.ends_with(".py") {
        return None;
    }
    if !matches!(lowered.get(i)?.as_str(), "to" | "into" | "as" | "->") {
        return None;
    }
    let new = tokens.get(i + 1)?.text.clone();
    i += 2;
    if lowered
        .get(i)
        .is_some_and(|w| matches!(w.as_str(), "module" | "file"))
    {
        i += 1;
    }
    (i == tokens.len() && old != new).then_some(Intent::RenameModule(RenameModule { old, new }))
}

fn parse_rename(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
    if let Some(intent) = parse_rename_module(tokens, lowered) {
        return Some(Ok(intent));
    }
    let mut i = 1;
    let mut symbol = SymbolKind::Any;
    // Filler words and the kind of symbol.
    while i < tokens.len() && !tokens[i].quoted {
        match lowered[i].as_str() {
            "the" => i += 1,
            "function" | "def" | "func" | "fn" => {
                symbol = SymbolKind::Function;
                i += 1;
            }
            "class" => {
                symbol = SymbolKind::Class;
                i += 1;
            }
            "variable" | "var" | "constant" | "const" | "global" => {
                symbol = SymbolKind::Variable;
                i += 1;
            }
            "method" | "meth" => {
                symbol = SymbolKind::Method;
                i += 1;
            }
            "parameter" | "param" | "argument" | "arg" | "keyword" => {
                symbol = SymbolKind::Parameter;
                i += 1;
            }
            _ => break,
        }
    }
    let old = tokens.get(i)?.text.clone();
    i += 1;
    let mut scope = None;
    let mut new = None;
    let mut class = None;
    let mut function: Option<String> = None;
    while i < tokens.len() {
        let word = lowered[i].as_str();
        let value = tokens.get(i + 1).map(|t| t.text.clone());
        match word {
            // `parameter cents of add`, `parameter cents in method Cart.add`.
            "of" | "in" | "from" | "for"
                if !tokens[i].quoted
                    && symbol == SymbolKind::Parameter
                    && function.is_none()
                    && (word != "in" && word != "from"
                        || matches!(
                            lowered.get(i + 1).map(String::as_str),
                            Some("function" | "method" | "def" | "func")
                        )) =>
            {
                let mut j = i + 1;
                if matches!(
                    lowered.get(j).map(String::as_str),
                    Some("function" | "method" | "def" | "func")
                ) {
                    j += 1;
                }
                function = Some(tokens.get(j)?.text.clone());
                i = j + 1;
            }
            // `method total of Cart`, `method total in class Cart`.
            "of" | "on" | "in" | "from"
                if !tokens[i].quoted
                    && symbol == SymbolKind::Method
                    && class.is_none()
                    && (word != "in" && word != "from"
                        || lowered.get(i + 1).map(String::as_str) == Some("class")) =>
            {
                let mut j = i + 1;
                if lowered.get(j).map(String::as_str) == Some("class") {
                    j += 1;
                }
                class = Some(tokens.get(j)?.text.clone());
                i = j + 1;
            }
            "to" | "into" | "as" | "->" if !tokens[i].quoted && new.is_none() => {
                new = Some(value?);
                i += 2;
            }
            "in" | "from" | "within" | "inside" if !tokens[i].quoted && scope.is_none() => {
                let mut j = i + 1;
                // "in the shop.util module", "in module shop/util.py"
                while j < tokens.len()
                    && matches!(lowered[j].as_str(), "the" | "module" | "package" | "file")
                    && !tokens[j].quoted
                {
                    j += 1;
                }
                scope = Some(tokens.get(j)?.text.clone());
                j += 1;
                if j < tokens.len() && matches!(lowered[j].as_str(), "module" | "package" | "file")
                {
                    j += 1;
                }
                i = j;
            }
            _ => return None,
        }
    }
    let new = new?;
    if symbol == SymbolKind::Parameter {
        // `add.cents`, `Cart.add.cents`, `shop.cart.Cart.add.cents`, or
        // `cents of add` / `cents of Cart.add`.
        let mut path: Vec<String> = match &function {
            Some(f) => {
                let mut parts: Vec<String> = strip_call(f).split('.').map(str::to_owned).collect();
                parts.push(old.clone());
                parts
            }
            None => old.split('.').map(str::to_owned).collect(),
        };
        if path.len() < 2 {
            return None;
        }
        let parameter = path.pop()?;
        let (function, class, scope) = split_target(&strip_call(&path.join(".")), scope)?;
        return Some(
            build_rename(symbol, parameter, new, scope).map(|intent| match intent {
                Intent::Rename(mut rename) => {
                    rename.class = class;
                    rename.function = Some(function);
                    Intent::Rename(rename)
                }
                other => other,
            }),
        );
    }
    if symbol == SymbolKind::Method {
        // `Cart.total`, `shop.cart.Cart.total`.
        let (old, class, scope) = match (old.rsplit_once('.'), class) {
            (Some((prefix, name)), None) => {
                let (scope_part, class_part) = match prefix.rsplit_once('.') {
                    Some((module, class)) => (Some(module.to_owned()), class.to_owned()),
                    None => (None, prefix.to_owned()),
                };
                (name.to_owned(), Some(class_part), scope.or(scope_part))
            }
            (_, class) => (old, class, scope),
        };
        return Some(
            build_rename(symbol, old, new, scope).map(|intent| match intent {
                Intent::Rename(mut rename) => {
                    rename.class = class;
                    Intent::Rename(rename)
                }
                other => other,
            }),
        );
    }
    let (old, scope) = split_dotted(&old, scope);
    Some(build_rename(symbol, old, new, scope))
}

/// `shop.util.make_str` names the module in its prefix.
fn split_dotted(old: &str, scope: Option<String>) -> (String, Option<String>) {
    match old.rsplit_once('.') {
        Some((module, name)) if scope.is_none() && !module.is_empty() => {
            (name.to_owned(), Some(module.to_owned()))
        }
        _ => (old.to_owned(), scope),
    }
}

fn build_rename(
    symbol: SymbolKind,
    old: String,
    new: String,
    scope: Option<String>,
) -> Result<Intent, Error> {
    let old = strip_call(&old);
    let new = strip_call(&new);
    for name in [&old, &new] {
        validate_identifier(name)?;
    }
    if old == new {
        return Err(Error::SameName(old));
    }
    Ok(Intent::Rename(Rename {
        symbol,
        old,
        new,
        scope,
        class: None,
        function: None,
    }))
}

/// `make_str()` is a natural way to write a function's name.
fn strip_call(name: &str) -> String {
    name.strip_suffix("()").unwrap_or(name).to_owned()
}

/// Python's identifier rule (see [`names::validate_identifier`]), as a
/// command error.
pub(crate) fn validate_identifier(name: &str) -> Result<(), Error> {
    names::validate_identifier(name).map_err(|error| match error {
        names::NameError::Invalid { name } => Error::InvalidName { name },
        names::NameError::Keyword { name } => Error::Keyword { name },
    })
}

#[derive(Debug)]
struct Token {
    text: String,
    quoted: bool,
}

fn tokenize(command: &str) -> Result<Vec<Token>, Error> {
    let mut tokens = Vec::new();
    let mut chars = command.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || c == ',' {
            chars.next();
            continue;
        }
        if matches!(c, '`' | '"' | '\'') {
            chars.next();
            let mut text = String::new();
            let mut closed = false;
            for d in chars.by_ref() {
                if d == c {
                    closed = true;
                    break;
                }
                text.push(d);
            }
            if !closed {
                return Err(Error::Unbalanced(command.trim().to_owned()));
            }
            tokens.push(Token {
                text: text.trim().to_owned(),
                quoted: true,
            });
            continue;
        }
        let mut text = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_whitespace() || d == ',' {
                break;
            }
            text.push(d);
            chars.next();
        }
        tokens.push(Token {
            text,
            quoted: false,
        });
    }
    // A trailing full stop is prose, not part of a name.
    if let Some(last) = tokens.last_mut()
        && !last.quoted
        && last.text.ends_with('.')
    {
        last.text.pop();
        if last.text.is_empty() {
            tokens.pop();
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rename(symbol: SymbolKind, old: &str, new: &str, scope: Option<&str>) -> Intent {
        Intent::Rename(Rename {
            symbol,
            old: old.into(),
            new: new.into(),
            scope: scope.map(str::to_owned),
            class: None,
            function: None,
        })
    }

    #[test]
    fn rename_phrasings() {
        use SymbolKind::*;
        let cases = [
            (
                "rename make_str to make_text",
                rename(Any, "make_str", "make_text", None),
            ),
            (
                "rename function make_str to make_text",
                rename(Function, "make_str", "make_text", None),
            ),
            (
                "Rename the function `make_str` to `make_text`",
                rename(Function, "make_str", "make_text", None),
            ),
            (
                "rename class Price to Amount in shop/money.py",
                rename(Class, "Price", "Amount", Some("shop/money.py")),
            ),
            (
                "rename make_str in shop/util.py to make_text",
                rename(Any, "make_str", "make_text", Some("shop/util.py")),
            ),
            (
                "rename shop.util.make_str to make_text",
                rename(Any, "make_str", "make_text", Some("shop.util")),
            ),
            (
                "rename def make_str() into make_text()",
                rename(Function, "make_str", "make_text", None),
            ),
            (
                "rename 'make_str' to \"make_text\" in the shop.util module",
                rename(Any, "make_str", "make_text", Some("shop.util")),
            ),
            (
                "rename function make_str to make_text.",
                rename(Function, "make_str", "make_text", None),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    fn replace(
        pattern: &str,
        rewrite: &str,
        scope: Option<&str>,
        language: Option<&str>,
    ) -> Intent {
        Intent::Replace(Replace {
            pattern: pattern.into(),
            rewrite: rewrite.into(),
            scope: scope.map(str::to_owned),
            language: language.map(str::to_owned),
        })
    }

    #[test]
    fn replace_phrasings() {
        let join = "os.path.join($A, $B)";
        let path = "Path($A) / $B";
        let cases = [
            (
                "replace `os.path.join($A, $B)` with `Path($A) / $B` in src/",
                replace(join, path, Some("src/"), None),
            ),
            (
                "replace `os.path.join($A, $B)` with `Path($A) / $B`",
                replace(join, path, None, None),
            ),
            (
                "Replace all `os.path.join($A, $B)` by 'Path($A) / $B' in the src directory",
                replace(join, path, Some("src"), None),
            ),
            (
                "rewrite \"os.path.join($A, $B)\" to \"Path($A) / $B\" in python files",
                replace(join, path, None, Some("python")),
            ),
            (
                "replace calls to `console.log($$$A)` with `logger.info($$$A)` in web/ in ts files",
                replace(
                    "console.log($$$A)",
                    "logger.info($$$A)",
                    Some("web/"),
                    Some("typescript"),
                ),
            ),
            (
                "change `$X.unwrap()` to `$X?` in src/lib.rs",
                replace("$X.unwrap()", "$X?", Some("src/lib.rs"), None),
            ),
            (
                "replace `panic($E)` with `log.Fatal($E)` for golang",
                replace("panic($E)", "log.Fatal($E)", None, Some("go")),
            ),
            (
                "replace `print($$$ARGS)` with `log($$$ARGS)` using python",
                replace("print($$$ARGS)", "log($$$ARGS)", None, Some("python")),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
        assert_eq!(parse("replace `a` with `a`"), Err(Error::SamePattern));
        assert!(matches!(
            parse("replace `a` with"),
            Err(Error::Unknown { .. })
        ));
        assert!(matches!(
            parse("replace `a` with `b` using cobol"),
            Err(Error::Language(_))
        ));
        let intent = parse("replace `os.path.join($A, $B)` with `Path($A) / $B`").unwrap();
        assert_eq!(intent.slug(), "replace-os-path-join-a-b-with-path-a-b");
    }

    #[test]
    fn cleanup_phrasings() {
        let cleanup = |scope: Option<&str>| {
            Intent::RemoveUnusedImports(Cleanup {
                scope: scope.map(str::to_owned),
            })
        };
        let cases = [
            ("remove unused imports", cleanup(None)),
            ("remove unused imports in shop/", cleanup(Some("shop/"))),
            (
                "Remove all the unused imports from shop/util.py",
                cleanup(Some("shop/util.py")),
            ),
            (
                "delete unused imports in the shop package",
                cleanup(Some("shop")),
            ),
            ("clean up unused imports under src", cleanup(Some("src"))),
            (
                "drop imports that are unused in `src/app`",
                cleanup(Some("src/app")),
            ),
            ("remove unused import statements", cleanup(None)),
            (
                "prune unused python imports across lib/",
                cleanup(Some("lib/")),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
        assert!(matches!(
            parse("remove imports"),
            Err(Error::Unknown { .. })
        ));
        assert!(matches!(
            parse("remove unused code"),
            Err(Error::Unknown { .. })
        ));
        assert_eq!(
            parse("remove unused imports in shop/").unwrap().slug(),
            "remove-unused-imports-in-shop"
        );
    }

    /// At least 100 phrasings across every form orch understands.
    #[test]
    fn phrasing_table() {
        use SymbolKind::*;
        let r = |symbol, old: &str, new: &str, scope: Option<&str>| rename(symbol, old, new, scope);
        let m = |old: &str, new: &str, class: Option<&str>, scope: Option<&str>| {
            let mut intent = rename(Method, old, new, scope);
            if let Intent::Rename(r) = &mut intent {
                r.class = class.map(str::to_owned);
            }
            intent
        };
        let a = |old: &str, new: &str, function: &str, class: Option<&str>, scope: Option<&str>| {
            let mut intent = rename(Parameter, old, new, scope);
            if let Intent::Rename(r) = &mut intent {
                r.class = class.map(str::to_owned);
                r.function = Some(function.to_owned());
            }
            intent
        };
        let p = |pattern: &str, rewrite: &str, scope: Option<&str>, language: Option<&str>| {
            replace(pattern, rewrite, scope, language)
        };
        let add = |parameter: &str,
                   default: &str,
                   function: &str,
                   class: Option<&str>,
                   scope: Option<&str>| {
            Intent::AddParameter(AddParameter {
                parameter: parameter.into(),
                default: default.into(),
                function: function.into(),
                class: class.map(str::to_owned),
                scope: scope.map(str::to_owned),
            })
        };
        let fa = |function: &str, class: Option<&str>, scope: Option<&str>| {
            Intent::MakeAsync(MakeAsync {
                function: Some(function.into()),
                class: class.map(str::to_owned),
                module: None,
                scope: scope.map(str::to_owned),
            })
        };
        let mv = |symbol, name: &str, from: Option<&str>, to: &str, keep_alias| {
            Intent::Move(Move {
                symbol,
                name: name.into(),
                from: from.map(str::to_owned),
                to: to.into(),
                keep_alias,
            })
        };
        let rm = |old: &str, new: &str| {
            Intent::RenameModule(RenameModule {
                old: old.into(),
                new: new.into(),
            })
        };
        let ma = |module: &str| {
            Intent::MakeAsync(MakeAsync {
                function: None,
                class: None,
                module: Some(module.into()),
                scope: None,
            })
        };
        let rp = |parameter: &str, function: &str, class: Option<&str>, scope: Option<&str>| {
            Intent::RemoveParameter(RemoveParameter {
                parameter: parameter.into(),
                function: function.into(),
                class: class.map(str::to_owned),
                scope: scope.map(str::to_owned),
            })
        };
        let f = |scope: Option<&str>| {
            Intent::RemoveUnusedFunctions(Cleanup {
                scope: scope.map(str::to_owned),
            })
        };
        let c = |scope: Option<&str>| {
            Intent::RemoveUnusedImports(Cleanup {
                scope: scope.map(str::to_owned),
            })
        };
        let table: Vec<(&str, Intent)> = vec![
            // rename: kinds, quoting, scopes, dotted names, call syntax.
            (
                "rename make_str to make_text",
                r(Any, "make_str", "make_text", None),
            ),
            (
                "rename make_str as make_text",
                r(Any, "make_str", "make_text", None),
            ),
            (
                "rename make_str into make_text",
                r(Any, "make_str", "make_text", None),
            ),
            (
                "rename make_str -> make_text",
                r(Any, "make_str", "make_text", None),
            ),
            (
                "RENAME make_str TO make_text",
                r(Any, "make_str", "make_text", None),
            ),
            (
                "rename function make_str to make_text",
                r(Function, "make_str", "make_text", None),
            ),
            (
                "rename func make_str to make_text",
                r(Function, "make_str", "make_text", None),
            ),
            (
                "rename fn make_str to make_text",
                r(Function, "make_str", "make_text", None),
            ),
            (
                "rename def make_str to make_text",
                r(Function, "make_str", "make_text", None),
            ),
            (
                "rename the function make_str to make_text",
                r(Function, "make_str", "make_text", None),
            ),
            (
                "rename function `make_str` to `make_text`",
                r(Function, "make_str", "make_text", None),
            ),
            (
                "rename function 'make_str' to 'make_text'",
                r(Function, "make_str", "make_text", None),
            ),
            (
                "rename function \"make_str\" to \"make_text\"",
                r(Function, "make_str", "make_text", None),
            ),
            (
                "rename function make_str() to make_text()",
                r(Function, "make_str", "make_text", None),
            ),
            (
                "rename function `make_str()` to `make_text()`",
                r(Function, "make_str", "make_text", None),
            ),
            (
                "rename function make_str to make_text.",
                r(Function, "make_str", "make_text", None),
            ),
            (
                "  rename   function   make_str   to   make_text  ",
                r(Function, "make_str", "make_text", None),
            ),
            (
                "rename class Price to Amount",
                r(Class, "Price", "Amount", None),
            ),
            (
                "rename the class Price to Amount",
                r(Class, "Price", "Amount", None),
            ),
            (
                "rename class `Price` to `Amount`",
                r(Class, "Price", "Amount", None),
            ),
            (
                "rename class Price as Amount",
                r(Class, "Price", "Amount", None),
            ),
            (
                "rename variable WORD to WORD_RE",
                r(Variable, "WORD", "WORD_RE", None),
            ),
            (
                "rename constant WORD to WORD_RE",
                r(Variable, "WORD", "WORD_RE", None),
            ),
            (
                "rename const WORD to WORD_RE",
                r(Variable, "WORD", "WORD_RE", None),
            ),
            (
                "rename var WORD to WORD_RE",
                r(Variable, "WORD", "WORD_RE", None),
            ),
            (
                "rename global WORD to WORD_RE",
                r(Variable, "WORD", "WORD_RE", None),
            ),
            (
                "rename the constant `WIN` to `IS_WINDOWS`",
                r(Variable, "WIN", "IS_WINDOWS", None),
            ),
            (
                "rename make_str to make_text in shop/util.py",
                r(Any, "make_str", "make_text", Some("shop/util.py")),
            ),
            (
                "rename make_str to make_text in shop/",
                r(Any, "make_str", "make_text", Some("shop/")),
            ),
            (
                "rename make_str to make_text in shop",
                r(Any, "make_str", "make_text", Some("shop")),
            ),
            (
                "rename make_str to make_text in shop.util",
                r(Any, "make_str", "make_text", Some("shop.util")),
            ),
            (
                "rename make_str to make_text in the shop.util module",
                r(Any, "make_str", "make_text", Some("shop.util")),
            ),
            (
                "rename make_str to make_text in module shop.util",
                r(Any, "make_str", "make_text", Some("shop.util")),
            ),
            (
                "rename make_str to make_text in the shop package",
                r(Any, "make_str", "make_text", Some("shop")),
            ),
            (
                "rename make_str to make_text in file shop/util.py",
                r(Any, "make_str", "make_text", Some("shop/util.py")),
            ),
            (
                "rename make_str to make_text from shop/util.py",
                r(Any, "make_str", "make_text", Some("shop/util.py")),
            ),
            (
                "rename make_str to make_text within shop",
                r(Any, "make_str", "make_text", Some("shop")),
            ),
            (
                "rename make_str to make_text inside shop/util.py",
                r(Any, "make_str", "make_text", Some("shop/util.py")),
            ),
            (
                "rename make_str in shop/util.py to make_text",
                r(Any, "make_str", "make_text", Some("shop/util.py")),
            ),
            (
                "rename function make_str in shop.util to make_text",
                r(Function, "make_str", "make_text", Some("shop.util")),
            ),
            (
                "rename the function `make_str` to `make_text` in src/click",
                r(Function, "make_str", "make_text", Some("src/click")),
            ),
            (
                "rename shop.util.make_str to make_text",
                r(Any, "make_str", "make_text", Some("shop.util")),
            ),
            (
                "rename function shop.util.make_str to make_text",
                r(Function, "make_str", "make_text", Some("shop.util")),
            ),
            (
                "rename class shop.util.Price to Amount",
                r(Class, "Price", "Amount", Some("shop.util")),
            ),
            (
                "rename `shop.util.make_str` to `make_text`",
                r(Any, "make_str", "make_text", Some("shop.util")),
            ),
            (
                "rename _private to _hidden",
                r(Any, "_private", "_hidden", None),
            ),
            (
                "rename __dunder_like to plain",
                r(Any, "__dunder_like", "plain", None),
            ),
            ("rename café to coffee", r(Any, "café", "coffee", None)),
            (
                "rename make_str to make_text in 'my dir/util.py'",
                r(Any, "make_str", "make_text", Some("my dir/util.py")),
            ),
            (
                "rename class Option to CliOption in src/click/core.py",
                r(Class, "Option", "CliOption", Some("src/click/core.py")),
            ),
            (
                "rename method Cart.total to subtotal",
                m("total", "subtotal", Some("Cart"), None),
            ),
            (
                "rename method total of Cart to subtotal",
                m("total", "subtotal", Some("Cart"), None),
            ),
            (
                "rename method total in class Cart to subtotal",
                m("total", "subtotal", Some("Cart"), None),
            ),
            (
                "rename the method `total` of class `Cart` to `subtotal`",
                m("total", "subtotal", Some("Cart"), None),
            ),
            (
                "rename method total to subtotal",
                m("total", "subtotal", None, None),
            ),
            (
                "rename method total to subtotal in shop/cart.py",
                m("total", "subtotal", None, Some("shop/cart.py")),
            ),
            (
                "rename method shop.cart.Cart.total to subtotal",
                m("total", "subtotal", Some("Cart"), Some("shop.cart")),
            ),
            (
                "rename method Cart.total() to subtotal()",
                m("total", "subtotal", Some("Cart"), None),
            ),
            (
                "rename parameter cents of add to amount",
                a("cents", "amount", "add", None, None),
            ),
            (
                "rename parameter add.cents to amount",
                a("cents", "amount", "add", None, None),
            ),
            (
                "rename parameter cents of Cart.add to amount",
                a("cents", "amount", "add", Some("Cart"), None),
            ),
            (
                "rename param Cart.add.cents to amount",
                a("cents", "amount", "add", Some("Cart"), None),
            ),
            (
                "rename argument cents in function add to amount",
                a("cents", "amount", "add", None, None),
            ),
            (
                "rename the parameter `cents` of `describe()` to `value`",
                a("cents", "value", "describe", None, None),
            ),
            (
                "rename keyword label of describe to title in shop/util.py",
                a("label", "title", "describe", None, Some("shop/util.py")),
            ),
            (
                "rename parameter shop.util.describe.label to title",
                a("label", "title", "describe", None, Some("shop.util")),
            ),
            // replace: verbs, quoting, scopes, languages.
            (
                "replace `os.path.join($A, $B)` with `Path($A) / $B`",
                p("os.path.join($A, $B)", "Path($A) / $B", None, None),
            ),
            (
                "replace `os.path.join($A, $B)` with `Path($A) / $B` in src/",
                p("os.path.join($A, $B)", "Path($A) / $B", Some("src/"), None),
            ),
            (
                "replace `os.path.join($A, $B)` by `Path($A) / $B`",
                p("os.path.join($A, $B)", "Path($A) / $B", None, None),
            ),
            (
                "replace `os.path.join($A, $B)` -> `Path($A) / $B`",
                p("os.path.join($A, $B)", "Path($A) / $B", None, None),
            ),
            (
                "replace `os.path.join($A, $B)` => `Path($A) / $B`",
                p("os.path.join($A, $B)", "Path($A) / $B", None, None),
            ),
            (
                "replace all `os.path.join($A, $B)` with `Path($A) / $B`",
                p("os.path.join($A, $B)", "Path($A) / $B", None, None),
            ),
            (
                "replace every `print($X)` with `log($X)`",
                p("print($X)", "log($X)", None, None),
            ),
            (
                "replace each `print($X)` with `log($X)`",
                p("print($X)", "log($X)", None, None),
            ),
            (
                "replace all occurrences of `print($X)` with `log($X)`",
                p("print($X)", "log($X)", None, None),
            ),
            (
                "replace calls to `print($X)` with `log($X)`",
                p("print($X)", "log($X)", None, None),
            ),
            (
                "replace uses of `print($X)` with `log($X)`",
                p("print($X)", "log($X)", None, None),
            ),
            (
                "replace the pattern `print($X)` with `log($X)`",
                p("print($X)", "log($X)", None, None),
            ),
            (
                "rewrite `print($X)` to `log($X)`",
                p("print($X)", "log($X)", None, None),
            ),
            (
                "rewrite `print($X)` into `log($X)`",
                p("print($X)", "log($X)", None, None),
            ),
            (
                "substitute `print($X)` with `log($X)`",
                p("print($X)", "log($X)", None, None),
            ),
            (
                "change `print($X)` to `log($X)`",
                p("print($X)", "log($X)", None, None),
            ),
            (
                "change `print($X)` into `log($X)` in app/",
                p("print($X)", "log($X)", Some("app/"), None),
            ),
            (
                "replace 'print($X)' with 'log($X)'",
                p("print($X)", "log($X)", None, None),
            ),
            (
                "replace \"print($X)\" with \"log($X)\"",
                p("print($X)", "log($X)", None, None),
            ),
            (
                "replace `print($$$ARGS)` with `log($$$ARGS)`",
                p("print($$$ARGS)", "log($$$ARGS)", None, None),
            ),
            (
                "replace `print($X)` with `log($X)` in python files",
                p("print($X)", "log($X)", None, Some("python")),
            ),
            (
                "replace `print($X)` with `log($X)` in py files",
                p("print($X)", "log($X)", None, Some("python")),
            ),
            (
                "replace `print($X)` with `log($X)` in python code",
                p("print($X)", "log($X)", None, Some("python")),
            ),
            (
                "replace `print($X)` with `log($X)` for python",
                p("print($X)", "log($X)", None, Some("python")),
            ),
            (
                "replace `print($X)` with `log($X)` using python",
                p("print($X)", "log($X)", None, Some("python")),
            ),
            (
                "replace `print($X)` with `log($X)` language python",
                p("print($X)", "log($X)", None, Some("python")),
            ),
            (
                "replace `print($X)` with `log($X)` in src/ in python files",
                p("print($X)", "log($X)", Some("src/"), Some("python")),
            ),
            (
                "replace `print($X)` with `log($X)` in python files in src/",
                p("print($X)", "log($X)", Some("src/"), Some("python")),
            ),
            (
                "replace `$X.unwrap()` with `$X?` in rust files",
                p("$X.unwrap()", "$X?", None, Some("rust")),
            ),
            (
                "replace `$X.unwrap()` with `$X?` in rs files",
                p("$X.unwrap()", "$X?", None, Some("rust")),
            ),
            (
                "replace `console.log($$$A)` with `logger.info($$$A)` in javascript files",
                p(
                    "console.log($$$A)",
                    "logger.info($$$A)",
                    None,
                    Some("javascript"),
                ),
            ),
            (
                "replace `console.log($$$A)` with `logger.info($$$A)` in js files",
                p(
                    "console.log($$$A)",
                    "logger.info($$$A)",
                    None,
                    Some("javascript"),
                ),
            ),
            (
                "replace `parseInt($S)` with `Number($S)` in typescript files",
                p("parseInt($S)", "Number($S)", None, Some("typescript")),
            ),
            (
                "replace `parseInt($S)` with `Number($S)` in ts files",
                p("parseInt($S)", "Number($S)", None, Some("typescript")),
            ),
            (
                "replace `parseInt($S)` with `Number($S)` in tsx files",
                p("parseInt($S)", "Number($S)", None, Some("tsx")),
            ),
            (
                "replace `panic($E)` with `log.Fatal($E)` in go files",
                p("panic($E)", "log.Fatal($E)", None, Some("go")),
            ),
            (
                "replace `panic($E)` with `log.Fatal($E)` in golang code",
                p("panic($E)", "log.Fatal($E)", None, Some("go")),
            ),
            (
                "replace `panic($E)` with `log.Fatal($E)` in go/",
                p("panic($E)", "log.Fatal($E)", Some("go/"), None),
            ),
            (
                "replace `print($X)` with `` in scripts/",
                p("print($X)", "", Some("scripts/"), None),
            ),
            (
                "replace `f($X)` with `g($X)` in the src directory",
                p("f($X)", "g($X)", Some("src"), None),
            ),
            (
                "replace `f($X)` with `g($X)` under lib",
                p("f($X)", "g($X)", Some("lib"), None),
            ),
            (
                "replace `f($X)` with `g($X)` within lib/core.py",
                p("f($X)", "g($X)", Some("lib/core.py"), None),
            ),
            (
                "replace `f($X)` with `g($X)` across packages/",
                p("f($X)", "g($X)", Some("packages/"), None),
            ),
            (
                "Replace `f($X)` with `g($X)`.",
                p("f($X)", "g($X)", None, None),
            ),
            // cleanup.
            ("remove unused imports", c(None)),
            ("remove unused imports in shop/", c(Some("shop/"))),
            (
                "remove unused imports from shop/util.py",
                c(Some("shop/util.py")),
            ),
            ("remove the unused imports in shop", c(Some("shop"))),
            ("remove all unused imports", c(None)),
            ("remove all the unused imports under src", c(Some("src"))),
            ("remove any unused imports within lib/", c(Some("lib/"))),
            ("remove unused import statements in shop/", c(Some("shop/"))),
            ("remove unneeded imports", c(None)),
            ("remove unreferenced imports in shop/", c(Some("shop/"))),
            ("remove dead imports", c(None)),
            ("delete unused imports", c(None)),
            ("delete unused imports in the shop package", c(Some("shop"))),
            ("drop unused imports", c(None)),
            (
                "drop imports that are unused in src/app",
                c(Some("src/app")),
            ),
            ("strip unused imports from tools/", c(Some("tools/"))),
            ("clean up unused imports", c(None)),
            ("clean up unused imports in shop/", c(Some("shop/"))),
            ("cleanup unused imports", c(None)),
            ("prune unused python imports across lib/", c(Some("lib/"))),
            (
                "tidy unused imports in the tests directory",
                c(Some("tests")),
            ),
            (
                "Remove unused imports in `src/my app`",
                c(Some("src/my app")),
            ),
            ("remove imports which are unused", c(None)),
            (
                "remove unused imports in shop/util.py.",
                c(Some("shop/util.py")),
            ),
            ("REMOVE UNUSED IMPORTS", c(None)),
            ("remove unused private functions", f(None)),
            (
                "remove parameter timeout from fetch",
                rp("timeout", "fetch", None, None),
            ),
            (
                "remove the parameter `timeout` of `fetch()`",
                rp("timeout", "fetch", None, None),
            ),
            (
                "delete argument cents from method Cart.add",
                rp("cents", "add", Some("Cart"), None),
            ),
            (
                "drop param label from describe in shop/util.py",
                rp("label", "describe", None, Some("shop/util.py")),
            ),
            (
                "remove unreferenced private functions in shop/",
                f(Some("shop/")),
            ),
            (
                "delete dead helper functions from src/app",
                f(Some("src/app")),
            ),
            (
                "remove unused internal functions in the shop package",
                f(Some("shop")),
            ),
            (
                "add parameter timeout=30 to fetch",
                add("timeout", "30", "fetch", None, None),
            ),
            (
                "add a parameter timeout = 30 to fetch",
                add("timeout", "30", "fetch", None, None),
            ),
            (
                "add an optional parameter `timeout=30` to function `fetch`",
                add("timeout", "30", "fetch", None, None),
            ),
            (
                "add keyword argument verbose with default False to Cart.add",
                add("verbose", "False", "add", Some("Cart"), None),
            ),
            (
                "add parameter retries defaulting to 3 to fetch() in net/client.py",
                add("retries", "3", "fetch", None, Some("net/client.py")),
            ),
            (
                "add parameter label='x' to shop.util.describe",
                add("label", "'x'", "describe", None, Some("shop.util")),
            ),
            ("make fetch_rates async", fa("fetch_rates", None, None)),
            (
                "convert fetch_rates and its callers to async",
                fa("fetch_rates", None, None),
            ),
            (
                "make the function `fetch_rates` async in shop/",
                fa("fetch_rates", None, Some("shop/")),
            ),
            (
                "make method Client.get asynchronous",
                fa("get", Some("Client"), None),
            ),
            ("asyncify fetch_rates()", fa("fetch_rates", None, None)),
            (
                "turn shop.rates.fetch into a coroutine",
                fa("fetch", None, Some("shop.rates")),
            ),
            (
                "change fetch_rates to async in the rates module",
                fa("fetch_rates", None, Some("rates")),
            ),
            ("make the pricing module async", ma("pricing")),
            ("make module shop.pricing async", ma("shop.pricing")),
            ("make shop/pricing.py async", ma("shop/pricing.py")),
            (
                "make all functions in shop/pricing.py async",
                ma("shop/pricing.py"),
            ),
            (
                "convert every function of the pricing module to async",
                ma("pricing"),
            ),
            ("make the `shop/tax/` package async", ma("shop/tax/")),
            (
                "move parse_price from shop/util.py to shop/money.py",
                mv(
                    Any,
                    "parse_price",
                    Some("shop/util.py"),
                    "shop/money.py",
                    false,
                ),
            ),
            (
                "move function parse_price to shop/money.py",
                mv(Function, "parse_price", None, "shop/money.py", false),
            ),
            (
                "move class PriceList into the lists module",
                mv(Class, "PriceList", None, "lists", false),
            ),
            (
                "move shop.util.slug to shop/text.py and keep an alias",
                mv(Any, "slug", Some("shop.util"), "shop/text.py", true),
            ),
            (
                "move `parse_price()` out of the util module into money, leaving a re-export",
                mv(Any, "parse_price", Some("util"), "money", true),
            ),
            (
                "rename module store.util to store.helpers",
                rm("store.util", "store.helpers"),
            ),
            (
                "rename store/util.py to store/text.py",
                rm("store/util.py", "store/text.py"),
            ),
            ("rename the util module to helpers", rm("util", "helpers")),
            (
                "rename file `shop/util.py` as tools.py",
                rm("shop/util.py", "tools.py"),
            ),
            (
                "relocate class Cart from shop/cart.py to shop/models.py",
                mv(Class, "Cart", Some("shop/cart.py"), "shop/models.py", false),
            ),
        ];
        assert!(table.len() >= 100, "{} phrasings", table.len());
        for (text, expected) in table {
            assert_eq!(parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn suggestions_name_the_closest_form() {
        assert!(suggest("renmae foo bar").starts_with("closest form: rename ["));
        assert!(suggest("replace foo").starts_with("closest form: replace `"));
        assert!(suggest("delete unused stuff").starts_with("closest form: remove unused"));
        assert!(suggest("make everything faster").starts_with("closest form: make"));
        assert!(suggest("frobnicate everything").contains("orch understands:"));
    }

    #[test]
    fn refusals() {
        assert!(matches!(
            parse("make everything faster"),
            Err(Error::Unknown { .. })
        ));
        assert!(matches!(
            parse("rename make_str"),
            Err(Error::Unknown { .. })
        ));
        assert!(matches!(parse(""), Err(Error::Unknown { .. })));
        assert!(matches!(
            parse("rename a to class"),
            Err(Error::Keyword { .. })
        ));
        assert!(matches!(
            parse("rename a to 9lives"),
            Err(Error::InvalidName { .. })
        ));
        assert!(matches!(parse("rename a to a"), Err(Error::SameName(_))));
        assert!(matches!(parse("rename `a to b"), Err(Error::Unbalanced(_))));
    }

    #[test]
    fn slug_is_branch_safe() {
        let intent = parse("rename function make_str to make_text").unwrap();
        assert_eq!(intent.slug(), "rename-make-str-to-make-text");
    }
}
