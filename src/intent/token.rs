//! A command's words: quotes and back-ticks group words into one token.

use super::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub(super) text: String,
    pub(super) quoted: bool,
}

pub(super) fn tokenize(command: &str) -> Result<Vec<Token>, Error> {
    let mut tokens = Vec::new();
    let mut chars = command.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() || c == ',' {
            chars.next();
            continue;
        }
        if matches!(c, '`' | '"' | '\'') {
            chars.next();
            let mut text = String::new();
            let mut closed = false;
            for d in chars.by_ref() {
                if d == c {
                    closed = true;
                    break;
                }
                text.push(d);
            }
            if !closed {
                return Err(Error::Unbalanced(command.trim().to_owned()));
            }
            tokens.push(Token {
                text: text.trim().to_owned(),
                quoted: true,
            });
            continue;
        }
        let mut text = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_whitespace() || d == ',' {
                break;
            }
            text.push(d);
            chars.next();
        }
        tokens.push(Token {
            text,
            quoted: false,
        });
    }
    // A trailing full stop is prose, not part of a name.
    if let Some(last) = tokens.last_mut()
        && !last.quoted
        && last.text.ends_with('.')
    {
        last.text.pop();
        if last.text.is_empty() {
            tokens.pop();
        }
    }
    Ok(tokens)
}
