//! Focused parsing: a tree of only the statements that can matter for a
//! few names.
//!
//! A rename of `make_str` needs, in each file that mentions it, the
//! statements that name it and the file's imports: a method of a large
//! class that never says `make_str` cannot bind, use or shadow it. Parsing
//! the rest is most of the work (`core.py` of click is 149 kB; the
//! statements naming a typical function in it are a few kB).
//!
//! [`ranges`] cuts the source into statements with a small scanner of
//! Python's lexical structure (strings, f-string fields, comments,
//! brackets, continuation lines, indentation) and picks:
//! - every module-level statement that names one of the words, or says
//!   `import` or `__all__` (imports bind names; `__all__` decides what a
//!   star import brings);
//! - of a module-level class that names a word, its header and the members
//!   that do (a class body must not be empty: the first member stands in
//!   when only the header names it);
//! - comment lines between statements that name a word.
//!
//! The selection is given to tree-sitter as its included ranges: the tree
//! keeps the source's real offsets and positions. Every occurrence of a
//! word lies inside the selection by construction. [`parse`] refuses
//! (returns `None`, and the caller parses the whole file) when the scanner
//! meets something it does not model (tab or form-feed indentation, an
//! unterminated string), when the focused tree has an error node, or when
//! the tree and the scanner disagree on whether an occurrence is code or
//! lies in a string or comment. A file with an error outside the selection
//! parses clean here: callers compare counts taken the same way.

use std::ops::Range;

use tree_sitter::{Parser, Point, Tree};

/// One logical line: a statement line with its continuation lines, or a
/// blank or comment-only line.
#[derive(Debug)]
struct Logical {
    start: usize,
    /// Just past the line's last newline (or the end of the source).
    end: usize,
    /// Columns of indentation (`None` for a blank or comment-only line).
    indent: Option<usize>,
    /// The first word of the line (`class`, `else`, ...), if it starts
    /// with one.
    keyword: Keyword,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Class,
    /// `def` or `async def`.
    Def,
    /// `@decorator`: belongs to the statement after it.
    Decorator,
    /// `else`, `elif`, `except`, `finally`: continues the statement before.
    Clause,
    Other,
}

/// What the scanner learnt about a source.
#[derive(Debug)]
struct Scan {
    lines: Vec<Logical>,
    /// Byte ranges of comments and string contents (an f-string's
    /// replacement fields are code), in order.
    prose: Vec<Range<usize>>,
}

fn is_ident(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    prose: Vec<Range<usize>>,
}

impl Scanner<'_> {
    /// Scans code from `self.i` up to the end of the logical line (just past
    /// its newline), or, inside an f-string field (`field`), up to the
    /// field's closing `}` (left unconsumed) or a format spec's `:`.
    /// `None`: something it does not model.
    fn code(&mut self, field: bool) -> Option<()> {
        let mut depth = 0usize;
        while self.i < self.b.len() {
            let c = self.b[self.i];
            match c {
                b'#' => {
                    let start = self.i;
                    while self.i < self.b.len() && self.b[self.i] != b'\n' {
                        self.i += 1;
                    }
                    self.prose.push(start..self.i);
                }
                b'\\' => {
                    // A continuation line (`\` then the newline).
                    match self.b.get(self.i + 1) {
                        Some(b'\n') => self.i += 2,
                        Some(b'\r') if self.b.get(self.i + 2) == Some(&b'\n') => self.i += 3,
                        _ => self.i += 1,
                    }
                }
                b'"' | b'\'' => self.string(false)?,
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    self.i += 1;
                }
                b')' | b']' | b'}' => {
                    if field && depth == 0 {
                        return (c == b'}').then_some(());
                    }
                    depth = depth.saturating_sub(1);
                    self.i += 1;
                }
                b':' if field && depth == 0 && self.b.get(self.i + 1) != Some(&b'=') => {
                    return Some(());
                }
                b'\n' => {
                    self.i += 1;
                    if depth == 0 && !field {
                        return Some(());
                    }
                }
                c if is_ident(c) => {
                    let start = self.i;
                    while self.i < self.b.len() && is_ident(self.b[self.i]) {
                        self.i += 1;
                    }
                    // A string prefix (`f`, `rb`, ...) right before a quote.
                    let word = &self.b[start..self.i];
                    if let Some(b'"' | b'\'') = self.b.get(self.i)
                        && word.len() <= 2
                        && word.iter().all(|c| b"rRbBuUfFtT".contains(c))
                    {
                        self.string(word.iter().any(|c| b"fFtT".contains(c)))?;
                    }
                }
                _ => self.i += 1,
            }
        }
        // The end of the source ends the line; inside a field it is an
        // unterminated f-string.
        (!field).then_some(())
    }

    /// Scans the string literal whose quote is at `self.i` (an f-string
    /// or t-string if `formatted`), recording its contents as prose.
    fn string(&mut self, formatted: bool) -> Option<()> {
        let quote = self.b[self.i];
        let triple =
            self.b.get(self.i + 1) == Some(&quote) && self.b.get(self.i + 2) == Some(&quote);
        self.i += if triple { 3 } else { 1 };
        let mut piece = self.i;
        loop {
            let c = *self.b.get(self.i)?;
            match c {
                // An escaped character (in a raw string too, a backslash
                // keeps the quote after it from ending the string).
                b'\\' => self.i += 2,
                b'\n' if !triple => return None,
                c if c == quote => {
                    if !triple {
                        self.prose.push(piece..self.i);
                        self.i += 1;
                        return Some(());
                    }
                    if self.b.get(self.i + 1) == Some(&quote)
                        && self.b.get(self.i + 2) == Some(&quote)
                    {
                        self.prose.push(piece..self.i);
                        self.i += 3;
                        return Some(());
                    }
                    self.i += 1;
                }
                b'{' if formatted => {
                    if self.b.get(self.i + 1) == Some(&b'{') {
                        self.i += 2;
                        continue;
                    }
                    self.prose.push(piece..self.i);
                    self.i += 1;
                    self.field()?;
                    piece = self.i;
                }
                _ => self.i += 1,
            }
        }
    }

    /// A replacement field after its `{`: code, then an optional format
    /// spec (text with nested fields), then `}`.
    fn field(&mut self) -> Option<()> {
        self.code(true)?;
        if self.b.get(self.i) == Some(&b':') {
            self.i += 1;
            loop {
                match *self.b.get(self.i)? {
                    b'{' => {
                        self.i += 1;
                        self.field()?;
                    }
                    b'}' => break,
                    b'\n' | b'"' | b'\'' => return None,
                    _ => self.i += 1,
                }
            }
        }
        (self.b.get(self.i) == Some(&b'}')).then(|| self.i += 1)
    }
}

fn scan(source: &str) -> Option<Scan> {
    let b = source.as_bytes();
    let mut scanner = Scanner {
        b,
        i: 0,
        prose: Vec::new(),
    };
    let mut lines = Vec::new();
    while scanner.i < b.len() {
        let start = scanner.i;
        let mut j = start;
        while j < b.len() && b[j] == b' ' {
            j += 1;
        }
        match b.get(j) {
            Some(b'\t' | b'\x0c') => return None,
            None | Some(b'\n' | b'\r' | b'#') => {
                // Blank or comment-only.
                if b.get(j) == Some(&b'#') {
                    let end = b[j..]
                        .iter()
                        .position(|&c| c == b'\n')
                        .map_or(b.len(), |p| j + p);
                    scanner.prose.push(j..end);
                }
                scanner.i = b[j..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |p| j + p + 1);
                lines.push(Logical {
                    start,
                    end: scanner.i,
                    indent: None,
                    keyword: Keyword::Other,
                });
            }
            Some(_) => {
                let word_end = b[j..]
                    .iter()
                    .position(|&c| !is_ident(c))
                    .map_or(b.len(), |p| j + p);
                let keyword = match &b[j..word_end] {
                    b"class" => Keyword::Class,
                    b"def" | b"async" => Keyword::Def,
                    b"else" | b"elif" | b"except" | b"finally" => Keyword::Clause,
                    _ if b[j] == b'@' => Keyword::Decorator,
                    _ => Keyword::Other,
                };
                scanner.i = j;
                scanner.code(false)?;
                lines.push(Logical {
                    start,
                    end: scanner.i,
                    indent: Some(j - start),
                    keyword,
                });
            }
        }
    }
    Some(Scan {
        lines,
        prose: scanner.prose,
    })
}

/// A run of logical lines: a statement (with its decorators, its block
/// and its `else`/`except` clauses) or blank and comment lines between
/// statements.
#[derive(Debug)]
struct Unit {
    /// Indices into the logical lines.
    lines: Range<usize>,
    statement: bool,
}

/// Whether `unit` is decorators still waiting for their statement.
fn decorating(lines: &[Logical], unit: &Unit) -> bool {
    unit.statement
        && lines[unit.lines.clone()]
            .iter()
            .rev()
            .find(|l| l.indent.is_some())
            .is_some_and(|l| l.keyword == Keyword::Decorator)
}

/// Groups `lines[range]` into the units of one block whose statements are
/// indented by `indent`. `None` if a non-blank line is indented less.
fn units(lines: &[Logical], range: Range<usize>, indent: usize) -> Option<Vec<Unit>> {
    let mut out: Vec<Unit> = Vec::new();
    let mut i = range.start;
    while i < range.end {
        match lines[i].indent {
            None => {
                // Blank lines: a unit of their own if a statement of this
                // block follows them, else part of the statement before.
                let mut k = i;
                while k < range.end && lines[k].indent.is_none() {
                    k += 1;
                }
                // (Not after a decorator: they stay with their statement.)
                let decorated = out.last().is_some_and(|last| decorating(lines, last));
                let between = !decorated
                    && (k == range.end
                        || (lines[k].indent == Some(indent)
                            && lines[k].keyword != Keyword::Clause));
                match out.last_mut() {
                    Some(last) if !between => last.lines.end = k,
                    _ => out.push(Unit {
                        lines: i..k,
                        statement: false,
                    }),
                }
                i = k;
            }
            Some(level) if level < indent => return None,
            Some(level) if level > indent => match out.last_mut() {
                Some(last) if last.statement => {
                    last.lines.end = i + 1;
                    i += 1;
                }
                _ => return None,
            },
            Some(_) => {
                let continues = lines[i].keyword == Keyword::Clause
                    || out.last().is_some_and(|last| decorating(lines, last));
                match out.last_mut() {
                    Some(last) if continues && last.statement => last.lines.end = i + 1,
                    // Blank lines before an `else:` belong to its statement.
                    _ if continues => {
                        let blanks = out.pop()?;
                        let last = out.last_mut()?;
                        last.lines.end = i + 1;
                        let _ = blanks;
                    }
                    _ => out.push(Unit {
                        lines: i..i + 1,
                        statement: true,
                    }),
                }
                i += 1;
            }
        }
    }
    Some(out)
}

/// The byte ranges of `source` to parse for `words` (see the module
/// documentation), merged and in order; `None` when the scanner cannot
/// vouch for the source's structure.
/// The start of every occurrence of one of `words` as a whole word (as
/// [`super::find_word`] finds them), in order: one pass over the source
/// however many words (a method's family can have hundreds of classes).
///
/// Leftmost-longest matches skip nothing: words are identifiers, so no
/// whole word can start inside a longer match that is not one.
fn occurrences(source: &str, words: &[&str]) -> Vec<usize> {
    let Ok(matcher) = aho_corasick::AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(words)
    else {
        return slow_occurrences(source, words);
    };
    let b = source.as_bytes();
    matcher
        .find_iter(b)
        .filter(|m| {
            (m.start() == 0 || !is_ident(b[m.start() - 1]))
                && b.get(m.end()).is_none_or(|&c| !is_ident(c))
        })
        .map(|m| m.start())
        .collect()
}

/// [`occurrences`] token by token (should the automaton not build).
fn slow_occurrences(source: &str, words: &[&str]) -> Vec<usize> {
    let words: std::collections::HashSet<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
    let b = source.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !is_ident(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        if words.contains(&b[start..i]) {
            out.push(start);
        }
    }
    out
}

/// Whether `at` lies in one of the sorted, disjoint `ranges`.
fn any_in_range(ranges: &[Range<usize>], at: usize) -> bool {
    let first = ranges.partition_point(|r| r.end <= at);
    ranges.get(first).is_some_and(|r| r.start <= at)
}

/// Whether one of the sorted `starts` lies in `range`.
fn any_in(starts: &[usize], range: &Range<usize>) -> bool {
    let first = starts.partition_point(|&s| s < range.start);
    starts.get(first).is_some_and(|&s| s < range.end)
}

/// The statements to parse (see the module documentation), given where
/// the words occur (`named`, from [`occurrences`]).
fn select(source: &str, scan: &Scan, named: &[usize]) -> Option<Vec<Range<usize>>> {
    let lines = &scan.lines;
    let span = |r: &Range<usize>| lines[r.start].start..lines[r.end - 1].end;
    let extras = occurrences(source, &["import", "__all__", "import_module"]);
    let names = |bytes: &Range<usize>, extra: bool| {
        any_in(named, bytes)
            || (extra && (any_in(&extras, bytes) || is_alias(&source[bytes.clone()])))
    };
    let mut out: Vec<Range<usize>> = Vec::new();
    fn push(out: &mut Vec<Range<usize>>, r: Range<usize>) {
        match out.last_mut() {
            Some(last) if last.end == r.start => last.end = r.end,
            _ => out.push(r),
        }
    }
    for unit in units(lines, 0..lines.len(), 0)? {
        let bytes = span(&unit.lines);
        if !unit.statement {
            if names(&bytes, false) {
                push(&mut out, bytes);
            }
            continue;
        }
        if !names(&bytes, true) {
            continue;
        }
        // The statement's line after any decorators.
        let head =
            (unit.lines.start..unit.lines.end).find(|&i| lines[i].keyword != Keyword::Decorator);
        let keyword = head.map_or(Keyword::Other, |i| lines[i].keyword);
        if matches!(keyword, Keyword::Def | Keyword::Class) && !names(&bytes, false) {
            // Only a local `import` or an `__all__` inside a function or
            // class: not the module's.
            continue;
        }
        // A class line and its body.
        let body_start = head.filter(|_| keyword == Keyword::Class).map(|h| h + 1);
        let body_indent =
            body_start.and_then(|s| (s..unit.lines.end).find_map(|i| lines[i].indent));
        let (Some(body_start), Some(body_indent)) = (body_start, body_indent) else {
            push(&mut out, bytes);
            continue;
        };
        let Some(members) = units(lines, body_start..unit.lines.end, body_indent) else {
            push(&mut out, bytes);
            continue;
        };
        push(
            &mut out,
            lines[unit.lines.start].start..lines[body_start - 1].end,
        );
        let mut any = false;
        for member in &members {
            let member_bytes = span(&member.lines);
            if names(&member_bytes, false) {
                any |= member.statement;
                push(&mut out, member_bytes);
            }
        }
        if !any {
            let first = members.iter().find(|m| m.statement)?;
            // Out of order if a comment before it was pushed: start over
            // with the whole class.
            let first = span(&first.lines);
            if out.last().is_some_and(|last| last.end > first.start) {
                let whole_start = lines[unit.lines.start].start;
                while out.last().is_some_and(|last| last.start >= whole_start) {
                    out.pop();
                }
                out.push(bytes);
            } else {
                push(&mut out, first);
            }
        }
    }
    Some(out)
}

/// Whether a statement is `NAME = a.b.c` (possibly a module alias, which
/// the uses of a name through it need: `np = numpy`).
fn is_alias(statement: &str) -> bool {
    let statement = statement.trim();
    let Some((left, right)) = statement.split_once('=') else {
        return false;
    };
    let word = |w: &str| {
        !w.is_empty() && !w.starts_with(|c: char| c.is_ascii_digit()) && w.bytes().all(is_ident)
    };
    let right = right.trim();
    word(left.trim()) && !right.starts_with('=') && right.split('.').all(word)
}

/// The ranges to parse `source` with for `words`, or `None` when the whole
/// file should be parsed (the scanner cannot vouch for its structure, or
/// the selection is most of it anyway).
fn ranges(source: &str, words: &[&str]) -> Option<Selection> {
    let selection = selection(source, words)?;
    let covered: usize = selection.ranges.iter().map(|r| r.len()).sum();
    (covered * 2 < source.len()).then_some(selection)
}

/// What to parse, where the comments and strings are, and where the
/// words occur.
struct Selection {
    ranges: Vec<Range<usize>>,
    prose: Vec<Range<usize>>,
    named: Vec<usize>,
}

/// The selection however much of the file it is.
fn selection(source: &str, words: &[&str]) -> Option<Selection> {
    let scan = scan(source)?;
    let named = occurrences(source, words);
    let ranges = select(source, &scan, &named)?;
    Some(Selection {
        ranges,
        prose: scan.prose,
        named,
    })
}

/// Parses only `ranges` of `source` (tree-sitter's included ranges): the
/// tree keeps the source's real offsets and positions. The parser is left
/// parsing whole sources again.
pub(crate) fn parse_included(
    parser: &mut Parser,
    source: &[u8],
    ranges: &[Range<usize>],
) -> Option<Tree> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(
            source
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    let point = |byte: usize| {
        let row = line_starts.partition_point(|&s| s <= byte) - 1;
        Point::new(row, byte - line_starts[row])
    };
    let included: Vec<tree_sitter::Range> = ranges
        .iter()
        .map(|r| tree_sitter::Range {
            start_byte: r.start,
            end_byte: r.end,
            start_point: point(r.start),
            end_point: point(r.end),
        })
        .collect();
    parser.set_included_ranges(&included).ok()?;
    let tree = parser.parse(source, None);
    parser.set_included_ranges(&[]).ok()?;
    tree
}

/// Parses the statements of `source` that matter for `words` (see the
/// module documentation); `None` to parse the whole file instead.
pub(crate) fn parse(parser: &mut Parser, source: &str, words: &[&str]) -> Option<Tree> {
    parse_ranges(parser, source, ranges(source, words)?)
}

/// [`parse`] whatever share of the file is selected (tests: small sources
/// are otherwise parsed whole).
#[cfg(test)]
pub(crate) fn parse_always(parser: &mut Parser, source: &str, words: &[&str]) -> Option<Tree> {
    parse_ranges(parser, source, selection(source, words)?)
}

fn parse_ranges(
    parser: &mut Parser,
    source: &str,
    Selection {
        ranges: selected,
        prose,
        named,
    }: Selection,
) -> Option<Tree> {
    if selected.is_empty() {
        return None;
    }
    let tree = parse_included(parser, source.as_bytes(), &selected)?;
    let root = tree.root_node();
    if root.has_error() {
        return None;
    }
    // The tree must agree with the scanner on every occurrence: code, or
    // inside a comment or string.
    let b = source.as_bytes();
    for start in named {
        let end = start + b[start..].iter().take_while(|&&c| is_ident(c)).count();
        let in_prose = any_in_range(&prose, start);
        let node = root.descendant_for_byte_range(start, end)?;
        let tree_prose = matches!(node.kind(), "comment" | "string_content");
        if in_prose != tree_prose || (!in_prose && node.kind() != "identifier") {
            return None;
        }
    }
    Some(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The selected text of `source` for `words`.
    fn selected(source: &str, words: &[&str]) -> Option<String> {
        let ranges = selection(source, words)?.ranges;
        Some(ranges.iter().map(|r| &source[r.clone()]).collect())
    }

    fn parser() -> Parser {
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_python::LANGUAGE.into())
            .unwrap();
        parser
    }

    const MODULE: &str = r#"import os
from .util import (
    helper,
    other,
)

__all__ = ["make_str", "Big"]


def unrelated(a):
    x = """a docstring
    make_str = 1 (not code)
    """
    return a


# make_str: a comment between statements
@decorator(
    1,
)
def make_str(value):
    return f"{value!r:>{width}}" + str(value)


class Big(Base):
    """A class."""

    attribute = 1

    def first(self):
        return 1

    # a comment naming nothing
    @property
    def second(self):
        return make_str(self)

    def third(self):
        import json
        return json


if os.name == "nt":
    def local():
        pass
else:
    make_str = str

x = {"a": 1,
     "b": make_str}
"#;

    #[test]
    fn picks_the_statements_naming_a_word_and_the_imports() {
        let text = selected(MODULE, &["make_str"]).unwrap();
        // `unrelated`: its docstring names it (a mention to report).
        let expected = r#"import os
from .util import (
    helper,
    other,
)
__all__ = ["make_str", "Big"]
def unrelated(a):
    x = """a docstring
    make_str = 1 (not code)
    """
    return a


# make_str: a comment between statements
@decorator(
    1,
)
def make_str(value):
    return f"{value!r:>{width}}" + str(value)
class Big(Base):
    @property
    def second(self):
        return make_str(self)
if os.name == "nt":
    def local():
        pass
else:
    make_str = str
x = {"a": 1,
     "b": make_str}
"#;
        assert_eq!(text, expected);
        // The tree agrees with the scanner on every occurrence.
        let padded = format!("{MODULE}{}", "\n\ndef g():\n    pass\n".repeat(40));
        let tree = parse(&mut parser(), &padded, &["make_str"]).unwrap();
        assert!(!tree.root_node().has_error());
        let sites: Vec<usize> = super::super::find_word(MODULE, "make_str")
            .into_iter()
            .filter(|&i| {
                tree.root_node()
                    .descendant_for_byte_range(i, i + 8)
                    .is_some_and(|n| n.kind() == "identifier")
            })
            .collect();
        // The definition, the call in `second`, `else:` and the dict: not
        // the docstring, the comment or `__all__`'s string.
        assert_eq!(sites.len(), 4, "{sites:?}");
    }

    #[test]
    fn a_class_named_only_in_its_header_keeps_one_member() {
        let source = "import a\n\n\nclass Big(a.Base):\n    \"\"\"Doc.\"\"\"\n\n    def one(self):\n        pass\n\n    def two(self):\n        pass\n\n\ndef other():\n    return 1\n\n\ndef more():\n    return 2\n";
        let text = selected(source, &["Big"]).unwrap();
        assert_eq!(text, "import a\nclass Big(a.Base):\n    \"\"\"Doc.\"\"\"\n");
        assert!(parse(&mut parser(), source, &["Big"]).is_some());
    }

    #[test]
    fn methods_with_a_local_import_only_are_left_out() {
        let source = "class A:\n    def m(self):\n        import os\n        return os\n\n\ndef f():\n    from x import y\n    return y\n\n\ndef g():\n    return target\n";
        assert_eq!(
            selected(source, &["target"]).unwrap(),
            "def g():\n    return target\n"
        );
    }

    #[test]
    fn what_the_scanner_does_not_model_is_parsed_whole() {
        let parse = |source: &str| parse(&mut parser(), source, &["name"]);
        // Tab indentation.
        let tabs = format!(
            "def f():\n\treturn name\n{}",
            "def g():\n    pass\n".repeat(20)
        );
        assert!(parse(&tabs).is_none());
        // An unterminated string.
        let open = format!("x = 'name\n{}", "def g():\n    pass\n".repeat(20));
        assert!(parse(&open).is_none());
        // A broken statement that names the word.
        let broken = format!(
            "def f(:\n    return name\n{}",
            "def g():\n    pass\n".repeat(20)
        );
        assert!(parse(&broken).is_none());
        // Most of the file selected anyway.
        assert!(parse("name = 1\n").is_none());
        // Nothing named.
        assert!(parse(&"def g():\n    pass\n".repeat(20)).is_none());
        // A clean file.
        let fine = format!(
            "def f():\n    return name\n{}",
            "def g():\n    pass\n".repeat(20)
        );
        assert!(parse(&fine).is_some());
    }

    #[test]
    fn strings_and_comments_are_prose_and_fields_are_code() {
        let source =
            "a = f'{name} {{name}} {x:{name}}' # name\nb = rb'name\\'' + \"\"\"\nname\n\"\"\"\n";
        let scan = scan(source).unwrap();
        let prose: Vec<&str> = scan.prose.iter().map(|r| &source[r.clone()]).collect();
        assert_eq!(
            prose,
            ["", " {{name}} ", "", "# name", "name\\'", "\nname\n"]
        );
        assert_eq!(scan.lines.len(), 2);
    }

    #[test]
    fn occurrences_are_whole_words_as_find_word_finds_them() {
        let source = "FooBar Foo FooBarX xFoo Foo_ é Foo éFoo Foo\n_Foo FooBar";
        let words = ["Foo", "FooBar", "Bar"];
        let mut expected: Vec<usize> = words
            .iter()
            .flat_map(|w| super::super::find_word(source, w))
            .collect();
        expected.sort();
        assert_eq!(occurrences(source, &words), expected);
        assert_eq!(slow_occurrences(source, &words), expected);
        assert!(occurrences(source, &[]).is_empty());
    }

    #[test]
    fn else_clauses_and_decorators_stay_with_their_statement() {
        let source = "try:\n    import fast\nexcept ImportError:\n\n    fast = None\n\n\n@dec\n\n# note\ndef f():\n    return word\n\n\ndef g():\n    pass\n\n\ndef h():\n    pass\n\n\ndef i():\n    pass\n";
        let text = selected(source, &["word"]).unwrap();
        assert_eq!(
            text,
            "try:\n    import fast\nexcept ImportError:\n\n    fast = None\n@dec\n\n# note\ndef f():\n    return word\n"
        );
    }
}
