//! Language analysis used by the `code` server: Python (scopes, modules,
//! renames) and structural rewriting for Python, Rust, JavaScript,
//! TypeScript and Go.

pub(crate) mod python;
pub(crate) mod structural;

/// ERROR and MISSING nodes under `root` (any tree-sitter grammar).
pub(crate) fn error_nodes(root: tree_sitter::Node<'_>) -> usize {
    if !root.has_error() {
        return 0;
    }
    let mut count = 0;
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            count += 1;
        }
        if node.has_error() {
            let mut cursor = node.walk();
            stack.extend(node.children(&mut cursor));
        }
    }
    count
}

/// Runs one level of a recursive walk over a syntax tree, on a new stack
/// segment (from the heap) when less than 64 KiB of the current one is
/// left: trees tens of thousands of levels deep are walked instead of
/// overflowing the thread's stack.
pub(crate) fn deep<R>(f: impl FnOnce() -> R) -> R {
    stacker::maybe_grow(64 * 1024, 2 * 1024 * 1024, f)
}
