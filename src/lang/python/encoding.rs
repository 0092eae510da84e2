//! Python source encodings (PEP 263): a file is UTF-8 unless one of its
//! first two lines declares another encoding (`# -*- coding: latin-1 -*-`).
//! orch reads such a file in its encoding and writes it back in the same
//! one, byte for byte outside the edits.

/// An encoding orch reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Utf8,
    /// ISO-8859-1: every byte is the code point of the same value.
    Latin1,
    /// Windows-1252: Latin-1 with printable characters in 0x80–0x9F.
    Cp1252,
}

/// Why a source cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("is not valid UTF-8 and declares no encoding (PEP 263)")]
    Undeclared,
    #[error(
        "declares the encoding `{0}`, which orch does not read (it reads UTF-8, Latin-1 and Windows-1252)"
    )]
    Unsupported(String),
    #[error("is not valid {0}")]
    Invalid(&'static str),
}

/// The characters of Windows-1252's 0x80–0x9F (`\0` where undefined).
const CP1252_HIGH: [char; 32] = [
    '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0', '\0', '‘',
    '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
];

/// The encoding `bytes` declare in their first two lines, if any.
fn declared(bytes: &[u8]) -> Option<String> {
    for line in bytes.split(|b| *b == b'\n').take(2) {
        let line = String::from_utf8_lossy(line);
        let trimmed = line.trim_start();
        if !trimmed.starts_with('#') {
            continue;
        }
        if let Some(at) = trimmed.find("coding") {
            let rest = &trimmed[at + "coding".len()..];
            if let Some(rest) = rest.strip_prefix([':', '=']) {
                let name: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect();
                if !name.is_empty() {
                    return Some(name.to_ascii_lowercase().replace('_', "-"));
                }
            }
        }
    }
    None
}

/// The text of the project file `path` whose bytes are `bytes`: a Python
/// source in the encoding it declares, any other file as UTF-8.
pub(crate) fn decode_file(path: &str, bytes: &[u8]) -> Result<String, String> {
    if path.ends_with(".py") {
        decode(bytes)
            .map(|(text, _)| text)
            .map_err(|e| e.to_string())
    } else {
        String::from_utf8(bytes.to_vec()).map_err(|_| "it is not UTF-8".to_owned())
    }
}

/// Decodes a Python source as Python would.
pub(crate) fn decode(bytes: &[u8]) -> Result<(String, Encoding), DecodeError> {
    let encoding = match declared(bytes).as_deref() {
        None | Some("utf-8" | "utf8" | "utf-8-sig" | "ascii" | "us-ascii") => Encoding::Utf8,
        Some("latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" | "iso-latin-1") => {
            Encoding::Latin1
        }
        Some("cp1252" | "windows-1252") => Encoding::Cp1252,
        Some(other) => {
            // A declaration orch does not know, on a file that is valid
            // UTF-8 anyway, is read as UTF-8 only if it is pure ASCII.
            if bytes.is_ascii() {
                Encoding::Utf8
            } else {
                return Err(DecodeError::Unsupported(other.to_owned()));
            }
        }
    };
    let text = match encoding {
        Encoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(text) => text.to_owned(),
            Err(_) if declared(bytes).is_some() => return Err(DecodeError::Invalid("UTF-8")),
            Err(_) => return Err(DecodeError::Undeclared),
        },
        Encoding::Latin1 => bytes.iter().map(|b| char::from(*b)).collect(),
        Encoding::Cp1252 => {
            let mut text = String::with_capacity(bytes.len());
            for b in bytes {
                match *b {
                    0x80..=0x9F => match CP1252_HIGH[usize::from(b - 0x80)] {
                        '\0' => return Err(DecodeError::Invalid("Windows-1252")),
                        c => text.push(c),
                    },
                    b => text.push(char::from(b)),
                }
            }
            text
        }
    };
    Ok((text, encoding))
}

/// Encodes `text` back in `encoding`; `None` if a character has no byte
/// there (a new name in characters the file's encoding cannot hold).
pub(crate) fn encode(text: &str, encoding: Encoding) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Utf8 => Some(text.as_bytes().to_vec()),
        Encoding::Latin1 => text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect(),
        Encoding::Cp1252 => text
            .chars()
            .map(|c| match u32::from(c) {
                code @ (0..=0x7F | 0xA0..=0xFF) => u8::try_from(code).ok(),
                _ => CP1252_HIGH
                    .iter()
                    .position(|high| *high == c && c != '\0')
                    .and_then(|i| u8::try_from(0x80 + i).ok()),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_encodings_are_read_and_written_back_byte_for_byte() {
        let latin = b"# -*- coding: latin-1 -*-\ndef make_str():\n    return '\xe9t\xe9'\n";
        let (text, encoding) = decode(latin).unwrap();
        assert_eq!(encoding, Encoding::Latin1);
        assert!(text.contains("'été'"));
        assert_eq!(encode(&text, encoding).unwrap(), latin.to_vec());
        let edited = text.replace("make_str", "make_text");
        assert!(
            encode(&edited, encoding)
                .unwrap()
                .ends_with(b"'\xe9t\xe9'\n")
        );
        // A name Latin-1 cannot hold is refused, not mangled.
        assert_eq!(encode("x = 'π'", Encoding::Latin1), None);

        let windows = b"# vim: set fileencoding=cp1252 :\nq = '\x93quoted\x94'\n";
        let (text, encoding) = decode(windows).unwrap();
        assert_eq!(encoding, Encoding::Cp1252);
        assert!(text.contains("“quoted”"));
        assert_eq!(encode(&text, encoding).unwrap(), windows.to_vec());

        assert_eq!(decode(b"x = 1\n").unwrap().1, Encoding::Utf8);
        assert_eq!(decode(b"x = '\xe9'\n"), Err(DecodeError::Undeclared));
        assert!(matches!(
            decode(b"# coding: koi8-r\nx = '\xe9'\n"),
            Err(DecodeError::Unsupported(_))
        ));
    }
}
