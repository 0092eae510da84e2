//! The `make_async` and `modules` tools of the `code` server.

use std::collections::BTreeMap;

use super::{page_python, python_files, read_all};
use crate::lang::python::asyncify::{Target, make_async as change, sync_functions};
use crate::lang::python::{self, ModuleIndex, rename};
use crate::protocol::code::{MakeAsync, ModuleMatch, ModulesResult, NoteOut, ReplaceOutput};
use crate::servers::Jail;

/// `async`/`await` insertions for the targets and their callers, up to a
/// boundary; blockers in `problems`, the functions made async in `notes`.
pub(crate) fn make_async(jail: &Jail, args: MakeAsync) -> Result<ReplaceOutput, String> {
    let all = python_files(jail);
    let index = ModuleIndex::new(&all);
    let everything = read_all(jail, &all);
    let sources: BTreeMap<&str, &str> = everything
        .iter()
        .map(|(p, s)| (p.as_str(), s.as_str()))
        .collect();
    let mut targets = Vec::new();
    if let (Some(definition), Some(name)) = (&args.definition, &args.name) {
        if !sources.contains_key(definition.as_str()) {
            return Err(format!(
                "`{definition}` is not a Python file of the project"
            ));
        }
        targets.push(Target {
            file: definition.clone(),
            class: args.class.clone(),
            name: name.clone(),
        });
    }
    for module in &args.modules {
        let source = sources
            .get(module.as_str())
            .ok_or_else(|| format!("`{module}` is not a Python file of the project"))?;
        targets.extend(sync_functions(source).into_iter().map(|name| Target {
            file: module.clone(),
            class: None,
            name,
        }));
    }
    let mut out = ReplaceOutput {
        files_scanned: everything.len(),
        ..ReplaceOutput::default()
    };
    if targets.is_empty() {
        return Ok(out);
    }
    let analyse = |target: &Target| {
        let subset: Vec<(String, String)> = match &target.class {
            None => everything
                .iter()
                .filter(|(path, source)| {
                    *path == target.file || crate::lang::structural::has_word(source, &target.name)
                })
                .cloned()
                .collect(),
            // The class hierarchy may live in files that do not name the method.
            Some(class) => {
                let hierarchy = python::methods::hierarchy_files(class, &everything);
                everything
                    .iter()
                    .filter(|(path, source)| {
                        *path == target.file
                            || hierarchy.contains(&path.as_str())
                            || crate::lang::structural::has_word(source, &target.name)
                            || crate::lang::structural::has_word(source, class)
                    })
                    .cloned()
                    .collect()
            }
        };
        let new = "__orch_async_target__";
        match &target.class {
            Some(class) => {
                python::methods::analyse(&index, &target.file, class, &target.name, new, &subset)
            }
            None => rename::analyse(&index, &target.file, &target.name, new, &subset),
        }
    };
    let result = change(&targets, &everything, &analyse);
    // Listed up to the note limit: a large call graph can block in many places.
    out.problems_total = result.blockers.len();
    out.problems = result
        .blockers
        .into_iter()
        .take(args.page.max_notes.unwrap_or(25).max(5))
        .map(NoteOut::from)
        .collect();
    out.notes = result.converted.into_iter().map(NoteOut::from).collect();
    out.total_matches = result.edits.values().map(Vec::len).sum();
    page_python(
        &mut out,
        result.edits,
        &everything,
        args.page.offset,
        args.page.max_files,
    );
    Ok(out)
}

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
        if files.contains(&wanted) {
            matches.push(ModuleMatch {
                module: index.module_of(&wanted).unwrap_or_default().to_owned(),
                path: wanted.clone(),
                package: false,
                files: vec![wanted.clone()],
            });
        }
    } else if wanted.contains('/') {
        if !under(&wanted).is_empty() {
            let module = index
                .module_of(&format!("{wanted}/__init__.py"))
                .unwrap_or(&wanted)
                .to_owned();
            matches.push(package(&wanted, module));
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
