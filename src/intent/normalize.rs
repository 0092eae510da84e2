//! The ways people say a command, put into the forms the parser reads:
//! one rule at a time over the words, so that the rules compose. The
//! parser tries a command as it is first, so a command it reads keeps its
//! meaning.

use super::token::Token;

fn word(text: &str) -> Token {
    Token {
        text: text.to_owned(),
        quoted: false,
    }
}

/// Whether token `i` is the unquoted word `w` (any case).
fn is(tokens: &[Token], i: usize, words: &[&str]) -> bool {
    tokens
        .get(i)
        .is_some_and(|t| !t.quoted && words.iter().any(|w| t.text.eq_ignore_ascii_case(w)))
}

/// Puts the ways people say a command into the form the parser reads,
/// one rule at a time over the words (quoted text is never touched), so
/// that they compose: politeness and trailing filler go, arrows are "to",
/// "X should be called Y" and "change the name of X to Y" are renames,
/// "the X function" is "function X", "the P argument of F" is "parameter P
/// of F", "C's m method" and "the m method of C" are "method C.m", "give F
/// a P=V argument" adds a parameter, "get rid of" removes, "rewrite A as B"
/// replaces, and "refactor the M module to use async patterns" makes it
/// async.
pub(super) fn normalize(mut tokens: Vec<Token>) -> Vec<Token> {
    // Leading politeness, repeatedly ("please, could you ...").
    loop {
        let skip = [
            &["please"][..],
            &["kindly"],
            &["could", "you"],
            &["can", "you"],
            &["would", "you"],
            &["i", "want", "to"],
            &["i'd", "like", "to"],
            &["i", "would", "like", "to"],
            &["let's"],
            &["go", "ahead", "and"],
            &["we", "should"],
            &["i", "need", "to"],
            &["orch"],
        ]
        .iter()
        .find(|phrase| phrase.iter().enumerate().all(|(i, w)| is(&tokens, i, &[w])))
        .map_or(0, |phrase| phrase.len());
        if skip == 0 {
            break;
        }
        tokens.drain(..skip);
    }
    // Trailing filler.
    loop {
        let n = tokens.len();
        let strip = if n >= 1
            && is(
                &tokens,
                n - 1,
                &["please", "everywhere", "thanks", "instead"],
            ) {
            1
        } else if n >= 3
            && is(&tokens, n - 3, &["throughout", "across"])
            && is(&tokens, n - 2, &["the"])
            && is(
                &tokens,
                n - 1,
                &["project", "code", "codebase", "repo", "repository"],
            )
        {
            3
        } else if n >= 2 && is(&tokens, n - 2, &["thank"]) && is(&tokens, n - 1, &["you"]) {
            2
        } else {
            0
        };
        if strip == 0 || strip >= n {
            break;
        }
        tokens.truncate(n - strip);
    }
    // Arrows.
    for token in &mut tokens {
        if !token.quoted && matches!(token.text.as_str(), "→" | "->" | "=>" | "⇒" | "⟶") {
            token.text = "to".to_owned();
        }
    }
    // "X should be called/named/renamed [to] Y", "X should become Y".
    if let Some(at) = (1..tokens.len()).find(|&i| is(&tokens, i, &["should", "must", "shall"])) {
        let mut j = at + 1;
        if is(&tokens, j, &["be"]) {
            j += 1;
        }
        if is(&tokens, j, &["called", "named", "renamed", "become"]) {
            j += 1;
            if is(&tokens, j, &["to"]) {
                j += 1;
            }
            let mut old: Vec<Token> = tokens[..at].to_vec();
            if is(&old, 0, &["the"]) {
                old.remove(0);
            }
            let mut out = vec![word("rename")];
            out.extend(old);
            out.push(word("to"));
            out.extend(tokens[j..].iter().cloned());
            tokens = out;
        }
    }
    // "change/update the name of X to Y", "call X Y".
    if is(&tokens, 0, &["change", "update", "alter"])
        && is(&tokens, 1, &["the"])
        && is(&tokens, 2, &["name"])
        && is(&tokens, 3, &["of"])
    {
        tokens.splice(..4, [word("rename")]);
    } else if is(&tokens, 0, &["call"]) && tokens.len() == 3 {
        tokens.insert(2, word("to"));
        tokens[0] = word("rename");
    }
    // "get rid of" is "remove".
    if is(&tokens, 0, &["get"]) && is(&tokens, 1, &["rid"]) && is(&tokens, 2, &["of"]) {
        tokens.splice(..3, [word("remove")]);
    }
    // "give F a [new] [optional|keyword] argument|parameter P=V".
    if is(&tokens, 0, &["give"]) && tokens.len() >= 4 {
        let function = tokens[1].clone();
        let mut j = 2;
        while is(
            &tokens,
            j,
            &[
                "a", "an", "the", "new", "optional", "keyword", "extra", "another",
            ],
        ) {
            j += 1;
        }
        if is(
            &tokens,
            j,
            &["argument", "parameter", "param", "arg", "kwarg"],
        ) && j + 1 < tokens.len()
        {
            let mut out = vec![word("add"), word("parameter")];
            out.extend(tokens[j + 1..].iter().cloned());
            out.push(word("to"));
            out.push(function);
            tokens = out;
        }
    }
    // "rewrite/transform A as/into B" with quoted A and B: a replace.
    if is(&tokens, 0, &["rewrite", "transform", "turn", "convert"])
        && tokens.get(1).is_some_and(|t| t.quoted)
        && is(&tokens, 2, &["as", "into", "to"])
        && tokens.get(3).is_some_and(|t| t.quoted)
    {
        tokens[0] = word("replace");
        tokens[2] = word("with");
    }
    // "refactor/update/convert/rewrite the M module to use async
    // patterns / to be asynchronous": make the M module async.
    let asynchronous = tokens.iter().any(|t| {
        !t.quoted
            && [
                "async",
                "asynchronous",
                "asyncio",
                "coroutine",
                "coroutines",
            ]
            .iter()
            .any(|w| t.text.eq_ignore_ascii_case(w))
    });
    if asynchronous
        && is(
            &tokens,
            0,
            &["refactor", "update", "rewrite", "port", "migrate"],
        )
    {
        let module = (1..tokens.len()).find(|&i| is(&tokens, i, &["module", "package"]));
        match module {
            Some(i) if i >= 2 && is(&tokens, i - 2, &["the"]) => {
                tokens = vec![
                    word("make"),
                    word("the"),
                    tokens[i - 1].clone(),
                    word("module"),
                    word("async"),
                ];
            }
            _ => tokens[0] = word("make"),
        }
    }
    if is(&tokens, 0, &["rename"]) {
        normalize_rename(&mut tokens);
    }
    tokens
}

/// The words after "rename": "all occurrences of" goes, "the X function"
/// is "function X", "the P argument of F" is "parameter P of F", "C's m
/// method" and "the m method of C" are "method C.m".
fn normalize_rename(tokens: &mut Vec<Token>) {
    const KINDS: &[&str] = &[
        "function",
        "class",
        "method",
        "variable",
        "constant",
        "symbol",
        "attribute",
        "field",
        "property",
    ];
    // "all/every occurrence(s)/use(s)/reference(s) of".
    if is(tokens, 1, &["all", "every", "each"])
        && is(
            tokens,
            2,
            &[
                "occurrences",
                "occurrence",
                "uses",
                "use",
                "references",
                "reference",
                "instances",
            ],
        )
        && is(tokens, 3, &["of", "to"])
    {
        tokens.drain(1..4);
    }
    // "the X <kind> [of C]".
    let mut i = 1;
    if is(tokens, i, &["the"]) {
        i += 1;
    }
    let Some(name) = tokens.get(i).cloned() else {
        return;
    };
    if name.quoted || KINDS.iter().any(|k| name.text.eq_ignore_ascii_case(k)) {
        if i == 2 {
            // "rename the function X": the article goes.
            tokens.remove(1);
        }
        return;
    }
    // Possessive: "Cart's total method".
    if let Some(owner) = name
        .text
        .strip_suffix("'s")
        .or_else(|| name.text.strip_suffix("’s"))
        && is(
            tokens,
            i + 2,
            &["method", "attribute", "function", "field", "property"],
        )
    {
        let member = tokens[i + 1].text.clone();
        let joined = word(&format!("{owner}.{member}"));
        let kind = if is(tokens, i + 2, &["attribute", "field"]) {
            "attribute"
        } else {
            "method"
        };
        tokens.splice(1..i + 3, [word(kind), joined]);
        return;
    }
    if is(tokens, i + 1, &["argument", "parameter", "param", "arg"])
        && is(tokens, i + 2, &["of", "in"])
    {
        // "the P argument of F": parameter P of F.
        let mut out = vec![word("rename"), word("parameter"), name, word("of")];
        out.extend(tokens[i + 3..].iter().cloned());
        *tokens = out;
        return;
    }
    if let Some(kind) = tokens
        .get(i + 1)
        .filter(|t| !t.quoted && KINDS.iter().any(|k| t.text.eq_ignore_ascii_case(k)))
    {
        let kind = word(&kind.text.to_ascii_lowercase());
        if matches!(
            kind.text.as_str(),
            "method" | "attribute" | "field" | "property"
        ) && is(tokens, i + 2, &["of", "in", "on"])
            && i + 3 < tokens.len()
        {
            // "the m method of C": method C.m.
            let joined = word(&format!("{}.{}", tokens[i + 3].text, name.text));
            let mut out = vec![word("rename"), kind, joined];
            out.extend(tokens[i + 4..].iter().cloned());
            *tokens = out;
            return;
        }
        let mut out = vec![word("rename"), kind, name];
        out.extend(tokens[i + 2..].iter().cloned());
        *tokens = out;
    }
}
