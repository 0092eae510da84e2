//! The `add_parameter` and `remove_parameter` tools.

use super::*;

/// Adds (`add`) or removes a parameter; edits in the `ReplaceOutput` shape.
pub(super) fn change_signature(
    jail: &Jail,
    args: Signature,
    add: bool,
) -> Result<ReplaceOutput, String> {
    let (index, sources, hashes) =
        load_sources(jail, &args.definition, args.class.as_deref(), &args.files)?;
    let function = function_analysis(
        &index,
        &args.definition,
        args.class.as_deref(),
        &args.name,
        "__orch_parameter_target__",
        &sources,
        Parsing::Whole,
    );
    let (edits, problems) = if add {
        python::parameters::add(&args.parameter, &args.default, &sources, &function)
    } else {
        // A method's family: the classes whose `def`s are definition sites.
        let classes: Vec<String> = args.class.iter().cloned().collect();
        python::parameters::remove(&args.parameter, &sources, &function, &classes)
    };
    let refused: Vec<NoteOut> = function
        .uncertain
        .iter()
        .cloned()
        .map(NoteOut::from)
        .collect();
    let mut out = ReplaceOutput {
        files_scanned: sources.len(),
        refused_total: if add { 0 } else { refused.len() },
        refused: if add { Vec::new() } else { refused },
        problems: problems.into_iter().map(NoteOut::from).collect(),
        ..ReplaceOutput::default()
    };
    out.total_matches = edits.values().map(Vec::len).sum();
    page_signature_edits(&mut out, edits, &sources, &hashes, &args.page);
    Ok(out)
}

/// Reorders a function's positional parameters; edits in the
/// `ReplaceOutput` shape, what prevents it in `problems`.
pub(super) fn reorder_parameters(
    jail: &Jail,
    args: ReorderParameters,
) -> Result<ReplaceOutput, String> {
    let placement = match args.placement.as_str() {
        "before" => python::reorder::Placement::Before,
        "after" => python::reorder::Placement::After,
        "swap" => python::reorder::Placement::Swap,
        other => {
            return Err(format!(
                "placement must be before, after or swap, not `{other}`"
            ));
        }
    };
    let signature = args.signature;
    let (index, sources, hashes) = load_sources(
        jail,
        &signature.definition,
        signature.class.as_deref(),
        &signature.files,
    )?;
    let function = function_analysis(
        &index,
        &signature.definition,
        signature.class.as_deref(),
        &signature.name,
        "__orch_parameter_target__",
        &sources,
        Parsing::Whole,
    );
    let classes: Vec<String> = signature.class.iter().cloned().collect();
    let (edits, problems) = python::reorder::reorder(
        &sources,
        &function,
        &classes,
        (&signature.parameter, &args.other, placement),
    );
    let mut out = ReplaceOutput {
        files_scanned: sources.len(),
        problems: problems.into_iter().map(NoteOut::from).collect(),
        ..ReplaceOutput::default()
    };
    out.total_matches = edits.values().map(Vec::len).sum();
    page_signature_edits(&mut out, edits, &sources, &hashes, &signature.page);
    Ok(out)
}

/// One page of a signature change's edits into `out`, per file with its
/// hash and syntax-error count.
fn page_signature_edits(
    out: &mut ReplaceOutput,
    edits: std::collections::BTreeMap<String, Vec<crate::edit::Edit>>,
    sources: &[(String, String)],
    hashes: &std::collections::BTreeMap<String, String>,
    page: &crate::protocol::Page,
) {
    page_into(
        out,
        edits.into_iter().collect(),
        page.offset,
        page.max_files,
        |(path, replacements)| {
            let errors = sources
                .iter()
                .find(|(p, _)| *p == path)
                .map_or(0, |(_, source)| python_errors(source));
            let file = FileReplacements {
                sha1: hashes.get(&path).cloned().unwrap_or_default(),
                path,
                language: "python".into(),
                sites: String::new(),
                replacements,
                rows: Vec::new(),
                errors: 0,
            };
            (file, errors)
        },
    );
}

/// The sites of a function or method as if renamed to `new`, its files
/// parsed as `parsing` says ([`rename::analyse_with`],
/// [`python::methods::analyse_with`]).
pub(super) fn function_analysis(
    index: &ModuleIndex,
    definition: &str,
    class: Option<&str>,
    name: &str,
    new: &str,
    sources: &[(String, String)],
    parsing: Parsing,
) -> rename::RenameAnalysis {
    match class {
        Some(class) => {
            python::methods::analyse_with(index, definition, class, name, new, sources, parsing)
        }
        None => rename::analyse_with(index, definition, name, new, sources, parsing),
    }
}
