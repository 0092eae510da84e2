//! LOGIC: for a rename, pick the definition the command means, resolve every
//! reference to it through the `code` server (imports, re-exports, attribute
//! access, scopes) and prune textual matches that are not references; for a
//! structural replace, match the pattern on the syntax trees of MAP's
//! candidates (files where the pattern's word is only text are pruned).

use serde::{Deserialize, Serialize};

use super::map::RepoMap;
use super::{Context, Failure, StopReason, page_size};
use crate::edit::{Edit, EditKind};
use crate::intent::{Intent, Rename, Replace};
use crate::protocol::Paged;
use crate::protocol::code::{
    AddParameter, Cleanup, Definition, DefinitionKind, DeletedFile, MakeAsync, MoveSymbol, NewFile,
    NoteOut, RemoveParameter, RenameModule, RenameOutput, RenameReferences, ReorderParameters,
    ReplaceOutput, Signature, SimilarNames, StructuralReplace, UnusedFunctions, UnusedImports,
};
use sites::{edits_at_sites, sites_in_file};

mod delete;
mod extract;
mod inline;
mod inline_function;
mod sites;

/// The exact edits of one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileEdits {
    pub path: String,
    pub sha1: String,
    pub edits: Vec<EditSite>,
}

/// One edit: bytes `start..end` (holding `old`) become `new`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EditSite {
    #[serde(flatten)]
    pub edit: Edit,
    /// What it does (a rename site's kind, or the refactor that made it).
    pub kind: EditKind,
}

/// The resolved change.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Analysis {
    /// The renamed definition (renames only).
    pub definition: Option<Definition>,
    pub files: Vec<FileEdits>,
    pub mentions: Vec<NoteOut>,
    pub uncertain: Vec<NoteOut>,
    pub mentions_total: usize,
    pub uncertain_total: usize,
    /// How every code occurrence of a renamed name was accounted for.
    #[serde(default)]
    pub accounting: Option<crate::protocol::code::Accounting>,
    pub parse_errors: std::collections::BTreeMap<String, usize>,
    /// The names `parse_errors` is focused on (the statements naming them;
    /// see `rename_references`); empty: whole files.
    #[serde(default)]
    pub syntax_focus: Vec<String>,
    pub target_modules: Vec<String>,
    /// Candidate files with no real reference.
    pub pruned_files: usize,
    /// What the change does beyond its edits, for people (make async:
    /// the functions made async).
    #[serde(default)]
    pub notes: Vec<NoteOut>,
    /// Files the change creates (moves into a new module).
    #[serde(default)]
    pub creates: Vec<NewFile>,
    /// Files the change deletes (module renames).
    #[serde(default)]
    pub deletes: Vec<DeletedFile>,
    pub sites: usize,
}

pub(crate) async fn run(
    ctx: &Context,
    intent: &Intent,
    map: &RepoMap,
) -> Result<Analysis, Failure> {
    match intent {
        Intent::Rename(rename) => analyse_rename(ctx, rename, map).await,
        Intent::SafeDelete(delete) => {
            let references = analyse_rename(ctx, &delete.lookup(), map).await?;
            delete::analyse(ctx, delete, references)
        }
        Intent::Replace(replace) => analyse_replace(ctx, replace, map).await,
        Intent::RemoveUnusedImports(_) => analyse_cleanup(ctx, map).await,
        Intent::AddParameter(add) => {
            analyse_signature(ctx, true, &add.lookup(), &add.parameter, &add.default, map).await
        }
        Intent::RemoveParameter(remove) => {
            analyse_signature(ctx, false, &remove.lookup(), &remove.parameter, "", map).await
        }
        Intent::ReorderParameters(reorder) => analyse_reorder(ctx, reorder, map).await,
        Intent::InlineVariable(inline) => {
            let definition = choose_definition(ctx, &inline.lookup(), map).await?;
            inline::analyse(ctx, inline, definition)
        }
        Intent::InlineFunction(request) => {
            let references = analyse_rename(ctx, &request.lookup(), map).await?;
            inline_function::analyse(ctx, request, references)
        }
        Intent::Extract(request) => match request.lookup() {
            Some(lookup) => {
                let definition = choose_definition(ctx, &lookup, map).await?;
                let path = definition.path.clone();
                extract::analyse(ctx, request, &path, Some(definition))
            }
            None => {
                let path = map
                    .candidates
                    .first()
                    .ok_or_else(|| Failure::internal("MAP did not resolve the file"))?;
                extract::analyse(ctx, request, path, None)
            }
        },
        Intent::MakeAsync(make) => analyse_async(ctx, make, map).await,
        Intent::Move(request) => analyse_move(ctx, request, map).await,
        Intent::RenameModule(request) => {
            let (Some(path), Some(target)) = (map.candidates.first(), &map.target) else {
                return Err(Failure::internal("MAP did not resolve the module"));
            };
            ctx.printer
                .progress(&format!("renaming {path} to {target}"));
            let all = page_edits(
                ctx,
                RenameModule {
                    path: path.clone(),
                    new_path: target.clone(),
                    page: Default::default(),
                },
            )
            .await?;
            refuse_problems(&all, format!("cannot rename `{}`", request.old))?;
            if all.refused_total > 0 {
                ctx.printer.warn(&format!(
                    "{} string(s) name the old module and were left alone (see the plan's report)",
                    all.refused_total
                ));
            }
            Ok(edits_analysis(all, EditKind::Module, map))
        }
        Intent::RemoveUnusedFunctions(_) => {
            ctx.printer.progress(&format!(
                "looking for unreferenced private functions in {} files",
                map.candidates.len()
            ));
            let all = page_edits(
                ctx,
                UnusedFunctions {
                    cleanup: Cleanup {
                        files: map.candidates.clone(),
                        importers: None,
                        page: Default::default(),
                    },
                },
            )
            .await?;
            if all.total_matches == 0 {
                ctx.printer.note("no unreferenced private functions");
            }
            Ok(edits_analysis(all, EditKind::DeadFunction, map))
        }
    }
}

/// Pages through a `code` call that answers in the `ReplaceOutput` shape
/// (`structural_replace`, `unused_imports`, ...) and merges the pages.
async fn page_edits<C: Paged<Output = ReplaceOutput>>(
    ctx: &Context,
    mut call: C,
) -> Result<ReplaceOutput, Failure> {
    let mut offset = 0;
    let mut all: Option<ReplaceOutput> = None;
    // A file with a few edits is ~120 tokens at first; then what the pages
    // so far cost per file.
    let mut per_file = 120;
    loop {
        let remaining = ctx.tokens.phase_remaining();
        if remaining < 100 {
            let progress = all.as_ref().map(|all| (all.files.len(), all.total_files));
            return Err(over_budget(ctx, "the edits", progress));
        }
        let page = call.page_mut();
        page.offset = offset;
        page.max_files = Some(page_size(remaining, per_file, 1, 200));
        page.max_notes = Some(page_size(remaining, 40, 0, 25));
        let before = ctx.tokens.phase_used("LOGIC");
        let mut page = ctx.pool.request(&call).await?;
        if !page.files.is_empty() {
            let spent = ctx.tokens.phase_used("LOGIC").saturating_sub(before);
            per_file = spent.div_ceil(page.files.len()).max(20);
        }
        page.expand()
            .map_err(|e| Failure::internal(format!("malformed edits from the code server: {e}")))?;
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
    Ok(all.unwrap_or_default())
}

/// LOGIC's stop when a paged answer does not fit its budget, saying how
/// many tokens it would need (from the pages so far) and how to allow them.
/// `progress`: files answered so far, and in all.
fn over_budget(ctx: &Context, what: &str, progress: Option<(usize, usize)>) -> Failure {
    over_budget_at(ctx, what, progress, None)
}

/// [`over_budget`], with what a file of the rest costs when it is known
/// (measured on the files alone: the first page's notes are paid once).
fn over_budget_at(
    ctx: &Context,
    what: &str,
    progress: Option<(usize, usize)>,
    per_file: Option<usize>,
) -> Failure {
    let used = ctx.tokens.phase_used("LOGIC");
    let budget = ctx.tokens.phase_limit();
    let message = match progress {
        Some((files_done, total)) if files_done > 0 && total > files_done => {
            // The rest at the rate so far (a page's frame included), rounded
            // up to a kilo-token.
            let rest = total - files_done;
            let needed = match per_file {
                Some(per_file) => used + (per_file + 150 / 8) * rest,
                None => (used * total).div_ceil(files_done),
            }
            .div_ceil(1024)
                * 1024;
            format!(
                "LOGIC: {what} need about {needed} tokens ({files_done} of {total} files took {used}, over the phase budget of {budget}); pass --phase-tokens {needed} (and a --total-tokens that leaves room for it)"
            )
        }
        _ => format!(
            "LOGIC: {what} need more than the phase budget of {budget} tokens (raise --phase-tokens)"
        ),
    };
    Failure::stop(StopReason::BudgetTokens, message)
}

/// An analysis of exact edits (no definition, no mentions).
fn edits_analysis(all: ReplaceOutput, kind: EditKind, map: &RepoMap) -> Analysis {
    let files: Vec<FileEdits> = all
        .files
        .into_iter()
        .map(|f| FileEdits {
            path: f.path,
            sha1: f.sha1,
            edits: f
                .replacements
                .into_iter()
                .map(|edit| EditSite { edit, kind })
                .collect(),
        })
        .collect();
    let sites = files.iter().map(|f| f.edits.len()).sum();
    Analysis {
        definition: None,
        pruned_files: map.candidates.len().saturating_sub(files.len()),
        sites,
        files,
        mentions: Vec::new(),
        uncertain: all.refused,
        mentions_total: 0,
        uncertain_total: all.refused_total,
        accounting: None,
        parse_errors: all.parse_errors,
        syntax_focus: Vec::new(),
        target_modules: Vec::new(),
        notes: all.notes,
        creates: all.creates,
        deletes: all.deletes,
    }
}

/// A project file as the worktree has it (inside the project: the path
/// comes from a server): its bytes, for the plan's preimage hash, and its
/// text.
fn worktree_source(ctx: &Context, path: &str) -> Result<(Vec<u8>, String), Failure> {
    let jail = crate::servers::Jail::new(&ctx.worktree_root()?).map_err(Failure::internal)?;
    let resolved = jail.resolve(path).map_err(Failure::internal)?;
    let bytes = std::fs::read(&resolved)
        .map_err(|e| Failure::internal(format!("cannot read {path}: {e}")))?;
    let source = crate::lang::python::encoding::decode_file(path, &bytes)
        .map_err(|e| Failure::input(format!("{path}: {e}"), None))?;
    Ok((bytes, source))
}

/// The change cannot be made where the tool found problems: an input
/// error headed `headline`, one line per place.
fn refuse_problems(all: &ReplaceOutput, headline: String) -> Result<(), Failure> {
    if all.problems.is_empty() {
        return Ok(());
    }
    let places: Vec<String> = all
        .problems
        .iter()
        .map(|c| format!("  {}:{}: {}", c.path, c.line, c.note))
        .collect();
    Err(Failure::input(
        format!("{headline}:\n{}", places.join("\n")),
        None,
    ))
}

/// Adding (`add`) or removing a parameter.
async fn analyse_signature(
    ctx: &Context,
    add: bool,
    lookup: &crate::intent::Rename,
    parameter: &str,
    default: &str,
    map: &RepoMap,
) -> Result<Analysis, Failure> {
    let definition = choose_definition(ctx, lookup, map).await?;
    let signature = Signature {
        definition: definition.path.clone(),
        class: definition.class.clone(),
        name: lookup.old.clone(),
        parameter: parameter.to_owned(),
        default: default.to_owned(),
        files: map.candidates.clone(),
        page: Default::default(),
    };
    let (all, kind) = if add {
        (
            page_edits(ctx, AddParameter { signature }).await?,
            EditKind::AddParameter,
        )
    } else {
        (
            page_edits(ctx, RemoveParameter { signature }).await?,
            EditKind::RemoveParameter,
        )
    };
    refuse_problems(
        &all,
        format!("cannot change `{parameter}` of `{}`", lookup.old),
    )?;
    let mut analysis = edits_analysis(all, kind, map);
    analysis.definition = Some(definition);
    Ok(analysis)
}

/// Reordering a function's parameters.
async fn analyse_reorder(
    ctx: &Context,
    reorder: &crate::intent::ReorderParameters,
    map: &RepoMap,
) -> Result<Analysis, Failure> {
    let lookup = reorder.lookup();
    let definition = choose_definition(ctx, &lookup, map).await?;
    let signature = Signature {
        definition: definition.path.clone(),
        class: definition.class.clone(),
        name: lookup.old.clone(),
        parameter: reorder.parameter.clone(),
        default: String::new(),
        files: map.candidates.clone(),
        page: Default::default(),
    };
    let all = page_edits(
        ctx,
        ReorderParameters {
            signature,
            other: reorder.other.clone(),
            placement: reorder.placement.clone(),
        },
    )
    .await?;
    refuse_problems(
        &all,
        format!("cannot reorder the parameters of `{}`", lookup.old),
    )?;
    let mut analysis = edits_analysis(all, EditKind::ReorderParameters, map);
    analysis.definition = Some(definition);
    Ok(analysis)
}

/// Moving a function or class to another module.
async fn analyse_move(
    ctx: &Context,
    request: &crate::intent::Move,
    map: &RepoMap,
) -> Result<Analysis, Failure> {
    let lookup = request.lookup();
    let definition = choose_definition(ctx, &lookup, map).await?;
    if !matches!(
        definition.kind,
        DefinitionKind::Function | DefinitionKind::Class
    ) {
        return Err(Failure::input(
            format!(
                "`{}` is a module-level {} in {}; orch moves functions and classes",
                request.name, definition.kind, definition.path
            ),
            None,
        ));
    }
    let target = map
        .target
        .clone()
        .ok_or_else(|| Failure::internal("MAP did not resolve the move's target"))?;
    ctx.printer.progress(&format!(
        "moving `{}` from {} to {target}",
        request.name, definition.path
    ));
    let all = page_edits(
        ctx,
        MoveSymbol {
            definition: definition.path.clone(),
            name: request.name.clone(),
            target: target.clone(),
            keep_alias: request.keep_alias,
            page: Default::default(),
        },
    )
    .await?;
    refuse_problems(&all, format!("cannot move `{}` to {target}", request.name))?;
    for note in &all.notes {
        ctx.printer.note(&format!("  {}: {}", note.path, note.note));
    }
    let mut analysis = edits_analysis(all, EditKind::Move, map);
    analysis.definition = Some(definition);
    Ok(analysis)
}

/// Making a function (or a module's functions) async, callers following.
async fn analyse_async(
    ctx: &Context,
    make: &crate::intent::MakeAsync,
    map: &RepoMap,
) -> Result<Analysis, Failure> {
    let (definition, call) = match make.lookup() {
        Some(lookup) => {
            let definition = choose_definition(ctx, &lookup, map).await?;
            let call = MakeAsync {
                definition: Some(definition.path.clone()),
                class: definition.class.clone(),
                name: Some(lookup.old.clone()),
                modules: Vec::new(),
                page: Default::default(),
            };
            (Some(definition), call)
        }
        None => (
            None,
            MakeAsync {
                definition: None,
                class: None,
                name: None,
                modules: map.candidates.clone(),
                page: Default::default(),
            },
        ),
    };
    ctx.printer
        .progress("following the call graph up to its async boundary");
    let all = page_edits(ctx, call).await?;
    if !all.problems.is_empty() {
        let mut places: Vec<String> = all
            .problems
            .iter()
            .map(|c| format!("  {}:{}:{}: {}", c.path, c.line, c.column, c.note))
            .collect();
        if all.problems_total > all.problems.len() {
            places.push(format!(
                "  … and {} more",
                all.problems_total - all.problems.len()
            ));
        }
        return Err(Failure::input(
            format!(
                "cannot make {} async; these callers cannot follow:\n{}",
                match (&make.function, &make.module) {
                    (Some(f), _) => format!("`{f}`"),
                    (None, Some(m)) => format!("the functions of `{m}`"),
                    _ => "it".to_owned(),
                },
                places.join("\n")
            ),
            Some("change those callers by hand first (or move the call out of them), then run orch again".into()),
        ));
    }
    if all.total_matches == 0 {
        ctx.printer
            .note("nothing to change: the functions are async already");
    }
    for converted in all.notes.iter().take(20) {
        ctx.printer.note(&format!(
            "  {}:{}: {}",
            converted.path, converted.line, converted.note
        ));
    }
    if all.notes.len() > 20 {
        ctx.printer
            .note(&format!("  … and {} more", all.notes.len() - 20));
    }
    let mut analysis = edits_analysis(all, EditKind::Async, map);
    analysis.definition = definition;
    Ok(analysis)
}

async fn analyse_cleanup(ctx: &Context, map: &RepoMap) -> Result<Analysis, Failure> {
    ctx.printer.progress(&format!(
        "looking for unused imports in {} files",
        map.candidates.len()
    ));
    let all = page_edits(
        ctx,
        UnusedImports {
            cleanup: Cleanup {
                files: map.candidates.clone(),
                importers: Some(map.importers.clone()),
                page: Default::default(),
            },
        },
    )
    .await?;
    if all.refused_total > 0 {
        ctx.printer.warn(&format!(
            "{} import(s) look unused but were left alone (see the plan's report)",
            all.refused_total
        ));
    }
    if all.total_matches == 0 {
        ctx.printer.note(&format!(
            "no unused imports in the {} file(s) with imports",
            all.files_scanned
        ));
    }
    Ok(edits_analysis(all, EditKind::UnusedImport, map))
}

async fn analyse_replace(
    ctx: &Context,
    replace: &Replace,
    map: &RepoMap,
) -> Result<Analysis, Failure> {
    ctx.printer.progress(&format!(
        "matching the pattern in {} files",
        map.files_searched
    ));
    // The server finds the files and answers with where the edits start;
    // the edits themselves are derived here from the same pattern (a few
    // tokens a site instead of the texts: Django's 378 `os.path.join`
    // rewrites fit the default budget).
    let mut all = page_edits(
        ctx,
        StructuralReplace {
            pattern: replace.pattern.clone(),
            rewrite: replace.rewrite.clone(),
            language: replace.language.clone(),
            files: Vec::new(),
            paths: Some(super::map::scope_paths(replace.scope.as_deref())),
            sites_only: true,
            page: Default::default(),
        },
    )
    .await?;
    let jail = crate::servers::Jail::new(&ctx.worktree_root()?).map_err(Failure::internal)?;
    let pattern = (replace.pattern.as_str(), replace.rewrite.as_str());
    let derived = crate::parallel::par_map(&all.files, |file| edits_at_sites(&jail, pattern, file));
    for (file, derived) in all.files.iter_mut().zip(derived) {
        *file = derived.map_err(|e| {
            Failure::internal(format!("structural replace in `{}`: {e}", file.path))
        })?;
    }
    if all.refused_total > 0 {
        ctx.printer.warn(&format!(
            "{} match(es) left alone: the rewrite would not parse there",
            all.refused_total
        ));
    }
    if all.files_scanned == 0 && !all.invalid.is_empty() {
        let reasons: Vec<String> = all.invalid.values().map(|r| format!("  {r}")).collect();
        return Err(Failure::input(
            format!("the pattern cannot be used:\n{}", reasons.join("\n")),
            Some("write the pattern as code of the file's language, with $X for one node and $$$XS for many; quote it with backticks".into()),
        ));
    }
    for (language, reason) in &all.invalid {
        ctx.printer
            .warn(&format!("{language} files skipped: {reason}"));
    }
    if all.total_matches == 0 {
        ctx.printer.warn(&format!(
            "the pattern matches nothing in the {} file(s) searched",
            all.files_scanned
        ));
    }
    Ok(edits_analysis(all, EditKind::Structural, map))
}

async fn analyse_rename(
    ctx: &Context,
    rename: &Rename,
    map: &RepoMap,
) -> Result<Analysis, Failure> {
    let lookup = rename.lookup();
    let definition = choose_definition(ctx, &lookup, map).await?;
    let parameter =
        (rename.symbol == crate::intent::SymbolKind::Parameter).then(|| rename.old.clone());
    ctx.printer.progress(&format!(
        "resolving references in {} files",
        map.candidates.len()
    ));
    let mut offset = 0;
    let mut all: Option<RenameOutput> = None;
    // A file with a handful of sites is ~60 tokens at first; then what the
    // pages so far cost per file.
    let mut per_file = 60;
    loop {
        let remaining = ctx.tokens.phase_remaining();
        // Notes travel with the first page; a page's frame costs ~150.
        let max_notes = if offset == 0 {
            page_size(remaining, 40, 0, 25)
        } else {
            0
        };
        let room = remaining.saturating_sub(150 + 40 * max_notes);
        if room < per_file {
            // Not even one more file fits: say what the rest needs.
            let progress = all.as_ref().map(|all| (all.files.len(), all.total_files));
            let measured = all.as_ref().map(|_| per_file);
            return Err(over_budget_at(
                ctx,
                "the rename's sites",
                progress,
                measured,
            ));
        }
        // A first page of a few files measures what a file costs (and how
        // many files there are), so that later pages are sized from it and
        // a rename that cannot fit says what it needs.
        let max_files = (room / per_file).clamp(1, if offset == 0 { 8 } else { 200 });
        let page = match ctx
            .pool
            .request(&RenameReferences {
                definition: definition.path.clone(),
                class: definition.class.clone(),
                parameter: parameter.clone(),
                attribute: rename.symbol == crate::intent::SymbolKind::Attribute,
                include_uncertain: ctx.settings.include_uncertain,
                include_strings: ctx.settings.include_strings,
                name: lookup.old.clone(),
                new_name: rename.new.clone(),
                files: map.candidates.clone(),
                brief: true,
                page: crate::protocol::Page {
                    offset,
                    max_files: Some(max_files),
                    max_notes: Some(max_notes),
                },
            })
            .await
        {
            Ok(page) => page,
            // The page cost more than the budget had left: estimate what
            // the whole rename needs from what this page covered (at most
            // `max_files` of the files MAP found).
            Err(crate::mcp::Error::Budget(_)) => {
                let done = all.as_ref().map_or(0, |all| all.files.len()) + max_files;
                let total = all
                    .as_ref()
                    .map_or(map.candidates.len(), |all| all.total_files)
                    .max(done + 1);
                let measured = all.as_ref().map(|_| per_file);
                return Err(over_budget_at(
                    ctx,
                    "the rename's sites",
                    Some((done, total)),
                    measured,
                ));
            }
            Err(other) => return Err(other.into()),
        };
        if !page.files.is_empty() {
            // What the files themselves cost, without the page's frame and
            // the first page's notes.
            let files = serde_json::to_string(&page.files).unwrap_or_default();
            per_file = crate::budget::count_tokens(&files)
                .div_ceil(page.files.len())
                .max(10);
        }
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
    let mut parse_errors = all.parse_errors;
    for file in &all.files {
        parse_errors.insert(file.path.clone(), file.errors);
    }
    // Brief sites carry starts alone: lines and SHA-1s come from the files
    // as the worktree has them, where every site must hold the old name.
    let jail = if all.brief {
        Some(crate::servers::Jail::new(&ctx.worktree_root()?).map_err(Failure::internal)?)
    } else {
        None
    };
    let decoded = crate::parallel::par_map(&all.files, |file| match &jail {
        Some(jail) => sites_in_file(jail, file, &rename.old),
        None => file
            .decode()
            .map(|sites| {
                let sites = sites.into_iter().map(|s| (s.start, s.line, s.kind));
                (file.sha1.clone(), sites.collect())
            })
            .ok_or_else(|| "malformed sites".to_owned()),
    });
    let mut sites = 0;
    let mut files: Vec<FileEdits> = Vec::with_capacity(all.files.len());
    for (file, decoded) in all.files.iter().zip(decoded) {
        let (sha1, decoded) = decoded.map_err(|e| {
            Failure::internal(format!(
                "sites for `{}` from the code server: {e}",
                file.path
            ))
        })?;
        sites += decoded.len();
        // Every site spans the old name.
        let edits = decoded
            .into_iter()
            .map(|(start, line, kind)| EditSite {
                edit: Edit {
                    start,
                    end: start + rename.old.len(),
                    line,
                    old: rename.old.clone(),
                    new: rename.new.clone(),
                },
                kind,
            })
            .collect();
        files.push(FileEdits {
            path: file.path.clone(),
            sha1,
            edits,
        });
    }
    Ok(Analysis {
        pruned_files: map.candidates.len().saturating_sub(files.len()),
        definition: Some(definition),
        sites,
        files,
        mentions: all.mentions,
        uncertain: all.uncertain,
        mentions_total: all.mentions_total,
        uncertain_total: all.uncertain_total,
        accounting: all.accounting,
        parse_errors,
        syntax_focus: all.syntax_focus,
        target_modules: all.target_modules,
        notes: Vec::new(),
        creates: Vec::new(),
        deletes: Vec::new(),
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
        let similar = ctx
            .pool
            .request(&SimilarNames {
                name: rename.old.clone(),
                limit: Some(5),
            })
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
        let what = if rename.symbol == crate::intent::SymbolKind::Method {
            "method of a module-level class".to_owned()
        } else if rename.symbol == crate::intent::SymbolKind::Attribute {
            "attribute of a module-level class".to_owned()
        } else {
            format!("module-level {what}")
        };
        return Err(Failure::input(
            format!("no {what} named `{}` in this project", rename.old),
            hint,
        ));
    }
    let in_class = |d: &&Definition| {
        rename
            .class
            .as_ref()
            .is_none_or(|c| d.class.as_ref() == Some(c))
    };
    let matching: Vec<&Definition> = match &rename.scope {
        None => map.definitions.iter().filter(in_class).collect(),
        Some(scope) => {
            let scope = scope.trim_start_matches("./").trim_end_matches('/');
            map.definitions
                .iter()
                .filter(|d| {
                    d.path == scope
                        || d.path.starts_with(&format!("{scope}/"))
                        // A unique path suffix, as people type it:
                        // `util.py`, or `pkg/util.py` in a `src/` layout.
                        || d.path.ends_with(&format!("/{scope}"))
                        || d.path.contains(&format!("/{scope}/"))
                        || d.module == scope
                        || d.module.starts_with(&format!("{scope}."))
                        // `in the pricing module`: a module's last part(s).
                        || d.module.ends_with(&format!(".{scope}"))
                })
                .filter(in_class)
                .collect()
        }
    };
    let list = |defs: &[&Definition]| {
        defs.iter()
            .map(|d| {
                let name = match &d.class {
                    Some(class) => format!("{class}.{}", rename.old),
                    None => rename.old.clone(),
                };
                format!(
                    "  {}:{} ({} `{name}` in module `{}`)",
                    d.path, d.line, d.kind, d.module
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let all: Vec<&Definition> = map.definitions.iter().collect();
            let place = match (&rename.class, &rename.scope) {
                (Some(class), Some(scope)) => format!("class `{class}` in `{scope}`"),
                (Some(class), None) => format!("class `{class}`"),
                (None, scope) => format!("`{}`", scope.as_deref().unwrap_or_default()),
            };
            Err(Failure::input(
                format!(
                    "no {what} `{}` in {place}; it is defined in:\n{}",
                    rename.old,
                    list(&all)
                ),
                Some("name one of those (`in PATH`, or `CLASS.METHOD` for a method)".into()),
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
                Some(match &first.class {
                    Some(class) => format!(
                        "say which one, e.g. `rename method {class}.{} to {} in {}`",
                        rename.old, rename.new, first.path
                    ),
                    None => format!(
                        "say which one, e.g. `rename {} to {} in {}`",
                        rename.old, rename.new, first.path
                    ),
                }),
            ))
        }
    }
}
