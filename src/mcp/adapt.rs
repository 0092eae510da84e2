//! Maps orch's calls onto a configured server's own tools (`roles` in the
//! config) and reads the results back into orch's shapes.
//!
//! Built-in servers, and servers given a role without a mapping, are called
//! with orch's own tool names and arguments. A mapping renames the tool and
//! fills an argument template from the call's variables; the result format
//! says how to read the reply. For the `fs` role orch checks every mapped
//! edit itself: the preimage before the call and the exact result after it.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::config::{ResultFormat, render};
use super::{Error, Reply, Role, ServerSpec, Source};
use crate::edit::{self, Edit};
use crate::plan::sha1_hex;

/// What to do for one call.
pub(super) enum Prepared {
    /// Answered by orch itself (no server involved).
    Local(Value),
    Remote {
        tool: String,
        arguments: Value,
        finish: Finish,
    },
}

/// How to turn the reply into orch's shape.
pub(super) enum Finish {
    /// As it came (orch's own shape, or text orch does not read).
    Json,
    /// ripgrep output read into orch's search result.
    Ripgrep {
        /// `PATH:N` lines (else `PATH:LINE:TEXT`).
        counts: bool,
        root: PathBuf,
    },
    Edit {
        path: String,
        abs_path: PathBuf,
        sha1_before: String,
        sha1_after: String,
    },
}

/// A server serving `role` through a mapping (not orch's own interface).
fn mapped(spec: &ServerSpec, role: Role) -> bool {
    spec.source != Source::Builtin && spec.roles.get(&role).is_some_and(|m| !m.is_empty())
}

/// Whether orch answers `call` itself: `fs.hash_files` on a mapped fs
/// server that has no such tool (orch reads its own worktree instead).
pub(super) fn is_local(spec: &ServerSpec, role: Role, call: &str) -> bool {
    role == Role::Fs
        && call == "hash_files"
        && mapped(spec, role)
        && !spec.roles[&role].contains_key(call)
}

pub(super) fn prepare(
    spec: &ServerSpec,
    role: Role,
    call: &str,
    arguments: &Value,
    root: &Path,
) -> Result<Prepared, Error> {
    let tool_error = |message: String| Error::Tool {
        server: spec.name.clone(),
        tool: call.to_owned(),
        message,
    };
    if is_local(spec, role, call) {
        let paths: Vec<String> = arguments
            .get("paths")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut files = Vec::new();
        for path in paths {
            let sha1 = match std::fs::read(root.join(&path)) {
                Ok(bytes) => Some(sha1_hex(&bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(tool_error(format!("cannot read `{path}`: {e}"))),
            };
            files.push(json!({ "path": path, "sha1": sha1 }));
        }
        return Ok(Prepared::Local(json!({ "files": files })));
    }
    let Some(mapping) = spec.roles.get(&role).and_then(|m| m.get(call)) else {
        return Ok(Prepared::Remote {
            tool: call.to_owned(),
            arguments: arguments.clone(),
            finish: Finish::Json,
        });
    };
    let mut vars: Map<String, Value> = arguments.as_object().cloned().unwrap_or_default();
    vars.insert("root".into(), json!(root.to_string_lossy()));
    let ripgrep = |counts| Finish::Ripgrep {
        counts,
        root: root.to_owned(),
    };
    let mut finish = match mapping.result {
        ResultFormat::Json | ResultFormat::Text => Finish::Json,
        ResultFormat::RgCount => ripgrep(true),
        ResultFormat::RgLines => ripgrep(false),
    };
    match (role, call) {
        (Role::Search, "search") => {
            search_vars(&mut vars);
            // Text from a search server is read as ripgrep lines.
            if mapping.result == ResultFormat::Text {
                finish = ripgrep(false);
            }
        }
        (Role::Fs, "hash_files") => {
            let abs: Vec<Value> = vars
                .get("paths")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(|p| json!(root.join(p).to_string_lossy()))
                        .collect()
                })
                .unwrap_or_default();
            vars.insert("abs_paths".into(), Value::Array(abs));
        }
        (Role::Fs, "edit_file") => {
            let path = vars
                .get("path")
                .and_then(Value::as_str)
                .ok_or_else(|| tool_error("no path".into()))?
                .to_owned();
            let expected = vars
                .get("expected_sha1")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let edits: Vec<Edit> =
                serde_json::from_value(vars.get("edits").cloned().unwrap_or(Value::Null))
                    .map_err(|e| tool_error(format!("bad edits: {e}")))?;
            let abs_path = root.join(&path);
            let before = std::fs::read_to_string(&abs_path)
                .map_err(|e| tool_error(format!("cannot read `{path}`: {e}")))?;
            let sha1_before = sha1_hex(before.as_bytes());
            if sha1_before != expected {
                return Err(tool_error(format!(
                    "`{path}` changed: its SHA-1 is {sha1_before}, the edit expects {expected}; nothing written"
                )));
            }
            let after = edit::apply(&before, &edits)
                .map_err(|e| tool_error(format!("`{path}`: {e}; nothing written")))?;
            let uses_text_edits = mapping
                .arguments
                .as_ref()
                .is_some_and(|a| a.to_string().contains("{text_edits}"));
            if uses_text_edits && before.contains('\r') {
                return Err(tool_error(format!(
                    "`{path}` has CRLF line endings, which `{}` would rewrite; map `edit_file` to a whole-file write with `{{content}}` instead",
                    mapping.tool
                )));
            }
            vars.insert("abs_path".into(), json!(abs_path.to_string_lossy()));
            vars.insert("text_edits".into(), text_edits(&before, &edits));
            vars.insert("content".into(), json!(after));
            finish = Finish::Edit {
                path,
                abs_path,
                sha1_before,
                sha1_after: sha1_hex(after.as_bytes()),
            };
        }
        _ => {}
    }
    let arguments = match &mapping.arguments {
        Some(template) => render(template, &vars),
        None => arguments.clone(),
    };
    Ok(Prepared::Remote {
        tool: mapping.tool.clone(),
        arguments,
        finish,
    })
}

/// Derived variables for a search: `regex` (the pattern as a regex, with
/// word boundaries for `word`), `glob` (from the extensions).
fn search_vars(vars: &mut Map<String, Value>) {
    let pattern = vars
        .get("pattern")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let is_regex = vars.get("regex").and_then(Value::as_bool).unwrap_or(false);
    let word = vars.get("word").and_then(Value::as_bool).unwrap_or(false);
    let mut regex = if is_regex {
        pattern.clone()
    } else {
        regex_escape(&pattern)
    };
    if word {
        regex = format!(r"\b(?:{regex})\b");
    }
    vars.insert("is_regex".into(), json!(is_regex));
    vars.insert("regex".into(), json!(regex));
    let extensions: Vec<String> = vars
        .get("extensions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|e| e.trim_start_matches('.').to_owned())
                .collect()
        })
        .unwrap_or_default();
    let glob = match extensions.as_slice() {
        [] => Value::Null,
        [one] => json!(format!("*.{one}")),
        many => json!(format!("*.{{{}}}", many.join(","))),
    };
    vars.insert("glob".into(), glob);
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Byte edits as `{oldText, newText}` pairs of whole lines for servers that
/// replace the first occurrence of each `oldText` in turn (as
/// server-filesystem's `edit_file` does). They are listed from the end of
/// the file backwards, and each `oldText` grows upwards by whole lines
/// until its first occurrence in the file, as it is when the server gets to
/// it, is the intended one.
pub(crate) fn text_edits(source: &str, edits: &[Edit]) -> Value {
    // Line start offsets.
    let mut starts = vec![0usize];
    starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
    let line_of = |offset: usize| match starts.binary_search(&offset) {
        Ok(i) => i,
        Err(i) => i - 1,
    };
    let line_end = |line: usize| starts.get(line + 1).copied().unwrap_or(source.len());
    // Hunks: (first line, last line, edit indices), merged when they touch.
    let mut hunks: Vec<(usize, usize, Vec<usize>)> = Vec::new();
    for (i, edit) in edits.iter().enumerate() {
        let first = line_of(edit.start);
        let last = line_of(edit.end.saturating_sub(1).max(edit.start));
        match hunks.last_mut() {
            Some(hunk) if first <= hunk.1 => {
                hunk.1 = hunk.1.max(last);
                hunk.2.push(i);
            }
            _ => hunks.push((first, last, vec![i])),
        }
    }
    let render_hunk = |first: usize, last: usize, members: &[usize]| {
        let from = starts[first];
        let to = line_end(last);
        let old = &source[from..to];
        let local: Vec<Edit> = members
            .iter()
            .map(|&i| Edit {
                start: edits[i].start - from,
                end: edits[i].end - from,
                ..edits[i].clone()
            })
            .collect();
        let new = edit::apply(old, &local).unwrap_or_else(|_| old.to_owned());
        (from, old.to_owned(), new)
    };
    let mut out = Vec::new();
    // The content as the server sees it: later hunks already applied.
    let mut current = source.to_owned();
    while let Some((mut first, last, mut members)) = hunks.pop() {
        loop {
            let (from, old, new) = render_hunk(first, last, &members);
            if current.find(&old) == Some(from) || first == 0 {
                current.replace_range(from..from + old.len(), &new);
                out.push(json!({ "oldText": old, "newText": new }));
                break;
            }
            first -= 1;
            // Growing into the previous hunk merges it into this one.
            if let Some(previous) = hunks.last()
                && previous.1 >= first
            {
                let previous = hunks.pop().unwrap_or_default();
                first = previous.0;
                let mut merged = previous.2;
                merged.extend(members);
                members = merged;
            }
        }
    }
    Value::Array(out)
}

pub(super) fn finish(
    finish: &Finish,
    reply: Reply,
    server: &str,
    tool: &str,
) -> Result<Reply, Error> {
    match finish {
        Finish::Json => Ok(reply),
        Finish::Ripgrep { counts, root } => {
            let text = match &reply.value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Ok(Reply {
                value: rg_files(&text, root, *counts),
                ..reply
            })
        }
        Finish::Edit {
            path,
            abs_path,
            sha1_before,
            sha1_after,
        } => {
            let found = std::fs::read(abs_path)
                .map(|b| sha1_hex(&b))
                .unwrap_or_default();
            if &found != sha1_after {
                return Err(Error::Tool {
                    server: server.to_owned(),
                    tool: tool.to_owned(),
                    message: format!(
                        "after the edit `{path}` is not what orch planned (SHA-1 {found}, expected {sha1_after}); the run stops and nothing is committed"
                    ),
                });
            }
            Ok(Reply {
                value: json!({
                    "path": path,
                    "sha1_before": sha1_before,
                    "sha1_after": sha1_after,
                    "written": true,
                }),
                ..reply
            })
        }
    }
}

/// Reads ripgrep output (`PATH:N` counts, or `PATH:LINE:TEXT` lines) into
/// orch's search result: per-file counts, paths relative to `root`.
fn rg_files(text: &str, root: &Path, counts: bool) -> Value {
    let root_text = format!("{}/", root.to_string_lossy().trim_end_matches('/'));
    let mut files: Vec<(String, usize)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line == "No matches found" || line == "--" {
            continue;
        }
        let (path, rest) = match split_path(line, &root_text) {
            Some(split) => split,
            None => continue,
        };
        let path = path
            .strip_prefix(&root_text)
            .or_else(|| path.strip_prefix("./"))
            .unwrap_or(path)
            .to_owned();
        let n = if counts {
            match rest.trim().parse::<usize>() {
                Ok(n) => n,
                Err(_) => continue,
            }
        } else {
            // Context lines (`PATH-LINE-TEXT`) never reach here: they have no `:`.
            1
        };
        match files.iter_mut().find(|(p, _)| *p == path) {
            Some(entry) => entry.1 += n,
            None => files.push((path, n)),
        }
    }
    files.sort();
    let total = files.len();
    json!({
        "files": files.iter().map(|(p, n)| json!({"path": p, "count": n})).collect::<Vec<_>>(),
        "total": total,
        "files_searched": 0,
    })
}

/// Splits `PATH:REST` where PATH may itself contain `:` (absolute paths
/// under `root` are matched by prefix first).
fn split_path<'a>(line: &'a str, root: &str) -> Option<(&'a str, &'a str)> {
    if line.starts_with(root) {
        // The path ends at the first `:` followed by a digit.
        let bytes = line.as_bytes();
        let mut i = root.len();
        while i < bytes.len() {
            if bytes[i] == b':' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                return Some((&line[..i], &line[i + 1..]));
            }
            i += 1;
        }
        return None;
    }
    line.split_once(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(source: &str, old: &str, nth: usize, new: &str) -> Edit {
        let start = source.match_indices(old).nth(nth).unwrap().0;
        Edit {
            start,
            end: start + old.len(),
            line: 0,
            old: old.into(),
            new: new.into(),
        }
    }

    /// Applies `{oldText, newText}` pairs the way server-filesystem does.
    fn apply_like_server(source: &str, pairs: &Value) -> String {
        let mut content = source.to_owned();
        for pair in pairs.as_array().unwrap() {
            let old = pair["oldText"].as_str().unwrap();
            let new = pair["newText"].as_str().unwrap();
            assert!(content.contains(old), "{old:?} not in {content:?}");
            content = content.replacen(old, new, 1);
        }
        content
    }

    #[test]
    fn text_edits_hit_the_intended_occurrence() {
        let source = "def f():\n    return x\n\ndef g():\n    return x\n\nx = 1\nprint(x, x)\n";
        let edits = vec![
            edit(source, "x", 1, "y"),
            edit(source, "x", 2, "y"),
            edit(source, "x", 3, "y"),
            edit(source, "x", 4, "y"),
        ];
        let expected = edit::apply(source, &edits).unwrap();
        let pairs = text_edits(source, &edits);
        assert_eq!(apply_like_server(source, &pairs), expected);
        // The second `return x` is the first one the server would find: it
        // needs its `def g():` line to be unique.
        assert!(
            pairs
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["oldText"].as_str().unwrap().starts_with("def g():")),
            "{pairs:#}"
        );
    }

    #[test]
    fn text_edits_when_the_replacement_recreates_the_old_text() {
        // Renaming `a` to `b` where `b` lines already exist further up.
        let source = "b\na\nb\na\n";
        let edits = vec![edit(source, "a", 0, "b"), edit(source, "a", 1, "b")];
        let expected = edit::apply(source, &edits).unwrap();
        assert_eq!(
            apply_like_server(source, &text_edits(source, &edits)),
            expected
        );
    }

    #[test]
    fn ripgrep_counts_and_lines_become_per_file_counts() {
        let root = Path::new("/w/r");
        let counts = rg_files("/w/r/a.py:3\n/w/r/sub/b.py:1\n", root, true);
        assert_eq!(counts["total"], 2);
        assert_eq!(counts["files"][0], json!({"path": "a.py", "count": 3}));
        let lines = rg_files(
            "/w/r/a.py:1:x = 1\n/w/r/a.py:7:print(x: 2)\n/w/r/c d.py:2:x\n",
            root,
            false,
        );
        assert_eq!(lines["files"][0], json!({"path": "a.py", "count": 2}));
        assert_eq!(lines["files"][1], json!({"path": "c d.py", "count": 1}));
        assert_eq!(rg_files("No matches found", root, true)["total"], 0);
    }

    #[test]
    fn search_variables_escape_literals_and_add_word_boundaries() {
        let mut vars = json!({"pattern": "a.b", "word": true, "extensions": [".py", ".pyi"]})
            .as_object()
            .cloned()
            .unwrap();
        search_vars(&mut vars);
        assert_eq!(vars["regex"], r"\b(?:a\.b)\b");
        assert_eq!(vars["glob"], "*.{py,pyi}");
    }
}
