//! Doctests: the `>>>` examples of a docstring as a tree of their own,
//! parsed from the file's bytes so that its positions are the file's.

use std::ops::Range;

use tree_sitter::{Node, Tree};

/// The doctest examples of `string` (a string literal node of `source`)
/// parsed as Python, with the byte ranges of their code; `None` when it
/// has none, or they do not parse (they stay prose then).
pub(crate) fn parse(source: &[u8], string: Node) -> Option<(Tree, Vec<Range<usize>>)> {
    // The string's content, between its quotes.
    let mut cursor = string.walk();
    let contents: Vec<Node> = string
        .named_children(&mut cursor)
        .filter(|c| c.kind() == "string_content")
        .collect();
    let (first, last) = (contents.first()?, contents.last()?);
    let ranges = ranges(source, first.start_byte(), last.end_byte());
    if ranges.is_empty() {
        return None;
    }
    let mut parser = super::parser()?;
    let tree = super::focus::parse_included(&mut parser, source, &ranges)?;
    (!tree.root_node().has_error()).then_some((tree, ranges))
}

/// The code of the doctest examples in `source[start..end]` (a string's
/// content): for each `>>> ` line and the `... ` lines that continue it,
/// the bytes after the prompt up to and including the newline.
fn ranges(source: &[u8], start: usize, end: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut at = start;
    let mut in_example = false;
    while at < end {
        let line_end = source[at..end]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(end, |i| at + i + 1);
        let line = &source[at..line_end];
        let indent = line
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let rest = &line[indent..];
        let prompt = |p: &[u8]| {
            rest.starts_with(p) && matches!(rest.get(3), None | Some(b' ' | b'\n' | b'\r'))
        };
        let example = prompt(b">>>") || (in_example && prompt(b"..."));
        if example {
            let code = at + indent + 3 + usize::from(rest.get(3) == Some(&b' '));
            if code < line_end {
                out.push(code..line_end);
            }
        }
        in_example = example;
        at = line_end;
    }
    out
}
