//! Python analysis with tree-sitter: parsing, syntax-error counts,
//! module-level definitions, scopes and the rename analysis.

pub(crate) mod asyncify;
pub(crate) mod bindings;
pub(crate) mod dead;
pub(crate) mod doctest;
pub(crate) mod encoding;
pub(crate) mod extract;
pub(crate) mod focus;
pub(crate) mod impact;
pub(crate) mod imports;
pub(crate) mod inline;
pub(crate) mod inline_function;
pub(crate) mod methods;
pub(crate) mod module_rename;
pub(crate) mod modules;
pub(crate) mod moves;
pub(crate) mod names;
pub(crate) mod parameters;
pub(crate) mod rename;
pub(crate) mod reorder;
pub(crate) mod scope;
pub(crate) mod symbols;

use serde::Serialize;
use tree_sitter::{Node, Parser, Tree};

pub(crate) use modules::ModuleIndex;

/// Parses Python source. tree-sitter always yields a tree (with error nodes
/// where the source is broken); `None` only if the parser was cancelled.
///
/// Trees are cached by source (up to [`CACHE_BYTES`] of it), so the tools a
/// run chains (MAP's definitions, LOGIC's analysis) parse a file once.
pub(crate) fn parse(source: &str) -> Option<Tree> {
    let key = cache_key(source);
    cached(key, source).or_else(|| parse_whole(&mut parser()?, key, source))
}

/// The cached whole tree of `source` (whose key is `key`).
fn cached(key: u64, source: &str) -> Option<Tree> {
    cache().lock().ok().and_then(|c| c.get(key, source))
}

/// Parses all of `source` (whose key is `key`) with `parser`, and caches
/// the tree.
fn parse_whole(parser: &mut Parser, key: u64, source: &str) -> Option<Tree> {
    let tree = parser.parse(source, None)?;
    if let Ok(mut cache) = cache().lock() {
        cache.put(key, source, tree.clone());
    }
    Some(tree)
}

/// A tree of the statements of `source` that can matter for `words` (see
/// [`focus`]): the whole file's tree if it is cached, or if the file
/// cannot be focused. Such a tree counts only the errors of the statements
/// it holds; compare counts taken the same way.
pub(crate) fn parse_focused(source: &str, words: &[&str]) -> Option<Tree> {
    let key = cache_key(source);
    if let Some(tree) = cached(key, source) {
        return Some(tree);
    }
    let mut parser = parser()?;
    focus::parse(&mut parser, source, words).or_else(|| parse_whole(&mut parser, key, source))
}

/// Whether the whole tree of the source whose key ([`source_key`]) is
/// `key` is cached: [`parse_edited`] then re-parses an edit of it
/// incrementally.
pub(crate) fn is_cached(key: u64) -> bool {
    cache()
        .lock()
        .is_ok_and(|c| c.entries.iter().any(|(k, _, _)| *k == key))
}

/// How an analysis parses its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsing {
    /// Whole files, cached for the tools that parse the same files next.
    Whole,
    /// Only the statements naming the analysis' words ([`parse_focused`]).
    Focused,
    /// Focused whenever the scanner can, however small the file, never
    /// from the cache: tests compare it with `Whole`.
    #[cfg(test)]
    FocusedOnly,
}

impl Parsing {
    pub(crate) fn parse(self, source: &str, words: &[&str]) -> Option<Tree> {
        match self {
            Parsing::Whole => parse(source),
            Parsing::Focused => parse_focused(source, words),
            #[cfg(test)]
            Parsing::FocusedOnly => parser()
                .and_then(|mut p| focus::parse_always(&mut p, source, words))
                .or_else(|| parse(source)),
        }
    }
}

/// The cache key of `source`, for [`parse_edited`] later.
pub(crate) fn source_key(source: &str) -> u64 {
    cache_key(source)
}

/// Parses `source`, an edited version of the source whose key
/// ([`source_key`]) is `previous`: when that tree is still cached, only the
/// changed lines are re-parsed (tree-sitter's incremental parsing gives the
/// tree a fresh parse would). Otherwise a full [`parse`].
pub(crate) fn parse_edited(previous: u64, source: &str) -> Option<Tree> {
    let old = cache().lock().ok().and_then(|c| {
        c.entries
            .iter()
            .find(|(k, _, _)| *k == previous)
            .map(|(_, s, t)| (s.clone(), t.clone()))
    });
    let Some((old_source, mut tree)) = old else {
        return parse(source);
    };
    if old_source == source {
        return Some(tree);
    }
    // Later edits first: each one's start is then still in unedited text.
    for edit in line_edits(&old_source, source).iter().rev() {
        tree.edit(edit);
    }
    let tree = parser()?.parse(source, Some(&tree))?;
    if let Ok(mut cache) = cache().lock() {
        cache.put(cache_key(source), source, tree.clone());
    }
    Some(tree)
}

/// The changed line ranges from `old` to `new`, as tree-sitter edits, in
/// order; each is expressed against `old` with the edits after it applied.
fn line_edits(old: &str, new: &str) -> Vec<tree_sitter::InputEdit> {
    /// The byte offset where each line starts (a text ending in `\n` has
    /// an empty last line).
    fn starts(text: &str) -> Vec<usize> {
        let mut out = vec![0];
        out.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        out
    }
    fn point(starts: &[usize], byte: usize) -> tree_sitter::Point {
        let row = starts.partition_point(|&s| s <= byte).saturating_sub(1);
        tree_sitter::Point::new(row, byte - starts[row])
    }
    let old_starts = starts(old);
    let new_starts = starts(new);
    // The start of line `i`, or the end of the text past the last line.
    let line =
        |starts: &[usize], text: &str, i: usize| starts.get(i).copied().unwrap_or(text.len());
    let diff = similar::TextDiff::from_lines(old, new);
    let mut edits = Vec::new();
    for op in diff.ops() {
        if matches!(op, similar::DiffOp::Equal { .. }) {
            continue;
        }
        let (old_range, new_range) = (op.old_range(), op.new_range());
        let mut start_byte = line(&old_starts, old, old_range.start);
        let mut old_end_byte = line(&old_starts, old, old_range.end);
        let mut inserted =
            &new[line(&new_starts, new, new_range.start)..line(&new_starts, new, new_range.end)];
        // Only the bytes that differ: a renamed identifier is an edit of
        // the identifier, not of its line, so more of the tree is reused.
        let removed = &old[start_byte..old_end_byte];
        let prefix = common_prefix(removed, inserted);
        let suffix = common_suffix(&removed[prefix..], &inserted[prefix..]);
        start_byte += prefix;
        old_end_byte -= suffix;
        inserted = &inserted[prefix..inserted.len() - suffix];
        let start_position = point(&old_starts, start_byte);
        let rows = inserted.matches('\n').count();
        let new_end_position = match inserted.rfind('\n') {
            Some(last) => {
                tree_sitter::Point::new(start_position.row + rows, inserted.len() - last - 1)
            }
            None => {
                tree_sitter::Point::new(start_position.row, start_position.column + inserted.len())
            }
        };
        edits.push(tree_sitter::InputEdit {
            start_byte,
            old_end_byte,
            new_end_byte: start_byte + inserted.len(),
            start_position,
            old_end_position: point(&old_starts, old_end_byte),
            new_end_position,
        });
    }
    edits
}

/// The length of the longest common prefix of `a` and `b`, on a character
/// boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i)
}

/// The length of the longest common suffix of `a` and `b`, on a character
/// boundary.
fn common_suffix(a: &str, b: &str) -> usize {
    a.char_indices()
        .rev()
        .zip(b.chars().rev())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, x), _)| {
            a.len() - i - x.len_utf8()
        })
}

pub(crate) fn parser() -> Option<Parser> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    Some(parser)
}

/// Parses every source of `files` (path, source) on all cores (at most 8
/// threads), in order.
pub(crate) fn parse_all(files: &[(String, String)]) -> Vec<Option<Tree>> {
    crate::parallel::par_map(files, |(_, source)| parse(source))
}

/// Source bytes whose trees [`parse`] keeps (trees take roughly ten to
/// twenty times their source).
pub(crate) const CACHE_BYTES: usize = 4 << 20;

struct ParseCache {
    /// (hash, source, tree), oldest first.
    entries: std::collections::VecDeque<(u64, String, Tree)>,
    bytes: usize,
}

impl ParseCache {
    fn get(&self, key: u64, source: &str) -> Option<Tree> {
        self.entries
            .iter()
            .find(|(k, s, _)| *k == key && s == source)
            .map(|(_, _, tree)| tree.clone())
    }

    fn put(&mut self, key: u64, source: &str, tree: Tree) {
        if source.len() > CACHE_BYTES || self.get(key, source).is_some() {
            return;
        }
        while self.bytes + source.len() > CACHE_BYTES {
            match self.entries.pop_front() {
                Some((_, old, _)) => self.bytes -= old.len(),
                None => break,
            }
        }
        self.bytes += source.len();
        self.entries.push_back((key, source.to_owned(), tree));
    }
}

fn cache() -> &'static std::sync::Mutex<ParseCache> {
    static CACHE: std::sync::OnceLock<std::sync::Mutex<ParseCache>> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        std::sync::Mutex::new(ParseCache {
            entries: std::collections::VecDeque::new(),
            bytes: 0,
        })
    })
}

/// A fast hash of `source` (a hit is confirmed by comparing sources; an
/// incremental re-parse from a colliding entry is still exact, its edits
/// being computed from that entry's own source).
fn cache_key(source: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    source.hash(&mut hasher);
    hasher.finish()
}

/// Number of error and missing nodes in a tree.
pub(crate) fn syntax_errors(tree: &Tree) -> usize {
    super::error_nodes(tree.root_node())
}

/// A module-level function or class definition.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct Definition {
    pub name: String,
    /// `function`, `class` or `variable` (module-level assignment).
    pub kind: &'static str,
    pub line: usize,
    pub column: usize,
}

/// Module-level function and class definitions, including those nested in
/// module-level `if`/`try`/`with` blocks, in source order.
pub(crate) fn top_level_definitions(tree: &Tree, source: &str) -> Vec<Definition> {
    let mut out = Vec::new();
    collect_definitions(tree.root_node(), source.as_bytes(), &mut out);
    // A variable counts once (its first assignment), and not at all where
    // the name is also a function or class (`f = wraps(f)`).
    let named: std::collections::BTreeSet<String> = out
        .iter()
        .filter(|d| d.kind != "variable")
        .map(|d| d.name.clone())
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|d| {
        d.kind != "variable" || (!named.contains(&d.name) && seen.insert(d.name.clone()))
    });
    out
}

/// Names an assignment target binds: `a`, `a, b`, `(a, [b, c])`.
fn target_names<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
    match node.kind() {
        "identifier" => out.push(node),
        "pattern_list" | "tuple_pattern" | "list_pattern" | "parenthesized_expression" => {
            let mut cursor = node.walk();
            for child in node.named_children(&mut cursor) {
                target_names(child, out);
            }
        }
        _ => {}
    }
}

fn collect_definitions(node: Node, source: &[u8], out: &mut Vec<Definition>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "function_definition" | "class_definition" => {
                if let Some(name) = child.child_by_field_name("name") {
                    out.push(Definition {
                        name: text(name, source).to_owned(),
                        kind: if child.kind() == "class_definition" {
                            "class"
                        } else {
                            "function"
                        },
                        line: name.start_position().row + 1,
                        column: name.start_position().column + 1,
                    });
                }
            }
            "decorated_definition" => collect_definitions(child, source, out),
            "expression_statement" => {
                let mut cursor = child.walk();
                for assignment in child
                    .named_children(&mut cursor)
                    .filter(|c| c.kind() == "assignment")
                {
                    // `a = b = 1` nests assignments on the right.
                    let mut current = Some(assignment);
                    while let Some(node) = current {
                        let mut names = Vec::new();
                        if let Some(left) = node.child_by_field_name("left") {
                            target_names(left, &mut names);
                        }
                        for name in names {
                            out.push(Definition {
                                name: text(name, source).to_owned(),
                                kind: "variable",
                                line: name.start_position().row + 1,
                                column: name.start_position().column + 1,
                            });
                        }
                        current = node
                            .child_by_field_name("right")
                            .filter(|r| r.kind() == "assignment");
                    }
                }
            }
            "if_statement" | "elif_clause" | "else_clause" | "try_statement" | "except_clause"
            | "finally_clause" | "with_statement" | "block" => {
                collect_definitions(child, source, out)
            }
            _ => {}
        }
    }
}

/// The targets of an assignment's left side (or a `for` target): itself,
/// or the elements of a tuple or list of targets (`a, self.b = ...`),
/// nested.
pub(crate) fn assignment_targets(left: Node) -> Vec<Node> {
    let mut out = Vec::new();
    let mut stack = vec![left];
    while let Some(node) = stack.pop() {
        match node.kind() {
            "pattern_list"
            | "tuple_pattern"
            | "list_pattern"
            | "expression_list"
            | "tuple"
            | "list"
            | "parenthesized_expression" => {
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
            _ => out.push(node),
        }
    }
    out
}

/// The text of a node (empty if it is not valid UTF-8, which cannot happen
/// for nodes of a `&str` source).
pub(crate) fn text<'a>(node: Node, source: &'a [u8]) -> &'a str {
    node.utf8_text(source).unwrap_or("")
}

/// Byte offsets of `word` in `haystack` where it stands as a whole identifier.
pub(crate) fn find_word(haystack: &str, word: &str) -> Vec<usize> {
    let bytes = haystack.as_bytes();
    let is_ident = |b: u8| b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80;
    haystack
        .match_indices(word)
        .map(|(i, _)| i)
        .filter(|&i| {
            let before = i == 0 || !is_ident(bytes[i - 1]);
            let end = i + word.len();
            let after = end >= bytes.len() || !is_ident(bytes[end]);
            before && after
        })
        .collect()
}

/// Whether `source` may hold a star import (`from M import *`): a cheap
/// test on the text (a false positive only costs a parse).
pub(crate) fn has_star_import(source: &str) -> bool {
    let bytes = source.as_bytes();
    find_word(source, "import").into_iter().any(|at| {
        let rest = &bytes[at + "import".len()..];
        let rest = rest
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'(' | b'\\' | b'\n' | b'\r'))
            .map_or(&[][..], |i| &rest[i..]);
        rest.first() == Some(&b'*')
    })
}

/// Test helpers shared by the analyses' tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::rename::RenameAnalysis;

    /// Every `step`-th module under 150 kB of this machine's Python
    /// standard library (real code nobody here wrote; CI installs Python),
    /// as (file name, source), in name order.
    pub(crate) fn stdlib_sample(step: usize) -> Vec<(String, String)> {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_path('stdlib'))",
            ])
            .output()
            .expect("python3 is needed for this test");
        let dir = std::path::PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "py"))
            .collect();
        paths.sort();
        paths
            .iter()
            .filter_map(|p| {
                let source = std::fs::read_to_string(p).ok()?;
                Some((p.file_name()?.to_str()?.to_owned(), source))
            })
            .filter(|(_, source)| source.len() < 150_000)
            .step_by(step)
            .collect()
    }

    /// A real package from PyPI (a source archive `.ci/test` downloads and
    /// unpacks into `$ORCH_CORPORA`): every `.py` file under `dir` (a
    /// directory name like `more_itertools-11.2.1`), as (relative path,
    /// source). `None` outside CI when the corpora are not there; in CI
    /// (`CI` set) their absence fails the test.
    pub(crate) fn corpus(dir: &str) -> Option<Vec<(String, String)>> {
        let root = match std::env::var_os("ORCH_CORPORA") {
            Some(root) => std::path::PathBuf::from(root).join(dir),
            None if std::env::var_os("CI").is_some() => {
                panic!("ORCH_CORPORA is not set: run the tests through .ci/test")
            }
            None => {
                eprintln!("ORCH_CORPORA is not set: {dir} not checked (.ci/test sets it)");
                return None;
            }
        };
        assert!(root.is_dir(), "{} is missing: run .ci/test", root.display());
        let mut out = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "py") {
                    let relative = path.strip_prefix(&root).unwrap();
                    let source = std::fs::read_to_string(&path).unwrap();
                    out.push((relative.to_string_lossy().into_owned(), source));
                }
            }
        }
        out.sort();
        Some(out)
    }

    /// Real code nobody here wrote: every `stdlib_step`-th module of the
    /// standard library sample and every `corpus_step`-th file of the
    /// PyPI corpora (more-itertools, pyparsing).
    pub(crate) fn real_code(stdlib_step: usize, corpus_step: usize) -> Vec<(String, String)> {
        let mut files = stdlib_sample(stdlib_step);
        for dir in ["more_itertools-11.2.1", "pyparsing-3.3.3"] {
            if let Some(corpus) = corpus(dir) {
                files.extend(corpus.into_iter().step_by(corpus_step));
            }
        }
        files
    }

    /// Runs `checker` (Python source reading a JSON list of `cases` on
    /// stdin and printing a JSON list of problems) and returns the
    /// problems.
    pub(crate) fn python_check(checker: &str, cases: &[serde_json::Value]) -> Vec<String> {
        use std::io::Write;
        let mut child = std::process::Command::new("python3")
            .args(["-c", checker])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 is needed for this test");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(serde_json::to_string(cases).unwrap().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        serde_json::from_slice(&out.stdout).expect("the checker's report")
    }

    /// The whole-file and focused analyses found the same sites, notes and
    /// targets (`what`: the case, for the failure message).
    pub(crate) fn assert_same(whole: &RenameAnalysis, focused: &RenameAnalysis, what: &str) {
        assert_eq!(whole.sites, focused.sites, "{what}");
        assert_eq!(whole.mentions, focused.mentions, "{what}");
        assert_eq!(whole.uncertain, focused.uncertain, "{what}");
        assert_eq!(whole.clashes, focused.clashes, "{what}");
        assert_eq!(whole.target_modules, focused.target_modules, "{what}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(source: &str) -> Tree {
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_python::LANGUAGE.into())
            .unwrap();
        parser.parse(source, None).unwrap()
    }

    #[test]
    fn focused_counts_see_errors_in_the_statements_naming_the_words() {
        let padding = "\n\ndef helper(value):\n    return value\n".repeat(30);
        let away = format!("def f():\n    return word_x\n{padding}\ndef old(:\n    pass\n");
        let near = format!("def f(:\n    return word_x\n{padding}");
        let clean = format!("def f():\n    return word_x\n{padding}");
        let count = |source: &str| syntax_errors(&parse_focused(source, &["word_x"]).unwrap());
        // The broken `def` far from the word is not parsed.
        assert_eq!(count(&away), 0);
        // A broken statement naming it: the whole file is counted.
        assert_eq!(count(&near), syntax_errors(&parse(&near).unwrap()));
        assert!(count(&near) > 0);
        assert_eq!(count(&clean), 0);
    }

    #[test]
    fn an_edited_source_reparses_to_the_tree_a_fresh_parse_gives() {
        let old = "import os\n\ndef make_str(value):\n    return str(value)\n\n\nclass A:\n    def m(self):\n        return make_str(1)\n\nx = make_str(2)";
        let cases = [
            // Renames on several lines, the last one without a newline.
            old.replace("make_str", "make_text"),
            // A line inserted, one removed.
            old.replace("import os\n", "import os\nimport sys\n")
                .replace("x = make_str(2)", ""),
            // A syntax error introduced, and one in the middle of a line.
            old.replace("return str(value)", "return str(value"),
            old.replace("class A:", "class A(:"),
            // Indentation changes the block structure.
            old.replace("        return make_str(1)", "    return make_str(1)"),
            String::new(),
            // Names that share a prefix or a suffix with the old one, and
            // characters of several bytes next to the edit.
            old.replace("make_str", "make_s"),
            old.replace("make_str", "str"),
            old.replace("make_str", "é_make_str_é"),
            old.replace("(value)", "(valué, ñ)"),
            // Text added at the very end, with no final newline.
            format!("{old}2"),
            format!("{old}\n"),
        ];
        // Every node's kind and exact place: an edit given to tree-sitter at
        // the wrong offset can leave the shape right and the ranges wrong.
        fn nodes(tree: &Tree) -> Vec<(String, std::ops::Range<usize>, tree_sitter::Point)> {
            let mut out = Vec::new();
            let mut cursor = tree.walk();
            'walk: loop {
                let node = cursor.node();
                out.push((
                    node.kind().to_owned(),
                    node.byte_range(),
                    node.end_position(),
                ));
                if cursor.goto_first_child() || cursor.goto_next_sibling() {
                    continue;
                }
                while cursor.goto_parent() {
                    if cursor.goto_next_sibling() {
                        continue 'walk;
                    }
                }
                break;
            }
            out
        }
        for new in cases {
            let key = source_key(old);
            parse(old).unwrap();
            let edited = parse_edited(key, &new).unwrap();
            let expected = fresh(&new);
            assert_eq!(nodes(&edited), nodes(&expected), "{new:?}");
            assert_eq!(
                edited.root_node().to_sexp(),
                expected.root_node().to_sexp(),
                "{new:?}"
            );
            assert_eq!(syntax_errors(&edited), syntax_errors(&expected), "{new:?}");
        }
        // Unknown previous source: a full parse.
        let tree = parse_edited(0xdead, "def f(:\n").unwrap();
        assert!(syntax_errors(&tree) > 0);
    }

    #[test]
    fn parse_all_keeps_the_order_of_the_files() {
        let files: Vec<(String, String)> = (0..40)
            .map(|i| {
                (
                    format!("m{i}.py"),
                    format!("def f{i}():\n    pass\n").repeat(i % 7 + 1),
                )
            })
            .collect();
        let trees = parse_all(&files);
        assert_eq!(trees.len(), files.len());
        for ((_, source), tree) in files.iter().zip(trees) {
            let tree = tree.unwrap();
            assert_eq!(tree.root_node().end_byte(), source.len());
        }
    }

    #[test]
    fn definitions_and_errors() {
        let src = "import os\n\ndef a():\n    def inner(): pass\n\nclass B:\n    def m(self): pass\n\nif True:\n    @dec\n    def c(): pass\n";
        let tree = parse(src).unwrap();
        let names: Vec<_> = top_level_definitions(&tree, src)
            .into_iter()
            .map(|d| (d.name, d.kind))
            .collect();
        assert_eq!(
            names,
            [
                ("a".into(), "function"),
                ("B".into(), "class"),
                ("c".into(), "function")
            ]
        );
        assert_eq!(syntax_errors(&tree), 0);
        assert!(syntax_errors(&parse("def (:\n").unwrap()) > 0);
    }

    #[test]
    fn words() {
        assert_eq!(
            find_word("make_str(make_strs) x.make_str", "make_str"),
            [0, 22]
        );
    }
}
