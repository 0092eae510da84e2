//! LOGIC's side of the frugal answers: the `code` server says where the
//! edits start, and orch derives them from the files in its worktree,
//! checking each site against the file.

use crate::edit::{Edit, EditKind};
use crate::protocol::code::FileSites;

/// The edits of a file the `code` server answered with `sites`: the
/// pattern's rewrites in the file as it is in the worktree that start
/// there (each site must have one).
pub(super) fn edits_at_sites(
    jail: &crate::servers::Jail,
    (pattern, rewrite): (&str, &str),
    file: &crate::protocol::code::FileReplacements,
) -> Result<crate::protocol::code::FileReplacements, String> {
    use crate::lang::structural;
    if file.sites.is_empty() {
        return Ok(file.clone());
    }
    let sites = crate::protocol::code::decode_sites(&file.sites)?;
    let (language, lang) =
        structural::language_of(&file.path).ok_or("not a file of a language orch rewrites")?;
    let path = jail.resolve(&file.path)?;
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read it: {e}"))?;
    let source = crate::lang::python::encoding::decode_file(&file.path, &bytes)?;
    let rewriter =
        structural::Rewriter::new(language, lang, pattern, rewrite).map_err(|e| e.to_string())?;
    // The server left out the rewrites that would not parse: the sites are
    // the ones it kept, so they need not be re-checked one by one here.
    let wanted: std::collections::BTreeSet<usize> = sites.iter().copied().collect();
    let kept: Vec<Edit> = rewriter
        .replacements(&source)
        .into_iter()
        .filter(|e| wanted.contains(&e.start))
        .collect();
    let found: std::collections::BTreeSet<usize> = kept.iter().map(|e| e.start).collect();
    if found.len() != wanted.len() {
        let missing: Vec<&usize> = wanted.difference(&found).collect();
        return Err(format!(
            "the code server found rewrites at offsets {missing:?} where orch finds none"
        ));
    }
    Ok(crate::protocol::code::FileReplacements {
        path: file.path.clone(),
        sha1: crate::plan::sha1_hex(&bytes),
        language: language.to_owned(),
        sites: String::new(),
        replacements: kept,
        rows: Vec::new(),
        errors: file.errors,
    })
}

/// A file's SHA-1 and its sites' (start, line, kind).
type FileSitesRead = (String, Vec<(usize, usize, EditKind)>);

/// The SHA-1 and the (start, line, kind) of a file's brief sites, read from
/// the file, which must hold `old` at each.
pub(super) fn sites_in_file(
    jail: &crate::servers::Jail,
    file: &FileSites,
    old: &str,
) -> Result<FileSitesRead, String> {
    let sites = file.decode_brief().ok_or("a site offset overflows")?;
    let path = jail.resolve(&file.path)?;
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read it: {e}"))?;
    let text = crate::lang::python::encoding::decode_file(&file.path, &bytes)?;
    let (mut line, mut at) = (1, 0);
    let mut out = Vec::with_capacity(sites.len());
    for (start, kind) in sites {
        if text.get(start..start + old.len()) != Some(old) {
            return Err(format!("no `{old}` at byte {start}"));
        }
        line += text.as_bytes()[at..start]
            .iter()
            .filter(|b| **b == b'\n')
            .count();
        at = start;
        out.push((start, line, kind));
    }
    Ok((crate::plan::sha1_hex(&bytes), out))
}

#[cfg(test)]
mod tests {
    use super::edits_at_sites;
    use crate::protocol::code::{FileReplacements, encode_sites};

    fn answered(path: &str, sites: &[usize]) -> FileReplacements {
        FileReplacements {
            path: path.into(),
            sha1: String::new(),
            language: String::new(),
            sites: encode_sites(sites.iter().copied()),
            replacements: Vec::new(),
            rows: Vec::new(),
            errors: 0,
        }
    }

    /// The edits at the server's sites come from the file as the worktree
    /// has it; a site where orch finds no rewrite (a server that disagrees,
    /// or a file changed in between) stops the analysis.
    #[test]
    fn edits_are_derived_at_the_sites_and_a_site_without_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        // Latin-1, declared: offsets are in the decoded text.
        let source = b"# -*- coding: latin-1 -*-\nimport os\nname = '\xe9t\xe9'\nx = os.path.join(r, name)\ny = os.path.join(r, 'b')\n";
        std::fs::write(dir.path().join("m.py"), source).unwrap();
        let jail = crate::servers::Jail::new(dir.path()).unwrap();
        let text = "# -*- coding: latin-1 -*-\nimport os\nname = 'été'\nx = os.path.join(r, name)\ny = os.path.join(r, 'b')\n";
        let first = text.find("os.path.join(r, name)").unwrap();
        let second = text.find("os.path.join(r, 'b')").unwrap();
        let pattern = ("os.path.join($A, $B)", "Path($A) / $B");
        // The server kept only the second (say the first would not parse).
        let file = edits_at_sites(&jail, pattern, &answered("m.py", &[second])).unwrap();
        assert_eq!(file.sha1, crate::plan::sha1_hex(source));
        assert_eq!(file.language, "python");
        assert_eq!(file.replacements.len(), 1);
        let edit = &file.replacements[0];
        assert_eq!((edit.start, edit.line), (second, 5));
        assert_eq!(edit.old, "os.path.join(r, 'b')");
        assert_eq!(edit.new, "Path(r) / 'b'");
        let both = edits_at_sites(&jail, pattern, &answered("m.py", &[first, second])).unwrap();
        assert_eq!(both.replacements.len(), 2);
        let error = edits_at_sites(&jail, pattern, &answered("m.py", &[first + 1])).unwrap_err();
        assert!(error.contains("finds none"), "{error}");
        assert!(edits_at_sites(&jail, pattern, &answered("../m.py", &[first])).is_err());
    }

    /// Brief rename sites get their lines and the file's SHA-1 from the
    /// file, and a site that does not hold the old name is refused.
    #[test]
    fn brief_rename_sites_are_read_against_the_file() {
        use crate::edit::EditKind;
        use crate::protocol::code::{FileSites, Site};
        let dir = tempfile::tempdir().unwrap();
        let text = "def old():\n    pass\n\n\nx = old()\ny = [old,\n     old]\n";
        std::fs::write(dir.path().join("m.py"), text).unwrap();
        let jail = crate::servers::Jail::new(dir.path()).unwrap();
        let starts: Vec<usize> = text.match_indices("old").map(|(i, _)| i).collect();
        let site = |start, kind| Site {
            start,
            line: 0,
            kind,
        };
        let file = FileSites::encode(
            "m.py".into(),
            String::new(),
            0,
            [
                site(starts[0], EditKind::Definition),
                site(starts[1], EditKind::Attribute),
                site(starts[2], EditKind::Reference),
                site(starts[3], EditKind::Reference),
            ],
        )
        .brief()
        .unwrap();
        let (sha1, sites) = super::sites_in_file(&jail, &file, "old").unwrap();
        assert_eq!(sha1, crate::plan::sha1_hex(text.as_bytes()));
        let lines: Vec<usize> = sites.iter().map(|s| s.1).collect();
        assert_eq!(lines, [1, 5, 6, 7]);
        assert_eq!(sites[0].2, EditKind::Definition);
        let shifted = FileSites::encode(
            "m.py".into(),
            String::new(),
            0,
            [site(starts[1] + 1, EditKind::Attribute)],
        )
        .brief()
        .unwrap();
        let error = super::sites_in_file(&jail, &shifted, "old").unwrap_err();
        assert!(error.contains("no `old` at byte"), "{error}");
    }
}
