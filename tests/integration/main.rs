//! Integration tests: the real `orch` binary on temp copies of the fixture
//! repositories, with real built-in MCP servers, real git and real pytest.

// A helper that cannot set a test up fails the test with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod agent;
mod apply;
mod asyncify;
mod cleanup;
mod github;
mod history;
mod interrupts;
mod mcp;
mod moves;
mod plan_files;
mod replace;
mod run;
mod trust;

pub use support::TestContext;
