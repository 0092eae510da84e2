//! What names and modules denote, for a rename: each module's binding of
//! the old name through imports and star re-exports
//! ([`ModuleStates`]), and the module a dotted chain of names denotes in a
//! file, through imports and module-level aliases ([`attribute_module`]).

use std::collections::{BTreeMap, BTreeSet};

use super::modules::ModuleIndex;
use super::scope::{AliasValue, Binding, FileModel, ImportSpec, Role};

/// What a module's namespace binds the old name to, at the end of its
/// module-level code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bound {
    /// Nothing (as far as orch can tell: a file that neither mentions the
    /// name nor star-imports binds nothing).
    Unbound,
    /// The renamed definition.
    Target,
    /// Something else.
    Other,
    /// It depends on what orch cannot follow (a star import of a module
    /// whose `__all__` is computed at run time).
    Unknown,
}

/// Module-level events that decide a module's binding of the old name.
enum Event<'a> {
    /// `from M import OLD` (or `from M import OLD as OLD`).
    FromImport(&'a ImportSpec),
    /// `from M import *`.
    Star(&'a ImportSpec),
    /// Any other binding: `def`, `class`, assignment, aliased import.
    Rebind,
}

/// The module-level binding of the old name in every analysed file.
///
/// Python's rules: the last binding at module level wins (statements run
/// in order; branches are taken as written, in order); `from M import OLD`
/// takes whatever `M`'s namespace binds; `from M import *` binds what `M`
/// exports: the names of `M.__all__` (string entries, plus the `__all__`
/// of other modules it adds up), or, without `__all__`, every name of
/// `M`'s namespace that does not start with an underscore. Followed to a
/// fixed point through packages (star imports can form cycles).
pub(crate) struct ModuleStates<'a> {
    index: &'a ModuleIndex,
    old: &'a str,
    infos: BTreeMap<&'a str, &'a FileModel>,
    states: BTreeMap<String, Bound>,
}

impl<'a> ModuleStates<'a> {
    /// The bindings of `old` in `models` (path -> model), the name being
    /// defined in `definition_file`.
    pub(crate) fn compute(
        index: &'a ModuleIndex,
        definition_file: &str,
        old: &'a str,
        models: BTreeMap<&'a str, &'a FileModel>,
    ) -> Self {
        let mut this = ModuleStates {
            index,
            old,
            infos: models,
            states: BTreeMap::from([(definition_file.to_owned(), Bound::Target)]),
        };
        // Each round settles at least one more link of the longest chain.
        for _ in 0..=this.infos.len() {
            let mut changed = false;
            let infos: Vec<(&str, &FileModel)> = this.infos.iter().map(|(p, m)| (*p, *m)).collect();
            for (path, model) in infos {
                if path == definition_file {
                    continue;
                }
                let state = this.state_of(path, model);
                if this.get(path) != state {
                    this.states.insert(path.to_owned(), state);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        this
    }

    /// The binding of `path`'s namespace.
    pub(crate) fn get(&self, path: &str) -> Bound {
        self.states.get(path).copied().unwrap_or(Bound::Unbound)
    }

    /// The files that bind the name to the target.
    pub(crate) fn with(&self, bound: Bound) -> BTreeSet<String> {
        self.states
            .iter()
            .filter(|(_, b)| **b == bound)
            .map(|(p, _)| p.clone())
            .collect()
    }

    fn file_of(&self, path: &str, spec: &ImportSpec) -> Option<&'a str> {
        let module = self.index.absolute(path, spec.dots, &spec.name)?;
        module_file(self.index, &module)
    }

    fn state_of(&self, path: &str, model: &FileModel) -> Bound {
        let mut events: Vec<(usize, Event)> = model
            .occurrences
            .iter()
            .filter(|o| o.scope == 0 && o.name == self.old)
            .filter_map(|o| match &o.role {
                Role::Bind(Binding::From {
                    module,
                    name,
                    aliased: false,
                }) if name == self.old => Some((o.start, Event::FromImport(module))),
                Role::Bind(_) => Some((o.start, Event::Rebind)),
                _ => None,
            })
            .collect();
        events.extend(
            model.scopes[0]
                .star_imports
                .iter()
                .map(|star| (star.start, Event::Star(&star.module))),
        );
        events.sort_by_key(|(start, _)| *start);
        let mut state = Bound::Unbound;
        for (_, event) in events {
            match event {
                Event::FromImport(spec) => {
                    state = match self.file_of(path, spec).map(|f| self.get(f)) {
                        Some(Bound::Target) => Bound::Target,
                        Some(Bound::Unknown) => Bound::Unknown,
                        _ => Bound::Other,
                    }
                }
                Event::Rebind => state = Bound::Other,
                Event::Star(spec) => {
                    if let Some(file) = self.file_of(path, spec) {
                        match self.exported(file) {
                            Bound::Unbound => {}
                            exported => state = exported,
                        }
                    }
                    // A module outside the project: orch assumes it does
                    // not export the project's name.
                }
            }
        }
        state
    }

    /// What `from FILE import *` binds the name to.
    pub(crate) fn exported(&self, file: &str) -> Bound {
        let state = self.get(file);
        if state == Bound::Unbound {
            return Bound::Unbound;
        }
        let Some(model) = self.infos.get(file) else {
            return Bound::Unbound;
        };
        if model.all.is_none() {
            return if self.old.starts_with('_') {
                Bound::Unbound
            } else {
                state
            };
        }
        match self.lists(file, &mut BTreeSet::new()) {
            Some(true) => state,
            Some(false) => Bound::Unbound,
            None if state == Bound::Target => Bound::Unknown,
            None => Bound::Unbound,
        }
    }

    /// Whether `file`'s `__all__` names the old name: `None` if orch
    /// cannot tell.
    fn lists(&self, file: &str, seen: &mut BTreeSet<String>) -> Option<bool> {
        if !seen.insert(file.to_owned()) {
            return Some(false);
        }
        let Some(model) = self.infos.get(file) else {
            // A file that does not mention the name lists it nowhere.
            return Some(false);
        };
        let Some(decl) = &model.all else {
            return Some(false);
        };
        if model.all_entries.iter().any(|e| e.value == self.old) {
            return Some(true);
        }
        let mut known = !decl.dynamic;
        for chain in &decl.sources {
            match attribute_module(self.index, file, model, chain) {
                Some(Some(source)) => match self.lists(source, seen) {
                    Some(true) => return Some(true),
                    Some(false) => {}
                    None => known = false,
                },
                Some(None) => {}
                None => known = false,
            }
        }
        known.then_some(false)
    }
}

pub(crate) fn resolves_to_target(
    index: &ModuleIndex,
    path: &str,
    spec: &ImportSpec,
    targets: &BTreeSet<String>,
) -> bool {
    resolves_to(index, path, spec)
        .iter()
        .any(|file| targets.contains(*file))
}

/// The project files an import's module denotes.
pub(crate) fn resolves_to<'a>(
    index: &'a ModuleIndex,
    path: &str,
    spec: &ImportSpec,
) -> Vec<&'a str> {
    index
        .absolute(path, spec.dots, &spec.name)
        .map(|module| index.resolve(&module))
        .unwrap_or_default()
}

/// The project file a dotted module name denotes, if it is one.
fn module_file<'a>(index: &'a ModuleIndex, module: &str) -> Option<&'a str> {
    index.resolve(module).first().copied()
}

/// For `a.b.NAME`: `Some(Some(file))` if `a.b` is a project module,
/// `Some(None)` if `a` is bound to something that is not a module of this
/// project (so the attribute is not ours), `None` if orch cannot tell.
pub(crate) fn attribute_module<'a>(
    index: &'a ModuleIndex,
    path: &str,
    model: &FileModel,
    chain: &[String],
) -> Option<Option<&'a str>> {
    let module = chain_module(index, path, model, chain, 0)?;
    Some(module_file(index, &module))
}

/// The module a chain of names denotes in this file (`None` if orch
/// cannot tell: the head is not bound to a module, or a later part is not
/// a submodule).
pub(crate) fn chain_module(
    index: &ModuleIndex,
    path: &str,
    model: &FileModel,
    chain: &[String],
    depth: usize,
) -> Option<String> {
    let head = chain.first()?;
    let mut current = module_binding_of(index, path, model, head, depth)?;
    for part in &chain[1..] {
        let next = format!("{current}.{part}");
        if index.is_module(&next) {
            current = next;
        } else if index.is_module(&current) {
            // `mod.obj.NAME`: an attribute of a non-module object.
            return None;
        } else {
            // A module outside the project: its attributes are not ours.
            current = next;
        }
    }
    Some(current)
}

/// What module a name bound by an import in this file denotes (the last
/// import of that name wins), or by an unambiguous module-level alias
/// (`np = numpy`, `m = importlib.import_module("pkg.mod")`).
pub(crate) fn module_binding_of(
    index: &ModuleIndex,
    path: &str,
    model: &FileModel,
    name: &str,
    depth: usize,
) -> Option<String> {
    let Some(import) = model.imports.iter().rev().find(|i| i.bound == name) else {
        return alias_of(index, path, model, name, depth);
    };
    match &import.binding {
        Binding::Module { module } => Some(module.clone()),
        Binding::From {
            module,
            name: imported,
            ..
        } => {
            let base = index.absolute(path, module.dots, &module.name)?;
            let candidate = if base.is_empty() {
                imported.clone()
            } else {
                format!("{base}.{imported}")
            };
            // `from pkg import obj`: a module only if `pkg.obj` is one; from
            // a module outside the project, nothing of it is ours.
            (index.is_module(&candidate) || !base.is_empty() && !index.is_module(&base))
                .then_some(candidate)
        }
        _ => None,
    }
}

/// The module an alias assigned once at module level denotes.
pub(crate) fn alias_of(
    index: &ModuleIndex,
    path: &str,
    model: &FileModel,
    name: &str,
    depth: usize,
) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let mut assigned = model.assignments.iter().filter(|a| a.bound == name);
    let only = assigned.next()?;
    if assigned.next().is_some() {
        return None;
    }
    match &only.value {
        AliasValue::Chain(chain) if chain.first().is_some_and(|h| h != name) => {
            chain_module(index, path, model, chain, depth + 1)
        }
        AliasValue::ImportModule(module) => Some(module.clone()),
        _ => None,
    }
}
