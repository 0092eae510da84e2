//! MAP: find the code a command is about, through the `code` and `search`
//! servers: for a rename, the definitions of the name and every Python file
//! that mentions it (searched in parallel); for a structural replace, every
//! file of the pattern's languages (in the scope) that contains the
//! pattern's most selective literal word.

use serde::{Deserialize, Serialize};

pub(crate) mod entity;

use super::{Context, Failure, StopReason, page_size};
use crate::intent::{Cleanup, Intent, Rename, Replace};
use crate::protocol::code::{Definition, DefinitionKind, Definitions, ModuleMatch, Modules};
use crate::protocol::search::Search;

/// What MAP found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RepoMap {
    /// Module-level definitions of the old name (of the requested kind).
    pub definitions: Vec<Definition>,
    /// Python files whose text contains the old name as a word.
    pub candidates: Vec<String>,
    /// For a cleanup: every project file with imports (they may import
    /// from the candidates).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub importers: Vec<String>,
    /// Matches of the word (for a structural replace: files with the
    /// pattern's longest word, which the `code` server lists itself).
    pub textual_matches: usize,
    pub files_searched: usize,
    pub search_pages: usize,
    /// The project's test files, when MAP could count them.
    #[serde(skip)]
    pub test_files: Option<usize>,
    /// For a move: the target module's path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

pub(crate) async fn run(ctx: &Context, intent: &Intent) -> Result<RepoMap, Failure> {
    ctx.memory
        .admit(ctx.deadline.at(), |used, threshold| {
            ctx.printer.warn(&format!(
                "waiting: orch and its servers use {:.0}% of RAM, threshold {:.0}%",
                used * 100.0,
                threshold * 100.0
            ));
        })
        .await;
    // The project's test files, which MONTE CARLO and OPTIMIZE weigh, are
    // counted by the search server while this phase's own calls run. A
    // failure here is not this phase's: the count is left to them.
    let (map, test_files) = tokio::join!(map_intent(ctx, intent), count_test_files(ctx));
    let mut map = map?;
    map.test_files = test_files.ok();
    Ok(map)
}

/// Counts the project's test files (`def test_…` / `class Test…` in a
/// Python file) through the `search` server, in one small page.
pub(crate) async fn count_test_files(ctx: &Context) -> Result<usize, Failure> {
    let result = ctx
        .pool
        .request(&Search {
            regex: true,
            extensions: vec![".py".to_owned()],
            files_only: true,
            first_per_file: true,
            max_results: 1,
            ..Search::new(r"^\s*(async\s+)?def test_|^class Test")
        })
        .await?;
    Ok(result.total)
}

async fn map_intent(ctx: &Context, intent: &Intent) -> Result<RepoMap, Failure> {
    match intent {
        Intent::Rename(rename) => {
            let focused = rename.symbol != crate::intent::SymbolKind::Parameter;
            map_rename(ctx, rename, focused).await
        }
        Intent::Replace(replace) => map_replace(ctx, replace).await,
        Intent::RemoveUnusedImports(cleanup) => map_cleanup(ctx, cleanup).await,
        Intent::AddParameter(add) => map_rename(ctx, &add.lookup(), false).await,
        Intent::RemoveUnusedFunctions(cleanup) => map_cleanup(ctx, cleanup).await,
        Intent::RemoveParameter(remove) => map_rename(ctx, &remove.lookup(), false).await,
        Intent::SafeDelete(delete) => map_rename(ctx, &delete.lookup(), true).await,
        Intent::ReorderParameters(reorder) => map_rename(ctx, &reorder.lookup(), false).await,
        Intent::InlineVariable(inline) => map_rename(ctx, &inline.lookup(), true).await,
        Intent::InlineFunction(inline) => map_rename(ctx, &inline.lookup(), true).await,
        Intent::Extract(request) => match (request.lookup(), &request.path) {
            (Some(lookup), _) => map_rename(ctx, &lookup, true).await,
            (None, Some(path)) => {
                let found = resolve_module(ctx, path).await?;
                if found.package {
                    return Err(Failure::input(
                        format!("`{path}` is a package ({}): name a file", found.path),
                        None,
                    ));
                }
                Ok(RepoMap {
                    definitions: Vec::new(),
                    files_searched: 1,
                    candidates: vec![found.path],
                    importers: Vec::new(),
                    textual_matches: 0,
                    search_pages: 0,
                    test_files: None,
                    target: None,
                })
            }
            (None, None) => Err(Failure::input("nothing to extract", None)),
        },
        Intent::MakeAsync(make) => match (make.lookup(), &make.module) {
            (Some(lookup), _) => map_rename(ctx, &lookup, false).await,
            (None, Some(module)) => {
                let found = resolve_module(ctx, module).await?;
                let candidates: Vec<String> = found
                    .files
                    .into_iter()
                    .filter(|f| !crate::lang::python::names::is_test_file(f))
                    .collect();
                Ok(RepoMap {
                    definitions: Vec::new(),
                    files_searched: candidates.len(),
                    candidates,
                    importers: Vec::new(),
                    textual_matches: 0,
                    search_pages: 0,
                    test_files: None,
                    target: None,
                })
            }
            (None, None) => Err(Failure::input("nothing to make async", None)),
        },
        Intent::RenameModule(request) => {
            let found = resolve_module(ctx, &request.old).await?;
            if found.package {
                return Err(Failure::input(
                    format!(
                        "`{}` is a package ({}); orch renames module files",
                        request.old, found.path
                    ),
                    Some(format!(
                        "name one of its modules, e.g. `{}`",
                        found.files.first().cloned().unwrap_or_default()
                    )),
                ));
            }
            let dir = found.path.rsplit_once('/').map_or("", |(d, _)| d);
            let new = request.new.trim().trim_start_matches("./");
            // A bare name stays in the module's directory.
            let target = if crate::lang::python::names::is_identifier(new) {
                let file = format!("{new}.py");
                resolve_target(
                    ctx,
                    &if dir.is_empty() {
                        file
                    } else {
                        format!("{dir}/{file}")
                    },
                )
                .await?
            } else {
                resolve_target(ctx, new).await?
            };
            let existing = ctx
                .pool
                .request(&Modules {
                    name: target.to_owned(),
                })
                .await?;
            if !existing.matches.is_empty() {
                return Err(Failure::input(
                    format!("`{target}` exists already; orch does not merge modules"),
                    Some("choose a new name, or move the definitions one by one with `move NAME to MODULE`".into()),
                ));
            }
            Ok(RepoMap {
                definitions: Vec::new(),
                candidates: vec![found.path],
                importers: Vec::new(),
                textual_matches: 0,
                files_searched: 1,
                search_pages: 0,
                test_files: None,
                target: Some(target),
            })
        }
        Intent::Move(request) => {
            let target = resolve_target(ctx, &request.to).await?;
            let mut map = map_rename(ctx, &request.lookup(), false).await?;
            map.target = Some(target);
            Ok(map)
        }
    }
}

/// A move's target: a `.py` path (which may not exist yet, but its
/// directory must), an existing module's name, or `pkg.new` for a new
/// module in an existing package.
async fn resolve_target(ctx: &Context, to: &str) -> Result<String, Failure> {
    let to = to.trim().trim_start_matches("./");
    if to.ends_with(".py") {
        // An existing module, by its path or a unique path suffix
        // (`util.py`, or `pkg/util.py` in a `src/` layout).
        let existing = ctx
            .pool
            .request(&Modules {
                name: to.to_owned(),
            })
            .await?;
        match existing.matches.as_slice() {
            [one] => return Ok(one.path.clone()),
            [] => {}
            many => {
                return Err(Failure::input(
                    format!(
                        "`{to}` could be any of:\n{}",
                        many.iter()
                            .map(|m| format!("  {}", m.path))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ),
                    Some("name the target by its full path".into()),
                ));
            }
        }
        // A new module: its directory must exist (also by a path suffix).
        let Some((dir, file)) = to.rsplit_once('/') else {
            return Ok(to.to_owned());
        };
        let found = ctx
            .pool
            .request(&Modules {
                name: format!("{dir}/"),
            })
            .await?;
        return match found.matches.as_slice() {
            [one] => Ok(format!("{}/{file}", one.path.trim_end_matches('/'))),
            [] => Err(Failure::input(
                format!("the directory `{dir}` of the target `{to}` has no Python files"),
                Some("create the package first, or move into an existing directory".into()),
            )),
            many => Err(Failure::input(
                format!(
                    "the directory `{dir}` of the target `{to}` could be any of:\n{}",
                    many.iter()
                        .map(|m| format!("  {}", m.path))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
                Some("name the target by its full path".into()),
            )),
        };
    }
    let found = ctx
        .pool
        .request(&Modules {
            name: to.to_owned(),
        })
        .await?;
    match found.matches.as_slice() {
        [one] if !one.package => return Ok(one.path.clone()),
        [one] => {
            return Err(Failure::input(
                format!("`{to}` is a package ({}), not a module", one.path),
                Some(format!("name a module, e.g. `{}{}.py`", one.path, "NAME")),
            ));
        }
        [] => {}
        _ => return resolve_module(ctx, to).await.map(|m| m.path),
    }
    // `pkg.new`: a new module in an existing package.
    if let Some((package, module)) = to.rsplit_once('.')
        && crate::lang::python::names::is_identifier(module)
    {
        let parent = ctx
            .pool
            .request(&Modules {
                name: package.to_owned(),
            })
            .await?;
        if let [one] = parent.matches.as_slice()
            && one.package
        {
            return Ok(format!("{}{module}.py", one.path));
        }
    }
    Err(Failure::input(
        format!("no Python module `{to}` in this project"),
        Some(if found.similar.is_empty() {
            "name the target as a path (`pkg/new_module.py` is created when missing)".to_owned()
        } else {
            format!(
                "closest modules: {}; a new module is named by its path (`pkg/new_module.py`)",
                found.similar.join(", ")
            )
        }),
    ))
}

/// The one module or package `name` means (a path, a dotted name or a bare
/// name like `pricing`); several or none is an input error that lists them.
pub(crate) async fn resolve_module(ctx: &Context, name: &str) -> Result<ModuleMatch, Failure> {
    ctx.printer
        .progress(&format!("resolving the module `{name}`"));
    let found = ctx
        .pool
        .request(&Modules {
            name: name.to_owned(),
        })
        .await?;
    let mut matches = found.matches;
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(Failure::input(
            format!("no Python module or package `{name}` in this project"),
            (!found.similar.is_empty())
                .then(|| format!("closest modules: {}", found.similar.join(", "))),
        )),
        _ => {
            let list: Vec<String> = matches
                .iter()
                .map(|m| {
                    format!(
                        "  {} ({} `{}`)",
                        m.path,
                        if m.package { "package" } else { "module" },
                        m.module
                    )
                })
                .collect();
            Err(Failure::input(
                format!(
                    "`{name}` could mean more than one module:\n{}",
                    list.join("\n")
                ),
                Some(format!(
                    "name one by its path or dotted name, e.g. `{}`",
                    matches[0].path
                )),
            ))
        }
    }
}

async fn map_cleanup(ctx: &Context, cleanup: &Cleanup) -> Result<RepoMap, Failure> {
    let paths = scope_paths(cleanup.scope.as_deref());
    ctx.printer.progress("listing Python files with imports");
    let query = Query {
        pattern: "import".into(),
        regex: false,
        word: true,
    };
    let python = [".py".to_owned()];
    // The whole project: files outside the scope may import from it.
    let (importers, textual_matches, _, search_pages) =
        search_files(ctx, &query, &python, &[]).await?;
    let in_scope = |file: &String| {
        paths.is_empty()
            || paths
                .iter()
                .any(|p| file == p || file.starts_with(&format!("{p}/")))
    };
    let candidates: Vec<String> = importers.iter().filter(|f| in_scope(f)).cloned().collect();
    let files_searched = if paths.is_empty() {
        importers.len()
    } else {
        candidates.len()
    };
    if files_searched == 0 {
        return Err(Failure::input(
            match &cleanup.scope {
                Some(scope) => {
                    format!("no Python files with imports under `{scope}` in this project")
                }
                None => "no Python files with imports in this project".to_owned(),
            },
            None,
        ));
    }
    Ok(RepoMap {
        definitions: Vec::new(),
        candidates,
        importers,
        textual_matches,
        files_searched,
        search_pages,
        test_files: None,
        target: None,
    })
}

/// A scope clause as the search server's `paths`.
pub(crate) fn scope_paths(scope: Option<&str>) -> Vec<String> {
    scope
        .iter()
        .map(|s| s.trim_start_matches("./").trim_end_matches('/').to_owned())
        .filter(|s| !s.is_empty() && s != ".")
        .collect()
}

async fn map_replace(ctx: &Context, replace: &Replace) -> Result<RepoMap, Failure> {
    let extensions = crate::lang::structural::extensions(replace.language.as_deref());
    let paths = scope_paths(replace.scope.as_deref());
    let anchor = anchor_word(&replace.pattern);
    ctx.printer.progress(&match &anchor {
        Some(word) => format!("searching for files with `{word}`"),
        None => "listing source files".to_owned(),
    });
    let query = match &anchor {
        Some(word) => Query {
            pattern: word.clone(),
            regex: false,
            word: true,
        },
        None => Query {
            pattern: r"\S".into(),
            regex: true,
            word: false,
        },
    };
    // How many files there are and how many have the word: the `code`
    // server lists them itself for LOGIC, so hundreds of paths need not
    // pass through here (Django has 441 files naming `path`).
    let result = ctx
        .pool
        .request(&Search {
            regex: query.regex,
            word: query.word,
            extensions: extensions.clone(),
            paths: paths.clone(),
            files_only: true,
            first_per_file: true,
            max_results: 1,
            ..Search::new(query.pattern.clone())
        })
        .await?;
    let (textual_matches, files_searched) = (result.total, result.files_searched);
    if files_searched == 0 {
        let what = replace.language.as_deref().unwrap_or("source");
        return Err(Failure::input(
            match &replace.scope {
                Some(scope) => format!("no {what} files under `{scope}` in this project"),
                None => format!("no {what} files in this project"),
            },
            Some(
                "orch rewrites Python, Rust, JavaScript, TypeScript and Go; name a directory or file that has some with `in PATH`"
                    .into(),
            ),
        ));
    }
    Ok(RepoMap {
        definitions: Vec::new(),
        candidates: Vec::new(),
        importers: Vec::new(),
        textual_matches,
        files_searched,
        search_pages: 1,
        test_files: None,
        target: None,
    })
}

/// The longest identifier in a pattern that is not a metavariable: every
/// match contains it, so only files with it need parsing.
pub(crate) fn anchor_word(pattern: &str) -> Option<String> {
    let mut best: Option<&str> = None;
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == b'$' {
            while i < bytes.len()
                && (bytes[i] == b'$' || bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_')
            {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &pattern[start..i];
            if best.is_none_or(|b| word.len() > b.len()) {
                best = Some(word);
            }
            continue;
        }
        i += 1;
    }
    best.map(str::to_owned)
}

/// `focused`: LOGIC will parse only the statements that matter (a rename
/// of anything but a parameter), so the definition's file need not be
/// parsed whole (and cached) here either.
async fn map_rename(ctx: &Context, rename: &Rename, focused: bool) -> Result<RepoMap, Failure> {
    // A parameter is found through its function (whose calls carry it).
    let rename = &rename.lookup();
    ctx.printer
        .progress(&format!("searching for `{}`", rename.old));
    let kind = match rename.symbol {
        crate::intent::SymbolKind::Any => DefinitionKind::Any,
        crate::intent::SymbolKind::Function => DefinitionKind::Function,
        crate::intent::SymbolKind::Class => DefinitionKind::Class,
        crate::intent::SymbolKind::Variable => DefinitionKind::Variable,
        crate::intent::SymbolKind::Method => DefinitionKind::Method,
        crate::intent::SymbolKind::Attribute => DefinitionKind::Attribute,
        crate::intent::SymbolKind::Parameter => DefinitionKind::Function,
    };
    let lookup = Definitions {
        name: rename.old.clone(),
        kind,
        focused,
    };
    let definitions = ctx.pool.request(&lookup);
    let query = Query {
        pattern: rename.old.clone(),
        regex: false,
        word: true,
    };
    let python = [".py".to_owned()];
    let files = search_files(ctx, &query, &python, &[]);
    let (definitions, files) = tokio::join!(definitions, files);
    let definitions = definitions?;
    let (candidates, textual_matches, files_searched, search_pages) = files?;
    Ok(RepoMap {
        definitions: definitions.definitions,
        importers: Vec::new(),
        candidates,
        textual_matches,
        files_searched,
        search_pages,
        test_files: None,
        target: None,
    })
}

struct Query {
    pattern: String,
    regex: bool,
    word: bool,
}

/// Every file with one of `extensions` under `paths` matching the query,
/// paged to fit the phase budget.
async fn search_files(
    ctx: &Context,
    query: &Query,
    extensions: &[String],
    paths: &[String],
) -> Result<(Vec<String>, usize, usize, usize), Failure> {
    let word = &query.pattern;
    let mut files = Vec::new();
    let mut matches = 0;
    let mut searched;
    let mut pages = 0;
    let mut offset = 0;
    loop {
        // About 15 tokens per `{"path": ..., "count": n}` entry.
        let remaining = ctx.tokens.phase_remaining();
        if remaining < 200 {
            return Err(Failure::stop(
                StopReason::BudgetTokens,
                format!(
                    "MAP: listing the files that mention `{word}` needs more than the phase budget (raise --phase-tokens)"
                ),
            ));
        }
        let page = page_size(remaining, 15, 10, 400);
        let result = ctx
            .pool
            .request(&Search {
                regex: query.regex,
                word: query.word,
                extensions: extensions.to_vec(),
                paths: paths.to_vec(),
                files_only: true,
                max_results: page,
                offset,
                ..Search::new(query.pattern.clone())
            })
            .await?;
        pages += 1;
        searched = result.files_searched;
        for file in result.files {
            matches += file.count;
            files.push(file.path);
        }
        match result.next_offset {
            Some(next) => offset = next,
            None => return Ok((files, matches, searched, pages)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::anchor_word;

    #[test]
    fn anchors_skip_metavariables() {
        assert_eq!(anchor_word("os.path.join($A, $B)").as_deref(), Some("path"));
        assert_eq!(anchor_word("$X.unwrap()").as_deref(), Some("unwrap"));
        assert_eq!(
            anchor_word("console.log($$$ARGS)").as_deref(),
            Some("console")
        );
        assert_eq!(anchor_word("$A + $B"), None);
    }
}
