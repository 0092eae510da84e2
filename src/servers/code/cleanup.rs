//! The `unused_imports` and `unused_functions` tools.

use super::*;

/// Unused-import removals over `args.files`, paged by file.
pub(crate) fn unused_imports(jail: &Jail, args: Cleanup) -> ReplaceOutput {
    let python: Vec<&String> = args.files.iter().filter(|f| f.ends_with(".py")).collect();
    // Names other modules take from a file with `from M import name`.
    let index = ModuleIndex::new(python_files(jail));
    let importers: Vec<&String> = args
        .importers
        .as_ref()
        .unwrap_or(&args.files)
        .iter()
        .filter(|f| f.ends_with(".py"))
        .collect();
    let mut exported: BTreeMap<String, std::collections::BTreeSet<String>> = BTreeMap::new();
    for pairs in crate::parallel::par_map(&importers, |relative| {
        read(jail, relative)
            .map(|source| python::imports::imported_from(&index, relative, &source))
            .unwrap_or_default()
    }) {
        for (file, name) in pairs {
            exported.entry(file).or_default().insert(name);
        }
    }
    let nothing = std::collections::BTreeSet::new();
    let found: Vec<_> = crate::parallel::par_map(&python, |relative| {
        let source = read(jail, relative).ok()?;
        let unused = python::imports::unused_imports(
            relative,
            &source,
            exported.get(relative.as_str()).unwrap_or(&nothing),
        );
        let errors = python_errors(&source);
        Some((
            (*relative).clone(),
            file_sha1(relative, &source),
            errors,
            unused,
        ))
    })
    .into_iter()
    .flatten()
    .collect();
    let mut out = ReplaceOutput {
        files_scanned: python.len(),
        ..ReplaceOutput::default()
    };
    let max_notes = args.page.max_notes.unwrap_or(25);
    for (path, _, _, unused) in &found {
        out.refused_total += unused.kept.len();
        for (line, column, note) in &unused.kept {
            if out.refused.len() < max_notes {
                out.refused.push(NoteOut {
                    path: path.clone(),
                    line: *line,
                    column: *column,
                    note: note.clone(),
                });
            }
        }
    }
    let with_edits: Vec<_> = found
        .into_iter()
        .filter(|f| !f.3.edits.is_empty())
        .collect();
    out.total_matches = with_edits.iter().map(|f| f.3.removed.len()).sum();
    page_into(
        &mut out,
        with_edits,
        args.page.offset,
        args.page.max_files,
        |(path, sha1, errors, unused)| {
            let file = FileReplacements {
                path,
                sha1,
                language: "python".into(),
                sites: String::new(),
                replacements: unused.edits,
                rows: Vec::new(),
                errors: 0,
            };
            (file, errors)
        },
    );
    out
}

/// Unreferenced private functions over `args.files`; references are
/// counted over every project Python file.
pub(crate) fn unused_functions(jail: &Jail, args: Cleanup) -> ReplaceOutput {
    // Every project file, read once: the targets, and where names appear.
    let everything = read_all(jail, &python_files(jail));
    let sources: Vec<(String, String)> = everything
        .iter()
        .filter(|(path, _)| args.files.contains(path))
        .cloned()
        .collect();
    // The private names defined at module level in the targets.
    let mut names: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for (_, source) in &sources {
        for line in source.lines() {
            let rest = line
                .strip_prefix("def ")
                .or_else(|| line.strip_prefix("async def "));
            if let Some(rest) = rest {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name.starts_with('_') {
                    names.insert(name);
                }
            }
        }
    }
    // Their occurrences in the whole project.
    let per_file = crate::parallel::par_map(&everything, |(_, source)| {
        names
            .iter()
            .map(|n| (n.clone(), python::find_word(source, n).len()))
            .filter(|(_, c)| *c > 0)
            .collect::<Vec<_>>()
    });
    let mut mentions: BTreeMap<String, usize> = BTreeMap::new();
    for (name, count) in per_file.into_iter().flatten() {
        *mentions.entry(name).or_default() += count;
    }
    let mut out = ReplaceOutput {
        files_scanned: sources.len(),
        ..ReplaceOutput::default()
    };
    let max_notes = args.page.max_notes.unwrap_or(25);
    let mut with_edits = Vec::new();
    for (path, source) in sources {
        let found = python::dead::unused_private_functions(&source, &mentions);
        let mut edits = Vec::new();
        for candidate in found {
            match (candidate.kept, candidate.edit) {
                (Some(why), _) => {
                    out.refused_total += 1;
                    if out.refused.len() < max_notes {
                        out.refused.push(NoteOut {
                            path: path.clone(),
                            line: candidate.line,
                            column: 1,
                            note: why,
                        });
                    }
                }
                (None, Some(edit)) => edits.push(edit),
                (None, None) => {}
            }
        }
        if !edits.is_empty() {
            with_edits.push((path, source, edits));
        }
    }
    out.total_matches = with_edits.iter().map(|f| f.2.len()).sum();
    page_into(
        &mut out,
        with_edits,
        args.page.offset,
        args.page.max_files,
        |(path, source, edits)| {
            let file = FileReplacements {
                sha1: file_sha1(&path, &source),
                path,
                language: "python".into(),
                sites: String::new(),
                replacements: edits,
                rows: Vec::new(),
                errors: 0,
            };
            (file, python_errors(&source))
        },
    );
    out
}
