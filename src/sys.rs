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
