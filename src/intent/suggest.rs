//! What to say when a command is not understood: the closest form.

use super::*;

pub(super) fn form_index(verb: &str) -> usize {
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
    let mut text = String::new();
    let filled = did_you_mean(command);
    // The form of the first filled-in command, when there is one.
    let closest = match filled.first() {
        Some(first) => FORMS
            .iter()
            .max_by(|a, b| {
                strsim::jaro_winkler(first, a).total_cmp(&strsim::jaro_winkler(first, b))
            })
            .copied()
            .unwrap_or(closest),
        None => closest,
    };
    if !filled.is_empty() {
        let quoted: Vec<String> = filled.iter().map(|c| format!("`{c}`")).collect();
        text.push_str(&format!("did you mean: {}\n", quoted.join(" or ")));
    }
    text.push_str(&format!(
        "closest form: {closest}\norch understands: {}",
        FORMS.join("; ")
    ));
    text
}

/// Words of a request that are not names: verbs, articles, filler and the
/// kinds of thing a command names.
const NOT_NAMES: &[&str] = &[
    "a",
    "all",
    "an",
    "and",
    "argument",
    "arguments",
    "as",
    "async",
    "asynchronous",
    "be",
    "by",
    "call",
    "called",
    "calls",
    "change",
    "class",
    "code",
    "could",
    "coroutine",
    "drop",
    "every",
    "everywhere",
    "for",
    "from",
    "function",
    "get",
    "give",
    "have",
    "in",
    "instead",
    "into",
    "is",
    "it",
    "its",
    "keyword",
    "make",
    "method",
    "module",
    "move",
    "name",
    "named",
    "new",
    "now",
    "of",
    "old",
    "on",
    "optional",
    "param",
    "parameter",
    "patterns",
    "please",
    "refactor",
    "remove",
    "rename",
    "rid",
    "should",
    "so",
    "that",
    "the",
    "then",
    "this",
    "to",
    "turn",
    "use",
    "using",
    "variable",
    "want",
    "we",
    "with",
    "would",
    "you",
    "occurrences",
    "called",
    "known",
    "renamed",
    "lines",
    "line",
    "inline",
    "inlined",
    "inlining",
    "extract",
    "take",
    "them",
    "really",
    "i",
    "at",
    "site",
    "sites",
    "pull",
    "out",
    "attribute",
    "attr",
    "field",
    "member",
    "helper",
    "local",
    "body",
];

/// The names a request mentions, in order: code-like words (with `_`, `.`,
/// `=`, `/`, a digit or a capital) first, then other words that are not
/// filler.
fn names_in(command: &str) -> Vec<String> {
    let cleaned: String = command
        .chars()
        .map(|c| {
            if matches!(c, '`' | '"' | '\'' | ',' | '(' | ')' | '?' | '!') {
                ' '
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned
        .replace("->", " ")
        .replace('→', " ")
        .replace("=>", " ");
    let mut names: Vec<String> = Vec::new();
    for word in cleaned.split_whitespace() {
        let word = word.trim_end_matches(['.', ':', ';']);
        let lowered = word.to_ascii_lowercase();
        let plain = word
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '=' | '/' | '-'));
        let possessive = lowered.ends_with("'s");
        if word.is_empty() || !plain || possessive || NOT_NAMES.contains(&lowered.as_str()) {
            continue;
        }
        if !names.iter().any(|n| n == word) {
            names.push(word.to_owned());
        }
    }
    names
}

fn code_like(word: &str) -> bool {
    word.chars()
        .any(|c| matches!(c, '_' | '.' | '=' | '/') || c.is_ascii_digit() || c.is_uppercase())
}

/// Up to three commands orch does understand, made of the request's own
/// names and the refactor its words point to; each one parses.
pub(crate) fn did_you_mean(command: &str) -> Vec<String> {
    let lowered = command.to_ascii_lowercase();
    let has = |words: &[&str]| {
        lowered
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| words.contains(&w))
    };
    let mut names = names_in(command);
    // Code-like names first (a stray English word is less likely meant).
    names.sort_by_key(|n| !code_like(n));
    let mut candidates: Vec<String> = Vec::new();
    // Two quoted snippets: a pattern and its rewrite.
    let snippets: Vec<&str> = command.split('`').skip(1).step_by(2).collect();
    if let [pattern, rewrite, ..] = snippets.as_slice() {
        candidates.push(format!("replace `{pattern}` with `{rewrite}`"));
    }
    let first = names.first().cloned().unwrap_or_default();
    let second = names.get(1).cloned().unwrap_or_default();
    if has(&["async", "asynchronous", "coroutine", "coroutines", "await"]) && !first.is_empty() {
        if has(&["module"]) {
            candidates.push(format!("make the {first} module async"));
        }
        candidates.push(format!("make {first} async"));
    }
    if has(&["argument", "parameter", "param", "keyword", "kwarg"]) && names.len() >= 2 {
        let (value, function) = match names.iter().position(|n| n.contains('=')) {
            Some(i) => (names[i].clone(), names[if i == 0 { 1 } else { 0 }].clone()),
            None => (first.clone(), second.clone()),
        };
        if has(&["remove", "drop", "delete", "rid"]) {
            let name = value.split('=').next().unwrap_or(&value).to_owned();
            candidates.push(format!("remove parameter {name} from {function}"));
        } else if value.contains('=') {
            candidates.push(format!("add parameter {value} to {function}"));
        } else if has(&["rename", "call", "called", "name", "named"]) && names.len() >= 3 {
            candidates.push(format!(
                "rename parameter {first} of {} to {second}",
                names[2]
            ));
        }
    }
    // Parameters in another order: two named and their function, or the
    // function alone (its only two).
    if has(&["swap", "switch", "exchange", "reorder", "order", "flip"])
        && has(&[
            "argument",
            "arguments",
            "parameter",
            "parameters",
            "params",
            "args",
            "order",
        ])
    {
        // "A and B of|in F", else "of|in F" at the end.
        let words: Vec<&str> = command
            .split(|c: char| c.is_whitespace() || c == ',' || c == '?' || c == '!')
            .filter(|w| !w.is_empty())
            .map(|w| w.trim_end_matches('.'))
            .collect();
        let function = words
            .iter()
            .rposition(|w| matches!(w.to_ascii_lowercase().as_str(), "of" | "in" | "for" | "on"))
            .and_then(|i| {
                words[i + 1..].iter().find(|w| {
                    !matches!(
                        w.to_ascii_lowercase().as_str(),
                        "the" | "function" | "method"
                    )
                })
            });
        let pair = words
            .iter()
            .position(|w| w.eq_ignore_ascii_case("and"))
            .and_then(|i| Some((*words.get(i.checked_sub(1)?)?, *words.get(i + 1)?)));
        match (pair, function) {
            (Some((a, b)), Some(function)) => {
                candidates.push(format!("swap parameters {a} and {b} of {function}"));
            }
            (None, Some(function)) => {
                candidates.push(format!("swap the parameters of {function}"));
            }
            _ => {}
        }
    }
    // One code-like name and a word for taking it away: a safe delete.
    if has(&[
        "delete", "remove", "drop", "rid", "erase", "unused", "dead", "obsolete",
    ]) && !has(&["import", "imports", "argument", "parameter", "param"])
        && code_like(&first)
        && names.iter().filter(|n| code_like(n)).count() == 1
    {
        candidates.push(format!("safe delete {first}"));
    }
    // Lines of a file into a new function: a range, a `.py` path, a name.
    let range = names
        .iter()
        .find(|n| {
            n.split_once('-')
                .is_some_and(|(a, b)| a.parse::<usize>().is_ok() && b.parse::<usize>().is_ok())
        })
        .cloned();
    if let Some(range) = range
        && let Some(path) = names.iter().find(|n| n.ends_with(".py"))
        && let Some(name) = names.iter().find(|n| {
            *n != &range
                && *n != path
                && !n.chars().all(|c| c.is_ascii_digit())
                && !n.eq_ignore_ascii_case("lines")
        })
    {
        let kind = if has(&["method"]) {
            "method"
        } else {
            "function"
        };
        candidates.push(format!(
            "extract lines {range} of {path} into {kind} {name}"
        ));
    }
    // Inlining: a function, or a local in a function.
    if has(&["inline", "inlined", "inlining"]) && !first.is_empty() {
        if names.len() >= 2 && has(&["variable", "local", "in"]) && !second.ends_with(".py") {
            candidates.push(format!("inline variable {first} in {second}"));
        }
        candidates.push(format!("inline function {first}"));
    }
    // An attribute (`C.x`, or "the x attribute/field of C"), in the order
    // the words came.
    let said = names_in(command);
    if has(&["attribute", "attr", "field", "member"]) && said.len() >= 2 {
        if said[0].contains('.') {
            candidates.push(format!("rename attribute {} to {}", said[0], said[1]));
        } else if said.len() >= 3 && said[1].chars().next().is_some_and(char::is_uppercase) {
            candidates.push(format!(
                "rename attribute {}.{} to {}",
                said[1], said[0], said[2]
            ));
        }
    }
    if has(&["move", "relocate", "transfer", "put"]) && names.len() >= 2 {
        candidates.push(format!("move {first} to {second}"));
    }
    if has(&["unused", "dead"]) && has(&["import", "imports"]) {
        candidates.push("remove unused imports".to_owned());
    }
    // A rename of the first name to the second, when the words say so or
    // the names look like code (two English words are no guess to make).
    let renaming = has(&[
        "rename", "renamed", "call", "called", "name", "named", "become", "known", "as",
    ]);
    if names.len() >= 2 && (renaming || code_like(&first)) {
        let (old, new) = (&first, &second);
        if old.contains('.') && old.chars().next().is_some_and(char::is_uppercase) {
            candidates.push(format!("rename method {old} to {new}"));
        } else if old.chars().next().is_some_and(char::is_uppercase) {
            candidates.push(format!("rename class {old} to {new}"));
        } else {
            candidates.push(format!("rename function {old} to {new}"));
        }
        candidates.push(format!("rename {old} to {new}"));
    }
    let mut out: Vec<String> = Vec::new();
    for candidate in candidates {
        if super::parse(&candidate).is_ok() && !out.contains(&candidate) {
            out.push(candidate);
        }
        if out.len() == 3 {
            break;
        }
    }
    out
}
