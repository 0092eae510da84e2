//! The rename analysis: every site that must change when a module-level
//! function or class is renamed, what is left alone, and what would clash.
//!
//! The target is a pair (defining file, name). Re-exports widen it: a module
//! that does `from target import NAME` (unaliased, at module level) or
//! `from target import *` carries the same name in its namespace, so
//! `from reexporter import NAME` must change too. Sites are: the
//! definition, every use that resolves to a target binding, the imported
//! name in `from M import NAME [as X]`, `M.NAME` where `M` resolves to a
//! target module, and `__all__` entries of target modules. Comments and
//! other strings are reported, attribute uses on receivers that do not
//! resolve to a module are reported as uncertain.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::bindings::{Bound, ModuleStates, attribute_module, resolves_to, resolves_to_target};
use super::modules::ModuleIndex;
use super::scope::{Binding, FileModel, Resolution, Role};
use super::{Parsing, syntax_errors};
use crate::edit::EditKind;
use crate::parallel::par_map;
pub(crate) use crate::protocol::code::Accounting;

/// One byte range to replace with the new name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RenameSite {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub column: usize,
    pub kind: EditKind,
}

/// Something reported but not edited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub note: String,
}

impl Note {
    /// A note at a tree position (0-based row and column) of `file`.
    pub(crate) fn at(file: &str, at: tree_sitter::Point, note: impl Into<String>) -> Note {
        Note {
            file: file.to_owned(),
            line: at.row + 1,
            column: at.column + 1,
            note: note.into(),
        }
    }
}

/// The result for a set of files.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RenameAnalysis {
    /// File -> sites, sorted by position.
    pub sites: BTreeMap<String, Vec<RenameSite>>,
    /// Comments and strings that mention the old name.
    pub mentions: Vec<Note>,
    /// Uses that could not be resolved with confidence.
    pub uncertain: Vec<Note>,
    /// Places where the new name is already bound or used.
    pub clashes: Vec<Note>,
    /// Files analysed -> syntax error count before the edits.
    pub parse_errors: BTreeMap<String, usize>,
    /// Files that are target modules (define or re-export the name).
    pub target_modules: Vec<String>,
    /// The names `parse_errors` is focused on (see [`super::focus`]):
    /// empty when whole files were parsed.
    #[serde(default)]
    pub syntax_focus: Vec<String>,
    /// How every code occurrence of the old name was accounted for.
    #[serde(default)]
    pub accounting: Accounting,
}

struct FileInfo<'a> {
    path: &'a str,
    model: FileModel,
}

/// Analyses `files` (path, source) for renaming `old` defined in
/// `definition_file` to `new`. `files` must include every file that
/// mentions `old` textually; other files cannot refer to it.
pub(crate) fn analyse(
    index: &ModuleIndex,
    definition_file: &str,
    old: &str,
    new: &str,
    files: &[(String, String)],
) -> RenameAnalysis {
    analyse_with(index, definition_file, old, new, files, Parsing::Whole)
}

/// [`analyse`] with its files parsed as `parsing` says. Focused, each file
/// parses only the statements that name `old` or `new`, and its imports
/// ([`super::focus`]): the same sites, notes and targets; `parse_errors`
/// then counts the errors of those statements, and `syntax_focus` says so.
/// (The whole trees stay uncached: parse whole when other tools will parse
/// the same files next.)
pub(crate) fn analyse_with(
    index: &ModuleIndex,
    definition_file: &str,
    old: &str,
    new: &str,
    files: &[(String, String)],
    parsing: Parsing,
) -> RenameAnalysis {
    let started = std::time::Instant::now();
    let mut analysis = RenameAnalysis::default();
    let mut infos = Vec::with_capacity(files.len());
    // Each file's tree is dropped once its model is built: a name used in
    // a thousand files must not hold a thousand trees.
    let models = par_map(files, |(_, source)| {
        let tree = parsing.parse(source, &[old, new]);
        tree.map(|tree| {
            (
                syntax_errors(&tree),
                FileModel::build(&tree, source, &[old, new]),
            )
        })
    });
    for ((path, _), model) in files.iter().zip(models) {
        let Some((errors, model)) = model else {
            // Never silent: what could not be parsed is listed.
            let source = files
                .iter()
                .find(|(p, _)| p == path)
                .map_or("", |(_, s)| s.as_str());
            let count = super::find_word(source, old).len();
            analysis.accounting.uncertain += count;
            analysis.uncertain.push(Note {
                file: path.clone(),
                line: 1,
                column: 1,
                note: format!(
                    "orch could not parse this file; its {count} mention(s) of `{old}` are left alone"
                ),
            });
            continue;
        };
        analysis.parse_errors.insert(path.clone(), errors);
        infos.push(FileInfo { path, model });
    }
    tracing::debug!(
        files = infos.len(),
        ms = started.elapsed().as_millis() as u64,
        "files parsed and modelled"
    );

    if parsing != Parsing::Whole {
        analysis.syntax_focus = vec![old.to_owned(), new.to_owned()];
    }
    let states = ModuleStates::compute(
        index,
        definition_file,
        old,
        infos.iter().map(|i| (i.path, &i.model)).collect(),
    );
    let targets = states.with(Bound::Target);
    analysis.target_modules = targets.iter().cloned().collect();

    for info in &infos {
        analyse_file(index, info, old, new, &states, &targets, &mut analysis);
    }
    for sites in analysis.sites.values_mut() {
        sites.sort_by_key(|s| s.start);
        sites.dedup_by_key(|s| s.start);
    }
    analysis.sites.retain(|_, sites| !sites.is_empty());
    analysis
}

/// The scopes of this file in which `old` is bound to the target.
fn target_scopes(
    index: &ModuleIndex,
    info: &FileInfo,
    old: &str,
    targets: &BTreeSet<String>,
) -> BTreeSet<usize> {
    let mut scopes = BTreeSet::new();
    if targets.contains(info.path) {
        scopes.insert(0);
    }
    for o in &info.model.occurrences {
        if o.name != old || o.scope == 0 {
            continue;
        }
        if let Role::Bind(Binding::From {
            module,
            name,
            aliased: false,
        }) = &o.role
            && name == old
            && resolves_to_target(index, info.path, module, targets)
        {
            scopes.insert(o.scope);
        }
    }
    scopes
}

/// Where a code occurrence of the old name went.
enum Verdict {
    Edit(EditKind),
    Other,
    Uncertain(String),
}

fn analyse_file(
    index: &ModuleIndex,
    info: &FileInfo,
    old: &str,
    new: &str,
    states: &ModuleStates,
    targets: &BTreeSet<String>,
    analysis: &mut RenameAnalysis,
) {
    let model = &info.model;
    let path = info.path;
    let scopes = target_scopes(index, info, old, targets);
    let mut sites = Vec::new();
    let unknown_here = states.get(path) == Bound::Unknown;
    let unknown_note = |what: &str| {
        format!(
            "{what} may be the renamed `{old}` through a star import of a module whose `__all__` is computed at run time; left alone"
        )
    };

    for o in model.occurrences.iter().filter(|o| o.name == old) {
        let verdict = match &o.role {
            Role::Bind(binding) => {
                if scopes.contains(&o.scope) {
                    Verdict::Edit(match binding {
                        Binding::Definition => EditKind::Definition,
                        Binding::From { .. } | Binding::Module { .. } => EditKind::Import,
                        Binding::Other => EditKind::Reference,
                    })
                } else if let Binding::From { module, name, .. } = binding
                    && name == old
                    && resolves_to(index, path, module)
                        .iter()
                        .any(|f| states.get(f) == Bound::Unknown)
                {
                    Verdict::Uncertain(unknown_note(&format!("the imported `{old}`")))
                } else {
                    Verdict::Other
                }
            }
            Role::Reference | Role::Declaration => match model.resolve(old, o.scope) {
                Resolution::Scope(s) if scopes.contains(&s) => {
                    Verdict::Edit(if o.role == Role::Declaration {
                        EditKind::Global
                    } else {
                        EditKind::Reference
                    })
                }
                Resolution::Free if scopes.contains(&0) => Verdict::Edit(EditKind::Reference),
                Resolution::Free | Resolution::Scope(0) if unknown_here => {
                    Verdict::Uncertain(unknown_note(&format!("`{old}` here")))
                }
                _ => Verdict::Other,
            },
            Role::ImportedName { module } => {
                let files = resolves_to(index, path, module);
                if files.iter().any(|f| targets.contains(*f)) {
                    Verdict::Edit(EditKind::Import)
                } else if files.iter().any(|f| states.get(f) == Bound::Unknown) {
                    Verdict::Uncertain(unknown_note(&format!("the imported `{old}`")))
                } else {
                    Verdict::Other
                }
            }
            Role::Attribute { object } => match object
                .as_deref()
                .and_then(|chain| attribute_module(index, path, model, chain))
            {
                Some(Some(file)) if targets.contains(file) => Verdict::Edit(EditKind::Attribute),
                Some(Some(file)) if states.get(file) == Bound::Unknown => {
                    Verdict::Uncertain(unknown_note(&format!("`.{old}`")))
                }
                Some(_) => Verdict::Other,
                None => Verdict::Uncertain(format!(
                    "`.{old}` on an object orch cannot resolve to a module; left alone"
                )),
            },
            Role::Keyword | Role::ModulePath => Verdict::Other,
        };
        analysis.accounting.in_doctests += usize::from(o.doctest);
        match verdict {
            Verdict::Edit(kind) => {
                analysis.accounting.edited += 1;
                sites.push(RenameSite {
                    start: o.start,
                    end: o.end,
                    line: o.line,
                    column: o.column,
                    kind,
                });
            }
            Verdict::Other => analysis.accounting.other += 1,
            Verdict::Uncertain(note) => {
                analysis.accounting.uncertain += 1;
                analysis.uncertain.push(Note {
                    file: path.to_owned(),
                    line: o.line,
                    column: o.column,
                    note,
                });
            }
        }
    }

    let all_starts: BTreeSet<usize> = model.all_entries.iter().map(|e| e.start).collect();
    if targets.contains(path) {
        for entry in model.all_entries.iter().filter(|e| e.value == old) {
            sites.push(RenameSite {
                start: entry.start,
                end: entry.end,
                line: entry.line,
                column: entry.column,
                kind: EditKind::All,
            });
        }
    }
    for mention in model
        .mentions
        .iter()
        .filter(|m| m.name == old && !all_starts.contains(&m.start))
    {
        analysis.mentions.push(Note {
            file: path.to_owned(),
            line: mention.line,
            column: mention.column,
            note: format!("`{old}` in a {}; left alone", mention.context),
        });
    }

    clashes(info, old, new, &scopes, &sites, analysis);
    if !sites.is_empty() {
        analysis.sites.insert(path.to_owned(), sites);
    }
}

/// Records where `new` would clash with the renamed bindings.
fn clashes(
    info: &FileInfo,
    old: &str,
    new: &str,
    scopes: &BTreeSet<usize>,
    sites: &[RenameSite],
    analysis: &mut RenameAnalysis,
) {
    if sites.is_empty() {
        return;
    }
    let model = &info.model;
    let edited: BTreeSet<usize> = sites.iter().map(|s| s.start).collect();
    let mut seen = BTreeSet::new();
    let mut push = |line: usize, column: usize, note: String| {
        if seen.insert((line, column)) {
            analysis.clashes.push(Note {
                file: info.path.to_owned(),
                line,
                column,
                note,
            });
        }
    };
    // Scopes that will bind `new` after the rename.
    let binding_scopes: BTreeSet<usize> = scopes
        .iter()
        .copied()
        .filter(|&s| {
            model.occurrences.iter().any(|o| {
                o.scope == s
                    && o.name == old
                    && matches!(o.role, Role::Bind(_))
                    && edited.contains(&o.start)
            }) || s == 0
        })
        .collect();
    for o in model.occurrences.iter().filter(|o| o.name == new) {
        match &o.role {
            Role::Bind(_) if binding_scopes.contains(&o.scope) => {
                push(o.line, o.column, format!("`{new}` is already bound here"));
            }
            Role::Reference => {
                // An existing use of `new` that would now resolve to the renamed binding.
                let current = model.resolve(new, o.scope);
                let captured = binding_scopes.iter().any(|&s| {
                    model.is_within(o.scope, s)
                        && match current {
                            Resolution::Free => true,
                            Resolution::Scope(c) => {
                                c != s && !model.is_within(c, s) && model.is_within(s, c)
                            }
                        }
                });
                if captured {
                    push(
                        o.line,
                        o.column,
                        format!(
                            "`{new}` is used here and refers to something else; the rename would capture it"
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    // A renamed use that would be captured by an inner binding of `new`.
    for o in model
        .occurrences
        .iter()
        .filter(|o| o.name == old && edited.contains(&o.start) && o.role == Role::Reference)
    {
        if let Resolution::Scope(s) = model.resolve(new, o.scope)
            && let Resolution::Scope(target) = model.resolve(old, o.scope)
            && s != target
            && model.is_within(s, target)
        {
            push(
                o.line,
                o.column,
                format!(
                    "`{new}` is bound in an enclosing scope here and would shadow the renamed `{old}`"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::assert_same;
    use super::*;

    fn run(files: &[(&str, &str)], def: &str, old: &str, new: &str) -> RenameAnalysis {
        let index = ModuleIndex::new(files.iter().map(|(p, _)| *p));
        let owned: Vec<(String, String)> = files
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        let whole = analyse(&index, def, old, new, &owned);
        // Every case holds for the focused analysis too.
        let focused = analyse_with(&index, def, old, new, &owned, Parsing::FocusedOnly);
        assert_same(&whole, &focused, &format!("{def}: {old}"));
        whole
    }

    /// On real code nobody here wrote (this machine's Python standard
    /// library, which CI installs): for module-level names of a sample of
    /// its modules, the focused analysis finds what the whole-file one
    /// does, and most files are in fact focused.
    #[test]
    fn focused_and_whole_analyses_agree_on_the_standard_library() {
        let files = super::super::testing::stdlib_sample(3);
        assert!(files.len() > 40, "{} standard library modules", files.len());
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let (mut names, mut focused_files, mut whole_files) = (0, 0, 0);
        for (path, source) in &files {
            let tree = super::super::parse(source).unwrap();
            let defined = super::super::top_level_definitions(&tree, source);
            // A spread of each module's names.
            for definition in defined.iter().step_by(defined.len() / 3 + 1) {
                let name = definition.name.as_str();
                let subset: Vec<(String, String)> = files
                    .iter()
                    .filter(|(_, s)| !super::super::find_word(s, name).is_empty())
                    .cloned()
                    .collect();
                let mut parser = super::super::parser().unwrap();
                for (_, s) in &subset {
                    match super::super::focus::parse(&mut parser, s, &[name, "renamed_x"]) {
                        Some(_) => focused_files += 1,
                        None => whole_files += 1,
                    }
                }
                let whole = analyse(&index, path, name, "renamed_x", &subset);
                let focused = analyse_with(
                    &index,
                    path,
                    name,
                    "renamed_x",
                    &subset,
                    Parsing::FocusedOnly,
                );
                assert_same(&whole, &focused, &format!("{path}: {name}"));
                names += 1;
            }
        }
        assert!(names > 100, "{names} names");
        eprintln!("{names} names: {focused_files} files focused, {whole_files} whole");
        assert!(
            focused_files > 3 * whole_files,
            "{focused_files} focused, {whole_files} whole"
        );
    }

    /// The invariant "never a silent miss", on real code nobody here wrote:
    /// for a spread of the module-level names of each package, every code
    /// occurrence of the name anywhere in the package (each identifier of
    /// a whole-file parse, counted independently) is accounted for by the
    /// analysis as edited, another binding or uncertain. The analysis gets
    /// the files the code server gives it: those that mention the name,
    /// those with a star import, and the defining file.
    #[test]
    fn every_occurrence_is_accounted_for_on_real_packages() {
        use std::collections::HashMap;
        let mut projects = vec![(
            "stdlib sample".to_owned(),
            super::super::testing::stdlib_sample(4),
            5,
        )];
        for dir in ["more_itertools-11.2.1", "pyparsing-3.3.3"] {
            if let Some(files) = super::super::testing::corpus(dir) {
                assert!(files.len() > 5, "{dir}: {} files", files.len());
                projects.push((
                    dir.to_owned(),
                    files,
                    if dir.starts_with("pyparsing") { 10 } else { 2 },
                ));
            }
        }
        for (project, files, step) in projects {
            let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
            // Identifier counts of every file, from whole parses.
            let mut counts: HashMap<String, usize> = HashMap::new();
            let mut definitions = Vec::new();
            for (path, source) in &files {
                let Some(tree) = super::super::parse(source) else {
                    continue;
                };
                let mut stack = vec![tree.root_node()];
                while let Some(node) = stack.pop() {
                    if node.kind() == "identifier" {
                        *counts
                            .entry(node.utf8_text(source.as_bytes()).unwrap().to_owned())
                            .or_default() += 1;
                    }
                    let mut cursor = node.walk();
                    stack.extend(node.children(&mut cursor));
                }
                if !path.contains("test") {
                    for d in super::super::top_level_definitions(&tree, source) {
                        definitions.push((path.clone(), d.name));
                    }
                }
            }
            let stars: Vec<&(String, String)> = files
                .iter()
                .filter(|(_, s)| super::super::has_star_import(s))
                .collect();
            let mut totals = Accounting::default();
            let mut names = 0;
            for (path, name) in definitions.iter().step_by(step) {
                let inputs: Vec<(String, String)> = files
                    .iter()
                    .filter(|(p, s)| p == path || !super::super::find_word(s, name).is_empty())
                    .chain(stars.iter().copied())
                    .cloned()
                    .collect::<BTreeMap<_, _>>()
                    .into_iter()
                    .collect();
                let analysis =
                    analyse_with(&index, path, name, "renamed_x", &inputs, Parsing::Focused);
                let a = analysis.accounting;
                assert_eq!(
                    a.total() - a.in_doctests,
                    counts.get(name.as_str()).copied().unwrap_or(0),
                    "{project}: `{name}` of {path}: {a:?}"
                );
                totals.edited += a.edited;
                totals.other += a.other;
                totals.uncertain += a.uncertain;
                totals.in_doctests += a.in_doctests;
                names += 1;
            }
            eprintln!(
                "{project}: {names} names, {} occurrences: {} edited, {} another binding, {} uncertain; {} in doctests",
                totals.total(),
                totals.edited,
                totals.other,
                totals.uncertain,
                totals.in_doctests
            );
            assert!(names > 40, "{project}: {names} names");
        }
    }

    fn apply(
        files: &[(&str, &str)],
        analysis: &RenameAnalysis,
        new: &str,
    ) -> BTreeMap<String, String> {
        files
            .iter()
            .map(|(path, source)| {
                let mut out = source.to_string();
                if let Some(sites) = analysis.sites.get(*path) {
                    for site in sites.iter().rev() {
                        out.replace_range(site.start..site.end, new);
                    }
                }
                (path.to_string(), out)
            })
            .collect()
    }

    #[test]
    fn renames_across_import_forms() {
        let files = [
            (
                "shop/__init__.py",
                "from .util import make_str\n__all__ = ['make_str']\n",
            ),
            (
                "shop/util.py",
                "def make_str(x):\n    \"\"\"make_str docs\"\"\"\n    return str(x)\n\ndef twice(x):\n    return make_str(x) * 2\n",
            ),
            (
                "shop/cart.py",
                "from . import util\nfrom .util import make_str as ms\n\ndef total(x):\n    return util.make_str(x) + ms(x)\n",
            ),
            (
                "app.py",
                "import shop.util\nimport shop\nfrom shop import make_str\n# make_str is great\nprint(shop.util.make_str(1), shop.make_str(2), make_str(3))\n",
            ),
            (
                "other.py",
                "def f(make_str):\n    return make_str + obj.make_str\n",
            ),
        ];
        let analysis = run(&files, "shop/util.py", "make_str", "make_text");
        let out = apply(&files, &analysis, "make_text");
        assert_eq!(
            out["shop/__init__.py"],
            "from .util import make_text\n__all__ = ['make_text']\n"
        );
        assert!(out["shop/util.py"].starts_with("def make_text(x):\n    \"\"\"make_str docs"));
        assert!(out["shop/util.py"].contains("return make_text(x) * 2"));
        assert_eq!(
            out["shop/cart.py"],
            "from . import util\nfrom .util import make_text as ms\n\ndef total(x):\n    return util.make_text(x) + ms(x)\n"
        );
        assert!(out["app.py"].contains("from shop import make_text\n# make_str is great"));
        assert!(
            out["app.py"]
                .contains("print(shop.util.make_text(1), shop.make_text(2), make_text(3))")
        );
        assert_eq!(out["other.py"], files[4].1);
        assert_eq!(analysis.mentions.len(), 2, "{:?}", analysis.mentions);
        assert_eq!(analysis.uncertain.len(), 1, "{:?}", analysis.uncertain);
        assert!(analysis.clashes.is_empty());
    }

    /// Code occurrences of `name` counted independently of the analysis:
    /// every identifier node of a whole-file parse.
    fn identifiers(files: &[(&str, &str)], name: &str) -> usize {
        fn count(node: tree_sitter::Node, source: &[u8], name: &str) -> usize {
            let own = usize::from(
                node.kind() == "identifier" && node.utf8_text(source).ok() == Some(name),
            );
            let mut cursor = node.walk();
            own + node
                .children(&mut cursor)
                .map(|c| count(c, source, name))
                .sum::<usize>()
        }
        files
            .iter()
            .map(|(_, s)| {
                count(
                    super::super::parse(s).unwrap().root_node(),
                    s.as_bytes(),
                    name,
                )
            })
            .sum()
    }

    /// A package that re-exports its modules with star imports, used the
    /// ways its users write.
    fn star_package(init: &str, more: &str) -> Vec<(&'static str, String)> {
        vec![
            ("pkg/__init__.py", init.to_owned()),
            ("pkg/more.py", more.to_owned()),
            (
                "pkg/recipes.py",
                "__all__ = ['take']\nfrom .more import chunked\n\ndef take(n, it):\n    return list(chunked(it, n))[0]\n".to_owned(),
            ),
            (
                "tests/test_more.py",
                "import pkg as mi\nimport pkg.more as m2\nfrom pkg import chunked\nfrom pkg.more import chunked as c\nfrom pkg import more\n\ndef test_chunked():\n    assert mi.chunked([1], 1) == chunked([1], 1) == c([1], 1) == m2.chunked([1], 1) == more.chunked([1], 1)\n    assert mi.more.chunked is mi.recipes.chunked\n".to_owned(),
            ),
            (
                "app.py",
                "from pkg import *\nimport importlib\nP = importlib.import_module('pkg')\nalias = P\n\ndef run(chunked=None):\n    return chunked or alias.chunked(P.chunked([], 1), 2)\n\nprint(chunked, run(chunked=1))\n".to_owned(),
            ),
        ]
    }

    fn borrowed<'a>(files: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
        files.iter().map(|(p, s)| (*p, s.as_str())).collect()
    }

    #[test]
    fn star_reexports_and_package_aliases_rename_every_use() {
        let more = "__all__ = ['chunked', 'spy']\n\ndef chunked(it, n):\n    return [it]\n\ndef spy(it):\n    return chunked(it, 1)\n";
        for init in [
            "from .more import *\nfrom .recipes import *\n",
            "from .more import *  # noqa\nfrom .recipes import *\nfrom . import more, recipes\n__all__ = more.__all__ + recipes.__all__\n",
            "from .more import *\nfrom .recipes import *\nfrom . import more\n__all__ = []\n__all__ += more.__all__\n",
            "from . import more\nfrom .more import *\n__all__ = ['take']\n__all__.extend(more.__all__)\nfrom .recipes import take\n",
        ] {
            let files = star_package(init, more);
            let files = borrowed(&files);
            let analysis = run(&files, "pkg/more.py", "chunked", "chunk_list");
            let out = apply(&files, &analysis, "chunk_list");
            assert!(
                out["pkg/more.py"].contains("__all__ = ['chunk_list', 'spy']"),
                "{init}"
            );
            assert!(out["pkg/recipes.py"].contains("from .more import chunk_list\n"));
            assert!(
                out["tests/test_more.py"].contains(
                    "assert mi.chunk_list([1], 1) == chunk_list([1], 1) == c([1], 1) == m2.chunk_list([1], 1) == more.chunk_list([1], 1)\n    assert mi.more.chunk_list is mi.recipes.chunk_list"
                ),
                "{init}\n{}",
                out["tests/test_more.py"]
            );
            assert!(
                out["tests/test_more.py"]
                    .contains("from pkg import chunk_list\nfrom pkg.more import chunk_list as c\n")
            );
            assert!(
                out["app.py"].contains("def run(chunked=None):\n    return chunked or alias.chunk_list(P.chunk_list([], 1), 2)\n\nprint(chunk_list, run(chunked=1))"),
                "{init}\n{}",
                out["app.py"]
            );
            assert!(
                analysis.uncertain.is_empty(),
                "{init}: {:?}",
                analysis.uncertain
            );
            let accounting = analysis.accounting;
            assert_eq!(accounting.total(), identifiers(&files, "chunked"), "{init}");
            // The keyword argument and the parameter are other bindings.
            assert_eq!(accounting.other, 3, "{init}: {accounting:?}");
        }
    }

    #[test]
    fn star_imports_follow_all_and_pythons_binding_order() {
        let user = ("use.py", "import pkg\npkg.helper()\n");
        let cases: [(&str, &str, bool); 6] = [
            // `__all__` without the name: the star import does not bind it.
            (
                "from .more import *\n",
                "__all__ = ['other']\ndef helper(): pass\ndef other(): pass\n",
                false,
            ),
            // No `__all__`: public names are exported, private ones not.
            ("from .more import *\n", "def helper(): pass\n", true),
            // A later definition shadows what the star import brought.
            (
                "from .more import *\ndef helper(): pass\n",
                "def helper(): pass\n",
                false,
            ),
            // A later star import wins over an earlier definition.
            (
                "def helper(): pass\nfrom .more import *\n",
                "def helper(): pass\n",
                true,
            ),
            // A tuple, and `__all__` built across branches.
            (
                "from .more import *\n",
                "if True:\n    __all__ = ('helper',)\nelse:\n    __all__ = ()\ndef helper(): pass\n",
                true,
            ),
            // Through a module that re-exports with a star import in turn.
            ("from .mid import *\n", "def helper(): pass\n", true),
        ];
        for (init, more, renamed) in cases {
            let files = [
                ("pkg/__init__.py", init),
                ("pkg/more.py", more),
                ("pkg/mid.py", "from .more import *\n"),
                user,
            ];
            let analysis = run(&files, "pkg/more.py", "helper", "assist");
            let out = apply(&files, &analysis, "assist");
            assert_eq!(
                out["use.py"].contains("pkg.assist()"),
                renamed,
                "{init} / {more}: {:?}",
                analysis.sites
            );
            assert_eq!(analysis.accounting.total(), identifiers(&files, "helper"));
        }
        // A private name without `__all__` is not exported.
        let files = [
            ("pkg/__init__.py", "from .more import *\n"),
            ("pkg/more.py", "def _helper(): pass\n"),
            ("use.py", "import pkg\npkg._helper()\n"),
        ];
        let analysis = run(&files, "pkg/more.py", "_helper", "_assist");
        assert!(
            !analysis.sites.contains_key("use.py"),
            "{:?}",
            analysis.sites
        );
    }

    #[test]
    fn a_computed_all_makes_its_uses_uncertain_not_silent() {
        let files = [
            ("pkg/__init__.py", "from .more import *\n"),
            (
                "pkg/more.py",
                "def helper(): pass\n__all__ = [n for n in dir() if not n.startswith('_')]\n",
            ),
            (
                "use.py",
                "import pkg\nfrom pkg import helper\npkg.helper()\n",
            ),
        ];
        let analysis = run(&files, "pkg/more.py", "helper", "assist");
        assert!(!analysis.sites.contains_key("use.py"));
        assert_eq!(analysis.uncertain.len(), 2, "{:?}", analysis.uncertain);
        assert!(analysis.uncertain[0].note.contains("computed at run time"));
        assert_eq!(analysis.accounting.total(), identifiers(&files, "helper"));
        assert_eq!(analysis.accounting.uncertain, 2);
    }

    #[test]
    fn doctests_are_code_in_the_modules_namespace() {
        let files = [
            ("pkg/__init__.py", "from .more import *\n"),
            (
                "pkg/more.py",
                "def chunked(it, n):\n    \"\"\"Split.\n\n    >>> chunked([1, 2], 1)\n    [[1], [2]]\n    >>> from pkg import chunked as c\n    >>> def f(chunked):\n    ...     return chunked\n    >>> c([1], 1) == chunked([1], 1)  # chunked again\n    True\n\n    Use chunked() for this: ``chunked``.\n    \"\"\"\n    return [it]\n",
            ),
            (
                "user.py",
                "import pkg\n\nclass K:\n    '''\n    >>> import pkg as p\n    >>> p.chunked([], 1)\n    []\n    >>> chunked\n    '''\n",
            ),
        ];
        let analysis = run(&files, "pkg/more.py", "chunked", "chunk_list");
        let out = apply(&files, &analysis, "chunk_list");
        assert_eq!(
            out["pkg/more.py"],
            "def chunk_list(it, n):\n    \"\"\"Split.\n\n    >>> chunk_list([1, 2], 1)\n    [[1], [2]]\n    >>> from pkg import chunk_list as c\n    >>> def f(chunked):\n    ...     return chunked\n    >>> c([1], 1) == chunk_list([1], 1)  # chunked again\n    True\n\n    Use chunked() for this: ``chunked``.\n    \"\"\"\n    return [it]\n"
        );
        // `chunked` alone in user.py's doctest is not bound there.
        assert_eq!(
            out["user.py"],
            "import pkg\n\nclass K:\n    '''\n    >>> import pkg as p\n    >>> p.chunk_list([], 1)\n    []\n    >>> chunked\n    '''\n"
        );
        let a = analysis.accounting;
        assert_eq!(
            (a.edited, a.other, a.uncertain, a.in_doctests),
            (5, 3, 0, 7),
            "{a:?}"
        );
        // Prose stays prose: the comment and the two mentions in the text.
        assert_eq!(analysis.mentions.len(), 3, "{:?}", analysis.mentions);
    }

    #[test]
    fn explicit_reexports_rename_with_the_name() {
        let files = [
            (
                "pkg/__init__.py",
                "from .utils import echo as echo\nfrom .utils import echo as say\n",
            ),
            ("pkg/utils.py", "def echo(x):\n    return x\n"),
            ("app.py", "import pkg\npkg.echo(1)\npkg.say(2)\n"),
        ];
        let analysis = run(&files, "pkg/utils.py", "echo", "echo_text");
        let out = apply(&files, &analysis, "echo_text");
        assert_eq!(
            out["pkg/__init__.py"],
            "from .utils import echo_text as echo_text\nfrom .utils import echo_text as say\n"
        );
        assert_eq!(out["app.py"], "import pkg\npkg.echo_text(1)\npkg.say(2)\n");
    }

    #[test]
    fn detects_clashes() {
        let files = [
            ("m.py", "def old(): pass\ndef new(): pass\n"),
            ("n.py", "from m import old\nprint(len(old()))\n"),
        ];
        let analysis = run(&files, "m.py", "old", "new");
        assert_eq!(analysis.clashes.len(), 1, "{:?}", analysis.clashes);
        assert_eq!(analysis.clashes[0].file, "m.py");
        let analysis = run(&files, "m.py", "old", "len");
        assert_eq!(analysis.clashes.len(), 1, "{:?}", analysis.clashes);
        assert_eq!(analysis.clashes[0].file, "n.py");
        let files = [(
            "m.py",
            "def old(): pass\ndef user(new):\n    return old() + new\n",
        )];
        let analysis = run(&files, "m.py", "old", "new");
        assert_eq!(analysis.clashes.len(), 1, "{:?}", analysis.clashes);
    }

    #[test]
    fn local_shadowing_is_left_alone() {
        let files = [(
            "m.py",
            "def old(): pass\ndef f():\n    old = 3\n    return old\nclass C:\n    def old(self): return old()\n",
        )];
        let analysis = run(&files, "m.py", "old", "new");
        let out = apply(&files, &analysis, "new");
        assert_eq!(
            out["m.py"],
            "def new(): pass\ndef f():\n    old = 3\n    return old\nclass C:\n    def old(self): return new()\n"
        );
    }
}
