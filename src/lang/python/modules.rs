//! Which file is which Python module.
//!
//! A file's canonical module name follows packages: walk up while the
//! directory holds `__init__.py`, so `src/shop/util.py` in package `shop` is
//! `shop.util` and `tests/test_x.py` is `test_x`. Lookups also accept any
//! dotted suffix of a file's path, which covers namespace packages and code
//! that puts other directories on `sys.path`; canonical matches win.

use std::collections::{BTreeMap, BTreeSet};

/// All Python files of a project, by module name.
#[derive(Debug, Default, Clone)]
pub(crate) struct ModuleIndex {
    canonical: BTreeMap<String, Vec<String>>,
    suffix: BTreeMap<String, Vec<String>>,
    names: BTreeMap<String, String>,
}

impl ModuleIndex {
    /// Builds the index from `/`-separated paths relative to the project root.
    pub(crate) fn new<I, S>(paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let paths: Vec<String> = paths
            .into_iter()
            .map(|p| p.as_ref().to_owned())
            .filter(|p| p.ends_with(".py") || p.ends_with(".pyi"))
            .collect();
        let init_dirs: BTreeSet<String> = paths
            .iter()
            .filter_map(|p| {
                let (dir, file) = p.rsplit_once('/').unwrap_or(("", p.as_str()));
                (file == "__init__.py").then(|| dir.to_owned())
            })
            .collect();
        let mut index = ModuleIndex::default();
        for path in paths {
            let parts = module_parts(&path);
            if parts.is_empty() {
                continue;
            }
            // Canonical: the file plus the package directories right above it.
            let dirs: Vec<&str> = path.split('/').collect();
            let mut packages = 0;
            let mut depth = dirs.len() - 1;
            while depth > 0 && init_dirs.contains(&dirs[..depth].join("/")) {
                packages += 1;
                depth -= 1;
            }
            let is_init = path.ends_with("__init__.py");
            let keep = if is_init { packages } else { packages + 1 }.clamp(1, parts.len());
            let skip = parts.len() - keep;
            let canonical = parts[skip..].join(".");
            for start in 0..parts.len() {
                // A name cannot start inside a regular package (`util` for `shop/util.py`).
                if start > 0 && start < dirs.len() && init_dirs.contains(&dirs[..start].join("/")) {
                    continue;
                }
                let name = parts[start..].join(".");
                index.suffix.entry(name).or_default().push(path.clone());
            }
            index
                .canonical
                .entry(canonical.clone())
                .or_default()
                .push(path.clone());
            index.names.insert(path, canonical);
        }
        index
    }

    /// The canonical module name of a file.
    pub(crate) fn module_of(&self, path: &str) -> Option<&str> {
        self.names.get(path).map(String::as_str)
    }

    /// The files a dotted module name can mean, canonical matches first.
    pub(crate) fn resolve(&self, module: &str) -> Vec<&str> {
        if let Some(paths) = self.canonical.get(module) {
            return paths.iter().map(String::as_str).collect();
        }
        self.suffix
            .get(module)
            .map(|paths| paths.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// Whether a dotted name is a module (or package) of the project.
    pub(crate) fn is_module(&self, module: &str) -> bool {
        !self.resolve(module).is_empty()
    }

    /// The package a file's relative imports start from.
    pub(crate) fn package_of(&self, path: &str) -> Option<String> {
        let module = self.module_of(path)?;
        if path.ends_with("/__init__.py") || path == "__init__.py" {
            Some(module.to_owned())
        } else {
            Some(
                module
                    .rsplit_once('.')
                    .map(|(p, _)| p.to_owned())
                    .unwrap_or_default(),
            )
        }
    }

    /// Absolute module for `from <dots><name> import ...` in `path`.
    pub(crate) fn absolute(&self, path: &str, dots: usize, name: &str) -> Option<String> {
        if dots == 0 {
            return Some(name.to_owned());
        }
        let mut package = self.package_of(path)?;
        for _ in 1..dots {
            package = match package.rsplit_once('.') {
                Some((parent, _)) => parent.to_owned(),
                None if !package.is_empty() => String::new(),
                None => return None,
            };
        }
        Some(match (package.is_empty(), name.is_empty()) {
            (true, _) => name.to_owned(),
            (false, true) => package,
            (false, false) => format!("{package}.{name}"),
        })
    }
}

/// `a/b/c.py` -> [a, b, c]; `a/b/__init__.py` -> [a, b].
fn module_parts(path: &str) -> Vec<String> {
    let stem = path
        .strip_suffix(".pyi")
        .or_else(|| path.strip_suffix(".py"))
        .unwrap_or(path);
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if parts.last().is_some_and(|p| p == "__init__") {
        parts.pop();
    }
    if parts
        .iter()
        .any(|p| p.is_empty() || p.contains('.') || p.contains('-'))
    {
        // Not importable as a dotted name (e.g. `my-scripts/x.py`); keep only the stem.
        return parts.last().map(|p| vec![p.clone()]).unwrap_or_default();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names_follow_packages() {
        let index = ModuleIndex::new([
            "src/shop/__init__.py",
            "src/shop/util.py",
            "src/shop/sub/__init__.py",
            "src/shop/sub/deep.py",
            "tests/test_util.py",
            "setup.py",
        ]);
        assert_eq!(index.module_of("src/shop/util.py"), Some("shop.util"));
        assert_eq!(index.module_of("src/shop/__init__.py"), Some("shop"));
        assert_eq!(
            index.module_of("src/shop/sub/deep.py"),
            Some("shop.sub.deep")
        );
        assert_eq!(index.module_of("tests/test_util.py"), Some("test_util"));
        assert_eq!(index.resolve("shop.util"), ["src/shop/util.py"]);
        assert_eq!(index.resolve("util"), Vec::<&str>::new());
        assert_eq!(
            index.absolute("src/shop/sub/deep.py", 2, "util").as_deref(),
            Some("shop.util")
        );
        assert_eq!(
            index.absolute("src/shop/sub/deep.py", 1, "").as_deref(),
            Some("shop.sub")
        );
        assert_eq!(
            index.absolute("src/shop/__init__.py", 1, "util").as_deref(),
            Some("shop.util")
        );
    }

    #[test]
    fn namespace_packages_resolve_by_suffix() {
        let index = ModuleIndex::new(["ns/pkg/mod.py"]);
        assert_eq!(index.module_of("ns/pkg/mod.py"), Some("mod"));
        assert_eq!(index.resolve("pkg.mod"), ["ns/pkg/mod.py"]);
    }
}
