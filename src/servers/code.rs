//! The `code` server: Python definitions, rename references and syntax
//! checks with tree-sitter (see `crate::lang::python`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Jail, project_files};
use crate::lang::python::{self, ModuleIndex, rename};
use crate::plan::sha1_hex;

/// The last rename analysis, keyed by its arguments, so paging does not
/// re-analyse.
type LastAnalysis = Mutex<Option<(String, Arc<RenameOutput>)>>;

#[derive(Debug, Clone)]
pub struct CodeServer {
    jail: Jail,
    last: Arc<LastAnalysis>,
    tool_router: ToolRouter<Self>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct DefinitionsArgs {
    pub name: String,
    /// `any`, `function` or `class`.
    #[serde(default)]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Definition {
    pub path: String,
    pub module: String,
    pub kind: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DefinitionsResult {
    pub definitions: Vec<Definition>,
    pub files_scanned: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct SimilarArgs {
    pub name: String,
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SimilarResult {
    /// Closest module-level function and class names, best first.
    pub names: Vec<SimilarName>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SimilarName {
    pub name: String,
    pub path: String,
    pub line: usize,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct RenameArgs {
    /// File that defines the name.
    pub definition: String,
    pub name: String,
    pub new_name: String,
    /// Files that may refer to the name (every file that contains it).
    pub files: Vec<String>,
    /// Paging over the files with sites.
    #[serde(default)]
    pub offset: usize,
    #[serde(default)]
    pub max_files: Option<usize>,
    /// Most mentions/uncertain notes listed.
    #[serde(default)]
    pub max_notes: Option<usize>,
}

/// Sites of one file: `[start, end, line, column, kind]`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FileSites {
    pub path: String,
    pub sha1: String,
    pub sites: Vec<(usize, usize, usize, usize, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct NoteOut {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub note: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct RenameOutput {
    pub files: Vec<FileSites>,
    pub clashes: Vec<NoteOut>,
    pub mentions: Vec<NoteOut>,
    pub uncertain: Vec<NoteOut>,
    pub mentions_total: usize,
    pub uncertain_total: usize,
    /// Syntax error counts (before the edit) of the files with sites.
    pub parse_errors: BTreeMap<String, usize>,
    /// Files that define or re-export the name.
    pub target_modules: Vec<String>,
    pub files_analysed: usize,
    /// Files with sites in all pages.
    pub total_files: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CheckArgs {
    pub paths: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// File -> number of syntax error nodes.
    pub errors: BTreeMap<String, usize>,
}

#[tool_router]
impl CodeServer {
    pub fn new(jail: Jail) -> Self {
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
        Parameters(args): Parameters<DefinitionsArgs>,
    ) -> Result<Json<DefinitionsResult>, String> {
        let jail = self.jail.clone();
        blocking(move || {
            Ok(definitions(
                &jail,
                &args.name,
                args.kind.as_deref().unwrap_or("any"),
            ))
        })
        .await
    }

    /// Module-level names closest to a name (for "did you mean").
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn similar_names(
        &self,
        Parameters(args): Parameters<SimilarArgs>,
    ) -> Result<Json<SimilarResult>, String> {
        let jail = self.jail.clone();
        blocking(move || Ok(similar_names(&jail, &args.name, args.limit.unwrap_or(5)))).await
    }

    /// Every site to edit to rename a module-level function or class, plus mentions, uncertain sites and clashes.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn rename_references(
        &self,
        Parameters(args): Parameters<RenameArgs>,
    ) -> Result<Json<RenameOutput>, String> {
        let jail = self.jail.clone();
        let last = self.last.clone();
        blocking(move || rename_references(&jail, &last, args)).await
    }

    /// Syntax error counts of Python files.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn check_syntax(
        &self,
        Parameters(args): Parameters<CheckArgs>,
    ) -> Result<Json<CheckResult>, String> {
        let jail = self.jail.clone();
        blocking(move || {
            let mut errors = BTreeMap::new();
            for relative in args.paths {
                let source = read(&jail, &relative)?;
                let tree = python::parse(&source).ok_or("parser failed")?;
                errors.insert(relative, python::syntax_errors(&tree));
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
    std::fs::read_to_string(&path).map_err(|e| format!("cannot read `{relative}`: {e}"))
}

fn python_files(jail: &Jail) -> Vec<String> {
    project_files(jail, |p| p.ends_with(".py"))
}

/// Module-level definitions of `name` across the project.
pub fn definitions(jail: &Jail, name: &str, kind: &str) -> DefinitionsResult {
    let files = python_files(jail);
    let index = ModuleIndex::new(&files);
    let mut definitions = Vec::new();
    for relative in &files {
        let Ok(source) = read(jail, relative) else {
            continue;
        };
        if !source.contains(name) {
            continue;
        }
        let Some(tree) = python::parse(&source) else {
            continue;
        };
        for definition in python::top_level_definitions(&tree, &source) {
            if definition.name == name && (kind == "any" || kind == definition.kind) {
                definitions.push(Definition {
                    path: relative.clone(),
                    module: index.module_of(relative).unwrap_or_default().to_owned(),
                    kind: definition.kind.to_owned(),
                    line: definition.line,
                    column: definition.column,
                });
            }
        }
    }
    DefinitionsResult {
        definitions,
        files_scanned: files.len(),
    }
}

/// Closest module-level names by a cheap line scan (no parse needed).
pub fn similar_names(jail: &Jail, name: &str, limit: usize) -> SimilarResult {
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
    args: RenameArgs,
) -> Result<RenameOutput, String> {
    let key = format!(
        "{}\0{}\0{}\0{}",
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
    let max_files = args.max_files.unwrap_or(usize::MAX).max(1);
    let max_notes = args.max_notes.unwrap_or(50);
    let mut page = (*full).clone();
    page.files = full
        .files
        .iter()
        .skip(args.offset)
        .take(max_files)
        .cloned()
        .collect();
    let next = args.offset + page.files.len();
    page.next_offset = (next < full.files.len()).then_some(next);
    let on_page: std::collections::BTreeSet<&str> =
        page.files.iter().map(|f| f.path.as_str()).collect();
    page.parse_errors
        .retain(|path, _| on_page.contains(path.as_str()));
    // Notes travel with the first page only.
    if args.offset > 0 {
        page.mentions.clear();
        page.uncertain.clear();
        page.clashes.clear();
    } else {
        page.mentions.truncate(max_notes);
        page.uncertain.truncate(max_notes);
    }
    Ok(page)
}

fn analyse_rename(jail: &Jail, args: &RenameArgs) -> Result<RenameOutput, String> {
    let all = python_files(jail);
    let index = ModuleIndex::new(&all);
    if index.module_of(&args.definition).is_none() {
        return Err(format!(
            "`{}` is not a Python file of the project",
            args.definition
        ));
    }
    let mut wanted: Vec<String> = args
        .files
        .iter()
        .filter(|f| f.ends_with(".py"))
        .cloned()
        .collect();
    if !wanted.contains(&args.definition) {
        wanted.push(args.definition.clone());
    }
    wanted.sort();
    wanted.dedup();
    let mut sources = Vec::with_capacity(wanted.len());
    let mut hashes = BTreeMap::new();
    for relative in wanted {
        let source = read(jail, &relative)?;
        hashes.insert(relative.clone(), sha1_hex(source.as_bytes()));
        sources.push((relative, source));
    }
    let analysis = rename::analyse(
        &index,
        &args.definition,
        &args.name,
        &args.new_name,
        &sources,
    );
    let note = |n: rename::Note| NoteOut {
        path: n.file,
        line: n.line,
        column: n.column,
        note: n.note,
    };
    let files: Vec<FileSites> = analysis
        .sites
        .iter()
        .map(|(path, sites)| FileSites {
            path: path.clone(),
            sha1: hashes.get(path).cloned().unwrap_or_default(),
            sites: sites
                .iter()
                .map(|s| (s.start, s.end, s.line, s.column, s.kind.clone()))
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
        clashes: analysis.clashes.into_iter().map(note).collect(),
        mentions: analysis.mentions.into_iter().map(note).collect(),
        uncertain: analysis.uncertain.into_iter().map(note).collect(),
        parse_errors,
        target_modules: analysis.target_modules,
        files_analysed: sources.len(),
        next_offset: None,
    })
}
