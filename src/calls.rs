//! The call map: which of the project's functions each test file ran, as
//! recorded by traced test runs (`calls.json` in the project's state
//! directory).
//!
//! It is evidence, and used as such: a test file's entry holds while the
//! file is as it was recorded (its SHA-1), and says something about a
//! source file's functions only while that source file is as the traced
//! run saw it. Each recording is a generation; a source file remembers the
//! generation its current content was first seen in, and an entry recorded
//! before that says nothing about it. OPTIMIZE turns the map into
//! [`CallEvidence`] for the files a plan edits: which test files ran each
//! of their functions, and which test files' entries cover them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub(crate) use crate::protocol::code::CallEvidence;

/// File name in the project's state directory.
pub(crate) const FILE: &str = "calls.json";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CallMap {
    /// The last recording's generation.
    pub generation: u64,
    /// Source files the recordings saw: content hash, and the generation
    /// that content was first recorded in.
    pub sources: BTreeMap<String, Source>,
    /// Test files: content hash when recorded, the generation, and the
    /// functions (`path::qualname`) they ran.
    pub tests: BTreeMap<String, TestEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Source {
    pub sha1: String,
    pub since: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TestEntry {
    pub sha1: String,
    pub generation: u64,
    pub ran: Vec<String>,
}

/// The SHA-1 of a project file under `root` (`None`: unreadable or gone),
/// as the map records files.
pub(crate) fn file_sha1(root: &Path) -> impl Fn(&str) -> Option<String> + '_ {
    move |path| {
        std::fs::read(root.join(path))
            .ok()
            .map(|bytes| crate::plan::sha1_hex(&bytes))
    }
}

impl CallMap {
    /// The map at `path`: empty when there is none or it cannot be read
    /// (it is a cache of evidence; a broken one is rebuilt by the next
    /// traced run).
    pub(crate) fn load(path: &Path) -> Self {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                tracing::warn!(%error, path = %path.display(), "call map unreadable: starting afresh");
                CallMap::default()
            }),
            Err(_) => CallMap::default(),
        }
    }

    /// Writes the map in one step (a temporary file renamed over it).
    pub(crate) fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = PathBuf::from(format!("{}.{}.tmp", path.display(), std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec(self)?)?;
        std::fs::rename(&tmp, path)
    }

    /// Adds a traced run's `ran` (test file → functions), the test files
    /// and sources hashed by `sha1` as the run saw them (`None`: gone).
    pub(crate) fn record(
        &mut self,
        ran: &BTreeMap<String, BTreeSet<String>>,
        sha1: impl Fn(&str) -> Option<String>,
    ) {
        self.generation += 1;
        let generation = self.generation;
        let sources: BTreeSet<&str> = ran
            .values()
            .flatten()
            .filter_map(|f| f.split_once("::").map(|(path, _)| path))
            .collect();
        for path in sources {
            let Some(hash) = sha1(path) else { continue };
            match self.sources.get_mut(path) {
                Some(source) if source.sha1 == hash => {}
                Some(source) => {
                    source.sha1 = hash;
                    source.since = generation;
                }
                None => {
                    self.sources.insert(
                        path.to_owned(),
                        Source {
                            sha1: hash,
                            since: generation,
                        },
                    );
                }
            }
        }
        for (test, functions) in ran {
            let Some(hash) = sha1(test) else { continue };
            self.tests.insert(
                test.clone(),
                TestEntry {
                    sha1: hash,
                    generation,
                    ran: functions.iter().cloned().collect(),
                },
            );
        }
    }

    /// Test files whose entry is current (`sha1` of the file now).
    pub(crate) fn current_tests(&self, sha1: impl Fn(&str) -> Option<String>) -> BTreeSet<&str> {
        self.tests
            .iter()
            .filter(|(path, entry)| sha1(path).as_deref() == Some(entry.sha1.as_str()))
            .map(|(path, _)| path.as_str())
            .collect()
    }

    /// What the map says about `edited` (source path → its content hash
    /// before the change), from the test files in `current`.
    pub(crate) fn evidence(
        &self,
        edited: &BTreeMap<String, String>,
        current: &BTreeSet<&str>,
    ) -> CallEvidence {
        let mut evidence = CallEvidence::default();
        for (path, hash) in edited {
            let Some(source) = self.sources.get(path).filter(|s| &s.sha1 == hash) else {
                continue;
            };
            let prefix = format!("{path}::");
            let mut covering = Vec::new();
            for (test, entry) in &self.tests {
                if entry.generation < source.since || !current.contains(test.as_str()) {
                    continue;
                }
                covering.push(test.clone());
                for function in entry.ran.iter().filter(|f| f.starts_with(&prefix)) {
                    evidence
                        .ran
                        .entry(function.clone())
                        .or_default()
                        .push(test.clone());
                }
            }
            evidence.traced.insert(path.clone(), covering);
        }
        evidence
    }

    /// Whether a run of `selection` (test files) should trace: some file
    /// of it has no entry that covers every edited source as it is now.
    pub(crate) fn wants(
        &self,
        selection: &[String],
        current: &BTreeSet<&str>,
        edited: &BTreeMap<String, String>,
    ) -> bool {
        selection.iter().filter(|t| t.ends_with(".py")).any(|t| {
            let Some(entry) = self.tests.get(t).filter(|_| current.contains(t.as_str())) else {
                return true;
            };
            edited.iter().any(|(path, hash)| {
                self.sources
                    .get(path)
                    .is_none_or(|s| &s.sha1 != hash || entry.generation < s.since)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ran(pairs: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        pairs
            .iter()
            .map(|(t, fs)| (t.to_string(), fs.iter().map(|f| f.to_string()).collect()))
            .collect()
    }

    #[test]
    fn evidence_holds_only_while_tests_and_sources_are_as_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let mut hashes: BTreeMap<&str, &str> = BTreeMap::from([
            ("tests/test_a.py", "ta1"),
            ("tests/test_b.py", "tb1"),
            ("pkg/core.py", "c1"),
            ("pkg/util.py", "u1"),
        ]);
        let mut map = CallMap::load(&path);
        assert_eq!(map, CallMap::default(), "none yet");
        map.record(
            &ran(&[
                ("tests/test_a.py", &["pkg/core.py::run", "pkg/util.py::fmt"]),
                ("tests/test_b.py", &["pkg/core.py::Cart.total"]),
            ]),
            |p| hashes.get(p).map(|h| h.to_string()),
        );
        map.save(&path).unwrap();
        let map = CallMap::load(&path);
        let sha = |hashes: &BTreeMap<&str, &str>, p: &str| hashes.get(p).map(|h| h.to_string());
        let current = map.current_tests(|p| sha(&hashes, p));
        let edited = BTreeMap::from([("pkg/core.py".to_owned(), "c1".to_owned())]);
        let evidence = map.evidence(&edited, &current);
        assert_eq!(evidence.ran["pkg/core.py::run"], ["tests/test_a.py"]);
        assert_eq!(evidence.ran["pkg/core.py::Cart.total"], ["tests/test_b.py"]);
        assert!(!evidence.ran.contains_key("pkg/util.py::fmt"), "not edited");
        assert_eq!(
            evidence.traced["pkg/core.py"],
            ["tests/test_a.py", "tests/test_b.py"]
        );
        assert!(!map.wants(&["tests/test_a.py".into()], &current, &edited));
        // core.py changed since: the map says nothing about it.
        let edited = BTreeMap::from([("pkg/core.py".to_owned(), "c2".to_owned())]);
        assert!(map.evidence(&edited, &current).traced.is_empty());
        assert!(map.wants(&["tests/test_a.py".into()], &current, &edited));
        // test_b changed: its entry no longer holds.
        hashes.insert("tests/test_b.py", "tb2");
        let current = map.current_tests(|p| sha(&hashes, p));
        let edited = BTreeMap::from([("pkg/core.py".to_owned(), "c1".to_owned())]);
        let evidence = map.evidence(&edited, &current);
        assert_eq!(evidence.traced["pkg/core.py"], ["tests/test_a.py"]);
        assert!(map.wants(&["tests/test_b.py".into()], &current, &edited));
    }

    #[test]
    fn entries_recorded_before_a_source_changed_say_nothing_about_it() {
        let mut map = CallMap::default();
        let mut hashes = BTreeMap::from([
            ("tests/test_a.py".to_owned(), "ta".to_owned()),
            ("tests/test_b.py".to_owned(), "tb".to_owned()),
            ("pkg/core.py".to_owned(), "c1".to_owned()),
        ]);
        map.record(
            &ran(&[
                ("tests/test_a.py", &["pkg/core.py::run"]),
                ("tests/test_b.py", &["pkg/core.py::run"]),
            ]),
            |p| hashes.get(p).cloned(),
        );
        // core.py changes; only test_a is traced again.
        hashes.insert("pkg/core.py".into(), "c2".into());
        map.record(
            &ran(&[("tests/test_a.py", &["pkg/core.py::run", "pkg/core.py::new"])]),
            |p| hashes.get(p).cloned(),
        );
        let current = map.current_tests(|p| hashes.get(p).cloned());
        let edited = BTreeMap::from([("pkg/core.py".to_owned(), "c2".to_owned())]);
        let evidence = map.evidence(&edited, &current);
        assert_eq!(evidence.traced["pkg/core.py"], ["tests/test_a.py"]);
        assert_eq!(evidence.ran["pkg/core.py::new"], ["tests/test_a.py"]);
        // test_b's entry is from before core.py changed: trace it again.
        assert!(map.wants(&["tests/test_b.py".into()], &current, &edited));
        assert!(!map.wants(&["tests/test_a.py".into()], &current, &edited));
    }

    #[test]
    fn a_broken_map_is_started_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        std::fs::write(&path, "{not json").unwrap();
        assert_eq!(CallMap::load(&path), CallMap::default());
    }
}
