//! The rename analysis for a parameter of a function or method: the
//! parameter in each definition (a method's overrides in subclasses too),
//! its uses in those bodies (with Python's scoping), and `NAME=` keyword
//! arguments in calls that resolve to the function (the function rename's
//! reference and attribute sites that are called).

use tree_sitter::Node;

use super::rename::{Note, RenameAnalysis, RenameSite};
use super::scope::{FileModel, Resolution, Role};
use super::{parse, syntax_errors, text};
use crate::edit::EditKind;

/// `function` is the analysis of the function (or method) itself, as if it
/// were renamed: its `definition` sites locate the `def`s, its `reference`
/// and `attribute` sites the calls.
pub(crate) fn analyse(
    parameter: &str,
    new: &str,
    files: &[(String, String)],
    function: &RenameAnalysis,
) -> RenameAnalysis {
    let mut analysis = RenameAnalysis {
        target_modules: function.target_modules.clone(),
        ..RenameAnalysis::default()
    };
    let mut found_parameter = false;
    for (path, source) in files {
        let Some(function_sites) = function.sites.get(path) else {
            continue;
        };
        let Some(tree) = parse(source) else { continue };
        analysis
            .parse_errors
            .insert(path.clone(), syntax_errors(&tree));
        let bytes = source.as_bytes();
        let model = FileModel::build(&tree, source, &[parameter, new]);
        let mut sites = Vec::new();
        for site in function_sites {
            if site.kind == EditKind::Definition {
                let Some(def) = definition_at(&tree, site) else {
                    continue;
                };
                if let Some(param) = parameter_node(def, bytes, parameter) {
                    found_parameter = true;
                    definition_sites(
                        path,
                        def,
                        param,
                        parameter,
                        new,
                        &model,
                        &mut sites,
                        &mut analysis,
                    );
                }
            } else if matches!(
                site.kind,
                EditKind::Reference | EditKind::Attribute | EditKind::Uncertain
            ) && let Some((call, _)) = call_at(&tree, site, bytes)
            {
                keyword_sites(call, bytes, parameter, &mut sites);
            }
        }
        if !sites.is_empty() {
            sites.sort_by_key(|s| s.start);
            sites.dedup_by_key(|s| s.start);
            analysis.sites.insert(path.clone(), sites);
        }
    }
    if !found_parameter {
        analysis.clashes.push(Note {
            file: function.sites.keys().next().cloned().unwrap_or_default(),
            line: 1,
            column: 1,
            note: format!("the function has no parameter `{parameter}`"),
        });
    }
    // Calls orch could not tie to the function may pass the keyword.
    analysis.uncertain = function.uncertain.clone();
    analysis
}

/// The insertions that add `name=default` to every definition in
/// `function`'s analysis (a method's overrides too), keyword-friendly: before
/// `**kwargs`, else last. Existing calls stay valid through the default.
/// Returns the edits per file and the reasons it cannot be done.
pub(crate) fn add(
    name: &str,
    default: &str,
    files: &[(String, String)],
    function: &RenameAnalysis,
) -> (
    std::collections::BTreeMap<String, Vec<crate::edit::Edit>>,
    Vec<Note>,
) {
    let mut edits = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
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
            if parameter_node(def, bytes, name).is_some() {
                problems.push(note(format!(
                    "the function already has a parameter `{name}`"
                )));
                continue;
            }
            if let Some(body) = def.child_by_field_name("body")
                && !super::find_word(&source[body.start_byte()..body.end_byte()], name).is_empty()
            {
                problems.push(note(format!(
                    "`{name}` already appears in the function's body; a parameter would change what it means"
                )));
                continue;
            }
            let Some(parameters) = def.child_by_field_name("parameters") else {
                continue;
            };
            let mut cursor = parameters.walk();
            let children: Vec<Node> = parameters.named_children(&mut cursor).collect();
            let addition = format!("{name}={default}");
            let (position, text) = match children
                .iter()
                .find(|c| c.kind() == "dictionary_splat_pattern")
            {
                Some(kwargs) => (kwargs.start_byte(), format!("{addition}, ")),
                None => match children.last() {
                    None => (parameters.start_byte() + 1, addition),
                    Some(last) => {
                        let close = parameters.end_byte() - 1;
                        let between = &source[last.end_byte()..close];
                        match between.find(',') {
                            Some(comma) if between.contains('\n') => {
                                let line_start =
                                    source[..last.start_byte()].rfind('\n').map_or(0, |i| i + 1);
                                let indent: String = source[line_start..last.start_byte()]
                                    .chars()
                                    .take_while(|c| c.is_whitespace())
                                    .collect();
                                (
                                    last.end_byte() + comma + 1,
                                    format!("\n{indent}{addition},"),
                                )
                            }
                            _ => (last.end_byte(), format!(", {addition}")),
                        }
                    }
                },
            };
            edits
                .entry(path.clone())
                .or_insert_with(Vec::new)
                .push(crate::edit::Edit::new(source, position, position, &text));
        }
    }
    if edits.is_empty() && problems.is_empty() {
        problems.push(Note {
            file: String::new(),
            line: 1,
            column: 1,
            note: "no definition of the function was found".into(),
        });
    }
    (edits, problems)
}

/// Deletes item `index` of a comma-separated list (`siblings`): up to the
/// next item, else from the previous one, else just the item.
fn delete_item(source: &str, siblings: &[Node], index: usize) -> crate::edit::Edit {
    let item = siblings[index];
    let (start, end) = if let Some(next) = siblings.get(index + 1) {
        (item.start_byte(), next.start_byte())
    } else if index > 0 {
        (siblings[index - 1].end_byte(), item.end_byte())
    } else {
        (item.start_byte(), item.end_byte())
    };
    crate::edit::Edit::new(source, start, end, "")
}

/// The deletions that remove parameter `name` from every definition in
/// `function`'s analysis and its argument from every call orch ties to the
/// function (by keyword, or by position when it is passed positionally).
/// `classes` are the method's family class names (calls through them pass
/// `self` explicitly). Returns the edits per file and why it cannot be done.
pub(crate) fn remove(
    name: &str,
    files: &[(String, String)],
    function: &RenameAnalysis,
    classes: &[String],
) -> (
    std::collections::BTreeMap<String, Vec<crate::edit::Edit>>,
    Vec<Note>,
) {
    let mut edits: std::collections::BTreeMap<String, Vec<crate::edit::Edit>> =
        std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    let mut position: Option<Option<usize>> = None;
    let is_method = !classes.is_empty();
    // Definitions first: the parameter's position.
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
            let Some(parameters) = def.child_by_field_name("parameters") else {
                continue;
            };
            let mut cursor = parameters.walk();
            let items: Vec<Node> = parameters
                .named_children(&mut cursor)
                .filter(|c| c.kind() != "comment")
                .collect();
            let Some(ident) = parameter_node(def, bytes, name) else {
                problems.push(note(format!("the function has no parameter `{name}`")));
                continue;
            };
            let Some(index) = items.iter().position(|i| {
                i.start_byte() <= ident.start_byte() && ident.end_byte() <= i.end_byte()
            }) else {
                continue;
            };
            if matches!(
                items[index].kind(),
                "list_splat_pattern" | "dictionary_splat_pattern"
            ) {
                problems.push(note(format!(
                    "`{name}` collects extra arguments; orch does not remove it"
                )));
                continue;
            }
            if is_method && index == 0 {
                problems.push(note(format!("`{name}` is the method's receiver")));
                continue;
            }
            if let Some(body) = def.child_by_field_name("body") {
                let text_body = &source[body.start_byte()..body.end_byte()];
                if let Some(offset) = super::find_word(text_body, name).first() {
                    let line = source[..body.start_byte() + offset].matches('\n').count() + 1;
                    problems.push(note(format!(
                        "`{name}` is still used in the body (line {line}); remove its uses first"
                    )));
                    continue;
                }
            }
            let keyword_only = items[..index]
                .iter()
                .any(|i| matches!(i.kind(), "list_splat_pattern" | "keyword_separator"));
            let here = (!keyword_only).then_some(index);
            match position {
                None => position = Some(here),
                Some(p) if p != here => {
                    problems.push(note(format!(
                        "`{name}` is at a different position in an override; orch cannot update positional calls"
                    )));
                }
                _ => {}
            }
            edits
                .entry(path.clone())
                .or_default()
                .push(delete_item(source, &items, index));
        }
    }
    let position = position.flatten();
    // Then the calls.
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
            // `obj.m(...)` binds `self`; `Class.m(obj, ...)` passes it.
            let through_instance = is_method
                && receiver.is_some_and(|object| {
                    !classes
                        .iter()
                        .any(|c| object == c || object.ends_with(&format!(".{c}")))
                });
            let Some(args) = call_arguments(call) else {
                continue;
            };
            if passes_splat(&args) {
                problems.push(Note::at(
                    path,
                    call.start_position(),
                    "this call passes `*args`/`**kwargs`; orch cannot tell whether it passes the parameter",
                ));
                continue;
            }
            let keyword = args.iter().position(|a| {
                a.kind() == "keyword_argument"
                    && a.child_by_field_name("name")
                        .is_some_and(|n| text(n, bytes) == name)
            });
            let target = keyword.or_else(|| {
                let k = position?.checked_sub(usize::from(through_instance))?;
                let positional: Vec<usize> = args
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.kind() != "keyword_argument")
                    .map(|(i, _)| i)
                    .collect();
                positional.get(k).copied()
            });
            if let Some(index) = target {
                edits
                    .entry(path.clone())
                    .or_default()
                    .push(delete_item(source, &args, index));
            }
        }
    }
    for list in edits.values_mut() {
        list.sort_by_key(|e| e.start);
        list.dedup_by_key(|e| e.start);
    }
    (edits, problems)
}

/// A call's arguments (comments left out); `None` without an argument list.
pub(crate) fn call_arguments(call: Node) -> Option<Vec<Node>> {
    let arguments = call.child_by_field_name("arguments")?;
    let mut cursor = arguments.walk();
    Some(
        arguments
            .named_children(&mut cursor)
            .filter(|c| c.kind() != "comment")
            .collect(),
    )
}

/// Whether call arguments pass `*args` or `**kwargs`.
pub(crate) fn passes_splat(args: &[Node]) -> bool {
    args.iter()
        .any(|a| matches!(a.kind(), "list_splat" | "dictionary_splat"))
}

/// The `def` whose name a function-rename `definition` site covers.
pub(crate) fn definition_at<'t>(
    tree: &'t tree_sitter::Tree,
    site: &RenameSite,
) -> Option<Node<'t>> {
    tree.root_node()
        .descendant_for_byte_range(site.start, site.end)?
        .parent()
        .filter(|p| p.kind() == "function_definition")
}

/// The call whose callee is the name at `site` (`f(...)` or `obj.f(...)`),
/// and the receiver's text for `obj.f`.
pub(crate) fn call_at<'t>(
    tree: &'t tree_sitter::Tree,
    site: &RenameSite,
    source: &'t [u8],
) -> Option<(Node<'t>, Option<&'t str>)> {
    let mut callee = tree
        .root_node()
        .descendant_for_byte_range(site.start, site.end)?;
    let mut receiver = None;
    if let Some(parent) = callee.parent()
        && parent.kind() == "attribute"
        && parent.child_by_field_name("attribute") == Some(callee)
    {
        receiver = Some(
            parent
                .child_by_field_name("object")
                .map_or("", |o| text(o, source)),
        );
        callee = parent;
    }
    let call = callee.parent().filter(|p| p.kind() == "call")?;
    (call.child_by_field_name("function") == Some(callee)).then_some((call, receiver))
}

/// The identifier of parameter `name` in a `def`.
fn parameter_node<'t>(def: Node<'t>, source: &[u8], name: &str) -> Option<Node<'t>> {
    let parameters = def.child_by_field_name("parameters")?;
    let mut cursor = parameters.walk();
    for parameter in parameters.named_children(&mut cursor) {
        let ident = match parameter.kind() {
            "identifier" => Some(parameter),
            "typed_parameter" | "list_splat_pattern" | "dictionary_splat_pattern" => {
                let mut c = parameter.walk();
                parameter
                    .named_children(&mut c)
                    .find(|n| n.kind() == "identifier")
            }
            "default_parameter" | "typed_default_parameter" => {
                parameter.child_by_field_name("name")
            }
            _ => None,
        };
        if let Some(ident) = ident
            && text(ident, source) == name
        {
            return Some(ident);
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn definition_sites(
    path: &str,
    def: Node,
    param: Node,
    old: &str,
    new: &str,
    model: &FileModel,
    sites: &mut Vec<RenameSite>,
    analysis: &mut RenameAnalysis,
) {
    let Some(binding) = model
        .occurrences
        .iter()
        .find(|o| o.start == param.start_byte())
    else {
        return;
    };
    let scope = binding.scope;
    let range = def.start_byte()..def.end_byte();
    for o in model
        .occurrences
        .iter()
        .filter(|o| range.contains(&o.start))
    {
        if o.name == old
            && matches!(o.role, Role::Bind(_) | Role::Reference | Role::Declaration)
            && (o.start == param.start_byte()
                || matches!(o.role, Role::Bind(_)) && o.scope == scope
                || model.resolve(old, o.scope) == Resolution::Scope(scope))
        {
            sites.push(RenameSite {
                start: o.start,
                end: o.end,
                line: o.line,
                column: o.column,
                kind: if o.start == param.start_byte() {
                    EditKind::Definition
                } else {
                    EditKind::Reference
                },
            });
        }
        // The new name, bound in the function or read from outside it,
        // would collide or be captured.
        if o.name == new && model.is_within(o.scope, scope) {
            let bound_here = model.scopes[scope].bound.contains(new);
            if bound_here || matches!(o.role, Role::Reference) {
                analysis.clashes.push(Note {
                    file: path.to_owned(),
                    line: o.line,
                    column: o.column,
                    note: format!(
                        "`{new}` is already {} in this function",
                        if bound_here { "bound" } else { "used" }
                    ),
                });
            }
        }
    }
    for mention in model
        .mentions
        .iter()
        .filter(|m| m.name == old && range.contains(&m.start))
    {
        analysis.mentions.push(Note {
            file: path.to_owned(),
            line: mention.line,
            column: mention.column,
            note: format!("`{old}` in a {}; left alone", mention.context),
        });
    }
}

/// `NAME=` in `call`.
fn keyword_sites(call: Node, source: &[u8], name: &str, sites: &mut Vec<RenameSite>) {
    let Some(arguments) = call.child_by_field_name("arguments") else {
        return;
    };
    let mut cursor = arguments.walk();
    for argument in arguments.named_children(&mut cursor) {
        if argument.kind() != "keyword_argument" {
            continue;
        }
        if let Some(key) = argument.child_by_field_name("name")
            && text(key, source) == name
        {
            let at = key.start_position();
            sites.push(RenameSite {
                start: key.start_byte(),
                end: key.end_byte(),
                line: at.row + 1,
                column: at.column + 1,
                kind: EditKind::Keyword,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::python::ModuleIndex;

    #[test]
    fn parameters_are_added_with_their_default_where_calls_stay_valid() {
        let source = "def a(x):\n    return x\n\n\ndef b(x, **kw):\n    return kw\n\n\ndef c(\n    x,\n    y,\n):\n    return x\n\n\ndef d():\n    return timeout\n";
        let files = vec![
            ("m.py".to_owned(), source.to_owned()),
            ("__init__.py".to_owned(), String::new()),
        ];
        let index = ModuleIndex::new(["m.py"]);
        let mut out = std::collections::BTreeMap::new();
        for function in ["a", "b", "c", "d"] {
            let analysis =
                crate::lang::python::rename::analyse(&index, "m.py", function, "__t__", &files);
            let (edits, problems) = add("timeout", "30", &files, &analysis);
            out.insert(
                function,
                (edits.get("m.py").cloned().unwrap_or_default(), problems),
            );
        }
        let apply = |edits: &[crate::edit::Edit]| crate::edit::apply(source, edits).unwrap();
        assert!(apply(&out["a"].0).starts_with("def a(x, timeout=30):\n"));
        assert!(apply(&out["b"].0).contains("def b(x, timeout=30, **kw):\n"));
        assert!(apply(&out["c"].0).contains("def c(\n    x,\n    y,\n    timeout=30,\n):\n"));
        assert!(out["d"].0.is_empty());
        assert!(
            out["d"].1[0]
                .note
                .contains("already appears in the function's body")
        );
    }

    #[test]
    fn parameters_are_removed_from_definitions_and_calls() {
        let util = "def fetch(url, timeout=30, retries=3):\n    return url, retries\n\n\nclass C:\n    def m(self, a, b):\n        return b\n";
        let use_ = "from .util import fetch, C\n\nfetch('u', 5, 2)\nfetch('u', timeout=5)\nfetch('u')\nC().m(1, 2)\nC.m(C(), 1, 2)\n";
        let files = vec![
            ("pkg/util.py".to_owned(), util.to_owned()),
            ("pkg/use.py".to_owned(), use_.to_owned()),
            ("pkg/__init__.py".to_owned(), String::new()),
        ];
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let apply = |edits: &std::collections::BTreeMap<String, Vec<crate::edit::Edit>>,
                     path: &str,
                     source: &str| {
            crate::edit::apply(source, edits.get(path).into_iter().flatten()).unwrap()
        };
        let function =
            crate::lang::python::rename::analyse(&index, "pkg/util.py", "fetch", "__t__", &files);
        let (edits, problems) = remove("timeout", &files, &function, &[]);
        assert!(
            problems.is_empty(),
            "{:?}",
            problems.iter().map(|p| &p.note).collect::<Vec<_>>()
        );
        assert!(apply(&edits, "pkg/util.py", util).starts_with("def fetch(url, retries=3):\n"));
        assert_eq!(
            apply(&edits, "pkg/use.py", use_),
            "from .util import fetch, C\n\nfetch('u', 2)\nfetch('u')\nfetch('u')\nC().m(1, 2)\nC.m(C(), 1, 2)\n"
        );
        let method =
            crate::lang::python::methods::analyse(&index, "pkg/util.py", "C", "m", "__t__", &files);
        let (edits, problems) = remove("a", &files, &method, &["C".to_owned()]);
        assert!(
            problems.is_empty(),
            "{:?}",
            problems.iter().map(|p| &p.note).collect::<Vec<_>>()
        );
        assert!(apply(&edits, "pkg/util.py", util).contains("    def m(self, b):\n"));
        assert!(apply(&edits, "pkg/use.py", use_).ends_with("C().m(2)\nC.m(C(), 2)\n"));
        let (_, problems) = remove("retries", &files, &function, &[]);
        assert!(problems[0].note.contains("still used in the body"));
    }

    #[test]
    fn parameters_rename_in_the_body_and_at_keyword_calls() {
        let util = "def describe(cents, label=None):\n    \"\"\"label: shown first.\"\"\"\n    if label:\n        return f\"{label}: {cents}\"\n    return str(cents)\n\n\ndef other(label):\n    return label\n";
        let use_ = "from .util import describe\n\nx = describe(1, label=\"a\")\ny = describe(2, \"b\")\nz = other(label=1)\n";
        let files = vec![
            ("pkg/util.py".to_owned(), util.to_owned()),
            ("pkg/use.py".to_owned(), use_.to_owned()),
            ("pkg/__init__.py".to_owned(), String::new()),
        ];
        let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
        let function = crate::lang::python::rename::analyse(
            &index,
            "pkg/util.py",
            "describe",
            "__orch_target__",
            &files,
        );
        let analysis = analyse("label", "title", &files, &function);
        let apply = |path: &str, source: &str| {
            let mut out = source.to_owned();
            for s in analysis.sites.get(path).into_iter().flatten().rev() {
                out.replace_range(s.start..s.end, "title");
            }
            out
        };
        assert_eq!(
            apply("pkg/util.py", util),
            "def describe(cents, title=None):\n    \"\"\"label: shown first.\"\"\"\n    if title:\n        return f\"{title}: {cents}\"\n    return str(cents)\n\n\ndef other(label):\n    return label\n"
        );
        assert_eq!(
            apply("pkg/use.py", use_),
            "from .util import describe\n\nx = describe(1, title=\"a\")\ny = describe(2, \"b\")\nz = other(label=1)\n"
        );
        assert_eq!(analysis.mentions.len(), 1);
        assert!(analysis.clashes.is_empty());
        let clash = analyse("label", "cents", &files, &function);
        assert!(
            clash
                .clashes
                .iter()
                .any(|c| c.note.contains("`cents` is already bound"))
        );
        let missing = analyse("nope", "x", &files, &function);
        assert!(
            missing
                .clashes
                .iter()
                .any(|c| c.note.contains("no parameter `nope`"))
        );
    }
}
