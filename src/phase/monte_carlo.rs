//! MONTE CARLO: an honest, simple risk model from the blast radius.
//!
//! Each edited site fails with a small probability that depends on its
//! kind (an attribute access through a module alias is riskier than the
//! definition); every uncertain site left alone and every mention in a
//! string may hide a dynamic reference; every test file touched adds a
//! little. Trials also draw the time the remaining phases take (log-normal
//! around an estimate from the number of tests), giving P(on time). The
//! RNG is seeded from the inputs, so the same plan gets the same estimate.
//! The simulation stops at 20,000 trials or its time cap (15 s at most).

use std::time::{Duration, Instant};

use super::logic::Analysis;
use super::{Context, Failure};
use crate::edit::EditKind;
use crate::plan::{BlastRadius, Risk, sha1_hex};

const MAX_TRIALS: u32 = 20_000;
pub(crate) const CAP: Duration = Duration::from_secs(15);

pub(crate) async fn run(
    ctx: &Context,
    analysis: &Analysis,
    intent: &crate::intent::Intent,
    test_files: usize,
) -> Result<Risk, Failure> {
    // A private name (`_x`) has no users outside its module.
    let old_name = match intent {
        crate::intent::Intent::Rename(r) => r.old.clone(),
        crate::intent::Intent::MakeAsync(a) => a.function.clone().unwrap_or_default(),
        _ => "_".to_owned(),
    };
    let cap = CAP.min(ctx.deadline.remaining() / 4);
    let elapsed = ctx.deadline.elapsed();
    let deadline = ctx.deadline.total();
    let analysis = analysis.clone();
    tokio::task::spawn_blocking(move || {
        estimate(&analysis, &old_name, test_files, elapsed, deadline, cap)
    })
    .await
    .map_err(Failure::internal)
}

/// The estimate itself (pure; bounded by `cap`).
pub(crate) fn estimate(
    analysis: &Analysis,
    old_name: &str,
    test_files: usize,
    elapsed: Duration,
    deadline: Duration,
    cap: Duration,
) -> Risk {
    let is_test = crate::lang::python::names::is_test_file;
    let blast = BlastRadius {
        sites: analysis.sites,
        files: analysis.files.len(),
        public_names: if old_name.starts_with('_') {
            0
        } else {
            analysis.target_modules.len()
        },
        test_files: analysis.files.iter().filter(|f| is_test(&f.path)).count(),
    };
    let mut probabilities: Vec<f64> = Vec::new();
    for file in &analysis.files {
        for site in &file.edits {
            probabilities.push(match site.kind {
                EditKind::Definition | EditKind::All => 0.0005,
                EditKind::Import | EditKind::UnusedImport => 0.001,
                EditKind::Attribute | EditKind::Structural => 0.002,
                _ => 0.0008,
            });
        }
    }
    probabilities.extend(std::iter::repeat_n(0.03, analysis.uncertain_total));
    probabilities.extend(std::iter::repeat_n(0.003, analysis.mentions_total));
    probabilities.extend(std::iter::repeat_n(0.001, blast.test_files));
    probabilities.extend(std::iter::repeat_n(
        0.01,
        blast.public_names.saturating_sub(1),
    ));

    // Time still needed: worktree edits plus two test runs (baseline and after).
    let expected_remaining = 1.0 + 2.0 * (0.5 + 0.15 * test_files as f64);
    let budget = deadline.saturating_sub(elapsed).as_secs_f64();

    let seed_text = format!(
        "{}:{}:{}:{}",
        blast.sites, blast.files, analysis.uncertain_total, test_files
    );
    let seed = u64::from_str_radix(&sha1_hex(seed_text.as_bytes())[..16], 16)
        .unwrap_or(0x9e37_79b9_7f4a_7c15)
        | 1;
    let mut rng = XorShift(seed);
    let started = Instant::now();
    let (mut trials, mut passes, mut on_time) = (0u32, 0u32, 0u32);
    while trials < MAX_TRIALS && (trials % 256 != 0 || started.elapsed() < cap) {
        trials += 1;
        if probabilities.iter().all(|p| rng.next_f64() >= *p) {
            passes += 1;
        }
        // Log-normal with sigma 0.6 around the expected time.
        let normal = rng.normal();
        if expected_remaining * (0.6 * normal - 0.18).exp() <= budget {
            on_time += 1;
        }
    }
    let trials = trials.max(1);
    let p_tests_pass = f64::from(passes) / f64::from(trials);
    let p_on_time = f64::from(on_time) / f64::from(trials);
    let level = if p_tests_pass >= 0.95 && p_on_time >= 0.9 {
        "low"
    } else if p_tests_pass >= 0.8 && p_on_time >= 0.7 {
        "medium"
    } else {
        "high"
    };
    Risk {
        p_tests_pass: round3(p_tests_pass),
        p_on_time: round3(p_on_time),
        level: level.to_owned(),
        trials,
        blast_radius: blast,
        model: "per-site failure rates by site kind; uncertain sites, string mentions, test files and re-exports add risk; log-normal test time; no run history yet".into(),
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

struct XorShift(u64);

impl XorShift {
    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Box-Muller.
    fn normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::logic::{EditSite, FileEdits};
    use crate::protocol::code::Definition;

    fn analysis(sites: usize, uncertain: usize) -> Analysis {
        Analysis {
            accounting: None,
            notes: Vec::new(),
            creates: Vec::new(),
            deletes: Vec::new(),
            definition: Some(Definition {
                path: "m.py".into(),
                module: "m".into(),
                kind: crate::protocol::code::DefinitionKind::Function,
                line: 1,
                column: 5,
                class: None,
            }),
            files: vec![FileEdits {
                path: "m.py".into(),
                sha1: "0".repeat(40),
                edits: (0..sites)
                    .map(|i| EditSite {
                        edit: crate::edit::Edit {
                            start: i,
                            end: i + 1,
                            line: 1,
                            old: "f".into(),
                            new: "g".into(),
                        },
                        kind: EditKind::Reference,
                    })
                    .collect(),
            }],
            mentions: vec![],
            uncertain: vec![],
            mentions_total: 0,
            uncertain_total: uncertain,
            parse_errors: Default::default(),
            syntax_focus: Vec::new(),
            target_modules: vec!["m.py".into()],
            pruned_files: 0,
            sites,
        }
    }

    #[test]
    fn more_blast_radius_means_more_risk_and_is_deterministic() {
        let small = estimate(
            &analysis(3, 0),
            "f",
            2,
            Duration::ZERO,
            Duration::from_secs(90),
            CAP,
        );
        let large = estimate(
            &analysis(300, 20),
            "f",
            2,
            Duration::ZERO,
            Duration::from_secs(90),
            CAP,
        );
        assert!(small.p_tests_pass > large.p_tests_pass);
        assert_eq!(
            small,
            estimate(
                &analysis(3, 0),
                "f",
                2,
                Duration::ZERO,
                Duration::from_secs(90),
                CAP
            )
        );
        assert_eq!(small.level, "low");
        let late = estimate(
            &analysis(3, 0),
            "f",
            200,
            Duration::from_secs(80),
            Duration::from_secs(90),
            CAP,
        );
        assert!(late.p_on_time < 0.5, "{late:?}");
    }
}
