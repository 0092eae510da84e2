#!/usr/bin/env python3
"""rope as an oracle for orch's extract function / extract method, on a real
library.

Candidates are found in DIR (click 8.5.1 by default): in every function of
the package (not nested) whose body has at least five statements, the
second and third statements (whole lines). A function of a class is
extracted as a method, a module-level function as a function. For up to
--limit of them (deterministic order, one per function), on a clean git
checkout:
  1. rope (`rope.refactor.extract.ExtractMethod`, `global_=True` for a
     function) extracts the lines; the signature it wrote (`def NAME(...)`)
     and the call are kept, and with --tests the suite is run on its change;
     the checkout is reset;
  2. `orch run --dry-run "extract lines A-B of PATH into function|method
     NAME"` produces its diff; the signature and call are read the same way;
  3. the parameter lists (as sets: the order may differ) and the assigned
     results are compared;
  4. with --tests, `orch run --tests all` must commit with the suite green.
Prints, per candidate: agree / differ (both signatures) / orch refused (its
reason) / rope failed; the counts; with --tests whether each tool's change
kept the suite green.

    python3 benches/rope_extract.py [--limit N] [--tests] [DIR]

Needs `pip install rope pytest` and a build of orch.
"""

import argparse
import ast
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rope_oracle as oracle  # noqa: E402

PACKAGE = "src/"

NAME = "extracted_part"


def candidates(repo):
    """(path, first line, last line, method?, "Class.function")."""
    out = []
    files = [f for f in oracle.sh(["git", "ls-files", "*.py"], cwd=repo).stdout.split()
             if f.startswith(PACKAGE)]
    for path in sorted(files):
        source = open(os.path.join(repo, path), encoding="utf-8").read()
        tree = ast.parse(source)
        for node in tree.body:
            owners = [(None, node)]
            if isinstance(node, ast.ClassDef):
                owners = [(node.name, child) for child in node.body]
            for owner, function in owners:
                if not isinstance(function, ast.FunctionDef) or len(function.body) < 5:
                    continue
                decorators = {getattr(d, "id", getattr(d, "attr", "")) for d in function.decorator_list}
                if "staticmethod" in decorators or "overload" in decorators:
                    continue
                body = function.body
                # Not a docstring.
                start = 1 if isinstance(body[0], ast.Expr) and isinstance(
                    getattr(body[0], "value", None), ast.Constant) else 0
                chosen = body[start + 1:start + 3]
                if len(chosen) < 2:
                    continue
                qualname = f"{owner}.{function.name}" if owner else function.name
                out.append((path, chosen[0].lineno, chosen[-1].end_lineno, owner is not None, qualname))
    return out


def signature(diff, name):
    """(parameters as a sorted tuple, what the call assigns) from a diff."""
    params = None
    assigned = None
    for line in diff.splitlines():
        if not line.startswith("+"):
            continue
        found = re.search(rf"def {name}\((.*)\):", line)
        if found:
            params = tuple(sorted(p.strip().split("=")[0].split(":")[0]
                                  for p in found.group(1).split(",")
                                  if p.strip() and p.strip() not in ("self", "cls")))
        found = re.search(rf"^\+\s*(.*?)\s*=\s*(await\s+)?(self\.)?{name}\(", line)
        if found:
            assigned = tuple(sorted(a.strip() for a in found.group(1).split(",")))
        elif re.search(rf"^\+\s*(return\s+)?(await\s+)?(self\.)?{name}\(", line):
            assigned = ()
    return params, assigned


def rope_extract(repo, path, first, last, method, tests):
    from rope.base.project import Project
    from rope.refactor.extract import ExtractMethod

    project = Project(repo, ropefolder=None)
    try:
        resource = project.get_resource(path)
        source = resource.read()
        lines = source.splitlines(keepends=True)
        start = sum(len(line) for line in lines[: first - 1])
        start += len(lines[first - 1]) - len(lines[first - 1].lstrip())
        end = sum(len(line) for line in lines[:last]) - 1
        changes = ExtractMethod(project, resource, start, end).get_changes(NAME, global_=not method)
        project.do(changes)
        diff = oracle.sh(["git", "diff", "-U0"], cwd=repo).stdout
        green = None
        if tests:
            # A `src/` layout is tested from the checkout, not an installed copy.
            env = dict(os.environ)
            if os.path.isdir(os.path.join(repo, "src")):
                env["PYTHONPATH"] = os.path.join(repo, "src")
            run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"],
                                 cwd=repo, capture_output=True, text=True, env=env)
            green = run.returncode == 0
        return diff, green
    finally:
        project.close()
        oracle.reset(repo)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", nargs="?")
    parser.add_argument("--limit", type=int, default=25)
    parser.add_argument("--tests", action="store_true")
    parser.add_argument("--orch", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/orch-target")), "debug", "orch"))
    parser.add_argument("--package", default="src/",
                        help="the directory of the package's modules (default src/)")
    args = parser.parse_args()
    global PACKAGE
    PACKAGE = args.package
    work = tempfile.mkdtemp(prefix="rope-extract-")
    repo = args.dir or oracle.checkout(work, "click==8.5.1", "click-8.5.1")
    oracle.prepare(repo)
    state = os.path.join(work, "state")
    counts = {}
    everything = candidates(repo)
    # Spread over the package: every k-th candidate.
    step = max(1, len(everything) // args.limit)
    for path, first, last, method, qualname in everything[::step][: args.limit]:
        kind = "method" if method else "function"
        command = f"extract lines {first}-{last} of {path} into {kind} {NAME}"
        shown = f"{qualname} {first}-{last} ({kind})"
        try:
            rope_diff, rope_green = rope_extract(repo, path, first, last, method, args.tests)
            rope_error = None
        except Exception as error:  # rope refuses some: that is a result too
            rope_diff, rope_green = None, None
            rope_error = str(error).splitlines()[0][:70] if str(error) else type(error).__name__
        _, data = oracle.orch(repo, args.orch, state, command)
        tests = ""
        if not data.get("success"):
            reason = str(data.get("error") or "")
            reason = reason.split(": ", 1)[-1].splitlines()[0][:100]
            verdict = "both refused" if rope_diff is None else "orch refused, rope extracted"
            detail = f": {reason}" + (f" | rope: {rope_error}" if rope_error else "")
        elif rope_diff is None:
            verdict = "rope failed, orch extracted"
            detail = f" (rope: {rope_error})"
        else:
            ours = signature(data.get("diff", ""), NAME)
            theirs = signature(rope_diff, NAME)
            verdict = "agree" if ours == theirs else "DIFFER"
            detail = "" if ours == theirs else f": orch {ours} rope {theirs}"
        if args.tests and data.get("success"):
            _, run = oracle.orch(repo, args.orch, state, command, dry_run=False)
            tests = "; orch: committed, suite green" if run.get("success") else f"; orch NOT committed: {run.get('stop_reason')}: {str(run.get('error'))[:80]}"
            if run.get("branch"):
                oracle.sh(["git", "branch", "-D", run["branch"]], cwd=repo, check=False)
            oracle.reset(repo)
        if args.tests and rope_green is not None:
            tests += "; rope: suite green" if rope_green else "; rope: SUITE FAILS"
        print(f"{shown[:60]:<60} {verdict}{detail}{tests}", flush=True)
        counts[verdict] = counts.get(verdict, 0) + 1
    print(", ".join(f"{v}: {n}" for v, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
