//! Per-project state under `$XDG_STATE_HOME/orch/projects/<id>/`: run
//! directories, private worktrees and the lock that serialises runs on one
//! project. `id = sha1(canonical project path)[:12]`.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;

use crate::plan::sha1_hex;

/// `$XDG_STATE_HOME/orch`, else `~/.local/state/orch`.
pub(crate) fn state_home() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("orch"));
    }
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .context("neither XDG_STATE_HOME nor HOME is set")?;
    Ok(PathBuf::from(home).join(".local/state/orch"))
}

/// One project's state directory.
#[derive(Debug, Clone)]
pub(crate) struct Project {
    pub id: String,
    pub dir: PathBuf,
}

impl Project {
    pub(crate) fn new(state_home: &Path, canonical_root: &Path) -> Self {
        let id = sha1_hex(canonical_root.as_os_str().as_encoded_bytes())[..12].to_owned();
        Project {
            dir: state_home.join("projects").join(&id),
            id,
        }
    }

    /// Remembers the project's directory (for `orch gc`).
    pub(crate) fn record_root(&self, root: &Path) {
        if std::fs::create_dir_all(&self.dir).is_ok() {
            let _ = std::fs::write(self.dir.join("root"), root.as_os_str().as_encoded_bytes());
        }
    }

    pub(crate) fn run_dir(&self, run_id: &str) -> PathBuf {
        self.dir.join("runs").join(run_id)
    }

    /// Where a run's private worktree goes: under `ORCH_WORKTREE_DIR` if
    /// set; else in memory (`$XDG_RUNTIME_DIR` or `/dev/shm`, when it is a
    /// tmpfs with room for four times the checkout), because creating and
    /// removing thousands of files there is an order of magnitude faster
    /// than on disk; else in the state directory.
    pub(crate) fn worktree_dir(
        &self,
        run_id: &str,
        checkout_bytes: u64,
        worktree_root: Option<&Path>,
        runtime_dir: Option<&Path>,
    ) -> PathBuf {
        if let Some(dir) = worktree_root {
            return dir.join(format!("{}-{run_id}", self.id));
        }
        let candidates = [
            runtime_dir.map(Path::to_path_buf),
            Some(PathBuf::from("/dev/shm")),
        ];
        for base in candidates.into_iter().flatten() {
            if let Some(dir) = private_tmpfs_dir(&base, checkout_bytes) {
                return dir.join(format!("{}-{run_id}", self.id));
            }
        }
        self.dir.join("worktrees").join(run_id)
    }

    /// Takes the project lock, waiting while another run holds it;
    /// `on_wait` is called once if it has to wait.
    /// Takes the project's lock, waiting at most `limit`; `on_wait` is
    /// told who holds it (pid, command, since when) when it must wait. The
    /// holder's description is written into the lock file.
    pub(crate) fn lock(
        &self,
        limit: Duration,
        on_wait: impl FnOnce(Option<String>),
    ) -> anyhow::Result<ProjectLock> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create `{}`", self.dir.display()))?;
        let path = self.dir.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open `{}`", path.display()))?;
        let started = Instant::now();
        let mut on_wait = Some(on_wait);
        loop {
            match file.try_lock() {
                Ok(()) => {
                    describe_holder(&file);
                    return Ok(ProjectLock { _file: file });
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = || {
                        std::fs::read_to_string(&path)
                            .ok()
                            .map(|text| text.trim().to_owned())
                            .filter(|text| !text.is_empty())
                    };
                    if let Some(callback) = on_wait.take() {
                        callback(holder());
                    }
                    if started.elapsed() > limit {
                        return Err(LockTimeout {
                            waited: started.elapsed(),
                            holder: holder(),
                        }
                        .into());
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("cannot lock `{}`", path.display()));
                }
            }
        }
    }
}

/// Waiting for the project lock took the run's whole deadline.
#[derive(Debug, thiserror::Error)]
#[error(
    "waited {:.1}s for another orch run on this project ({}) and ran out of deadline",
    .waited.as_secs_f64(),
    .holder.as_deref().unwrap_or("holder unknown")
)]
pub(crate) struct LockTimeout {
    pub waited: Duration,
    pub holder: Option<String>,
}

/// Writes who holds the lock into it: `pid PID, `COMMAND`, since TIME`.
fn describe_holder(file: &File) {
    use std::io::Write as _;
    let command: Vec<String> = std::env::args()
        .map(|a| crate::printer::escape(&a))
        .collect();
    let since = humantime::format_rfc3339_seconds(SystemTime::now());
    let text = format!(
        "pid {}, `{}`, since {since}",
        std::process::id(),
        command.join(" ")
    );
    let mut file = file;
    if file.set_len(0).is_ok() {
        let _ = file.write_all(text.as_bytes());
    }
}

/// `BASE/orch-<uid>` (created 0700, ours, not a symlink) if `BASE` is a
/// tmpfs with room for four times `bytes` plus 256 MiB, and `bytes` is
/// under 2 GiB.
fn private_tmpfs_dir(base: &Path, bytes: u64) -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    if bytes > 2 << 30 {
        return None;
    }
    let (kind, free) = crate::sys::file_system(base)?;
    if kind != TMPFS_MAGIC {
        return None;
    }
    if free < bytes.saturating_mul(4) + (256 << 20) {
        return None;
    }
    let uid = crate::sys::uid();
    let dir = base.join(format!("orch-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    (meta.is_dir() && meta.uid() == uid && meta.mode() & 0o077 == 0).then_some(dir)
}

/// Held for the duration of a run; released on drop.
#[derive(Debug)]
pub(crate) struct ProjectLock {
    _file: File,
}

/// A unique run id such as `20261121T235121.042Z-3f2a`, which sorts by
/// start time to the millisecond (two runs often start within one second).
pub(crate) fn new_run_id() -> String {
    let now = SystemTime::now();
    let stamp = humantime::format_rfc3339_millis(now)
        .to_string()
        .replace(['-', ':'], "");
    let nanos = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let salt = sha1_hex(format!("{}-{nanos}", std::process::id()).as_bytes());
    format!("{stamp}-{}", &salt[..4])
}

/// The runs in progress on a repository, one file each in
/// `GIT_DIR/orch-owners/RUN_ID` (shared by every orch that works on the
/// repository, whatever its state directory) holding the owning process's
/// pid and start time: what a crashed run (kill -9, the OOM killer) left
/// behind is what no live owner claims.
#[derive(Debug, Clone)]
pub(crate) struct Owners {
    dir: PathBuf,
}

impl Owners {
    /// The owners of the repository whose common git directory is `git_dir`.
    pub(crate) fn new(git_dir: &Path) -> Self {
        Owners {
            dir: git_dir.join("orch-owners"),
        }
    }

    /// The common git directory they live in.
    pub(crate) fn git_dir(&self) -> &Path {
        self.dir.parent().unwrap_or(&self.dir)
    }

    /// Claims `run_id` for this process.
    pub(crate) fn claim(&self, run_id: &str) -> anyhow::Result<()> {
        let pid = std::process::id();
        let start = crate::sys::process_start(pid).unwrap_or(0);
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create `{}`", self.dir.display()))?;
        std::fs::write(self.dir.join(run_id), format!("{pid} {start}\n"))
            .with_context(|| format!("cannot write `{}`", self.dir.join(run_id).display()))
    }

    pub(crate) fn release(&self, run_id: &str) {
        let _ = std::fs::remove_file(self.dir.join(run_id));
    }

    /// Whether a live process owns `run_id` (the same pid, started at the
    /// same time: not a later process that reused the pid).
    pub(crate) fn is_live(&self, run_id: &str) -> bool {
        let Ok(text) = std::fs::read_to_string(self.dir.join(run_id)) else {
            return false;
        };
        let mut fields = text
            .split_whitespace()
            .filter_map(|f| f.parse::<u64>().ok());
        match (fields.next(), fields.next()) {
            (Some(pid), Some(start)) => u32::try_from(pid)
                .ok()
                .and_then(crate::sys::process_start)
                .is_some_and(|now| now == start),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_serialises() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::new(dir.path(), Path::new("/some/repo"));
        assert_eq!(project.id.len(), 12);
        let held = project.lock(Duration::from_secs(1), |_| {}).unwrap();
        let mut holder = None;
        let second = project.lock(Duration::from_millis(300), |h| holder = h);
        // The waiter learns who holds the lock; the timeout says it too.
        let holder = holder.unwrap();
        assert!(
            holder.contains(&format!("pid {}", std::process::id())),
            "{holder}"
        );
        let error = second.unwrap_err();
        let timeout = error.downcast_ref::<LockTimeout>().unwrap();
        assert_eq!(timeout.holder.as_deref(), Some(holder.as_str()));
        assert!(error.to_string().contains("ran out of deadline"), "{error}");
        drop(held);
        assert!(project.lock(Duration::from_secs(1), |_| {}).is_ok());
        let other = Project::new(dir.path(), Path::new("/other/repo"));
        assert!(other.lock(Duration::from_secs(1), |_| {}).is_ok());
    }

    #[test]
    fn worktrees_go_where_asked_else_to_memory_else_to_the_state_dir() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::new(dir.path(), Path::new("/some/repo"));
        let asked = project.worktree_dir("r1", 10, Some(Path::new("/x/wt")), None);
        assert_eq!(asked, PathBuf::from(format!("/x/wt/{}-r1", project.id)));
        // A disk directory is not a tmpfs; a huge checkout never goes to memory.
        let on_disk = project.worktree_dir("r1", 10, None, Some(dir.path()));
        if !on_disk.starts_with("/dev/shm") {
            assert_eq!(on_disk, project.dir.join("worktrees/r1"));
        }
        let huge = project.worktree_dir("r1", 3 << 30, None, None);
        assert_eq!(huge, project.dir.join("worktrees/r1"));
    }

    #[test]
    fn run_ids_sort_by_time() {
        let first = new_run_id();
        assert_eq!(first.len(), "20261121T235121.042Z-3f2a".len(), "{first}");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_run_id();
        assert!(first < second, "{first} then {second}");
    }
}
