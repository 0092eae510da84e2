//! `--apply`: the verified change, written into the user's checkout.
//!
//! Only when every planned file there is still as the plan found it (its
//! preimage; a file the plan creates must not exist); otherwise nothing is
//! written and the files are named. Nothing is committed.
//!
//! All or nothing, even if orch is killed half-way:
//! 1. a journal (`GIT_DIR/orch-apply/RUN.json`) lists every change, not yet
//!    committed, and is synced;
//! 2. the new contents are staged next to their targets (same directory,
//!    so the renames below stay on one filesystem) and synced;
//! 3. the journal is marked committed (written aside, synced, renamed over);
//! 4. each staged file is renamed over its target, deleted files removed;
//! 5. the journal goes.
//!
//! The next orch run in the repository finds a journal whose run is dead:
//! committed, it finishes steps 4 and 5 (the checkout ends fully changed);
//! not committed, it removes the staged files (the checkout was never
//! touched).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One file's change in the checkout.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    /// Relative to the checkout's project directory, `/`-separated.
    pub path: String,
    /// The SHA-1 the file must have now; `None`: it must not exist.
    pub before: Option<String>,
    /// The new content; `None`: the file is deleted.
    pub after: Option<Vec<u8>>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error(
        "your checkout changed since the plan was made; nothing was written:\n{}",
        .0.join("\n")
    )]
    Drifted(Vec<String>),
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{0}` is not a path inside the project")]
    Outside(String),
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_owned(),
        source,
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    /// The checkout's project directory.
    root: PathBuf,
    committed: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    path: String,
    /// The staged content's file name (in the target's directory); `None`
    /// for a deletion.
    staged: Option<String>,
}

/// The journal directory of the repository whose git directory is `git_dir`.
fn journals(git_dir: &Path) -> PathBuf {
    git_dir.join("orch-apply")
}

fn target(root: &Path, path: &str) -> Result<PathBuf, Error> {
    let relative = Path::new(path);
    let plain = relative
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)));
    if path.is_empty() || !plain {
        return Err(Error::Outside(path.to_owned()));
    }
    Ok(root.join(relative))
}

fn sha1_of(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(crate::plan::sha1_hex(&bytes))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Io {
            action: "read",
            path: path.to_owned(),
            source: e,
        }),
    }
}

/// Writes `bytes` to `path` and syncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut file = std::fs::File::create(path).map_err(io("create", path))?;
    file.write_all(bytes).map_err(io("write", path))?;
    file.sync_all().map_err(io("sync", path))
}

/// Syncs a directory, so the renames in it last (best effort: not every
/// filesystem lets a directory be opened).
fn sync_dir(dir: &Path) {
    if let Ok(handle) = std::fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

fn write_journal(path: &Path, journal: &Journal) -> Result<(), Error> {
    let aside = path.with_extension("json.new");
    let text = serde_json::to_vec_pretty(journal).map_err(|e| Error::Io {
        action: "write",
        path: path.to_owned(),
        source: std::io::Error::other(e),
    })?;
    write_synced(&aside, &text)?;
    std::fs::rename(&aside, path).map_err(io("rename", path))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir);
    }
    Ok(())
}

/// The files of `changes` as they are in the checkout, against what the
/// plan expects: one line per file that differs.
pub(crate) fn drifted(root: &Path, changes: &[Change]) -> Result<Vec<String>, Error> {
    let mut drifted = Vec::new();
    for change in changes {
        let now = sha1_of(&target(root, &change.path)?)?;
        if now == change.before {
            continue;
        }
        drifted.push(match (&change.before, now) {
            (None, Some(_)) => format!("  {}: exists, the change creates it", change.path),
            (Some(_), None) => format!("  {}: missing", change.path),
            _ => format!("  {}: edited since the plan was made", change.path),
        });
    }
    Ok(drifted)
}

/// `hook` is called between the steps (tests interrupt there).
pub(crate) fn apply(
    git_dir: &Path,
    run_id: &str,
    root: &Path,
    changes: &[Change],
    mut hook: impl FnMut(&str),
) -> Result<(), Error> {
    let drifted = drifted(root, changes)?;
    if !drifted.is_empty() {
        return Err(Error::Drifted(drifted));
    }
    let dir = journals(git_dir);
    std::fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    let journal_path = dir.join(format!("{run_id}.json"));
    let mut journal = Journal {
        root: root.to_owned(),
        committed: false,
        entries: Vec::with_capacity(changes.len()),
    };
    for change in changes {
        let target = target(root, &change.path)?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        journal.entries.push(Entry {
            path: change.path.clone(),
            staged: change
                .after
                .as_ref()
                .map(|_| format!(".{name}.orch-apply-{run_id}")),
        });
    }
    write_journal(&journal_path, &journal)?;
    hook("journal");
    for (change, entry) in changes.iter().zip(&journal.entries) {
        let (Some(after), Some(staged)) = (&change.after, &entry.staged) else {
            continue;
        };
        let target = target(root, &change.path)?;
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io("create", parent))?;
        }
        let staged = target.with_file_name(staged);
        write_synced(&staged, after)?;
        // A replaced file keeps its permissions (an executable script).
        if let Ok(meta) = std::fs::metadata(&target) {
            let _ = std::fs::set_permissions(&staged, meta.permissions());
        }
        hook("staged");
    }
    journal.committed = true;
    write_journal(&journal_path, &journal)?;
    hook("committed");
    roll_forward(&journal, &mut hook)?;
    std::fs::remove_file(&journal_path).map_err(io("remove", &journal_path))?;
    Ok(())
}

/// Steps 4 and 5 of a committed journal; safe to repeat.
fn roll_forward(journal: &Journal, hook: &mut impl FnMut(&str)) -> Result<(), Error> {
    let mut dirs = std::collections::BTreeSet::new();
    for entry in &journal.entries {
        let target = target(&journal.root, &entry.path)?;
        match &entry.staged {
            Some(staged) => {
                let staged = target.with_file_name(staged);
                // Already renamed by an earlier, interrupted roll-forward.
                if staged.exists() {
                    std::fs::rename(&staged, &target).map_err(io("rename", &target))?;
                }
            }
            None => match std::fs::remove_file(&target) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Io {
                        action: "remove",
                        path: target,
                        source: e,
                    });
                }
            },
        }
        if let Some(parent) = target.parent() {
            dirs.insert(parent.to_owned());
        }
        hook("renamed");
    }
    for dir in dirs {
        sync_dir(&dir);
    }
    Ok(())
}

/// What a recovery did with one journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recovered {
    /// The change was committed: finished, `n` files.
    Finished { run: String, files: usize },
    /// It was not: the staged files were removed, the checkout untouched.
    Dropped { run: String },
}

impl std::fmt::Display for Recovered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recovered::Finished { run, files } => write!(
                f,
                "run {run} was killed while applying its change to your checkout: finished applying it ({files} files)"
            ),
            Recovered::Dropped { run } => write!(
                f,
                "run {run} was killed before applying its change to your checkout: nothing of it was written"
            ),
        }
    }
}

/// Finishes or drops the journals of runs that are not live.
pub(crate) fn recover(git_dir: &Path, is_live: impl Fn(&str) -> bool) -> Vec<Recovered> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(journals(git_dir)) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let Some(run) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".json"))
            .map(str::to_owned)
        else {
            // A journal written aside and never renamed: the one beside it
            // (if any) is the journal.
            if path.extension().is_some_and(|e| e == "new") {
                let run = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".json.new"))
                    .unwrap_or_default();
                if !is_live(run) {
                    let _ = std::fs::remove_file(&path);
                }
            }
            continue;
        };
        if is_live(&run) {
            continue;
        }
        let Some(journal) = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Journal>(&bytes).ok())
        else {
            tracing::warn!(path = %path.display(), "unreadable apply journal left as it is");
            continue;
        };
        if journal.committed {
            match roll_forward(&journal, &mut |_| {}) {
                Ok(()) => {
                    let _ = std::fs::remove_file(&path);
                    out.push(Recovered::Finished {
                        run,
                        files: journal.entries.len(),
                    });
                }
                Err(error) => tracing::warn!(%error, "cannot finish an interrupted apply"),
            }
        } else {
            for entry in &journal.entries {
                if let (Some(staged), Ok(target)) =
                    (&entry.staged, target(&journal.root, &entry.path))
                {
                    let _ = std::fs::remove_file(target.with_file_name(staged));
                }
            }
            let _ = std::fs::remove_file(&path);
            out.push(Recovered::Dropped { run });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkout() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        let git = dir.path().join("git");
        std::fs::create_dir_all(root.join("pkg")).unwrap();
        std::fs::create_dir_all(&git).unwrap();
        for (name, text) in [
            ("pkg/a.py", "a = 1\n"),
            ("pkg/b.py", "b = 1\n"),
            ("old.py", "x\n"),
        ] {
            std::fs::write(root.join(name), text).unwrap();
        }
        (dir, root, git)
    }

    fn changes(root: &Path) -> Vec<Change> {
        let sha = |name: &str| {
            Some(crate::plan::sha1_hex(
                &std::fs::read(root.join(name)).unwrap(),
            ))
        };
        vec![
            Change {
                path: "pkg/a.py".into(),
                before: sha("pkg/a.py"),
                after: Some(b"a = 2\n".to_vec()),
            },
            Change {
                path: "pkg/b.py".into(),
                before: sha("pkg/b.py"),
                after: Some(b"b = 2\n".to_vec()),
            },
            Change {
                path: "new/c.py".into(),
                before: None,
                after: Some(b"c = 2\n".to_vec()),
            },
            Change {
                path: "old.py".into(),
                before: sha("old.py"),
                after: None,
            },
        ]
    }

    fn state(root: &Path) -> Vec<(String, Option<String>)> {
        ["pkg/a.py", "pkg/b.py", "new/c.py", "old.py"]
            .iter()
            .map(|p| ((*p).to_owned(), std::fs::read_to_string(root.join(p)).ok()))
            .collect()
    }

    fn untouched() -> Vec<(String, Option<String>)> {
        vec![
            ("pkg/a.py".into(), Some("a = 1\n".into())),
            ("pkg/b.py".into(), Some("b = 1\n".into())),
            ("new/c.py".into(), None),
            ("old.py".into(), Some("x\n".into())),
        ]
    }

    fn changed() -> Vec<(String, Option<String>)> {
        vec![
            ("pkg/a.py".into(), Some("a = 2\n".into())),
            ("pkg/b.py".into(), Some("b = 2\n".into())),
            ("new/c.py".into(), Some("c = 2\n".into())),
            ("old.py".into(), None),
        ]
    }

    /// Nothing but the planned files changes (no staged file, no journal).
    fn assert_clean(root: &Path, git: &Path) {
        let mut stray = Vec::new();
        for entry in walk(root) {
            if entry.to_string_lossy().contains("orch-apply") {
                stray.push(entry);
            }
        }
        assert!(stray.is_empty(), "{stray:?}");
        let left: Vec<_> = std::fs::read_dir(journals(git))
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    #[test]
    fn a_change_applies_whole_and_a_drifted_file_stops_it_before_any_write() {
        let (_dir, root, git) = checkout();
        let planned = changes(&root);
        std::fs::write(root.join("pkg/b.py"), "b = 'mine'\n").unwrap();
        let error = apply(&git, "r1", &root, &planned, |_| {}).unwrap_err();
        assert!(
            matches!(&error, Error::Drifted(files) if files == &["  pkg/b.py: edited since the plan was made"]),
            "{error}"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("pkg/a.py")).unwrap(),
            "a = 1\n"
        );
        std::fs::write(root.join("pkg/b.py"), "b = 1\n").unwrap();
        apply(&git, "r1", &root, &planned, |_| {}).unwrap();
        assert_eq!(state(&root), changed());
        assert_clean(&root, &git);
        // A path out of the project is refused.
        let outside = [Change {
            path: "../x.py".into(),
            before: None,
            after: Some(Vec::new()),
        }];
        assert!(matches!(
            apply(&git, "r2", &root, &outside, |_| {}),
            Err(Error::Outside(_))
        ));
    }

    /// Stopped at every point of the application (as a kill would), the
    /// next run's recovery leaves the checkout untouched or fully changed.
    #[test]
    fn interrupted_anywhere_the_checkout_ends_untouched_or_fully_changed() {
        let mut points = 0;
        {
            let (_dir, root, git) = checkout();
            apply(&git, "count", &root, &changes(&root), |_| points += 1).unwrap();
        }
        assert!(points >= 8, "{points}");
        for stop in 0..points {
            let (_dir, root, git) = checkout();
            let planned = changes(&root);
            let mut seen = 0;
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                apply(&git, "r1", &root, &planned, |step| {
                    if seen == stop {
                        panic!("killed after {step}");
                    }
                    seen += 1;
                })
            }));
            assert!(result.is_err(), "stop {stop}");
            // A live run's journal is left alone.
            assert!(recover(&git, |run| run == "r1").is_empty());
            let recovered = recover(&git, |_| false);
            assert_eq!(recovered.len(), 1, "stop {stop}");
            let expected = match &recovered[0] {
                Recovered::Finished { files, .. } => {
                    assert_eq!(*files, 4);
                    changed()
                }
                Recovered::Dropped { .. } => untouched(),
            };
            assert_eq!(state(&root), expected, "stop {stop}: {:?}", recovered[0]);
            assert_clean(&root, &git);
        }
    }
}
