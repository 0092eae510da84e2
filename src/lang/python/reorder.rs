//! Reordering a function's (or a method family's) positional parameters:
//! the definitions, and every call orch ties to the function.
//!
//! Only parameters that can be passed by position move (after `self` or
//! `cls`, before `*`, `*args`, `/` or `**kwargs`), and the new order must
//! keep every parameter without a default before those with one. At a call,
//! keyword arguments stay as they are; positional arguments are permuted
//! when the call passes every moved position, left alone when it passes
//! none, and written as keywords (`name=value`, from the first moved
//! position on) when it passes some. A call that passes `*args` or
//! `**kwargs`, or that orch cannot tie to the function for sure, refuses
//! the change: an argument in the wrong place is a silent bug.

use std::collections::BTreeMap;

use tree_sitter::Node;

use super::parameters::{call_arguments, call_at, definition_at, passes_splat};
use super::rename::{Note, RenameAnalysis};
use super::{parse, text};
use crate::edit::{Edit, EditKind};

/// How the parameters move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// `parameter` goes just before `other`.
    Before,
    /// `parameter` goes just after `other`.
    After,
    /// `parameter` and `other` exchange places (both empty: the only two).
    Swap,
}

/// The positional parameters of a `def`: (item node, name, has default),
/// after the receiver of a method.
fn positional<'t>(def: Node<'t>, source: &[u8], method: bool) -> Vec<(Node<'t>, String, bool)> {
    let Some(parameters) = def.child_by_field_name("parameters") else {
        return Vec::new();
    };
    let mut cursor = parameters.walk();
    let mut out = Vec::new();
    for (i, item) in parameters
        .named_children(&mut cursor)
        .filter(|c| c.kind() != "comment")
        .enumerate()
    {
        let (name, default) = match item.kind() {
            "identifier" => (Some(item), false),
            "typed_parameter" => {
                let mut c = item.walk();
                let name = item
                    .named_children(&mut c)
                    .find(|n| n.kind() == "identifier");
                (name, false)
            }
            "default_parameter" | "typed_default_parameter" => {
                (item.child_by_field_name("name"), true)
            }
            // `*`, `*args`, `**kwargs`, `/`: the positional ones end (a
            // `/` ends positional-only ones, which cannot move by keyword).
            _ => break,
        };
        if method && i == 0 {
            continue;
        }
        let Some(name) = name else { break };
        out.push((item, text(name, source).to_owned(), default));
    }
    out
}

/// The new order of `names` for `placement`, or why there is none.
pub(crate) fn new_order(
    names: &[String],
    parameter: &str,
    other: &str,
    placement: Placement,
) -> Result<Vec<String>, String> {
    let find = |name: &str| {
        names.iter().position(|n| n == name).ok_or_else(|| {
            format!(
                "`{name}` is not one of the parameters that can be passed by position ({})",
                names.join(", ")
            )
        })
    };
    let mut order = names.to_vec();
    match placement {
        Placement::Swap if parameter.is_empty() => {
            if names.len() != 2 {
                return Err(format!(
                    "it has {} parameters that can be passed by position ({}); say which two to swap",
                    names.len(),
                    names.join(", ")
                ));
            }
            order.swap(0, 1);
        }
        Placement::Swap => {
            let (a, b) = (find(parameter)?, find(other)?);
            order.swap(a, b);
        }
        Placement::Before | Placement::After => {
            let from = find(parameter)?;
            find(other)?;
            if parameter == other {
                return Err(format!("`{parameter}` cannot move next to itself"));
            }
            let moved = order.remove(from);
            let anchor = order.iter().position(|n| n == other).unwrap_or(0);
            let at = if placement == Placement::After {
                anchor + 1
            } else {
                anchor
            };
            order.insert(at, moved);
        }
    }
    if order == names {
        return Err("the parameters are in that order already".into());
    }
    Ok(order)
}

/// The edits that reorder the positional parameters of every definition in
/// `function`'s analysis and the arguments of every call orch ties to it;
/// `classes`: a method's family (calls through them pass `self`). Returns
/// the edits per file and, when it cannot be done, each place and why.
pub(crate) fn reorder(
    files: &[(String, String)],
    function: &RenameAnalysis,
    classes: &[String],
    (parameter, other, placement): (&str, &str, Placement),
) -> (BTreeMap<String, Vec<Edit>>, Vec<Note>) {
    let mut edits: BTreeMap<String, Vec<Edit>> = BTreeMap::new();
    let mut problems = Vec::new();
    let method = !classes.is_empty();
    // (old names, new order) from the first definition; every other
    // definition of the family must have the same parameters.
    let mut plan: Option<(Vec<String>, Vec<String>)> = None;
    for (path, source) in files {
        let Some(sites) = function.sites.get(path) else {
            continue;
        };
        let Some(tree) = parse(source) else { continue };
        let bytes = source.as_bytes();
        for site in sites.iter().filter(|s| s.kind == EditKind::Definition) {
            let Some(def) = definition_at(&tree, site) else {
                continue;
            };
            let at = def.start_position();
            let note = |text: String| Note::at(path, at, text);
            let items = positional(def, bytes, method);
            let names: Vec<String> = items.iter().map(|(_, n, _)| n.clone()).collect();
            let order = match &plan {
                Some((old, order)) if *old == names => order.clone(),
                Some((old, _)) => {
                    problems.push(note(format!(
                        "this definition's parameters ({}) are not the others' ({}); orch cannot reorder them together",
                        names.join(", "),
                        old.join(", ")
                    )));
                    continue;
                }
                None => match new_order(&names, parameter, other, placement) {
                    Ok(order) => {
                        plan = Some((names.clone(), order.clone()));
                        order
                    }
                    Err(why) => {
                        problems.push(note(why));
                        continue;
                    }
                },
            };
            // No parameter without a default after one with a default.
            let defaults: BTreeMap<&str, bool> =
                items.iter().map(|(_, n, d)| (n.as_str(), *d)).collect();
            if let Some(pair) = order
                .windows(2)
                .find(|w| defaults[w[0].as_str()] && !defaults[w[1].as_str()])
            {
                problems.push(note(format!(
                    "`{}` has no default and would follow `{}`, which has one: Python refuses that",
                    pair[1], pair[0]
                )));
                continue;
            }
            let texts: BTreeMap<&str, &str> = items
                .iter()
                .map(|(node, n, _)| (n.as_str(), &source[node.start_byte()..node.end_byte()]))
                .collect();
            for (i, (node, name, _)) in items.iter().enumerate() {
                if order[i] != *name {
                    edits.entry(path.clone()).or_default().push(Edit::new(
                        source,
                        node.start_byte(),
                        node.end_byte(),
                        texts[order[i].as_str()],
                    ));
                }
            }
        }
    }
    let Some((old, order)) = plan else {
        return (edits, problems);
    };
    let moved: Vec<usize> = (0..old.len()).filter(|&i| old[i] != order[i]).collect();
    let (Some(&lo), Some(&hi)) = (moved.first(), moved.last()) else {
        return (edits, problems);
    };
    for (path, source) in files {
        let Some(sites) = function.sites.get(path) else {
            continue;
        };
        let Some(tree) = parse(source) else { continue };
        let bytes = source.as_bytes();
        for site in sites.iter().filter(|s| {
            matches!(
                s.kind,
                EditKind::Reference | EditKind::Attribute | EditKind::Uncertain
            )
        }) {
            let Some((call, receiver)) = call_at(&tree, site, bytes) else {
                continue;
            };
            let at = call.start_position();
            let note = |text: &str| Note::at(path, at, text);
            if site.kind == EditKind::Uncertain {
                problems.push(note(
                    "orch cannot tell whether this call is to the function: its arguments could not follow",
                ));
                continue;
            }
            let Some(args) = call_arguments(call) else {
                continue;
            };
            if passes_splat(&args) {
                problems.push(note(
                    "this call passes `*args`/`**kwargs`; orch cannot tell which parameters they fill",
                ));
                continue;
            }
            // `Class.m(obj, ...)` passes the receiver as the first argument.
            let through_class = method
                && receiver.is_some_and(|object| {
                    classes
                        .iter()
                        .any(|c| object == c || object.ends_with(&format!(".{c}")))
                });
            let base = usize::from(through_class);
            let positional: Vec<Node> = args
                .iter()
                .copied()
                .filter(|a| a.kind() != "keyword_argument")
                .collect();
            let passed = positional.len().saturating_sub(base);
            if passed <= lo {
                continue;
            }
            let arg = |i: usize| positional[base + i];
            let arg_text = |i: usize| &source[arg(i).start_byte()..arg(i).end_byte()];
            let list = edits.entry(path.clone()).or_default();
            if passed > hi {
                for &i in &moved {
                    let from = old.iter().position(|n| *n == order[i]).unwrap_or(i);
                    list.push(Edit::new(
                        source,
                        arg(i).start_byte(),
                        arg(i).end_byte(),
                        arg_text(from),
                    ));
                }
            } else {
                // Some moved positions are passed: name them, from the
                // first moved one on.
                for (i, name) in old.iter().enumerate().take(passed).skip(lo) {
                    list.push(Edit::new(
                        source,
                        arg(i).start_byte(),
                        arg(i).end_byte(),
                        &format!("{name}={}", arg_text(i)),
                    ));
                }
            }
        }
    }
    for list in edits.values_mut() {
        list.sort_by_key(|e| e.start);
        list.dedup_by_key(|e| e.start);
    }
    (edits, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::python::ModuleIndex;

    fn run(
        files: &[(&str, &str)],
        class: Option<&str>,
        name: &str,
        request: (&str, &str, Placement),
    ) -> Result<Vec<(String, String)>, Vec<String>> {
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect();
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let function = match class {
            Some(class) => crate::lang::python::methods::analyse_with(
                &index,
                "m.py",
                class,
                name,
                "__orch_parameter_target__",
                &files,
                crate::lang::python::Parsing::Whole,
            ),
            None => crate::lang::python::rename::analyse_with(
                &index,
                "m.py",
                name,
                "__orch_parameter_target__",
                &files,
                crate::lang::python::Parsing::Whole,
            ),
        };
        let classes: Vec<String> = class.iter().map(|c| c.to_string()).collect();
        let (edits, problems) = reorder(&files, &function, &classes, request);
        if !problems.is_empty() {
            return Err(problems.into_iter().map(|p| p.note).collect());
        }
        Ok(files
            .iter()
            .map(|(path, source)| {
                let out = match edits.get(path) {
                    Some(list) => crate::edit::apply(source, list).unwrap(),
                    None => source.clone(),
                };
                (path.clone(), out)
            })
            .collect())
    }

    #[test]
    fn a_parameter_moves_in_the_definition_and_at_every_call() {
        let m = "def describe(cents, label=None, sep=': '):\n    return f'{label}{sep}{cents}'\n";
        let caller = "from m import describe\n\ndescribe(1)\ndescribe(1, 'a')\ndescribe(1, 'a', '-')\ndescribe(1, sep='-', label='a')\n";
        let out = run(
            &[("m.py", m), ("use.py", caller)],
            None,
            "describe",
            ("sep", "label", Placement::Before),
        )
        .unwrap();
        assert_eq!(
            out[0].1,
            "def describe(cents, sep=': ', label=None):\n    return f'{label}{sep}{cents}'\n"
        );
        // Passed none of the moved positions: as is; all: permuted; some:
        // named from the first moved position on; keywords: as they are.
        assert_eq!(
            out[1].1,
            "from m import describe\n\ndescribe(1)\ndescribe(1, label='a')\ndescribe(1, '-', 'a')\ndescribe(1, sep='-', label='a')\n"
        );
    }

    #[test]
    fn methods_swap_across_the_family_and_calls_through_the_class() {
        let m = "class Cart:\n    def add(self, name, cents):\n        return (name, cents)\n\n\nclass Big(Cart):\n    def add(self, name, cents):\n        return super().add(name, cents)\n\n\ndef use(c: Cart):\n    c.add('tea', 250)\n    Cart.add(c, 'cake', 375)\n";
        let out = run(
            &[("m.py", m)],
            Some("Cart"),
            "add",
            ("", "", Placement::Swap),
        )
        .unwrap();
        assert_eq!(
            out[0].1,
            "class Cart:\n    def add(self, cents, name):\n        return (name, cents)\n\n\nclass Big(Cart):\n    def add(self, cents, name):\n        return super().add(cents, name)\n\n\ndef use(c: Cart):\n    c.add(250, 'tea')\n    Cart.add(c, 375, 'cake')\n"
        );
    }

    #[test]
    fn what_cannot_follow_is_refused_with_the_reason() {
        let m = "def f(a, b=1):\n    return a + b\n";
        // A parameter without a default after one with a default.
        let refused = run(&[("m.py", m)], None, "f", ("a", "b", Placement::After)).unwrap_err();
        assert!(
            refused[0].contains("`a` has no default and would follow `b`"),
            "{refused:?}"
        );
        // A splat call.
        let caller = "from m import f\nargs = (1, 2)\nf(*args)\n";
        let m2 = "def f(a, b):\n    return a - b\n";
        let refused = run(
            &[("m.py", m2), ("use.py", caller)],
            None,
            "f",
            ("a", "b", Placement::Swap),
        )
        .unwrap_err();
        assert!(refused[0].contains("passes `*args`"), "{refused:?}");
        // Keyword-only parameters do not move by position.
        let m3 = "def g(a, *, b):\n    return a\n";
        let refused = run(&[("m.py", m3)], None, "g", ("a", "b", Placement::Swap)).unwrap_err();
        assert!(
            refused[0].contains("`b` is not one of the parameters"),
            "{refused:?}"
        );
        assert_eq!(
            new_order(&["a".into(), "b".into()], "a", "b", Placement::Before).unwrap_err(),
            "the parameters are in that order already"
        );
    }
}
