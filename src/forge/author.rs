//! `--author "Name <email>"`.

/// A commit author from `--author "Name <email>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Author {
    pub name: String,
    pub email: String,
}

impl std::str::FromStr for Author {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (name, rest) = text
            .split_once('<')
            .ok_or_else(|| "expected `Name <email>`".to_owned())?;
        let email = rest
            .strip_suffix('>')
            .ok_or_else(|| "expected `Name <email>`".to_owned())?
            .trim();
        let name = name.trim();
        if name.is_empty() || email.is_empty() || email.contains(['<', '>']) {
            return Err("expected `Name <email>`".to_owned());
        }
        Ok(Author {
            name: name.to_owned(),
            email: email.to_owned(),
        })
    }
}
