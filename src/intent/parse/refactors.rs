//! The forms of the refactors beyond renames, replacements, moves,
//! signatures and async: safe delete, reordering and swapping parameters,
//! inline (variable and function) and extract.

use super::*;

/// `[safe] delete|remove [the] [unused] [function|class|method|variable]
/// [CLASS.]NAME [in PATH] [if unused]`, from token `i` (after the verb).
pub(super) fn parse_safe_delete(
    tokens: &[Token],
    lowered: &[String],
    mut i: usize,
) -> Option<Result<Intent, Error>> {
    let mut symbol = SymbolKind::Any;
    while i < tokens.len() && !tokens[i].quoted {
        match lowered[i].as_str() {
            "the" | "a" | "an" | "unused" | "unreferenced" | "dead" | "obsolete" => i += 1,
            "function" | "def" => {
                symbol = SymbolKind::Function;
                i += 1;
            }
            "class" => {
                symbol = SymbolKind::Class;
                i += 1;
            }
            "method" => {
                symbol = SymbolKind::Method;
                i += 1;
            }
            "variable" | "constant" | "global" => {
                symbol = SymbolKind::Variable;
                i += 1;
            }
            _ => break,
        }
    }
    let target = strip_call(&tokens.get(i)?.text);
    i += 1;
    let mut scope = None;
    while i < tokens.len() {
        let word = if tokens[i].quoted {
            ""
        } else {
            lowered[i].as_str()
        };
        match word {
            "in" | "from" | "within" | "inside" if scope.is_none() => {
                let mut j = i + 1;
                while lowered
                    .get(j)
                    .is_some_and(|w| matches!(w.as_str(), "the" | "module" | "file" | "package"))
                {
                    j += 1;
                }
                scope = Some(tokens.get(j)?.text.clone());
                i = j + 1;
                if matches!(
                    lowered.get(i).map(String::as_str),
                    Some("module" | "file" | "package")
                ) {
                    i += 1;
                }
            }
            // "if unused", "if nothing uses it", "safely", "everywhere".
            "if" | "when" | "unless" => i = tokens.len(),
            "safely" | "everywhere" => i += 1,
            _ => return None,
        }
    }
    let (name, class, scope) = split_target(&target, scope)?;
    // Without a kind, an English word is no name (`remove unused code`,
    // `delete imports`).
    if symbol == SymbolKind::Any && class.is_none() && NOT_NAMES.contains(&name.as_str()) {
        return None;
    }
    if let Err(error) = validate_identifier(&name) {
        return Some(Err(error));
    }
    // `Cart.total`: a method.
    let symbol = match (&class, symbol) {
        (Some(_), SymbolKind::Any) => SymbolKind::Method,
        (_, symbol) => symbol,
    };
    if symbol == SymbolKind::Method && class.is_none() {
        return None;
    }
    Some(Ok(Intent::SafeDelete(SafeDelete {
        symbol,
        name,
        class,
        scope,
    })))
}

/// `move|put [the] parameter P before|after [the parameter] Q in|of
/// [function|method] [CLASS.]F [in PATH]` (also `the P parameter`).
pub(super) fn parse_reorder(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
    let skip = |i: usize, words: &[&str]| skip_words(tokens, lowered, i, words);
    let mut i = skip(1, &["the", "a", "parameter", "param", "argument", "arg"]);
    let parameter = tokens.get(i)?.text.clone();
    i = skip(i + 1, PARAMETER_WORDS);
    let placement = match lowered.get(i).map(String::as_str) {
        Some("before" | "ahead") => "before",
        Some("after" | "behind") => "after",
        _ => return None,
    };
    i = skip(
        i + 1,
        &["of", "the", "parameter", "param", "argument", "arg"],
    );
    let other = tokens.get(i)?.text.clone();
    i = skip(i + 1, PARAMETER_WORDS);
    let (function, scope) = target_clauses(tokens, lowered, i, &["in", "of", "on", "for"])?;
    reorder_intent(function, scope, parameter, other, placement)
}

/// `swap|switch [the] parameters [A and B] of|in [function|method]
/// [CLASS.]F [in PATH]`; without names, the function's only two.
pub(super) fn parse_swap(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
    let mut i = skip_words(tokens, lowered, 1, &["the", "two"]);
    if !matches!(
        lowered.get(i).map(String::as_str),
        Some("parameters" | "params" | "arguments" | "args")
    ) {
        return None;
    }
    i += 1;
    let (parameter, other) = if matches!(
        lowered.get(i).map(String::as_str),
        Some("of" | "in" | "for" | "on")
    ) {
        (String::new(), String::new())
    } else {
        let first = tokens.get(i)?.text.clone();
        if lowered.get(i + 1).map(String::as_str) != Some("and") {
            return None;
        }
        let second = tokens.get(i + 2)?.text.clone();
        i += 3;
        (first, second)
    };
    let (function, scope) = target_clauses(tokens, lowered, i, &["of", "in", "for", "on"])?;
    reorder_intent(function, scope, parameter, other, "swap")
}

/// `inline [the] [variable|local] NAME in|of [function|method]
/// [CLASS.]FUNCTION [in PATH]`.
pub(super) fn parse_inline(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
    // `inline [the] function ...`, `inline calls to ...`: a function.
    if lowered.iter().skip(1).take(2).any(|w| {
        matches!(
            w.as_str(),
            "function" | "func" | "def" | "helper" | "calls" | "call" | "all" | "every"
        )
    }) {
        return None;
    }
    let i = skip_words(
        tokens,
        lowered,
        1,
        &["the", "variable", "var", "local", "temporary", "temp"],
    );
    let name = tokens.get(i)?.text.clone();
    let i = skip_words(tokens, lowered, i + 1, &["variable", "var", "local"]);
    let (function, scope) = target_clauses(tokens, lowered, i, &["in", "of", "inside", "within"])?;
    // `inline NAME in shop/util.py`: a function, in a file.
    if function.ends_with(".py") || function.contains('/') {
        return None;
    }
    if let Err(error) = validate_identifier(&name) {
        return Some(Err(error));
    }
    let (function, class, scope) = split_target(&function, scope)?;
    Some(Ok(Intent::InlineVariable(InlineVariable {
        name,
        function,
        class,
        scope,
    })))
}

/// `extract [lines] A-B of|in|from PATH into|as [a|the|new] function|method
/// [named|called] NAME`, `extract function|method NAME from lines A-B of
/// PATH`, `extract PATH:A-B into ...`, `extract [the expression] `EXPR` in
/// [CLASS.]FUNCTION [in PATH] into ...`; also `pull ... out`, `factor out`.
/// A range is `12-18`, `12..18`, `12:18` or `12 to|through 18`.
pub(super) fn parse_extract(tokens: &[Token], lowered: &[String]) -> Option<Result<Intent, Error>> {
    const FILLER: &[&str] = &[
        "out",
        "the",
        "a",
        "an",
        "new",
        "code",
        "block",
        "statements",
        "statement",
        "this",
        "these",
        "expression",
        "please",
    ];
    let range = |text: &str| -> Option<(usize, usize)> {
        let text = text.trim_start_matches(['L', 'l']);
        for separator in ["..", "-", ":", "–"] {
            if let Some((a, b)) = text.split_once(separator) {
                let a = a.trim_start_matches(['L', 'l']).parse().ok()?;
                let b = b.trim_start_matches(['L', 'l']).parse().ok()?;
                return Some((a, b));
            }
        }
        let one: usize = text.parse().ok()?;
        Some((one, one))
    };
    let mut name: Option<String> = None;
    let mut method: Option<bool> = None;
    let mut lines: Option<(usize, usize)> = None;
    let mut path: Option<String> = None;
    let mut expression: Option<String> = None;
    let mut function: Option<String> = None;
    let mut scope: Option<String> = None;
    let mut i = 1;
    let kind_word = |w: &str| match w {
        "function" | "func" | "def" | "helper" => Some(false),
        "method" => Some(true),
        _ => None,
    };
    while i < tokens.len() {
        let token = &tokens[i];
        let word = if token.quoted {
            ""
        } else {
            lowered[i].as_str()
        };
        if token.quoted {
            if expression.is_some() {
                return None;
            }
            expression = Some(token.text.clone());
            i += 1;
            continue;
        }
        if FILLER.contains(&word) {
            i += 1;
            continue;
        }
        match word {
            "lines" | "line" => {
                let first = tokens.get(i + 1)?;
                match range(&first.text) {
                    Some((a, b))
                        if a != b
                            || !matches!(
                                lowered.get(i + 2).map(String::as_str),
                                Some("to" | "through" | "thru" | "until" | "-")
                            ) =>
                    {
                        lines = Some((a, b));
                        i += 2;
                    }
                    Some((a, _)) => {
                        let b = range(&tokens.get(i + 3)?.text)?.0;
                        lines = Some((a, b));
                        i += 4;
                    }
                    None => return None,
                }
            }
            "of" | "in" | "from" | "inside" | "within" | "at" => {
                let j = skip_words(
                    tokens,
                    lowered,
                    i + 1,
                    &["the", "file", "module", "function", "method", "def"],
                );
                let value = tokens.get(j)?;
                let is_path = value.text.ends_with(".py")
                    || value.text.contains('/')
                    || value.text.contains(".py:");
                if let Some((file, spot)) = value.text.rsplit_once(':')
                    && let Some(found) = range(spot)
                    && file.ends_with(".py")
                {
                    path = Some(file.to_owned());
                    lines = Some(found);
                } else if value.quoted {
                    return None;
                } else if lowered[j] == "lines" || lowered[j] == "line" {
                    // `from lines 12-18 of ...`
                    i = j;
                    continue;
                } else if lines.is_some() && path.is_none()
                    || is_path && (lines.is_some() || function.is_some())
                {
                    if lines.is_some() && path.is_none() {
                        path = Some(value.text.clone());
                    } else {
                        scope = Some(value.text.clone());
                    }
                } else if expression.is_some() && function.is_none() {
                    function = Some(strip_call(&value.text));
                } else if function.is_some() && scope.is_none() {
                    scope = Some(value.text.clone());
                } else {
                    return None;
                }
                i = j + 1;
            }
            "into" | "as" | "to" => {
                let mut j = skip_words(
                    tokens,
                    lowered,
                    i + 1,
                    &["a", "an", "the", "new", "its", "own"],
                );
                if let Some(kind) = lowered.get(j).and_then(|w| kind_word(w)) {
                    method = Some(kind);
                    j += 1;
                }
                j = skip_words(tokens, lowered, j, &["named", "called"]);
                if let Some(next) = tokens.get(j)
                    && !next.quoted
                    && !matches!(lowered[j].as_str(), "of" | "in" | "from")
                {
                    name = Some(strip_call(&next.text));
                    j += 1;
                }
                i = j;
            }
            "named" | "called" => {
                name = Some(strip_call(&tokens.get(i + 1)?.text));
                i += 2;
            }
            _ => {
                if let Some(kind) = kind_word(word) {
                    method = Some(kind);
                    // `extract method NAME from ...`
                    if name.is_none()
                        && let Some(next) = tokens.get(i + 1)
                        && !next.quoted
                        && !matches!(
                            lowered[i + 1].as_str(),
                            "of" | "in" | "from" | "named" | "called" | "lines" | "line"
                        )
                    {
                        name = Some(strip_call(&next.text));
                        i += 2;
                        continue;
                    }
                    i += 1;
                } else if let Some((file, spot)) = token.text.rsplit_once(':')
                    && file.ends_with(".py")
                    && let Some(found) = range(spot)
                {
                    path = Some(file.to_owned());
                    lines = Some(found);
                    i += 1;
                } else {
                    return None;
                }
            }
        }
    }
    let name = name?;
    if let Err(error) = validate_identifier(&name) {
        return Some(Err(error));
    }
    let method = method.unwrap_or(false);
    let intent = match (lines, path, expression, function) {
        (Some((first, last)), Some(path), None, None) => {
            if first == 0 || last < first {
                return Some(Err(Error::LineRange { first, last }));
            }
            Extract {
                name,
                method,
                path: Some(path),
                first_line: Some(first),
                last_line: Some(last),
                expression: None,
                function: None,
                class: None,
                scope: None,
            }
        }
        (None, None, Some(expression), Some(function)) => {
            let (function, class, scope) = split_target(&function, scope)?;
            Extract {
                name,
                method,
                path: None,
                first_line: None,
                last_line: None,
                expression: Some(expression),
                function: Some(function),
                class,
                scope,
            }
        }
        _ => return None,
    };
    Some(Ok(Intent::Extract(intent)))
}

/// `inline [the] [function|helper] NAME [everywhere] [in PATH]`, `inline
/// [all] calls to|of NAME`.
pub(super) fn parse_inline_function(
    tokens: &[Token],
    lowered: &[String],
) -> Option<Result<Intent, Error>> {
    const LEAD: &[&str] = &[
        "the", "all", "every", "each", "calls", "call", "uses", "to", "of", "function", "func",
        "def", "helper",
    ];
    let i = skip_words(tokens, lowered, 1, LEAD);
    let name = tokens.get(i).filter(|t| !t.quoted)?;
    let mut i = skip_words(
        tokens,
        lowered,
        i + 1,
        &["function", "helper", "everywhere", "calls", "call"],
    );
    let mut scope = None;
    if matches!(
        lowered.get(i).map(String::as_str),
        Some("in" | "from" | "within" | "inside")
    ) {
        let j = skip_words(tokens, lowered, i + 1, &["the", "module", "file"]);
        scope = Some(tokens.get(j)?.text.clone());
        i = skip_words(tokens, lowered, j + 1, &["module", "file", "everywhere"]);
    }
    if i != tokens.len() {
        return None;
    }
    let (name, scope) = split_dotted(&strip_call(&name.text), scope);
    if let Err(error) = validate_identifier(&name) {
        return Some(Err(error));
    }
    Some(Ok(Intent::InlineFunction(InlineFunction { name, scope })))
}

fn reorder_intent(
    function: String,
    scope: Option<String>,
    parameter: String,
    other: String,
    placement: &str,
) -> Option<Result<Intent, Error>> {
    for name in [&parameter, &other] {
        if !name.is_empty()
            && let Err(error) = validate_identifier(name)
        {
            return Some(Err(error));
        }
    }
    let (function, class, scope) = split_target(&function, scope)?;
    Some(Ok(Intent::ReorderParameters(ReorderParameters {
        function,
        class,
        scope,
        parameter,
        other,
        placement: placement.to_owned(),
    })))
}

/// Words that follow "remove"/"delete" in requests that are not a safe
/// delete of one name.
const NOT_NAMES: &[&str] = &[
    "import",
    "imports",
    "code",
    "function",
    "functions",
    "class",
    "classes",
    "method",
    "methods",
    "everything",
    "all",
    "it",
    "this",
    "that",
    "them",
    "these",
    "those",
    "unused",
    "dead",
    "file",
    "files",
    "comment",
    "comments",
    "whitespace",
    "duplicates",
    "duplicate",
    "test",
    "tests",
    "line",
    "lines",
    "blank",
    "parameter",
    "parameters",
    "argument",
    "arguments",
    "helpers",
    "helper",
    "variables",
    "constants",
];
