//! The written contract between the phases and the servers: every call
//! orch makes of a role, with its arguments, its result, its tool name and
//! its role, in one typed definition. The phases send these types through
//! [`crate::mcp::Pool::request`]; orch's built-in servers (`crate::servers`)
//! take and answer the same types. The calls a role must serve ([`calls`],
//! used by `orch servers check` and by role mappings in MCP config files)
//! are generated from the same definitions, so they cannot drift apart.
//!
//! One file per role: [`search`], [`code`], [`fs`], [`test`].

pub mod code;
pub mod fs;
pub mod search;
pub mod test;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// What orch asks of servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Search,
    Code,
    Fs,
    Test,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Search, Role::Code, Role::Fs, Role::Test];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Search => "search",
            Role::Code => "code",
            Role::Fs => "fs",
            Role::Test => "test",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// One call orch makes of a role: the arguments are the value itself.
pub trait Call: Serialize {
    /// The role whose server answers it.
    const ROLE: Role;
    /// orch's name for it: the built-in server's tool name, and the key of
    /// a role mapping in an MCP config file.
    const TOOL: &'static str;
    /// What the server answers.
    type Output: DeserializeOwned;
}

/// A call whose answer comes in pages of files (see [`Page`]).
pub trait Paged: Call {
    fn page_mut(&mut self) -> &mut Page;
}

/// One entry of a role's list of calls.
#[derive(Debug, Clone, Copy)]
pub struct CallSpec {
    pub role: Role,
    pub tool: &'static str,
    /// The JSON Schema of the arguments.
    pub schema: fn() -> schemars::Schema,
    /// Variables a role mapping's argument template may use besides the
    /// arguments and `root` (derived by orch from them).
    pub derived: &'static [&'static str],
    /// Which refactors need it, when not every run does.
    pub needed_for: Option<&'static str>,
}

impl CallSpec {
    /// The variables a role mapping's argument template may use: the
    /// call's arguments, `root`, and those orch derives for it.
    pub fn variables(&self) -> Vec<String> {
        let schema = (self.schema)();
        let mut variables: Vec<String> = schema
            .get("properties")
            .and_then(|p| p.as_object())
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        variables.push("root".to_owned());
        variables.extend(self.derived.iter().map(|v| (*v).to_owned()));
        variables.sort();
        variables.dedup();
        variables
    }
}

/// The JSON Schema of `T` (a [`CallSpec::schema`]).
pub fn schema_of<T: JsonSchema>() -> schemars::Schema {
    schemars::schema_for!(T)
}

/// The calls orch makes of `role`.
pub fn calls(role: Role) -> &'static [CallSpec] {
    match role {
        Role::Search => search::CALLS,
        Role::Code => code::CALLS,
        Role::Fs => fs::CALLS,
        Role::Test => test::CALLS,
    }
}

/// The call of `role` named `tool`.
pub fn call(role: Role, tool: &str) -> Option<&'static CallSpec> {
    calls(role).iter().find(|c| c.tool == tool)
}

/// Paging over the files of a long answer: skip `offset` files, answer at
/// most `max_files` files and `max_notes` notes (mentions, uncertain
/// sites, refusals).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Page {
    #[serde(default)]
    pub offset: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_files: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_notes: Option<usize>,
}

/// Implements [`Call`] for each listed type and makes the role's `CALLS`
/// from the same list.
macro_rules! define_calls {
    ($role:ident {
        $( $call:ident => $tool:literal -> $output:ty
            $(, vars [$($derived:literal),*])?
            $(, for $needed:literal)? ; )*
    }) => {
        $(
            impl $crate::protocol::Call for $call {
                const ROLE: $crate::protocol::Role = $crate::protocol::Role::$role;
                const TOOL: &'static str = $tool;
                type Output = $output;
            }
        )*

        /// The calls orch makes of this role.
        pub const CALLS: &[$crate::protocol::CallSpec] = &[$(
            $crate::protocol::CallSpec {
                role: $crate::protocol::Role::$role,
                tool: $tool,
                schema: $crate::protocol::schema_of::<$call>,
                derived: &[$($($derived),*)?],
                needed_for: $crate::protocol::define_calls!(@needed $($needed)?),
            }
        ),*];
    };
    (@needed $needed:literal) => { Some($needed) };
    (@needed) => { None };
}
pub(crate) use define_calls;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_are_unique_within_a_role() {
        for role in Role::ALL {
            let mut tools: Vec<&str> = calls(role).iter().map(|c| c.tool).collect();
            let count = tools.len();
            tools.sort();
            tools.dedup();
            assert_eq!(tools.len(), count, "{role:?}");
            assert!(calls(role).iter().all(|c| c.role == role));
        }
    }

    /// `Pool::request` takes only a [`Call`], and the one way to make a
    /// call is `define_calls!`, which lists it in its role's `CALLS`: no
    /// phase can call a tool its role's list does not name.
    #[test]
    fn every_call_is_made_by_define_calls() {
        let mut stack = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
        let mut offenders = Vec::new();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let by_hand = text.lines().filter(|line| {
                        let line = line.trim_start();
                        line.starts_with("impl") && line.contains("Call for ")
                    });
                    let is_macro = path.ends_with("protocol/mod.rs");
                    if by_hand.count() > usize::from(is_macro) {
                        offenders.push(path.display().to_string());
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "`Call` implemented by hand in {offenders:?}"
        );
    }

    #[test]
    fn variables_are_the_arguments_flattened_pages_included() {
        let rename = call(Role::Code, "rename_references").expect("listed");
        let variables = rename.variables();
        for name in ["name", "new_name", "files", "offset", "max_files", "root"] {
            assert!(variables.iter().any(|v| v == name), "{name}: {variables:?}");
        }
        let unused = call(Role::Code, "unused_imports").expect("listed");
        assert!(unused.variables().iter().any(|v| v == "importers"));
        let edit = call(Role::Fs, "edit_file").expect("listed");
        for name in ["path", "expected_sha1", "edits", "abs_path", "text_edits"] {
            assert!(edit.variables().iter().any(|v| v == name), "{name}");
        }
    }

    #[test]
    fn a_page_is_sent_flat_and_read_back() {
        let call = code::RenameModule {
            path: "a.py".into(),
            new_path: "b.py".into(),
            page: Page {
                offset: 3,
                max_files: Some(10),
                max_notes: None,
            },
        };
        let value = serde_json::to_value(&call).expect("serialises");
        assert_eq!(
            value,
            serde_json::json!({"path": "a.py", "new_path": "b.py", "offset": 3, "max_files": 10})
        );
        let back: code::RenameModule = serde_json::from_value(value).expect("reads");
        assert_eq!(back.page, call.page);
    }
}
