//! What to say when a command is not understood: the closest form.

use super::*;

pub(super) fn form_index(verb: &str) -> usize {
    FORMS.iter().position(|f| f.starts_with(verb)).unwrap_or(0)
}

/// The supported form closest to a command that was not understood, and
/// the others.
pub(crate) fn suggest(command: &str) -> String {
    let first = command
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let verbs: [(&[&str], usize); 6] = [
        (&["make", "turn", "asyncify"], form_index("make")),
        (&["rename", "call"], 0),
        (&["move", "relocate", "transfer"], form_index("move")),
        (&["add", "introduce", "insert"], form_index("add")),
        (
            &["replace", "rewrite", "substitute", "change", "swap"],
            form_index("replace"),
        ),
        (
            &[
                "remove", "delete", "drop", "strip", "clean", "cleanup", "prune", "tidy",
            ],
            form_index("remove"),
        ),
    ];
    let mut best = (0.0, 0);
    for (words, form) in verbs {
        for word in words {
            let score = strsim::jaro_winkler(&first, word);
            if score > best.0 {
                best = (score, form);
            }
        }
    }
    let closest = if best.0 >= 0.8 {
        FORMS[best.1]
    } else {
        // By the whole command's words.
        FORMS
            .iter()
            .max_by(|a, b| {
                strsim::jaro_winkler(command, a).total_cmp(&strsim::jaro_winkler(command, b))
            })
            .copied()
            .unwrap_or(FORMS[0])
    };
    format!(
        "closest form: {closest}\norch understands: {}",
        FORMS.join("; ")
    )
}
