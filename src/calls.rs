//! The call map: which of the project's functions each test file ran, and
//! each of its tests, as recorded by traced test runs (`calls.json` in the
//! project's state directory).
//!
//! It is evidence, and used as such: a test file's entry holds while the
//! file is as it was recorded (its SHA-1), and says something about a
//! source file's functions only while that source file is as the traced
//! run saw it. Each recording is a generation; a source file remembers the
//! generation its current content was first seen in, and an entry recorded
//! before that says nothing about it. OPTIMIZE turns the map into
//! [`CallEvidence`] for the files a plan edits: which test files (and
//! which of their tests) ran each of their functions, and which test
//! files' entries cover them.
//!
//! A test file's entry is only ever recorded from a run of the whole file:
//! a run of some of its tests says nothing of the others, and an entry
//! must speak for every test of its file for a test that ran none of the
//! changed functions to be left out.

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
    /// Everything the file ran: its tests and what they share.
    pub ran: Vec<String>,
    /// Per test (its node id after the file, parameters left out:
    /// `TestK::test_x`), what it ran: indexes into `ran`. Empty in entries
    /// recorded before tests were told apart (see `itemized`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub items: BTreeMap<String, Vec<u32>>,
    /// What every test of the file shares (its import, fixtures of a wider
    /// scope than a test): indexes into `ran`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<u32>,
    /// The entry tells its tests apart (`items` and `shared` hold).
    #[serde(default)]
    pub itemized: bool,
}

impl TestEntry {
    /// The entry of one test file from a traced run's keys for it: the
    /// file itself (shared) and `file::item` (its tests).
    fn new<'a>(
        sha1: String,
        generation: u64,
        keys: impl IntoIterator<Item = (&'a str, &'a BTreeSet<String>)>,
    ) -> Self {
        let keys: Vec<(&str, &BTreeSet<String>)> = keys.into_iter().collect();
        let ran: Vec<String> = keys
            .iter()
            .flat_map(|(_, functions)| functions.iter())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .cloned()
            .collect();
        let index = |functions: &BTreeSet<String>| -> Vec<u32> {
            functions
                .iter()
                .filter_map(|f| ran.binary_search(f).ok())
                .filter_map(|i| u32::try_from(i).ok())
                .collect()
        };
        let mut entry = TestEntry {
            sha1,
            generation,
            items: BTreeMap::new(),
            shared: Vec::new(),
            itemized: true,
            ran: Vec::new(),
        };
        for (item, functions) in keys {
            if item.is_empty() {
                entry.shared = index(functions);
            } else {
                entry.items.insert(item.to_owned(), index(functions));
            }
        }
        entry.ran = ran;
        entry
    }
}

/// A test unit (a traced run's key, a selection's path) split into its
/// test file and the test after it (`""`: the file itself):
/// `tests/test_a.py::TestK::test_x` → (`tests/test_a.py`, `TestK::test_x`).
pub(crate) fn split_unit(unit: &str) -> (&str, &str) {
    unit.split_once("::").unwrap_or((unit, ""))
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

/// Whether test `id` (a node id) is `unit` (a test file, a class of tests,
/// a test) or one of its tests or parameters.
pub(crate) fn test_in(id: &str, unit: &str) -> bool {
    id.strip_prefix(unit)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::") || rest.starts_with('['))
}

/// Whether a run of `selection` (test files, directories or node ids;
/// empty: the whole suite) runs every test of a test file.
pub(crate) fn runs_whole(selection: &[String]) -> impl Fn(&str) -> bool + '_ {
    move |file| {
        selection.is_empty()
            || selection.iter().any(|path| {
                let path = path.trim_end_matches('/');
                !path.contains("::")
                    && (path == file
                        || path.is_empty()
                        || path == "."
                        || file.starts_with(&format!("{path}/")))
            })
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

    /// Adds a traced run's `ran` (test file, or `file::test` → functions),
    /// the test files and sources hashed by `sha1` as the run saw them
    /// (`None`: gone). `whole(file)`: the run ran every test of that file
    /// (the others are not recorded: see the module's note).
    pub(crate) fn record(
        &mut self,
        ran: &BTreeMap<String, BTreeSet<String>>,
        sha1: impl Fn(&str) -> Option<String>,
        whole: impl Fn(&str) -> bool,
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
        let mut by_file: BTreeMap<&str, Vec<(&str, &BTreeSet<String>)>> = BTreeMap::new();
        for (key, functions) in ran {
            let (file, item) = split_unit(key);
            by_file.entry(file).or_default().push((item, functions));
        }
        for (test, keys) in by_file {
            if !whole(test) {
                continue;
            }
            let Some(hash) = sha1(test) else { continue };
            self.tests
                .insert(test.to_owned(), TestEntry::new(hash, generation, keys));
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
                if entry.itemized {
                    evidence
                        .tests
                        .insert(test.clone(), entry.items.keys().cloned().collect());
                }
                for function in entry.ran.iter().filter(|f| f.starts_with(&prefix)) {
                    evidence
                        .ran
                        .entry(function.clone())
                        .or_default()
                        .push(test.clone());
                }
                if !entry.itemized {
                    continue;
                }
                // Which of its tests ran them: the file itself when what
                // its tests share did.
                let changed = |indexes: &[u32]| -> Vec<&String> {
                    indexes
                        .iter()
                        .filter_map(|&i| entry.ran.get(i as usize))
                        .filter(|f| f.starts_with(&prefix))
                        .collect()
                };
                let units = std::iter::once((test.clone(), &entry.shared)).chain(
                    entry
                        .items
                        .iter()
                        .map(|(item, indexes)| (format!("{test}::{item}"), indexes)),
                );
                for (unit, indexes) in units {
                    for function in changed(indexes) {
                        evidence
                            .items
                            .entry(function.clone())
                            .or_default()
                            .push(unit.clone());
                    }
                }
            }
            evidence.traced.insert(path.clone(), covering);
        }
        evidence
    }

    /// Whether a run of `selection` (test files) should trace: some file
    /// of it has no entry that covers every edited source as it is now, or
    /// one that does not tell its tests apart (recorded by an older orch).
    /// Tests selected alone (`file::test`) are not recorded, so they ask
    /// for nothing.
    pub(crate) fn wants(
        &self,
        selection: &[String],
        current: &BTreeSet<&str>,
        edited: &BTreeMap<String, String>,
    ) -> bool {
        selection.iter().filter(|t| t.ends_with(".py")).any(|t| {
            let Some(entry) = self
                .tests
                .get(t)
                .filter(|e| e.itemized && current.contains(t.as_str()))
            else {
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
            |_| true,
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
            |_| true,
        );
        // core.py changes; only test_a is traced again.
        hashes.insert("pkg/core.py".into(), "c2".into());
        map.record(
            &ran(&[("tests/test_a.py", &["pkg/core.py::run", "pkg/core.py::new"])]),
            |p| hashes.get(p).cloned(),
            |_| true,
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
    fn tests_are_told_apart_and_only_whole_files_are_recorded() {
        let hashes = BTreeMap::from([
            ("tests/test_a.py".to_owned(), "ta".to_owned()),
            ("tests/test_b.py".to_owned(), "tb".to_owned()),
            ("pkg/core.py".to_owned(), "c1".to_owned()),
        ]);
        let mut map = CallMap::default();
        map.record(
            &ran(&[
                ("tests/test_a.py", &["pkg/core.py::setup"]),
                ("tests/test_a.py::test_run", &["pkg/core.py::run"]),
                (
                    "tests/test_a.py::TestK::test_total",
                    &["pkg/core.py::Cart.total", "pkg/core.py::run"],
                ),
                ("tests/test_a.py::test_other", &["pkg/util.py::fmt"]),
                // Only some of test_b's tests ran: not recorded.
                ("tests/test_b.py::test_one", &["pkg/core.py::run"]),
            ]),
            |p| hashes.get(p).cloned(),
            |file| file != "tests/test_b.py",
        );
        assert!(!map.tests.contains_key("tests/test_b.py"));
        let entry = &map.tests["tests/test_a.py"];
        assert!(entry.itemized);
        assert_eq!(entry.items.len(), 3);
        let current = map.current_tests(|p| hashes.get(p).cloned());
        let edited = BTreeMap::from([("pkg/core.py".to_owned(), "c1".to_owned())]);
        let evidence = map.evidence(&edited, &current);
        assert_eq!(
            evidence.items["pkg/core.py::run"],
            [
                "tests/test_a.py::TestK::test_total",
                "tests/test_a.py::test_run"
            ]
        );
        assert_eq!(
            evidence.items["pkg/core.py::Cart.total"],
            ["tests/test_a.py::TestK::test_total"]
        );
        // What the file's tests share stands for the whole file.
        assert_eq!(evidence.items["pkg/core.py::setup"], ["tests/test_a.py"]);
        assert_eq!(evidence.ran["pkg/core.py::run"], ["tests/test_a.py"]);
        assert_eq!(
            evidence.tests["tests/test_a.py"],
            ["TestK::test_total", "test_other", "test_run"]
        );
        // Selected alone, tests ask for no tracing; test_b, never recorded
        // whole, does.
        assert!(!map.wants(
            &["tests/test_a.py".into(), "tests/test_b.py::test_one".into()],
            &current,
            &edited
        ));
        assert!(map.wants(&["tests/test_b.py".into()], &current, &edited));
        // An entry of an older orch, which did not tell tests apart, is
        // traced again.
        let mut old = map.clone();
        if let Some(entry) = old.tests.get_mut("tests/test_a.py") {
            entry.itemized = false;
        }
        assert!(old.wants(&["tests/test_a.py".into()], &current, &edited));
        let json = r#"{"generation":1,"sources":{},"tests":{"t/test_x.py":{"sha1":"s","generation":1,"ran":["a.py::f"]}}}"#;
        let parsed: CallMap = serde_json::from_str(json).unwrap();
        assert!(!parsed.tests["t/test_x.py"].itemized);
    }

    #[test]
    fn a_file_runs_whole_unless_only_some_of_its_tests_are_selected() {
        let selection: Vec<String> = ["tests/unit/", "tests/test_a.py", "tests/test_b.py::test_x"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let whole = runs_whole(&selection);
        assert!(whole("tests/unit/test_u.py"));
        assert!(whole("tests/test_a.py"));
        assert!(!whole("tests/test_b.py"));
        assert!(!whole("tests/test_c.py"));
        assert!(runs_whole(&[])("tests/test_b.py"));
    }

    #[test]
    fn a_broken_map_is_started_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        std::fs::write(&path, "{not json").unwrap();
        assert_eq!(CallMap::load(&path), CallMap::default());
    }
}
