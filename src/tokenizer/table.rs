//! The layout of the o200k_base vocabulary table that `build.rs` writes and
//! `tokenizer` reads in place (no parsing, no allocation at start-up).
//!
//! Three little-endian arrays:
//! - `o200k_tokens.bin`: every token's bytes, in rank order, back to back;
//! - `o200k_offsets.bin`: `u32` start of each rank's bytes, plus the end;
//! - `o200k_slots.bin`: an open-addressing hash table of `SLOTS` `u32`
//!   entries, each `rank + 1` (0 = empty), probed linearly from
//!   `hash(bytes) & (SLOTS - 1)`.
//!
//! This file is shared with `build.rs` (`#[path]`), so it uses only `core`.

/// Number of hash slots: a power of two, about 2.6 slots per token.
pub(crate) const SLOTS: usize = 1 << 19;

/// FNV-1a over the bytes: cheap on short keys, and the same on both sides.
pub(crate) fn hash(bytes: &[u8]) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Fold the high bits in: the table index uses the low 19.
    (h ^ (h >> 29)) as usize
}
