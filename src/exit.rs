//! orch's exit codes, once.

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The work is done (a pull request opened or updated, a plan printed,
    /// a dry run complete).
    Done,
    /// The run stopped: a budget, red tests, a refused review or approval,
    /// a server failure.
    Stopped,
    /// The command, its configuration or a plan file cannot be used.
    Usage,
    /// SIGINT or SIGTERM.
    Interrupted,
}

impl ExitCode {
    /// The process exit status.
    pub fn code(self) -> i32 {
        match self {
            ExitCode::Done => 0,
            ExitCode::Stopped => 1,
            ExitCode::Usage => 2,
            ExitCode::Interrupted => 130,
        }
    }
}
