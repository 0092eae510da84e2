//! The operating system calls orch makes through `libc`, each behind a
//! safe function with the reason it is sound. (Foreign calls into libgit2,
//! `pre_exec` hooks and setting environment variables at start-up stay
//! beside the code they serve, with their own `SAFETY:` comments.)

use std::ffi::CString;
use std::os::fd::{FromRawFd as _, OwnedFd};
use std::path::Path;

/// Sends `signal` to every process of the group `pgid`; whether the group
/// existed. Signal 0 only asks that.
pub(crate) fn kill_group(pgid: i32, signal: i32) -> bool {
    // SAFETY: killpg takes two integers and only sends a signal.
    unsafe { libc::killpg(pgid, signal) == 0 }
}

/// The process groups of every descendant of `root` other than `root`'s
/// own group, found through the kernel's per-thread `children` lists (a
/// test runner a server starts in a group of its own, and whatever that
/// starts). Read before `root` is killed: its orphans are re-parented.
pub(crate) fn descendant_groups(root: u32) -> Vec<i32> {
    let own = process_group(root);
    let mut groups = Vec::new();
    let mut pending = vec![root];
    let mut seen = 0;
    while let Some(pid) = pending.pop() {
        seen += 1;
        if seen > 10_000 {
            break;
        }
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children = task.path().join("children");
            let Ok(list) = std::fs::read_to_string(children) else {
                continue;
            };
            for child in list
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok())
            {
                if let Some(group) = process_group(child)
                    && Some(group) != own
                    && !groups.contains(&group)
                {
                    groups.push(group);
                }
                pending.push(child);
            }
        }
    }
    groups
}

/// The process group of `pid` (`/proc/PID/stat`, field 5).
pub(crate) fn process_group(pid: u32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp ...`; comm may hold spaces and `)`.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// When process `pid` started (clock ticks since boot, `/proc/PID/stat`
/// field 22): with the pid, it names one process even after pid reuse.
pub(crate) fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    // Field 3 is the first after `)`; field 22 is the 20th after it.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// The processes whose command line mentions `text` (a stale worktree's
/// servers and test runs name its path).
pub(crate) fn processes_mentioning(text: &str) -> Vec<u32> {
    let own = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != own)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(text))
        })
        .collect()
}

/// A resource limit (`RLIMIT_AS`, `RLIMIT_NOFILE`, ...).
pub(crate) type Resource = libc::__rlimit_resource_t;
pub(crate) const MEMORY: Resource = libc::RLIMIT_AS;
pub(crate) const OPEN_FILES: Resource = libc::RLIMIT_NOFILE;

/// Sets a limit of this process. Async-signal-safe: it may run between
/// fork and exec.
pub(crate) fn set_own_limit(resource: Resource, value: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: setrlimit reads the struct we pass; it is async-signal-safe.
    if unsafe { libc::setrlimit(resource, &limit) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Sets a limit of the process `pid`.
pub(crate) fn set_limit_of(pid: u32, resource: Resource, value: u64) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    let limit = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: prlimit reads the struct we pass and writes nothing (null).
    if unsafe { libc::prlimit(pid, resource, &limit, std::ptr::null_mut()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A descriptor that turns readable when process `pid` exits (Linux 5.3+).
pub(crate) fn pidfd(pid: u32) -> Option<OwnedFd> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let fd = i32::try_from(fd).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: the descriptor was just created and nothing else owns it.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The size of a memory page.
pub(crate) fn page_size() -> Option<u64> {
    // SAFETY: sysconf only reads a configuration value.
    u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()
}

/// This process's user id.
pub(crate) fn uid() -> u32 {
    // SAFETY: getuid takes nothing and cannot fail.
    unsafe { libc::getuid() }
}

/// The file system of `path`: its type (`f_type`) and the bytes free to
/// unprivileged users.
pub(crate) fn file_system(path: &Path) -> Option<(i64, u64)> {
    let c_path = CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statfs is plain data, for which all zeroes is a valid value.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: the path is a valid C string and statfs fills the struct we own.
    if unsafe { libc::statfs(c_path.as_ptr(), &mut stat) } != 0 {
        return None;
    }
    #[allow(
        clippy::unnecessary_cast,
        reason = "the field types differ between targets"
    )]
    Some((
        stat.f_type as i64,
        stat.f_bavail as u64 * stat.f_bsize as u64,
    ))
}
