#!/usr/bin/env python3
"""End-to-end runs of `orch run` on a real project, in order, in one fresh
state directory (so the first run has no history and the later ones do):
total time, per-phase times, the tests chosen and whether it committed.

    benches/e2e.py --project DIR [--tests affected|all] "COMMAND" ["COMMAND" ...]

DIR is copied (it must be a git checkout with its tests passing); each
command runs on the copy's HEAD (orch commits on a branch of its own).
Needs a build of orch (release if present, else debug).
"""
import argparse, json, os, shutil, subprocess, sys, tempfile, time


def orch_binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/orch-target"))
    for profile in ("release", "debug"):
        path = os.path.join(target, profile, "orch")
        if os.path.exists(path):
            return path, profile
    sys.exit("build orch first (cargo build)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", required=True)
    parser.add_argument("--tests", default="affected")
    parser.add_argument("--keep-state", action="store_true", help="print the state directory and keep it")
    parser.add_argument("commands", nargs="+")
    args = parser.parse_args()
    orch, profile = orch_binary()
    work = tempfile.mkdtemp(prefix="e2e-")
    repo = os.path.join(work, "repo")
    shutil.copytree(args.project, repo, symlinks=True)
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(work, "state"))
    print(f"orch ({profile} build) on {os.path.basename(os.path.abspath(args.project))}, --tests {args.tests}")
    for i, command in enumerate(args.commands, 1):
        started = time.time()
        out = subprocess.run([orch, "run", "--yes", "--json", "--tests", args.tests, "--repo", repo, command],
                             capture_output=True, text=True, env=env)
        wall = time.time() - started
        try:
            result = json.loads(out.stdout)
        except ValueError:
            print(f"#{i} {command}: no JSON (exit {out.returncode})\n{out.stderr[-1500:]}")
            continue
        record = json.load(open(os.path.join(result["run_dir"], "record.json")))
        details = record.get("details", {})
        schedule = details.get("schedule", {})
        execute = details.get("execute", {})
        risk = details.get("risk", {})
        phases = "  ".join(f"{p['phase']} {p['duration_ms'] / 1000:.1f}s" for p in result["phases"])
        after = execute.get("after") or {}
        baseline = execute.get("baseline") or {}
        print(f"#{i} {command}")
        print(f"   exit {out.returncode}, success={result['success']} stop={result.get('stop_reason')} "
              f"commit={'yes' if result.get('commit') else 'no'}; wall {wall:.1f} s (deadline 90 s)")
        print(f"   {phases}")
        print(f"   tests: tiers {schedule.get('tiers')}, {len(schedule.get('selection') or [])} paths, "
              f"{schedule.get('parallelism')} worker(s), left out {schedule.get('left_out')}; "
              f"baseline {'cached' if execute.get('baseline_cached') else str(baseline.get('duration_ms', 0) / 1000) + ' s'}, "
              f"after {after.get('duration_ms', 0) / 1000:.1f} s ({after.get('passed', 0)} passed, "
              f"{after.get('failed', 0)} failed); flaky {len(execute.get('flaky') or [])}")
        finish = risk.get("finish") or {}
        print(f"   estimate: P(on time) {risk.get('p_on_time')}, P50 {finish.get('p50_ms', 0) / 1000:.1f} s, "
              f"P95 {finish.get('p95_ms', 0) / 1000:.1f} s ({finish.get('basis', '')[:110]})")
        print(f"   reason: {schedule.get('reason', '')[:300]}")
        if not result["success"]:
            print(f"   error: {(result.get('error') or '')[:400]}")
    if args.keep_state:
        print(f"state: {env['XDG_STATE_HOME']}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
