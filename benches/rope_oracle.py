#!/usr/bin/env python3
"""rope as an oracle (and a stopwatch) for orch's renames, on click 8.5.1.

For each rename below, on a clean git checkout of click's source archive:
  1. rope (`rope.refactor.rename.Rename`, strings and comments left alone,
     unsure occurrences not renamed) renames the definition; its diff is
     kept and the checkout reset;
  2. `orch run --dry-run` produces its diff (plan + dry run, no tests);
  3. both diffs are reduced to the set of changed lines (file, line, old
     text, new text) and compared;
  4. with --tests, `orch run` (not dry) runs click's full test suite before
     and after the edit and must commit (REVIEW: tests no worse).
Prints one row per rename (times, ratio, agreement) and every mismatch.

  python3 benches/rope_oracle.py [--tests] [--runs N] [CLICK_DIR]

Needs `pip install rope pytest` and a release build of orch. Without
CLICK_DIR, downloads click 8.5.1 from PyPI into a temp dir.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RENAMES = [
    # (kind, old, new, defining file)
    ("function", "make_str", "make_text", "src/click/utils.py"),
    ("function", "format_filename", "filename_for_display", "src/click/utils.py"),
    ("function", "get_app_dir", "app_config_dir", "src/click/utils.py"),
    ("function", "wrap_text", "wrap_paragraphs", "src/click/formatting.py"),
    ("function", "make_pass_decorator", "pass_object_of", "src/click/decorators.py"),
    # Not `_make_default_short_help`, `Choice` or `WIN`: click's own tests
    # name those through strings (deprecation shims, info dicts,
    # monkeypatch targets), so no rename of them can keep the suite green.
    ("function", "_detect_program_name", "_program_name_of", "src/click/utils.py"),
    ("class", "HelpFormatter", "HelpWriter", "src/click/formatting.py"),
    ("class", "BadParameter", "InvalidParameter", "src/click/exceptions.py"),
    ("class", "ParamType", "ParameterType", "src/click/types.py"),
    ("variable", "CYGWIN", "IS_CYGWIN", "src/click/_compat.py"),
    # Methods: rope with in_hierarchy=True (overrides in subclasses too).
    ("method", "HelpFormatter.write_usage", "write_usage_line", "src/click/formatting.py"),
    ("method", "ParamType.get_metavar", "metavar_for", "src/click/types.py"),
    ("method", "Context.lookup_default", "default_for", "src/click/core.py"),
    ("method", "Command.collect_usage_pieces", "usage_pieces", "src/click/core.py"),
    # Parameters (`function.parameter`): the def, its body, keyword arguments.
    ("parameter", "wrap_text.preserve_paragraphs", "keep_paragraphs", "src/click/formatting.py"),
    ("parameter", "get_app_dir.force_posix", "posix", "src/click/utils.py"),
]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(args, cwd, check=True, **kw):
    return subprocess.run(args, cwd=cwd, check=check, text=True, capture_output=True, **kw)


def checkout_click(work):
    dl = os.path.join(work, "dl")
    sh([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
        "click==8.5.1", "-d", dl], cwd=work)
    sh(["tar", "--no-same-owner", "-xzf", os.path.join(dl, "click-8.5.1.tar.gz"), "-C", work], cwd=work)
    return os.path.join(work, "click-8.5.1")


def prepare(repo):
    if not os.path.isdir(os.path.join(repo, ".git")):
        sh(["git", "init", "-q", "-b", "main"], cwd=repo)
        sh(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "add", "-A"], cwd=repo)
        sh(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m",
            "click"], cwd=repo)
    reset(repo)


def reset(repo):
    sh(["git", "checkout", "-q", "--", "."], cwd=repo)
    sh(["git", "clean", "-fdq", "-e", ".venv"], cwd=repo)


def changed_lines(diff):
    """{(file, old line, removed text, added text)} from a unified diff."""
    out = set()
    file = None
    old_line = 0
    removed, added = [], []

    def flush():
        nonlocal removed, added
        for i in range(max(len(removed), len(added))):
            r = removed[i] if i < len(removed) else (None, None)
            a = added[i] if i < len(added) else None
            out.add((file, r[0], r[1], a))
        removed, added = [], []

    for line in diff.splitlines():
        if line.startswith("+++ "):
            flush()
            file = line[6:] if line.startswith("+++ b/") else line[4:]
        elif line.startswith("--- "):
            flush()
        elif line.startswith("@@"):
            flush()
            old_line = int(re.match(r"@@ -(\d+)", line).group(1))
        elif line.startswith("-"):
            removed.append((old_line, line[1:]))
            old_line += 1
        elif line.startswith("+"):
            added.append(line[1:])
        else:
            flush()
            old_line += 1
    flush()
    return out


def rope_rename(repo, path, kind, old, new):
    from rope.base.project import Project
    from rope.refactor.rename import Rename

    started = time.monotonic()
    project = Project(repo, ropefolder=None)
    try:
        resource = project.get_resource(path)
        source = resource.read()
        if kind == "parameter":
            function, parameter = old.split(".")
            fn = re.search(rf"^def\s+{re.escape(function)}\b", source, re.M)
            match = re.compile(rf"(\s*)\b({re.escape(parameter)})\b").search(source, fn.end())
        elif kind == "method":
            class_name, method = old.split(".")
            cls = re.search(rf"^class\s+{re.escape(class_name)}\b", source, re.M)
            match = re.compile(rf"^(\s+)def\s+({re.escape(method)})\b", re.M).search(source, cls.end())
        else:
            keyword = {"function": r"def\s+", "class": r"class\s+", "variable": ""}[kind]
            match = re.search(rf"^(\s*){keyword}({re.escape(old)})\b", source, re.M)
        offset = match.start(2)
        changes = Rename(project, resource, offset).get_changes(
            new, docs=False, unsure=lambda _: False, in_hierarchy=(kind == "method"))
        project.do(changes)
    finally:
        project.close()
    elapsed = time.monotonic() - started
    diff = sh(["git", "diff", "-U0"], cwd=repo).stdout
    reset(repo)
    return elapsed, diff


def orch(repo, binary, state, command, dry_run=True):
    args = [binary, "run", "--yes", "--json", "--phase-tokens", "100000", "--total-tokens", "400000",
            "--deadline", "10m", "--repo", repo, command]
    if dry_run:
        args.insert(2, "--dry-run")
    env = dict(os.environ, XDG_STATE_HOME=state)
    started = time.monotonic()
    done = subprocess.run(args, text=True, capture_output=True, env=env)
    elapsed = time.monotonic() - started
    try:
        data = json.loads(done.stdout)
    except ValueError:
        data = {"success": False, "error": done.stderr[-500:]}
    return elapsed, data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("click", nargs="?")
    parser.add_argument("--tests", action="store_true", help="also run orch for real: full test suite")
    parser.add_argument("--runs", type=int, default=1, help="timed runs of each tool per rename")
    parser.add_argument("--only", help="comma-separated old names to run")
    parser.add_argument("--orch", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/orch-target")), "release", "orch"))
    args = parser.parse_args()
    work = tempfile.mkdtemp()
    try:
        repo = os.path.abspath(args.click) if args.click else checkout_click(work)
        prepare(repo)
        state = os.path.join(work, "state")
        rows, mismatches = [], []
        only = set(args.only.split(",")) if args.only else None
        for kind, old, new, path in RENAMES:
            if only and old not in only:
                continue
            command = f"rename {kind} {old} to {new}"
            if kind == "parameter":
                function, parameter = old.split(".")
                command = f"rename parameter {parameter} of {function} to {new}"
            rope_times, orch_times = [], []
            for _ in range(args.runs):
                rope_time, rope_diff = rope_rename(repo, path, kind, old, new)
                rope_times.append(rope_time)
                orch_time, data = orch(repo, args.orch, state, command)
                orch_times.append(orch_time)
            ours = changed_lines(data.get("diff") or "")
            theirs = changed_lines(rope_diff)
            agree = ours == theirs
            if not agree:
                for item in sorted(theirs - ours, key=str):
                    mismatches.append((command, "rope only", item))
                for item in sorted(ours - theirs, key=str):
                    mismatches.append((command, "orch only", item))
            tests = "-"
            if args.tests:
                _, real = orch(repo, args.orch, state, command, dry_run=False)
                execute = real.get("details", {}) if "details" in real else {}
                tests = "green" if real.get("success") else f"FAILED: {real.get('stop_reason')}: {str(real.get('error'))[:120]}"
                if real.get("branch"):
                    sh(["git", "branch", "-D", real["branch"]], cwd=repo, check=False)
            rope_med, orch_med = statistics.median(rope_times), statistics.median(orch_times)
            rows.append((command, len(theirs), len(ours), agree, rope_med, orch_med, tests,
                         data.get("success"), data.get("error")))
        print(f"{'rename':<58} {'rope':>5} {'orch':>5}  same  {'rope s':>7} {'orch s':>7} {'ratio':>6}  tests")
        for command, nr, no, agree, rt, ot, tests, ok, error in rows:
            note = "" if ok else f"  orch: {error}"
            print(f"{command:<58} {nr:>5} {no:>5}  {'yes' if agree else 'NO ':<4}  {rt:>7.2f} {ot:>7.2f} "
                  f"{ot / rt:>6.3f}  {tests}{note}")
        total_rope = sum(r[4] for r in rows)
        total_orch = sum(r[5] for r in rows)
        print(f"total: rope {total_rope:.2f} s, orch {total_orch:.2f} s, orch/rope = {total_orch / total_rope:.3f}; "
              f"{sum(1 for r in rows if r[3])}/{len(rows)} renames change exactly the lines rope changes")
        for command, who, (file, line, old_text, new_text) in mismatches:
            print(f"  {command}: {who}: {file}:{line}: {old_text!r} -> {new_text!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
