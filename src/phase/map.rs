//! MAP: find the code a command is about — the definitions of the name and
//! every Python file that mentions it — with parallel searches through the
//! `code` and `search` servers.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Context, Failure, StopReason, page_size};
use crate::intent::Rename;
use crate::mcp::Role;
use crate::servers::code::{Definition, DefinitionsResult};
use crate::servers::search::SearchResult;

/// What MAP found.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepoMap {
    /// Module-level definitions of the old name (of the requested kind).
    pub definitions: Vec<Definition>,
    /// Python files whose text contains the old name as a word.
    pub candidates: Vec<String>,
    pub textual_matches: usize,
    pub files_searched: usize,
    pub search_pages: usize,
}

pub async fn run(ctx: &Context, rename: &Rename) -> Result<RepoMap, Failure> {
    ctx.memory.admit(ctx.deadline.at()).await;
    ctx.printer
        .progress(&format!("searching for `{}`", rename.old));
    let kind = match rename.symbol {
        crate::intent::SymbolKind::Any => "any",
        crate::intent::SymbolKind::Function => "function",
        crate::intent::SymbolKind::Class => "class",
    };
    let definitions = ctx.pool.call_as::<DefinitionsResult>(
        Role::Code,
        "definitions",
        json!({ "name": rename.old, "kind": kind }),
    );
    let files = candidate_files(ctx, &rename.old);
    let (definitions, files) = tokio::join!(definitions, files);
    let definitions = definitions?;
    let (candidates, textual_matches, files_searched, search_pages) = files?;
    Ok(RepoMap {
        definitions: definitions.definitions,
        candidates,
        textual_matches,
        files_searched,
        search_pages,
    })
}

/// Every `.py` file containing the word, paged to fit the phase budget.
async fn candidate_files(
    ctx: &Context,
    word: &str,
) -> Result<(Vec<String>, usize, usize, usize), Failure> {
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
        let result: SearchResult = ctx
            .pool
            .call_as(
                Role::Search,
                "search",
                json!({
                    "pattern": word,
                    "word": true,
                    "extensions": [".py"],
                    "files_only": true,
                    "max_results": page,
                    "offset": offset,
                }),
            )
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
