//! Structural search and replace with ast-grep-core: a pattern with
//! metavariables (`$X` one node, `$$$ARGS` any number of nodes) is matched
//! against the syntax tree, and each match is replaced by the rewrite with
//! the captured text substituted, as the ast-grep CLI does. Also the
//! syntax-error count REVIEW compares before and after, for every language
//! orch edits.

use std::path::Path;

use ast_grep_core::matcher::Pattern;
use ast_grep_core::replacer::TemplateFix;
use ast_grep_core::tree_sitter::LanguageExt;
use ast_grep_language::SupportLang;
use serde::{Deserialize, Serialize};

use crate::edit::Edit;

/// The languages orch rewrites (the grammars it is built with).
pub(crate) const LANGUAGES: [(&str, &[&str], SupportLang); 6] = [
    ("python", &["py", "pyi"], SupportLang::Python),
    ("rust", &["rs"], SupportLang::Rust),
    (
        "javascript",
        &["js", "mjs", "cjs", "jsx"],
        SupportLang::JavaScript,
    ),
    ("typescript", &["ts", "mts", "cts"], SupportLang::TypeScript),
    ("tsx", &["tsx"], SupportLang::Tsx),
    ("go", &["go"], SupportLang::Go),
];

/// The language of a file, from its extension.
pub(crate) fn language_of(path: &str) -> Option<(&'static str, SupportLang)> {
    let extension = Path::new(path).extension()?.to_str()?;
    LANGUAGES
        .iter()
        .find(|(_, extensions, _)| extensions.contains(&extension))
        .map(|(name, _, lang)| (*name, *lang))
}

/// A language by the name a user gives it (`python`, `py`, `ts`, `golang`...).
pub(crate) fn language_named(name: &str) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    let canonical = match name.as_str() {
        "py" | "python" | "python3" => "python",
        "rs" | "rust" => "rust",
        "js" | "javascript" | "jsx" | "node" => "javascript",
        "ts" | "typescript" => "typescript",
        "tsx" => "tsx",
        "go" | "golang" => "go",
        _ => return None,
    };
    Some(canonical)
}

/// File extensions of the named languages (all orch's when `None`).
/// TypeScript includes TSX: a user who says "typescript" means both.
pub(crate) fn extensions(language: Option<&str>) -> Vec<String> {
    LANGUAGES
        .iter()
        .filter(|(name, _, _)| match language {
            None => true,
            Some("typescript") => matches!(*name, "typescript" | "tsx"),
            Some(l) => *name == l,
        })
        .flat_map(|(_, extensions, _)| extensions.iter().map(|e| format!(".{e}")))
        .collect()
}

fn edits_of(
    grep: &ast_grep_core::AstGrep<ast_grep_core::tree_sitter::StrDoc<SupportLang>>,
    pattern: &Pattern,
    fix: &TemplateFix,
) -> Vec<(usize, usize, String)> {
    grep.root()
        .find_all(pattern)
        .map(|found| {
            let edit = found.make_edit(pattern, fix);
            (
                edit.position,
                edit.position + edit.deleted_length,
                String::from_utf8_lossy(&edit.inserted_text).into_owned(),
            )
        })
        .collect()
}

/// Whether `source` has `word` delimited by non-identifier characters.
pub(crate) fn has_word(source: &str, word: &str) -> bool {
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = source.as_bytes();
    source.match_indices(word).any(|(at, _)| {
        let end = at + word.len();
        (at == 0 || !is_ident(bytes[at - 1])) && (end == bytes.len() || !is_ident(bytes[end]))
    })
}

/// Replacements whose result does not parse, left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub(crate) struct Refused {
    pub line: usize,
    pub column: usize,
    pub old: String,
    pub new: String,
}

/// The replacements of one file that keep it parsing, and those that would
/// not (each tried alone against the file's own error count).
pub(crate) fn safe_replacements(
    lang: SupportLang,
    source: &str,
    replacements: Vec<Edit>,
    errors_before: usize,
) -> (Vec<Edit>, Vec<Refused>) {
    // Edits that cannot even be applied count as not parsing.
    let parses = |chosen: &[&Edit]| {
        crate::edit::apply(source, chosen.iter().copied())
            .is_ok_and(|out| syntax_errors(lang, &out) <= errors_before)
    };
    let refusal = |r: Edit| Refused {
        line: r.line,
        column: r.column(source),
        old: r.old,
        new: r.new,
    };
    let all: Vec<&Edit> = replacements.iter().collect();
    if parses(&all) {
        return (replacements, Vec::new());
    }
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for r in replacements {
        if parses(&[&r]) {
            kept.push(r);
        } else {
            refused.push(refusal(r));
        }
    }
    // Each alone parses; together they must too (they do not overlap, so
    // this only fails for interacting contexts): keep none if not.
    let together: Vec<&Edit> = kept.iter().collect();
    if !kept.is_empty() && !parses(&together) {
        refused.extend(kept.drain(..).map(refusal));
        refused.sort_by_key(|r| (r.line, r.column));
    }
    (kept, refused)
}

/// Why a pattern cannot be used for a language.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Error {
    #[error("the pattern `{pattern}` is not valid {language}: {message}")]
    Pattern {
        pattern: String,
        language: &'static str,
        message: String,
    },
    #[error(
        "the rewrite uses {names} which the pattern does not capture (the pattern has: {known})"
    )]
    UnknownVariables { names: String, known: String },
}

/// A compiled pattern and rewrite for one language.
pub(crate) struct Rewriter {
    lang: SupportLang,
    pattern: Pattern,
    fix: TemplateFix,
}

impl Rewriter {
    pub(crate) fn new(
        language: &'static str,
        lang: SupportLang,
        pattern: &str,
        rewrite: &str,
    ) -> Result<Self, Error> {
        let compiled = Pattern::try_new(pattern, lang).map_err(|e| Error::Pattern {
            pattern: pattern.to_owned(),
            language,
            message: e.to_string(),
        })?;
        if compiled.has_error() {
            return Err(Error::Pattern {
                pattern: pattern.to_owned(),
                language,
                message: "it does not parse".into(),
            });
        }
        check_variables(pattern, rewrite)?;
        let fix = TemplateFix::try_new(rewrite, &lang).map_err(|e| Error::Pattern {
            pattern: rewrite.to_owned(),
            language,
            message: e.to_string(),
        })?;
        Ok(Rewriter {
            lang,
            pattern: compiled,
            fix,
        })
    }

    /// The replacements in `source`, in order, one per outermost match.
    /// A match nested inside another (in one of its captures) is rewritten
    /// too, inside the outer match's replacement: innermost matches first,
    /// then, round by round, the matches that enclose a rewrite (never
    /// matches inside text a rewrite inserted, so a rewrite that contains
    /// its own pattern does not loop).
    pub(crate) fn replacements(&self, source: &str) -> Vec<Edit> {
        self.replacements_and_errors(source).0
    }

    /// [`Rewriter::replacements`], and the syntax error count of `source`
    /// from the same parse.
    pub(crate) fn replacements_and_errors(&self, source: &str) -> (Vec<Edit>, usize) {
        let grep = self.lang.ast_grep(source);
        let errors = super::error_nodes(grep.root().get_inner_node());
        let mut found = edits_of(&grep, &self.pattern, &self.fix);
        (self.finish(source, &mut found), errors)
    }

    fn finish(&self, source: &str, found: &mut Vec<(usize, usize, String)>) -> Vec<Edit> {
        let mut found = std::mem::take(found);
        found.sort_by_key(|e| (e.0, std::cmp::Reverse(e.1)));
        let mut outer: Vec<(usize, usize)> = Vec::new();
        for (start, end, _) in &found {
            if outer.last().is_none_or(|o| *start >= o.1) {
                outer.push((*start, *end));
            }
        }
        let finals: Vec<String> = if outer.len() == found.len() {
            found.into_iter().map(|e| e.2).collect()
        } else {
            self.rewrite_nested(source, &outer)
        };
        outer
            .into_iter()
            .zip(finals)
            .filter(|((start, end), new)| source[*start..*end] != **new)
            .map(|((start, end), new)| Edit::new(source, start, end, &new))
            .collect()
    }

    /// Every match in `text` as `(start, end, replacement)`.
    fn edits(&self, text: &str) -> Vec<(usize, usize, String)> {
        edits_of(&self.lang.ast_grep(text), &self.pattern, &self.fix)
    }

    /// The final text of each outermost region once nested matches are
    /// rewritten (see [`Rewriter::replacements`]).
    fn rewrite_nested(&self, source: &str, outer: &[(usize, usize)]) -> Vec<String> {
        let mut text = source.to_owned();
        let mut regions = outer.to_vec();
        let mut inserted: Vec<(usize, usize)> = Vec::new();
        let strictly_inside = |(s, e): (usize, usize), (os, oe): (usize, usize)| {
            os <= s && e <= oe && (s, e) != (os, oe)
        };
        for round in 0..16 {
            let candidates: Vec<(usize, usize, String)> = self
                .edits(&text)
                .into_iter()
                .filter(|(s, e, _)| {
                    round == 0
                        || inserted.iter().any(|&i| strictly_inside(i, (*s, *e)))
                            && !inserted.iter().any(|&(is, ie)| is <= *s && *e <= ie)
                })
                .collect();
            // Innermost first: no other candidate inside it.
            let mut chosen: Vec<(usize, usize, String)> = candidates
                .iter()
                .filter(|(s, e, _)| {
                    !candidates
                        .iter()
                        .any(|(cs, ce, _)| strictly_inside((*cs, *ce), (*s, *e)))
                })
                .cloned()
                .collect();
            if chosen.is_empty() {
                break;
            }
            chosen.sort_by_key(|c| std::cmp::Reverse(c.0));
            let mut new_inserted: Vec<(usize, usize)> = Vec::new();
            for (start, end, replacement) in chosen {
                let delta = replacement.len() as isize - (end - start) as isize;
                let shift = |p: usize| (p as isize + delta) as usize;
                text.replace_range(start..end, &replacement);
                for region in regions.iter_mut() {
                    if region.0 <= start && end <= region.1 {
                        region.1 = shift(region.1);
                    } else if region.0 >= end {
                        *region = (shift(region.0), shift(region.1));
                    }
                }
                for range in new_inserted.iter_mut() {
                    if range.0 >= end {
                        *range = (shift(range.0), shift(range.1));
                    }
                }
                new_inserted.push((start, start + replacement.len()));
            }
            inserted = new_inserted;
        }
        regions
            .iter()
            .map(|&(s, e)| text[s..e].to_owned())
            .collect()
    }
}

/// The identifier-like words of a pattern outside metavariables: text
/// every match contains (`os.path.join($A, $B)` → os, path, join).
pub(crate) fn literal_words(pattern: &str) -> Vec<String> {
    let bytes = pattern.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            while i < bytes.len()
                && (bytes[i] == b'$' || bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_')
            {
                i += 1;
            }
        } else if bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            words.push(pattern[start..i].to_owned());
        } else {
            i += 1;
        }
    }
    words.sort();
    words.dedup();
    words
}

/// Metavariable names (`$A`, `$$$ARGS`, not `$_`) in a template.
fn variables(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut names = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let mut j = i;
            while j < bytes.len() && bytes[j] == b'$' {
                j += 1;
            }
            let start = j;
            while j < bytes.len()
                && (bytes[j].is_ascii_uppercase() || bytes[j].is_ascii_digit() || bytes[j] == b'_')
            {
                j += 1;
            }
            if j > start && bytes[start] != b'_' {
                names.push(text[start..j].to_owned());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    names
}

fn check_variables(pattern: &str, rewrite: &str) -> Result<(), Error> {
    let known = variables(pattern);
    let unknown: Vec<String> = variables(rewrite)
        .into_iter()
        .filter(|v| !known.contains(v))
        .map(|v| format!("${v}"))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::UnknownVariables {
        names: unknown.join(", "),
        known: if known.is_empty() {
            "none".into()
        } else {
            known
                .iter()
                .map(|v| format!("${v}"))
                .collect::<Vec<_>>()
                .join(", ")
        },
    })
}

/// ERROR and MISSING nodes in `source` parsed as `lang`.
pub(crate) fn syntax_errors(lang: SupportLang, source: &str) -> usize {
    let grep = lang.ast_grep(source);
    super::error_nodes(grep.root().get_inner_node())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replace(language: &'static str, source: &str, pattern: &str, rewrite: &str) -> String {
        let lang = LANGUAGES.iter().find(|l| l.0 == language).unwrap().2;
        let rewriter = Rewriter::new(language, lang, pattern, rewrite).unwrap();
        crate::edit::apply(source, &rewriter.replacements(source)).unwrap()
    }

    #[test]
    fn python_metavariables_and_lists() {
        let source = "import os\nx = os.path.join(base, 'a')\ny = os.path.join(a, b, c)\n# os.path.join(p, q)\n";
        assert_eq!(
            replace("python", source, "os.path.join($A, $B)", "Path($A) / $B"),
            "import os\nx = Path(base) / 'a'\ny = os.path.join(a, b, c)\n# os.path.join(p, q)\n"
        );
        assert_eq!(
            replace(
                "python",
                "print(a, b)\nprint()\n",
                "print($$$ARGS)",
                "log($$$ARGS)"
            ),
            "log(a, b)\nlog()\n"
        );
    }

    #[test]
    fn other_languages() {
        assert_eq!(
            replace(
                "rust",
                "fn f() { let x = a.unwrap(); }\n",
                "$X.unwrap()",
                "$X?"
            ),
            "fn f() { let x = a?; }\n"
        );
        assert_eq!(
            replace(
                "javascript",
                "var a = 1;\nconsole.log(a, 2);\n",
                "console.log($$$A)",
                "logger.info($$$A)"
            ),
            "var a = 1;\nlogger.info(a, 2);\n"
        );
        assert_eq!(
            replace(
                "typescript",
                "const n: number = parseInt(s);\n",
                "parseInt($S)",
                "Number($S)"
            ),
            "const n: number = Number(s);\n"
        );
        assert_eq!(
            replace(
                "go",
                "package m\nfunc f() {\n\tif err != nil {\n\t\tpanic(err)\n\t}\n}\n",
                "panic($E)",
                "log.Fatal($E)"
            ),
            "package m\nfunc f() {\n\tif err != nil {\n\t\tlog.Fatal(err)\n\t}\n}\n"
        );
    }

    #[test]
    fn nested_matches_are_rewritten_inside_one_edit() {
        let lang = SupportLang::Python;
        let rewriter = Rewriter::new("python", lang, "f($X)", "g($X)").unwrap();
        let source = "y = f(f(1))\n";
        let found = rewriter.replacements(source);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].line, found[0].column(source)), (1, 5));
        assert_eq!(found[0].old, "f(f(1))");
        assert_eq!(found[0].new, "g(g(1))");
        assert_eq!(
            replace(
                "python",
                "p = os.path.join(os.path.join(b, 'a'), 'b')\n",
                "os.path.join($A, $B)",
                "Path($A) / $B"
            ),
            "p = Path(Path(b) / 'a') / 'b'\n"
        );
    }

    #[test]
    fn multi_line_rewrites_are_indented_like_the_match() {
        assert_eq!(
            replace(
                "python",
                "def f():\n    if x:\n        run(a)\n",
                "run($A)",
                "try:\n    run($A)\nexcept E:\n    pass"
            ),
            "def f():\n    if x:\n        try:\n            run(a)\n        except E:\n            pass\n"
        );
    }

    #[test]
    fn bad_patterns_and_rewrites_are_explained() {
        let error = Rewriter::new("python", SupportLang::Python, "f($A)", "g($B)")
            .err()
            .unwrap();
        assert!(error.to_string().contains("$B"), "{error}");
        let error = Rewriter::new("python", SupportLang::Python, "def (", "x")
            .err()
            .unwrap();
        assert!(
            error
                .to_string()
                .contains("not valid python: it does not parse"),
            "{error}"
        );
        assert_eq!(variables("$A + $$$REST + $_"), ["A", "REST"]);
        assert_eq!(
            literal_words("os.path.join($A, $B)"),
            ["join", "os", "path"]
        );
        assert_eq!(literal_words("$X.unwrap()"), ["unwrap"]);
        assert!(has_word("import os\n", "os") && !has_word("position", "os"));
        assert_eq!(language_of("a/b.tsx").map(|l| l.0), Some("tsx"));
        assert_eq!(language_of("a/b.c"), None);
        assert_eq!(language_named("golang"), Some("go"));
    }

    #[test]
    fn replacements_that_would_not_parse_are_refused() {
        let source = "a = j(b, x)\np = j(\n    b, *(a + [\"m\"])\n)\n";
        let rewriter =
            Rewriter::new("python", SupportLang::Python, "j($A, $B)", "g($A) / $B").unwrap();
        let found = rewriter.replacements(source);
        assert_eq!(found.len(), 2);
        let (kept, refused) = safe_replacements(SupportLang::Python, source, found, 0);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].new, "g(b) / x");
        assert_eq!(
            (refused[0].line, refused[0].new.as_str()),
            (2, "g(b) / *(a + [\"m\"])")
        );
    }

    #[test]
    fn syntax_errors_are_counted() {
        assert_eq!(syntax_errors(SupportLang::Python, "x = 1\n"), 0);
        assert!(syntax_errors(SupportLang::Python, "x = (1\n") > 0);
        assert!(syntax_errors(SupportLang::Go, "package m\nfunc {\n") > 0);
    }
}
