//! The parser: tokens (quotes and back-ticks group words, filler words
//! dropped), then one function per command form, tried in turn.

use super::token::{Token, tokenize};
use super::*;
use crate::lang::python::names;

mod refactors;
use refactors::*;

/// Parses a command: as it is, else as [`super::normalize::normalize`] puts it (so the
/// forms the parser reads keep their meaning).
pub(crate) fn parse(command: &str) -> Result<Intent, Error> {
    let tokens = tokenize(command)?;
    match parse_tokens(command, tokens.clone()) {
        Err(Error::Unknown { .. }) => {
            let normalized = super::normalize::normalize(tokens.clone());
            if normalized == tokens {
                return parse_tokens(command, tokens);
            }
            match parse_tokens(command, normalized) {
                Ok(intent) => Ok(intent),
                Err(_) => parse_tokens(command, tokens),
            }
        }
        parsed => parsed,
    }
}

fn parse_tokens(command: &str, tokens: Vec<Token>) -> Result<Intent, Error> {
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
        "move" | "put" | "place"
            if lowered.iter().zip(&tokens).any(|(w, t)| {
                !t.quoted && matches!(w.as_str(), "parameter" | "param" | "argument" | "arg")
            }) =>
        {
            parse_reorder(&tokens, &lowered).ok_or_else(unknown)?
        }
        "inline" => match parse_inline(&tokens, &lowered) {
            Some(intent) => intent,
            None => parse_inline_function(&tokens, &lowered).ok_or_else(unknown)?,
        },
        "extract" | "pull" | "factor" | "lift" | "refactor"
            if first != "refactor"
                || lowered.get(1).is_some_and(|w| {
                    matches!(w.as_str(), "lines" | "line" | "out" | "the" | "expression")
                }) =>
        {
            parse_extract(&tokens, &lowered).ok_or_else(unknown)?
        }
        "swap" | "switch" | "exchange" | "flip" => {
            parse_swap(&tokens, &lowered).ok_or_else(unknown)?
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
        "safe" | "safely"
            if matches!(
                lowered.get(1).map(String::as_str),
                Some("delete" | "remove" | "drop")
            ) =>
        {
            parse_safe_delete(&tokens, &lowered, 2).ok_or_else(unknown)?
        }
        "safe-delete" => parse_safe_delete(&tokens, &lowered, 1).ok_or_else(unknown)?,
        "remove" | "delete" | "drop" | "strip" | "clean" | "cleanup" | "prune" | "tidy" => {
            match parse_cleanup(&tokens, &lowered) {
                Some(cleanup) => Ok(cleanup),
                None if matches!(first.as_str(), "remove" | "delete" | "drop") => {
                    parse_safe_delete(&tokens, &lowered, 1).ok_or_else(unknown)?
                }
                None => Err(unknown()),
            }
        }
        "add" | "introduce" => parse_add_parameter(&tokens, &lowered).ok_or_else(unknown)?,
        _ => Err(unknown()),
    }
}

/// `add [a|an|the] [optional|keyword] parameter NAME=DEFAULT to
/// [function|method] [CLASS.]FUNCTION [in PATH]`; also `NAME = DEFAULT`,
/// `NAME with default DEFAULT`, `NAME defaulting to DEFAULT`.
pub(super) fn parse_add_parameter(
    tokens: &[Token],
    lowered: &[String],
) -> Option<Result<Intent, Error>> {
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
    // `a strict=False parameter to describe`.
    if first.contains('=') {
        i = skip_words(tokens, lowered, i, PARAMETER_WORDS);
    }
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
pub(super) fn parse_move(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
    let mut i = 1;
    let mut symbol = SymbolKind::Any;
    while i < tokens.len() && !tokens[i].quoted {
        match lowered[i].as_str() {
            "the" => i += 1,
            // "the symbol X" (but `rename name to title` renames `name`).
            "symbol" | "name" | "identifier"
                if !matches!(
                    lowered.get(i + 1).map(String::as_str),
                    Some("to" | "into" | "as" | "->") | None
                ) =>
            {
                i += 1
            }
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
pub(super) fn parse_async(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
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
pub(super) fn target_clauses(
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
pub(super) fn split_target(
    function: &str,
    scope: Option<String>,
) -> Option<(String, Option<String>, Option<String>)> {
    let mut parts: Vec<&str> = function.split('.').collect();
    let name = parts.pop()?.to_owned();
    let class = parts
        .last()
        .filter(|c| {
            c.trim_start_matches('_')
                .chars()
                .next()
                .is_some_and(char::is_uppercase)
        })
        .map(|c| (*c).to_owned());
    if class.is_some() {
        parts.pop();
    }
    let scope = scope.or_else(|| (!parts.is_empty()).then(|| parts.join(".")));
    Some((name, class, scope))
}

/// `remove [the] parameter NAME from|of [function|method] [CLASS.]FUNCTION [in PATH]`.
pub(super) fn parse_remove_parameter(tokens: &[Token], lowered: &[String]) -> Option<Intent> {
    let i = skip_words(
        tokens,
        lowered,
        1,
        &[
            "the",
            "a",
            "unused",
            "parameter",
            "param",
            "argument",
            "arg",
        ],
    );
    let parameter = tokens.get(i)?.text.clone();
    // `the label argument from describe`, `... parameter in describe`.
    let i = skip_words(tokens, lowered, i + 1, PARAMETER_WORDS);
    let (function, scope) = target_clauses(tokens, lowered, i, &["from", "of", "on", "in"])?;
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
pub(super) fn parse_cleanup(tokens: &[Token], lowered: &[String]) -> Option<Intent> {
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
pub(super) fn parse_replace(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
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
    for text in [&pattern, &rewrite] {
        if nesting(text) > MAX_NESTING {
            return Some(Err(Error::TooDeep {
                depth: nesting(text),
            }));
        }
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
pub(super) fn parse_rename_module(tokens: &[Token], lowered: &[String]) -> Option<Intent> {
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

pub(super) fn parse_rename(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
    if let Some(intent) = parse_rename_module(tokens, lowered) {
        return Some(Ok(intent));
    }
    let mut i = 1;
    let mut symbol = SymbolKind::Any;
    // Filler words and the kind of symbol.
    while i < tokens.len() && !tokens[i].quoted {
        match lowered[i].as_str() {
            "the" => i += 1,
            // "the symbol X" (but `rename name to title` renames `name`).
            "symbol" | "name" | "identifier"
                if !matches!(
                    lowered.get(i + 1).map(String::as_str),
                    Some("to" | "into" | "as" | "->") | None
                ) =>
            {
                i += 1
            }
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
            "method" | "meth" | "property" => {
                symbol = SymbolKind::Method;
                i += 1;
            }
            "attribute" | "attr" | "field" | "member" if symbol == SymbolKind::Any => {
                symbol = SymbolKind::Attribute;
                i += 1;
            }
            // "the instance attribute", "the class attribute".
            "instance" | "data"
                if matches!(
                    lowered.get(i + 1).map(String::as_str),
                    Some("attribute" | "attr" | "field" | "member" | "variable")
                ) =>
            {
                symbol = SymbolKind::Attribute;
                i += 2;
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
                    && matches!(symbol, SymbolKind::Method | SymbolKind::Attribute)
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
    if matches!(symbol, SymbolKind::Method | SymbolKind::Attribute) {
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
pub(super) fn split_dotted(old: &str, scope: Option<String>) -> (String, Option<String>) {
    match old.rsplit_once('.') {
        Some((module, name)) if scope.is_none() && !module.is_empty() => {
            (name.to_owned(), Some(module.to_owned()))
        }
        _ => (old.to_owned(), scope),
    }
}

pub(super) fn build_rename(
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
pub(super) fn strip_call(name: &str) -> String {
    name.strip_suffix("()").unwrap_or(name).to_owned()
}

/// Python's identifier rule (see [`names::validate_identifier`]), as a
/// command error.
pub(crate) fn validate_identifier(name: &str) -> Result<(), Error> {
    names::validate_identifier(name).map_err(|error| match error {
        names::NameError::Invalid { name } => Error::InvalidName { name },
        names::NameError::Keyword { name } => Error::Keyword { name },
        error @ names::NameError::NotNormalized { .. } => Error::Name(error),
    })
}

pub(super) const PARAMETER_WORDS: &[&str] = &["parameter", "param", "argument", "arg"];

/// The first token from `i` on that is not one of `words` (a quoted token
/// is never skipped).
pub(super) fn skip_words(
    tokens: &[Token],
    lowered: &[String],
    mut i: usize,
    words: &[&str],
) -> usize {
    while lowered
        .get(i)
        .is_some_and(|w| !tokens[i].quoted && words.contains(&w.as_str()))
    {
        i += 1;
    }
    i
}

/// The deepest pattern nesting orch takes: matching recurses over the
/// pattern, and thousands of levels overflow a thread's stack. (Real
/// patterns nest a handful of levels.)
const MAX_NESTING: usize = 256;

/// How deeply brackets nest in `text`.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for c in text.chars() {
        match c {
            '(' | '[' | '{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}
