#!/usr/bin/env python3
"""rope as an oracle for orch's inline variable, on a real library.

Candidates are found in DIR (click 8.5.1 by default): in every function of
the package, a local assigned once by a plain statement at the top level of
the body and read at least once. For up to --limit of them (deterministic
order), on a clean git checkout:
  1. rope (`rope.refactor.inline.InlineVariable`) inlines it; the resulting
     module's AST is kept and the checkout reset;
  2. `orch run --dry-run "inline variable NAME in [CLASS.]FUNCTION in PATH"`
     produces its diff, applied to get the module's AST;
  3. the two ASTs are compared (`ast.dump`: parentheses and layout do not
     count, meaning does).
Prints, per candidate: agree / differ / orch refused (with its reason) /
rope failed; then the counts. With --tests, each change orch makes is run
for real (`orch run --tests all`): it must commit with the suite green.

    python3 benches/rope_inline.py [--functions] [--limit N] [--tests] [DIR]

With --functions: inline function instead. Candidates are the package's
module-level functions whose body is one `return`; rope
(`create_inline` on the definition: every call, the definition removed)
and `orch run --dry-run "inline function NAME in PATH"` are compared by
the ASTs of every file either changes.

Needs `pip install rope pytest` and a build of orch.
"""

import argparse
import ast
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rope_oracle as oracle  # noqa: E402

PACKAGE = "src/"


def candidates(repo):
    """(path, "Class.function" or "function", local, offset of its
    assignment's name) for every inlinable-looking local."""
    out = []
    files = [f for f in oracle.sh(["git", "ls-files", "*.py"], cwd=repo).stdout.split()
             if f.startswith(PACKAGE) and "/tests/" not in f]
    for path in sorted(files):
        source = open(os.path.join(repo, path), encoding="utf-8").read()
        tree = ast.parse(source)
        lines = source.splitlines(keepends=True)
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line.encode("utf-8")))

        def visit(node, owner):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef):
                    visit(child, child.name)
                elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    consider(child, f"{owner}.{child.name}" if owner else child.name)

        def consider(function, qualname):
            assigned = {}
            for statement in function.body:
                if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                        and isinstance(statement.targets[0], ast.Name)):
                    assigned.setdefault(statement.targets[0].id, []).append(statement)
            stores = {}
            loads = {}
            for node in ast.walk(function):
                if isinstance(node, ast.Name):
                    bucket = loads if isinstance(node.ctx, ast.Load) else stores
                    bucket[node.id] = bucket.get(node.id, 0) + 1
            for name, statements in assigned.items():
                if len(statements) == 1 and stores.get(name) == 1 and loads.get(name, 0) >= 1:
                    target = statements[0].targets[0]
                    offset = starts[target.lineno - 1] + len(
                        lines[target.lineno - 1].encode("utf-8")[: target.col_offset])
                    out.append((path, qualname, name, offset))

        visit(tree, None)
    return out


def function_candidates(repo):
    """(path, name, offset of its name) for every module-level function of
    the package whose body is one `return` (after a docstring)."""
    out = []
    files = [f for f in oracle.sh(["git", "ls-files", "*.py"], cwd=repo).stdout.split()
             if f.startswith(PACKAGE)]
    for path in sorted(files):
        source = open(os.path.join(repo, path), encoding="utf-8").read()
        tree = ast.parse(source)
        lines = source.splitlines(keepends=True)
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line.encode("utf-8")))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.decorator_list:
                continue
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]
            if len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None:
                line = lines[node.lineno - 1]
                column = line.index("def ") + 4
                out.append((path, node.name, starts[node.lineno - 1] + len(line[:column].encode("utf-8"))))
    return out


def changed_asts(repo):
    """{path: ast dump} of every file the working tree changed."""
    changed = oracle.sh(["git", "diff", "--name-only"], cwd=repo).stdout.split()
    return {path: module_ast(repo, path) for path in changed if path.endswith(".py")}


def rope_inline_function(repo, offset, path):
    from rope.base.project import Project
    from rope.refactor.inline import create_inline

    project = Project(repo, ropefolder=None)
    try:
        resource = project.get_resource(path)
        changes = create_inline(project, resource, offset).get_changes(remove=True, only_current=False)
        project.do(changes)
        return changed_asts(repo)
    finally:
        project.close()
        oracle.reset(repo)


def functions_main(args, repo, state):
    counts = {}
    for path, name, offset in function_candidates(repo)[: args.limit]:
        command = f"inline function {name} in {path}"
        try:
            rope_result = rope_inline_function(repo, offset, path)
            rope_error = None
        except Exception as error:
            rope_result = None
            rope_error = (str(error).splitlines() or [type(error).__name__])[0][:60]
        _, data = oracle.orch(repo, args.orch, state, command)
        if not data.get("success"):
            reason = str(data.get("error") or "")
            reason = reason.split(": ", 1)[-1].splitlines()[0][:90]
            verdict = "orch refused" if rope_result is None else "orch refused, rope inlined"
            print(f"{command[:70]:<70} {verdict}: {reason}" + (f" | rope: {rope_error}" if rope_error else ""))
        else:
            oracle.sh(["git", "apply", "-"], cwd=repo, input=data.get("diff", ""))
            ours = changed_asts(repo)
            oracle.reset(repo)
            if rope_result is None:
                verdict = "rope failed, orch inlined"
            else:
                verdict = "agree" if ours == rope_result else "DIFFER"
            tests = ""
            if args.tests:
                _, run = oracle.orch(repo, args.orch, state, command, dry_run=False)
                tests = "; committed, suite green" if run.get("success") else f"; NOT committed: {run.get('stop_reason')}"
                if run.get("branch"):
                    oracle.sh(["git", "branch", "-D", run["branch"]], cwd=repo, check=False)
                oracle.reset(repo)
            detail = f" (rope: {rope_error})" if rope_error else ""
            if verdict == "DIFFER":
                detail = f" (files: orch {sorted(ours)}, rope {sorted(rope_result)})"
            print(f"{command[:70]:<70} {verdict}{detail}{tests}")
        counts[verdict] = counts.get(verdict, 0) + 1
    print(", ".join(f"{v}: {n}" for v, n in sorted(counts.items())))


def module_ast(repo, path):
    return ast.dump(ast.parse(open(os.path.join(repo, path), encoding="utf-8").read()))


def rope_inline(repo, path, offset):
    from rope.base.project import Project
    from rope.refactor.inline import create_inline

    project = Project(repo, ropefolder=None)
    try:
        resource = project.get_resource(path)
        changes = create_inline(project, resource, offset).get_changes()
        project.do(changes)
        return module_ast(repo, path)
    finally:
        project.close()
        oracle.reset(repo)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", nargs="?")
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--tests", action="store_true")
    parser.add_argument("--functions", action="store_true",
                        help="inline functions (every call) instead of variables")
    parser.add_argument("--orch", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/orch-target")), "debug", "orch"))
    parser.add_argument("--package", default="src/",
                        help="the directory of the package's modules (default src/)")
    args = parser.parse_args()
    global PACKAGE
    PACKAGE = args.package
    work = tempfile.mkdtemp(prefix="rope-inline-")
    repo = args.dir or oracle.checkout(work, "click==8.5.1", "click-8.5.1")
    oracle.prepare(repo)
    state = os.path.join(work, "state")
    if args.functions:
        functions_main(args, repo, state)
        return
    counts = {}
    for path, qualname, name, offset in candidates(repo)[: args.limit]:
        command = f"inline variable {name} in {qualname} in {path}"
        try:
            rope_result = rope_inline(repo, path, offset)
        except Exception as error:  # rope refuses some: that is a result too
            rope_result = None
            rope_error = str(error).splitlines()[0][:60]
        _, data = oracle.orch(repo, args.orch, state, command)
        if not data.get("success"):
            reason = str(data.get("error") or "")
            reason = reason.split(": ", 1)[-1].splitlines()[0][:90]
            verdict = "orch refused" if rope_result is None else "orch refused, rope inlined"
            print(f"{command[:78]:<78} {verdict}: {reason}")
        elif rope_result is None:
            verdict = "rope failed, orch inlined"
            print(f"{command[:78]:<78} {verdict} (rope: {rope_error})")
        else:
            oracle.sh(["git", "apply", "-"], cwd=repo, input=data.get("diff", ""))
            verdict = "agree" if module_ast(repo, path) == rope_result else "DIFFER"
            oracle.reset(repo)
            tests = ""
            if args.tests:
                _, run = oracle.orch(repo, args.orch, state, command, dry_run=False)
                tests = "; committed, suite green" if run.get("success") else f"; NOT committed: {run.get('stop_reason')}"
                oracle.reset(repo)
            print(f"{command[:78]:<78} {verdict}{tests}")
        counts[verdict] = counts.get(verdict, 0) + 1
    print(", ".join(f"{v}: {n}" for v, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
