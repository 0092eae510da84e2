//! The `orch` binary: parse arguments, set up logging and the runtime,
//! hand over to `orch::run`, exit with its code.

use clap::Parser;

fn main() {
    let cli = orch::cli::Cli::parse();
    // Before any thread starts (it sets environment variables). Built-in
    // servers do not use git.
    if !matches!(cli.command, orch::cli::Command::ServeMcp { .. }) {
        orch::init();
    }
    // rmcp's own complaints (a dropped line, a closed pipe) are reported by
    // orch in its own words; they show from -v on.
    let level = match cli.global.verbose {
        0 => "orch=warn",
        1 => "orch=info,rmcp=warn",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ORCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    tracing::debug!("orch started");
    // A built-in server answers one stdio stream: a single-threaded runtime
    // avoids cross-thread wake-ups on every message (blocking work still
    // goes to the blocking pool).
    let mut builder = if matches!(cli.command, orch::cli::Command::ServeMcp { .. }) {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            std::process::exit(orch::ExitCode::Stopped.code());
        }
    };
    let code = runtime.block_on(orch::run(cli)).code();
    // Servers are shut down by now; do not wait on stray blocking tasks.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    tracing::debug!(code, "orch exiting");
    std::process::exit(code);
}
