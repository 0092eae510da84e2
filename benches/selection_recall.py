#!/usr/bin/env python3
"""Selection recall: does orch's test selection catch the edits that break
tests, and at what share of the suite's test time?

For a real project (a git checkout with its tests passing), each edit in a
corpus is applied to a scratch copy:

- mutations: in a top-level function or a method of a non-test module, the first
  `return EXPR` becomes `return None`, or the first `==`/`<`/`+`/`and`
  flips (`!=`/`>=`/`-`/`or`); deterministic from --seed;
- renames that miss string references: `orch run --dry-run` renames a
  function (strings left alone) and its diff is applied; the old name is
  passed to the selection as a removed name.

Then the whole suite runs once (pytest with a JUnit report). An edit that
fails no test is a surviving mutant and is not counted. For one that does,
orch's `test_impact` (through `orch servers call`) gives tiers a, b and c;
a prefix of tiers catches the edit when a failing test is in its
selection (its files, and the single tests it lists), and costs the test
time of what it selects (both read from the whole run's report, per test,
so no run is repeated). Printed per project: edits, edits
that broke tests, recall and share of test-seconds for tiers a-c, a-b, a;
then the same with a call map ("+calls"): the suite is run once more with
orch's pytest plugin tracing which functions each test runs (what a
traced baseline of orch's records), and the selection is given that
evidence as OPTIMIZE gives it (the tests that ran a changed function, or
name an old name, are in tier a, as node ids; the rest of their file, and
files that ran none, drop to tier c).

    benches/selection_recall.py --project DIR [--mutations N] [--renames NAME,...] [--seed S]

needs a debug or release build of orch (`cargo build`), pytest, and the
project's test dependencies installed.
"""
import argparse, ast, difflib, json, os, random, re, shutil, subprocess, sys, tempfile, time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def orch_binary():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/orch-target"))
    for profile in ("release", "debug"):
        path = os.path.join(target, profile, "orch")
        if os.path.exists(path):
            return path
    sys.exit("build orch first (cargo build)")


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def python_files(repo):
    out = []
    for path in git(repo, "ls-files", "*.py").split("\n"):
        base = os.path.basename(path)
        if not path or base.startswith("test_") or base.endswith("_test.py") or base == "conftest.py":
            continue
        if "/tests/" in "/" + path or path.startswith(("doc", "docs", "bench", "examples")):
            continue
        out.append(path)
    return out


FLIPS = [(" == ", " != "), (" < ", " >= "), (" + ", " - "), (" and ", " or ")]


def mutations(repo, count, rng):
    """(file, description, new text) for up to `count` mutants."""
    candidates = []
    for path in python_files(repo):
        text = open(os.path.join(repo, path), encoding="utf-8").read()
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        lines = text.split("\n")
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.end_lineno:
                candidates.append((path, node.name, node.lineno, node.end_lineno, lines))
            elif isinstance(node, ast.ClassDef):
                for member in node.body:
                    if isinstance(member, ast.FunctionDef) and member.end_lineno:
                        candidates.append((path, f"{node.name}.{member.name}", member.lineno,
                                           member.end_lineno, lines))
    rng.shuffle(candidates)
    out = []
    for path, name, start, end, lines in candidates:
        if len(out) >= count:
            break
        body = lines[start:end]
        mutated = None
        for i, line in enumerate(body):
            m = re.match(r"^(\s*)return (.+)$", line)
            if m and m.group(2).strip() not in ("None", "") and not line.rstrip().endswith(("(", "[", "{", "\\", ",")):
                mutated = (i, f"{m.group(1)}return None", "return None")
                break
        if mutated is None:
            for i, line in enumerate(body):
                code = line.split("#")[0]
                if '"' in code or "'" in code:
                    continue
                for old, new in FLIPS:
                    if old in code:
                        mutated = (i, line.replace(old, new, 1), f"{old.strip()} -> {new.strip()}")
                        break
                if mutated:
                    break
        if mutated is None:
            continue
        i, new_line, what = mutated
        new_lines = list(lines)
        new_lines[start + i] = new_line
        new_text = "\n".join(new_lines)
        try:
            ast.parse(new_text)
        except SyntaxError:
            continue
        out.append((path, f"{path}:{start + i + 1} {name}: {what}", new_text))
    return out


def run_suite(repo, python, timeout=3600, calls=None):
    """Whole suite: {test id: seconds}, set of failing test ids, wall
    seconds; None when it did not finish in `timeout` (a mutant that loops).
    Test ids are pytest's node ids (`tests/test_a.py::TestK::test_x[1]`).
    With `calls` (a path), orch's pytest plugin records which functions
    each test (and each test file) runs there, as a traced baseline of
    orch's does."""
    report = os.path.join(tempfile.mkdtemp(), "junit.xml")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    paths = [repo] + ([os.path.join(repo, "src")] if os.path.isdir(os.path.join(repo, "src")) else [])
    plugin = []
    if calls:
        paths.append(os.path.join(ROOT, "src", "servers", "python"))
        env.update(ORCH_CALLS_OUT=calls, ORCH_CALLS_ROOT=repo)
        plugin = ["-p", "orch_calls"]
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")])
    started = time.time()
    try:
        subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin,
                        f"--junitxml={report}"], cwd=repo, env=env, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        subprocess.run(["pkill", "-f", report])
        return None
    wall = time.time() - started
    seconds, failing = {}, set()
    if not os.path.exists(report):
        return seconds, failing, wall
    for case in ET.parse(report).iter("testcase"):
        test = node_id(repo, case.get("classname", ""), case.get("name", ""))
        if test is None:
            continue
        seconds[test] = seconds.get(test, 0.0) + float(case.get("time") or 0)
        if case.find("failure") is not None or case.find("error") is not None:
            failing.add(test)
    return seconds, failing, wall


def node_id(repo, classname, name):
    """pytest's node id of a JUnit test case: the longest prefix of the
    dotted class name that is a file, then the classes, then the name."""
    parts = classname.split(".")
    for n in range(len(parts), 0, -1):
        file = "/".join(parts[:n]) + ".py"
        if os.path.isfile(os.path.join(repo, file)):
            return "::".join([file] + parts[n:] + [name])
    return None


def test_in(test, unit):
    """Whether test id `test` is `unit` (a file, a class, a test) or in it."""
    if not test.startswith(unit):
        return False
    rest = test[len(unit):]
    return rest == "" or rest.startswith("::") or rest.startswith("[")


def file_of(test):
    return test.split("::", 1)[0]


def edited_ranges(before, after):
    """The byte ranges of `before` (text) whose lines `after` changes, as
    orch's plan edits would give them."""
    a, b = before.split("\n"), after.split("\n")
    starts, at = [], 0
    for line in a:
        starts.append(at)
        at += len(line.encode("utf-8")) + 1
    starts.append(at)
    out = []
    for op, i1, i2, _, _ in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal":
            out.append([starts[i1], max(starts[i2] - 1, starts[i1] + 1)])
    return out


def evidence(call_map, edited):
    """What orch's OPTIMIZE sends from its call map for `edited` files (the
    map was recorded on this very tree, so every entry is current): the test
    files that ran each function, the tests that did (or the file, when what
    its tests share did), and each file's tests."""
    if call_map is None:
        return None
    files = sorted({file_of(key) for key in call_map})
    ran, traced, items, tests = {}, {}, {}, {}
    for key in call_map:
        if "::" in key:
            tests.setdefault(file_of(key), []).append(key.split("::", 1)[1])
    for path in edited:
        traced[path] = files
        for key, functions in call_map.items():
            for function in functions:
                if function.startswith(path + "::"):
                    ran.setdefault(function, [])
                    if file_of(key) not in ran[function]:
                        ran[function].append(file_of(key))
                    items.setdefault(function, []).append(key)
    return {"ran": ran, "traced": traced, "items": items,
            "tests": {f: sorted(t) for f, t in tests.items()}}


def collapse(units):
    """Tests of files that are selected whole are the file's."""
    whole = {u for u in units if "::" not in u}
    return {u for u in units if "::" not in u or file_of(u) not in whole}


def tiers(orch, repo, changed, old_names, edited, calls=None):
    args = {"changed": changed, "old_names": old_names, "edited": edited}
    if calls is not None:
        args["calls"] = calls
    out = subprocess.run([orch, "servers", "call", "--yes", "--repo", repo, "orch", "test_impact", "-"],
                         input=json.dumps(args),
                         capture_output=True, text=True, timeout=600)
    data = json.loads(out.stdout)
    expanded = []
    for key in ("tier_a", "tier_b", "tier_c"):
        files = []
        for path in data.get(key, []):
            if path.endswith("/"):
                for dp, _, fs in os.walk(os.path.join(repo, path)):
                    for f in fs:
                        if f.endswith(".py") and (f.startswith("test_") or f.endswith("_test.py")):
                            files.append(os.path.relpath(os.path.join(dp, f), repo))
            else:
                files.append(path)
        expanded.append(set(files))
    a, b, c = expanded
    return {"a-c": collapse(a | b | c), "a-b": collapse(a | b), "a": a}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", required=True)
    parser.add_argument("--mutations", type=int, default=20)
    parser.add_argument("--renames", default="", help="functions to rename without their strings")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--python", default="python3")
    args = parser.parse_args()
    orch = orch_binary()
    rng = random.Random(args.seed)
    work = tempfile.mkdtemp(prefix="recall-")
    repo = os.path.join(work, "repo")
    shutil.copytree(args.project, repo, symlinks=True)
    state = os.path.join(work, "state")
    os.environ["XDG_STATE_HOME"] = state
    base_seconds, base_failing, base_wall = run_suite(repo, args.python)
    print(f"{os.path.basename(os.path.abspath(args.project))}: whole suite {base_wall:.1f} s, "
          f"{len(base_seconds)} tests in {len({file_of(t) for t in base_seconds})} files, "
          f"{len(base_failing)} failing before any edit")
    # The call map a traced run of the whole suite records (the history a
    # project has after orch has run its tests once).
    calls_file = os.path.join(work, "run.calls.json")
    _, _, traced_wall = run_suite(repo, args.python, calls=calls_file)
    call_map = {}
    for part in os.listdir(work):
        if part.startswith("run.calls.json."):
            for test, functions in json.load(open(os.path.join(work, part))).items():
                call_map.setdefault(test, set()).update(functions)
    print(f"  traced run (call map of {len({file_of(k) for k in call_map})} test files, "
          f"{sum(1 for k in call_map if '::' in k)} tests): {traced_wall:.1f} s, "
          f"{traced_wall / max(base_wall, 0.001):.1f}x the untraced suite")
    edits = [("mutation", path, what, text, []) for path, what, text in mutations(repo, args.mutations, rng)]
    for name in filter(None, args.renames.split(",")):
        out = subprocess.run([orch, "run", "--dry-run", "--json", "--yes", "--repo", repo,
                              f"rename function {name} to {name}_renamed"], capture_output=True, text=True)
        try:
            diff = json.loads(out.stdout)["diff"]
        except (ValueError, KeyError):
            print(f"  rename {name}: orch made no plan ({out.stderr.strip()[-200:]})")
            continue
        edits.append(("rename", None, f"rename {name} (strings left)", diff, [name]))
    rows = []
    for kind, path, what, payload, old_names in edits:
        # The selection is made on the tree before the edit, as OPTIMIZE
        # makes it from the plan: the changed files and the byte ranges
        # each edit replaces.
        if kind == "mutation":
            original = open(os.path.join(repo, path), encoding="utf-8").read()
            changed = [path]
            after = {path: payload}
        else:
            changed = [l[6:] for l in payload.split("\n") if l.startswith("+++ b/")]
            subprocess.run(["git", "-C", repo, "apply", "-"], input=payload, text=True, check=True)
            after = {f: open(os.path.join(repo, f), encoding="utf-8").read() for f in changed}
            git(repo, "checkout", "--", ".")
        edited = {f: edited_ranges(open(os.path.join(repo, f), encoding="utf-8").read(), text)
                  for f, text in after.items() if f.endswith(".py")}
        selected = tiers(orch, repo, changed, old_names, edited)
        with_calls = tiers(orch, repo, changed, old_names, edited, evidence(call_map, edited))
        selected.update({f"{k}+calls": v for k, v in with_calls.items()})
        if kind == "mutation":
            open(os.path.join(repo, path), "w", encoding="utf-8").write(payload)
        else:
            subprocess.run(["git", "-C", repo, "apply", "-"], input=payload, text=True, check=True)
        try:
            finished = run_suite(repo, args.python, timeout=5 * base_wall + 30)
            if finished is None:
                print(f"  {what[:70]:<70} hung (the suite did not finish; not counted)", flush=True)
                continue
            seconds, failing, wall = finished
            new_failing = failing - base_failing
            if not new_failing:
                selected = {}
        finally:
            if kind == "mutation":
                open(os.path.join(repo, path), "w", encoding="utf-8").write(original)
            else:
                git(repo, "checkout", "--", ".")
        total = sum(seconds.values()) or 1.0
        row = {"edit": what, "kind": kind, "broke": bool(new_failing), "wall": wall}
        for prefix, units in selected.items():
            chosen = [t for t in seconds if any(test_in(t, u) for u in units)]
            row[prefix] = (bool(new_failing & set(chosen)), sum(seconds[t] for t in chosen) / total)
        rows.append(row)
        status = "survived" if not new_failing else "  ".join(
            f"{p}: {'caught' if row[p][0] else 'MISSED'} {100 * row[p][1]:.0f}%"
            for p in ("a-c", "a-b", "a", "a-b+calls", "a+calls"))
        print(f"  {what[:70]:<70} {status}", flush=True)
    broke = [r for r in rows if r["broke"]]
    print(f"{len(rows)} edits, {len(broke)} broke tests")
    for prefix in ("a-c", "a-b", "a", "a-c+calls", "a-b+calls", "a+calls"):
        if not broke:
            break
        caught = sum(1 for r in broke if r[prefix][0])
        share = sum(r[prefix][1] for r in broke) / len(broke)
        print(f"  tiers {prefix:<10} recall {caught}/{len(broke)} = {100 * caught / len(broke):.1f}%, "
              f"mean share of test-seconds {100 * share:.1f}%")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
