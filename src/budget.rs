//! Budgets a run holds to: tokens (counted with the o200k_base BPE on
//! everything MCP servers return), memory (orch plus its child processes,
//! sampled every 250 ms) and time (a run deadline carved into per-phase
//! deadlines).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Why a budget stopped the run.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum Exceeded {
    #[error("phase {phase} used {used} tokens, over its budget of {limit} (raise --phase-tokens)")]
    PhaseTokens {
        phase: String,
        used: usize,
        limit: usize,
    },
    #[error("the run used {used} tokens, over its budget of {limit} (raise --total-tokens)")]
    TotalTokens { used: usize, limit: usize },
}

/// How many o200k_base tokens `text` is (see `tokenizer`).
pub fn count_tokens(text: &str) -> usize {
    // The split pattern is fixed and compiles; should it ever not, fall back
    // to a conservative estimate rather than counting nothing.
    crate::tokenizer::count(text).unwrap_or_else(|| text.len().div_ceil(3))
}

/// Token accounting for one run.
#[derive(Debug)]
pub struct Tokens {
    phase_limit: usize,
    total_limit: usize,
    total: AtomicUsize,
    phases: Mutex<BTreeMap<String, usize>>,
    current: Mutex<String>,
}

impl Tokens {
    pub fn new(phase_limit: usize, total_limit: usize) -> Self {
        Tokens {
            phase_limit,
            total_limit,
            total: AtomicUsize::new(0),
            phases: Mutex::new(BTreeMap::new()),
            current: Mutex::new(String::new()),
        }
    }

    /// Makes `phase` the one charged from now on.
    pub fn enter(&self, phase: &str) {
        if let Ok(mut current) = self.current.lock() {
            *current = phase.to_owned();
        }
    }

    /// Charges `tokens` to the current phase and the run.
    pub fn charge(&self, tokens: usize) -> Result<(), Exceeded> {
        let phase = self.current.lock().map(|c| c.clone()).unwrap_or_default();
        let used = {
            let mut phases = self
                .phases
                .lock()
                .map_err(|_| Exceeded::TotalTokens { used: 0, limit: 0 })?;
            let entry = phases.entry(phase.clone()).or_default();
            *entry += tokens;
            *entry
        };
        let total = self.total.fetch_add(tokens, Ordering::SeqCst) + tokens;
        if total > self.total_limit {
            return Err(Exceeded::TotalTokens {
                used: total,
                limit: self.total_limit,
            });
        }
        if used > self.phase_limit {
            return Err(Exceeded::PhaseTokens {
                phase,
                used,
                limit: self.phase_limit,
            });
        }
        Ok(())
    }

    /// Tokens the current phase may still use (bounded by the run's remainder).
    pub fn phase_remaining(&self) -> usize {
        let phase = self.current.lock().map(|c| c.clone()).unwrap_or_default();
        let used = self
            .phases
            .lock()
            .ok()
            .and_then(|p| p.get(&phase).copied())
            .unwrap_or(0);
        self.phase_limit
            .saturating_sub(used)
            .min(self.total_limit.saturating_sub(self.total()))
    }

    pub fn phase_used(&self, phase: &str) -> usize {
        self.phases
            .lock()
            .ok()
            .and_then(|p| p.get(phase).copied())
            .unwrap_or(0)
    }

    pub fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    pub fn phase_limit(&self) -> usize {
        self.phase_limit
    }
}

/// A moment the memory threshold was crossed.
#[derive(Debug, Clone, Serialize)]
pub struct PressureEvent {
    /// Milliseconds since the run started.
    pub at_ms: u64,
    /// Resident memory of orch and its children, MiB.
    pub used_mb: u64,
    /// Fraction of total RAM.
    pub fraction: f64,
    /// How long new work waited, ms.
    pub waited_ms: u64,
}

/// Samples the resident memory of this process and all its descendants.
#[derive(Debug)]
pub struct Memory {
    threshold: f64,
    total_bytes: u64,
    current: AtomicU64,
    peak: AtomicU64,
    events: Mutex<Vec<PressureEvent>>,
    started: Instant,
}

/// Sampling period.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);
/// Longest wait for pressure to drop before work proceeds anyway.
pub const MAX_PRESSURE_WAIT: Duration = Duration::from_secs(30);

impl Memory {
    /// Starts sampling every 250 ms on a background thread, for as long as
    /// the returned handle lives.
    pub fn start(threshold: f64) -> Arc<Self> {
        let total_bytes = match sysinfo::System::new() {
            Ok(mut system) => {
                system.refresh_memory();
                system.total_memory()
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read memory figures; the memory budget is not enforced");
                0
            }
        };
        let memory = Arc::new(Memory {
            threshold,
            total_bytes: total_bytes.max(1),
            current: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            events: Mutex::new(Vec::new()),
            started: Instant::now(),
        });
        let weak = Arc::downgrade(&memory);
        std::thread::Builder::new()
            .name("orch-memory".into())
            .spawn(move || {
                let mut system = None;
                while let Some(memory) = weak.upgrade() {
                    memory.record(sample(&mut system));
                    drop(memory);
                    std::thread::sleep(SAMPLE_EVERY);
                }
            })
            .ok();
        memory
    }

    /// Takes a sample now, between the sampler's ticks (Linux: a few small
    /// reads of `/proc`; elsewhere it waits for the next tick).
    pub fn sample_now(&self) {
        if let Some(bytes) = process_tree_rss(std::process::id()) {
            self.record(bytes);
        }
    }

    fn record(&self, bytes: u64) {
        self.current.store(bytes, Ordering::SeqCst);
        self.peak.fetch_max(bytes, Ordering::SeqCst);
    }

    /// Fraction of RAM in use by orch and its children at the last sample.
    pub fn fraction(&self) -> f64 {
        self.current.load(Ordering::SeqCst) as f64 / self.total_bytes as f64
    }

    /// MiB orch and its children may still use before the threshold.
    pub fn headroom_mb(&self) -> u64 {
        let limit = self.total_bytes as f64 * self.threshold;
        let used = self.current.load(Ordering::SeqCst) as f64;
        ((limit - used).max(0.0) / (1024.0 * 1024.0)) as u64
    }

    pub fn peak_mb(&self) -> u64 {
        self.peak.load(Ordering::SeqCst) / (1024 * 1024)
    }

    pub fn events(&self) -> Vec<PressureEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Waits (up to 30 s, and not past `until`) while memory is above the
    /// threshold; call before starting new parallel work.
    /// `on_wait(used fraction, threshold)` is called when a wait starts.
    /// The wait is recorded as a memory event from its start, with the time
    /// waited kept up to date even when the deadline cuts it short.
    pub async fn admit(&self, until: Instant, on_wait: impl FnOnce(f64, f64)) {
        if self.total_bytes <= 1 || self.fraction() <= self.threshold {
            return;
        }
        let started = Instant::now();
        let limit = (started + MAX_PRESSURE_WAIT).min(until);
        let fraction = self.fraction();
        on_wait(fraction, self.threshold);
        let index = match self.events.lock() {
            Ok(mut events) => {
                events.push(PressureEvent {
                    at_ms: started.duration_since(self.started).as_millis() as u64,
                    used_mb: (fraction * self.total_bytes as f64) as u64 / (1024 * 1024),
                    fraction,
                    waited_ms: 0,
                });
                Some(events.len() - 1)
            }
            Err(_) => None,
        };
        // Updates the event's wait when the wait ends, however it ends.
        struct Waited<'a> {
            events: &'a Mutex<Vec<PressureEvent>>,
            index: Option<usize>,
            started: Instant,
        }
        impl Drop for Waited<'_> {
            fn drop(&mut self) {
                if let (Some(index), Ok(mut events)) = (self.index, self.events.lock())
                    && let Some(event) = events.get_mut(index)
                {
                    event.waited_ms = self.started.elapsed().as_millis() as u64;
                }
            }
        }
        let _waited = Waited {
            events: &self.events,
            index,
            started,
        };
        while self.fraction() > self.threshold && Instant::now() < limit {
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
        tracing::debug!(
            fraction,
            waited_ms = started.elapsed().as_millis() as u64,
            "memory above threshold"
        );
    }
}

/// Resident bytes of this process plus every descendant.
fn sample(system: &mut Option<sysinfo::System>) -> u64 {
    if let Some(total) = process_tree_rss(std::process::id()) {
        return total;
    }
    if system.is_none() {
        *system = sysinfo::System::new().ok();
    }
    system
        .as_mut()
        .map_or(0, |system| scan_all_processes(system, std::process::id()))
}

/// Resident bytes of `root` and its descendants, found through the
/// kernel's per-thread `children` lists: a few small reads, where scanning
/// every process on the machine costs milliseconds a sample. `None` where
/// those lists do not exist (not Linux, or a kernel without them).
fn process_tree_rss(root: u32) -> Option<u64> {
    let children_of = |pid: u32, tid: &str| format!("/proc/{pid}/task/{tid}/children");
    if !std::path::Path::new(&children_of(root, &root.to_string())).exists() {
        return None;
    }
    let page = crate::sys::page_size()?;
    let mut pending = vec![root];
    let mut total = 0;
    let mut seen = 0;
    while let Some(pid) = pending.pop() {
        seen += 1;
        if seen > 100_000 {
            break;
        }
        // A process that exits meanwhile simply counts for nothing.
        let resident = std::fs::read_to_string(format!("/proc/{pid}/statm"))
            .ok()
            .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok());
        total += resident.unwrap_or(0) * page;
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let tid = task.file_name();
            if let Ok(list) = std::fs::read_to_string(children_of(pid, &tid.to_string_lossy())) {
                pending.extend(
                    list.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
    }
    Some(total)
}

/// The portable way: refresh every process and add up the descendants.
fn scan_all_processes(system: &mut sysinfo::System, root: u32) -> u64 {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, UpdateKind};
    system.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .with_memory()
            .with_exe(UpdateKind::Never),
    );
    let me = sysinfo::Pid::from_u32(root);
    let processes = system.processes();
    let mut total = 0;
    for (pid, process) in processes {
        // Threads are listed as tasks of their process: count processes only.
        if process.thread_kind().is_some() {
            continue;
        }
        let mut current = Some(*pid);
        let mut depth = 0;
        while let Some(id) = current {
            if id == me {
                total += process.memory();
                break;
            }
            depth += 1;
            if depth > 64 {
                break;
            }
            current = processes.get(&id).and_then(|p| p.parent());
        }
    }
    total
}

/// The run's deadline and how it is carved into phases.
#[derive(Debug, Clone)]
pub struct Deadline {
    started: Instant,
    total: Duration,
}

impl Deadline {
    pub fn new(total: Duration) -> Self {
        Deadline {
            started: Instant::now(),
            total,
        }
    }

    pub fn at(&self) -> Instant {
        self.started + self.total
    }

    pub fn remaining(&self) -> Duration {
        self.at().saturating_duration_since(Instant::now())
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    pub fn total(&self) -> Duration {
        self.total
    }

    /// A phase's share of the time left: its weight over the weights of the
    /// phases still to run, so time a phase does not use rolls forward.
    pub fn phase_budget(&self, weight: u32, remaining_weight: u32) -> Duration {
        let remaining = self.remaining();
        if remaining_weight == 0 {
            return remaining;
        }
        remaining.mul_f64(f64::from(weight) / f64::from(remaining_weight))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_real_bpe_tokens() {
        assert_eq!(count_tokens(""), 0);
        let n = count_tokens("def make_text(value):\n    return str(value)\n");
        assert!((8..20).contains(&n), "{n}");
    }

    #[test]
    fn phase_and_total_limits() {
        let tokens = Tokens::new(10, 15);
        tokens.enter("map");
        assert!(tokens.charge(8).is_ok());
        assert_eq!(tokens.phase_remaining(), 2);
        assert!(matches!(
            tokens.charge(3),
            Err(Exceeded::PhaseTokens { .. })
        ));
        tokens.enter("logic");
        assert!(matches!(
            tokens.charge(5),
            Err(Exceeded::TotalTokens { used: 16, .. })
        ));
    }

    #[test]
    fn memory_sampling_sees_this_process_and_its_children() {
        // A child holding 64 MiB, idle while it is measured (other tests in
        // this process come and go, so only the child is compared exactly).
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                "import sys, time; b = bytearray(64 << 20); print(flush=True); time.sleep(30)",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        let mut system = sysinfo::System::new().unwrap();
        let scanned = scan_all_processes(&mut system, child.id());
        let listed = process_tree_rss(child.id()).expect("Linux lists children");
        let whole = process_tree_rss(std::process::id()).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert!(scanned >= 64 << 20, "{scanned}");
        assert!(listed.abs_diff(scanned) < 8 << 20, "{listed} vs {scanned}");
        // This process's tree includes the child.
        assert!(whole > listed, "{whole} vs {listed}");
        assert!(sample(&mut None) > 0);
    }

    #[test]
    fn unused_time_rolls_forward() {
        let deadline = Deadline::new(Duration::from_secs(100));
        let share = deadline.phase_budget(10, 100);
        assert!(share <= Duration::from_secs(10) && share > Duration::from_secs(9));
    }
}
