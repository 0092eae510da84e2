//! Facts of Python's language that more than one part of orch needs, kept
//! once: what a valid (and renameable) identifier is, and what a test file
//! is.

/// Why a name cannot be a Python identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NameError {
    #[error("`{name}` is not a valid Python identifier")]
    Invalid { name: String },
    #[error("`{name}` is a Python keyword and cannot be a name")]
    Keyword { name: String },
    #[error(
        "`{name}` is `{normalized}` to Python, which compares identifiers after NFKC normalisation; write `{normalized}`"
    )]
    NotNormalized { name: String, normalized: String },
}

/// Python's identifier rule, restricted to what orch can rename safely.
pub(crate) fn validate_identifier(name: &str) -> Result<(), NameError> {
    let mut chars = name.chars();
    let valid = match chars.next() {
        Some(c) if c == '_' || c.is_alphabetic() => chars.all(|c| c == '_' || c.is_alphanumeric()),
        _ => false,
    };
    if !valid {
        return Err(NameError::Invalid {
            name: name.to_owned(),
        });
    }
    // Python reads `ＡＢＣ` as `ABC`: a name written otherwise would be
    // compared with the wrong spelling (and clash unseen).
    let normalized: String = unicode_normalization::UnicodeNormalization::nfkc(name).collect();
    if normalized != name {
        return Err(NameError::NotNormalized {
            name: name.to_owned(),
            normalized,
        });
    }
    if KEYWORDS.contains(&name) {
        return Err(NameError::Keyword {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Whether `name` is a valid identifier (see [`validate_identifier`]).
pub(crate) fn is_identifier(name: &str) -> bool {
    validate_identifier(name).is_ok()
}

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Whether a project path is a test file, by pytest's conventions:
/// `test_*.py`, `*_test.py`, `conftest.py`, or any file under a `tests` or
/// `test` directory.
/// Whether pytest collects tests from the file by its default name rules
/// (`test_*.py`, `*_test.py`): what a selection may name.
pub(crate) fn is_pytest_file(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.ends_with(".py") && (file.starts_with("test_") || file.ends_with("_test.py"))
}

pub(crate) fn is_test_file(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.starts_with("test_")
        || file.ends_with("_test.py")
        || file == "conftest.py"
        || path
            .split('/')
            .rev()
            .skip(1)
            .any(|dir| dir == "tests" || dir == "test")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_keywords() {
        assert!(is_identifier("make_str"));
        assert!(is_identifier("_private2"));
        assert!(is_identifier("café"));
        assert!(!is_identifier("9lives"));
        assert!(!is_identifier("a.b"));
        assert!(!is_identifier(""));
        assert_eq!(
            validate_identifier("ＡＢＣ"),
            Err(NameError::NotNormalized {
                name: "ＡＢＣ".into(),
                normalized: "ABC".into()
            })
        );
        assert!(!is_identifier("ﬁle"), "the ligature is `file` to Python");
        assert_eq!(
            validate_identifier("class"),
            Err(NameError::Keyword {
                name: "class".into()
            })
        );
    }

    #[test]
    fn test_files_by_pytest_conventions() {
        for path in [
            "tests/test_cart.py",
            "test_cart.py",
            "pkg/cart_test.py",
            "conftest.py",
            "pkg/tests/helpers.py",
            "test/util.py",
        ] {
            assert!(is_test_file(path), "{path}");
        }
        for path in ["shop/cart.py", "contest.py", "pkg/testing.py", "tests"] {
            assert!(!is_test_file(path), "{path}");
        }
    }
}
