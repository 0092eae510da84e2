//! Writes the o200k_base vocabulary as tables `orch` reads in place (see
//! `src/tokenizer/table.rs`), so counting tokens costs nothing at start-up.
//! The vocabulary comes from `tiktoken-rs` (a build dependency only; the
//! unit tests check orch's counts against it token for token).

use std::error::Error;
use std::path::PathBuf;

#[path = "src/tokenizer/table.rs"]
mod table;

/// Ordinary (non-special) tokens in o200k_base: ranks 0..VOCAB.
const VOCAB: u32 = 199_998;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/tokenizer/table.rs");
    let bpe = tiktoken_rs::o200k_base()?;
    let mut tokens = Vec::with_capacity(1 << 21);
    let mut offsets = Vec::with_capacity((VOCAB as usize + 1) * 4);
    let mut slots = vec![0u32; table::SLOTS];
    for rank in 0..VOCAB {
        let bytes = bpe
            .decode_bytes(&[rank])
            .map_err(|_| format!("o200k_base has no token {rank}"))?;
        offsets.extend_from_slice(&(tokens.len() as u32).to_le_bytes());
        tokens.extend_from_slice(&bytes);
        let mut slot = table::hash(&bytes) & (table::SLOTS - 1);
        while slots[slot] != 0 {
            slot = (slot + 1) & (table::SLOTS - 1);
        }
        slots[slot] = rank + 1;
    }
    offsets.extend_from_slice(&(tokens.len() as u32).to_le_bytes());
    if bpe.decode_bytes(&[VOCAB]).is_ok() {
        return Err(format!("o200k_base has more than {VOCAB} ordinary tokens").into());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("o200k_tokens.bin"), &tokens)?;
    std::fs::write(out.join("o200k_offsets.bin"), &offsets)?;
    let slots: Vec<u8> = slots.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(out.join("o200k_slots.bin"), slots)?;
    Ok(())
}
