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
