//! The plan: a versioned, hashed JSON DAG of what a run will do.
//!
//! A [`Plan`] names the command, the parsed intent, the repository it was
//! made against and its nodes (`edit`, `check`, `test`, `commit`,
//! `publish`). Edit nodes carry the file's SHA-1 preimage and the exact
//! byte edits, so a saved plan can be replayed later and refuses to apply
//! to a file that drifted. The plan id is the SHA-1 of the canonical JSON of
//! everything that decides what the plan *does* (schema, command, intent,
//! repository head and nodes); annotations such as the risk estimate and
//! the report are not part of it. This module is pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::edit::Edit;
use crate::intent::Intent;

/// The schema tag every plan carries.
pub const SCHEMA: &str = "orch.plan/v1";

/// Everything that can be wrong with a plan.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("unsupported plan schema `{found}` (this orch reads `{SCHEMA}`)")]
    Schema { found: String },
    #[error("node `{node}`: {message}")]
    Node { node: String, message: String },
    #[error("duplicate node id `{0}`")]
    DuplicateNode(String),
    #[error("node `{node}` depends on `{dep}`, which is not in the plan")]
    MissingDep { node: String, dep: String },
    #[error("the plan has a cycle through node `{0}`")]
    Cycle(String),
    #[error(
        "plan id `{found}` does not match its content (expected `{expected}`); was the file edited by hand?"
    )]
    IdMismatch { found: String, expected: String },
}

/// A refactor plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always `orch.plan/v1`.
    pub schema: String,
    /// SHA-1 of the canonical content (schema, command, intent, repository head, nodes).
    pub id: String,
    /// The command as the user typed it.
    pub command: String,
    /// The parsed intent.
    pub intent: Intent,
    /// The repository the plan was made against.
    pub repository: Repository,
    /// The DAG.
    pub nodes: Vec<Node>,
    /// Risk estimate from MONTE CARLO (annotation: not part of the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    /// What analysis found and deliberately left alone (annotation: not part of the id).
    #[serde(default)]
    pub report: Report,
}

/// Where the plan was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Repository {
    /// Canonical path of the project directory when the plan was made (annotation).
    pub path: String,
    /// The project directory relative to the git work tree root (`""` for the root).
    #[serde(default)]
    pub subdir: String,
    /// HEAD commit the plan was made against.
    pub head: String,
}

/// One node of the DAG. (Unknown fields cannot be denied here: serde does
/// not support that together with the flattened action.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Node {
    /// Unique within the plan, e.g. `edit:shop/util.py`.
    pub id: String,
    /// Ids of the nodes that must finish first.
    #[serde(default)]
    pub deps: Vec<String>,
    /// What the node does.
    #[serde(flatten)]
    pub action: Action,
}

/// A node's kind and inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Apply exact byte edits to one file whose current SHA-1 is `preimage_sha1`.
    Edit {
        /// Path relative to the project directory, `/`-separated.
        file: String,
        /// SHA-1 (hex) of the file before the edits.
        preimage_sha1: String,
        /// Non-overlapping edits, sorted by `start`.
        edits: Vec<Edit>,
    },
    /// Create a file that does not exist yet.
    Create {
        /// Path relative to the project directory, `/`-separated.
        file: String,
        /// The whole content.
        content: String,
    },
    /// Delete a file whose current SHA-1 is `preimage_sha1`.
    Delete { file: String, preimage_sha1: String },
    /// Validate the edited files.
    Check {
        /// `parse`: every file parses with no more error nodes than before.
        check: String,
        /// File -> syntax error count before the edits.
        files: BTreeMap<String, usize>,
        /// Python names the counts are focused on: only the statements that
        /// name them (and the imports) were parsed, before and after the
        /// edits are counted the same way. Empty: whole files.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        focus: Vec<String>,
    },
    /// Run the tests.
    Test {
        /// The runner (`pytest`).
        runner: String,
        /// Test paths or ids to run; empty means the whole suite.
        #[serde(default)]
        selection: Vec<String>,
    },
    /// Commit the edited files on branch `<branch_prefix>-<first 8 of the plan id>`.
    Commit {
        branch_prefix: String,
        message: String,
        files: Vec<String>,
    },
    /// Push the branch and open or update a pull request.
    Publish { remote: String, branch: String },
}

impl Action {
    /// The kind's name as it appears in JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Edit { .. } => "edit",
            Action::Create { .. } => "create",
            Action::Delete { .. } => "delete",
            Action::Check { .. } => "check",
            Action::Test { .. } => "test",
            Action::Commit { .. } => "commit",
            Action::Publish { .. } => "publish",
        }
    }
}

/// The MONTE CARLO estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Risk {
    /// Estimated probability that the tests pass after the change.
    pub p_tests_pass: f64,
    /// Estimated probability that the run finishes inside its deadline.
    pub p_on_time: f64,
    /// `low`, `medium` or `high`.
    pub level: String,
    /// Trials simulated.
    pub trials: u32,
    pub blast_radius: BlastRadius,
    /// What the estimate rests on.
    pub model: String,
    /// When the rest of the run (tests included) is expected to finish,
    /// from the start of the estimate: percentiles of the simulated times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish: Option<Finish>,
}

/// Percentiles of a simulated finish time, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Finish {
    pub p50_ms: u64,
    pub p85_ms: u64,
    pub p95_ms: u64,
    /// What the test times came from: this project's history, or an
    /// estimate (stated) when there is none.
    pub basis: String,
}

/// How much of the code base the change touches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlastRadius {
    pub sites: usize,
    pub files: usize,
    pub public_names: usize,
    pub test_files: usize,
}

/// Occurrences analysis found but did not edit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Mentions in comments and strings (left alone).
    #[serde(default)]
    pub mentions: Vec<Site>,
    /// Sites that could not be resolved with confidence (left alone).
    #[serde(default)]
    pub uncertain: Vec<Site>,
    /// More mentions/uncertain sites existed than were listed.
    #[serde(default)]
    pub truncated: bool,
    /// How every code occurrence of the renamed name was accounted for
    /// (renames of module-level functions and classes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounting: Option<crate::protocol::code::Accounting>,
}

/// A location in a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Why it is listed.
    pub note: String,
}

/// The hashed part of a plan, in canonical field order.
#[derive(Serialize)]
struct Canonical<'a> {
    schema: &'a str,
    command: &'a str,
    intent: &'a Intent,
    head: &'a str,
    subdir: &'a str,
    nodes: &'a [Node],
}

impl Plan {
    /// Builds a plan and stamps its id.
    pub fn new(command: String, intent: Intent, repository: Repository, nodes: Vec<Node>) -> Self {
        let mut plan = Plan {
            schema: SCHEMA.to_owned(),
            id: String::new(),
            command,
            intent,
            repository,
            nodes,
            risk: None,
            report: Report::default(),
        };
        plan.id = plan.content_hash();
        plan
    }

    /// SHA-1 of the canonical content.
    pub fn content_hash(&self) -> String {
        let canonical = Canonical {
            schema: &self.schema,
            command: &self.command,
            intent: &self.intent,
            head: &self.repository.head,
            subdir: &self.repository.subdir,
            nodes: &self.nodes,
        };
        // serde_json::Value maps are sorted (no preserve_order), which makes the
        // hash independent of struct field order changes.
        let value = serde_json::to_value(&canonical).unwrap_or(serde_json::Value::Null);
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        hex(&Sha1::digest(&bytes))
    }

    /// First 8 characters of the id.
    pub fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(8)]
    }

    /// The edit nodes, in node order.
    pub fn edits(&self) -> impl Iterator<Item = (&str, &str, &[Edit])> {
        self.nodes.iter().filter_map(|node| match &node.action {
            Action::Edit {
                file,
                preimage_sha1,
                edits,
            } => Some((file.as_str(), preimage_sha1.as_str(), edits.as_slice())),
            _ => None,
        })
    }

    /// Every file the plan changes (edited, created or deleted), in node order.
    pub fn files(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter_map(|node| match &node.action {
                Action::Edit { file, .. }
                | Action::Create { file, .. }
                | Action::Delete { file, .. } => Some(file.clone()),
                _ => None,
            })
            .collect()
    }

    /// Files the plan creates, with their content.
    pub fn creates(&self) -> impl Iterator<Item = (&str, &str)> {
        self.nodes.iter().filter_map(|node| match &node.action {
            Action::Create { file, content } => Some((file.as_str(), content.as_str())),
            _ => None,
        })
    }

    /// Files the plan deletes, with their preimage SHA-1.
    pub fn deletes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.nodes.iter().filter_map(|node| match &node.action {
            Action::Delete {
                file,
                preimage_sha1,
            } => Some((file.as_str(), preimage_sha1.as_str())),
            _ => None,
        })
    }

    /// The branch the commit node commits on, if the plan commits.
    pub fn branch(&self) -> Option<String> {
        self.nodes.iter().find_map(|node| match &node.action {
            Action::Commit { branch_prefix, .. } => {
                Some(format!("{branch_prefix}-{}", self.short_id()))
            }
            _ => None,
        })
    }

    /// Checks the schema tag, the id, every node and the DAG's shape.
    pub fn validate(&self) -> Result<(), Error> {
        if self.schema != SCHEMA {
            return Err(Error::Schema {
                found: self.schema.clone(),
            });
        }
        let expected = self.content_hash();
        if self.id != expected {
            return Err(Error::IdMismatch {
                found: self.id.clone(),
                expected,
            });
        }
        let mut ids = BTreeSet::new();
        for node in &self.nodes {
            if !ids.insert(node.id.as_str()) {
                return Err(Error::DuplicateNode(node.id.clone()));
            }
        }
        let mut touched = BTreeSet::new();
        for file in self.files() {
            if !touched.insert(file.clone()) {
                return Err(Error::Node {
                    node: file.clone(),
                    message: format!("`{file}` is changed by more than one node"),
                });
            }
        }
        for node in &self.nodes {
            validate_node(node)?;
            for dep in &node.deps {
                if !ids.contains(dep.as_str()) {
                    return Err(Error::MissingDep {
                        node: node.id.clone(),
                        dep: dep.clone(),
                    });
                }
            }
        }
        self.topological_order().map(|_| ())
    }

    /// Node indices in an order where every node follows its deps (Kahn's
    /// algorithm, ties broken by position, so the order is deterministic).
    pub fn topological_order(&self) -> Result<Vec<usize>, Error> {
        let index: BTreeMap<&str, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        let mut indegree = vec![0usize; self.nodes.len()];
        let mut dependents = vec![Vec::new(); self.nodes.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            for dep in &node.deps {
                if let Some(&d) = index.get(dep.as_str()) {
                    indegree[i] += 1;
                    dependents[d].push(i);
                }
            }
        }
        let mut ready: BTreeSet<usize> = (0..self.nodes.len())
            .filter(|&i| indegree[i] == 0)
            .collect();
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &j in &dependents[i] {
                indegree[j] -= 1;
                if indegree[j] == 0 {
                    ready.insert(j);
                }
            }
        }
        if order.len() != self.nodes.len() {
            let stuck = (0..self.nodes.len())
                .find(|&i| indegree[i] > 0)
                .map(|i| self.nodes[i].id.clone())
                .unwrap_or_default();
            return Err(Error::Cycle(stuck));
        }
        Ok(order)
    }
}

fn validate_node(node: &Node) -> Result<(), Error> {
    let fail = |message: String| Error::Node {
        node: node.id.clone(),
        message,
    };
    if node.id.trim().is_empty() {
        return Err(fail("empty node id".into()));
    }
    if node.deps.iter().any(|d| d == &node.id) {
        return Err(Error::Cycle(node.id.clone()));
    }
    match &node.action {
        Action::Edit {
            file,
            preimage_sha1,
            edits,
        } => {
            check_relative_path(file).map_err(fail)?;
            if preimage_sha1.len() != 40 || !preimage_sha1.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(fail(format!(
                    "preimage_sha1 `{preimage_sha1}` is not a 40-digit hex SHA-1"
                )));
            }
            if edits.is_empty() {
                return Err(fail("an edit node needs at least one edit".into()));
            }
            let mut previous_end = 0usize;
            for (i, edit) in edits.iter().enumerate() {
                if edit.end < edit.start {
                    return Err(fail(format!(
                        "edit {i}: end {} is before start {}",
                        edit.end, edit.start
                    )));
                }
                if edit.old.len() != edit.end - edit.start {
                    return Err(fail(format!(
                        "edit {i}: `old` is {} bytes but the range {}..{} is {} bytes",
                        edit.old.len(),
                        edit.start,
                        edit.end,
                        edit.end - edit.start
                    )));
                }
                if i > 0 && edit.start < previous_end {
                    return Err(fail(format!(
                        "edit {i} starts at byte {} inside or before the previous edit (ends at {previous_end}); edits must be sorted and must not overlap",
                        edit.start
                    )));
                }
                previous_end = edit.end;
            }
        }
        Action::Create { file, .. } => check_relative_path(file).map_err(fail)?,
        Action::Delete {
            file,
            preimage_sha1,
        } => {
            check_relative_path(file).map_err(fail)?;
            if preimage_sha1.len() != 40 || !preimage_sha1.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(fail(format!(
                    "preimage_sha1 `{preimage_sha1}` is not a 40-digit hex SHA-1"
                )));
            }
        }
        Action::Check {
            check,
            files,
            focus,
        } => {
            if check != "parse" {
                return Err(fail(format!("unknown check `{check}` (known: parse)")));
            }
            for name in focus {
                crate::lang::python::names::validate_identifier(name)
                    .map_err(|e| fail(format!("focus name `{name}`: {e}")))?;
            }
            for file in files.keys() {
                check_relative_path(file).map_err(fail)?;
            }
        }
        Action::Test { runner, selection } => {
            if runner != "pytest" {
                return Err(fail(format!(
                    "unknown test runner `{runner}` (known: pytest)"
                )));
            }
            for test in selection {
                check_test_id(test).map_err(fail)?;
            }
        }
        Action::Commit {
            branch_prefix,
            files,
            ..
        } => {
            if git_ref_invalid(branch_prefix) {
                return Err(fail(format!(
                    "`{branch_prefix}` is not a valid branch name"
                )));
            }
            for file in files {
                check_relative_path(file).map_err(fail)?;
            }
        }
        Action::Publish { branch, remote } => {
            let remote_invalid = remote.is_empty()
                || remote.starts_with('-')
                || remote.chars().any(|c| c.is_control() || c.is_whitespace());
            if git_ref_invalid(branch) || remote_invalid {
                return Err(fail(format!(
                    "invalid remote `{remote}` or branch `{branch}`"
                )));
            }
        }
    }
    Ok(())
}

/// A plan may only name files inside the project, with `/` separators.
fn check_relative_path(path: &str) -> Result<(), String> {
    if path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || path.split('/').any(|part| part == ".." || part.is_empty())
    {
        return Err(format!(
            "`{path}` is not a relative path inside the project"
        ));
    }
    Ok(())
}

/// A test selection entry is data, never an option: a relative path inside
/// the project (`tests/test_a.py`, `tests/`), optionally with a test id
/// (`tests/test_a.py::TestA::test_b[x-1]`), without control characters.
pub(crate) fn check_test_id(test: &str) -> Result<(), String> {
    if test.starts_with('-') {
        return Err(format!(
            "test selection `{test}` looks like an option; a selection names test files or ids"
        ));
    }
    if test.chars().any(char::is_control) {
        return Err(format!("test selection {test:?} holds control characters"));
    }
    let path = test.split("::").next().unwrap_or(test);
    let path = path.strip_suffix('/').unwrap_or(path);
    check_relative_path(path)
        .map_err(|_| format!("test selection `{test}` is not a relative path inside the project"))
}

fn git_ref_invalid(name: &str) -> bool {
    name.is_empty()
        || name.starts_with('/')
        || name.ends_with('/')
        || name.ends_with(".lock")
        || name.contains("..")
        || name.contains("//")
        || name
            .chars()
            .any(|c| c.is_whitespace() || "~^:?*[\\".contains(c))
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// SHA-1 (hex) of bytes: the preimage hash used by edit nodes.
pub fn sha1_hex(bytes: &[u8]) -> String {
    hex(&Sha1::digest(bytes))
}

/// The plan's JSON Schema, generated from these types.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Plan);
    serde_json::to_value(&schema).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::{Rename, SymbolKind};

    #[test]
    fn test_selections_are_paths_and_ids_never_options() {
        for ok in [
            "tests/test_shop.py",
            "tests/",
            "tests/test_shop.py::TestCart::test_total[a-1]",
            "test_x.py::test_y[-1]",
        ] {
            assert!(check_test_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "--basetemp=/tmp/victim",
            "-p",
            "/etc/passwd",
            "../outside/test_x.py",
            "tests/../../x.py::t",
            "tests/test_a.py\n--junitxml=x",
            "",
        ] {
            assert!(check_test_id(bad).is_err(), "{bad}");
        }
    }

    fn edit_node(id: &str, deps: &[&str]) -> Node {
        Node {
            id: id.into(),
            deps: deps.iter().map(|d| d.to_string()).collect(),
            action: Action::Edit {
                file: format!("{}.py", id.replace(':', "_")),
                preimage_sha1: "0".repeat(40),
                edits: vec![Edit {
                    start: 4,
                    end: 7,
                    line: 1,
                    old: "old".into(),
                    new: "new".into(),
                }],
            },
        }
    }

    fn plan(nodes: Vec<Node>) -> Plan {
        Plan::new(
            "rename old to new".into(),
            Intent::Rename(Rename {
                symbol: SymbolKind::Any,
                old: "old".into(),
                new: "new".into(),
                scope: None,
                class: None,
                function: None,
            }),
            Repository {
                path: "/tmp/x".into(),
                subdir: String::new(),
                head: "f".repeat(40),
            },
            nodes,
        )
    }

    #[test]
    fn id_is_stable_and_ignores_path_and_annotations() {
        let a = plan(vec![edit_node("edit:a.py", &[])]);
        let mut b = a.clone();
        b.repository.path = "/elsewhere".into();
        b.report.truncated = true;
        assert_eq!(a.id, b.content_hash());
        let c = plan(vec![edit_node("edit:b.py", &[])]);
        assert_ne!(a.id, c.id);
        assert_eq!(a.id.len(), 40);
    }

    #[test]
    fn validation_names_the_node() {
        let p = plan(vec![edit_node("x", &["missing"])]);
        assert_eq!(
            p.validate(),
            Err(Error::MissingDep {
                node: "x".into(),
                dep: "missing".into()
            })
        );
        let p = plan(vec![edit_node("a", &["b"]), edit_node("b", &["a"])]);
        assert!(matches!(p.validate(), Err(Error::Cycle(_))));
        let mut bad = edit_node("e", &[]);
        if let Action::Edit { edits, .. } = &mut bad.action {
            edits[0].end = 9;
        }
        let p = plan(vec![bad]);
        assert!(matches!(p.validate(), Err(Error::Node { node, .. }) if node == "e"));
        let mut twice = edit_node("f", &[]);
        if let Action::Edit { file, .. } = &mut twice.action {
            *file = "e.py".into();
        }
        let p = plan(vec![edit_node("e", &[]), twice]);
        assert!(
            matches!(p.validate(), Err(Error::Node { message, .. }) if message.contains("more than one node"))
        );
        let mut tampered = plan(vec![edit_node("e", &[])]);
        tampered.command = "something else".into();
        assert!(matches!(tampered.validate(), Err(Error::IdMismatch { .. })));
    }

    #[test]
    fn plans_round_trip_through_json() {
        let p = plan(vec![edit_node("e", &[])]);
        let text = serde_json::to_string(&p).unwrap();
        let back: Plan = serde_json::from_str(&text).unwrap();
        assert_eq!(back, p);
        assert!(back.validate().is_ok());
    }

    #[test]
    fn unknown_kind_is_refused_by_the_parser() {
        let p = plan(vec![edit_node("e", &[])]);
        let mut value = serde_json::to_value(&p).unwrap();
        value["nodes"][0]["kind"] = "explode".into();
        let err = serde_json::from_value::<Plan>(value)
            .unwrap_err()
            .to_string();
        assert!(err.contains("explode"), "{err}");
    }

    #[test]
    fn paths_must_stay_inside() {
        for bad in ["../x.py", "/etc/passwd", "a//b.py", ""] {
            assert!(check_relative_path(bad).is_err(), "{bad}");
        }
        assert!(check_relative_path("pkg/mod.py").is_ok());
    }

    #[test]
    fn topological_order_follows_deps() {
        let p = plan(vec![
            edit_node("c", &["b"]),
            edit_node("b", &["a"]),
            edit_node("a", &[]),
        ]);
        let order: Vec<&str> = p
            .topological_order()
            .unwrap()
            .into_iter()
            .map(|i| p.nodes[i].id.as_str())
            .collect();
        assert_eq!(order, ["a", "b", "c"]);
    }

    #[test]
    fn apply_edits_checks_old_text() {
        let edits = vec![Edit {
            start: 4,
            end: 7,
            line: 1,
            old: "old".into(),
            new: "brand_new".into(),
        }];
        assert_eq!(
            crate::edit::apply("def old(): pass", &edits).unwrap(),
            "def brand_new(): pass"
        );
        assert!(crate::edit::apply("def xyz(): pass", &edits).is_err());
    }
}
