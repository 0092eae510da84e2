//! Fuzz-style tests: random and adversarial commands, patterns, plans and
//! source files through the command parser, the plan loader, structural
//! rewriting and the Python parser. Each must answer (an error is fine)
//! without panicking or overflowing its stack. Seeded, so a failure
//! reproduces; bounded to a few seconds.

use crate::edit::Edit;
use crate::intent;
use crate::plan::Plan;

/// xorshift64*: small and deterministic.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "rename",
    "function",
    "class",
    "method",
    "variable",
    "module",
    "parameter",
    "to",
    "as",
    "in",
    "of",
    "from",
    "replace",
    "with",
    "move",
    "make",
    "async",
    "remove",
    "unused",
    "imports",
    "add",
    "the",
    "please",
    "make_str",
    "make_text",
    "Cart.total",
    "shop/util.py",
    "`os.path.join($A, $B)`",
    "`Path($A) / $B`",
    "`",
    "\"",
    "'",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "$A",
    "$$$ARGS",
    "=",
    "->",
    "→",
    ",",
    ".",
    "..",
    "/",
    "-",
    "--yes",
    "ＡＢＣ",
    "é",
    "\u{1b}[2J",
    "\n",
    "\t",
    "class",
    "None",
    "1abc",
    "x=None",
    "everything",
    "functions",
    "private",
];

#[test]
fn random_commands_never_panic() {
    let mut random = Random(0x5eed_0001);
    for _ in 0..4000 {
        let length = random.below(12);
        let words: Vec<&str> = (0..length).map(|_| random.pick(WORDS)).collect();
        let command = words.join(if random.below(2) == 0 { " " } else { "" });
        let _ = intent::parse(&command);
        let _ = intent::suggest(&command);
    }
}

#[test]
fn deeply_nested_patterns_are_refused_not_a_crash() {
    for depth in [257, 5_000, 100_000] {
        let pattern = format!("{}x{}", "(".repeat(depth), ")".repeat(depth));
        let error = intent::parse(&format!("replace `{pattern}` with `y`")).unwrap_err();
        assert!(error.to_string().contains("too deeply nested"), "{error}");
    }
    // A realistic nesting is fine.
    let pattern = format!("{}x{}", "f(".repeat(20), ")".repeat(20));
    assert!(intent::parse(&format!("replace `{pattern}` with `y`")).is_ok());
}

/// A valid plan, mutated at random: every result loads or is refused.
#[test]
fn mutated_plans_load_or_are_refused() {
    let original: serde_json::Value =
        serde_json::from_str(include_str!("../plans/shop-rename-make-str.json")).unwrap();
    let values = [
        serde_json::json!(null),
        serde_json::json!(-1),
        serde_json::json!(u64::MAX),
        serde_json::json!(1e300),
        serde_json::json!("../../etc/passwd"),
        serde_json::json!("--basetemp=/tmp/x"),
        serde_json::json!(""),
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::json!("\u{1b}]0;title\u{7}"),
    ];
    let mut random = Random(0x5eed_0002);
    for _ in 0..1500 {
        let mut plan = original.clone();
        for _ in 0..=random.below(3) {
            mutate(&mut plan, &mut random, &values);
        }
        if let Ok(plan) = serde_json::from_value::<Plan>(plan) {
            let _ = plan.validate();
            let _ = plan.topological_order();
            let _ = plan.files();
        }
    }
}

fn mutate(value: &mut serde_json::Value, random: &mut Random, values: &[serde_json::Value]) {
    match value {
        serde_json::Value::Object(map) if !map.is_empty() && random.below(4) != 0 => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = &keys[random.below(keys.len())];
            if random.below(5) == 0 {
                map.remove(key);
            } else if let Some(inner) = map.get_mut(key) {
                mutate(inner, random, values);
            }
        }
        serde_json::Value::Array(items) if !items.is_empty() && random.below(4) != 0 => {
            let i = random.below(items.len());
            match random.below(4) {
                0 => {
                    let copy = items[i].clone();
                    items.push(copy);
                }
                1 => {
                    items.remove(i);
                }
                _ => mutate(&mut items[i], random, values),
            }
        }
        other => *other = values[random.below(values.len())].clone(),
    }
}

/// Random and adversarial sources through the Python parser, its
/// definitions, structural rewriting and the edit applier.
#[test]
fn random_and_deep_sources_are_parsed_and_rewritten() {
    const TOKENS: &[&str] = &[
        "def ", "class ", "make_str", "(", ")", ":", "\n", "    ", "return ", "x", " + ", "'",
        "\"\"\"", "#", "import ", "from ", " as ", ",", "[", "]", "lambda ", "\\\n", "\t", "é",
        "async ", "await ", "@", "=", "f'{", "}'",
    ];
    let mut random = Random(0x5eed_0003);
    let rewriter = crate::lang::structural::Rewriter::new(
        "python",
        ast_grep_language::SupportLang::Python,
        "make_str($A)",
        "make_text($A)",
    )
    .unwrap();
    let mut sources: Vec<String> = (0..300)
        .map(|_| {
            (0..random.below(60))
                .map(|_| random.pick(TOKENS))
                .collect::<String>()
        })
        .collect();
    // Adversarial: a 30,000-term expression, deep brackets, a long line.
    sources.push(format!("x = {}\n", vec!["a"; 30_000].join(" + ")));
    sources.push(format!("x = {}1{}\n", "(".repeat(3_000), ")".repeat(3_000)));
    sources.push(format!("make_str({})\n", "1,".repeat(50_000)));
    for source in &sources {
        if let Some(tree) = crate::lang::python::parse(source) {
            let _ = crate::lang::python::top_level_definitions(&tree, source);
            let _ = crate::lang::python::syntax_errors(&tree);
        }
        let (edits, _) = rewriter.replacements_and_errors(source);
        let applied: Result<String, _> = crate::edit::apply(source, &edits);
        assert!(applied.is_ok(), "{source:?}");
        // Edits out of range or order are refused, never a panic.
        let wild = Edit {
            start: source.len() / 2,
            end: source.len() + 3,
            line: 1,
            old: String::new(),
            new: "x".into(),
        };
        assert!(crate::edit::apply(source, [&wild]).is_err() || source.is_empty());
    }
}
