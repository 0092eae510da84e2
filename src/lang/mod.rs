//! Language analysis used by the `code` server: Python (scopes, modules,
//! renames) and structural rewriting for Python, Rust, JavaScript,
//! TypeScript and Go.

pub mod python;
pub mod structural;
