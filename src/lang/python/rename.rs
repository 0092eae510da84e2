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

use super::modules::ModuleIndex;
use super::scope::{Binding, FileModel, ImportSpec, Resolution, Role};
use super::{Parsing, syntax_errors};
use crate::edit::EditKind;
use crate::parallel::par_map;

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
    let targets = target_modules(index, definition_file, old, &infos);
    analysis.target_modules = targets.iter().cloned().collect();

    for info in &infos {
        analyse_file(index, info, old, new, &targets, &mut analysis);
    }
    for sites in analysis.sites.values_mut() {
        sites.sort_by_key(|s| s.start);
        sites.dedup_by_key(|s| s.start);
    }
    analysis.sites.retain(|_, sites| !sites.is_empty());
    analysis
}

/// The files whose module namespace binds the target name: the definition
/// file plus re-exporters, to a fixed point.
fn target_modules(
    index: &ModuleIndex,
    definition_file: &str,
    old: &str,
    infos: &[FileInfo],
) -> BTreeSet<String> {
    let mut targets = BTreeSet::from([definition_file.to_owned()]);
    loop {
        let mut grew = false;
        for info in infos {
            if targets.contains(info.path) {
                continue;
            }
            let module_scope = &info.model.scopes[0];
            let reexports = info.model.occurrences.iter().any(|o| {
                o.scope == 0
                    && o.name == old
                    && matches!(&o.role, Role::Bind(Binding::From { module, name, aliased: false })
                        if name == old && resolves_to_target(index, info.path, module, &targets))
            });
            let star = !module_scope.bound.contains(old)
                && module_scope
                    .star_imports
                    .iter()
                    .any(|m| resolves_to_target(index, info.path, m, &targets));
            if reexports || star {
                targets.insert(info.path.to_owned());
                grew = true;
            }
        }
        if !grew {
            return targets;
        }
    }
}

fn resolves_to_target(
    index: &ModuleIndex,
    path: &str,
    spec: &ImportSpec,
    targets: &BTreeSet<String>,
) -> bool {
    index
        .absolute(path, spec.dots, &spec.name)
        .is_some_and(|module| {
            index
                .resolve(&module)
                .iter()
                .any(|file| targets.contains(*file))
        })
}

/// The project file a dotted module name denotes, if it is one.
fn module_file<'a>(index: &'a ModuleIndex, module: &str) -> Option<&'a str> {
    index.resolve(module).first().copied()
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
        if o.name != old {
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

fn analyse_file(
    index: &ModuleIndex,
    info: &FileInfo,
    old: &str,
    new: &str,
    targets: &BTreeSet<String>,
    analysis: &mut RenameAnalysis,
) {
    let model = &info.model;
    let path = info.path;
    let scopes = target_scopes(index, info, old, targets);
    let mut sites = Vec::new();
    let mut edited_starts = BTreeSet::new();
    let note = |o: &super::scope::Occurrence, note: String| Note {
        file: path.to_owned(),
        line: o.line,
        column: o.column,
        note,
    };

    for o in model.occurrences.iter().filter(|o| o.name == old) {
        let kind = match &o.role {
            Role::Bind(binding) => {
                if !scopes.contains(&o.scope) {
                    continue;
                }
                match binding {
                    Binding::Definition => EditKind::Definition,
                    Binding::From { .. } | Binding::Module { .. } => EditKind::Import,
                    Binding::Other => EditKind::Reference,
                }
            }
            Role::Reference | Role::Declaration => match model.resolve(old, o.scope) {
                Resolution::Scope(s) if scopes.contains(&s) => {
                    if o.role == Role::Declaration {
                        EditKind::Global
                    } else {
                        EditKind::Reference
                    }
                }
                Resolution::Free if scopes.contains(&0) => EditKind::Reference,
                _ => continue,
            },
            Role::ImportedName { module } => {
                if !resolves_to_target(index, path, module, targets) {
                    continue;
                }
                EditKind::Import
            }
            Role::Attribute { object } => match object
                .as_deref()
                .and_then(|chain| attribute_module(index, info, chain))
            {
                Some(Some(file)) if targets.contains(file) => EditKind::Attribute,
                Some(_) => continue,
                None => {
                    analysis.uncertain.push(note(
                        o,
                        format!(
                            "`.{old}` on an object orch cannot resolve to a module; left alone"
                        ),
                    ));
                    continue;
                }
            },
        };
        edited_starts.insert(o.start);
        sites.push(RenameSite {
            start: o.start,
            end: o.end,
            line: o.line,
            column: o.column,
            kind,
        });
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

/// For `a.b.NAME`: `Some(Some(file))` if `a.b` is a project module,
/// `Some(None)` if `a` is bound to something that is not a module of this
/// project (so the attribute is not ours), `None` if orch cannot tell.
fn attribute_module<'a>(
    index: &'a ModuleIndex,
    info: &FileInfo,
    chain: &[String],
) -> Option<Option<&'a str>> {
    let head = chain.first()?;
    // The head must be a name bound by an import (recorded for every name).
    let module = module_binding_of(index, info, head)?;
    let mut current = module;
    for part in &chain[1..] {
        let next = format!("{current}.{part}");
        if index.is_module(&next) {
            current = next;
        } else {
            // `mod.obj.NAME`: an attribute of a non-module object.
            return None;
        }
    }
    Some(module_file(index, &current))
}

/// What module a name bound by an import in this file denotes (the last
/// import of that name wins).
fn module_binding_of(index: &ModuleIndex, info: &FileInfo, name: &str) -> Option<String> {
    let import = info.model.imports.iter().rev().find(|i| i.bound == name)?;
    match &import.binding {
        Binding::Module { module } => Some(module.clone()),
        Binding::From {
            module,
            name: imported,
            ..
        } => {
            let base = index.absolute(info.path, module.dots, &module.name)?;
            let candidate = if base.is_empty() {
                imported.clone()
            } else {
                format!("{base}.{imported}")
            };
            index.is_module(&candidate).then_some(candidate)
        }
        _ => None,
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
