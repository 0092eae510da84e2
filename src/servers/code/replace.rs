//! The `structural_replace` tool: ast-grep matches and their rewrites,
//! minus those that would not parse.

use super::*;

/// The replacements for a pattern over `args.files`, paged by file. Files
/// are matched on all cores; a match whose rewrite would not parse is left
/// out and listed in `refused`.
pub(crate) fn structural_replace(
    jail: &Jail,
    args: StructuralReplace,
) -> Result<ReplaceOutput, String> {
    let wanted = match args.language.as_deref() {
        Some(name) => Some(
            structural::language_named(name)
                .ok_or_else(|| format!("`{name}` is not a language orch rewrites"))?,
        ),
        None => None,
    };
    let mut out = ReplaceOutput::default();
    // One rewriter per language present (None: the pattern is invalid there).
    let mut rewriters: BTreeMap<&'static str, Option<structural::Rewriter>> = BTreeMap::new();
    let mut work: Vec<(&String, &'static str, ast_grep_language::SupportLang)> = Vec::new();
    for relative in &args.files {
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
    type Found = (
        String,
        &'static str,
        String,
        usize,
        Vec<crate::edit::Edit>,
        Vec<structural::Refused>,
    );
    // Every match contains the pattern's literal words: files without one
    // of them are skipped before parsing (as the ast-grep CLI does).
    let words = structural::literal_words(&args.pattern);
    let mut found: Vec<Found> = crate::parallel::par_map(&work, |(relative, language, lang)| {
        let rewriter = rewriters.get(language)?.as_ref()?;
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
    let max_notes = args.page.max_notes.unwrap_or(25);
    for (relative, _, _, _, _, refused) in &found {
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
    let with_matches: Vec<Found> = found.into_iter().filter(|f| !f.4.is_empty()).collect();
    out.total_matches = with_matches.iter().map(|f| f.4.len()).sum();
    page_into(
        &mut out,
        with_matches,
        args.page.offset,
        args.page.max_files,
        |(path, language, sha1, errors, replacements, _)| {
            let file = FileReplacements {
                path,
                sha1,
                language: language.to_owned(),
                replacements,
                rows: Vec::new(),
                errors: 0,
            };
            (file, errors)
        },
    );
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
