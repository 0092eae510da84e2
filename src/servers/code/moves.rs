//! The `move_symbol` tool of the `code` server.

use super::{page_python, python_files, read_all};
use crate::lang::python::moves::{Move, move_symbol as plan_move};
use crate::lang::python::{ModuleIndex, rename};
use crate::protocol::code::{
    DeletedFile, MoveSymbol, NewFile, NoteOut, RenameModule, ReplaceOutput,
};
use crate::servers::Jail;

/// The edits (and the new module) that move a module-level function or
/// class; why it cannot be done in `problems`.
pub(crate) fn move_symbol(jail: &Jail, args: MoveSymbol) -> Result<ReplaceOutput, String> {
    let all = python_files(jail);
    if !all.contains(&args.definition) {
        return Err(format!(
            "`{}` is not a Python file of the project",
            args.definition
        ));
    }
    if !args.target.ends_with(".py") {
        return Err(format!("the target `{}` is not a `.py` path", args.target));
    }
    let mut paths = all.clone();
    if !paths.contains(&args.target) {
        paths.push(args.target.clone());
    }
    let index = ModuleIndex::new(&paths);
    let everything = read_all(jail, &all);
    let subset: Vec<(String, String)> = everything
        .iter()
        .filter(|(path, source)| {
            *path == args.definition
                || *path == args.target
                || crate::lang::structural::has_word(source, &args.name)
        })
        .cloned()
        .collect();
    let analysis = rename::analyse(
        &index,
        &args.definition,
        &args.name,
        "__orch_moved__",
        &subset,
    );
    let change = plan_move(
        &index,
        &Move {
            source_file: &args.definition,
            name: &args.name,
            target_file: &args.target,
            keep_alias: args.keep_alias,
        },
        &everything,
        &analysis,
    );
    let max_notes = args.page.max_notes.unwrap_or(25);
    let mut out = ReplaceOutput {
        files_scanned: subset.len(),
        refused_total: analysis.uncertain.len(),
        refused: analysis
            .uncertain
            .into_iter()
            .take(max_notes)
            .map(NoteOut::from)
            .collect(),
        problems: change.problems.into_iter().map(NoteOut::from).collect(),
        notes: change.notes.into_iter().map(NoteOut::from).collect(),
        creates: change
            .create
            .into_iter()
            .map(|(path, content)| NewFile { path, content })
            .collect(),
        ..ReplaceOutput::default()
    };
    out.total_matches = change.edits.values().map(Vec::len).sum();
    page_python(
        &mut out,
        change.edits,
        &everything,
        args.page.offset,
        args.page.max_files,
    );
    Ok(out)
}

/// The import edits for renaming a module file; the file itself comes back
/// as one deletion and one creation (with its own edits applied).
pub(crate) fn rename_module(jail: &Jail, args: RenameModule) -> Result<ReplaceOutput, String> {
    let all = python_files(jail);
    if !all.contains(&args.path) {
        return Err(format!(
            "`{}` is not a Python file of the project",
            args.path
        ));
    }
    if all.contains(&args.new_path) || jail.resolve(&args.new_path)?.exists() {
        return Err(format!("`{}` exists already", args.new_path));
    }
    let mut paths = all.clone();
    paths.push(args.new_path.clone());
    let index = ModuleIndex::new(&paths);
    let everything = read_all(jail, &all);
    let mut change = crate::lang::python::module_rename::rename_module(
        &index,
        &args.path,
        &args.new_path,
        &everything,
    );
    let old_source = everything
        .iter()
        .find(|(p, _)| *p == args.path)
        .map_or("", |(_, s)| s.as_str());
    let own = change.edits.remove(&args.path).unwrap_or_default();
    let content = crate::edit::apply(old_source, &own)
        .map_err(|e| format!("cannot apply the edits of `{}` itself: {e}", args.path))?;
    let max_notes = args.page.max_notes.unwrap_or(25);
    let mut out = ReplaceOutput {
        files_scanned: everything.len(),
        refused_total: change.mentions.len(),
        refused: change
            .mentions
            .into_iter()
            .take(max_notes)
            .map(NoteOut::from)
            .collect(),
        problems: change.problems.into_iter().map(NoteOut::from).collect(),
        creates: vec![NewFile {
            path: args.new_path.clone(),
            content,
        }],
        deletes: vec![DeletedFile {
            path: args.path.clone(),
            sha1: super::file_sha1(&args.path, old_source),
        }],
        ..ReplaceOutput::default()
    };
    out.total_matches = change.edits.values().map(Vec::len).sum::<usize>() + own.len();
    page_python(
        &mut out,
        change.edits,
        &everything,
        args.page.offset,
        args.page.max_files,
    );
    Ok(out)
}
