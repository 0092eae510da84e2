#!/usr/bin/env python3
"""rope as an oracle for orch's parameter reordering, on a real library.

For each reorder of the table, on a clean git checkout of click 8.5.1 (or
DIR):
  1. rope (`rope.refactor.change_signature.ChangeSignature` with an
     `ArgumentReorderer`, overrides included) reorders the parameters; its
     diff is kept and the checkout reset;
  2. `orch run --dry-run "move parameter P before|after Q in F"` (or
     `swap ...`) produces its diff;
  3. both are reduced to changed lines and compared (`rope_oracle.py`'s
     reduction; rope rewrites whole signatures and calls, dropping type
     annotations and multi-line layout, so lines differ a lot); and, what
     decides, every call of the function in the project is bound as Python
     binds it (argument expression -> parameter) before and after each
     tool: a correct reorder keeps every binding;
  4. with --tests, `orch run` (not dry) runs the whole suite before and
     after the edit and must commit (REVIEW: tests no worse).

    python3 benches/rope_reorder.py [--tests] [DIR]

Needs `pip install rope pytest` and a build of orch.
"""

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rope_oracle as oracle  # noqa: E402

# (orch command, defining file, function ("Class.method" for a method),
#  parameter names in their old order, the same in their new order)
CLICK = [
    (
        "swap parameters subsequent_indent and initial_indent of wrap_text",
        "src/click/formatting.py", "wrap_text",
        ["text", "width", "initial_indent", "subsequent_indent", "preserve_paragraphs"],
        ["text", "width", "subsequent_indent", "initial_indent", "preserve_paragraphs"],
    ),
    (
        "move parameter col_count before rows in iter_rows",
        "src/click/formatting.py", "iter_rows",
        ["rows", "col_count"],
        ["col_count", "rows"],
    ),
    (
        "swap parameters text and suffix of _build_prompt",
        "src/click/termui.py", "_build_prompt",
        ["text", "suffix", "show_default", "default", "show_choices", "type"],
        ["suffix", "text", "show_default", "default", "show_choices", "type"],
    ),
    (
        "move parameter default after show_choices in _build_prompt",
        "src/click/termui.py", "_build_prompt",
        ["text", "suffix", "show_default", "default", "show_choices", "type"],
        ["text", "suffix", "show_default", "show_choices", "default", "type"],
    ),
]


def rope_reorder(repo, path, function, old, new):
    import re
    import time

    from rope.base.project import Project
    from rope.refactor.change_signature import ArgumentReorderer, ChangeSignature

    started = time.monotonic()
    project = Project(repo, ropefolder=None)
    try:
        resource = project.get_resource(path)
        source = resource.read()
        match = re.search(rf"^(\s*)def\s+({re.escape(function)})\b", source, re.M)
        signature = ChangeSignature(project, resource, match.start(2))
        # rope wants, for each new position, the old index.
        order = [old.index(name) for name in new]
        changes = signature.get_changes([ArgumentReorderer(order)], in_hierarchy=True)
        project.do(changes)
    finally:
        project.close()
    elapsed = time.monotonic() - started
    diff = oracle.sh(["git", "diff", "-U0"], cwd=repo).stdout
    oracle.reset(repo)
    return elapsed, diff


def bindings(repo, function, files):
    """[(file, [(parameter, argument source)])] for each call of `function`
    (by name or as an attribute) in `files`, in source order, bound to the
    parameters of its definition as Python binds them."""
    import ast

    name = function.split(".")[-1]
    params = None
    calls = []
    for path in files:
        try:
            source = open(os.path.join(repo, path), encoding="utf-8").read()
            tree = ast.parse(source)
        except (OSError, SyntaxError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name == name and params is None:
                params = [a.arg for a in node.args.posonlyargs + node.args.args]
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                callee = node.func
                called = callee.id if isinstance(callee, ast.Name) else (
                    callee.attr if isinstance(callee, ast.Attribute) else None)
                if called == name:
                    calls.append((path, node.lineno, node.col_offset, node, source))
    out = []
    for path, line, col, node, source in sorted(calls, key=lambda c: (c[0], c[1], c[2])):
        bound = []
        for i, arg in enumerate(node.args):
            key = params[i] if params and i < len(params) else f"#{i}"
            bound.append((key, ast.get_source_segment(source, arg)))
        for kw in node.keywords:
            bound.append((kw.arg, ast.get_source_segment(source, kw.value)))
        out.append((path, sorted(bound, key=lambda b: str(b[0]))))
    return out


def python_files(repo):
    return [f for f in oracle.sh(["git", "ls-files", "*.py"], cwd=repo).stdout.split() if f]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", nargs="?")
    parser.add_argument("--tests", action="store_true")
    parser.add_argument("--orch", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/orch-target")), "debug", "orch"))
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="rope-reorder-")
    repo = args.dir or oracle.checkout(work, "click==8.5.1", "click-8.5.1")
    oracle.prepare(repo)
    state = os.path.join(work, "state")
    print(f"{'command':<66} {'lines: rope':>11} {'orch':>5} {'only rope':>9} {'only orch':>9}  calls  bindings kept: rope  orch  tests")
    details = []
    files = python_files(repo)
    for command, path, function, old, new in CLICK:
        before = bindings(repo, function, files)
        rope_time, rope_diff = rope_reorder(repo, path, function, old, new)
        oracle.sh(["git", "apply", "--unidiff-zero", "-"], cwd=repo, input=rope_diff)
        rope_kept = sum(1 for a, b in zip(before, bindings(repo, function, files)) if a == b)
        oracle.reset(repo)
        rope_lines = oracle.changed_lines(rope_diff)
        orch_time, data = oracle.orch(repo, args.orch, state, command)
        if not data.get("success"):
            print(f"{command:<66} {len(rope_lines):>5} {'-':>5}  orch refused: {str(data.get('error'))[:80]}")
            continue
        orch_lines = oracle.changed_lines(data.get("diff", ""))
        oracle.sh(["git", "apply", "-"], cwd=repo, input=data.get("diff", ""))
        orch_kept = sum(1 for a, b in zip(before, bindings(repo, function, files)) if a == b)
        oracle.reset(repo)
        only_rope = rope_lines - orch_lines
        only_orch = orch_lines - rope_lines
        tests = ""
        if args.tests:
            _, run = oracle.orch(repo, args.orch, state, command, dry_run=False)
            tests = "committed, suite green" if run.get("success") else f"NOT committed: {run.get('stop_reason')}"
            oracle.reset(repo)
        print(f"{command:<66} {len(rope_lines):>11} {len(orch_lines):>5} {len(only_rope):>9} {len(only_orch):>9}  "
              f"{len(before):>5}  {rope_kept:>19}  {orch_kept:>4}  {tests}")
        for tool, lines in (("rope", only_rope), ("orch", only_orch)):
            for file, line, old_text, new_text in sorted(lines, key=lambda x: (x[0], x[1] or 0)):
                details.append(f"  only {tool}: {file}:{line}: {(old_text or '').strip()!r} -> {(new_text or '').strip()!r}")
    if details:
        print("\nLines only one tool changes:")
        print("\n".join(details))


if __name__ == "__main__":
    main()
