//! Inline function in LOGIC: the function's references found as a rename
//! finds them; each call replaced by the body (see
//! [`crate::lang::python::inline_function`]), imports left unused removed,
//! and the definition deleted when no use is left. What keeps it (a call
//! that cannot be inlined, a use as a value, a re-export, `__all__`, an
//! uncertain site) is said, with the reason.

use std::collections::{BTreeMap, BTreeSet};

use super::{Analysis, EditSite, FileEdits};
use crate::edit::{Edit, EditKind};
use crate::intent::InlineFunction;
use crate::lang::python::inline_function::{absolute_imports, body_of, inline_call, scope_at};
use crate::lang::python::scope::FileModel;
use crate::lang::python::text;
use crate::phase::{Context, Failure};
use crate::protocol::code::{DefinitionKind, NoteOut};

pub(super) fn analyse(
    ctx: &Context,
    request: &InlineFunction,
    references: Analysis,
) -> Result<Analysis, Failure> {
    let name = &request.name;
    let definition = references
        .definition
        .clone()
        .ok_or_else(|| Failure::internal("an inline without its definition"))?;
    if definition.kind != DefinitionKind::Function {
        return Err(Failure::input(
            format!(
                "`{name}` ({}:{}) is a {}: orch inlines module-level functions",
                definition.path, definition.line, definition.kind
            ),
            None,
        ));
    }
    let (_, def_source) = super::worktree_source(ctx, &definition.path)?;
    let def_start = super::inline::def_start(&def_source, &definition, name)?;
    let body = body_of(&def_source, def_start).map_err(|why| {
        Failure::input(
            format!(
                "cannot inline `{name}` ({}:{}): {why}",
                definition.path, definition.line
            ),
            None,
        )
    })?;
    let def_tree = crate::lang::python::parse(&def_source)
        .ok_or_else(|| Failure::internal("the parser was cancelled"))?;
    let (module_names, def_imports) = {
        let names: Vec<&str> = body.free.iter().map(String::as_str).collect();
        let model = FileModel::build(&def_tree, &def_source, &names);
        (model.scopes[0].bound.clone(), absolute_imports(&model))
    };
    let mut kept: Vec<String> = Vec::new();
    let mut inlined = 0;
    let mut files: BTreeMap<String, (Vec<u8>, Vec<Edit>)> = BTreeMap::new();
    for file in &references.files {
        let (bytes, source) = super::worktree_source(ctx, &file.path)?;
        let tree = crate::lang::python::parse(&source)
            .ok_or_else(|| Failure::internal("the parser was cancelled"))?;
        let mut names: Vec<&str> = body.free.iter().map(String::as_str).collect();
        names.push(name);
        if let Some(placed) = &body.statements {
            names.extend(placed.locals.iter().map(String::as_str));
        }
        let model = FileModel::build(&tree, &source, &names);
        let here_imports = absolute_imports(&model);
        let shared: BTreeSet<String> = def_imports
            .iter()
            .filter(|(name, what)| here_imports.get(*name) == Some(*what))
            .map(|(name, _)| name.clone())
            .collect();
        let root = tree.root_node();
        let same_module = file.path == definition.path;
        let mut edits: Vec<Edit> = Vec::new();
        let mut imports = Vec::new();
        let mut kept_here = 0;
        let keep = |kept: &mut Vec<String>, line: usize, why: &str| {
            kept.push(format!("{}:{line}: {why}", file.path));
        };
        for site in &file.edits {
            let start = site.edit.start;
            let line = site.edit.line;
            let Some(node) = root.descendant_for_byte_range(start, start + name.len()) else {
                continue;
            };
            match site.kind {
                EditKind::Definition
                    if same_module && start >= body.statement.0 && start < body.statement.1 => {}
                EditKind::Import => {
                    let aliased = node
                        .parent()
                        .and_then(|p| {
                            if p.kind() == "dotted_name" {
                                p.parent()
                            } else {
                                Some(p)
                            }
                        })
                        .is_some_and(|p| {
                            p.kind() == "aliased_import"
                                && p.child_by_field_name("alias")
                                    .is_some_and(|a| text(a, source.as_bytes()) != name)
                        });
                    if aliased {
                        kept_here += 1;
                        keep(
                            &mut kept,
                            line,
                            "imported under another name (its calls there are not inlined)",
                        );
                    } else {
                        imports.push(node);
                    }
                }
                EditKind::Reference | EditKind::Attribute => {
                    let callee = if site.kind == EditKind::Attribute {
                        node.parent().filter(|p| p.kind() == "attribute")
                    } else {
                        Some(node)
                    };
                    let call = callee.and_then(|c| {
                        c.parent().filter(|p| {
                            p.kind() == "call" && p.child_by_field_name("function") == Some(c)
                        })
                    });
                    let Some(call) = call else {
                        kept_here += 1;
                        keep(&mut kept, line, "used as a value, not called");
                        continue;
                    };
                    let scope = scope_at(&model, node.start_byte()).unwrap_or(0);
                    match inline_call(
                        &body,
                        &source,
                        &model,
                        call,
                        scope,
                        same_module,
                        &module_names,
                        &shared,
                    ) {
                        Ok(edit) => {
                            edits.push(edit);
                            inlined += 1;
                        }
                        Err(why) => {
                            kept_here += 1;
                            keep(&mut kept, line, &why);
                        }
                    }
                }
                EditKind::All => {
                    kept_here += 1;
                    keep(&mut kept, line, "listed in `__all__`");
                }
                _ => {
                    kept_here += 1;
                    keep(&mut kept, line, "another use");
                }
            }
        }
        // Imports the file no longer needs: only where every use was
        // inlined (an import alone is a re-export: it stays).
        let used_here = !edits.is_empty();
        for import in imports {
            if kept_here > 0 || !used_here {
                kept.push(format!(
                    "{}:{}: imported{}",
                    file.path,
                    import.start_position().row + 1,
                    if used_here { "" } else { " (a re-export)" }
                ));
                continue;
            }
            let mut statement = Some(import);
            while let Some(s) = statement {
                if matches!(s.kind(), "import_from_statement" | "import_statement") {
                    break;
                }
                statement = s.parent();
            }
            let Some(statement) = statement else { continue };
            let Some(parsed) =
                crate::lang::python::imports::statement(statement, source.as_bytes())
            else {
                continue;
            };
            let Some(index) = parsed.items.iter().position(|item| item.bound == *name) else {
                continue;
            };
            if parsed.items.len() == 1 {
                edits.push(crate::lang::python::imports::remove_statement(
                    &source, statement,
                ));
            } else {
                edits.extend(crate::lang::python::imports::remove_items(
                    &source,
                    &parsed.items,
                    &[index],
                ));
            }
        }
        if !edits.is_empty() || same_module {
            files.insert(file.path.clone(), (bytes, edits));
        }
    }
    for note in &references.uncertain {
        kept.push(format!("{}:{}: {}", note.path, note.line, note.note));
    }
    // Calls that could not be inlined first: they say why nothing was.
    kept.sort_by_key(|k| !(k.contains(": the ") || k.contains(": its ") || k.contains(": a call")));
    if inlined == 0 {
        return Err(Failure::input(
            format!(
                "no call of `{name}` can be inlined:\n{}",
                kept.iter()
                    .map(|k| format!("  {k}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            None,
        ));
    }
    let removed = kept.is_empty();
    if removed {
        let statement = def_tree
            .root_node()
            .descendant_for_byte_range(body.statement.0, body.statement.1)
            .ok_or_else(|| Failure::internal("the definition moved"))?;
        let deletion = crate::lang::python::dead::deletion(&def_source, statement);
        let entry = files
            .entry(definition.path.clone())
            .or_insert_with(|| (def_source.as_bytes().to_vec(), Vec::new()));
        entry.1.push(deletion);
        ctx.printer.note(&format!(
            "inlined {inlined} call(s) of `{name}`; its definition ({}:{}) is removed",
            definition.path, definition.line
        ));
    } else {
        ctx.printer.note(&format!(
            "inlined {inlined} call(s) of `{name}`; the definition stays, still used at:"
        ));
        for k in kept.iter().take(20) {
            ctx.printer.note(&format!("  {k}"));
        }
    }
    let mut parse_errors = BTreeMap::new();
    let mut out_files = Vec::new();
    let mut sites = 0;
    for (path, (bytes, mut edits)) in files {
        if edits.is_empty() {
            continue;
        }
        edits.sort_by_key(|e| (e.start, e.end));
        if edits.windows(2).any(|w| w[0].end > w[1].start) {
            return Err(Failure::internal(format!(
                "inlining `{name}`: overlapping edits in {path}"
            )));
        }
        let source = String::from_utf8_lossy(&bytes).into_owned();
        if let Some(tree) = crate::lang::python::parse(&source) {
            parse_errors.insert(path.clone(), crate::lang::python::syntax_errors(&tree));
        }
        sites += edits.len();
        out_files.push(FileEdits {
            path,
            sha1: crate::plan::sha1_hex(&bytes),
            edits: edits
                .into_iter()
                .map(|edit| EditSite {
                    edit,
                    kind: EditKind::Inline,
                })
                .collect(),
        });
    }
    Ok(Analysis {
        definition: Some(definition.clone()),
        files: out_files,
        sites,
        mentions: references.mentions,
        mentions_total: references.mentions_total,
        uncertain: Vec::new(),
        uncertain_total: 0,
        accounting: None,
        parse_errors,
        syntax_focus: Vec::new(),
        target_modules: Vec::new(),
        pruned_files: 0,
        notes: kept
            .iter()
            .map(|k| NoteOut {
                path: definition.path.clone(),
                line: definition.line,
                column: 1,
                note: format!("kept: {k}"),
            })
            .collect(),
        creates: Vec::new(),
        deletes: Vec::new(),
    })
}
