//! The `code` server: Python definitions and rename references with
//! tree-sitter (see `crate::lang::python`), structural replace with
//! ast-grep (`crate::lang::structural`), and syntax checks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};

use super::{Jail, project_files};

pub(crate) mod asyncify;
pub(crate) mod moves;
use crate::edit::EditKind;
use crate::lang::python::{self, ModuleIndex, Parsing, rename};
use crate::lang::structural;
use crate::plan::sha1_hex;
use crate::protocol::code::{
    AddParameter, CheckResult, CheckSyntax, Cleanup, Definition, DefinitionKind, Definitions,
    DefinitionsResult, FileReplacements, FileSites, MakeAsync, Modules, ModulesResult, MoveSymbol,
    NoteOut, RemoveParameter, RenameModule, RenameOutput, RenameReferences, ReplaceOutput,
    Signature, SimilarName, SimilarNames, SimilarResult, StructuralReplace, UnusedFunctions,
    UnusedImports,
};

/// The last rename analysis, keyed by its arguments, so paging does not
/// re-analyse.
type LastAnalysis = Mutex<Option<(String, Arc<RenameOutput>)>>;

#[derive(Debug, Clone)]
pub(crate) struct CodeServer {
    jail: Jail,
    last: Arc<LastAnalysis>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl CodeServer {
    pub(crate) fn new(jail: Jail) -> Self {
        CodeServer {
            jail,
            last: Arc::new(Mutex::new(None)),
            tool_router: Self::tool_router(),
        }
    }

    /// Module-level Python function/class definitions of a name.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn definitions(
        &self,
        Parameters(args): Parameters<Definitions>,
    ) -> Result<Json<DefinitionsResult>, String> {
        let jail = self.jail.clone();
        blocking(move || Ok(definitions(&jail, &args.name, args.kind, args.focused))).await
    }

    /// Module-level names closest to a name (for "did you mean").
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn similar_names(
        &self,
        Parameters(args): Parameters<SimilarNames>,
    ) -> Result<Json<SimilarResult>, String> {
        let jail = self.jail.clone();
        blocking(move || Ok(similar_names(&jail, &args.name, args.limit.unwrap_or(5)))).await
    }

    /// Every site to edit to rename a module-level function or class, plus mentions, uncertain sites and clashes.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn rename_references(
        &self,
        Parameters(args): Parameters<RenameReferences>,
    ) -> Result<Json<RenameOutput>, String> {
        let jail = self.jail.clone();
        let last = self.last.clone();
        blocking(move || rename_references(&jail, &last, args)).await
    }

    /// Structural search and replace (ast-grep): the exact replacements for every match of a pattern.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn structural_replace(
        &self,
        Parameters(args): Parameters<StructuralReplace>,
    ) -> Result<Json<ReplaceOutput>, String> {
        let jail = self.jail.clone();
        blocking(move || structural_replace(&jail, args)).await
    }

    /// The edits that remove unused imports from Python files (in the same shape as `structural_replace`; doubtful ones are listed in `refused`).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn unused_imports(
        &self,
        Parameters(UnusedImports { cleanup: args }): Parameters<UnusedImports>,
    ) -> Result<Json<ReplaceOutput>, String> {
        let jail = self.jail.clone();
        blocking(move || Ok(unused_imports(&jail, args))).await
    }

    /// The deletions that remove a parameter from a function or method (and its overrides) and from its calls.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn remove_parameter(
        &self,
        Parameters(RemoveParameter { signature: args }): Parameters<RemoveParameter>,
    ) -> Result<Json<ReplaceOutput>, String> {
        let jail = self.jail.clone();
        blocking(move || change_signature(&jail, args, false)).await
    }

    /// The deletions of module-level private functions nothing in the project refers to (doubtful ones in `refused`).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn unused_functions(
        &self,
        Parameters(UnusedFunctions { cleanup: args }): Parameters<UnusedFunctions>,
    ) -> Result<Json<ReplaceOutput>, String> {
        let jail = self.jail.clone();
        blocking(move || Ok(unused_functions(&jail, args))).await
    }

    /// The insertions that add a parameter with a default to a function or method (and its overrides).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn add_parameter(
        &self,
        Parameters(AddParameter { signature: args }): Parameters<AddParameter>,
    ) -> Result<Json<ReplaceOutput>, String> {
        let jail = self.jail.clone();
        blocking(move || change_signature(&jail, args, true)).await
    }

    /// The insertions that make a function or method (or a module's functions) async, await their calls, and convert callers up the call graph to a boundary (already-async code, tests and `__main__` get `asyncio.run`); callers that cannot become async are listed in `problems`.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn make_async(
        &self,
        Parameters(args): Parameters<MakeAsync>,
    ) -> Result<Json<ReplaceOutput>, String> {
        let jail = self.jail.clone();
        blocking(move || asyncify::make_async(&jail, args)).await
    }

    /// The edits that move a module-level function or class to another module (created when missing): its private helpers and imports come along, imports everywhere follow; circular imports and clashes are listed in `problems`.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn move_symbol(
        &self,
        Parameters(args): Parameters<MoveSymbol>,
    ) -> Result<Json<ReplaceOutput>, String> {
        let jail = self.jail.clone();
        blocking(move || moves::move_symbol(&jail, args)).await
    }

    /// The edits that rename (or move) a Python module file: every import form follows; the file is deleted and created under the new path with its own relative imports fixed.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn rename_module(
        &self,
        Parameters(args): Parameters<RenameModule>,
    ) -> Result<Json<ReplaceOutput>, String> {
        let jail = self.jail.clone();
        blocking(move || moves::rename_module(&jail, args)).await
    }

    /// The Python modules and packages a name can mean (a path, a dotted module or a bare name such as `pricing`), with their files.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn modules(
        &self,
        Parameters(args): Parameters<Modules>,
    ) -> Result<Json<ModulesResult>, String> {
        let jail = self.jail.clone();
        blocking(move || Ok(asyncify::modules(&jail, &args.name))).await
    }

    /// Syntax error counts of source files (Python, Rust, JavaScript, TypeScript, Go).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn check_syntax(
        &self,
        Parameters(args): Parameters<CheckSyntax>,
    ) -> Result<Json<CheckResult>, String> {
        let jail = self.jail.clone();
        blocking(move || {
            let counted = crate::parallel::par_map(&args.paths, |relative| -> Result<_, String> {
                let previous = last_read()
                    .lock()
                    .ok()
                    .and_then(|seen| seen.get(relative).copied());
                let source = read(&jail, relative)?;
                Ok(match structural::language_of(relative) {
                    Some((_, ast_grep_language::SupportLang::Python)) => {
                        let words: Vec<&str> = args.focus.iter().map(String::as_str).collect();
                        // A file the analysis parsed whole (its tree is
                        // cached) was counted whole: so it is here, and
                        // incrementally.
                        let tree = match previous {
                            Some(key) if words.is_empty() || python::is_cached(key) => {
                                python::parse_edited(key, &source)
                            }
                            _ if !words.is_empty() => python::parse_focused(&source, &words),
                            _ => python::parse(&source),
                        };
                        let tree = tree.ok_or("parser failed")?;
                        Some((relative.clone(), python::syntax_errors(&tree)))
                    }
                    Some((_, lang)) => Some((relative.clone(), count_errors(lang, &source)?)),
                    None => None,
                })
            });
            let mut errors = BTreeMap::new();
            for result in counted {
                if let Some((path, count)) = result? {
                    errors.insert(path, count);
                }
            }
            Ok(CheckResult { errors })
        })
        .await
    }
}

#[tool_handler(router = self.tool_router, name = "orch-code")]
impl ServerHandler for CodeServer {}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<Json<T>, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("analysis task failed: {e}"))?
        .map(Json)
}

fn read(jail: &Jail, relative: &str) -> Result<String, String> {
    let path = jail.resolve(relative)?;
    let source =
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read `{relative}`: {e}"))?;
    if relative.ends_with(".py")
        && let Ok(mut seen) = last_read().lock()
    {
        seen.insert(relative.to_owned(), python::source_key(&source));
    }
    Ok(source)
}

/// The key ([`python::source_key`]) of each Python file's source as last
/// read, so `check_syntax` re-parses an edited file incrementally.
fn last_read() -> &'static Mutex<std::collections::HashMap<String, u64>> {
    static SEEN: std::sync::OnceLock<Mutex<std::collections::HashMap<String, u64>>> =
        std::sync::OnceLock::new();
    SEEN.get_or_init(Default::default)
}

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
            sha1_hex(source.as_bytes()),
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
            };
            (file, errors)
        },
    );
    Ok(out)
}

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
            sha1_hex(source.as_bytes()),
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
                replacements: unused.edits,
            };
            (file, errors)
        },
    );
    out
}

/// Puts page `offset..offset + max_files` of `items` (one per file with
/// edits) into `out`: files, their syntax-error counts, the total and the
/// next offset. `to_file` runs only for the items on the page.
fn page_into<T>(
    out: &mut ReplaceOutput,
    items: Vec<T>,
    offset: usize,
    max_files: Option<usize>,
    mut to_file: impl FnMut(T) -> (FileReplacements, usize),
) {
    out.total_files = items.len();
    let max_files = max_files.unwrap_or(200).max(1);
    let end = (offset + max_files).min(items.len());
    for item in items.into_iter().skip(offset).take(max_files) {
        let (file, errors) = to_file(item);
        out.parse_errors.insert(file.path.clone(), errors);
        out.files.push(file);
    }
    out.next_offset = (end < out.total_files).then_some(end);
}

impl From<rename::Note> for NoteOut {
    fn from(n: rename::Note) -> Self {
        NoteOut {
            path: n.file,
            line: n.line,
            column: n.column,
            note: n.note,
        }
    }
}

/// Every file of `files` that can be read, with its source, read in parallel.
fn read_all(jail: &Jail, files: &[String]) -> Vec<(String, String)> {
    crate::parallel::par_map(files, |relative| {
        read(jail, relative).ok().map(|s| (relative.clone(), s))
    })
    .into_iter()
    .flatten()
    .collect()
}

/// [`page_into`] for Python edits per file, hashed and error-counted from
/// `sources` (path, source).
fn page_python(
    out: &mut ReplaceOutput,
    edits: BTreeMap<String, Vec<crate::edit::Edit>>,
    sources: &[(String, String)],
    offset: usize,
    max_files: Option<usize>,
) {
    let by_path: BTreeMap<&str, &str> = sources
        .iter()
        .map(|(p, s)| (p.as_str(), s.as_str()))
        .collect();
    page_into(
        out,
        edits.into_iter().collect(),
        offset,
        max_files,
        |(path, replacements)| {
            let source = by_path.get(path.as_str()).copied().unwrap_or_default();
            let file = FileReplacements {
                sha1: sha1_hex(source.as_bytes()),
                path,
                language: "python".into(),
                replacements,
            };
            (file, python_errors(source))
        },
    );
}

/// Turns notes (uncertain sites, mentions) whose place holds `old` into
/// sites of `kind`; returns the notes that could not be placed.
fn include_notes(
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
fn python_errors(source: &str) -> usize {
    python::parse(source).map_or(0, |t| python::syntax_errors(&t))
}

/// Syntax error nodes (Python through orch's own parser setup).
fn count_errors(lang: ast_grep_language::SupportLang, source: &str) -> Result<usize, String> {
    if lang == ast_grep_language::SupportLang::Python {
        let tree = python::parse(source).ok_or("parser failed")?;
        Ok(python::syntax_errors(&tree))
    } else {
        Ok(structural::syntax_errors(lang, source))
    }
}

/// `text` on one line, shortened for a note.
fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 60 {
        format!("{}…", flat.chars().take(59).collect::<String>())
    } else {
        flat
    }
}

fn python_files(jail: &Jail) -> Vec<String> {
    project_files(jail, |p| p.ends_with(".py"))
}

/// Module-level definitions of `name` across the project (`focused`: see
/// [`Definitions::focused`]).
pub(crate) fn definitions(
    jail: &Jail,
    name: &str,
    kind: DefinitionKind,
    focused: bool,
) -> DefinitionsResult {
    let files = python_files(jail);
    let index = ModuleIndex::new(&files);
    // Only files that can hold the definition are parsed: `def NAME` for a
    // function or method, `class NAME` for a class (a continuation
    // backslash may sit between); any file naming it otherwise.
    let keyword = match kind {
        DefinitionKind::Function | DefinitionKind::Method => Some("def"),
        DefinitionKind::Class => Some("class"),
        DefinitionKind::Any | DefinitionKind::Variable => None,
    };
    let shape = keyword.and_then(|keyword| {
        regex::Regex::new(&format!(r"\b{keyword}[\s\\]+{}\b", regex::escape(name))).ok()
    });
    let candidates: Vec<(String, String)> = read_all(jail, &files)
        .into_iter()
        .filter(|(_, source)| match &shape {
            Some(shape) => shape.is_match(source),
            None => source.contains(name),
        })
        .collect();
    let mut definitions = Vec::new();
    let trees = if focused {
        crate::parallel::par_map(&candidates, |(_, source)| {
            python::parse_focused(source, &[name])
        })
    } else {
        python::parse_all(&candidates)
    };
    if kind == DefinitionKind::Method {
        for ((relative, source), tree) in candidates.iter().zip(trees) {
            let Some(tree) = tree else {
                continue;
            };
            for (class, line, column) in python::methods::classes_defining(&tree, source, name) {
                definitions.push(Definition {
                    path: relative.clone(),
                    module: index.module_of(relative).unwrap_or_default().to_owned(),
                    kind: DefinitionKind::Method,
                    line,
                    column,
                    class: Some(class),
                });
            }
        }
    } else {
        for ((relative, source), tree) in candidates.iter().zip(trees) {
            let Some(tree) = tree else {
                continue;
            };
            for definition in python::top_level_definitions(&tree, source) {
                if definition.name == name && kind.admits(DefinitionKind::named(definition.kind)) {
                    definitions.push(Definition {
                        path: relative.clone(),
                        module: index.module_of(relative).unwrap_or_default().to_owned(),
                        kind: DefinitionKind::named(definition.kind),
                        line: definition.line,
                        column: definition.column,
                        class: None,
                    });
                }
            }
        }
    }
    definitions.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    DefinitionsResult {
        definitions,
        files_scanned: files.len(),
    }
}

/// Closest module-level names by a cheap line scan (no parse needed).
pub(crate) fn similar_names(jail: &Jail, name: &str, limit: usize) -> SimilarResult {
    let mut scored: Vec<(f64, SimilarName)> = Vec::new();
    let lowered = name.to_lowercase();
    for relative in python_files(jail) {
        let Ok(source) = read(jail, &relative) else {
            continue;
        };
        for (number, line) in source.lines().enumerate() {
            let rest = line
                .strip_prefix("def ")
                .or_else(|| line.strip_prefix("async def "))
                .or_else(|| line.strip_prefix("class "));
            let Some(rest) = rest else { continue };
            let candidate: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if candidate.is_empty() {
                continue;
            }
            let score = strsim::jaro_winkler(&lowered, &candidate.to_lowercase());
            if score >= 0.75 {
                scored.push((
                    score,
                    SimilarName {
                        name: candidate,
                        path: relative.clone(),
                        line: number + 1,
                    },
                ));
            }
        }
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    let mut names: Vec<SimilarName> = Vec::new();
    for (_, candidate) in scored {
        if names.len() >= limit {
            break;
        }
        if !names.iter().any(|n| n.name == candidate.name) {
            names.push(candidate);
        }
    }
    SimilarResult { names }
}

fn rename_references(
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
    let on_page: std::collections::BTreeSet<&str> =
        page.files.iter().map(|f| f.path.as_str()).collect();
    page.parse_errors
        .retain(|path, _| on_page.contains(path.as_str()));
    // Notes travel with the first page only.
    if args.page.offset > 0 {
        page.mentions.clear();
        page.uncertain.clear();
        page.clashes.clear();
    } else {
        page.mentions.truncate(max_notes);
        page.uncertain.truncate(max_notes);
    }
    Ok(page)
}

/// Sources a function (or method) analysis needs: `files`, the defining
/// file and, for a method, every file that can hold its class hierarchy.
type Loaded = (ModuleIndex, Vec<(String, String)>, BTreeMap<String, String>);

fn load_sources(
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
        hashes.insert(relative.clone(), sha1_hex(source.as_bytes()));
        sources.push((relative, source));
    }
    Ok((index, sources, hashes))
}

/// The sites of a function or method as if renamed to `new`, its files
/// parsed as `parsing` says ([`rename::analyse_with`],
/// [`python::methods::analyse_with`]).
fn function_analysis(
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
                sha1: sha1_hex(source.as_bytes()),
                path,
                language: "python".into(),
                replacements: edits,
            };
            (file, python_errors(&source))
        },
    );
    out
}

/// Adds (`add`) or removes a parameter; edits in the `ReplaceOutput` shape.
fn change_signature(jail: &Jail, args: Signature, add: bool) -> Result<ReplaceOutput, String> {
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
    page_into(
        &mut out,
        edits.into_iter().collect(),
        args.page.offset,
        args.page.max_files,
        |(path, replacements)| {
            let errors = sources
                .iter()
                .find(|(p, _)| *p == path)
                .map_or(0, |(_, source)| python_errors(source));
            let file = FileReplacements {
                sha1: hashes.get(&path).cloned().unwrap_or_default(),
                path,
                language: "python".into(),
                replacements,
            };
            (file, errors)
        },
    );
    Ok(out)
}

fn analyse_rename(jail: &Jail, args: &RenameReferences) -> Result<RenameOutput, String> {
    let started = std::time::Instant::now();
    let (index, sources, hashes) =
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
    let analysis = function_analysis(
        &index,
        &args.definition,
        args.class.as_deref(),
        &args.name,
        function_new,
        &sources,
        parsing,
    );
    let analysis = match &args.parameter {
        Some(parameter) => {
            python::parameters::analyse(parameter, &args.new_name, &sources, &analysis)
        }
        None => analysis,
    };
    let mut analysis = analysis;
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
    let files: Vec<FileSites> = analysis
        .sites
        .iter()
        .map(|(path, sites)| FileSites {
            path: path.clone(),
            sha1: hashes.get(path).cloned().unwrap_or_default(),
            sites: sites
                .iter()
                .map(|s| (s.start, s.end, s.line, s.column, s.kind))
                .collect(),
        })
        .collect();
    let parse_errors = analysis
        .parse_errors
        .iter()
        .filter(|(path, _)| analysis.sites.contains_key(*path))
        .map(|(p, c)| (p.clone(), *c))
        .collect();
    Ok(RenameOutput {
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
    })
}
