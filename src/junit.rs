//! JUnit XML, as pytest (`--junitxml`) and most test runners write it:
//! one `<testcase classname= name= time=>` per test, with a `<failure>`,
//! `<error>` or `<skipped>` child when it did not pass.

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Passed,
    Failed,
    Error,
    Skipped,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Error => "error",
            Outcome::Skipped => "skipped",
        }
    }

    pub(crate) fn is_failure(self) -> bool {
        matches!(self, Outcome::Failed | Outcome::Error)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// pytest's dotted path of the test's file and class (`tests.test_a.TestX`).
    pub classname: String,
    pub name: String,
    pub outcome: Outcome,
    pub seconds: f64,
}

impl Case {
    /// The id orch has always reported: `classname::name`.
    pub(crate) fn id(&self) -> String {
        if self.classname.is_empty() {
            self.name.clone()
        } else {
            format!("{}::{}", self.classname, self.name)
        }
    }

    /// The test's file, relative to `root`, and its pytest node id
    /// (`tests/test_a.py::TestX::test_y`): the longest prefix of the dotted
    /// class name that is a `.py` file under `root`. `None` when no prefix
    /// is (a test runner other than pytest, a file since removed).
    pub(crate) fn locate(&self, root: &Path) -> Option<(String, String)> {
        let parts: Vec<&str> = self.classname.split('.').collect();
        for n in (1..=parts.len()).rev() {
            let file = format!("{}.py", parts[..n].join("/"));
            if root.join(&file).is_file() {
                let mut node = file.clone();
                for part in &parts[n..] {
                    node.push_str("::");
                    node.push_str(part);
                }
                node.push_str("::");
                node.push_str(&self.name);
                return Some((file, node));
            }
        }
        None
    }
}

/// Reads every `<testcase>` of a JUnit report.
pub(crate) fn parse(xml: &str) -> Result<Vec<Case>, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut cases = Vec::new();
    let mut current: Option<Case> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("bad JUnit XML: {e}"))?;
        let empty = matches!(event, Event::Empty(_));
        match event {
            Event::Start(element) | Event::Empty(element)
                if element.name().as_ref() == b"testcase" =>
            {
                let mut case = Case {
                    classname: String::new(),
                    name: String::new(),
                    outcome: Outcome::Passed,
                    seconds: 0.0,
                };
                for attribute in element.attributes().flatten() {
                    let value = attribute
                        .unescape_value()
                        .map(|v| v.into_owned())
                        .unwrap_or_default();
                    match attribute.key.as_ref() {
                        b"classname" => case.classname = value,
                        b"name" => case.name = value,
                        b"time" => case.seconds = value.trim().parse().unwrap_or(0.0),
                        _ => {}
                    }
                }
                if empty {
                    cases.push(case);
                } else {
                    current = Some(case);
                }
            }
            Event::Start(element) | Event::Empty(element) => {
                if let Some(case) = current.as_mut() {
                    let outcome = match element.name().as_ref() {
                        b"failure" => Some(Outcome::Failed),
                        b"error" => Some(Outcome::Error),
                        b"skipped" => Some(Outcome::Skipped),
                        _ => None,
                    };
                    // An error in teardown after a failure stays a failure.
                    if let Some(outcome) = outcome
                        && (case.outcome == Outcome::Passed || outcome == Outcome::Failed)
                    {
                        case.outcome = outcome;
                    }
                }
            }
            Event::End(element) if element.name().as_ref() == b"testcase" => {
                if let Some(case) = current.take() {
                    cases.push(case);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_and_times() {
        let xml = r#"<?xml version="1.0"?><testsuites><testsuite>
            <testcase classname="tests.test_a" name="test_ok" time="0.125"/>
            <testcase classname="tests.test_a" name="test_bad"><failure message="x">trace</failure></testcase>
            <testcase classname="tests.test_a" name="test_skip"><skipped/></testcase>
            <testcase classname="tests.test_b.TestK" name="test_err" time="2"><error message="boom"/></testcase>
        </testsuite></testsuites>"#;
        let cases = parse(xml).unwrap();
        let outcomes: Vec<_> = cases.iter().map(|c| (c.id(), c.outcome)).collect();
        assert_eq!(
            outcomes,
            [
                ("tests.test_a::test_ok".to_owned(), Outcome::Passed),
                ("tests.test_a::test_bad".to_owned(), Outcome::Failed),
                ("tests.test_a::test_skip".to_owned(), Outcome::Skipped),
                ("tests.test_b.TestK::test_err".to_owned(), Outcome::Error),
            ]
        );
        assert_eq!(cases[0].seconds, 0.125);
        assert_eq!(cases[3].seconds, 2.0);
    }

    #[test]
    fn cases_are_located_in_their_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tests")).unwrap();
        std::fs::write(dir.path().join("tests/test_b.py"), "").unwrap();
        let case = Case {
            classname: "tests.test_b.TestK".into(),
            name: "test_err[1-2]".into(),
            outcome: Outcome::Passed,
            seconds: 0.0,
        };
        assert_eq!(
            case.locate(dir.path()),
            Some((
                "tests/test_b.py".to_owned(),
                "tests/test_b.py::TestK::test_err[1-2]".to_owned()
            ))
        );
        let gone = Case {
            classname: "tests.test_gone".into(),
            ..case
        };
        assert_eq!(gone.locate(dir.path()), None);
    }
}
