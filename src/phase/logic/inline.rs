//! Inline variable in LOGIC: the function found as a rename finds it, the
//! edits made in its file (see [`crate::lang::python::inline`]).

use super::{Analysis, EditSite, FileEdits};
use crate::edit::EditKind;
use crate::intent::InlineVariable;
use crate::phase::{Context, Failure};
use crate::protocol::code::{Definition, DefinitionKind};

/// Where the `def` of `function` starts in `source`, from its definition
/// (a method's definition points at its class).
pub(super) fn def_start(
    source: &str,
    definition: &Definition,
    function: &str,
) -> Result<usize, Failure> {
    let tree = crate::lang::python::parse(source)
        .ok_or_else(|| Failure::internal("the parser was cancelled"))?;
    let point = tree_sitter::Point::new(definition.line.saturating_sub(1), definition.column);
    let at = tree
        .root_node()
        .descendant_for_point_range(point, point)
        .ok_or_else(|| Failure::internal("no definition at its position"))?;
    match definition.kind {
        DefinitionKind::Method => super::delete::method_of(at, function, source.as_bytes())
            .map(|(statement, _)| statement.start_byte()),
        _ => Some(at.start_byte()),
    }
    .ok_or_else(|| Failure::internal("the method is not in its class"))
}

/// The inlining of `inline.name` in the function `definition` points at.
pub(super) fn analyse(
    ctx: &Context,
    inline: &InlineVariable,
    definition: Definition,
) -> Result<Analysis, Failure> {
    let (bytes, source) = super::worktree_source(ctx, &definition.path)?;
    let tree = crate::lang::python::parse(&source)
        .ok_or_else(|| Failure::internal("the parser was cancelled"))?;
    let def_start = def_start(&source, &definition, &inline.function)?;
    let edits = crate::lang::python::inline::inline_variable(&source, def_start, &inline.name)
        .map_err(|why| {
            Failure::input(
                format!(
                    "cannot inline `{}` in `{}` ({}:{}): {why}",
                    inline.name, inline.function, definition.path, definition.line
                ),
                None,
            )
        })?;
    let sites = edits.len();
    Ok(Analysis {
        definition: Some(definition.clone()),
        files: vec![FileEdits {
            path: definition.path.clone(),
            sha1: crate::plan::sha1_hex(&bytes),
            edits: edits
                .into_iter()
                .map(|edit| EditSite {
                    edit,
                    kind: EditKind::Inline,
                })
                .collect(),
        }],
        sites,
        mentions: Vec::new(),
        uncertain: Vec::new(),
        mentions_total: 0,
        uncertain_total: 0,
        accounting: None,
        // REVIEW checks the file parses no worse after the edits.
        parse_errors: [(
            definition.path.clone(),
            crate::lang::python::syntax_errors(&tree),
        )]
        .into(),
        syntax_focus: Vec::new(),
        target_modules: Vec::new(),
        pruned_files: 0,
        notes: Vec::new(),
        creates: Vec::new(),
        deletes: Vec::new(),
    })
}
