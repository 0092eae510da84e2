//! LOGIC: pick the definition the command means, resolve every reference
//! to it through the `code` server (imports, re-exports, attribute access,
//! scopes) and prune textual matches that are not references.

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::map::RepoMap;
use super::{Context, Failure, StopReason, page_size};
use crate::intent::Rename;
use crate::mcp::Role;
use crate::servers::code::{Definition, FileSites, NoteOut, RenameOutput, SimilarResult};

/// The resolved rename.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Analysis {
    pub definition: Definition,
    pub files: Vec<FileSites>,
    pub mentions: Vec<NoteOut>,
    pub uncertain: Vec<NoteOut>,
    pub mentions_total: usize,
    pub uncertain_total: usize,
    pub parse_errors: std::collections::BTreeMap<String, usize>,
    pub target_modules: Vec<String>,
    /// Candidate files with no real reference.
    pub pruned_files: usize,
    pub sites: usize,
}

pub async fn run(ctx: &Context, rename: &Rename, map: &RepoMap) -> Result<Analysis, Failure> {
    let definition = choose_definition(ctx, rename, map).await?;
    ctx.printer.progress(&format!(
        "resolving references in {} files",
        map.candidates.len()
    ));
    let mut offset = 0;
    let mut all: Option<RenameOutput> = None;
    loop {
        let remaining = ctx.tokens.phase_remaining();
        if remaining < 100 {
            return Err(Failure::stop(
                StopReason::BudgetTokens,
                "LOGIC: the rename's sites need more than the phase budget (raise --phase-tokens)",
            ));
        }
        // A file with a handful of sites is ~60 tokens.
        let max_files = page_size(remaining, 60, 1, 200);
        let max_notes = page_size(remaining, 40, 0, 25);
        let page: RenameOutput = ctx
            .pool
            .call_as(
                Role::Code,
                "rename_references",
                json!({
                    "definition": definition.path,
                    "name": rename.old,
                    "new_name": rename.new,
                    "files": map.candidates,
                    "offset": offset,
                    "max_files": max_files,
                    "max_notes": max_notes,
                }),
            )
            .await?;
        let next = page.next_offset;
        match all.as_mut() {
            None => all = Some(page),
            Some(all) => {
                all.files.extend(page.files);
                all.parse_errors.extend(page.parse_errors);
            }
        }
        match next {
            Some(n) => offset = n,
            None => break,
        }
    }
    let all = all.unwrap_or_default();
    if !all.clashes.is_empty() {
        let places: Vec<String> = all
            .clashes
            .iter()
            .map(|c| format!("  {}:{}:{}: {}", c.path, c.line, c.column, c.note))
            .collect();
        return Err(Failure::input(
            format!(
                "renaming `{}` to `{}` would clash:\n{}",
                rename.old,
                rename.new,
                places.join("\n")
            ),
            Some("choose another new name, or rename the clashing binding first".into()),
        ));
    }
    let sites = all.files.iter().map(|f| f.sites.len()).sum();
    Ok(Analysis {
        pruned_files: map.candidates.len().saturating_sub(all.files.len()),
        definition,
        sites,
        files: all.files,
        mentions: all.mentions,
        uncertain: all.uncertain,
        mentions_total: all.mentions_total,
        uncertain_total: all.uncertain_total,
        parse_errors: all.parse_errors,
        target_modules: all.target_modules,
    })
}

/// The one definition the command means, or an input error that lists
/// candidates or the closest names.
async fn choose_definition(
    ctx: &Context,
    rename: &Rename,
    map: &RepoMap,
) -> Result<Definition, Failure> {
    let what = rename.symbol.as_str();
    if map.definitions.is_empty() {
        let similar: SimilarResult = ctx
            .pool
            .call_as(
                Role::Code,
                "similar_names",
                json!({ "name": rename.old, "limit": 5 }),
            )
            .await?;
        let hint = if similar.names.is_empty() {
            None
        } else {
            let names: Vec<String> = similar
                .names
                .iter()
                .map(|n| format!("{} ({}:{})", n.name, n.path, n.line))
                .collect();
            Some(format!("closest existing names: {}", names.join(", ")))
        };
        return Err(Failure::input(
            format!(
                "no module-level {what} named `{}` in this project",
                rename.old
            ),
            hint,
        ));
    }
    let matching: Vec<&Definition> = match &rename.scope {
        None => map.definitions.iter().collect(),
        Some(scope) => {
            let scope = scope.trim_start_matches("./").trim_end_matches('/');
            map.definitions
                .iter()
                .filter(|d| {
                    d.path == scope
                        || d.path.starts_with(&format!("{scope}/"))
                        || d.module == scope
                        || d.module.starts_with(&format!("{scope}."))
                })
                .collect()
        }
    };
    let list = |defs: &[&Definition]| {
        defs.iter()
            .map(|d| {
                format!(
                    "  {}:{} ({} `{}` in module `{}`)",
                    d.path, d.line, d.kind, rename.old, d.module
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let all: Vec<&Definition> = map.definitions.iter().collect();
            Err(Failure::input(
                format!(
                    "no module-level {what} `{}` in `{}`; it is defined in:\n{}",
                    rename.old,
                    rename.scope.as_deref().unwrap_or_default(),
                    list(&all)
                ),
                Some("name one of those with `in PATH`".into()),
            ))
        }
        many => {
            let first = many[0];
            Err(Failure::input(
                format!(
                    "`{}` is defined in more than one place:\n{}",
                    rename.old,
                    list(many)
                ),
                Some(format!(
                    "say which one, e.g. `rename {} to {} in {}`",
                    rename.old, rename.new, first.path
                )),
            ))
        }
    }
}
