//! The rename analysis for a method of a module-level class.
//!
//! The family is the class and its project subclasses (transitively, bases
//! resolved through imports): renaming a method renames its overrides, as
//! rope's `in_hierarchy` does, so polymorphic calls keep working. Sites are
//! the `def` in each family class, bare uses in a family class body, and
//! `X.NAME` where the receiver is known to be a family instance or class:
//! the first parameter of a method of a family class (`self`, `cls`),
//! `super()` in a family class, a name bound to a family class, or a name
//! assigned a family instance (`x = C(...)`) in the same scope. Every other
//! `.NAME` is reported as uncertain and left alone. A project base class
//! that defines the method too is a clash (the override would break).

use std::collections::{BTreeMap, BTreeSet};

use tree_sitter::Node;

use super::modules::ModuleIndex;
use super::rename::{Note, RenameAnalysis, RenameSite};
use super::scope::{Binding, FileModel, mentions};
use super::{Parsing, find_word, syntax_errors, text};
use crate::edit::EditKind;
use crate::parallel::par_map;

mod hierarchy;
mod receivers;
mod returns;
mod types;
pub(crate) use hierarchy::*;
pub(crate) use hierarchy::{classes_defining, hierarchy_files};
use receivers::*;
use returns::*;
use types::*;

/// A module-level class: `(file, name)`.
type ClassId = (String, String);

struct Class {
    bases: Vec<ClassId>,
    /// Names defined directly in the body (`def`, assignments) and the
    /// attributes its methods assign (`self.x = ...`).
    members: BTreeSet<String>,
    line: usize,
    /// A dataclass, attrs class, `NamedTuple` or pydantic model: its
    /// constructor takes its fields as keywords.
    declares_fields: bool,
    defines_init: bool,
}

/// The generic types of collections whose first type argument is their
/// elements' type (`list[C]`, `Sequence[C]`, `tuple[C, ...]`).
pub(super) const COLLECTIONS: &[&str] = &[
    "list",
    "List",
    "Sequence",
    "MutableSequence",
    "Iterable",
    "Iterator",
    "Collection",
    "tuple",
    "Tuple",
    "set",
    "Set",
    "frozenset",
    "FrozenSet",
    "AbstractSet",
    "deque",
    "Deque",
];

/// Whether a callee, as written, gives a copy of its first argument:
/// `replace`/`dataclasses.replace`, `evolve`/`attrs.evolve`,
/// `copy`/`copy.copy`, `deepcopy`/`copy.deepcopy`.
pub(super) fn is_copier(callee: &str) -> bool {
    matches!(
        callee,
        "replace"
            | "evolve"
            | "copy"
            | "deepcopy"
            | "dataclasses.replace"
            | "attr.evolve"
            | "attrs.evolve"
            | "copy.copy"
            | "copy.deepcopy"
    )
}

/// The first parameter of a method (`self`, `cls`).
pub(crate) fn receiver_of(function: Node, source: &[u8]) -> Option<String> {
    first_parameter(function, source)
}

/// The names a class defines: its body's definitions and assignments, and
/// the attributes its methods assign.
pub(crate) fn class_members(class: Node, source: &[u8]) -> BTreeSet<String> {
    let mut out = members(class, source);
    out.extend(attribute_positions(class, source).into_keys());
    out
}

/// What kind of class member is renamed. A member is one name across the
/// family either way (an attribute a subclass overrides with a property
/// is renamed with it); an attribute's sites also include `__slots__`
/// entries and the keyword arguments of field-declaring constructors, and
/// `getattr`-style strings are listed as uncertain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Member {
    Method,
    Attribute,
}

/// Analyses renaming method `old` of class `class` (defined at module level
/// in `definition_file`) to `new` over `files` (path, source), which must
/// include every file that mentions `old` and every file defining a class
/// that may be in the family.
pub(crate) fn analyse(
    index: &ModuleIndex,
    definition_file: &str,
    class: &str,
    old: &str,
    new: &str,
    files: &[(String, String)],
) -> RenameAnalysis {
    analyse_with(
        index,
        definition_file,
        class,
        old,
        new,
        files,
        Parsing::Whole,
    )
}

/// [`analyse`] with its files parsed as `parsing` says. Focused, each file
/// parses only the statements that name `old`, `new` or a class that may
/// be in the family or among its ancestors (the textual pre-pass below),
/// and the imports ([`super::focus`]): class headers and bases, overrides,
/// typed attributes (`self.x = C(...)`, `x: C`) and every use of the
/// method are among them.
pub(crate) fn analyse_with(
    index: &ModuleIndex,
    definition_file: &str,
    class: &str,
    old: &str,
    new: &str,
    files: &[(String, String)],
    parsing: Parsing,
) -> RenameAnalysis {
    analyse_member(
        index,
        definition_file,
        class,
        old,
        new,
        files,
        parsing,
        Member::Method,
    )
}

/// [`analyse_with`] for a member of the kind `member`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn analyse_member(
    index: &ModuleIndex,
    definition_file: &str,
    class: &str,
    old: &str,
    new: &str,
    files: &[(String, String)],
    parsing: Parsing,
    member: Member,
) -> RenameAnalysis {
    let started = std::time::Instant::now();
    let mut analysis = RenameAnalysis::default();
    // Which files can matter, from their text alone: those that mention
    // `old` (sites, and overrides above the class), those whose class
    // headers can put a class in the family or among its ancestors, and,
    // below, the files that re-export a name the others import.
    let headers = class_headers(files);
    let aliases = import_aliases(files);
    let below = descendants(class, &headers, &aliases);
    let above = ancestors(class, definition_file, &headers, &aliases);
    let relevant: BTreeSet<&str> = below.names.union(&above.names).copied().collect();
    let words: Vec<&str> = [old, new, class]
        .into_iter()
        .chain(relevant.iter().copied())
        // (The textual pre-pass can pick up keywords and numbers.)
        .filter(|w| super::names::is_identifier(w))
        .collect::<BTreeSet<&str>>()
        .into_iter()
        .collect();
    if parsing != Parsing::Whole {
        analysis.syntax_focus = words.iter().map(|w| w.to_string()).collect();
    }
    let by_path: BTreeMap<&str, &str> = files
        .iter()
        .map(|(path, source)| (path.as_str(), source.as_str()))
        .collect();
    // Per file, on all cores: its classes (bases resolved through its own
    // imports) and import bindings. Only the trees of files that contain
    // `old` are kept for the walk below: a hierarchy can span thousands of
    // files.
    type Summary = (
        BTreeMap<String, ClassId>,
        Vec<(ClassId, Class)>,
        Option<tree_sitter::Tree>,
        Vec<(String, ClassId)>,
        Vec<String>,
    );
    let summarise = |(path, source): &(&str, &str)| -> Option<Summary> {
        let tree = parsing.parse(source, &words)?;
        let names = class_bindings(index, path, source, &tree);
        let module_level: BTreeSet<usize> = module_classes(tree.root_node())
            .iter()
            .map(|(_, node)| node.start_byte())
            .collect();
        let bytes = source.as_bytes();
        let file_classes = all_classes(tree.root_node(), bytes)
            .into_iter()
            .map(|(name, node)| {
                let bases = node
                    .child_by_field_name("superclasses")
                    .map(|list| {
                        let mut cursor = list.walk();
                        list.named_children(&mut cursor)
                            .filter_map(|b| resolve_expr(b, bytes, &names))
                            .collect()
                    })
                    .unwrap_or_default();
                let id = class_id(
                    path,
                    text(name, bytes),
                    node,
                    module_level.contains(&node.start_byte()),
                );
                let mut own = members(node, bytes);
                let defines_init = own.contains("__init__");
                own.extend(attribute_positions(node, bytes).into_keys());
                let class = Class {
                    bases,
                    members: own,
                    line: name.start_position().row + 1,
                    declares_fields: declares_fields(node, bytes),
                    defines_init,
                };
                (id, class)
            })
            .collect();
        let returning = function_returns(tree.root_node(), bytes, &names);
        let stars = star_files(index, path, source, &tree);
        let keep = source.contains(old).then_some(tree);
        Some((names, file_classes, keep, returning, stars))
    };
    let mut classes: BTreeMap<ClassId, Class> = BTreeMap::new();
    let mut bindings: BTreeMap<&str, BTreeMap<String, ClassId>> = BTreeMap::new();
    let mut parsed: Vec<(&str, &str, tree_sitter::Tree)> = Vec::new();
    let mut function_classes: Vec<(ClassId, ClassId)> = Vec::new();
    let mut stars: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    // Parsed first: the files that can hold a site or an override, the
    // ancestors' files, and the family's files that can hold a clash with
    // `new`. A family class elsewhere matters only where a file read here
    // names it, and naming it from another file takes an import: the
    // re-export hops below reach its file then. (Test suites subclass a
    // project's base classes in many files that never name the method.)
    let mut pending: Vec<(&str, &str)> = by_path
        .iter()
        .filter(|(path, source)| {
            **path == definition_file
                || source.contains(old)
                || above.files.contains(*path)
                || (below.files.contains(*path) && source.contains(new))
        })
        .map(|(path, source)| (*path, *source))
        .collect();
    let mut summarised: BTreeSet<&str> = BTreeSet::new();
    while !pending.is_empty() {
        summarised.extend(pending.iter().map(|(path, _)| *path));
        let summaries = par_map(&pending, summarise);
        for ((path, source), summary) in pending.iter().zip(summaries) {
            let Some((names, file_classes, tree, returning, star)) = summary else {
                continue;
            };
            if !star.is_empty() {
                stars.insert(path, star);
            }
            function_classes.extend(
                returning
                    .into_iter()
                    .map(|(function, class)| ((path.to_string(), function), class)),
            );
            classes.extend(file_classes);
            bindings.insert(path, names);
            if let Some(tree) = tree {
                parsed.push((path, source, tree));
            }
        }
        // Re-exports: a name that may denote a family class or an ancestor
        // imported from a file not read yet (`from . import C` through a
        // package's `__init__.py`, or `pkg.C` after `import pkg`).
        let mut next: BTreeSet<&str> = BTreeSet::new();
        for (bound, (file, name)) in bindings.values().flat_map(|names| names.iter()) {
            let Some((file, source)) = by_path.get_key_value(file.as_str()) else {
                continue;
            };
            if summarised.contains(file) || next.contains(file) {
                continue;
            }
            let matters = if name == "module:" {
                relevant.iter().any(|n| !find_word(source, n).is_empty())
            } else {
                relevant.contains(name.as_str()) || relevant.contains(bound.as_str())
            };
            if matters {
                next.insert(file);
            }
        }
        // Star imports (`from .core import *` in a package's `__init__.py`)
        // of files read: the star-imported files that name a relevant class.
        for file in stars.values().flatten() {
            let Some((file, source)) = by_path.get_key_value(file.as_str()) else {
                continue;
            };
            if !summarised.contains(file)
                && relevant.iter().any(|n| !find_word(source, n).is_empty())
            {
                next.insert(file);
            }
        }
        pending = next.into_iter().map(|file| (file, by_path[file])).collect();
    }
    // What star imports bind: the module-level classes and the names a
    // star-imported file binds, unless the importing file binds the name
    // itself (to a fixed point: stars of stars).
    for _ in 0..8 {
        let mut grown = false;
        for (file, star) in &stars {
            for from in star {
                let mut exported: Vec<(String, ClassId)> = classes
                    .keys()
                    .filter(|(f, name)| f == from && !name.contains('@'))
                    .map(|id| (id.1.clone(), id.clone()))
                    .chain(
                        function_classes
                            .iter()
                            .filter(|((f, _), _)| f == from)
                            .map(|(id, _)| (id.1.clone(), id.clone())),
                    )
                    .collect();
                if let Some(names) = bindings.get(from.as_str()) {
                    exported.extend(
                        names
                            .iter()
                            .filter(|(name, id)| id.1 != "module:" && !name.starts_with('_'))
                            .map(|(name, id)| (name.clone(), id.clone())),
                    );
                }
                let names = bindings.entry(file).or_default();
                for (name, id) in exported {
                    if let std::collections::btree_map::Entry::Vacant(entry) = names.entry(name) {
                        entry.insert(id);
                        grown = true;
                    }
                }
            }
        }
        if !grown {
            break;
        }
    }
    parsed.sort_by_key(|(path, _, _)| *path);
    tracing::debug!(
        summarised = summarised.len(),
        kept = parsed.len(),
        ms = started.elapsed().as_millis() as u64,
        "method hierarchy read"
    );
    // Follow re-exports (`from .formatting import HelpFormatter` in a
    // package's `__init__.py`) to the defining file.
    let canonical = |id: ClassId| -> ClassId {
        let mut id = id;
        for _ in 0..8 {
            match bindings
                .get(id.0.as_str())
                .and_then(|names| names.get(&id.1))
            {
                Some(next) if *next != id && next.1 != "module:" => id = next.clone(),
                _ => break,
            }
        }
        id
    };
    for info in classes.values_mut() {
        info.bases = info.bases.drain(..).map(&canonical).collect();
    }
    let bindings: BTreeMap<&str, BTreeMap<String, ClassId>> = bindings
        .iter()
        .map(|(path, names)| {
            (
                *path,
                names
                    .iter()
                    .map(|(n, id)| {
                        let id = if id.1 == "module:" {
                            id.clone()
                        } else {
                            canonical(id.clone())
                        };
                        (n.clone(), id)
                    })
                    .collect(),
            )
        })
        .collect();
    let target: ClassId = (definition_file.to_owned(), class.to_owned());
    let mut family: BTreeSet<ClassId> = BTreeSet::from([target.clone()]);
    loop {
        let grown: Vec<ClassId> = classes
            .iter()
            .filter(|(id, c)| !family.contains(*id) && c.bases.iter().any(|b| family.contains(b)))
            .map(|(id, _)| id.clone())
            .collect();
        if grown.is_empty() {
            break;
        }
        family.extend(grown);
    }
    // Receivers from return types: functions whose calls give a family
    // instance, and methods of family classes that chain on the family.
    let family_functions: BTreeSet<ClassId> = function_classes
        .into_iter()
        .filter(|(_, class)| family.contains(&canonical(class.clone())))
        .map(|(function, _)| function)
        .collect();
    let family_methods: BTreeSet<String> = {
        let files: BTreeSet<&str> = family.iter().map(|(f, _)| f.as_str()).collect();
        let per_file = par_map(&files.into_iter().collect::<Vec<_>>(), |file| {
            let source = by_path.get(file)?;
            let tree = super::parse(source)?;
            let bytes = source.as_bytes();
            let names = bindings.get(file).cloned().unwrap_or_default();
            let module_level: BTreeSet<usize> = module_classes(tree.root_node())
                .iter()
                .map(|(_, node)| node.start_byte())
                .collect();
            let mut out = BTreeSet::new();
            for (name, node) in all_classes(tree.root_node(), bytes) {
                let class_name = text(name, bytes);
                let id = class_id(
                    file,
                    class_name,
                    node,
                    module_level.contains(&node.start_byte()),
                );
                if family.contains(&id) {
                    out.extend(chaining_methods(node, class_name, bytes, &names, &|id| {
                        family.contains(&canonical(id.clone()))
                    }));
                }
            }
            Some(out)
        });
        per_file.into_iter().flatten().flatten().collect()
    };
    // Ancestors outside the family that define the method: an override.
    let mut stack: Vec<ClassId> = classes
        .get(&target)
        .map(|c| c.bases.clone())
        .unwrap_or_default();
    let mut seen = BTreeSet::new();
    while let Some(base) = stack.pop() {
        if !seen.insert(base.clone()) {
            continue;
        }
        if let Some(info) = classes.get(&base) {
            if info.members.contains(old) {
                let note = match member {
                    Member::Method => format!(
                        "`{}.{old}` overrides `{}.{old}`; renaming it alone would break the override (rename it in `{}` instead)",
                        class, base.1, base.1
                    ),
                    Member::Attribute => format!(
                        "`{}` also defines `{old}` (`{class}` inherits from it); renaming it in `{class}` alone would split the attribute (rename it in `{}` instead)",
                        base.1, base.1
                    ),
                };
                analysis.clashes.push(Note {
                    file: base.0.clone(),
                    line: info.line,
                    column: 1,
                    note,
                });
            }
            stack.extend(info.bases.iter().cloned());
        }
    }
    for id in &family {
        if let Some(info) = classes.get(id)
            && info.members.contains(new)
        {
            analysis.clashes.push(Note {
                file: id.0.clone(),
                line: info.line,
                column: 1,
                note: format!("class `{}` already has a member `{new}`", id.1),
            });
        }
    }
    // Every ancestor of a family class outside the family: in their
    // methods, `self` may be a family instance.
    let mut related: BTreeSet<ClassId> = BTreeSet::new();
    let mut stack: Vec<ClassId> = family
        .iter()
        .filter_map(|id| classes.get(id))
        .flat_map(|c| c.bases.iter().cloned())
        .collect();
    while let Some(base) = stack.pop() {
        if family.contains(&base) || !related.insert(base.clone()) {
            continue;
        }
        if let Some(info) = classes.get(&base) {
            stack.extend(info.bases.iter().cloned());
        }
    }
    // The family classes whose constructors take their fields as
    // keywords: declared so and without an `__init__` of their own, or
    // inheriting such a constructor.
    let mut keyword_classes: BTreeSet<ClassId> = BTreeSet::new();
    if member == Member::Attribute {
        loop {
            let grown: Vec<ClassId> = family
                .iter()
                .filter(|id| !keyword_classes.contains(*id))
                .filter(|id| {
                    classes.get(*id).is_some_and(|c| {
                        !c.defines_init
                            && (c.declares_fields
                                || c.bases.iter().any(|b| keyword_classes.contains(b)))
                    })
                })
                .cloned()
                .collect();
            if grown.is_empty() {
                break;
            }
            keyword_classes.extend(grown);
        }
    }
    // With the files whose class headers put a class in the family by
    // name but that were not read (see above).
    analysis.target_modules = family
        .iter()
        .map(|(f, _)| f.as_str())
        .chain(
            below
                .files
                .iter()
                .copied()
                .filter(|f| !summarised.contains(f)),
        )
        .map(str::to_owned)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    // Only files that contain `old` can hold a site, mention or uncertain
    // use; their trees were kept above.
    for (path, source, tree) in &parsed {
        analysis
            .parse_errors
            .insert(path.to_string(), syntax_errors(tree));
        let mut walker = Walker {
            path,
            source: source.as_bytes(),
            old,
            family: &family,
            target: class,
            typed_attrs: BTreeMap::new(),
            names: bindings.get(path).cloned().unwrap_or_default(),
            reexports: &BTreeMap::new(),
            family_functions: &family_functions,
            family_methods: &family_methods,
            local_family: BTreeSet::new(),
            member,
            keyword_classes: &keyword_classes,
            related: &related,
            marks: {
                let mut marks: Vec<usize> = source.match_indices(old).map(|(i, _)| i).collect();
                marks.extend(find_word(source, "class"));
                marks.sort_unstable();
                marks
            },
            sites: Vec::new(),
            uncertain: Vec::new(),
        };
        walker.reexports = &bindings;
        walker.typed_attrs = walker.typed_attributes(tree.root_node());
        // Module-level code: its own instances (`tag = Word(...)`).
        let mut top = Context::default();
        let mut instances = BTreeSet::new();
        walker.collect_instances(tree.root_node(), &top, &mut instances);
        top.instances = instances;
        walker.visit(tree.root_node(), &top);
        let named: BTreeSet<(usize, usize)> = walker
            .uncertain
            .iter()
            .map(|n| (n.line, n.column))
            .collect();
        for mention in mentions(tree, source, old) {
            // A string the walk listed (`getattr(obj, "old")`) once.
            if named.contains(&(mention.line, mention.column))
                || walker.sites.iter().any(|site| site.start == mention.start)
            {
                continue;
            }
            analysis.mentions.push(Note {
                file: path.to_string(),
                line: mention.line,
                column: mention.column,
                note: format!("`{old}` in a {}; left alone", mention.context),
            });
        }
        analysis.uncertain.extend(walker.uncertain);
        if !walker.sites.is_empty() {
            walker.sites.sort_by_key(|s| s.start);
            walker.sites.dedup_by_key(|s| s.start);
            analysis.sites.insert(path.to_string(), walker.sites);
        }
    }
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "method sites found"
    );
    analysis
}

#[cfg(test)]
mod tests {
    use super::super::testing::assert_same;
    use super::*;

    fn run(
        files: &[(&str, &str)],
        class: &str,
        old: &str,
        new: &str,
    ) -> (BTreeMap<String, String>, RenameAnalysis) {
        run_member(files, class, old, new, Member::Method)
    }

    fn run_member(
        files: &[(&str, &str)],
        class: &str,
        old: &str,
        new: &str,
        member: Member,
    ) -> (BTreeMap<String, String>, RenameAnalysis) {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let analysis = analyse_member(
            &index,
            &files[0].0,
            class,
            old,
            new,
            &files,
            Parsing::Whole,
            member,
        );
        // Every case holds for the focused analysis too.
        let focused = analyse_member(
            &index,
            &files[0].0,
            class,
            old,
            new,
            &files,
            Parsing::FocusedOnly,
            member,
        );
        assert_same(&analysis, &focused, &format!("{class}.{old}"));
        let mut out = BTreeMap::new();
        for (path, source) in &files {
            let mut edited = source.clone();
            if let Some(sites) = analysis.sites.get(path) {
                for s in sites.iter().rev() {
                    edited.replace_range(s.start..s.end, new);
                }
            }
            out.insert(path.clone(), edited);
        }
        (out, analysis)
    }

    /// On real code nobody here wrote (this machine's Python standard
    /// library, which CI installs): for methods of a sample of its
    /// classes, the focused analysis finds what the whole-file one does.
    #[test]
    fn focused_and_whole_method_analyses_agree_on_the_standard_library() {
        let files = super::super::testing::stdlib_sample(2);
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let mut methods = 0;
        for (path, source) in files.iter().step_by(3) {
            let tree = super::super::parse(source).unwrap();
            let bytes = source.as_bytes();
            for (name, class) in module_classes(tree.root_node()).into_iter().take(3) {
                let class_name = text(name, bytes);
                let members: Vec<String> = members(class, bytes).into_iter().collect();
                for old in members.iter().step_by(members.len() / 2 + 1) {
                    let mut subset: Vec<(String, String)> = files
                        .iter()
                        .filter(|(p, s)| {
                            p == path
                                || !find_word(s, old).is_empty()
                                || !find_word(s, class_name).is_empty()
                        })
                        .cloned()
                        .collect();
                    let family: BTreeSet<String> = hierarchy_files(class_name, &files)
                        .into_iter()
                        .map(str::to_owned)
                        .collect();
                    for (p, s) in &files {
                        if family.contains(p) && !subset.iter().any(|(q, _)| q == p) {
                            subset.push((p.clone(), s.clone()));
                        }
                    }
                    subset.sort();
                    let whole = analyse(&index, path, class_name, old, "renamed_x", &subset);
                    let focused = analyse_with(
                        &index,
                        path,
                        class_name,
                        old,
                        "renamed_x",
                        &subset,
                        Parsing::FocusedOnly,
                    );
                    let what = format!("{path}: {class_name}.{old}");
                    assert_same(&whole, &focused, &what);
                    methods += 1;
                }
            }
        }
        eprintln!("{methods} methods compared");
        assert!(methods > 40, "{methods} methods");
    }

    #[test]
    fn the_focus_names_only_identifiers() {
        // The textual pre-pass reads `try` and `1` from the bases as names
        // of possible ancestors; a plan's `check` node refuses non-names.
        let source = "class Base(object, **{\"try\": 1}):\n    def m(self):\n        return 1\n";
        let files = vec![("a.py".to_owned(), source.to_owned())];
        let index = ModuleIndex::new(["a.py"]);
        let analysis = analyse_with(&index, "a.py", "Base", "m", "n", &files, Parsing::Focused);
        assert!(analysis.syntax_focus.contains(&"m".to_owned()));
        for word in &analysis.syntax_focus {
            assert!(crate::lang::python::names::is_identifier(word), "{word}");
        }
        assert_eq!(analysis.sites["a.py"].len(), 1);
    }

    #[test]
    fn receivers_follow_return_types() {
        let cart = "from typing import Optional\n\n\nclass Cart:\n    def add(self, x):\n        self.items.append(x)\n        return self\n\n    def copy(self) -> \"Cart\":\n        return type(self)()\n\n    def total(self):\n        return 1\n\n\ndef get_cart() -> Optional[Cart]:\n    return Cart()\n\n\ndef make_cart():\n    return Cart()\n\n\ndef other():\n    return Cart\n";
        let user = "from shop.cart import Cart, get_cart, make_cart\n\n\ndef use():\n    cart = make_cart()\n    a = Cart().add(1).add(2).total()\n    b = get_cart().total() + cart.total() + cart.copy().total()\n    return a + b + unknown().total() + Cart().items.total()\n";
        let (out, analysis) = run(
            &[
                ("shop/cart.py", cart),
                ("shop/use.py", user),
                ("shop/__init__.py", ""),
            ],
            "Cart",
            "total",
            "amount",
        );
        assert_eq!(
            out["shop/use.py"],
            "from shop.cart import Cart, get_cart, make_cart\n\n\ndef use():\n    cart = make_cart()\n    a = Cart().add(1).add(2).amount()\n    b = get_cart().amount() + cart.amount() + cart.copy().amount()\n    return a + b + unknown().total() + Cart().items.total()\n"
        );
        let uncertain: Vec<String> = analysis
            .uncertain
            .iter()
            .map(|n| format!("{}:{}", n.file, n.line))
            .collect();
        assert_eq!(uncertain, ["shop/use.py:8", "shop/use.py:8"]);
    }

    #[test]
    fn methods_follow_receivers_and_the_hierarchy() {
        let cart = "class Cart:\n    def total(self):\n        return self.sum()\n\n    def sum(self):\n        return 1\n\n    @classmethod\n    def make(cls):\n        return cls.sum\n\n    @staticmethod\n    def other(x):\n        return x.sum()\n\n    alias = sum\n";
        let special = "from .cart import Cart\n\n\nclass Big(Cart):\n    def sum(self):\n        return super().sum() * 2\n\n\ndef use(thing):\n    c = Cart()\n    n = c.sum() + Cart.sum(c) + Big().sum()\n    return thing.sum() + n\n";
        let (out, analysis) = run(
            &[
                ("shop/cart.py", cart),
                ("shop/special.py", special),
                ("shop/__init__.py", ""),
            ],
            "Cart",
            "sum",
            "subtotal",
        );
        assert_eq!(
            out["shop/cart.py"],
            "class Cart:\n    def total(self):\n        return self.subtotal()\n\n    def subtotal(self):\n        return 1\n\n    @classmethod\n    def make(cls):\n        return cls.subtotal\n\n    @staticmethod\n    def other(x):\n        return x.sum()\n\n    alias = subtotal\n"
        );
        assert_eq!(
            out["shop/special.py"],
            "from .cart import Cart\n\n\nclass Big(Cart):\n    def subtotal(self):\n        return super().subtotal() * 2\n\n\ndef use(thing):\n    c = Cart()\n    n = c.subtotal() + Cart.subtotal(c) + Big().subtotal()\n    return thing.sum() + n\n"
        );
        let uncertain: Vec<String> = analysis
            .uncertain
            .iter()
            .map(|n| format!("{}:{}", n.file, n.line))
            .collect();
        assert_eq!(uncertain, ["shop/cart.py:14", "shop/special.py:12"]);
        assert!(analysis.clashes.is_empty());
    }

    #[test]
    fn classes_defined_in_functions_join_the_family() {
        let cart = "class Cart:\n    def sum(self):\n        return 1\n";
        let test = "import shop.cart as c\n\ndef test_it():\n    class Mine(c.Cart):\n        def sum(self):\n            return self.base() + super().sum()\n    return Mine().sum()\n";
        let (out, _) = run(
            &[
                ("shop/cart.py", cart),
                ("tests/test_cart.py", test),
                ("shop/__init__.py", ""),
            ],
            "Cart",
            "sum",
            "total",
        );
        assert_eq!(
            out["tests/test_cart.py"],
            "import shop.cart as c\n\ndef test_it():\n    class Mine(c.Cart):\n        def total(self):\n            return self.base() + super().total()\n    return Mine().total()\n"
        );
    }

    #[test]
    fn overrides_and_existing_members_clash() {
        let base = "class Base:\n    def sum(self):\n        return 0\n";
        let cart = "from .base import Base\n\nclass Cart(Base):\n    def sum(self):\n        return 1\n\n    def subtotal(self):\n        return 2\n";
        let (_, analysis) = run(
            &[
                ("shop/cart.py", cart),
                ("shop/base.py", base),
                ("shop/__init__.py", ""),
            ],
            "Cart",
            "sum",
            "subtotal",
        );
        let notes: Vec<&str> = analysis.clashes.iter().map(|c| c.note.as_str()).collect();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("overrides `Base.sum`")));
        assert!(
            notes
                .iter()
                .any(|n| n.contains("already has a member `subtotal`"))
        );
    }

    #[test]
    fn files_without_the_method_still_link_the_family() {
        // A re-export in `__init__.py`, a subclass under an import alias in
        // a file that never names the method, and an ancestor two classes
        // up in a file that does not either: none of these files mention
        // `sum`, yet each decides a site or a clash.
        let cart = "from .middle import Middle\n\nclass Cart(Middle):\n    def sum(self):\n        return 1\n";
        let init = "from .cart import Cart\n";
        let middle = "from .root import Root\n\nclass Middle(Root):\n    pass\n";
        let root = "class Root:\n    def sum(self):\n        return 0\n";
        let special = "from shop import Cart as Basket\n\nclass Special(Basket):\n    pass\n";
        let user = "from shop import Cart\nfrom shop.special import Special\n\ndef f():\n    Cart().sum()\n    Special().sum()\n";
        let (out, analysis) = run(
            &[
                ("shop/cart.py", cart),
                ("shop/__init__.py", init),
                ("shop/middle.py", middle),
                ("shop/root.py", root),
                ("shop/special.py", special),
                ("app/user.py", user),
                ("app/__init__.py", ""),
            ],
            "Cart",
            "sum",
            "total",
        );
        assert_eq!(
            out["app/user.py"],
            "from shop import Cart\nfrom shop.special import Special\n\ndef f():\n    Cart().total()\n    Special().total()\n"
        );
        let notes: Vec<&str> = analysis.clashes.iter().map(|c| c.note.as_str()).collect();
        assert!(
            notes.iter().any(|n| n.contains("overrides `Root.sum`")),
            "{notes:?}"
        );
        assert!(analysis.uncertain.is_empty(), "{:?}", analysis.uncertain);
    }

    #[test]
    fn the_class_walk_skips_only_subtrees_without_a_class() {
        let source = "import x\n\nclass A:\n    class Inner(A):\n        pass\n\ndef f():\n    y = 1\n    def g():\n        class Local(x.Base):\n            \"\"\"class in a docstring\"\"\"\n        return Local\n    return g\n\n@decorate\nclass B(A): pass\n\nif x:\n    class C: ...\nelse:\n    z = [i for i in range(3)]\n\ns = 'class D'  # class E\ndef h(): return 1\nclass F(\n    A,\n): pass\n";
        let tree = super::super::parse(source).unwrap();
        let mut every = Vec::new();
        let mut stack = vec![tree.root_node()];
        while let Some(node) = stack.pop() {
            if node.kind() == "class_definition" {
                every.push(node.start_byte());
            }
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
        every.sort();
        let mut found: Vec<usize> = all_classes(tree.root_node(), source.as_bytes())
            .iter()
            .map(|(_, class)| class.start_byte())
            .collect();
        found.sort();
        assert_eq!(found, every);
        assert_eq!(found.len(), 6);
        let plain = "def f():\n    return 1\n";
        let tree = super::super::parse(plain).unwrap();
        assert!(all_classes(tree.root_node(), plain.as_bytes()).is_empty());
    }

    #[test]
    fn family_files_that_never_name_the_method_still_report_clashes() {
        // `plugin.py` and `quiet.py` subclass `Base` without naming `sum`
        // and nothing imports them: they are not parsed for sites, but a
        // member already called `total` is still a clash, and both count
        // among the modules the change touches.
        let base = "class Base:\n    def sum(self):\n        return 0\n";
        let plugin = "from shop.base import Base\n\nclass Plugin(Base):\n    def total(self):\n        return 1\n";
        let quiet = "from shop.base import Base\n\nclass Quiet(Base):\n    pass\n";
        let user = "from shop.base import Base\n\ndef f():\n    return Base().sum()\n";
        let (out, analysis) = run(
            &[
                ("shop/base.py", base),
                ("shop/plugin.py", plugin),
                ("shop/quiet.py", quiet),
                ("shop/user.py", user),
                ("shop/__init__.py", ""),
            ],
            "Base",
            "sum",
            "total",
        );
        assert_eq!(
            out["shop/user.py"],
            "from shop.base import Base\n\ndef f():\n    return Base().total()\n"
        );
        let notes: Vec<&str> = analysis.clashes.iter().map(|c| c.note.as_str()).collect();
        assert_eq!(notes, ["class `Plugin` already has a member `total`"]);
        assert_eq!(
            analysis.target_modules,
            ["shop/base.py", "shop/plugin.py", "shop/quiet.py"]
        );
    }

    #[test]
    fn attributes_annotated_with_a_family_class_are_known_receivers() {
        let types = "class ParamType:\n    def metavar(self):\n        return None\n\nclass Choice(ParamType):\n    def metavar(self):\n        return 'x'\n";
        let core = "from . import types\n\nclass Parameter:\n    def __init__(self, t):\n        self.type: types.ParamType = t\n        self.other = t\n\n    def help(self):\n        return self.type.metavar(), self.other.metavar()\n\nclass Argument(Parameter):\n    def usage(self):\n        def inner():\n            return self.type.metavar()\n        return inner()\n\nclass Option(Parameter):\n    kind: types.ParamType | None\n\n    def show(this):\n        return this.kind.metavar()\n";
        let (out, analysis) = run(
            &[
                ("pkg/types.py", types),
                ("pkg/core.py", core),
                ("pkg/__init__.py", ""),
            ],
            "ParamType",
            "metavar",
            "metavar_for",
        );
        assert_eq!(
            out["pkg/core.py"],
            "from . import types\n\nclass Parameter:\n    def __init__(self, t):\n        self.type: types.ParamType = t\n        self.other = t\n\n    def help(self):\n        return self.type.metavar_for(), self.other.metavar()\n\nclass Argument(Parameter):\n    def usage(self):\n        def inner():\n            return self.type.metavar_for()\n        return inner()\n\nclass Option(Parameter):\n    kind: types.ParamType | None\n\n    def show(this):\n        return this.kind.metavar_for()\n"
        );
        let notes: Vec<&str> = analysis.uncertain.iter().map(|n| n.note.as_str()).collect();
        assert_eq!(
            notes,
            [
                "`self.other.metavar`: orch cannot tell whether `self.other` is a `ParamType`; left alone"
            ]
        );
    }

    #[test]
    fn multi_line_headers_and_aliased_bases_link_the_family() {
        // A subclass whose header spans lines, and an ancestor imported
        // under an alias, both in files that never mention `sum`.
        let cart =
            "from .base import Base as B\n\nclass Cart(B):\n    def sum(self):\n        return 1\n";
        let base = "from .root import Root\n\nclass Base(\n    Root,\n):\n    pass\n";
        let root = "class Root:\n    def sum(self):\n        return 0\n";
        let special =
            "from shop.cart import Cart\n\nclass Special(\n    Cart,  # the cart\n):\n    pass\n";
        let user = "from shop.special import Special\n\ndef f():\n    return Special().sum()\n";
        let (out, analysis) = run(
            &[
                ("shop/cart.py", cart),
                ("shop/base.py", base),
                ("shop/root.py", root),
                ("shop/special.py", special),
                ("shop/__init__.py", ""),
                ("app/user.py", user),
                ("app/__init__.py", ""),
            ],
            "Cart",
            "sum",
            "total",
        );
        assert_eq!(
            out["app/user.py"],
            "from shop.special import Special\n\ndef f():\n    return Special().total()\n"
        );
        let notes: Vec<&str> = analysis.clashes.iter().map(|c| c.note.as_str()).collect();
        assert!(
            notes.iter().any(|n| n.contains("overrides `Root.sum`")),
            "{notes:?}"
        );
    }

    fn notes(notes: &[Note]) -> Vec<String> {
        notes
            .iter()
            .map(|n| format!("{}:{}: {}", n.file, n.line, n.note))
            .collect()
    }

    #[test]
    fn attributes_follow_self_the_class_and_typed_receivers() {
        let cart = "class Cart:\n    currency = 'EUR'\n    items: list\n\n    def __init__(self):\n        self.items = []\n        self.count, self.items = 0, []\n\n    def add(self, x):\n        self.items.append(x)\n        return len(self.items)\n\n    @classmethod\n    def empty(cls):\n        return cls.items\n\n\nclass Big(Cart):\n    def __init__(self):\n        super().__init__()\n        self.items = [1]\n\n\ndef use(other):\n    c = Cart()\n    c.items.clear()\n    print(getattr(c, \"items\"), Cart.items)\n    return other.items, {'items': 1}, c.add(items=2)\n";
        let (out, analysis) = run_member(
            &[("shop/cart.py", cart), ("shop/__init__.py", "")],
            "Cart",
            "items",
            "lines",
            Member::Attribute,
        );
        assert_eq!(
            out["shop/cart.py"],
            "class Cart:\n    currency = 'EUR'\n    lines: list\n\n    def __init__(self):\n        self.lines = []\n        self.count, self.lines = 0, []\n\n    def add(self, x):\n        self.lines.append(x)\n        return len(self.lines)\n\n    @classmethod\n    def empty(cls):\n        return cls.lines\n\n\nclass Big(Cart):\n    def __init__(self):\n        super().__init__()\n        self.lines = [1]\n\n\ndef use(other):\n    c = Cart()\n    c.lines.clear()\n    print(getattr(c, \"items\"), Cart.lines)\n    return other.items, {'items': 1}, c.add(items=2)\n"
        );
        assert_eq!(
            notes(&analysis.uncertain),
            [
                "shop/cart.py:27: `getattr(c, \"items\")` names the attribute in a string; left alone",
                "shop/cart.py:28: `other.items`: orch cannot tell whether `other` is a `Cart`; left alone",
            ]
        );
        // The dict key is a mention; the getattr string is not listed twice.
        assert_eq!(
            notes(&analysis.mentions),
            ["shop/cart.py:28: `items` in a string; left alone"]
        );
        assert!(analysis.clashes.is_empty());
    }

    #[test]
    fn attribute_slots_dataclass_fields_and_named_tuples() {
        let models = "from dataclasses import dataclass, field, replace\nfrom typing import NamedTuple\n\n\nclass Point:\n    __slots__ = ('x', \"y\")\n\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n\n\n@dataclass(frozen=True)\nclass Line:\n    x: int\n    tags: list = field(default_factory=list)\n\n\n@dataclass\nclass Thick(Line):\n    width: int = 1\n\n\nclass Pair(NamedTuple):\n    x: int\n    z: int\n";
        let user = "from shop.models import Line, Pair, Point, Thick\nfrom dataclasses import replace\n\n\ndef f():\n    a = Line(x=1)\n    b = Thick(x=2, width=3)\n    c = replace(a, x=5)\n    p = Point(x=1, y=2)\n    return a.x + b.x + c.x + p.x + Pair(x=1, z=2).x\n";
        let (out, _) = run_member(
            &[
                ("shop/models.py", models),
                ("shop/user.py", user),
                ("shop/__init__.py", ""),
            ],
            "Line",
            "x",
            "start",
            Member::Attribute,
        );
        assert_eq!(
            out["shop/user.py"],
            "from shop.models import Line, Pair, Point, Thick\nfrom dataclasses import replace\n\n\ndef f():\n    a = Line(start=1)\n    b = Thick(start=2, width=3)\n    c = replace(a, start=5)\n    p = Point(x=1, y=2)\n    return a.start + b.start + c.start + p.x + Pair(x=1, z=2).x\n"
        );
        assert!(out["shop/models.py"].contains("class Line:\n    start: int\n"));
        // `Point`'s slots and `__init__` parameter are another class's.
        assert!(out["shop/models.py"].contains("__slots__ = ('x', \"y\")"));
        let (out, analysis) = run_member(
            &[
                ("shop/models.py", models),
                ("shop/user.py", user),
                ("shop/__init__.py", ""),
            ],
            "Point",
            "x",
            "left",
            Member::Attribute,
        );
        assert!(
            out["shop/models.py"].contains(
                "__slots__ = ('left', \"y\")\n\n    def __init__(self, x, y):\n        self.left = x\n"
            ),
            "{}",
            out["shop/models.py"]
        );
        // A plain class's constructor keywords are its `__init__`'s
        // parameters, not the attribute.
        assert!(out["shop/user.py"].contains("Point(x=1, y=2)"));
        assert!(out["shop/user.py"].contains("p.left"));
        assert!(analysis.mentions.is_empty(), "{:?}", analysis.mentions);
        let (out, _) = run_member(
            &[
                ("shop/models.py", models),
                ("shop/user.py", user),
                ("shop/__init__.py", ""),
            ],
            "Pair",
            "x",
            "first",
            Member::Attribute,
        );
        assert!(out["shop/user.py"].contains("Pair(first=1, z=2).first"));
        assert!(out["shop/user.py"].contains("Line(x=1)"));
    }

    #[test]
    fn attribute_clashes_with_members_and_ancestors() {
        let base = "class Base:\n    def __init__(self):\n        self.items = []\n";
        let cart = "from .base import Base\n\n\nclass Cart(Base):\n    def __init__(self):\n        self.items = ()\n        self.lines = 0\n";
        let (_, analysis) = run_member(
            &[
                ("shop/cart.py", cart),
                ("shop/base.py", base),
                ("shop/__init__.py", ""),
            ],
            "Cart",
            "items",
            "lines",
            Member::Attribute,
        );
        let notes: Vec<&str> = analysis.clashes.iter().map(|c| c.note.as_str()).collect();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(
            notes
                .iter()
                .any(|n| n.contains("`Base` also defines `items`"))
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("class `Cart` already has a member `lines`"))
        );
        // A method renamed to an attribute's name clashes too.
        let shop = "class Cart:\n    def __init__(self):\n        self.total_cents = 0\n\n    def total(self):\n        return self.total_cents\n";
        let (_, analysis) = run(
            &[("shop/cart.py", shop), ("shop/__init__.py", "")],
            "Cart",
            "total",
            "total_cents",
        );
        assert_eq!(analysis.clashes.len(), 1, "{:?}", analysis.clashes);
    }

    /// Attribute renames on real code: the focused analysis (the one runs
    /// use) finds what the whole-file one does, and every edited file
    /// still parses.
    #[test]
    fn focused_and_whole_attribute_analyses_agree_on_the_standard_library() {
        let files = super::super::testing::stdlib_sample(2);
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let mut attributes = 0;
        for (path, source) in files.iter().step_by(3) {
            let tree = super::super::parse(source).unwrap();
            let bytes = source.as_bytes();
            for (name, class) in module_classes(tree.root_node()).into_iter().take(3) {
                let class_name = text(name, bytes);
                let defined = members(class, bytes);
                let assigned: Vec<String> = attribute_positions(class, bytes)
                    .into_keys()
                    .filter(|a| !defined.contains(a) || !a.starts_with("__"))
                    .collect();
                for old in assigned.iter().step_by(assigned.len() / 2 + 1) {
                    let mut subset: Vec<(String, String)> = files
                        .iter()
                        .filter(|(p, s)| {
                            p == path
                                || !find_word(s, old).is_empty()
                                || !find_word(s, class_name).is_empty()
                        })
                        .cloned()
                        .collect();
                    subset.sort();
                    let run = |parsing| {
                        analyse_member(
                            &index,
                            path,
                            class_name,
                            old,
                            "renamed_x",
                            &subset,
                            parsing,
                            Member::Attribute,
                        )
                    };
                    let whole = run(Parsing::Whole);
                    let focused = run(Parsing::FocusedOnly);
                    let what = format!("{path}: {class_name}.{old}");
                    assert_same(&whole, &focused, &what);
                    for (file, sites) in &whole.sites {
                        let original = &subset.iter().find(|(p, _)| p == file).unwrap().1;
                        let mut edited = original.clone();
                        for site in sites.iter().rev() {
                            assert_eq!(&original[site.start..site.end], old, "{what}: {file}");
                            edited.replace_range(site.start..site.end, "renamed_x");
                        }
                        let tree = super::super::parse(&edited).unwrap();
                        assert_eq!(
                            super::super::syntax_errors(&tree),
                            super::super::syntax_errors(&super::super::parse(original).unwrap()),
                            "{what}: {file}"
                        );
                    }
                    attributes += 1;
                }
            }
        }
        eprintln!("{attributes} attributes compared");
        assert!(attributes > 40, "{attributes} attributes");
    }

    #[test]
    fn isinstance_checks_and_collections_type_their_names() {
        let core = "from typing import Optional\n\n\nclass Element:\n    def __new__(cls, *args):\n        self = object.__new__(cls)\n        self.flag = True\n        return self\n\n    def parts(self) -> list[\"Element\"]:\n        return []\n\n\ndef first_flag(e: Element):\n    parts = e.parts()\n    return parts[0].flag\n\n\nclass Group(Element):\n    def __init__(self, exprs: list[Element], first: Optional[list[Element]] = None):\n        super().__init__()\n        self.exprs: list[Element] = exprs\n        self.others = first\n\n    def merge(self, other):\n        if not isinstance(other, Element):\n            return NotImplemented\n        self.flag = other.flag and all(e.flag for e in self.exprs)\n        last = self.exprs[-1]\n        for e in self.exprs[1:]:\n            e.flag = last.flag\n        return self\n\n\ndef check(x, y, items: tuple[Element, ...]):\n    if isinstance(x, (Element, Group)):\n        x.flag = False\n    y.flag = isinstance(y, Element) and not y.flag\n    return [i.flag for i in items] + [items[0].flag]\n";
        let (out, analysis) = run_member(
            &[("pkg/core.py", core), ("pkg/__init__.py", "")],
            "Element",
            "flag",
            "enabled",
            Member::Attribute,
        );
        let edited = &out["pkg/core.py"];
        for line in [
            "        self.enabled = other.enabled and all(e.enabled for e in self.exprs)\n",
            "            e.enabled = last.enabled\n",
            "        x.enabled = False\n",
            "        self.enabled = True\n",
            "    return parts[0].enabled\n",
            "    y.flag = isinstance(y, Element) and not y.enabled\n",
            "    return [i.enabled for i in items] + [items[0].enabled]\n",
        ] {
            assert!(edited.contains(line), "{line}\n{edited}");
        }
        let notes: Vec<String> = analysis.uncertain.iter().map(|n| n.note.clone()).collect();
        assert_eq!(
            notes,
            ["`y.flag`: orch cannot tell whether `y` is a `Element`; left alone"]
        );
    }

    #[test]
    fn parameters_of_the_same_name_are_not_the_method() {
        let cart = "class Cart:\n    def total(self):\n        return 1\n\n    def show(self, total=None, *, fmt=total):\n        return total or self.total()\n";
        let (out, _) = run(
            &[("shop/cart.py", cart), ("shop/__init__.py", "")],
            "Cart",
            "total",
            "amount",
        );
        // The default `fmt=total` is read in the class body: the method.
        assert_eq!(
            out["shop/cart.py"],
            "class Cart:\n    def amount(self):\n        return 1\n\n    def show(self, total=None, *, fmt=amount):\n        return total or self.amount()\n"
        );
    }

    #[test]
    fn classes_assigning_finds_attributes_not_methods() {
        let source = "class Cart:\n    kind = 1\n    __slots__ = ['slot']\n\n    def __init__(self):\n        self.items = []\n\n    def total(self):\n        self.total = 1\n\n    @staticmethod\n    def other(x):\n        x.nope = 1\n";
        let tree = super::super::parse(source).unwrap();
        let found = |name: &str| classes_assigning(&tree, source, name);
        assert_eq!(found("items"), [("Cart".to_owned(), 6, 14)]);
        assert_eq!(found("kind"), [("Cart".to_owned(), 2, 5)]);
        assert_eq!(found("slot"), [("Cart".to_owned(), 3, 19)]);
        assert!(found("total").is_empty());
        assert!(found("nope").is_empty());
    }
}
