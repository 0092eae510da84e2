//! Test impact: which test files a change can affect, in tiers.
//!
//! From the files a plan changes and the project's import graph:
//! - **a**: test files the plan edits, test files that mention an old name
//!   (a resolved use is edited; a string such as
//!   `mock.patch("pkg.mod.OLD")` is not), every test under a changed
//!   `conftest.py` or fixture file, every test when pytest's configuration
//!   changes, and the changed modules themselves when the project runs
//!   doctests (`--doctest-modules`);
//! - **b**: test files that import a changed module, or are named after it
//!   (`test_util.py`, `util_test.py` for `util.py`);
//! - **c**: test files in the changed modules' import closure (they import
//!   something that imports them, at any depth; importing `a.b.c` runs
//!   `a/__init__.py` and `a/b/__init__.py` too);
//! - **d**: the rest.
//!
//! A package whose `__init__.py` imports everything puts nearly the whole
//! suite in tier c: the tiers are what let a first run choose.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::modules::ModuleIndex;
use super::names::is_test_file;
use super::scope::{Binding, FileModel};
use super::symbols::SymbolFacts;

/// A test file's tier and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Tiered {
    pub path: String,
    pub tier: char,
    pub why: String,
    /// Some tests of the file (node ids) in tier a, the rest of it in
    /// `tier` (c or d): the file's recording tells its tests apart.
    pub tests: Vec<String>,
}

/// Where a byte of a test file is, for telling its tests apart.
#[derive(Debug, PartialEq)]
enum Place {
    /// In a test, or a test class (its node id after the file).
    Test(String),
    /// Module-level code: it runs on import, which every test of the file
    /// goes through.
    Module,
    /// A helper or fixture at module level: any test may use it.
    Whole,
}

/// The place of byte `at` in a test file: a test function (in its
/// classes), a class when in its body or a helper method of it.
fn place(facts: &SymbolFacts, at: usize) -> Place {
    // Outermost first: definitions are in source order, a parent first.
    let chain: Vec<&super::symbols::DefFact> = facts
        .defs
        .iter()
        .filter(|d| d.start <= at && at < d.end)
        .collect();
    let mut names: Vec<&str> = Vec::new();
    for def in chain {
        let name = def.qualname.rsplit('.').next().unwrap_or(&def.qualname);
        if def.class {
            names.push(name);
            continue;
        }
        if name.starts_with("test") {
            names.push(name);
        }
        return if names.is_empty() {
            Place::Whole
        } else {
            Place::Test(names.join("::"))
        };
    }
    if names.is_empty() {
        Place::Module
    } else {
        Place::Test(names.join("::"))
    }
}

/// For a test file whose recording tells its tests apart (`recorded`: its
/// tests' node ids after the file), the tests of it in tier a: those that
/// ran a changed function (`ran`: node ids, or the file when what its
/// tests share did), that name an old name or that the change edits.
/// `None`: the whole file is (a helper or fixture does, or a place no
/// recorded test is in).
fn tests_in_tier_a(
    path: &str,
    source: &str,
    facts: &SymbolFacts,
    recorded: &[String],
    ran: &[&String],
    old_names: &[String],
    edits: &[[usize; 2]],
) -> Option<BTreeSet<String>> {
    let mut tests = BTreeSet::new();
    for test in ran {
        let item = test.strip_prefix(path)?.strip_prefix("::")?;
        tests.insert(item.to_owned());
    }
    let mut positions: Vec<usize> = old_names
        .iter()
        .flat_map(|old| super::find_word(source, old))
        .collect();
    for [start, end] in edits {
        positions.push(*start);
        positions.push(end.saturating_sub(1).max(*start));
    }
    let mut module_level = false;
    for at in positions {
        match place(facts, at) {
            Place::Module => module_level = true,
            Place::Whole => return None,
            Place::Test(test) => {
                if !recorded.iter().any(|r| crate::calls::test_in(r, &test)) {
                    return None;
                }
                tests.insert(test);
            }
        }
    }
    // Module-level code fails on import, which any of its tests shows.
    if module_level && tests.is_empty() {
        tests.insert(recorded.first()?.clone());
    }
    Some(tests)
}

/// What a file imports, as written (relative imports keep their dots):
/// the fact the analysis cache keeps per file content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ImportFact {
    /// `import a.b.c` (or `as x`).
    Module(String),
    /// `from (dots)module import name`.
    From(usize, String, String),
    /// `from (dots)module import *`.
    Star(usize, String),
}

/// The imports of one source, at every scope (tests import inside
/// functions too); `None` if it cannot be parsed.
pub(crate) fn import_facts(source: &str) -> Option<Vec<ImportFact>> {
    let tree = super::parse(source)?;
    let model = FileModel::build(&tree, source, &[]);
    let mut out = Vec::new();
    for record in &model.imports {
        match &record.binding {
            Binding::Module { module } => out.push(ImportFact::Module(module.clone())),
            Binding::From { module, name, .. } => out.push(ImportFact::From(
                module.dots,
                module.name.clone(),
                name.clone(),
            )),
            _ => {}
        }
    }
    for scope in &model.scopes {
        for star in &scope.star_imports {
            out.push(ImportFact::Star(star.module.dots, star.module.name.clone()));
        }
    }
    Some(out)
}

/// What the analysis cache keeps per file content: its imports and its
/// symbol facts, derived from one parse.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileFacts {
    pub imports: Vec<ImportFact>,
    pub symbols: SymbolFacts,
}

/// The [`FileFacts`] of one source; `None` if it cannot be parsed.
pub(crate) fn file_facts(source: &str) -> Option<FileFacts> {
    let tree = super::parse(source)?;
    Some(FileFacts {
        imports: import_facts(source)?,
        symbols: super::symbols::symbol_facts(&tree, source),
    })
}

/// [`file_facts`] of every file, from the analysis cache where it has
/// them (by content), derived and stored otherwise.
pub(crate) fn all_file_facts(
    files: &[(String, String)],
    cache: Option<&crate::cache::Cache>,
) -> Vec<Option<FileFacts>> {
    let keys: Vec<String> = files
        .iter()
        .map(|(_, s)| crate::cache::key("file", s.as_bytes()))
        .collect();
    let cached = cache
        .map(|c| {
            c.get_many(&keys).unwrap_or_else(|error| {
                tracing::warn!(%error, "analysis cache read failed");
                Default::default()
            })
        })
        .unwrap_or_default();
    let facts = crate::parallel::par_map(
        &files.iter().zip(&keys).collect::<Vec<_>>(),
        |((_, source), key)| match cached
            .get(*key)
            .and_then(|bytes| serde_json::from_slice::<FileFacts>(bytes).ok())
        {
            Some(facts) => (Some(facts), false),
            None => (file_facts(source), true),
        },
    );
    if let Some(cache) = cache {
        let fresh: Vec<(String, Vec<u8>)> = facts
            .iter()
            .zip(&keys)
            .filter_map(|((facts, fresh), key)| {
                let facts = facts.as_ref().filter(|_| *fresh)?;
                Some((key.clone(), serde_json::to_vec(facts).ok()?))
            })
            .collect();
        tracing::debug!(files = files.len(), derived = fresh.len(), "file facts");
        if let Err(error) = cache.put_many("file", &fresh) {
            tracing::warn!(%error, "analysis cache write failed");
        }
    }
    facts.into_iter().map(|(facts, _)| facts).collect()
}

/// The project files each Python file imports (any scope; a submodule
/// import also imports its packages' `__init__.py`).
#[cfg(test)]
pub(crate) fn import_graph(
    index: &ModuleIndex,
    files: &[(String, String)],
    cache: Option<&crate::cache::Cache>,
) -> BTreeMap<String, BTreeSet<String>> {
    graph_of(index, files, &all_file_facts(files, cache))
}

/// [`import_graph`] from facts already derived.
fn graph_of(
    index: &ModuleIndex,
    files: &[(String, String)],
    facts: &[Option<FileFacts>],
) -> BTreeMap<String, BTreeSet<String>> {
    files
        .iter()
        .zip(facts)
        .map(|((path, _), facts)| {
            let mut out = BTreeSet::new();
            let mut add = |module: &str| {
                // `a.b.c` runs `a`, `a.b` and `a.b.c`.
                let parts: Vec<&str> = module.split('.').collect();
                for end in 1..=parts.len() {
                    if let Some(file) = index.resolve(&parts[..end].join(".")).first() {
                        out.insert(file.to_string());
                    }
                }
            };
            for fact in facts.iter().flat_map(|f| f.imports.iter()) {
                match fact {
                    ImportFact::Module(module) => add(module),
                    ImportFact::From(dots, module, name) => {
                        if let Some(base) = index.absolute(path, *dots, module) {
                            if !base.is_empty() {
                                add(&base);
                            }
                            let sub = if base.is_empty() {
                                name.clone()
                            } else {
                                format!("{base}.{name}")
                            };
                            if index.is_module(&sub) {
                                add(&sub);
                            }
                        }
                    }
                    ImportFact::Star(dots, module) => {
                        if let Some(base) = index.absolute(path, *dots, module) {
                            add(&base);
                        }
                    }
                }
            }
            out.remove(path);
            (path.clone(), out)
        })
        .collect()
}

/// Whether a changed file is pytest's configuration.
fn is_pytest_config(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    matches!(
        file,
        "pytest.ini" | "pyproject.toml" | "setup.cfg" | "tox.ini" | ".pytest.ini"
    )
}

/// The directory of a path (`""` at the root).
fn dir_of(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

fn under(path: &str, dir: &str) -> bool {
    dir.is_empty() || path.starts_with(&format!("{dir}/"))
}

/// Byte ranges a change edits, per file (offsets into the file as it is
/// before the change).
pub(crate) type Edited = BTreeMap<String, Vec<[usize; 2]>>;

/// Every test file of `files` with its tier, test files first by tier then
/// path; `changed` are the files the plan edits, creates or deletes (any
/// kind), `edited` the byte ranges it edits in them (the definitions
/// around those are the changed symbols), `old_names` the names it renames
/// away, `doctests` whether the project runs its modules' doctests (then
/// changed modules are listed in tier a as test paths of their own).
pub(crate) fn tiers(
    index: &ModuleIndex,
    files: &[(String, String)],
    change: &Change<'_>,
    doctests: bool,
    cache: Option<&crate::cache::Cache>,
) -> Vec<Tiered> {
    let Change {
        changed,
        edited,
        old_names,
        calls,
    } = change;
    let started = std::time::Instant::now();
    let facts = all_file_facts(files, cache);
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "test impact: facts"
    );
    let graph = graph_of(index, files, &facts);
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "test impact: import graph"
    );
    let changed_set: BTreeSet<&str> = changed.iter().map(String::as_str).collect();
    let changed_modules: BTreeSet<&str> = changed
        .iter()
        .filter(|p| p.ends_with(".py") && !is_test_file(p))
        .map(String::as_str)
        .collect();
    // Reverse closure: every file that reaches a changed module (a walk
    // over the reversed graph).
    let mut importers: rustc_hash::FxHashMap<&str, Vec<&str>> = Default::default();
    for (file, imports) in &graph {
        for import in imports {
            importers
                .entry(import.as_str())
                .or_default()
                .push(file.as_str());
        }
    }
    let mut reaches: BTreeSet<&str> = changed_modules.clone();
    let mut queue: Vec<&str> = reaches.iter().copied().collect();
    while let Some(module) = queue.pop() {
        for &importer in importers.get(module).into_iter().flatten() {
            if reaches.insert(importer) {
                queue.push(importer);
            }
        }
    }
    // The changed definitions and what reaches them through calls, among
    // the files that can call them (the test files themselves are leaves).
    // An edit that only renames a name (its text is an old name) changes
    // what the code calls, not what it does: its definition leads to the
    // tests through its callers (tier b), not by name (tier a), or a
    // rename's many call sites would put most tests in tier a.
    let mut changed_defs = Vec::new();
    let mut renamed_in = Vec::new();
    for (f, (path, source)) in files.iter().enumerate() {
        if super::names::is_pytest_file(path) {
            // Test modules are tiered by being edited (their tests by
            // where the edits are).
            continue;
        }
        if let (Some(ranges), Some(facts)) = (edited.get(path), &facts[f]) {
            for [start, end] in ranges {
                let renames = source
                    .get(*start..*end)
                    .is_some_and(|text| old_names.iter().any(|old| old == text));
                let defs = facts.symbols.enclosing(*start, *end).into_iter();
                if renames {
                    renamed_in.extend(defs.map(|d| (f, d)));
                } else {
                    changed_defs.extend(defs.map(|d| (f, d)));
                }
            }
        }
    }
    // Recorded runs: which test files ran a changed function, and which
    // ran none (when every edit is inside a definition: a module-level
    // edit runs on import, which no recording attributes to a test).
    let mut changed_keys: BTreeSet<String> = BTreeSet::new();
    for &(f, d) in changed_defs.iter().chain(&renamed_in) {
        if let Some(facts) = &facts[f] {
            changed_keys.insert(format!(
                "{}::{}",
                files[f].0, facts.symbols.defs[d].qualname
            ));
        }
    }
    let inside_definitions = changed_modules.iter().all(|module| {
        let position = files.iter().position(|(p, _)| p == module);
        match (
            edited.get(*module),
            position.and_then(|f| facts[f].as_ref()),
        ) {
            (Some(ranges), Some(facts)) => ranges
                .iter()
                .all(|[start, end]| facts.symbols.runs_when_called(*start, *end)),
            _ => false,
        }
    });
    let mut ran_changed: BTreeMap<&str, &str> = BTreeMap::new();
    if let Some(calls) = calls {
        for key in &changed_keys {
            for test in calls.ran.get(key).into_iter().flatten() {
                ran_changed.entry(test.as_str()).or_insert(key.as_str());
            }
        }
    }
    let covered = |test: &str| {
        calls.is_some_and(|calls| {
            inside_definitions
                && !changed_modules.is_empty()
                && changed_modules.iter().all(|m| {
                    calls
                        .traced
                        .get(*m)
                        .is_some_and(|tests| tests.iter().any(|t| t == test))
                })
        })
    };
    let symbols: Vec<Option<&SymbolFacts>> = facts
        .iter()
        .map(|f| f.as_ref().map(|f| &f.symbols))
        .collect();
    let callers = |f: usize| {
        let path = files[f].0.as_str();
        !super::names::is_pytest_file(path)
            && (reaches.contains(path) || changed_set.contains(path))
    };
    let reach = super::symbols::reach(&symbols, &changed_defs, &renamed_in, callers);
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "test impact: reach"
    );
    // For the many lookups of the test files' names.
    let direct: rustc_hash::FxHashSet<&str> = reach.direct.iter().map(String::as_str).collect();
    let closure: rustc_hash::FxHashSet<&str> = reach.closure.iter().map(String::as_str).collect();
    let run_changed: BTreeSet<&str> = reach
        .modules
        .iter()
        .map(|&f| files[f].0.as_str())
        .filter(|p| !is_test_file(p))
        .collect();
    // Fixtures: what each conftest defines that reaches the change, for
    // the tests below it (they name a fixture without importing it).
    let fixtures: Vec<(&str, BTreeSet<&str>)> = files
        .iter()
        .enumerate()
        .filter(|(_, (p, _))| p.ends_with("conftest.py"))
        .filter_map(|(f, (p, _))| {
            let facts = symbols[f]?;
            let names: BTreeSet<&str> = facts
                .defs
                .iter()
                .filter(|d| d.parent.is_none())
                .map(|d| d.qualname.as_str())
                .filter(|n| reach.closure.contains(*n))
                .collect();
            (!names.is_empty()).then(|| (dir_of(p), names))
        })
        .collect();
    let stems: BTreeSet<&str> = changed_modules
        .iter()
        .map(|p| {
            let file = p.rsplit('/').next().unwrap_or(p);
            match file.strip_suffix(".py") {
                Some("__init__") => dir_of(p).rsplit('/').next().unwrap_or(""),
                Some(stem) => stem,
                None => file,
            }
        })
        .filter(|s| !s.is_empty())
        .collect();
    let everything = changed.iter().any(|p| is_pytest_config(p));
    // Directories whose tests a changed conftest or fixture file affects.
    let fixture_dirs: Vec<&str> = changed
        .iter()
        .filter(|p| {
            p.ends_with("conftest.py")
                || (!p.ends_with(".py") && !is_pytest_config(p) && is_test_file(&format!("{p}.py")))
        })
        .map(|p| dir_of(p))
        .collect();
    let mut out = Vec::new();
    for (f, (path, source)) in files.iter().enumerate() {
        if !is_test_file(path) || path.ends_with("conftest.py") {
            continue;
        }
        let imports = graph.get(path);
        let file = path.rsplit('/').next().unwrap_or(path);
        // The names it can use from the change: any it names when it
        // imports its way there, the fixtures of its conftests otherwise.
        let reachable = reaches.contains(path.as_str());
        // The first such name in sorted order (what the reason shows).
        let named = |set: &rustc_hash::FxHashSet<&str>| -> Option<String> {
            let found = symbols[f]?
                .all_names()
                .filter(|n| {
                    set.contains(*n)
                        && (reachable
                            || fixtures
                                .iter()
                                .any(|(dir, defs)| under(path, dir) && defs.contains(*n)))
                })
                .min();
            found.map(str::to_owned)
        };
        // A file whose recording tells its tests apart, and covers the
        // change: only some of its tests may be in tier a.
        let fixtures_change = everything || fixture_dirs.iter().any(|d| under(path, d));
        let split = match (calls, symbols[f]) {
            (Some(calls), Some(facts)) if !fixtures_change && covered(path) => {
                calls.tests.get(path.as_str()).and_then(|recorded| {
                    let ran: Vec<&String> = changed_keys
                        .iter()
                        .filter_map(|key| calls.items.get(key))
                        .flatten()
                        .filter(|t| crate::calls::split_unit(t).0 == path)
                        .collect();
                    let edits = edited.get(path.as_str()).map(Vec::as_slice);
                    if changed_set.contains(path.as_str()) && edits.is_none() {
                        return None;
                    }
                    tests_in_tier_a(
                        path,
                        source,
                        facts,
                        recorded,
                        &ran,
                        old_names,
                        edits.unwrap_or_default(),
                    )
                })
            }
            _ => None,
        };
        if let Some(tests) = split.filter(|t| !t.is_empty()) {
            let recorded = calls.and_then(|c| c.tests.get(path.as_str()));
            let all = recorded.is_some_and(|r| {
                r.iter()
                    .all(|item| tests.iter().any(|t| crate::calls::test_in(item, t)))
            });
            if all {
                out.push(Tiered {
                    path: path.clone(),
                    tier: 'a',
                    why: "each of its tests ran a changed function, names an old name or is edited"
                        .to_owned(),
                    tests: Vec::new(),
                });
            } else {
                out.push(Tiered {
                    path: path.clone(),
                    tier: if reachable { 'c' } else { 'd' },
                    why: format!(
                        "recorded runs tell its tests apart: {} of them ran a changed function, name an old name or are edited (tier a); the rest ran none",
                        tests.len()
                    ),
                    tests: tests.iter().map(|t| format!("{path}::{t}")).collect(),
                });
            }
            continue;
        }
        let (tier, why) = if changed_set.contains(path.as_str()) {
            ('a', "the plan edits it".to_owned())
        } else if everything {
            ('a', "pytest's configuration changes".to_owned())
        } else if let Some(dir) = fixture_dirs.iter().find(|d| under(path, d)) {
            (
                'a',
                format!("a conftest or fixture file in `{dir}/` changes"),
            )
        } else if let Some(old) = old_names
            .iter()
            .find(|old| !super::find_word(source, old).is_empty())
        {
            ('a', format!("it mentions `{old}`"))
        } else if let Some(key) = ran_changed.get(path.as_str()) {
            ('a', format!("it ran `{key}` in a recorded run"))
        } else if covered(path) {
            let tier = if reachable { 'c' } else { 'd' };
            (
                tier,
                "recorded runs show it runs none of the changed functions".to_owned(),
            )
        } else if let Some(name) = named(&direct) {
            ('a', format!("it names `{name}`, which the change edits"))
        } else if let Some(module) =
            imports.and_then(|i| i.iter().find(|m| changed_modules.contains(m.as_str())))
        {
            ('b', format!("it imports `{module}`"))
        } else if let Some(stem) = stems
            .iter()
            .find(|s| file == format!("test_{s}.py") || file == format!("{s}_test.py"))
        {
            ('b', format!("it is named after `{stem}`"))
        } else if let Some(name) = named(&closure) {
            (
                'b',
                format!("it names `{name}`, which calls what the change edits"),
            )
        } else if let Some(module) =
            imports.and_then(|i| i.iter().find(|m| run_changed.contains(m.as_str())))
        {
            (
                'b',
                format!("it imports `{module}`, whose module-level code runs the change"),
            )
        } else if reachable {
            ('c', "it imports a changed module through others".to_owned())
        } else {
            ('d', "it does not import a changed module".to_owned())
        };
        out.push(Tiered {
            path: path.clone(),
            tier,
            why,
            tests: Vec::new(),
        });
    }
    if doctests {
        for module in &changed_modules {
            out.push(Tiered {
                path: (*module).to_owned(),
                tier: 'a',
                why: "its doctests run (--doctest-modules)".to_owned(),
                tests: Vec::new(),
            });
        }
    }
    out.sort_by(|x, y| x.tier.cmp(&y.tier).then_with(|| x.path.cmp(&y.path)));
    out
}

/// What a change is, for [`tiers`].
#[derive(Debug)]
pub(crate) struct Change<'a> {
    /// Files it edits, creates or deletes.
    pub changed: &'a [String],
    /// Byte ranges it edits, per file.
    pub edited: &'a Edited,
    /// Names it renames or moves away.
    pub old_names: &'a [String],
    /// What traced runs recorded about the edited files.
    pub calls: Option<&'a crate::protocol::code::CallEvidence>,
}

/// `selected` (in order) with every directory whose test files are all
/// selected (of `all`, the project's test files) written as the directory:
/// pytest collects the same files from it, and a large selection stays a
/// short list. Paths keep the order of their first selected file.
pub(crate) fn compress(selected: &[String], all: &[String]) -> Vec<String> {
    let chosen: BTreeSet<&str> = selected.iter().map(String::as_str).collect();
    // For each directory: whether every test file under it is chosen.
    let mut complete: BTreeMap<&str, bool> = BTreeMap::new();
    for path in all {
        let mut dir = dir_of(path);
        while !dir.is_empty() {
            let entry = complete.entry(dir).or_insert(true);
            *entry &= chosen.contains(path.as_str());
            dir = dir_of(dir);
        }
    }
    let mut out: Vec<String> = Vec::new();
    let mut emitted: BTreeSet<String> = BTreeSet::new();
    for path in selected {
        // The highest complete directory above the path (not the root).
        let mut best: Option<&str> = None;
        let mut dir = dir_of(path);
        while !dir.is_empty() {
            if complete.get(dir).copied().unwrap_or(false) {
                best = Some(dir);
            }
            dir = dir_of(dir);
        }
        let item = match best {
            Some(dir) => format!("{dir}/"),
            None => path.clone(),
        };
        if emitted.insert(item.clone()) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Vec<(String, String)> {
        [
            ("pkg/__init__.py", "from .core import *\n"),
            ("pkg/core.py", "from .util import helper\n\ndef run():\n    return helper()\n"),
            ("pkg/util.py", "def helper():\n    return 1\n"),
            ("pkg/other.py", "X = 1\n"),
            ("tests/test_util.py", "def test_nothing_imported():\n    pass\n"),
            ("tests/test_core.py", "from pkg.core import run\n\ndef test_run():\n    assert run() == 1\n"),
            ("tests/test_pkg.py", "import pkg\n\ndef test_pkg():\n    assert pkg.run()\n"),
            ("tests/test_patch.py", "from unittest import mock\nfrom pkg import other\n\n@mock.patch('pkg.util.helper')\ndef test_p(m):\n    assert other.X\n"),
            ("tests/test_other.py", "from pkg import other\n\ndef test_other():\n    assert other.X\n"),
            ("tests/test_direct.py", "from pkg.util import helper\n\ndef test_h():\n    assert helper() == 1\n"),
            ("tests/sub/conftest.py", ""),
            ("tests/sub/test_deep.py", "def test_deep():\n    pass\n"),
        ]
        .iter()
        .map(|(p, s)| (p.to_string(), s.to_string()))
        .collect()
    }

    fn run(changed: &[&str], old: &[&str], doctests: bool) -> Vec<(String, char)> {
        let files = project();
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let changed: Vec<String> = changed.iter().map(|s| s.to_string()).collect();
        let old: Vec<String> = old.iter().map(|s| s.to_string()).collect();
        let edited = Edited::new();
        let change = Change {
            changed: &changed,
            edited: &edited,
            old_names: &old,
            calls: None,
        };
        tiers(&index, &files, &change, doctests, None)
            .into_iter()
            .map(|t| (t.path, t.tier))
            .collect()
    }

    #[test]
    fn tests_are_tiered_by_how_they_reach_the_change() {
        let tiers = run(&["pkg/util.py", "tests/test_direct.py"], &["helper"], false);
        let tier = |path: &str| tiers.iter().find(|(p, _)| p == path).map(|(_, t)| *t);
        // Edited, or naming the old name (a mock.patch target string).
        assert_eq!(tier("tests/test_direct.py"), Some('a'));
        assert_eq!(tier("tests/test_patch.py"), Some('a'));
        // Named after the changed module.
        assert_eq!(tier("tests/test_util.py"), Some('b'));
        // Through pkg.core (and pkg/__init__.py, which star-imports it).
        assert_eq!(tier("tests/test_core.py"), Some('c'));
        assert_eq!(tier("tests/test_pkg.py"), Some('c'));
        // `from pkg import other` runs pkg/__init__.py, which imports core,
        // which imports util.
        assert_eq!(tier("tests/test_other.py"), Some('c'));
        assert_eq!(tier("tests/sub/test_deep.py"), Some('d'));
        assert!(tier("tests/sub/conftest.py").is_none());
        // Sorted by tier.
        let order: Vec<char> = tiers.iter().map(|(_, t)| *t).collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
    }

    /// A test file whose recording tells its tests apart: only the tests
    /// that ran the changed function, name the old name or are edited are
    /// in tier a (node ids), the rest of the file in tier c. What its tests
    /// share, a helper at module level or a test it has no record of puts
    /// the whole file in tier a.
    #[test]
    fn recorded_tests_of_a_file_are_told_apart() {
        let source = "import os\nfrom pkg import core\nfrom pkg.util import helper\n\n\n\
def _check(x):\n    return x\n\n\n\
def test_run():\n    assert core.run() == 1\n\n\n\
@mock.patch('pkg.util.helper')\ndef test_patched(m):\n    pass\n\n\n\
class TestK:\n    def test_other(self):\n        assert True\n\n    def test_edited(self):\n        assert 2\n\n\n\
def test_untouched():\n    assert True\n";
        let files: Vec<(String, String)> = [
            ("pkg/__init__.py", ""),
            (
                "pkg/core.py",
                "from .util import helper\n\ndef run():\n    return helper()\n",
            ),
            ("pkg/util.py", "def helper():\n    return 1\n"),
            ("tests/test_many.py", source),
        ]
        .iter()
        .map(|(p, s)| (p.to_string(), s.to_string()))
        .collect();
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let recorded: Vec<String> = [
            "TestK::test_edited",
            "TestK::test_other",
            "test_patched",
            "test_run",
            "test_untouched",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let test = "tests/test_many.py".to_owned();
        let evidence = |items: &[&str]| crate::protocol::code::CallEvidence {
            ran: BTreeMap::from([("pkg/util.py::helper".to_owned(), vec![test.clone()])]),
            traced: BTreeMap::from([("pkg/util.py".to_owned(), vec![test.clone()])]),
            items: BTreeMap::from([(
                "pkg/util.py::helper".to_owned(),
                items.iter().map(|s| s.to_string()).collect(),
            )]),
            tests: BTreeMap::from([(test.clone(), recorded.clone())]),
        };
        // An edit inside `helper`'s body; `TestK.test_edited`'s `2` edited.
        let util = "def helper():\n    return 1\n";
        let at = util.find('1').unwrap();
        let edited_at = source.find("assert 2").unwrap() + 7;
        let tier = |calls: &crate::protocol::code::CallEvidence, old: &[&str], edit_test: bool| {
            let mut changed = vec!["pkg/util.py".to_owned()];
            let mut edited = Edited::from([("pkg/util.py".to_owned(), vec![[at, at + 1]])]);
            if edit_test {
                changed.push(test.clone());
                edited.insert(test.clone(), vec![[edited_at, edited_at + 1]]);
            }
            let old: Vec<String> = old.iter().map(|s| s.to_string()).collect();
            let change = Change {
                changed: &changed,
                edited: &edited,
                old_names: &old,
                calls: Some(calls),
            };
            tiers(&index, &files, &change, false, None)
                .into_iter()
                .find(|t| t.path == test)
                .map(|t| (t.tier, t.tests))
                .unwrap()
        };
        let node = |n: &str| format!("{test}::{n}");
        // It ran `helper` in test_run only; `helper` is named in the
        // mock.patch string of test_patched; test_edited is edited.
        let ran = [node("test_run")];
        let (rest, tests) = tier(&evidence(&[&ran[0]]), &["helper"], true);
        assert_eq!(rest, 'c');
        assert_eq!(
            tests,
            [
                node("TestK::test_edited"),
                node("test_patched"),
                node("test_run")
            ]
        );
        // Ran by what the file's tests share: the whole file.
        assert_eq!(tier(&evidence(&[&test]), &[], false), ('a', vec![]));
        // The old name in a module-level helper: the whole file.
        let (whole, tests) = tier(&evidence(&[]), &["_check"], false);
        assert_eq!((whole, tests.len()), ('a', 0));
        // An import and a test name it: that test.
        let (rest, tests) = tier(&evidence(&[]), &["core"], false);
        assert_eq!((rest, tests), ('c', vec![node("test_run")]));
        // Only module-level code names it: one of its tests shows an error
        // on import.
        let (rest, tests) = tier(&evidence(&[]), &["os"], false);
        assert_eq!((rest, tests), ('c', vec![node("TestK::test_edited")]));
        // A test the recording does not know: the whole file.
        let mut unknown = evidence(&[&ran[0]]);
        unknown.tests.insert(test.clone(), vec!["test_run".into()]);
        assert_eq!(tier(&unknown, &[], true), ('a', vec![]));
        // Every recorded test in tier a: the file, whole.
        let all: Vec<String> = recorded.iter().map(|r| node(r)).collect();
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        assert_eq!(tier(&evidence(&all), &[], false), ('a', vec![]));
    }

    /// Correctness first: on real code, with files edited at random between
    /// runs (lines dropped, imports added, one file's text copied over
    /// another), the cached analysis agrees exactly with the uncached one,
    /// and a warm run derives only what changed.
    #[test]
    fn cached_and_uncached_analyses_agree_as_files_change() {
        let mut files: Vec<(String, String)> = crate::lang::python::testing::stdlib_sample(6)
            .into_iter()
            .map(|(p, s)| (format!("lib/{p}"), s))
            .collect();
        files.push(("lib/__init__.py".into(), String::new()));
        let dir = tempfile::tempdir().unwrap();
        let cache = crate::cache::Cache::open(&dir.path().join("c.sqlite"), 256).unwrap();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for round in 0..6 {
            let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
            let uncached = import_graph(&index, &files, None);
            let cached = import_graph(&index, &files, Some(&cache));
            assert_eq!(cached, uncached, "round {round}");
            // Every fact, the symbols included, read back exactly.
            assert_eq!(
                all_file_facts(&files, Some(&cache)),
                all_file_facts(&files, None),
                "round {round}"
            );
            // Warm: every fact is in the cache now.
            let keys: Vec<String> = files
                .iter()
                .map(|(_, s)| crate::cache::key("file", s.as_bytes()))
                .collect();
            assert_eq!(
                cache.get_many(&keys).unwrap().len(),
                keys.iter().collect::<BTreeSet<_>>().len()
            );
            for _ in 0..10 {
                let i = next(files.len());
                let lines: Vec<&str> = files[i].1.lines().collect();
                files[i].1 = match next(3) {
                    0 if !lines.is_empty() => {
                        let drop = next(lines.len());
                        lines
                            .iter()
                            .enumerate()
                            .filter(|(n, _)| *n != drop)
                            .map(|(_, l)| format!("{l}\n"))
                            .collect()
                    }
                    1 => format!(
                        "{}\nfrom . import {}\n",
                        files[i].1,
                        ["abc", "os", "shop"][next(3)]
                    ),
                    _ => files[next(files.len())].1.clone(),
                };
            }
        }
    }

    /// The tiers of `files` when `helper`'s body (`return 1` in
    /// pkg/util.py) is edited.
    fn helper_body_edited(files: &[(String, String)]) -> Vec<Tiered> {
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let util = &files.iter().find(|(p, _)| p == "pkg/util.py").unwrap().1;
        let at = util.find("return 1").unwrap();
        let changed = vec!["pkg/util.py".to_owned()];
        let edited = Edited::from([("pkg/util.py".to_owned(), vec![[at, at + 8]])]);
        let change = Change {
            changed: &changed,
            edited: &edited,
            old_names: &[],
            calls: None,
        };
        tiers(&index, files, &change, false, None)
    }

    #[test]
    fn tests_that_name_a_changed_function_or_its_callers_come_first() {
        let files = project();
        let tiers = helper_body_edited(&files);
        let tier = |path: &str| {
            let t = tiers.iter().find(|t| t.path == path).unwrap();
            (t.tier, t.why.as_str())
        };
        // It calls `helper` itself.
        assert_eq!(
            tier("tests/test_direct.py"),
            ('a', "it names `helper`, which the change edits")
        );
        // `run` calls `helper`: through `pkg.core` or the package.
        assert_eq!(tier("tests/test_core.py").0, 'b');
        assert_eq!(
            tier("tests/test_pkg.py"),
            ('b', "it names `run`, which calls what the change edits")
        );
        // Named after the module.
        assert_eq!(tier("tests/test_util.py").0, 'b');
        // Imports the package (which imports util) but names neither; a
        // string naming `helper` is not a call.
        assert_eq!(tier("tests/test_other.py").0, 'c');
        assert_eq!(tier("tests/test_patch.py").0, 'c');
        assert_eq!(tier("tests/sub/test_deep.py").0, 'd');
    }

    /// A rename's edits rename calls: the functions holding them lead to
    /// tests through their callers (tier b), not by name (tier a).
    #[test]
    fn a_renamed_call_is_not_a_changed_function() {
        let files = project();
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let mut edited = Edited::new();
        for (path, source) in &files {
            if path.starts_with("pkg/") {
                let ranges: Vec<[usize; 2]> = crate::lang::python::find_word(source, "helper")
                    .into_iter()
                    .map(|at| [at, at + 6])
                    .collect();
                if !ranges.is_empty() {
                    edited.insert(path.clone(), ranges);
                }
            }
        }
        let changed: Vec<String> = edited.keys().cloned().collect();
        let old = vec!["helper".to_owned()];
        let change = Change {
            changed: &changed,
            edited: &edited,
            old_names: &old,
            calls: None,
        };
        let tiers = tiers(&index, &files, &change, false, None);
        let tier = |path: &str| tiers.iter().find(|t| t.path == path).unwrap().tier;
        assert_eq!(tier("tests/test_direct.py"), 'a', "it names `helper`");
        // `run` holds a renamed call: b (it imports pkg.core), not a.
        assert_eq!(tier("tests/test_core.py"), 'b');
        let why = &tiers
            .iter()
            .find(|t| t.path == "tests/test_pkg.py")
            .unwrap()
            .why;
        assert_eq!(why, "it names `run`, which calls what the change edits");
    }

    #[test]
    fn a_fixture_that_calls_the_change_selects_the_tests_that_use_it() {
        let mut files = project();
        files.push((
            "tests/sub/conftest.py".into(),
            "import pytest\nfrom pkg.util import helper\n\n@pytest.fixture\ndef value():\n    return helper()\n".into(),
        ));
        files.push((
            "tests/sub/test_fixture.py".into(),
            "def test_value(value):\n    assert value == 1\n".into(),
        ));
        files.retain(|(p, s)| p != "tests/sub/conftest.py" || !s.is_empty());
        let tiers = helper_body_edited(&files);
        let tier = |path: &str| tiers.iter().find(|t| t.path == path).unwrap().tier;
        // It imports nothing: the fixture's name is the link.
        assert_eq!(tier("tests/sub/test_fixture.py"), 'b');
        assert_eq!(tier("tests/sub/test_deep.py"), 'd');
    }

    #[test]
    fn complete_directories_stand_for_their_files() {
        let all: Vec<String> = [
            "t/a/test_1.py",
            "t/a/test_2.py",
            "t/b/test_3.py",
            "t/b/test_4.py",
            "t/test_5.py",
            "pkg/mod.py",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let pick = |s: &[&str]| -> Vec<String> {
            compress(&s.iter().map(|x| x.to_string()).collect::<Vec<_>>(), &all)
        };
        assert_eq!(
            pick(&["t/a/test_2.py", "t/b/test_3.py", "t/a/test_1.py"]),
            ["t/a/", "t/b/test_3.py"]
        );
        assert_eq!(
            pick(&[
                "t/a/test_1.py",
                "t/a/test_2.py",
                "t/b/test_3.py",
                "t/b/test_4.py",
                "t/test_5.py"
            ]),
            ["t/"]
        );
    }

    #[test]
    fn conftest_configuration_and_doctests_widen_tier_a() {
        let tiers = run(&["tests/sub/conftest.py"], &[], false);
        assert!(tiers.contains(&("tests/sub/test_deep.py".to_owned(), 'a')));
        assert!(tiers.contains(&("tests/test_core.py".to_owned(), 'd')));
        let tiers = run(&["pytest.ini"], &[], false);
        assert!(tiers.iter().all(|(_, t)| *t == 'a'), "{tiers:?}");
        let tiers = run(&["pkg/other.py"], &["X"], true);
        assert!(
            tiers.contains(&("pkg/other.py".to_owned(), 'a')),
            "{tiers:?}"
        );
        assert!(tiers.contains(&("tests/test_other.py".to_owned(), 'a')));
    }
}
