//! Make functions `async` and follow the call graph up to a boundary.
//!
//! Each target (a module-level function, or a method of a module-level
//! class with its overrides) gets `async` before its `def`, and every call
//! that resolves to it (the rename analysis's reference and attribute
//! sites that are called) gets `await`, in parentheses where the call is
//! the object of `.attr`, `[...]` or a further call. The function holding
//! such a call must then be async too, so it becomes a target in turn,
//! until the calls reach a boundary:
//!
//! - a function that is already `async` (the call is awaited, nothing more);
//! - a test file (`test_*.py`, `*_test.py`, `conftest.py`, under `tests/`):
//!   the call is wrapped in `asyncio.run(...)`;
//! - module level under `if __name__ == "__main__":`: `asyncio.run(...)` too.
//!
//! Callers that cannot become async are *blockers* and the change is
//! refused, naming each one: a lambda, a generator expression, a class body
//! or other module-level code (import time), `__init__` and the other
//! synchronous dunder protocols, properties, generators and nested
//! functions. So are uses that are not calls (a function passed as a
//! callback: whoever calls it later would get a coroutine) and calls whose
//! receiver orch cannot resolve (they would not be awaited).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use tree_sitter::{Node, Tree};

use super::names::is_test_file;
use super::parameters::{call_at, definition_at};
use super::rename::Note;
use super::{parse, text};
use crate::edit::{Edit, EditKind};

/// A function to make async: a module-level function, or a method of the
/// module-level class `class`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Target {
    pub file: String,
    pub class: Option<String>,
    pub name: String,
}

impl Target {
    fn display(&self) -> String {
        match &self.class {
            Some(class) => format!("{class}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// What making the targets async takes.
#[derive(Debug, Default)]
pub(crate) struct AsyncChange {
    /// File -> insertions (`async `, `await `, `asyncio.run(`...), sorted.
    pub edits: BTreeMap<String, Vec<Edit>>,
    /// Functions made async, as `file:line: name` notes.
    pub converted: Vec<Note>,
    /// Callers that cannot become async: the change is refused.
    pub blockers: Vec<Note>,
    /// Calls given `await`.
    pub awaited: usize,
    /// Calls wrapped in `asyncio.run(...)` at a boundary.
    pub boundaries: usize,
}

/// One insertion; `rank` orders insertions at the same byte: imports
/// first, then closing parentheses (innermost first), then openings
/// (outermost first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Insert {
    at: usize,
    rank: (u8, usize),
    text: String,
}

/// A target's sites: the rename analysis (`rename::analyse`, or
/// `methods::analyse` for a method) as if it were renamed.
pub(crate) type Analyse<'a> = dyn Fn(&Target) -> super::rename::RenameAnalysis + 'a;

/// Makes `targets` async over `files` (every Python file of the project,
/// path and source), following callers.
pub(crate) fn make_async(
    targets: &[Target],
    files: &[(String, String)],
    analyse: &Analyse,
) -> AsyncChange {
    let mut change = AsyncChange::default();
    let mut inserts: BTreeMap<String, BTreeSet<Insert>> = BTreeMap::new();
    let mut needs_asyncio: BTreeSet<String> = BTreeSet::new();
    let mut trees: BTreeMap<String, Tree> = BTreeMap::new();
    let sources: BTreeMap<&str, &str> = files
        .iter()
        .map(|(p, s)| (p.as_str(), s.as_str()))
        .collect();
    let mut queue: VecDeque<Target> = targets.iter().cloned().collect();
    let mut seen: BTreeSet<Target> = BTreeSet::new();
    let mut converted_defs: BTreeSet<(String, usize)> = BTreeSet::new();
    while let Some(target) = queue.pop_front() {
        if !seen.insert(target.clone()) {
            continue;
        }
        let analysis = analyse(&target);
        // A call orch cannot tie to the target would not be awaited: a
        // silent bug, so it blocks the change.
        change
            .blockers
            .extend(analysis.uncertain.iter().cloned().map(|mut n| {
                n.note = format!(
                    "{}; a call there would not be awaited, so convert it by hand first",
                    n.note.trim_end_matches("; left alone")
                );
                n
            }));
        for (path, sites) in &analysis.sites {
            let Some(source) = sources.get(path.as_str()).copied() else {
                continue;
            };
            if !trees.contains_key(path) {
                let Some(tree) = parse(source) else { continue };
                trees.insert(path.clone(), tree);
            }
            let Some(tree) = trees.get(path) else {
                continue;
            };
            let bytes = source.as_bytes();
            let file_inserts = inserts.entry(path.clone()).or_default();
            for site in sites {
                let note = |text: String| Note {
                    file: path.clone(),
                    line: site.line,
                    column: site.column,
                    note: text,
                };
                match site.kind {
                    EditKind::Definition => {
                        let Some(def) = definition_at(tree, site) else {
                            continue;
                        };
                        if is_async(def) {
                            continue;
                        }
                        if let Some(why) = cannot_be_async(def, bytes) {
                            change.blockers.push(note(format!(
                                "`{}` cannot become async: {why}",
                                target.display()
                            )));
                            continue;
                        }
                        if converted_defs.insert((path.clone(), def.start_byte())) {
                            change
                                .converted
                                .push(note(format!("`{}` becomes async", target.display())));
                            file_inserts.insert(Insert {
                                at: def.start_byte(),
                                rank: (2, usize::MAX),
                                text: "async ".into(),
                            });
                        }
                    }
                    EditKind::Reference | EditKind::Attribute => {
                        let Some((call, _)) = call_at(tree, site, bytes) else {
                            change.blockers.push(note(format!(
                                "`{}` is used here without being called (a callback or an alias); whoever calls it through this reference would get a coroutine",
                                target.display()
                            )));
                            continue;
                        };
                        if call.parent().is_some_and(|p| p.kind() == "await") {
                            continue;
                        }
                        match enclosing(call, bytes) {
                            Context::Function(def) if is_async(def) => {
                                change.awaited += 1;
                                add_await(file_inserts, call);
                            }
                            Context::Function(_) if is_test_file(path) => {
                                change.boundaries += 1;
                                add_run(file_inserts, call);
                                needs_asyncio.insert(path.clone());
                            }
                            Context::MainGuard => {
                                change.boundaries += 1;
                                add_run(file_inserts, call);
                                needs_asyncio.insert(path.clone());
                            }
                            Context::Function(def) => {
                                let name = def
                                    .child_by_field_name("name")
                                    .map_or("", |n| text(n, bytes));
                                if let Some(why) = cannot_be_async(def, bytes) {
                                    change.blockers.push(note(format!(
                                        "`{name}` calls `{}` but cannot become async: {why}",
                                        target.display()
                                    )));
                                    continue;
                                }
                                match caller_target(path, def, bytes) {
                                    Some(caller) => {
                                        change.awaited += 1;
                                        add_await(file_inserts, call);
                                        queue.push_back(caller);
                                    }
                                    None => change.blockers.push(note(format!(
                                        "`{name}` calls `{}` but is nested in another function or class; orch converts module-level functions and methods of module-level classes, so convert it by hand first",
                                        target.display()
                                    ))),
                                }
                            }
                            Context::Blocked(why) => change
                                .blockers
                                .push(note(format!("`{}` is called {why}", target.display()))),
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    for path in &needs_asyncio {
        let (Some(source), Some(tree)) = (sources.get(path.as_str()), trees.get(path)) else {
            continue;
        };
        if let Some(at) = asyncio_import_point(tree, source.as_bytes()) {
            let root = tree.root_node();
            let mut cursor = root.walk();
            let imports = root
                .named_children(&mut cursor)
                .any(|c| matches!(c.kind(), "import_statement" | "import_from_statement"));
            inserts.entry(path.clone()).or_default().insert(Insert {
                at,
                rank: (0, 0),
                // Without other imports, it stands apart from the code.
                text: if imports || at == source.len() {
                    "import asyncio\n".into()
                } else {
                    "import asyncio\n\n\n".into()
                },
            });
        }
    }
    for (path, file_inserts) in inserts {
        let Some(source) = sources.get(path.as_str()) else {
            continue;
        };
        let replacements = merge(source, file_inserts);
        if !replacements.is_empty() {
            change.edits.insert(path, replacements);
        }
    }
    change
        .blockers
        .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    change.blockers.dedup();
    change
}

/// The module-level functions of a file that are not async yet (also
/// those in module-level `if`/`try` blocks).
pub(crate) fn sync_functions(source: &str) -> Vec<String> {
    let Some(tree) = parse(source) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    collect_sync(tree.root_node(), source.as_bytes(), &mut out);
    out
}

fn collect_sync(node: Node, source: &[u8], out: &mut Vec<String>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "function_definition" if !is_async(child) => {
                if let Some(name) = child.child_by_field_name("name") {
                    let name = text(name, source).to_owned();
                    if !out.contains(&name) {
                        out.push(name);
                    }
                }
            }
            "decorated_definition"
            | "if_statement"
            | "elif_clause"
            | "else_clause"
            | "try_statement"
            | "except_clause"
            | "finally_clause"
            | "block" => collect_sync(child, source, out),
            _ => {}
        }
    }
}

/// Where a call runs.
enum Context<'t> {
    /// In the body of this `def`.
    Function(Node<'t>),
    /// At module level under `if __name__ == "__main__":`.
    MainGuard,
    /// Somewhere nothing can await; the text says where.
    Blocked(String),
}

fn enclosing<'t>(call: Node<'t>, source: &[u8]) -> Context<'t> {
    let mut node = call;
    let mut main_guard = false;
    while let Some(parent) = node.parent() {
        match parent.kind() {
            "lambda" if parent.child_by_field_name("body") == Some(node) => {
                return Context::Blocked("inside a lambda, which cannot await".into());
            }
            "generator_expression" if !in_first_iterable(parent, call) => {
                return Context::Blocked(
                    "inside a generator expression; with `await` it would become an async generator"
                        .into(),
                );
            }
            "function_definition" if parent.child_by_field_name("body") == Some(node) => {
                return Context::Function(parent);
            }
            "class_definition" if parent.child_by_field_name("body") == Some(node) => {
                return Context::Blocked(
                    "in a class body, which runs at import time where nothing can await".into(),
                );
            }
            "if_statement"
                if parent.child_by_field_name("consequence") == Some(node)
                    && parent
                        .child_by_field_name("condition")
                        .is_some_and(|c| is_main_check(text(c, source))) =>
            {
                main_guard = true;
            }
            _ => {}
        }
        node = parent;
    }
    if main_guard {
        Context::MainGuard
    } else {
        Context::Blocked(
            "at module level, which runs at import time where nothing can await".into(),
        )
    }
}

/// Whether `call` is inside the iterable of a comprehension's first
/// `for`, which runs in the enclosing scope.
fn in_first_iterable(comprehension: Node, call: Node) -> bool {
    let mut cursor = comprehension.walk();
    let first = comprehension
        .named_children(&mut cursor)
        .find(|c| c.kind() == "for_in_clause");
    first
        .and_then(|clause| clause.child_by_field_name("right"))
        .is_some_and(|right| {
            right.start_byte() <= call.start_byte() && call.end_byte() <= right.end_byte()
        })
}

fn is_main_check(condition: &str) -> bool {
    let flat: String = condition
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '\'' { '"' } else { c })
        .collect();
    flat == r#"__name__=="__main__""# || flat == r#""__main__"==__name__"#
}

/// Whether a `def` is `async def`.
fn is_async(def: Node) -> bool {
    def.children(&mut def.walk()).any(|c| c.kind() == "async")
}

/// Why a `def` cannot become `async def`, if it cannot.
fn cannot_be_async(def: Node, source: &[u8]) -> Option<String> {
    let name = def
        .child_by_field_name("name")
        .map_or("", |n| text(n, source));
    if name.starts_with("__")
        && name.ends_with("__")
        && !matches!(name, "__aenter__" | "__aexit__" | "__anext__" | "__call__")
    {
        return Some(format!(
            "`{name}` is part of a synchronous protocol; Python calls it without awaiting"
        ));
    }
    if let Some(decorated) = def.parent().filter(|p| p.kind() == "decorated_definition") {
        let mut cursor = decorated.walk();
        for decorator in decorated
            .named_children(&mut cursor)
            .filter(|c| c.kind() == "decorator")
        {
            let written = text(decorator, source).trim_start_matches('@').trim();
            let last = written.rsplit('.').next().unwrap_or(written);
            if matches!(
                last,
                "property" | "cached_property" | "setter" | "getter" | "deleter"
            ) {
                return Some(format!(
                    "`{name}` is a property (`@{written}`); attribute access cannot await"
                ));
            }
        }
    }
    if def
        .child_by_field_name("body")
        .is_some_and(|body| has_yield(body))
    {
        return Some(format!(
            "`{name}` is a generator; as `async def` it would become an async generator that callers must iterate with `async for`"
        ));
    }
    None
}

/// A `yield` in this body (not in nested functions or lambdas).
fn has_yield(node: Node) -> bool {
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "yield" => return true,
            "function_definition" | "lambda" | "class_definition" => {}
            _ => {
                if has_yield(child) {
                    return true;
                }
            }
        }
    }
    false
}

/// The caller `def` as a target: a module-level function, or a method of a
/// module-level class; `None` for a nested function.
fn caller_target(path: &str, def: Node, source: &[u8]) -> Option<Target> {
    let name = text(def.child_by_field_name("name")?, source).to_owned();
    let mut node = def;
    if let Some(decorated) = node.parent().filter(|p| p.kind() == "decorated_definition") {
        node = decorated;
    }
    let mut class: Option<String> = None;
    while let Some(parent) = node.parent() {
        match parent.kind() {
            "module" => {
                return Some(Target {
                    file: path.to_owned(),
                    class,
                    name,
                });
            }
            "function_definition" | "lambda" => return None,
            "class_definition" => {
                if class.is_some() {
                    return None;
                }
                class = Some(text(parent.child_by_field_name("name")?, source).to_owned());
            }
            _ => {}
        }
        node = parent;
    }
    None
}

fn add_await(inserts: &mut BTreeSet<Insert>, call: Node) {
    let parens = call.parent().is_some_and(|p| {
        let field = match p.kind() {
            "attribute" => "object",
            "subscript" => "value",
            "call" => "function",
            _ => return false,
        };
        p.child_by_field_name(field) == Some(call)
    });
    wrap(
        inserts,
        call,
        if parens { "(await " } else { "await " },
        if parens { ")" } else { "" },
    );
}

fn add_run(inserts: &mut BTreeSet<Insert>, call: Node) {
    wrap(inserts, call, "asyncio.run(", ")");
}

fn wrap(inserts: &mut BTreeSet<Insert>, node: Node, open: &str, close: &str) {
    inserts.insert(Insert {
        at: node.start_byte(),
        // Outermost (largest end) first.
        rank: (2, usize::MAX - node.end_byte()),
        text: open.to_owned(),
    });
    if !close.is_empty() {
        inserts.insert(Insert {
            at: node.end_byte(),
            // Innermost (largest start) first.
            rank: (1, usize::MAX - node.start_byte()),
            text: close.to_owned(),
        });
    }
}

/// Where `import asyncio` goes when the module does not import it: before
/// the first module-level statement after the docstring, comments and
/// `from __future__` imports. `None` when it is imported already.
fn asyncio_import_point(tree: &Tree, source: &[u8]) -> Option<usize> {
    let root = tree.root_node();
    let mut cursor = root.walk();
    let children: Vec<Node> = root.named_children(&mut cursor).collect();
    let imported = children.iter().any(|c| {
        c.kind() == "import_statement"
            && c.named_children(&mut c.walk())
                .any(|n| n.kind() == "dotted_name" && text(n, source) == "asyncio")
    });
    if imported {
        return None;
    }
    let mut docstring_seen = false;
    for child in &children {
        let skip = match child.kind() {
            "comment" => true,
            "expression_statement"
                if !docstring_seen
                    && child.named_child(0).is_some_and(|s| s.kind() == "string") =>
            {
                docstring_seen = true;
                true
            }
            "future_import_statement" => true,
            _ => false,
        };
        if !skip {
            // The start of its line (module-level statements start a line).
            let at = child.start_byte();
            let line_start = source[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            return Some(line_start);
        }
    }
    // Only a docstring/comments: after them, on a line of its own.
    Some(source.len())
}

/// Insertions at the same byte become one replacement.
fn merge(source: &str, inserts: BTreeSet<Insert>) -> Vec<Edit> {
    let mut out: Vec<Edit> = Vec::new();
    for insert in inserts {
        let mut text = insert.text;
        if insert.at == source.len() && !source.is_empty() && !source.ends_with('\n') {
            text.insert(0, '\n');
        }
        match out.last_mut() {
            Some(last) if last.start == insert.at => last.new.push_str(&text),
            _ => out.push(Edit::new(source, insert.at, insert.at, &text)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::python::{ModuleIndex, methods, rename};

    fn run(files: &[(&str, &str)], targets: &[(&str, Option<&str>, &str)]) -> AsyncChange {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let targets: Vec<Target> = targets
            .iter()
            .map(|(f, c, n)| Target {
                file: f.to_string(),
                class: c.map(str::to_owned),
                name: n.to_string(),
            })
            .collect();
        let analyse = |t: &Target| match &t.class {
            Some(class) => methods::analyse(&index, &t.file, class, &t.name, "__x__", &files),
            None => rename::analyse(&index, &t.file, &t.name, "__x__", &files),
        };
        make_async(&targets, &files, &analyse)
    }

    fn apply(source: &str, edits: &[Edit]) -> String {
        crate::edit::apply(source, edits).unwrap()
    }

    #[test]
    fn callers_follow_up_to_tests_and_main() {
        let rates = "def fetch(x):\n    return x\n\n\ndef total(xs):\n    return sum([fetch(x) for x in xs]) + fetch(1).real\n";
        let app = "from shop.rates import total\n\n\ndef main():\n    print(total([1]))\n\n\nif __name__ == \"__main__\":\n    main()\n";
        let test =
            "from shop.rates import fetch\n\n\ndef test_fetch():\n    assert fetch(2) == 2\n";
        let change = run(
            &[
                ("shop/__init__.py", ""),
                ("shop/rates.py", rates),
                ("shop/app.py", app),
                ("tests/test_rates.py", test),
            ],
            &[("shop/rates.py", None, "fetch")],
        );
        assert!(change.blockers.is_empty(), "{:?}", change.blockers);
        assert_eq!(
            apply(rates, &change.edits["shop/rates.py"]),
            "async def fetch(x):\n    return x\n\n\nasync def total(xs):\n    return sum([await fetch(x) for x in xs]) + (await fetch(1)).real\n"
        );
        assert_eq!(
            apply(app, &change.edits["shop/app.py"]),
            "import asyncio\nfrom shop.rates import total\n\n\nasync def main():\n    print(await total([1]))\n\n\nif __name__ == \"__main__\":\n    asyncio.run(main())\n"
        );
        assert_eq!(
            apply(test, &change.edits["tests/test_rates.py"]),
            "import asyncio\nfrom shop.rates import fetch\n\n\ndef test_fetch():\n    assert asyncio.run(fetch(2)) == 2\n"
        );
        assert_eq!(change.converted.len(), 3);
        assert_eq!(change.boundaries, 2);
    }

    #[test]
    fn blockers_name_the_place() {
        let src = "def fetch():\n    return 1\n\n\nclass Cart:\n    def __init__(self):\n        self.x = fetch()\n\n    @property\n    def value(self):\n        return fetch()\n\n\nf = lambda: fetch()\nX = fetch()\n\n\ndef gen():\n    yield fetch()\n\n\ndef outer():\n    def inner():\n        return fetch()\n    return inner\n";
        let change = run(&[("m.py", src)], &[("m.py", None, "fetch")]);
        let notes: Vec<String> = change
            .blockers
            .iter()
            .map(|b| format!("{}: {}", b.line, b.note))
            .collect();
        let joined = notes.join("\n");
        for expected in [
            "7: `__init__` calls",
            "11: `value` calls",
            "14: `fetch` is called inside a lambda",
            "15: `fetch` is called at module level",
            "19: `gen` calls",
            "24: `inner` calls",
        ] {
            assert!(joined.contains(expected), "{expected} not in\n{joined}");
        }
    }

    #[test]
    fn methods_through_self_and_instances() {
        let src = "class Client:\n    def get(self):\n        return 1\n\n    async def run(self):\n        return self.get()\n\n\ndef use():\n    c = Client()\n    return c.get()\n";
        let change = run(
            &[("client.py", src)],
            &[("client.py", Some("Client"), "get")],
        );
        assert!(change.blockers.is_empty(), "{:?}", change.blockers);
        assert_eq!(
            apply(src, &change.edits["client.py"]),
            "class Client:\n    async def get(self):\n        return 1\n\n    async def run(self):\n        return await self.get()\n\n\nasync def use():\n    c = Client()\n    return await c.get()\n"
        );
    }

    #[test]
    fn values_block_and_awaits_are_kept() {
        let src = "def fetch():\n    return 1\n\n\nasync def a():\n    return await fetch()\n\n\nasync def b():\n    return list(map(fetch, []))\n";
        let change = run(&[("m.py", src)], &[("m.py", None, "fetch")]);
        assert_eq!(change.blockers.len(), 1);
        assert!(change.blockers[0].note.contains("without being called"));
        assert_eq!(change.awaited, 0);
        assert_eq!(
            apply(src, &change.edits["m.py"]),
            src.replacen("def fetch", "async def fetch", 1)
        );
    }
}
