//! The `modules` tool of the `code` server: the Python modules and
//! packages a name can mean (a path, a dotted module or a bare name).

use super::python_files;
use crate::lang::python::ModuleIndex;
use crate::protocol::code::{ModuleMatch, ModulesResult};
use crate::servers::Jail;

/// The modules and packages `name` can mean.
pub(crate) fn modules(jail: &Jail, name: &str) -> ModulesResult {
    let files = python_files(jail);
    resolve_modules(&files, name)
}

/// Entity resolution over the project's Python files.
pub(crate) fn resolve_modules(files: &[String], name: &str) -> ModulesResult {
    let index = ModuleIndex::new(files);
    let wanted = name
        .trim()
        .trim_start_matches("./")
        .trim_end_matches('/')
        .to_owned();
    let under = |dir: &str| -> Vec<String> {
        files
            .iter()
            .filter(|f| f.starts_with(&format!("{dir}/")))
            .cloned()
            .collect()
    };
    let package = |dir: &str, module: String| ModuleMatch {
        module,
        path: format!("{dir}/"),
        package: true,
        files: under(dir),
    };
    let mut matches = Vec::new();
    if wanted.ends_with(".py") {
        // The file, or else every file it is a path suffix of (`util.py`,
        // or `pkg/util.py` in a `src/` layout), as people type paths.
        let suffix = format!("/{wanted}");
        let exact = files.contains(&wanted);
        for file in files
            .iter()
            .filter(|f| **f == wanted || !exact && f.ends_with(&suffix))
        {
            matches.push(ModuleMatch {
                module: index.module_of(file).unwrap_or_default().to_owned(),
                path: file.clone(),
                package: false,
                files: vec![file.clone()],
            });
        }
    } else if wanted.contains('/') {
        if !under(&wanted).is_empty() {
            let module = index
                .module_of(&format!("{wanted}/__init__.py"))
                .unwrap_or(&wanted)
                .to_owned();
            matches.push(package(&wanted, module));
        } else {
            // A directory path suffix: `pkg/sub` for `src/pkg/sub`.
            let suffix = format!("/{wanted}/");
            let mut dirs: Vec<&str> = files
                .iter()
                .filter_map(|f| f.find(&suffix).map(|i| &f[..i + suffix.len() - 1]))
                .collect();
            dirs.sort_unstable();
            dirs.dedup();
            for dir in dirs {
                let module = index
                    .module_of(&format!("{dir}/__init__.py"))
                    .unwrap_or(dir)
                    .to_owned();
                matches.push(package(dir, module));
            }
        }
    } else {
        for file in files {
            let Some(module) = index.module_of(file) else {
                continue;
            };
            if !module_matches(module, &wanted) {
                continue;
            }
            match file.strip_suffix("/__init__.py") {
                Some(dir) => matches.push(package(dir, module.to_owned())),
                None if file == "__init__.py" => {}
                None => matches.push(ModuleMatch {
                    module: module.to_owned(),
                    path: file.clone(),
                    package: false,
                    files: vec![file.clone()],
                }),
            }
        }
        // An exact dotted name wins over suffix matches (a bare name is
        // ambiguous wherever it is).
        if wanted.contains('.') && matches.iter().any(|m| m.module == wanted) {
            matches.retain(|m| m.module == wanted);
        }
        // A directory without `__init__.py` (a namespace package).
        let dir = wanted.replace('.', "/");
        if matches.is_empty() && !under(&dir).is_empty() {
            matches.push(package(&dir, wanted.clone()));
        }
    }
    matches.sort_by(|a, b| a.path.cmp(&b.path));
    let mut similar = Vec::new();
    if matches.is_empty() {
        let last = wanted
            .rsplit(['.', '/'])
            .next()
            .unwrap_or(&wanted)
            .trim_end_matches(".py");
        let mut scored: Vec<(f64, String)> = files
            .iter()
            .filter_map(|f| index.module_of(f))
            .map(|m| {
                let tail = m.rsplit('.').next().unwrap_or(m);
                (strsim::jaro_winkler(last, tail), m.to_owned())
            })
            .filter(|(score, _)| *score >= 0.75)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.dedup_by(|a, b| a.1 == b.1);
        similar = scored.into_iter().take(5).map(|(_, m)| m).collect();
    }
    ModulesResult { matches, similar }
}

/// `shop.pricing` matches `pricing`, `shop.pricing` and `x.shop.pricing`.
fn module_matches(module: &str, wanted: &str) -> bool {
    module == wanted || module.ends_with(&format!(".{wanted}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn paths_resolve_by_their_unique_suffix() {
        let project = files(&[
            "src/shop/__init__.py",
            "src/shop/util.py",
            "src/shop/tax/__init__.py",
            "src/shop/tax/util.py",
            "tests/test_util.py",
        ]);
        let paths = |name: &str| -> Vec<String> {
            resolve_modules(&project, name)
                .matches
                .into_iter()
                .map(|m| m.path)
                .collect()
        };
        assert_eq!(paths("shop/util.py"), ["src/shop/util.py"]);
        assert_eq!(paths("tax/util.py"), ["src/shop/tax/util.py"]);
        assert_eq!(
            paths("util.py"),
            ["src/shop/tax/util.py", "src/shop/util.py"]
        );
        // An exact path wins over suffixes.
        assert_eq!(paths("src/shop/util.py"), ["src/shop/util.py"]);
        assert_eq!(paths("shop/tax"), ["src/shop/tax/"]);
        assert_eq!(paths("shop"), ["src/shop/"]);
        assert!(paths("nowhere/util.py").is_empty());
    }

    #[test]
    fn names_resolve_to_files_and_packages() {
        let project = files(&[
            "shop/__init__.py",
            "shop/pricing.py",
            "shop/tax/__init__.py",
            "shop/tax/rates.py",
            "legacy/pricing.py",
            "tests/test_pricing.py",
        ]);
        let found = resolve_modules(&project, "pricing");
        let paths: Vec<&str> = found.matches.iter().map(|m| m.path.as_str()).collect();
        assert_eq!(paths, ["legacy/pricing.py", "shop/pricing.py"]);
        let found = resolve_modules(&project, "shop.pricing");
        assert_eq!(found.matches.len(), 1);
        assert_eq!(found.matches[0].path, "shop/pricing.py");
        let found = resolve_modules(&project, "tax");
        assert_eq!(found.matches.len(), 1);
        assert!(found.matches[0].package);
        assert_eq!(
            found.matches[0].files,
            ["shop/tax/__init__.py", "shop/tax/rates.py"]
        );
        let found = resolve_modules(&project, "shop/tax/");
        assert_eq!(found.matches[0].module, "shop.tax");
        let found = resolve_modules(&project, "./shop/pricing.py");
        assert_eq!(found.matches[0].module, "shop.pricing");
        let found = resolve_modules(&project, "pricng");
        assert!(found.matches.is_empty());
        assert!(found.similar.contains(&"shop.pricing".to_owned()));
    }
}
