//! Extract function / method in LOGIC: the file (a line range) or the
//! function found as a rename finds it (an expression), the edits made in
//! that file (see [`crate::lang::python::extract`]).

use super::{Analysis, EditSite, FileEdits};
use crate::edit::EditKind;
use crate::intent::Extract;
use crate::lang::python::extract::{Selection, extract};
use crate::phase::{Context, Failure};
use crate::protocol::code::{Definition, NoteOut};

/// The extraction `request` asks for: from `path` (a line range), or from
/// the function `definition` points at (an expression).
pub(super) fn analyse(
    ctx: &Context,
    request: &Extract,
    path: &str,
    definition: Option<Definition>,
) -> Result<Analysis, Failure> {
    let (bytes, source) = super::worktree_source(ctx, path)?;
    let selection = match (
        &request.expression,
        &definition,
        request.first_line,
        request.last_line,
    ) {
        (Some(expression), Some(definition), _, _) => {
            let function = request.function.as_deref().unwrap_or_default();
            Selection::Expression {
                def_start: super::inline::def_start(&source, definition, function)?,
                text: expression.clone(),
            }
        }
        (None, _, Some(first), Some(last)) => Selection::Lines { first, last },
        _ => return Err(Failure::internal("an extract without a selection")),
    };
    let what = match &selection {
        Selection::Lines { first, last } => format!("lines {first}-{last} of {path}"),
        Selection::Expression { text, .. } => format!("`{text}`"),
    };
    let extracted = extract(&source, &selection, &request.name, request.method)
        .map_err(|why| Failure::input(format!("cannot extract {what}: {why}"), None))?;
    let signature = format!(
        "{}({}){}",
        request.name,
        extracted.parameters.join(", "),
        if extracted.returns.is_empty() {
            String::new()
        } else {
            format!(" -> {}", extracted.returns.join(", "))
        }
    );
    ctx.printer.note(&format!(
        "new {} {signature} (from `{}`), at {path}:{}",
        if request.method { "method" } else { "function" },
        extracted.function,
        extracted.line
    ));
    let sites = extracted.edits.len();
    Ok(Analysis {
        definition,
        files: vec![FileEdits {
            path: path.to_owned(),
            sha1: crate::plan::sha1_hex(&bytes),
            edits: extracted
                .edits
                .into_iter()
                .map(|edit| EditSite {
                    edit,
                    kind: EditKind::Extract,
                })
                .collect(),
        }],
        sites,
        mentions: Vec::new(),
        uncertain: Vec::new(),
        mentions_total: 0,
        uncertain_total: 0,
        accounting: None,
        // REVIEW checks the file parses no worse after the edits; extract
        // refuses a file that has syntax errors, so there were none.
        parse_errors: [(path.to_owned(), 0)].into(),
        syntax_focus: Vec::new(),
        target_modules: Vec::new(),
        pruned_files: 0,
        notes: vec![NoteOut {
            path: path.to_owned(),
            line: extracted.line,
            column: 1,
            note: format!("new {signature}"),
        }],
        creates: Vec::new(),
        deletes: Vec::new(),
    })
}
