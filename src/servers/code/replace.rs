//! The `structural_replace` tool: ast-grep matches and their rewrites,
//! minus those that would not parse.

use super::*;

/// The replacements for a pattern over `args.files` (or every file under
/// `args.paths`), paged by file: a match whose rewrite would not parse is
/// left out and listed in `refused`.
pub(crate) fn structural_replace(
    jail: &Jail,
    last: &LastReplace,
    args: StructuralReplace,
) -> Result<ReplaceOutput, String> {
    // The pages of one answer are cut from one analysis.
    let key = format!(
        "{}\0{}\0{}\0{}\0{:?}",
        args.pattern,
        args.rewrite,
        args.language.as_deref().unwrap_or(""),
        args.files.join("\0"),
        args.paths
    );
    let cached = last.lock().ok().and_then(|guard| {
        guard
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    });
    let matched = match cached {
        Some(matched) => matched,
        None => {
            let matched = Arc::new(matches(jail, &args)?);
            if let Ok(mut guard) = last.lock() {
                *guard = Some((key, matched.clone()));
            }
            matched
        }
    };
    let mut out = ReplaceOutput {
        invalid: matched.invalid.clone(),
        files_scanned: matched.files_scanned,
        ..ReplaceOutput::default()
    };
    let max_notes = args.page.max_notes.unwrap_or(25);
    for (relative, _, _, _, _, refused) in &matched.found {
        out.refused_total += refused.len();
        for r in refused {
            if out.refused.len() < max_notes {
                out.refused.push(NoteOut {
                    path: relative.clone(),
                    line: r.line,
                    column: r.column,
                    note: format!(
                        "`{}` -> `{}` would not parse here; left alone",
                        one_line(&r.old),
                        one_line(&r.new)
                    ),
                });
            }
        }
    }
    let with_matches: Vec<Found> = matched
        .found
        .iter()
        .filter(|f| !f.4.is_empty())
        .cloned()
        .collect();
    let sites_only = args.sites_only;
    out.total_matches = with_matches.iter().map(|f| f.4.len()).sum();
    page_into(
        &mut out,
        with_matches,
        args.page.offset,
        args.page.max_files,
        |(path, language, sha1, errors, replacements, _)| {
            let file = if sites_only {
                FileReplacements {
                    path,
                    sha1: String::new(),
                    language: String::new(),
                    sites: encode_sites(replacements.iter().map(|e| e.start)),
                    replacements: Vec::new(),
                    rows: Vec::new(),
                    errors: 0,
                }
            } else {
                FileReplacements {
                    path,
                    sha1,
                    language: language.to_owned(),
                    sites: String::new(),
                    replacements,
                    rows: Vec::new(),
                    errors: 0,
                }
            };
            (file, errors)
        },
    );
    Ok(out)
}

/// A file with matches: path, language, sha1, syntax errors before the
/// edit, the rewrites kept and those refused.
type Found = (
    String,
    &'static str,
    String,
    usize,
    Vec<crate::edit::Edit>,
    Vec<structural::Refused>,
);

/// The matches of a pattern over the project, before paging.
#[derive(Debug, Default)]
pub(crate) struct Matched {
    invalid: BTreeMap<String, String>,
    files_scanned: usize,
    found: Vec<Found>,
}

/// The last structural replace, keyed by its arguments but the page.
pub(crate) type LastReplace = Mutex<Option<(String, Arc<Matched>)>>;

/// Matches the pattern in every file of `args`, on all cores; a match whose
/// rewrite would not parse is refused.
fn matches(jail: &Jail, args: &StructuralReplace) -> Result<Matched, String> {
    let wanted = match args.language.as_deref() {
        Some(name) => Some(
            structural::language_named(name)
                .ok_or_else(|| format!("`{name}` is not a language orch rewrites"))?,
        ),
        None => None,
    };
    let mut out = Matched::default();
    // One rewriter per language present (None: the pattern is invalid there).
    let mut rewriters: BTreeMap<&'static str, Option<structural::Rewriter>> = BTreeMap::new();
    let mut work: Vec<(&String, &'static str, ast_grep_language::SupportLang)> = Vec::new();
    let listed;
    let files = match &args.paths {
        // The server finds the files itself: the caller need not list
        // (and pay for) hundreds of paths.
        Some(paths) => {
            let scopes: Vec<&str> = paths
                .iter()
                .map(|p| p.trim_start_matches("./").trim_end_matches('/'))
                .filter(|p| !p.is_empty() && *p != ".")
                .collect();
            listed = project_files(jail, |relative| {
                structural::language_of(relative).is_some()
                    && (scopes.is_empty()
                        || scopes.iter().any(|s| {
                            relative == *s
                                || relative
                                    .strip_prefix(s)
                                    .is_some_and(|rest| rest.starts_with('/'))
                        }))
            });
            &listed
        }
        None => &args.files,
    };
    for relative in files {
        let Some((language, lang)) = structural::language_of(relative) else {
            continue;
        };
        let admitted = match wanted {
            None => true,
            Some("typescript") => matches!(language, "typescript" | "tsx"),
            Some(w) => w == language,
        };
        if !admitted {
            continue;
        }
        let rewriter =
            rewriters.entry(language).or_insert_with(|| {
                match structural::Rewriter::new(language, lang, &args.pattern, &args.rewrite) {
                    Ok(r) => Some(r),
                    Err(error) => {
                        out.invalid.insert(language.to_owned(), error.to_string());
                        None
                    }
                }
            });
        if rewriter.is_some() {
            work.push((relative, language, lang));
        }
    }
    out.files_scanned = work.len();
    // Every match contains the pattern's literal words: files without one
    // of them are skipped before parsing (as the ast-grep CLI does).
    // The longest (rarest) first.
    let mut words = structural::literal_words(&args.pattern);
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let mut found: Vec<Found> = crate::parallel::par_map(&work, |(relative, language, lang)| {
        let rewriter = rewriters.get(language)?.as_ref()?;
        // Most files lack the longest word: a byte search, before any
        // decoding, rules them out.
        if let Some(longest) = words.first() {
            let bytes = std::fs::read(jail.resolve(relative).ok()?).ok()?;
            memchr::memmem::find(&bytes, longest.as_bytes())?;
        }
        let source = read(jail, relative).ok()?;
        if !words.iter().all(|w| structural::has_word(&source, w)) {
            return None;
        }
        let (replacements, errors) = rewriter.replacements_and_errors(&source);
        if replacements.is_empty() {
            return None;
        }
        let (kept, refused) = structural::safe_replacements(*lang, &source, replacements, errors);
        Some((
            (*relative).clone(),
            *language,
            file_sha1(relative, &source),
            errors,
            kept,
            refused,
        ))
    })
    .into_iter()
    .flatten()
    .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    out.found = found;
    Ok(out)
}

/// Syntax error nodes (Python through orch's own parser setup).
pub(super) fn count_errors(
    lang: ast_grep_language::SupportLang,
    source: &str,
) -> Result<usize, String> {
    if lang == ast_grep_language::SupportLang::Python {
        let tree = python::parse(source).ok_or("parser failed")?;
        Ok(python::syntax_errors(&tree))
    } else {
        Ok(structural::syntax_errors(lang, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Page;
    use crate::protocol::code::decode_sites;

    fn call(
        paths: Option<Vec<String>>,
        files: &[&str],
        sites_only: bool,
        offset: usize,
    ) -> StructuralReplace {
        StructuralReplace {
            pattern: "os.path.join($A, $B)".into(),
            rewrite: "Path($A) / $B".into(),
            language: None,
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            paths,
            sites_only,
            page: Page {
                offset,
                max_files: Some(2),
                max_notes: None,
            },
        }
    }

    /// The server finds the files under `paths` itself, answers with the
    /// same places as the full edits, and pages one analysis.
    #[test]
    fn sites_are_where_the_edits_start_over_the_files_it_finds() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["pkg/a.py", "pkg/b.py", "pkg/c.py", "other/d.py"];
        for (i, name) in names.iter().enumerate() {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(
                &path,
                format!("import os\nx = os.path.join(r, 'a{i}')\ny = os.path.join(\n    os.path.join(r, 's'), n)\n"),
            )
            .unwrap();
        }
        std::fs::write(dir.path().join("pkg/none.py"), "path = 1\n").unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        let last = LastReplace::default();
        let listed = ["pkg/a.py", "pkg/b.py", "pkg/c.py"];
        let mut edits = Vec::new();
        let mut sites = Vec::new();
        let mut offset = Some(0);
        while let Some(at) = offset {
            let mut page =
                structural_replace(&jail, &last, call(None, &listed, false, at)).unwrap();
            page.expand().unwrap();
            edits.extend(page.files.into_iter().map(|f| {
                (
                    f.path,
                    f.replacements.iter().map(|e| e.start).collect::<Vec<_>>(),
                )
            }));
            offset = page.next_offset;
        }
        let mut offset = Some(0);
        while let Some(at) = offset {
            let page =
                structural_replace(&jail, &last, call(Some(vec!["pkg/".into()]), &[], true, at))
                    .unwrap();
            assert_eq!(page.files_scanned, 4, "pkg/none.py is scanned too");
            assert_eq!(page.total_matches, 6);
            for file in &page.files {
                assert!(
                    file.sha1.is_empty() && file.replacements.is_empty() && file.rows.is_empty()
                );
            }
            sites.extend(
                page.files
                    .into_iter()
                    .map(|f| (f.path, decode_sites(&f.sites).unwrap())),
            );
            offset = page.next_offset;
        }
        assert_eq!(edits.len(), 3);
        assert_eq!(sites, edits);
        // The whole project when the paths are empty.
        let all = structural_replace(&jail, &last, call(Some(Vec::new()), &[], true, 0)).unwrap();
        assert_eq!(all.total_files, 4);
    }
}
