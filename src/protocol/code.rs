//! The `code` role: Python analysis (definitions, rename sites, module
//! resolution), structural replace and the refactors that answer with
//! edits (`ReplaceOutput`), and syntax checks.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Page;
use crate::edit::{Edit, EditKind};

/// What kind of definition `definitions` looks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DefinitionKind {
    #[default]
    Any,
    Function,
    Class,
    Variable,
    Method,
    /// An attribute of a module-level class (assigned in its body or by
    /// its methods), not a method.
    Attribute,
}

impl DefinitionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionKind::Any => "any",
            DefinitionKind::Function => "function",
            DefinitionKind::Class => "class",
            DefinitionKind::Variable => "variable",
            DefinitionKind::Method => "method",
            DefinitionKind::Attribute => "attribute",
        }
    }

    /// The kind the Python engine names `name` (`function`, `class`,
    /// `variable`, `method`); anything else is [`DefinitionKind::Any`].
    pub fn named(name: &str) -> Self {
        [
            DefinitionKind::Function,
            DefinitionKind::Class,
            DefinitionKind::Variable,
            DefinitionKind::Method,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
        .unwrap_or(DefinitionKind::Any)
    }

    /// Whether a definition of `kind` is one of this kind.
    pub fn admits(self, kind: DefinitionKind) -> bool {
        self == DefinitionKind::Any || self == kind
    }
}

impl std::fmt::Display for DefinitionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `definitions`: module-level definitions of a name (or, for
/// [`DefinitionKind::Method`], the module-level classes defining it).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Definitions {
    pub name: String,
    #[serde(default)]
    pub kind: DefinitionKind,
    /// Parse only the statements that name it. Off by default: whole
    /// trees stay cached for the analyses that parse the same files next.
    #[serde(default)]
    pub focused: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Definition {
    pub path: String,
    pub module: String,
    pub kind: DefinitionKind,
    pub line: usize,
    pub column: usize,
    /// The class, for a method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DefinitionsResult {
    pub definitions: Vec<Definition>,
    pub files_scanned: usize,
}

/// `similar_names`: module-level names closest to a name.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct SimilarNames {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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

/// `rename_references`: every site a rename edits.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RenameReferences {
    /// File that defines the name.
    pub definition: String,
    /// For a method: the module-level class (in `definition`) that defines it.
    #[serde(default)]
    pub class: Option<String>,
    /// Rename this parameter of the function or method `name` (to `new_name`).
    #[serde(default)]
    pub parameter: Option<String>,
    /// With `class`: `name` is an attribute of the class, not a method.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub attribute: bool,
    /// Also edit the sites reported as uncertain.
    #[serde(default)]
    pub include_uncertain: bool,
    /// Also edit mentions in strings and comments.
    #[serde(default)]
    pub include_strings: bool,
    pub name: String,
    pub new_name: String,
    /// Files that may refer to the name (every file that contains it).
    pub files: Vec<String>,
    /// Sites as starts alone, without files' SHA-1s (see
    /// [`FileSites::brief`]): the caller reads the files itself.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub brief: bool,
    /// Paging over the files with sites.
    #[serde(flatten)]
    pub page: Page,
}

/// The sites of one file, compactly: every site spans the renamed name,
/// so a site is its start and its line; per kind, a flat list of
/// `start, line` pairs, each a delta from the previous pair of the list
/// (the first from 0 and line 1). A 355-site rename fits the phase budget.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FileSites {
    pub path: String,
    /// Empty when brief.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha1: String,
    pub sites: BTreeMap<EditKind, Vec<usize>>,
    /// Syntax errors before the edit (see `RenameOutput::syntax_focus`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub errors: usize,
}

/// One site: where the renamed name starts, its line, and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Site {
    pub start: usize,
    pub line: usize,
    pub kind: EditKind,
}

impl FileSites {
    /// Encodes `sites` (any order) for the wire.
    pub fn encode(
        path: String,
        sha1: String,
        errors: usize,
        sites: impl IntoIterator<Item = Site>,
    ) -> Self {
        let mut by_kind: BTreeMap<EditKind, Vec<(usize, usize)>> = BTreeMap::new();
        for site in sites {
            by_kind
                .entry(site.kind)
                .or_default()
                .push((site.start, site.line));
        }
        let sites = by_kind
            .into_iter()
            .map(|(kind, mut list)| {
                list.sort();
                let (mut start, mut line) = (0, 1);
                let mut flat = Vec::with_capacity(list.len() * 2);
                for (s, l) in list {
                    flat.push(s - start);
                    flat.push(l.saturating_sub(line));
                    (start, line) = (s, l);
                }
                (kind, flat)
            })
            .collect();
        FileSites {
            path,
            sha1,
            sites,
            errors,
        }
    }

    /// The sites, sorted by start; `None` if the lists are malformed.
    pub fn decode(&self) -> Option<Vec<Site>> {
        let mut out = Vec::new();
        for (kind, flat) in &self.sites {
            if flat.len() % 2 != 0 {
                return None;
            }
            let (mut start, mut line) = (0usize, 1usize);
            for pair in flat.chunks(2) {
                start = start.checked_add(pair[0])?;
                line = line.checked_add(pair[1])?;
                out.push(Site {
                    start,
                    line,
                    kind: *kind,
                });
            }
        }
        out.sort_by_key(|s| s.start);
        Some(out)
    }

    /// How many sites it holds (the lists of [`FileSites::decode`]).
    pub fn site_count(&self) -> usize {
        self.sites.values().map(|flat| flat.len() / 2).sum()
    }

    /// The same sites without lines or SHA-1 (half the tokens): per kind,
    /// each start as a delta from the previous one (the first from 0). The
    /// reader takes lines and the SHA-1 from the file.
    pub fn brief(&self) -> Option<Self> {
        let mut sites: BTreeMap<EditKind, Vec<usize>> = BTreeMap::new();
        for site in self.decode()? {
            sites.entry(site.kind).or_default().push(site.start);
        }
        for starts in sites.values_mut() {
            let mut previous = 0;
            for start in starts.iter_mut() {
                (*start, previous) = (*start - previous, *start);
            }
        }
        Some(FileSites {
            path: self.path.clone(),
            sha1: String::new(),
            sites,
            errors: self.errors,
        })
    }

    /// The (start, kind) of [`FileSites::brief`]'s sites, sorted by start;
    /// `None` if a start overflows.
    pub fn decode_brief(&self) -> Option<Vec<(usize, EditKind)>> {
        let mut out = Vec::new();
        for (kind, deltas) in &self.sites {
            let mut start = 0usize;
            for delta in deltas {
                start = start.checked_add(*delta)?;
                out.push((start, *kind));
            }
        }
        out.sort_by_key(|(start, _)| *start);
        Some(out)
    }
}

/// A place in a file, with what there is to say about it.
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
    /// The files' sites are brief ([`FileSites::brief`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub brief: bool,
    /// How every code occurrence of the old name in the analysed files was
    /// accounted for (edited, another binding, uncertain); module-level
    /// functions and classes only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounting: Option<Accounting>,
    pub clashes: Vec<NoteOut>,
    pub mentions: Vec<NoteOut>,
    pub uncertain: Vec<NoteOut>,
    pub mentions_total: usize,
    pub uncertain_total: usize,
    /// Syntax error counts (before the edit) of the files with sites: in
    /// each file's `errors` (this map is empty; kept for old clients).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parse_errors: BTreeMap<String, usize>,
    /// Files that define or re-export the name.
    pub target_modules: Vec<String>,
    pub files_analysed: usize,
    /// Files with sites in all pages.
    pub total_files: usize,
    /// The names `parse_errors` is focused on: it counts the errors of the
    /// statements that name them (and the imports), not of whole files.
    /// Empty: whole files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub syntax_focus: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
}

/// How every code occurrence of the old name was accounted for: edited,
/// proved to be another binding, or listed as uncertain. Nothing else is
/// possible: a rename never misses a site silently.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Accounting {
    /// Occurrences the rename edits (code; `__all__` entries and strings
    /// not counted).
    pub edited: usize,
    /// Occurrences that are another binding: a local of the same name, an
    /// attribute of another module, a keyword argument, a module path.
    pub other: usize,
    /// Occurrences listed as uncertain, with their reason.
    pub uncertain: usize,
    /// How many of all these are in doctests (`>>>` lines of docstrings).
    #[serde(default)]
    pub in_doctests: usize,
}

impl Accounting {
    /// Every occurrence counted.
    pub fn total(&self) -> usize {
        self.edited + self.other + self.uncertain
    }
}

/// `test_impact`: the project's test files in tiers for a change (see
/// `lang::python::impact`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TestImpact {
    /// Files the change edits, creates or deletes.
    pub changed: Vec<String>,
    /// Names the change renames or moves away: tests that mention them are
    /// in tier a.
    #[serde(default)]
    pub old_names: Vec<String>,
    /// Byte ranges the change edits, per file (offsets before the change):
    /// the functions and classes around them are the changed symbols, and
    /// tests that name them, or name code that calls them, are tiered
    /// before the rest of their module's importers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub edited: BTreeMap<String, Vec<[usize; 2]>>,
    /// What traced runs recorded about the edited files' functions (see
    /// [`CallEvidence`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<CallEvidence>,
}

/// Recorded evidence of which test files run which functions of the
/// edited files: a test file that ran a changed function is in tier a; one
/// whose recording covers every edited file and ran none of the changed
/// functions drops to tier c (when every edit is inside a function or
/// class: module-level code runs on import).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CallEvidence {
    /// `path::qualname` → test files that ran it.
    #[serde(default)]
    pub ran: BTreeMap<String, Vec<String>>,
    /// Edited file → test files whose recording covers it as it is.
    #[serde(default)]
    pub traced: BTreeMap<String, Vec<String>>,
    /// `path::qualname` → the tests that ran it (`tests/test_a.py::TestK::
    /// test_x`, parameters left out), or a test file itself when what its
    /// tests share ran it (its import, a fixture of a wider scope).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub items: BTreeMap<String, Vec<String>>,
    /// Test files of `traced` whose recording tells their tests apart, with
    /// their tests (node ids after the file): only those that ran a changed
    /// function (or name an old name, or are edited) are in tier a; the
    /// rest of the file goes with the files that ran none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tests: BTreeMap<String, Vec<String>>,
}

/// The selection of tiers a–c, and how many test files each tier holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct TestImpactOutput {
    /// The test paths of tier a, then of b and c: a directory stands for
    /// every test file under it when all of them are in the tier (with
    /// doctests, changed modules are paths of their own, in tier a).
    pub tier_a: Vec<String>,
    pub tier_b: Vec<String>,
    pub tier_c: Vec<String>,
    pub a: usize,
    pub b: usize,
    pub c: usize,
    /// Test files that do not import a changed module at all.
    pub d: usize,
    /// The project's pytest configuration runs doctests (`--doctest-modules`).
    pub doctests: bool,
    /// Test files of which only some tests are in tier a (listed in
    /// `tier_a` as node ids, `file::Class::test`; counted in `a`): their
    /// recordings tell the tests apart. The rest of each is in tier c (the
    /// file's path), or d.
    #[serde(default)]
    pub split: usize,
}

impl TestImpactOutput {
    /// The paths of tiers a–c, tier a first.
    pub fn selection(&self) -> Vec<String> {
        let mut all = self.tier_a.clone();
        all.extend(self.tier_b.iter().cloned());
        all.extend(self.tier_c.iter().cloned());
        all
    }
}

/// `structural_replace`: the replacements for every match of a pattern.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StructuralReplace {
    /// ast-grep pattern: `$X` matches one node, `$$$XS` any number.
    pub pattern: String,
    /// The replacement; captured metavariables are substituted.
    pub rewrite: String,
    /// Only this language (`python`, `rust`, `javascript`, `typescript`, `tsx`, `go`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Files to rewrite (relative paths; files in other languages are skipped).
    #[serde(default)]
    pub files: Vec<String>,
    /// Instead of `files`: every project file under these relative paths
    /// (every project file when empty), found by the server itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Answer with where the edits start (each file's `sites`) instead of
    /// the edits: the caller derives them from the same pattern, rewrite
    /// and file, and checks it finds the same sites.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sites_only: bool,
    /// Paging over the files with matches.
    #[serde(flatten)]
    pub page: Page,
}

/// The replacements of one file: as [`Edit`]s, or compactly as `rows`
/// over the page's string table (see [`ReplaceOutput::compact`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct FileReplacements {
    pub path: String,
    /// Empty with `sites`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha1: String,
    /// Empty with `sites`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub language: String,
    /// With `sites_only`: the byte offsets where the edits start, each
    /// after the previous one (the first from 0), space-separated: `"1520 41"`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sites: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replacements: Vec<Edit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<Row>,
    /// Syntax errors before the edit, with `rows` (the page's
    /// `parse_errors` otherwise).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub errors: usize,
}

/// A piece of an edit's text: an entry of the page's string table, or the
/// text itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Piece {
    Shared(usize),
    Text(String),
}

/// One edit, compactly: its start and line as deltas from the previous
/// edit of the file (the first from 0 and line 1), then the old and the new
/// text as pieces. `[1520, 41, [0, "cwd"], [1, "cwd"]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Row(pub i64, pub i64, pub Vec<Piece>, pub Vec<Piece>);

/// A file a change creates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NewFile {
    pub path: String,
    pub content: String,
}

/// A file a change deletes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DeletedFile {
    pub path: String,
    pub sha1: String,
}

/// The answer of every refactor that edits: the edits per file, what was
/// left alone, and why the change cannot be made, if it cannot.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct ReplaceOutput {
    pub files: Vec<FileReplacements>,
    /// Languages among the files in which the pattern is not valid, with why.
    pub invalid: BTreeMap<String, String>,
    /// Matches left alone because the file would not parse after them.
    pub refused: Vec<NoteOut>,
    pub refused_total: usize,
    /// Why the change cannot be made at all (the plan is refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<NoteOut>,
    /// How many problems there were (more than listed when large).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub problems_total: usize,
    /// What the change does beyond the edits, for people (e.g. the
    /// functions made async).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<NoteOut>,
    /// Files the change creates (first page only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub creates: Vec<NewFile>,
    /// Files the change deletes (first page only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deletes: Vec<DeletedFile>,
    /// Syntax error counts (before the edit) of the files with matches.
    pub parse_errors: BTreeMap<String, usize>,
    pub files_scanned: usize,
    /// Files with matches in all pages.
    pub total_files: usize,
    pub total_matches: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
    /// The string table of the files' `rows`: texts that recur across the
    /// page's edits (`os.path.join(`, `) / `, a repeated argument).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strings: Vec<String>,
}

/// The lexical runs of a text: words, spaces, and other characters, each a
/// maximal run of its class.
fn lexemes(text: &str) -> Vec<&str> {
    fn class(c: char) -> u8 {
        if c == '_' || c.is_alphanumeric() {
            0
        } else if c.is_whitespace() {
            1
        } else {
            2
        }
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut last = None;
    for (i, c) in text.char_indices() {
        let k = class(c);
        if last.is_some_and(|l| l != k) {
            out.push(&text[start..i]);
            start = i;
        }
        last = Some(k);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

impl ReplaceOutput {
    /// Encodes every file's `replacements` as `rows`: positions as deltas,
    /// texts as pieces over one string table for the page. The table is
    /// built like byte-pair encoding over lexemes: the most frequent
    /// adjacent pair across the page's texts is merged, again and again,
    /// so a pattern's fixed text (`os.path.join(`), a rewrite's (`) / `)
    /// and repeated arguments become single entries; what is left travels
    /// as text. [`ReplaceOutput::expand`] restores the edits exactly.
    pub fn compact(&mut self) {
        use std::collections::HashMap;
        let mut texts: Vec<Vec<String>> = self
            .files
            .iter()
            .flat_map(|f| f.replacements.iter())
            .flat_map(|e| [&e.old, &e.new])
            .map(|t| lexemes(t).into_iter().map(str::to_owned).collect())
            .collect();
        for _ in 0..256 {
            let mut pairs: HashMap<(&str, &str), usize> = HashMap::new();
            for text in &texts {
                for pair in text.windows(2) {
                    *pairs.entry((&pair[0], &pair[1])).or_default() += 1;
                }
            }
            // The most frequent pair (ties: the first in order, so the
            // table does not depend on hashing).
            let Some(((a, b), _)) = pairs
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .max_by(|x, y| x.1.cmp(&y.1).then_with(|| y.0.cmp(&x.0)))
            else {
                break;
            };
            let (a, b) = (a.to_owned(), b.to_owned());
            for text in &mut texts {
                let mut merged = Vec::with_capacity(text.len());
                let mut i = 0;
                while i < text.len() {
                    if i + 1 < text.len() && text[i] == a && text[i + 1] == b {
                        merged.push(format!("{a}{b}"));
                        i += 2;
                    } else {
                        merged.push(std::mem::take(&mut text[i]));
                        i += 1;
                    }
                }
                *text = merged;
            }
        }
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for symbol in texts.iter().flatten() {
            *counts.entry(symbol).or_default() += 1;
        }
        let mut table: Vec<String> = Vec::new();
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let mut encoded = texts.iter().map(|symbols| {
            let mut out: Vec<Piece> = Vec::new();
            for symbol in symbols {
                if symbol.len() >= 2 && counts[symbol.as_str()] > 1 {
                    let id = *ids.entry(symbol).or_insert_with(|| {
                        table.push(symbol.clone());
                        table.len() - 1
                    });
                    out.push(Piece::Shared(id));
                } else if let Some(Piece::Text(last)) = out.last_mut() {
                    last.push_str(symbol);
                } else {
                    out.push(Piece::Text(symbol.clone()));
                }
            }
            out
        });
        for file in &mut self.files {
            // The file's error count travels with it (its path once).
            file.errors = self.parse_errors.remove(&file.path).unwrap_or(0);
            let (mut start, mut line) = (0i64, 1i64);
            let mut rows = Vec::with_capacity(file.replacements.len());
            for edit in std::mem::take(&mut file.replacements) {
                let (s, l) = (edit.start as i64, edit.line as i64);
                let old = encoded.next().unwrap_or_default();
                let new = encoded.next().unwrap_or_default();
                rows.push(Row(s - start, l - line, old, new));
                (start, line) = (s, l);
            }
            file.rows = rows;
        }
        drop(encoded);
        self.strings = table;
    }

    /// Restores the `replacements` of every file from its `rows` (a page
    /// from a server that sends edits as they are is left as it is).
    pub fn expand(&mut self) -> Result<(), String> {
        let strings = std::mem::take(&mut self.strings);
        let text = |pieces: &[Piece]| -> Result<String, String> {
            let mut out = String::new();
            for piece in pieces {
                match piece {
                    Piece::Shared(id) => out.push_str(
                        strings
                            .get(*id)
                            .ok_or_else(|| format!("string {id} is not in the table"))?,
                    ),
                    Piece::Text(text) => out.push_str(text),
                }
            }
            Ok(out)
        };
        for file in &mut self.files {
            if !file.rows.is_empty() || !file.sites.is_empty() {
                self.parse_errors
                    .insert(file.path.clone(), std::mem::take(&mut file.errors));
            }
            let (mut start, mut line) = (0i64, 1i64);
            for Row(ds, dl, old, new) in std::mem::take(&mut file.rows) {
                (start, line) = (start + ds, line + dl);
                let (Ok(s), Ok(l)) = (usize::try_from(start), usize::try_from(line)) else {
                    return Err(format!(
                        "{}: an edit before the start of the file",
                        file.path
                    ));
                };
                let old = text(&old)?;
                file.replacements.push(Edit {
                    start: s,
                    end: s + old.len(),
                    line: l,
                    old,
                    new: text(&new)?,
                });
            }
        }
        Ok(())
    }
}

/// Byte offsets as [`FileReplacements::sites`] carries them: sorted, each
/// after the previous one, space-separated.
pub fn encode_sites(starts: impl IntoIterator<Item = usize>) -> String {
    let mut starts: Vec<usize> = starts.into_iter().collect();
    starts.sort_unstable();
    let mut previous = 0;
    let mut out = Vec::with_capacity(starts.len());
    for start in starts {
        out.push((start - previous).to_string());
        previous = start;
    }
    out.join(" ")
}

/// The byte offsets of [`encode_sites`]' text.
pub fn decode_sites(text: &str) -> Result<Vec<usize>, String> {
    let mut at = 0usize;
    text.split_ascii_whitespace()
        .map(|delta| {
            let delta: usize = delta
                .parse()
                .map_err(|_| format!("`{delta}` is not a site offset"))?;
            at = at
                .checked_add(delta)
                .ok_or_else(|| "a site offset overflows".to_owned())?;
            Ok(at)
        })
        .collect()
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The files of a clean-up (`unused_imports`, `unused_functions`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Cleanup {
    /// Python files to clean (others are skipped).
    pub files: Vec<String>,
    /// Every project file that may import from them [default: `files`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importers: Option<Vec<String>>,
    #[serde(flatten)]
    pub page: Page,
}

/// `unused_imports`: the edits that remove unused imports.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct UnusedImports {
    #[serde(flatten)]
    pub cleanup: Cleanup,
}

/// `unused_functions`: the deletions of unreferenced private functions.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct UnusedFunctions {
    #[serde(flatten)]
    pub cleanup: Cleanup,
}

/// A parameter added to or removed from a function or method.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Signature {
    /// File that defines the function.
    pub definition: String,
    /// For a method: its module-level class.
    #[serde(default)]
    pub class: Option<String>,
    /// The function or method.
    pub name: String,
    pub parameter: String,
    /// Python expression for the default (`add_parameter` only).
    #[serde(default)]
    pub default: String,
    /// Files that may refer to the function.
    pub files: Vec<String>,
    #[serde(flatten)]
    pub page: Page,
}

/// `add_parameter`: the insertions that add a parameter with a default.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AddParameter {
    #[serde(flatten)]
    pub signature: Signature,
}

/// `reorder_parameters`: the edits that move `signature.parameter` before
/// or after `other`, or swap the two (both empty with `swap`: the only two
/// parameters that can be passed by position), in the definitions and at
/// every call.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ReorderParameters {
    #[serde(flatten)]
    pub signature: Signature,
    #[serde(default)]
    pub other: String,
    /// `before`, `after` or `swap`.
    pub placement: String,
}

/// `remove_parameter`: the deletions that remove a parameter.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RemoveParameter {
    #[serde(flatten)]
    pub signature: Signature,
}

/// `make_async`: a function or method (with `definition` and `name`), or
/// every module-level function of `modules`, made async with its callers.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MakeAsync {
    /// File that defines the function (with `name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<String>,
    /// For a method: its module-level class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The function or method to make async.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Files whose module-level functions all become async.
    #[serde(default)]
    pub modules: Vec<String>,
    #[serde(flatten)]
    pub page: Page,
}

/// `move_symbol`: move a module-level function or class to a module.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct MoveSymbol {
    /// File that defines the function or class.
    pub definition: String,
    pub name: String,
    /// The target module's path (created when it does not exist).
    pub target: String,
    /// Leave `from NEW import NAME` in the old module.
    #[serde(default)]
    pub keep_alias: bool,
    #[serde(flatten)]
    pub page: Page,
}

/// `rename_module`: rename (or move) a module file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RenameModule {
    /// The module file to rename.
    pub path: String,
    /// Its new path (must not exist).
    pub new_path: String,
    #[serde(flatten)]
    pub page: Page,
}

/// `modules`: the Python modules and packages a name can mean.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Modules {
    /// A path (`shop/pricing.py`, `shop/pricing/`), a dotted module
    /// (`shop.pricing`) or a bare name (`pricing`).
    pub name: String,
}

/// One module or package a name can mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ModuleMatch {
    /// Canonical dotted name.
    pub module: String,
    /// The file, or the package directory.
    pub path: String,
    pub package: bool,
    /// Its Python files (a package's, recursively).
    pub files: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ModulesResult {
    pub matches: Vec<ModuleMatch>,
    /// Closest module names when nothing matches.
    pub similar: Vec<String>,
}

/// `check_syntax`: syntax error counts of source files.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckSyntax {
    pub paths: Vec<String>,
    /// Count only the errors of the Python statements that name one of
    /// these (and the imports), as the plan's counts were taken (see
    /// `rename_references`' `syntax_focus`). Empty: whole files.
    #[serde(default)]
    pub focus: Vec<String>,
    /// List only the files with errors; count the others in `clean`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub omit_clean: bool,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// File -> number of syntax error nodes.
    pub errors: BTreeMap<String, usize>,
    /// With `omit_clean`: how many files have none (and are not listed).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub clean: usize,
}

crate::protocol::define_calls! {
    Code {
        Definitions => "definitions" -> DefinitionsResult;
        SimilarNames => "similar_names" -> SimilarResult;
        RenameReferences => "rename_references" -> RenameOutput;
        StructuralReplace => "structural_replace" -> ReplaceOutput;
        UnusedImports => "unused_imports" -> ReplaceOutput;
        UnusedFunctions => "unused_functions" -> ReplaceOutput;
        AddParameter => "add_parameter" -> ReplaceOutput;
        RemoveParameter => "remove_parameter" -> ReplaceOutput;
        ReorderParameters => "reorder_parameters" -> ReplaceOutput;
        MakeAsync => "make_async" -> ReplaceOutput;
        MoveSymbol => "move_symbol" -> ReplaceOutput;
        RenameModule => "rename_module" -> ReplaceOutput;
        Modules => "modules" -> ModulesResult;
        CheckSyntax => "check_syntax" -> CheckResult;
        TestImpact => "test_impact" -> TestImpactOutput, for "test selection (without it, the whole suite runs)";
    }
}

macro_rules! paged {
    ($($call:ty => $($field:tt).+;)*) => {
        $(impl super::Paged for $call {
            fn page_mut(&mut self) -> &mut Page {
                &mut self.$($field).+
            }
        })*
    };
}

paged! {
    RenameReferences => page;
    StructuralReplace => page;
    UnusedImports => cleanup.page;
    UnusedFunctions => cleanup.page;
    AddParameter => signature.page;
    RemoveParameter => signature.page;
    ReorderParameters => signature.page;
    MakeAsync => page;
    MoveSymbol => page;
    RenameModule => page;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start: usize, line: usize, old: &str, new: &str) -> Edit {
        Edit {
            start,
            end: start + old.len(),
            line,
            old: old.into(),
            new: new.into(),
        }
    }

    #[test]
    fn brief_rename_sites_keep_every_start_and_kind() {
        let sites = [
            Site {
                start: 90,
                line: 7,
                kind: EditKind::Attribute,
            },
            Site {
                start: 4,
                line: 1,
                kind: EditKind::Definition,
            },
            Site {
                start: 40,
                line: 3,
                kind: EditKind::Attribute,
            },
        ];
        let full = FileSites::encode("m.py".into(), "ab".repeat(20), 2, sites);
        let brief = full.brief().unwrap();
        assert!(brief.sha1.is_empty());
        assert_eq!(brief.errors, 2);
        assert_eq!(
            brief.decode_brief().unwrap(),
            [
                (4, EditKind::Definition),
                (40, EditKind::Attribute),
                (90, EditKind::Attribute)
            ]
        );
        let json = serde_json::to_string(&brief).unwrap();
        assert!(!json.contains("sha1"), "{json}");
        // No SHA-1, and one number a site instead of two.
        assert_eq!(
            json,
            r#"{"path":"m.py","sites":{"definition":[4],"attribute":[40,50]},"errors":2}"#
        );
    }

    #[test]
    fn sites_travel_as_sorted_deltas() {
        let text = encode_sites([40, 3, 1520, 40]);
        assert_eq!(text, "3 37 0 1480");
        assert_eq!(decode_sites(&text).unwrap(), [3, 40, 40, 1520]);
        assert_eq!(decode_sites("").unwrap(), Vec::<usize>::new());
        assert!(decode_sites("3 x").is_err());
        assert!(decode_sites(&format!("{} 1", usize::MAX)).is_err());
    }

    /// Rows and the string table restore every edit exactly, whatever the
    /// texts (recurring or not, empty, non-ASCII, out of order, inserts at
    /// one place), and similar rewrites cost a fraction of their JSON.
    #[test]
    fn edits_travel_as_rows_and_come_back_exactly() {
        let mut files = vec![
            FileReplacements {
                path: "a.py".into(),
                sha1: "0".repeat(40),
                language: "python".into(),
                sites: String::new(),
                replacements: vec![
                    edit(
                        10,
                        2,
                        "os.path.join(BASE_DIR, 'templates')",
                        "Path(BASE_DIR) / 'templates'",
                    ),
                    edit(90, 5, "os.path.join(root, name)", "Path(root) / name"),
                    edit(90, 5, "", "import x\n"),
                    edit(40, 3, "é́  \t", ""),
                    edit(
                        300,
                        9,
                        "os.path.join(here, 'données')",
                        "Path(here) / 'données'",
                    ),
                ],
                rows: Vec::new(),
                errors: 0,
            },
            FileReplacements {
                path: "b.py".into(),
                sha1: "1".repeat(40),
                language: "python".into(),
                sites: String::new(),
                replacements: (0..50)
                    .map(|i| {
                        edit(
                            100 * i,
                            3 * i + 1,
                            &format!("os.path.join(settings.BASE_DIR, 'f{i}')"),
                            &format!("Path(settings.BASE_DIR) / 'f{i}'"),
                        )
                    })
                    .collect(),
                rows: Vec::new(),
                errors: 0,
            },
        ];
        let original: Vec<Vec<Edit>> = files.iter().map(|f| f.replacements.clone()).collect();
        let spelt_out = serde_json::to_string(&files).unwrap().len();
        let mut page = ReplaceOutput {
            files: std::mem::take(&mut files),
            ..ReplaceOutput::default()
        };
        page.compact();
        assert!(page.files.iter().all(|f| f.replacements.is_empty()));
        assert!(
            page.strings.contains(&"os.path.join(".to_owned()),
            "{:?}",
            page.strings
        );
        let wire = serde_json::to_string(&page).unwrap();
        assert!(
            wire.len() * 2 < spelt_out,
            "{} bytes against {spelt_out}",
            wire.len()
        );
        let mut back: ReplaceOutput = serde_json::from_str(&wire).unwrap();
        back.expand().unwrap();
        let restored: Vec<Vec<Edit>> = back.files.iter().map(|f| f.replacements.clone()).collect();
        assert_eq!(restored, original);
        // A malformed table is an error, not a wrong edit.
        let mut bad: ReplaceOutput = serde_json::from_str(&wire).unwrap();
        bad.strings.clear();
        assert!(bad.expand().is_err());
    }

    #[test]
    fn sites_travel_as_deltas_and_come_back_exactly() {
        let sites = vec![
            Site {
                start: 4,
                line: 1,
                kind: EditKind::Definition,
            },
            Site {
                start: 120,
                line: 7,
                kind: EditKind::Reference,
            },
            Site {
                start: 95,
                line: 6,
                kind: EditKind::Import,
            },
            Site {
                start: 300,
                line: 7,
                kind: EditKind::Reference,
            },
            Site {
                start: 12_000,
                line: 410,
                kind: EditKind::Reference,
            },
        ];
        let file = FileSites::encode("m.py".into(), "0".repeat(40), 0, sites.clone());
        assert_eq!(
            file.sites[&EditKind::Reference],
            vec![120, 6, 180, 0, 11_700, 403]
        );
        assert_eq!(file.site_count(), 5);
        let mut expected = sites;
        expected.sort_by_key(|s| s.start);
        assert_eq!(file.decode().unwrap(), expected);
        let text = serde_json::to_string(&file).unwrap();
        assert!(
            text.contains(r#""reference":[120,6,180,0,11700,403]"#),
            "{text}"
        );
        let odd = FileSites {
            sites: BTreeMap::from([(EditKind::Reference, vec![1])]),
            ..file
        };
        assert!(odd.decode().is_none());
    }
}
