//! Work spread over the machine's cores, for the analyses, the worktree
//! copy and the diff.

/// The cores this process may use (at most 8), asked once: the standard
/// library reads the cgroup's CPU quota files on every call.
pub(crate) fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8)
    })
}

/// `f` over `items` on all cores (at most 8 threads), results in order.
/// Items differ a lot in cost (file sizes): threads take the next item as
/// they go.
pub(crate) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = cores().min(items.len());
    if threads <= 1 {
        return items.iter().map(&f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            break;
                        };
                        out.push((i, f(item)));
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    // A worker that panicked lost its items: run those here.
    let mut out: Vec<R> = Vec::with_capacity(items.len());
    let mut done = done.into_iter().peekable();
    for (i, item) in items.iter().enumerate() {
        match done.next_if(|(j, _)| *j == i) {
            Some((_, result)) => out.push(result),
            None => out.push(f(item)),
        }
    }
    out
}
