//! The `definitions` and `similar_names` tools: module-level definitions of
//! a name, and the names closest to one (for "did you mean").

use super::*;

/// Module-level definitions of `name` across the project (`focused`: see
/// [`Definitions::focused`]).
pub(crate) fn definitions(
    jail: &Jail,
    name: &str,
    kind: DefinitionKind,
    focused: bool,
) -> DefinitionsResult {
    let files = python_files(jail);
    let index = ModuleIndex::new(&files);
    // Only files that can hold the definition are parsed: `def NAME` for a
    // function or method, `class NAME` for a class (a continuation
    // backslash may sit between); any file naming it otherwise.
    let keyword = match kind {
        DefinitionKind::Function | DefinitionKind::Method => Some("def"),
        DefinitionKind::Class => Some("class"),
        DefinitionKind::Any | DefinitionKind::Variable | DefinitionKind::Attribute => None,
    };
    let shape = keyword.and_then(|keyword| {
        regex::Regex::new(&format!(r"\b{keyword}[\s\\]+{}\b", regex::escape(name))).ok()
    });
    // Most files lack the name: a byte search rules them out before any
    // decoding (an ASCII name has the same bytes in every encoding a
    // Python file can declare).
    let named: Vec<String> = if name.is_ascii() && !name.is_empty() {
        crate::parallel::par_map(&files, |relative| {
            let bytes = std::fs::read(jail.resolve(relative).ok()?).ok()?;
            memchr::memmem::find(&bytes, name.as_bytes()).map(|_| relative.clone())
        })
        .into_iter()
        .flatten()
        .collect()
    } else {
        files.clone()
    };
    let candidates: Vec<(String, String)> = read_all(jail, &named)
        .into_iter()
        .filter(|(_, source)| match &shape {
            Some(shape) => shape.is_match(source),
            None => source.contains(name),
        })
        .collect();
    let mut definitions = Vec::new();
    let trees = if focused {
        crate::parallel::par_map(&candidates, |(_, source)| {
            python::parse_focused(source, &[name])
        })
    } else {
        python::parse_all(&candidates)
    };
    if matches!(kind, DefinitionKind::Method | DefinitionKind::Attribute) {
        for ((relative, source), tree) in candidates.iter().zip(trees) {
            let Some(tree) = tree else {
                continue;
            };
            let classes = if kind == DefinitionKind::Method {
                python::methods::classes_defining(&tree, source, name)
            } else {
                python::methods::classes_assigning(&tree, source, name)
            };
            for (class, line, column) in classes {
                definitions.push(Definition {
                    path: relative.clone(),
                    module: index.module_of(relative).unwrap_or_default().to_owned(),
                    kind,
                    line,
                    column,
                    class: Some(class),
                });
            }
        }
    } else {
        for ((relative, source), tree) in candidates.iter().zip(trees) {
            let Some(tree) = tree else {
                continue;
            };
            for definition in python::top_level_definitions(&tree, source) {
                if definition.name == name && kind.admits(DefinitionKind::named(definition.kind)) {
                    definitions.push(Definition {
                        path: relative.clone(),
                        module: index.module_of(relative).unwrap_or_default().to_owned(),
                        kind: DefinitionKind::named(definition.kind),
                        line: definition.line,
                        column: definition.column,
                        class: None,
                    });
                }
            }
        }
    }
    definitions.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    DefinitionsResult {
        definitions,
        files_scanned: files.len(),
    }
}

/// Closest module-level names by a cheap line scan (no parse needed).
pub(crate) fn similar_names(jail: &Jail, name: &str, limit: usize) -> SimilarResult {
    let mut scored: Vec<(f64, SimilarName)> = Vec::new();
    let lowered = name.to_lowercase();
    for relative in python_files(jail) {
        let Ok(source) = read(jail, &relative) else {
            continue;
        };
        for (number, line) in source.lines().enumerate() {
            let rest = line
                .strip_prefix("def ")
                .or_else(|| line.strip_prefix("async def "))
                .or_else(|| line.strip_prefix("class "));
            let Some(rest) = rest else { continue };
            let candidate: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if candidate.is_empty() {
                continue;
            }
            let score = strsim::jaro_winkler(&lowered, &candidate.to_lowercase());
            if score >= 0.75 {
                scored.push((
                    score,
                    SimilarName {
                        name: candidate,
                        path: relative.clone(),
                        line: number + 1,
                    },
                ));
            }
        }
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.name.cmp(&b.1.name)));
    let mut names: Vec<SimilarName> = Vec::new();
    for (_, candidate) in scored {
        if names.len() >= limit {
            break;
        }
        if !names.iter().any(|n| n.name == candidate.name) {
            names.push(candidate);
        }
    }
    SimilarResult { names }
}
