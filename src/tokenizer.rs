//! Token counting with OpenAI's o200k_base BPE, exact and with no start-up
//! cost.
//!
//! `tiktoken-rs` builds hash maps of the 200k-token vocabulary at load (about
//! 130 ms of CPU, more than a whole `orch plan` on a small project). Here the
//! vocabulary is a table `build.rs` lays out at compile time and this module
//! reads in place (`table.rs`). The algorithm is tiktoken's: split the text
//! with the o200k pattern, then merge each piece's bytes pair by pair,
//! lowest rank first. The unit tests compare every token with `tiktoken-rs`.
//!
//! The o200k pattern has one look-ahead, `\s+(?!\S)`, which the `regex`
//! crate does not support. It is rewritten the usual way: a run of spaces
//! the plain `\s+` alternative matched gives back its last character when
//! more text follows, so that character starts the next piece (" word").

use std::sync::OnceLock;

mod table;

static TOKENS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_tokens.bin"));
static OFFSETS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_offsets.bin"));
static SLOTS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/o200k_slots.bin"));

/// The o200k_base split pattern without its look-ahead alternative.
const PATTERN: &str = concat!(
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
    r"|\p{N}{1,3}",
    r"| ?[^\s\p{L}\p{N}]+[\r\n/]*",
    r"|\s*[\r\n]+",
    r"|\s+",
);

/// A token's rank.
pub(crate) type Rank = u32;

fn word(bytes: &[u8], index: usize) -> u32 {
    let at = index * 4;
    match bytes.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

fn token(rank: Rank) -> &'static [u8] {
    let start = word(OFFSETS, rank as usize) as usize;
    let end = word(OFFSETS, rank as usize + 1) as usize;
    TOKENS.get(start..end).unwrap_or_default()
}

/// The rank of the token spelled by `bytes`, if the vocabulary has one.
pub(crate) fn rank(bytes: &[u8]) -> Option<Rank> {
    let mask = table::SLOTS - 1;
    let mut slot = table::hash(bytes) & mask;
    loop {
        let entry = word(SLOTS, slot);
        if entry == 0 {
            return None;
        }
        if token(entry - 1) == bytes {
            return Some(entry - 1);
        }
        slot = (slot + 1) & mask;
    }
}

fn splitter() -> Option<&'static regex::Regex> {
    static REGEX: OnceLock<Option<regex::Regex>> = OnceLock::new();
    REGEX
        .get_or_init(|| regex::Regex::new(PATTERN).ok())
        .as_ref()
}

/// The pieces the o200k pattern splits `text` into, look-ahead included.
fn pieces(text: &str, each: impl FnMut(&str)) -> bool {
    // Almost everything orch counts (JSON replies: paths, code, numbers) is
    // ASCII, where the pattern's classes are simple byte tests. Building the
    // lazy DFA's states over the Unicode classes for a short reply costs
    // more than the whole count does this way.
    if text.is_ascii() {
        ascii_pieces(text, each);
        true
    } else {
        regex_pieces(text, each)
    }
}

fn ascii_pieces(text: &str, mut each: impl FnMut(&str)) {
    let mut at = 0;
    while at < text.len() {
        let end = split_end(text, at, ascii_match_end(text.as_bytes(), at));
        each(&text[at..end]);
        at = end;
    }
}

fn regex_pieces(text: &str, mut each: impl FnMut(&str)) -> bool {
    let Some(regex) = splitter() else {
        return false;
    };
    let mut at = 0;
    while let Some(found) = regex.find_at(text, at) {
        let end = split_end(text, found.start(), found.end());
        each(&text[found.start()..end]);
        at = end;
    }
    true
}

/// Where the piece the pattern matched at `text[start..end]` really ends,
/// once the look-ahead the `regex` crate lacks is applied.
fn split_end(text: &str, start: usize, end: usize) -> usize {
    let piece = &text[start..end];
    // `\s+(?!\S)`: a space run (with no line break, which the earlier
    // `\s*[\r\n]+` would have taken) followed by more text ends one
    // character early.
    if end < text.len()
        && !piece.ends_with(['\r', '\n'])
        && piece.chars().all(char::is_whitespace)
        && let Some(last) = piece.chars().next_back()
        && piece.len() > last.len_utf8()
    {
        return end - last.len_utf8();
    }
    end
}

fn upper(b: u8) -> bool {
    b.is_ascii_uppercase()
}

fn lower(b: u8) -> bool {
    b.is_ascii_lowercase()
}

fn digit(b: u8) -> bool {
    b.is_ascii_digit()
}

/// `\s` in ASCII.
fn space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r' | b' ')
}

fn newline(b: u8) -> bool {
    matches!(b, b'\r' | b'\n')
}

/// `[^\r\n\p{L}\p{N}]`
fn lead(b: u8) -> bool {
    !newline(b) && !b.is_ascii_alphanumeric()
}

/// `[^\s\p{L}\p{N}]`
fn symbol(b: u8) -> bool {
    !space(b) && !b.is_ascii_alphanumeric()
}

/// The end of the leftmost-first match of [`PATTERN`] (with `\s+` standing
/// for the look-ahead alternative) in ASCII `text` at `at`. Every ASCII
/// byte starts a match, so the match always begins at `at`.
///
/// In ASCII the letter classes are just upper case (`Lu`) and lower case
/// (`Ll`), which do not overlap, `\p{N}` is the digits and `\s` is
/// `[\t\n\x0b\x0c\r ]`.
fn ascii_match_end(text: &[u8], at: usize) -> usize {
    let is = |i: usize, class: fn(u8) -> bool| text.get(i).copied().is_some_and(class);
    let run = |mut i: usize, class: fn(u8) -> bool| {
        while is(i, class) {
            i += 1;
        }
        i
    };
    // `(?i:'s|'t|'re|'ve|'m|'ll|'d)?`
    let contraction = |i: usize| -> usize {
        let folded = |j: usize| text.get(j).map(u8::to_ascii_lowercase);
        if text.get(i) != Some(&b'\'') {
            return i;
        }
        match (folded(i + 1), folded(i + 2)) {
            (Some(b's' | b't' | b'm' | b'd'), _) => i + 2,
            (Some(b'r' | b'v'), Some(b'e')) | (Some(b'l'), Some(b'l')) => i + 3,
            _ => i,
        }
    };
    // Alternatives 1 and 2 both start with an optional `lead` byte. Upper
    // and lower case do not overlap, so neither alternative can succeed by
    // giving back part of the upper-case run, nor by skipping a lead byte
    // that is there (the letters would then have to start on it).
    let letters = if is(at, lead) { at + 1 } else { at };
    let uppers = run(letters, upper);
    // 1: `lead?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+'s?`
    if is(uppers, lower) {
        return contraction(run(uppers, lower));
    }
    // 2: `lead?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*'s?`;
    // no lower-case byte follows the run here.
    if uppers > letters {
        return contraction(uppers);
    }
    // 3: `\p{N}{1,3}`
    if is(at, digit) {
        return run(at, digit).min(at + 3);
    }
    // 4: ` ?[^\s\p{L}\p{N}]+[\r\n/]*`
    let symbols = if text.get(at) == Some(&b' ') && is(at + 1, symbol) {
        at + 1
    } else {
        at
    };
    if is(symbols, symbol) {
        return run(run(symbols, symbol), |b| newline(b) || b == b'/');
    }
    // 5: `\s*[\r\n]+`: the greedy `\s*` gives back the space run up to its
    // last line break.
    let spaces = run(at, space);
    if let Some(last) = text[at..spaces].iter().rposition(|&b| newline(b)) {
        return at + last + 1;
    }
    // 6: `\s+`; every byte the alternatives above refuse is a space.
    spaces.max(at + 1)
}

/// Calls `each` with the rank of every token of `piece`, in order.
fn merge(piece: &[u8], each: &mut impl FnMut(Rank)) {
    if let Some(rank) = rank(piece) {
        each(rank);
        return;
    }
    if piece.len() < 100 {
        for (start, end) in merge_small(piece) {
            each(rank(&piece[start..end]).unwrap_or(Rank::MAX));
        }
    } else {
        merge_large(piece, each);
    }
}

/// tiktoken's `_byte_pair_merge`: the token boundaries of `piece`.
fn merge_small(piece: &[u8]) -> Vec<(usize, usize)> {
    let pair_rank = |start: usize, end: usize| -> Rank {
        piece.get(start..end).and_then(rank).unwrap_or(Rank::MAX)
    };
    // (start, rank of the pair starting here)
    let mut parts: Vec<(usize, Rank)> = Vec::with_capacity(piece.len() + 1);
    let mut min: (Rank, usize) = (Rank::MAX, usize::MAX);
    for i in 0..piece.len().saturating_sub(1) {
        let rank = pair_rank(i, i + 2);
        if rank < min.0 {
            min = (rank, i);
        }
        parts.push((i, rank));
    }
    parts.push((piece.len().saturating_sub(1), Rank::MAX));
    parts.push((piece.len(), Rank::MAX));
    let rank_at = |parts: &[(usize, Rank)], i: usize| -> Rank {
        if i + 3 < parts.len() {
            pair_rank(parts[i].0, parts[i + 3].0)
        } else {
            Rank::MAX
        }
    };
    while min.0 != Rank::MAX {
        let i = min.1;
        if i > 0 {
            parts[i - 1].1 = rank_at(&parts, i - 1);
        }
        parts[i].1 = rank_at(&parts, i);
        parts.remove(i + 1);
        min = (Rank::MAX, usize::MAX);
        for (i, &(_, rank)) in parts[..parts.len() - 1].iter().enumerate() {
            if rank < min.0 {
                min = (rank, i);
            }
        }
    }
    parts.windows(2).map(|w| (w[0].0, w[1].0)).collect()
}

/// tiktoken's `_byte_pair_merge_large`: the same merges with a heap, for
/// long pieces (long runs of spaces, digits-free punctuation, words).
fn merge_large(piece: &[u8], each: &mut impl FnMut(Rank)) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    struct State {
        prev: usize,
        end: usize,
        next_end: usize,
        next_rank: Rank,
        cur_rank: Rank,
    }
    let lookup = |start: usize, end: usize| piece.get(start..end).and_then(rank);
    let mut state = Vec::with_capacity(piece.len());
    state.push(State {
        prev: usize::MAX,
        end: 1,
        next_end: 2,
        next_rank: Rank::MAX,
        cur_rank: Rank::MAX,
    });
    // Min-heap on (rank, start).
    let mut heap = BinaryHeap::with_capacity(piece.len());
    for i in 0..piece.len() - 1 {
        if let Some(rank) = lookup(i, i + 2) {
            heap.push(Reverse((rank, i)));
            state[i].next_rank = rank;
        }
        state.push(State {
            prev: i,
            end: i + 2,
            next_end: i + 3,
            next_rank: Rank::MAX,
            cur_rank: Rank::MAX,
        });
    }
    let potential = |state: &mut Vec<State>,
                     heap: &mut BinaryHeap<Reverse<(Rank, usize)>>,
                     start: usize,
                     next_end: usize| {
        state[start].next_end = next_end;
        state[start].next_rank = Rank::MAX;
        if next_end <= piece.len()
            && let Some(rank) = lookup(start, next_end)
        {
            heap.push(Reverse((rank, start)));
            state[start].next_rank = rank;
        }
    };
    while let Some(Reverse((rank, left_start))) = heap.pop() {
        if rank == Rank::MAX {
            break;
        }
        if rank != state[left_start].next_rank {
            continue;
        }
        let right_start = state[left_start].end;
        let right_end = state[left_start].next_end;
        let right_next_end = state[right_start].next_end;
        state[left_start].cur_rank = state[left_start].next_rank;
        state[left_start].end = right_end;
        potential(&mut state, &mut heap, left_start, right_next_end);
        if right_end < state.len() {
            state[right_end].prev = left_start;
        }
        if left_start > 0 {
            let prev_start = state[left_start].prev;
            potential(&mut state, &mut heap, prev_start, right_end);
        }
        state[right_start].next_rank = Rank::MAX;
    }
    let mut i = 0;
    while i < state.len() {
        if state[i].cur_rank != Rank::MAX {
            each(state[i].cur_rank);
        } else {
            each(lookup(i, state[i].end).unwrap_or(Rank::MAX));
        }
        i = state[i].end;
    }
}

/// The o200k_base tokens of `text` (special tokens read as ordinary text),
/// or `None` if the split pattern failed to compile (it cannot with the
/// `regex` crate's Unicode tables compiled in).
#[cfg(test)]
pub(crate) fn encode(text: &str) -> Option<Vec<Rank>> {
    let mut out = Vec::new();
    pieces(text, |piece| {
        merge(piece.as_bytes(), &mut |rank| out.push(rank))
    })
    .then_some(out)
}

/// How many o200k_base tokens `text` is.
pub(crate) fn count(text: &str) -> Option<usize> {
    let mut n = 0;
    pieces(text, |piece| merge(piece.as_bytes(), &mut |_| n += 1)).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> &'static tiktoken_rs::CoreBPE {
        static BPE: OnceLock<tiktoken_rs::CoreBPE> = OnceLock::new();
        BPE.get_or_init(|| tiktoken_rs::o200k_base().expect("o200k_base"))
    }

    fn same_as_tiktoken(text: &str) {
        let ours = encode(text).expect("pattern compiles");
        let theirs = reference().encode_ordinary(text);
        assert_eq!(ours, theirs, "tokens differ for {text:?}");
        assert_eq!(count(text), Some(theirs.len()));
    }

    #[test]
    fn every_vocabulary_entry_is_found_by_its_bytes() {
        for rank in 0..199_998u32 {
            assert_eq!(super::rank(token(rank)), Some(rank), "rank {rank}");
        }
        assert_eq!(
            super::rank(b"no such token in any vocabulary, surely"),
            None
        );
    }

    #[test]
    fn matches_tiktoken_on_hand_picked_text() {
        for text in [
            "",
            " ",
            "   ",
            "a",
            "hello world",
            "hello  world",
            "hello   \t world  ",
            "def make_text(value):\n    return str(value)\n",
            "\n\n\n    x = 1\r\n\t\ty = 2  \n   ",
            "It's, we'LL, they'RE, I'd: 'sup",
            "1234567 89 0.5e-10 ٣٤٥ ²³",
            "naïve café Straße ǅemal ΑΒΓαβγ Привет мир",
            "中文字符和日本語のテキスト、한국어 텍스트",
            "emoji 🎉🎉 👩‍👩‍👧 flags 🇫🇷 and e\u{301}\u{301}",
            "\u{a0}\u{a0}nbsp\u{3000}ideographic\u{2028}sep \u{85}next",
            "{\"files\":[{\"path\":\"src/a.py\",\"line\":3}],\"truncated\":false}",
            "////\n\n// comment ---- ==== ++++ >>>= <<= ...",
            "  \n  x",
            " \u{3000}x",
            "\r\r\n\r",
        ] {
            same_as_tiktoken(text);
        }
    }

    #[test]
    fn matches_tiktoken_on_long_pieces() {
        // Pieces of 100 bytes or more take the heap-based merge.
        for text in [
            " ".repeat(1000),
            "a".repeat(513),
            "ab".repeat(300),
            "-=".repeat(200),
            "x".repeat(99) + " " + &"y".repeat(100),
            "é".repeat(150),
            "🎉".repeat(60),
            "Supercalifragilisticexpialidocious".repeat(8),
            format!("{}\n{}", " ".repeat(250), "\t".repeat(120)),
        ] {
            same_as_tiktoken(&text);
        }
    }

    #[test]
    fn matches_tiktoken_on_random_text() {
        // A fixed-seed generator over a pool that mixes every class the
        // pattern distinguishes.
        let pool: Vec<char> =
            "aZ  \t\n\r09'sLLtdé中🎉\u{301}\u{a0}\u{3000}ǅ-_./\\(){}\"#$%^&*+=<>?!,;:~`|ΩжŁ"
                .chars()
                .collect();
        let mut next = xorshift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..3000 {
            let len = (next() % 80) as usize;
            let text: String = (0..len)
                .map(|_| pool[(next() % pool.len() as u64) as usize])
                .collect();
            same_as_tiktoken(&text);
        }
    }

    /// A fixed-seed xorshift64 generator for the randomised tests.
    fn xorshift(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    #[test]
    fn the_ascii_splitter_agrees_with_the_pattern() {
        // Every ASCII byte, weighted towards the ones the alternatives
        // treat specially: case, digits, apostrophes and contraction
        // letters, each kind of space and line break, `/` and symbols.
        let mut pool: Vec<u8> = (0u8..128).collect();
        pool.extend_from_slice(b"aAzZsStTrReEvVmMlLdD''''0099    \t\n\n\r\r\x0b\x0c//-_.{}\"");
        let mut next = xorshift(0x2545_f491_4f6c_dd1d);
        let split = |text: &str, ascii: bool| {
            let mut out = Vec::new();
            if ascii {
                ascii_pieces(text, |p| out.push(p.to_owned()));
            } else {
                assert!(regex_pieces(text, |p| out.push(p.to_owned())));
            }
            out
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| pool[(next() % pool.len() as u64) as usize])
                .collect();
            let text = String::from_utf8(bytes).expect("ASCII");
            assert_eq!(split(&text, true), split(&text, false), "{text:?}");
        }
        for text in [
            "HTTPServer's",
            "HELLO'S world",
            "x'LL 'Re 've'd",
            "  \n  \t x",
            "a1234b",
            " !!\n/\n/x",
            " \x0b\x0c\r\n ",
            "'''",
            "\x00\x7f abc",
        ] {
            assert_eq!(split(text, true), split(text, false), "{text:?}");
        }
    }

    #[test]
    fn matches_tiktoken_on_orch_sources() {
        for entry in std::fs::read_dir("src/phase").expect("src/phase") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                same_as_tiktoken(&std::fs::read_to_string(&path).expect("read"));
            }
        }
    }
}
