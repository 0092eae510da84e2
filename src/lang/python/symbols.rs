//! Symbol facts: the functions and classes a file defines (at any depth,
//! with their byte spans and class headers) and the identifiers each one
//! names, for test impact at the level of symbols.
//!
//! A change inside a function changes what its callers do, and theirs, up
//! to the tests. Which code calls what is found by name, not by type: a
//! definition "names" an identifier when the identifier occurs in its body,
//! its parameters or its decorators (nested definitions count for
//! themselves). That over-approximates the calls (a local variable that
//! happens to share a function's name counts), which costs test time but
//! never misses a call written as a name or an attribute. A call made
//! without the name (`getattr(obj, "f")`, a callback passed along under
//! another name) is caught one level up, where the callback is named.

use std::collections::BTreeSet;

use rustc_hash::{FxHashMap, FxHashSet};

use serde::{Deserialize, Serialize};
use tree_sitter::{Node, Tree};

/// One function or class definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DefFact {
    /// Dotted from the module (`Cart.total`, `outer.inner`).
    pub qualname: String,
    pub class: bool,
    /// The definition's enclosing definition, by index.
    pub parent: Option<usize>,
    /// Byte span, decorators included.
    pub start: usize,
    pub end: usize,
    /// What of a function runs when the definition does (on import), not
    /// when it is called: its decorators, its name, default values and
    /// annotations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eager: Vec<[usize; 2]>,
    /// A class's bases as written (`Base`, `pkg.Base`, `Generic[T]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bases: Vec<String>,
    /// Identifiers it names, sorted, nested definitions' bodies left out.
    pub names: Vec<String>,
}

/// The symbol facts of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SymbolFacts {
    /// Every definition, in source order (a parent before its children).
    pub defs: Vec<DefFact>,
    /// Identifiers named at module level, outside definitions and imports.
    pub module_names: Vec<String>,
    /// Identifiers imported at module level (`from m import a as b`: `a`
    /// and `b`).
    pub imported: Vec<String>,
}

impl SymbolFacts {
    /// Every identifier of the file.
    pub(crate) fn all_names(&self) -> impl Iterator<Item = &str> {
        self.defs
            .iter()
            .flat_map(|d| d.names.iter())
            .chain(&self.module_names)
            .chain(&self.imported)
            .map(String::as_str)
    }

    /// The innermost definitions an edit of `start..end` falls in (none
    /// when it is at module level).
    pub(crate) fn enclosing(&self, start: usize, end: usize) -> Vec<usize> {
        let end = end.max(start + 1);
        let overlapping: Vec<usize> = (0..self.defs.len())
            .filter(|&i| self.defs[i].start < end && start < self.defs[i].end)
            .collect();
        // Innermost: no other overlapping definition is its child.
        overlapping
            .iter()
            .copied()
            .filter(|&i| !overlapping.iter().any(|&j| self.defs[j].parent == Some(i)))
            .collect()
    }

    /// Whether an edit of `start..end` changes only code that runs when a
    /// function is called (inside a function's body), not on import
    /// (module level, class bodies, decorators, defaults).
    pub(crate) fn runs_when_called(&self, start: usize, end: usize) -> bool {
        let enclosing = self.enclosing(start, end);
        !enclosing.is_empty()
            && enclosing.iter().all(|&i| {
                let def = &self.defs[i];
                !def.class
                    && def.start <= start
                    && end <= def.end
                    && def.eager.iter().all(|[s, e]| end <= *s || *e <= start)
            })
    }

    /// The names code uses to reach definition `i`: its own name, and for
    /// a class's dunder method (`__init__`, `__eq__`, ...) the class's.
    pub(crate) fn reached_by(&self, i: usize) -> Vec<String> {
        let def = &self.defs[i];
        let name = def.qualname.rsplit('.').next().unwrap_or(&def.qualname);
        let mut out = vec![name.to_owned()];
        let dunder = name.starts_with("__") && name.ends_with("__") && name.len() > 4;
        if let Some(parent) = def
            .parent
            .map(|p| &self.defs[p])
            .filter(|p| dunder && p.class)
        {
            let class = parent
                .qualname
                .rsplit('.')
                .next()
                .unwrap_or(&parent.qualname);
            out.push(class.to_owned());
        }
        out
    }
}

/// The parts of a function definition (`node`, decorated or not; `def`
/// the function itself) that run when it is defined.
fn eager_parts(node: Node, def: Node) -> Vec<[usize; 2]> {
    let span = |n: Node| [n.start_byte(), n.end_byte()];
    let mut out = Vec::new();
    if node.id() != def.id() {
        let mut cursor = node.walk();
        out.extend(
            node.named_children(&mut cursor)
                .filter(|c| c.kind() == "decorator")
                .map(span),
        );
    }
    out.extend(def.child_by_field_name("name").map(span));
    out.extend(def.child_by_field_name("return_type").map(span));
    if let Some(parameters) = def.child_by_field_name("parameters") {
        let mut cursor = parameters.walk();
        for parameter in parameters.named_children(&mut cursor) {
            out.extend(parameter.child_by_field_name("value").map(span));
            out.extend(parameter.child_by_field_name("type").map(span));
        }
    }
    out
}

/// The symbol facts of `source` parsed as `tree`.
pub(crate) fn symbol_facts(tree: &Tree, source: &str) -> SymbolFacts {
    let bytes = source.as_bytes();
    let mut defs: Vec<DefFact> = Vec::new();
    let mut names: Vec<BTreeSet<String>> = Vec::new();
    let mut module_names = BTreeSet::new();
    let mut imported = BTreeSet::new();
    // (node, owning definition, inside an import statement)
    let mut stack: Vec<(Node, Option<usize>, bool)> = vec![(tree.root_node(), None, false)];
    while let Some((node, owner, in_import)) = stack.pop() {
        let kind = node.kind();
        let mut owner = owner;
        let mut in_import = in_import;
        let mut children_of = node;
        match kind {
            "decorated_definition" | "function_definition" | "class_definition" => {
                let def = if kind == "decorated_definition" {
                    node.child_by_field_name("definition")
                } else {
                    Some(node)
                };
                if let Some(def) = def.filter(|d| d.kind() != "decorated_definition") {
                    let name = def
                        .child_by_field_name("name")
                        .map(|n| super::text(n, bytes))
                        .unwrap_or("");
                    let qualname = match owner {
                        Some(p) => format!("{}.{name}", defs[p].qualname),
                        None => name.to_owned(),
                    };
                    let class = def.kind() == "class_definition";
                    let bases = if class {
                        def.child_by_field_name("superclasses")
                            .map(|list| {
                                let mut cursor = list.walk();
                                list.named_children(&mut cursor)
                                    .filter(|b| b.kind() != "keyword_argument")
                                    .map(|b| super::text(b, bytes).to_owned())
                                    .collect()
                            })
                            .unwrap_or_default()
                    } else {
                        Vec::new()
                    };
                    defs.push(DefFact {
                        qualname,
                        class,
                        parent: owner,
                        start: node.start_byte(),
                        end: node.end_byte(),
                        eager: if class {
                            Vec::new()
                        } else {
                            eager_parts(node, def)
                        },
                        bases,
                        names: Vec::new(),
                    });
                    names.push(BTreeSet::new());
                    let index = defs.len() - 1;
                    if kind == "decorated_definition" {
                        // The decorators belong to the definition; its own
                        // node is walked as the definition's children.
                        let mut cursor = node.walk();
                        for child in node.named_children(&mut cursor) {
                            if child.id() != def.id() {
                                stack.push((child, Some(index), false));
                            }
                        }
                        children_of = def;
                    }
                    owner = Some(index);
                }
            }
            "import_statement" | "import_from_statement" | "future_import_statement" => {
                in_import = true;
            }
            "identifier" => {
                let text = super::text(node, bytes).to_owned();
                match owner {
                    Some(i) => {
                        names[i].insert(text);
                    }
                    None if in_import => {
                        imported.insert(text);
                    }
                    None => {
                        module_names.insert(text);
                    }
                }
            }
            // Strings and comments name nothing (f-string interpolations
            // are walked: they are expressions).
            "comment" | "string_content" | "escape_sequence" => continue,
            _ => {}
        }
        let mut cursor = children_of.walk();
        let children: Vec<Node> = children_of.named_children(&mut cursor).collect();
        for child in children.into_iter().rev() {
            stack.push((child, owner, in_import));
        }
    }
    for (def, names) in defs.iter_mut().zip(names) {
        def.names = names.into_iter().collect();
    }
    SymbolFacts {
        defs,
        module_names: module_names.into_iter().collect(),
        imported: imported.into_iter().collect(),
    }
}

/// A definition of some file: (file index, definition index).
pub(crate) type DefRef = (usize, usize);

/// What a change reaches through calls, by name.
#[derive(Debug, Default)]
pub(crate) struct Reach {
    /// Names of the changed definitions themselves.
    pub direct: BTreeSet<String>,
    /// Names of every definition that reaches a changed one through
    /// calls, at any depth (the changed ones included).
    pub closure: BTreeSet<String>,
    /// Files whose module-level code names a definition of the closure
    /// (importing them runs the change).
    pub modules: BTreeSet<usize>,
}

/// The callers' closure of `changed` and `also` over the definitions of
/// `facts` (only files for which `eligible` holds can call: in practice
/// those that reach a changed module through imports); `direct` names
/// `changed` alone.
pub(crate) fn reach(
    facts: &[Option<&SymbolFacts>],
    changed: &[DefRef],
    also: &[DefRef],
    eligible: impl Fn(usize) -> bool,
) -> Reach {
    // Which definitions name an identifier.
    let mut naming: FxHashMap<&str, Vec<DefRef>> = FxHashMap::default();
    let mut module_naming: FxHashMap<&str, Vec<usize>> = FxHashMap::default();
    for (f, facts) in facts.iter().enumerate() {
        let Some(facts) = facts.filter(|_| eligible(f)) else {
            continue;
        };
        for (d, def) in facts.defs.iter().enumerate() {
            for name in &def.names {
                naming.entry(name).or_default().push((f, d));
            }
        }
        for name in &facts.module_names {
            module_naming.entry(name).or_default().push(f);
        }
    }
    let mut out = Reach::default();
    let mut seen: FxHashSet<DefRef> = FxHashSet::default();
    let mut queue: Vec<DefRef> = Vec::new();
    for (i, &(f, d)) in changed.iter().chain(also).enumerate() {
        let known = facts.get(f).copied().flatten();
        if let Some(facts) = known.filter(|facts| d < facts.defs.len() && seen.insert((f, d))) {
            if i < changed.len() {
                out.direct.extend(facts.reached_by(d));
            }
            queue.push((f, d));
        }
    }
    while let Some((f, d)) = queue.pop() {
        let Some(facts) = facts[f] else { continue };
        // A method is called by its name (`obj.total()`), a nested
        // function by the one that holds it, which names it: neither needs
        // its parent.
        for name in facts.reached_by(d) {
            if !out.closure.insert(name.clone()) {
                continue;
            }
            for &caller in naming.get(name.as_str()).into_iter().flatten() {
                if seen.insert(caller) {
                    queue.push(caller);
                }
            }
            out.modules
                .extend(module_naming.get(name.as_str()).into_iter().flatten());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(source: &str) -> SymbolFacts {
        let tree = crate::lang::python::parse(source).expect("parses");
        symbol_facts(&tree, source)
    }

    #[test]
    fn definitions_name_what_their_bodies_and_decorators_name() {
        let source = "\
import os
from pkg import helper as h

LIMIT = compute()

@register(h)
def total(cart, rate=RATE):
    def inner(x):
        return round(x)
    return inner(sum(item.price for item in cart))  # comment mentions ghost

class Cart(Base, metaclass=Meta):
    size = DEFAULT
    def __init__(self):
        self.items = []
    def add(self, item):
        self.items.append(item)
        return f\"{item.name!r} added\"
";
        let f = facts(source);
        let names: Vec<&str> = f.defs.iter().map(|d| d.qualname.as_str()).collect();
        assert_eq!(
            names,
            ["total", "total.inner", "Cart", "Cart.__init__", "Cart.add"]
        );
        let total = &f.defs[0];
        for name in ["register", "h", "cart", "RATE", "inner", "sum", "price"] {
            assert!(total.names.iter().any(|n| n == name), "{name}");
        }
        assert!(
            !total.names.iter().any(|n| n == "round"),
            "inner's body is its own"
        );
        assert!(
            !total.names.iter().any(|n| n == "ghost"),
            "comments name nothing"
        );
        assert_eq!(f.defs[2].bases, ["Base"]);
        assert!(f.defs[2].names.iter().any(|n| n == "DEFAULT"));
        assert!(
            f.defs[4].names.iter().any(|n| n == "name"),
            "f-strings are code"
        );
        assert!(f.module_names.iter().any(|n| n == "compute"));
        assert!(!f.module_names.iter().any(|n| n == "os"));
        assert_eq!(f.imported, ["h", "helper", "os", "pkg"]);
        assert_eq!(f.defs[1].parent, Some(0));
        assert_eq!(f.reached_by(3), ["__init__", "Cart"]);
        // An edit in `inner` is in `inner`; one on `LIMIT`'s line in none.
        let at = source.find("round").expect("there");
        assert_eq!(f.enclosing(at, at + 5), [1]);
        let at = source.find("LIMIT").expect("there");
        assert!(f.enclosing(at, at + 5).is_empty());
        // Run when called: a function's body; not a decorator, a default
        // or a class body (they run on import).
        let at = source.find("sum(").expect("there");
        assert!(f.runs_when_called(at, at + 3));
        let at = source.find("register").expect("there");
        assert!(!f.runs_when_called(at, at + 8));
        let at = source.find("RATE").expect("there");
        assert!(!f.runs_when_called(at, at + 4));
        // A parameter's name only matters to calls; the function's own
        // name is bound on import.
        let at = source.find("rate=").expect("there");
        assert!(f.runs_when_called(at, at + 4));
        let at = source.find("total(").expect("there");
        assert!(!f.runs_when_called(at, at + 5));
        let at = source.find("DEFAULT").expect("there");
        assert!(!f.runs_when_called(at, at + 7));
    }

    #[test]
    fn callers_are_reached_through_names_across_files_and_classes() {
        let util = facts("def fmt(x):\n    return str(x)\n\ndef unrelated():\n    return 1\n");
        let cart = facts(
            "from util import fmt\n\nclass Cart:\n    def show(self):\n        return fmt(self)\n\nEMPTY = Cart()\nSHOWN = EMPTY.show()\n",
        );
        let app = facts(
            "def main():\n    return Cart().show()\n\ndef other():\n    return unrelated()\n",
        );
        let all = [Some(&util), Some(&cart), Some(&app)];
        let reach = reach(&all, &[(0, 0)], &[], |_| true);
        assert_eq!(reach.direct, BTreeSet::from(["fmt".to_owned()]));
        // fmt -> Cart.show -> main (by the method's name: making a Cart
        // does not call it).
        assert_eq!(
            reach.closure,
            BTreeSet::from(["fmt", "show", "main"].map(str::to_owned))
        );
        // `SHOWN = EMPTY.show()` runs the change when cart.py is imported.
        assert_eq!(reach.modules, BTreeSet::from([1]));
        // A file that cannot reach the change does not call it.
        let reach = super::reach(&all, &[(0, 0)], &[], |f| f != 2);
        assert!(!reach.closure.contains("main"));
        // Reached only through a rename of a call in it: no direct name.
        let reach = super::reach(&all, &[], &[(1, 1)], |_| true);
        assert!(reach.direct.is_empty());
        assert!(reach.closure.contains("main"), "{:?}", reach.closure);
    }
}
