//! Language analysis used by the `code` server. Only Python for now.

pub mod python;
