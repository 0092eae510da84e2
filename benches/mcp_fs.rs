//! orch's built-in `fs` server against `@modelcontextprotocol/server-filesystem`,
//! side by side, through orch's own MCP client:
//!
//! - spawn-to-ready: process start, `initialize`, `tools/list`;
//! - p50/p99 round trip of a small file read, one call at a time;
//! - throughput of 1,000 concurrent small reads.
//!
//! Run with `cargo bench --bench mcp_fs` after `npm ci --prefix .ci/npm`.
//! Targets for the built-in server: ready in ≤ 20 ms, p50 ≤ 0.3 ms.

#![allow(
    clippy::expect_used,
    reason = "a benchmark that cannot set itself up stops with the reason"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use orch::mcp::{Connection, ServerSpec, Source, futures_join_all};
use serde_json::{Value, json};

const STARTS: usize = 20;
const ROUND_TRIPS: usize = 2000;
const CONCURRENT: usize = 1000;

struct Subject {
    label: &'static str,
    spec: ServerSpec,
    tool: &'static str,
    arguments: Value,
}

fn spec(name: &str, command: PathBuf, args: Vec<String>, root: &Path) -> ServerSpec {
    ServerSpec {
        builtin: None,
        in_process: false,
        name: name.to_owned(),
        source: Source::Builtin,
        command: command.into_os_string(),
        args: args.into_iter().map(Into::into).collect(),
        env: BTreeMap::new(),
        cwd: Some(root.to_owned()),
        startup_timeout: Duration::from_secs(20),
        call_timeout: Duration::from_secs(60),
        memory_limit_mb: 2048,
        open_files_limit: 1024,
        max_in_flight: CONCURRENT,
        max_restarts: 0,
        max_reply_bytes: 1 << 20,
        trusted: true,
        roles: BTreeMap::new(),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

async fn measure(subject: &Subject) -> Result<[f64; 5], String> {
    // Spawn to ready.
    let mut starts = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        let started = Instant::now();
        let connection = Connection::start(&subject.spec)
            .await
            .map_err(|e| e.to_string())?;
        starts.push(started.elapsed().as_secs_f64() * 1000.0);
        connection.shutdown(None).await;
    }
    starts.sort_by(f64::total_cmp);
    let connection = Connection::start(&subject.spec)
        .await
        .map_err(|e| e.to_string())?;
    // Warm up, then one call at a time.
    for _ in 0..100 {
        connection
            .call(subject.tool, subject.arguments.clone())
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut trips = Vec::with_capacity(ROUND_TRIPS);
    for _ in 0..ROUND_TRIPS {
        let started = Instant::now();
        connection
            .call(subject.tool, subject.arguments.clone())
            .await
            .map_err(|e| e.to_string())?;
        trips.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    trips.sort_by(f64::total_cmp);
    // 1,000 at once.
    let started = Instant::now();
    let calls = (0..CONCURRENT).map(|_| connection.call(subject.tool, subject.arguments.clone()));
    for result in futures_join_all(calls).await {
        result.map_err(|e| e.to_string())?;
    }
    let throughput = CONCURRENT as f64 / started.elapsed().as_secs_f64();
    connection.shutdown(None).await;
    Ok([
        percentile(&starts, 0.5),
        starts[0],
        percentile(&trips, 0.5),
        percentile(&trips, 0.99),
        throughput,
    ])
}

fn main() {
    let root = tempfile::tempdir().expect("temp dir");
    let root_path = root.path().canonicalize().expect("canonical temp dir");
    std::fs::write(
        root_path.join("small.txt"),
        "hello from a small file\n".repeat(4),
    )
    .expect("write small.txt");
    let orch = PathBuf::from(env!("CARGO_BIN_EXE_orch"));
    let npm = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/npm/node_modules/.bin");
    let mut subjects = vec![Subject {
        label: "orch built-in fs",
        spec: spec(
            "orch-fs",
            orch,
            vec![
                "serve-mcp".into(),
                "fs".into(),
                "--root".into(),
                root_path.to_string_lossy().into_owned(),
            ],
            &root_path,
        ),
        tool: "read_file",
        arguments: json!({ "path": "small.txt" }),
    }];
    let filesystem = npm.join("mcp-server-filesystem");
    if filesystem.exists() {
        subjects.push(Subject {
            label: "server-filesystem",
            spec: spec(
                "server-filesystem",
                filesystem,
                vec![root_path.to_string_lossy().into_owned()],
                &root_path,
            ),
            tool: "read_text_file",
            arguments: json!({ "path": root_path.join("small.txt").to_string_lossy() }),
        });
    } else {
        eprintln!("server-filesystem is not installed: run `npm ci --prefix .ci/npm`");
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    println!(
        "{:<20} {:>14} {:>12} {:>10} {:>10} {:>16}",
        "server", "ready p50 ms", "ready min", "rt p50 ms", "rt p99 ms", "1000 conc. /s"
    );
    let mut failed = false;
    for subject in &subjects {
        match runtime.block_on(measure(subject)) {
            Ok([ready, ready_min, p50, p99, throughput]) => println!(
                "{:<20} {ready:>14.2} {ready_min:>12.2} {p50:>10.3} {p99:>10.3} {throughput:>16.0}",
                subject.label
            ),
            Err(error) => {
                failed = true;
                println!("{:<20} failed: {error}", subject.label);
            }
        }
    }
    println!(
        "({STARTS} starts, {ROUND_TRIPS} sequential reads after 100 warm-up reads, {CONCURRENT} concurrent reads; targets for orch: ready ≤ 20 ms, p50 ≤ 0.3 ms)"
    );
    if failed {
        std::process::exit(1);
    }
}
