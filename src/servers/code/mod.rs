//! The `code` server: Python definitions and rename references with
//! tree-sitter (see `crate::lang::python`), structural replace with
//! ast-grep (`crate::lang::structural`), and syntax checks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};

use super::{Jail, project_files};

use crate::edit::EditKind;
use crate::lang::python::{self, ModuleIndex, Parsing, rename};
use crate::lang::structural;
use crate::plan::sha1_hex;
use crate::protocol::code::{
    AddParameter, CheckResult, CheckSyntax, Cleanup, Definition, DefinitionKind, Definitions,
    DefinitionsResult, FileReplacements, FileSites, MakeAsync, Modules, ModulesResult, MoveSymbol,
    NoteOut, RemoveParameter, RenameModule, RenameOutput, RenameReferences, ReorderParameters,
    ReplaceOutput, Signature, SimilarName, SimilarNames, SimilarResult, Site, StructuralReplace,
    TestImpact, TestImpactOutput, UnusedFunctions, UnusedImports, encode_sites,
};

pub(crate) mod asyncify;
mod cleanup;
mod definitions;
mod modules;
pub(crate) mod moves;
mod references;
mod replace;
mod signature;

pub(crate) use cleanup::*;
pub(crate) use definitions::*;
use references::*;
pub(crate) use replace::*;
use signature::*;

/// The last rename analysis, keyed by its arguments, so paging does not
/// re-analyse.
type LastAnalysis = Mutex<Option<(String, Arc<RenameOutput>)>>;

#[derive(Debug, Clone)]
pub(crate) struct CodeServer {
    jail: Jail,
    last: Arc<LastAnalysis>,
    last_replace: Arc<LastReplace>,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl CodeServer {
    pub(crate) fn new(jail: Jail) -> Self {
        CodeServer {
            jail,
            last: Arc::new(Mutex::new(None)),
            last_replace: Arc::new(Mutex::new(None)),
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
        let last = self.last_replace.clone();
        blocking(move || structural_replace(&jail, &last, args)).await
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

    /// The edits that reorder a function's or method family's positional parameters (move one before or after another, or swap two) in the definitions and at every call; calls orch cannot tie to it or that pass `*args` are listed in `problems`.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn reorder_parameters(
        &self,
        Parameters(args): Parameters<ReorderParameters>,
    ) -> Result<Json<ReplaceOutput>, String> {
        let jail = self.jail.clone();
        blocking(move || signature::reorder_parameters(&jail, args)).await
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

    /// The project's test files in tiers for a change: a (edited, mentioning an old name, under a changed conftest or fixture, doctests of changed modules), b (importing a changed module or named after it), c (in its import closure), and how many are left (d).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn test_impact(
        &self,
        Parameters(args): Parameters<TestImpact>,
    ) -> Result<Json<TestImpactOutput>, String> {
        let jail = self.jail.clone();
        blocking(move || Ok(test_impact(&jail, &args))).await
    }

    /// The Python modules and packages a name can mean (a path, a dotted module or a bare name such as `pricing`), with their files.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn modules(
        &self,
        Parameters(args): Parameters<Modules>,
    ) -> Result<Json<ModulesResult>, String> {
        let jail = self.jail.clone();
        blocking(move || Ok(modules::modules(&jail, &args.name))).await
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
                    .and_then(|seen| seen.get(relative).map(|(key, _)| *key));
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
            let mut clean = 0;
            for result in counted {
                if let Some((path, count)) = result? {
                    if count == 0 && args.omit_clean {
                        clean += 1;
                    } else {
                        errors.insert(path, count);
                    }
                }
            }
            Ok(CheckResult { errors, clean })
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

/// A project file's text: Python sources in the encoding they declare
/// (PEP 263), other files as UTF-8.
fn read(jail: &Jail, relative: &str) -> Result<String, String> {
    let path = jail.resolve(relative)?;
    if !relative.ends_with(".py") {
        return std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read `{relative}`: {e}"));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read `{relative}`: {e}"))?;
    let (source, _) = python::encoding::decode(&bytes).map_err(|e| format!("`{relative}` {e}"))?;
    if let Ok(mut seen) = last_read().lock() {
        seen.insert(
            relative.to_owned(),
            (python::source_key(&source), sha1_hex(&bytes)),
        );
    }
    Ok(source)
}

/// Per Python file as last read: the key ([`python::source_key`]) of its
/// text, so `check_syntax` re-parses an edited file incrementally, and the
/// SHA-1 of its bytes (which differ from the text's in Latin-1 files).
type LastRead = std::collections::HashMap<String, (u64, String)>;

fn last_read() -> &'static Mutex<LastRead> {
    static SEEN: std::sync::OnceLock<Mutex<LastRead>> = std::sync::OnceLock::new();
    SEEN.get_or_init(Default::default)
}

/// The SHA-1 of a file's bytes, for its text `source` as read: what
/// `hash_files` and an edit's preimage check compute.
fn file_sha1(relative: &str, source: &str) -> String {
    let key = python::source_key(source);
    last_read()
        .lock()
        .ok()
        .and_then(|seen| {
            seen.get(relative)
                .filter(|(seen_key, _)| *seen_key == key)
                .map(|(_, sha1)| sha1.clone())
        })
        .unwrap_or_else(|| sha1_hex(source.as_bytes()))
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
    // Positions as deltas, texts over a string table: a page of hundreds
    // of similar rewrites costs a fraction of the edits spelt out.
    out.compact();
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
            let sha1 = file_sha1(&path, source);
            let file = FileReplacements {
                sha1,
                path,
                language: "python".into(),
                sites: String::new(),
                replacements,
                rows: Vec::new(),
                errors: 0,
            };
            (file, python_errors(source))
        },
    );
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

/// The `test_impact` tool: every Python file is read (the import graph
/// needs them all) and the pytest configuration is checked for doctests.
fn test_impact(jail: &Jail, args: &TestImpact) -> TestImpactOutput {
    let started = std::time::Instant::now();
    let files = read_all(jail, &python_files(jail));
    tracing::debug!(
        files = files.len(),
        ms = started.elapsed().as_millis() as u64,
        "test impact: files read"
    );
    let index = ModuleIndex::new(files.iter().map(|(p, _)| p.as_str()));
    let doctests = ["pytest.ini", "pyproject.toml", "setup.cfg", "tox.ini"]
        .iter()
        .filter_map(|name| read(jail, name).ok())
        .any(|text| text.contains("--doctest-modules"));
    let mut out = TestImpactOutput {
        doctests,
        ..TestImpactOutput::default()
    };
    let cache = crate::cache::Cache::open_default();
    let change = python::impact::Change {
        changed: &args.changed,
        edited: &args.edited,
        old_names: &args.old_names,
        calls: args.calls.as_ref(),
    };
    let tiers = python::impact::tiers(&index, &files, &change, doctests, cache.as_ref());
    tracing::debug!(
        ms = started.elapsed().as_millis() as u64,
        "test impact: tiered"
    );
    let mut all_tests = Vec::new();
    let mut by_tier: [Vec<String>; 3] = Default::default();
    for tiered in tiers {
        let counted = !python::names::is_test_file(&tiered.path)
            || python::names::is_pytest_file(&tiered.path);
        if counted {
            match tiered.tier {
                'a' => out.a += 1,
                'b' => out.b += 1,
                'c' => out.c += 1,
                _ => out.d += 1,
            }
        }
        if !python::names::is_test_file(&tiered.path) {
            // A changed module whose doctests run: a path of its own.
            out.tier_a.push(tiered.path);
            continue;
        }
        // Helpers of the test suite (`tests/models.py`) are tiered (they
        // lead to tests) but not selected: pytest collects no tests there.
        if !python::names::is_pytest_file(&tiered.path) {
            continue;
        }
        if !tiered.tests.is_empty() {
            // Some of its tests in tier a, the rest where the file is.
            out.split += 1;
            out.a += 1;
            match tiered.tier {
                'c' => out.c = out.c.saturating_sub(1),
                _ => out.d = out.d.saturating_sub(1),
            }
            by_tier[0].extend(tiered.tests);
        }
        if let Some(i) = "abc".find(tiered.tier) {
            by_tier[i].push(tiered.path.clone());
        }
        all_tests.push(tiered.path);
    }
    let [a, b, c] = by_tier;
    out.tier_a.extend(python::impact::compress(&a, &all_tests));
    out.tier_b = python::impact::compress(&b, &all_tests);
    out.tier_c = python::impact::compress(&c, &all_tests);
    out
}
