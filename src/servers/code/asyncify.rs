//! The `make_async` tool of the `code` server.

use std::collections::BTreeMap;

use super::{page_python, python_files, read_all};
use crate::lang::python::asyncify::{Target, make_async as change, sync_functions};
use crate::lang::python::{self, ModuleIndex, rename};
use crate::protocol::code::{MakeAsync, NoteOut, ReplaceOutput};
use crate::servers::Jail;

/// `async`/`await` insertions for the targets and their callers, up to a
/// boundary; blockers in `problems`, the functions made async in `notes`.
pub(crate) fn make_async(jail: &Jail, args: MakeAsync) -> Result<ReplaceOutput, String> {
    let all = python_files(jail);
    let index = ModuleIndex::new(&all);
    let everything = read_all(jail, &all);
    let sources: BTreeMap<&str, &str> = everything
        .iter()
        .map(|(p, s)| (p.as_str(), s.as_str()))
        .collect();
    let mut targets = Vec::new();
    if let (Some(definition), Some(name)) = (&args.definition, &args.name) {
        if !sources.contains_key(definition.as_str()) {
            return Err(format!(
                "`{definition}` is not a Python file of the project"
            ));
        }
        targets.push(Target {
            file: definition.clone(),
            class: args.class.clone(),
            name: name.clone(),
        });
    }
    for module in &args.modules {
        let source = sources
            .get(module.as_str())
            .ok_or_else(|| format!("`{module}` is not a Python file of the project"))?;
        targets.extend(sync_functions(source).into_iter().map(|name| Target {
            file: module.clone(),
            class: None,
            name,
        }));
    }
    let mut out = ReplaceOutput {
        files_scanned: everything.len(),
        ..ReplaceOutput::default()
    };
    if targets.is_empty() {
        return Ok(out);
    }
    let analyse = |target: &Target| {
        let subset: Vec<(String, String)> = match &target.class {
            None => everything
                .iter()
                .filter(|(path, source)| {
                    *path == target.file || crate::lang::structural::has_word(source, &target.name)
                })
                .cloned()
                .collect(),
            // The class hierarchy may live in files that do not name the method.
            Some(class) => {
                let hierarchy = python::methods::hierarchy_files(class, &everything);
                everything
                    .iter()
                    .filter(|(path, source)| {
                        *path == target.file
                            || hierarchy.contains(&path.as_str())
                            || crate::lang::structural::has_word(source, &target.name)
                            || crate::lang::structural::has_word(source, class)
                    })
                    .cloned()
                    .collect()
            }
        };
        let new = "__orch_async_target__";
        match &target.class {
            Some(class) => {
                python::methods::analyse(&index, &target.file, class, &target.name, new, &subset)
            }
            None => rename::analyse(&index, &target.file, &target.name, new, &subset),
        }
    };
    let result = change(&targets, &everything, &analyse);
    // Listed up to the note limit: a large call graph can block in many places.
    out.problems_total = result.blockers.len();
    out.problems = result
        .blockers
        .into_iter()
        .take(args.page.max_notes.unwrap_or(25).max(5))
        .map(NoteOut::from)
        .collect();
    out.notes = result.converted.into_iter().map(NoteOut::from).collect();
    out.total_matches = result.edits.values().map(Vec::len).sum();
    page_python(
        &mut out,
        result.edits,
        &everything,
        args.page.offset,
        args.page.max_files,
    );
    Ok(out)
}
