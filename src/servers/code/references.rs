//! The `rename_references` tool: every site a rename edits, with the
//! mentions and uncertain sites it leaves alone, paged over files.

use super::*;

pub(super) fn rename_references(
    jail: &Jail,
    last: &Mutex<Option<(String, Arc<RenameOutput>)>>,
    args: RenameReferences,
) -> Result<RenameOutput, String> {
    let key = format!(
        "{}\0{}{}{}\0{}\0{}\0{}\0{}",
        args.parameter.as_deref().unwrap_or(""),
        args.include_uncertain,
        args.include_strings,
        args.class.as_deref().unwrap_or(""),
        args.definition,
        args.name,
        args.new_name,
        args.files.join("\0")
    );
    let cached = last.lock().ok().and_then(|guard| {
        guard
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
    });
    let full = match cached {
        Some(full) => full,
        None => {
            let full = Arc::new(analyse_rename(jail, &args)?);
            if let Ok(mut guard) = last.lock() {
                *guard = Some((key, full.clone()));
            }
            full
        }
    };
    let max_files = args.page.max_files.unwrap_or(usize::MAX).max(1);
    let max_notes = args.page.max_notes.unwrap_or(50);
    let mut page = (*full).clone();
    page.files = full
        .files
        .iter()
        .skip(args.page.offset)
        .take(max_files)
        .cloned()
        .collect();
    let next = args.page.offset + page.files.len();
    page.next_offset = (next < full.files.len()).then_some(next);
    if args.brief {
        page.files = page
            .files
            .iter()
            .map(|f| {
                f.brief()
                    .ok_or_else(|| format!("{}: malformed sites", f.path))
            })
            .collect::<Result<_, _>>()?;
        page.brief = true;
    }
    let on_page: std::collections::BTreeSet<&str> =
        page.files.iter().map(|f| f.path.as_str()).collect();
    page.parse_errors
        .retain(|path, _| on_page.contains(path.as_str()));
    // Notes and the defining modules travel with the first page only.
    if args.page.offset > 0 {
        page.mentions.clear();
        page.uncertain.clear();
        page.clashes.clear();
        page.target_modules.clear();
    } else {
        page.mentions.truncate(max_notes);
        page.uncertain.truncate(max_notes);
    }
    Ok(page)
}

/// Sources a function (or method) analysis needs: `files`, the defining
/// file and, for a method, every file that can hold its class hierarchy.
pub(super) type Loaded = (ModuleIndex, Vec<(String, String)>, BTreeMap<String, String>);

pub(super) fn load_sources(
    jail: &Jail,
    definition: &str,
    class: Option<&str>,
    files: &[String],
) -> Result<Loaded, String> {
    let all = python_files(jail);
    let index = ModuleIndex::new(&all);
    if index.module_of(definition).is_none() {
        return Err(format!(
            "`{definition}` is not a Python file of the project"
        ));
    }
    let mut wanted: Vec<String> = files
        .iter()
        .filter(|f| f.ends_with(".py"))
        .cloned()
        .collect();
    wanted.push(definition.to_owned());
    if class.is_none() {
        // Star imports bind names their files never mention: every module
        // that has one takes part (`from .sub import *` in a package's
        // `__init__.py` makes `pkg.NAME` the renamed function).
        // Raw bytes, no decoding or bookkeeping: most files have none.
        let stars = crate::parallel::par_map(&all, |relative| {
            let bytes = std::fs::read(jail.resolve(relative).ok()?).ok()?;
            let text = String::from_utf8_lossy(&bytes);
            (text.contains('*') && python::has_star_import(&text)).then(|| relative.clone())
        });
        wanted.extend(stars.into_iter().flatten());
    }
    // A method's hierarchy needs every file: read them once.
    let mut everything: Vec<(String, String)> = Vec::new();
    if let Some(class) = class {
        // Subclasses (and the classes between) may live in files that do
        // not mention the method.
        everything = read_all(jail, &all);
        wanted.extend(
            python::methods::hierarchy_files(class, &everything)
                .into_iter()
                .map(str::to_owned),
        );
        // Files that name the class: re-exports and instances.
        wanted.extend(
            everything
                .iter()
                .filter(|(_, source)| !python::find_word(source, class).is_empty())
                .map(|(path, _)| path.clone()),
        );
    }
    wanted.sort();
    wanted.dedup();
    let mut sources: Vec<(String, String)> = Vec::with_capacity(wanted.len());
    let mut hashes = BTreeMap::new();
    let already: BTreeMap<String, String> = everything.into_iter().collect();
    for relative in wanted {
        let source = match already.get(&relative) {
            Some(source) => source.clone(),
            None => read(jail, &relative)?,
        };
        hashes.insert(relative.clone(), file_sha1(&relative, &source));
        sources.push((relative, source));
    }
    Ok((index, sources, hashes))
}

pub(super) fn analyse_rename(jail: &Jail, args: &RenameReferences) -> Result<RenameOutput, String> {
    let started = std::time::Instant::now();
    let (index, mut sources, mut hashes) =
        load_sources(jail, &args.definition, args.class.as_deref(), &args.files)?;
    tracing::debug!(
        files = sources.len(),
        ms = started.elapsed().as_millis() as u64,
        "rename sources read"
    );
    // For a parameter, the function is analysed as if renamed to a name
    // nothing uses, to find its definitions and calls.
    let function_new = match &args.parameter {
        Some(_) => "__orch_parameter_target__",
        None => args.new_name.as_str(),
    };
    // A parameter's analysis parses the same files whole next.
    let parsing = match args.parameter {
        Some(_) => Parsing::Whole,
        None => Parsing::Focused,
    };
    let analysis = match (args.attribute, args.class.as_deref()) {
        (true, Some(class)) => python::methods::analyse_member(
            &index,
            &args.definition,
            class,
            &args.name,
            function_new,
            &sources,
            parsing,
            python::methods::Member::Attribute,
        ),
        _ => function_analysis(
            &index,
            &args.definition,
            args.class.as_deref(),
            &args.name,
            function_new,
            &sources,
            parsing,
        ),
    };
    let analysis = match &args.parameter {
        Some(parameter) => {
            python::parameters::analyse(parameter, &args.new_name, &sources, &analysis)
        }
        None => analysis,
    };
    let mut analysis = analysis;
    if args.class.is_none() && args.parameter.is_none() {
        // Type stubs are Python too: orch does not analyse them, but never
        // leaves them silently stale.
        // One walk for the stubs and the documentation.
        let (stubs, docs): (Vec<String>, Vec<String>) = project_files(jail, |p| {
            p.ends_with(".pyi") || p.ends_with(".rst") || p.ends_with(".md")
        })
        .into_iter()
        .partition(|p| p.ends_with(".pyi"));
        for (path, source) in read_all(jail, &stubs) {
            let found = python::find_word(&source, &args.name);
            if found.is_empty() {
                continue;
            }
            for at in found {
                let (line, column) = line_column(&source, at);
                analysis.accounting.uncertain += 1;
                analysis.uncertain.push(rename::Note {
                    file: path.clone(),
                    line,
                    column,
                    note: format!(
                        "`{}` in a type stub (.pyi), which orch does not analyse; check it by hand, or pass --include-uncertain",
                        args.name
                    ),
                });
            }
            hashes.insert(path.clone(), file_sha1(&path, &source));
            sources.push((path, source));
        }
        // The project's documentation names code with Sphinx roles and
        // literals: listed as mentions (`--include-strings` edits them).
        for (path, source) in read_all(jail, &docs) {
            let found = doc_mentions(&source, &args.name);
            if found.is_empty() {
                continue;
            }
            for (line, column) in found {
                analysis.mentions.push(rename::Note {
                    file: path.clone(),
                    line,
                    column,
                    note: format!("`{}` in the documentation; left alone", args.name),
                });
            }
            hashes.insert(path.clone(), file_sha1(&path, &source));
            sources.push((path, source));
        }
    }
    let old_text = args.parameter.as_deref().unwrap_or(&args.name);
    if args.include_uncertain {
        let notes = std::mem::take(&mut analysis.uncertain);
        analysis.uncertain = include_notes(
            &sources,
            &mut analysis.sites,
            notes,
            &args.name,
            EditKind::Uncertain,
        );
    }
    if args.include_strings {
        let notes = std::mem::take(&mut analysis.mentions);
        analysis.mentions = include_notes(
            &sources,
            &mut analysis.sites,
            notes,
            old_text,
            EditKind::String,
        );
    }
    // Sites travel as starts only: each must span the renamed name.
    if let Some((path, site)) = analysis.sites.iter().find_map(|(path, sites)| {
        sites
            .iter()
            .find(|s| s.end - s.start != old_text.len())
            .map(|s| (path, s))
    }) {
        return Err(format!(
            "{path}:{}: a site of `{old_text}` spans {} bytes; nothing was planned",
            site.line,
            site.end - site.start
        ));
    }
    let files: Vec<FileSites> = analysis
        .sites
        .iter()
        .map(|(path, sites)| {
            FileSites::encode(
                path.clone(),
                hashes.get(path).cloned().unwrap_or_default(),
                analysis.parse_errors.get(path).copied().unwrap_or(0),
                sites.iter().map(|s| Site {
                    start: s.start,
                    line: s.line,
                    kind: s.kind,
                }),
            )
        })
        .collect();
    let parse_errors = BTreeMap::new();
    let accounting =
        (args.class.is_none() && args.parameter.is_none()).then_some(analysis.accounting);
    Ok(RenameOutput {
        accounting,
        total_files: files.len(),
        files,
        mentions_total: analysis.mentions.len(),
        uncertain_total: analysis.uncertain.len(),
        clashes: analysis.clashes.into_iter().map(NoteOut::from).collect(),
        mentions: analysis.mentions.into_iter().map(NoteOut::from).collect(),
        uncertain: analysis.uncertain.into_iter().map(NoteOut::from).collect(),
        parse_errors,
        target_modules: analysis.target_modules,
        files_analysed: sources.len(),
        syntax_focus: analysis.syntax_focus,
        next_offset: None,
        brief: false,
    })
}

/// Where a documentation file names `name` as code: Sphinx roles
/// (``:func:`name` ``, ``:class:`~pkg.mod.name` ``; the target's last
/// part), reStructuredText literals (``` ``chunks([1], 1)`` ```) and
/// Markdown code spans (`` `pkg.name()` ``; the name as a word): the
/// (line, column) of each.
pub(super) fn doc_mentions(source: &str, name: &str) -> Vec<(usize, usize)> {
    static SPANS: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r":(?:py:)?(?:func|class|meth|attr|data|obj|exc|const|mod):`~?([A-Za-z_][\w.]*)`|``([^`]+)``|`([^`\n]+)`",
        )
        .ok()
    });
    let Some(spans) = SPANS.as_ref() else {
        return Vec::new();
    };
    if !source.contains(name) {
        return Vec::new();
    }
    let mut starts = Vec::new();
    for captures in spans.captures_iter(source) {
        if let Some(target) = captures.get(1) {
            if target.as_str().rsplit('.').next() == Some(name) {
                starts.push(target.end() - name.len());
            }
        } else if let Some(code) = captures.get(2).or_else(|| captures.get(3)) {
            starts.extend(
                python::find_word(code.as_str(), name)
                    .into_iter()
                    .map(|at| code.start() + at),
            );
        }
    }
    starts
        .into_iter()
        .map(|at| line_column(source, at))
        .collect()
}

/// The 1-based line and byte column of offset `at`.
fn line_column(source: &str, at: usize) -> (usize, usize) {
    let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
    (source[..at].matches('\n').count() + 1, at - line_start + 1)
}

/// Turns notes (uncertain sites, mentions) whose place holds `old` into
/// sites of `kind`; returns the notes that could not be placed.
pub(super) fn include_notes(
    sources: &[(String, String)],
    sites: &mut BTreeMap<String, Vec<rename::RenameSite>>,
    notes: Vec<rename::Note>,
    old: &str,
    kind: EditKind,
) -> Vec<rename::Note> {
    let mut left = Vec::new();
    for note in notes {
        let source = sources
            .iter()
            .find(|(p, _)| *p == note.file)
            .map(|(_, s)| s.as_str());
        let start = source.and_then(|source| {
            let line_start = source
                .split_inclusive('\n')
                .take(note.line.saturating_sub(1))
                .map(str::len)
                .sum::<usize>();
            let start = line_start + note.column.saturating_sub(1);
            source
                .get(start..start + old.len())
                .filter(|found| *found == old)
                .map(|_| start)
        });
        match start {
            Some(start) => {
                let entry = sites.entry(note.file.clone()).or_default();
                if !entry.iter().any(|s| s.start == start) {
                    entry.push(rename::RenameSite {
                        start,
                        end: start + old.len(),
                        line: note.line,
                        column: note.column,
                        kind,
                    });
                    entry.sort_by_key(|s| s.start);
                }
            }
            None => left.push(note),
        }
    }
    left
}

/// Syntax error nodes of Python source (0 if the parser gave up).
pub(super) fn python_errors(source: &str) -> usize {
    python::parse(source).map_or(0, |t| python::syntax_errors(&t))
}

#[cfg(test)]
mod tests {
    use super::doc_mentions;

    #[test]
    fn documentation_names_code_in_roles_literals_and_code_spans() {
        let rst = "Use :func:`chunked` or :py:func:`~pkg.more.chunked`.\n``pkg.chunked()`` and ``chunked_even`` differ;\nchunked in prose, `chunked` in markdown, :class:`Chunked`.\n";
        assert_eq!(
            doc_mentions(rst, "chunked"),
            [(1, 12), (1, 44), (2, 7), (3, 20)]
        );
        assert_eq!(
            doc_mentions("``chunked([1], 1)`` and ``x = chunked``\n", "chunked"),
            [(1, 3), (1, 31)]
        );
    }
}
