//! The `search` server: literal or regex search over the project with
//! ripgrep's crates, honouring `.gitignore`, with paging.

use std::sync::Mutex;

use grep_regex::RegexMatcherBuilder;
use grep_searcher::{BinaryDetection, SearcherBuilder, sinks::Lossy};
use rmcp::handler::server::{router::tool::ToolRouter, wrapper::Parameters};
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};

use super::Jail;
use crate::protocol::search::{FileCount, LineMatch, Search, SearchResult};

#[derive(Debug, Clone)]
pub(crate) struct SearchServer {
    jail: Jail,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl SearchServer {
    pub(crate) fn new(jail: Jail) -> Self {
        SearchServer {
            jail,
            tool_router: Self::tool_router(),
        }
    }

    /// Search file contents (ripgrep semantics; .gitignore honoured). Pages with offset/max_results.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn search(
        &self,
        Parameters(args): Parameters<Search>,
    ) -> Result<Json<SearchResult>, String> {
        let jail = self.jail.clone();
        tokio::task::spawn_blocking(move || search(&jail, &args))
            .await
            .map_err(|e| format!("search task failed: {e}"))?
            .map(Json)
    }
}

#[tool_handler(router = self.tool_router, name = "orch-search")]
impl ServerHandler for SearchServer {}

/// A file and its matching (line number, preview) pairs.
type FileLines = (String, Vec<(u64, String)>);

/// Runs a search over the jail (parallel walk, results sorted by path and line).
pub(crate) fn search(jail: &Jail, args: &Search) -> Result<SearchResult, String> {
    let matcher = RegexMatcherBuilder::new()
        .fixed_strings(!args.regex)
        .word(args.word)
        .case_insensitive(args.case_insensitive)
        .build(&args.pattern)
        .map_err(|e| format!("bad pattern `{}`: {e}", args.pattern))?;
    let scopes: Vec<String> = args
        .paths
        .iter()
        .map(|p| p.trim_end_matches('/').to_owned())
        .collect();
    let keep = |relative: &str| {
        (args.extensions.is_empty()
            || args
                .extensions
                .iter()
                .any(|e| relative.ends_with(e.as_str())))
            && (scopes.is_empty()
                || scopes.iter().any(|s| {
                    relative == s
                        || (relative.starts_with(s.as_str())
                            && relative[s.len()..].starts_with('/'))
                }))
    };
    let found: Mutex<Vec<FileLines>> = Mutex::new(Vec::new());
    let searched = std::sync::atomic::AtomicUsize::new(0);
    let max_chars = args.max_line_chars;
    let (files_only, first_per_file) = (args.files_only, args.first_per_file);
    ignore::WalkBuilder::new(jail.root())
        .require_git(false)
        .threads(crate::parallel::cores())
        .build_parallel()
        .run(|| {
            let matcher = matcher.clone();
            let found = &found;
            let searched = &searched;
            let keep = &keep;
            let mut searcher = SearcherBuilder::new()
                .binary_detection(BinaryDetection::quit(0))
                .line_number(true)
                .build();
            Box::new(move |entry| {
                let Ok(entry) = entry else {
                    return ignore::WalkState::Continue;
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return ignore::WalkState::Continue;
                }
                let relative = jail.relative(entry.path());
                if !keep(&relative) {
                    return ignore::WalkState::Continue;
                }
                searched.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut lines = Vec::new();
                let _ = searcher.search_path(
                    &matcher,
                    entry.path(),
                    // Lossy: a line that is not UTF-8 (a Latin-1 source) still matches.
                    Lossy(|number, line| {
                        if files_only {
                            // Counted, not shown.
                            lines.push((number, String::new()));
                            return Ok(!first_per_file);
                        }
                        let line = line.trim_end_matches(['\n', '\r']);
                        let preview: String = line.chars().take(max_chars).collect();
                        lines.push((number, preview));
                        Ok(true)
                    }),
                );
                if !lines.is_empty()
                    && let Ok(mut found) = found.lock()
                {
                    found.push((relative, lines));
                }
                ignore::WalkState::Continue
            })
        });
    let mut found = found
        .into_inner()
        .map_err(|_| "search worker panicked".to_owned())?;
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let files_searched = searched.into_inner();
    let page = args.max_results.max(1);
    if args.files_only {
        let total = found.len();
        let files: Vec<FileCount> = found
            .into_iter()
            .skip(args.offset)
            .take(page)
            .map(|(path, lines)| FileCount {
                path,
                count: lines.len(),
            })
            .collect();
        let next = args.offset + files.len();
        return Ok(SearchResult {
            matches: Vec::new(),
            files,
            total,
            files_searched,
            next_offset: (next < total).then_some(next),
        });
    }
    let all: Vec<LineMatch> = found
        .into_iter()
        .flat_map(|(path, lines)| {
            lines.into_iter().map(move |(line, text)| LineMatch {
                path: path.clone(),
                line,
                text,
            })
        })
        .collect();
    let total = all.len();
    let matches: Vec<LineMatch> = all.into_iter().skip(args.offset).take(page).collect();
    let next = args.offset + matches.len();
    Ok(SearchResult {
        matches,
        files: Vec::new(),
        total,
        files_searched,
        next_offset: (next < total).then_some(next),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pattern: &str) -> Search {
        serde_json::from_value(serde_json::json!({ "pattern": pattern, "word": true })).unwrap()
    }

    #[test]
    fn searches_words_honouring_gitignore_and_pages() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitignore"), "ignored/\n").unwrap();
        std::fs::create_dir_all(dir.path().join("ignored")).unwrap();
        std::fs::create_dir_all(dir.path().join("pkg")).unwrap();
        std::fs::write(dir.path().join("ignored/x.py"), "make_str\n").unwrap();
        std::fs::write(
            dir.path().join("pkg/a.py"),
            "make_str()\nmake_strs()\nx = make_str\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("b.py"), "make_str\n").unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        let result = search(&jail, &args("make_str")).unwrap();
        let found: Vec<(String, u64)> = result
            .matches
            .iter()
            .map(|m| (m.path.clone(), m.line))
            .collect();
        assert_eq!(
            found,
            [
                ("b.py".into(), 1),
                ("pkg/a.py".into(), 1),
                ("pkg/a.py".into(), 3)
            ]
        );
        let mut paged = args("make_str");
        paged.max_results = 2;
        let first = search(&jail, &paged).unwrap();
        assert_eq!((first.matches.len(), first.next_offset), (2, Some(2)));
        paged.files_only = true;
        paged.paths = vec!["pkg".into()];
        let files = search(&jail, &paged).unwrap();
        assert_eq!(files.files.len(), 1);
        assert_eq!(files.files[0].count, 2);
        // Which files, not how often.
        let mut first = args("make_str");
        first.files_only = true;
        first.first_per_file = true;
        let files = search(&jail, &first).unwrap();
        let counts: Vec<(&str, usize)> = files
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.count))
            .collect();
        assert_eq!(counts, [("b.py", 1), ("pkg/a.py", 1)]);
        assert_eq!(files.total, 2);
    }
}
