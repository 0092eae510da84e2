#!/usr/bin/env python3
"""rope as an oracle (and a stopwatch) for orch's renames, on real libraries.

Projects (PyPI source archives, pinned): click 8.5.1 (the default), and two
libraries whose packages re-export with `from .sub import *` and whose tests
write `import pkg as alias; alias.NAME(...)`: more-itertools 11.2.1 and
pyparsing 3.3.3.

For each rename of the project's table, on a clean git checkout:
  1. rope (`rope.refactor.rename.Rename`, strings and comments left alone,
     unsure occurrences not renamed) renames the definition; its diff is
     kept and the checkout reset;
  2. `orch run --dry-run` produces its diff (plan + dry run, no tests);
  3. both diffs are reduced to the set of changed lines (file, line, old
     text, new text) and compared; each line only one tool changes is
     labelled with what it is (a doctest line, an `__all__` entry, ...);
  4. with --tests, `orch run` (not dry) runs the project's whole test suite
     before and after the edit and must commit (REVIEW: tests no worse).
Prints one row per rename (lines each tool changes, lines only one changes,
times, ratio, tests), orch's accounting of the old name's occurrences, and
every line only one tool changes.

  python3 benches/rope_oracle.py [--project click|more-itertools|pyparsing]
                                 [--tests] [--runs N] [--only a,b] [DIR]

Needs `pip install rope pytest` and a release build of orch. Without DIR,
downloads the project from PyPI into a temp dir.
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

CLICK = [
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
    # Attributes: rope renames from the first assignment (`self.x = ...`
    # or the class body's `x = ...`).
    ("attribute", "HelpFormatter.current_indent", "indent_level", "src/click/formatting.py"),
    ("attribute", "Context.max_content_width", "content_width_limit", "src/click/core.py"),
    ("attribute", "Context.terminal_width", "term_width", "src/click/core.py"),
    ("attribute", "Context._depth", "_nesting", "src/click/core.py"),
    ("attribute", "Context.resilient_parsing", "lenient_parsing", "src/click/core.py"),
    ("attribute", "Context.token_normalize_func", "normalize_token", "src/click/core.py"),
    ("attribute", "Choice.case_sensitive", "match_case", "src/click/types.py"),
    ("attribute", "ParamType.envvar_list_splitter", "envvar_separator", "src/click/types.py"),
    ("attribute", "ProgressBar.width", "bar_width", "src/click/_termui_impl.py"),
    ("attribute", "Command.context_settings", "ctx_settings", "src/click/core.py"),
    # Parameters (`function.parameter`): the def, its body, keyword arguments.
    ("parameter", "wrap_text.preserve_paragraphs", "keep_paragraphs", "src/click/formatting.py"),
    ("parameter", "get_app_dir.force_posix", "posix", "src/click/utils.py"),
]

# `more_itertools/__init__.py` is `from .more import *` and
# `from .recipes import *`; each module has an `__all__`; the tests say
# `import more_itertools as mi` and `mi.NAME(...)`; docstrings are doctests.
MORE_ITERTOOLS = [
    ("function", "chunked", "chunk_list", "more_itertools/more.py"),
    ("function", "first", "first_item", "more_itertools/more.py"),
    ("function", "spy", "peek_ahead", "more_itertools/more.py"),
    ("function", "collapse", "flatten_deep", "more_itertools/more.py"),
    ("function", "windowed", "windows_of", "more_itertools/more.py"),
    ("function", "split_at", "split_at_pred", "more_itertools/more.py"),
    ("function", "always_iterable", "as_iterable", "more_itertools/more.py"),
    ("function", "ilen", "count_items", "more_itertools/more.py"),
    ("class", "peekable", "Peekable", "more_itertools/more.py"),
    ("function", "take", "take_first", "more_itertools/recipes.py"),
    ("function", "consume", "exhaust", "more_itertools/recipes.py"),
    ("function", "grouper", "group_fixed", "more_itertools/recipes.py"),
]

# `pyparsing/__init__.py` star-imports eight modules and lists `__all__`;
# the tests and examples say `import pyparsing as pp` and `pp.NAME`. The
# first five keep pre-PEP 8 synonyms whose deprecation tests assert the
# names in message strings (and `tests/test_pep8_converter.py` maps the old
# names by rule), and a test builds `pp.Suppress` in a string: the suite
# cannot stay green for them (with or without --include-strings).
PYPARSING = [
    ("function", "one_of", "one_of_words", "pyparsing/helpers.py"),
    ("function", "nested_expr", "nested_expression", "pyparsing/helpers.py"),
    ("function", "counted_array", "counted_list", "pyparsing/helpers.py"),
    ("function", "original_text_for", "source_text_for", "pyparsing/helpers.py"),
    ("function", "infix_notation", "operator_grammar", "pyparsing/helpers.py"),
    ("function", "srange", "char_range", "pyparsing/core.py"),
    ("function", "lineno", "line_number", "pyparsing/util.py"),
    ("class", "Suppress", "Suppressed", "pyparsing/core.py"),
    ("class", "Combine", "Combined", "pyparsing/core.py"),
    ("class", "ParseFatalException", "ParseFatalError", "pyparsing/exceptions.py"),
    ("class", "OpAssoc", "Associativity", "pyparsing/helpers.py"),
    ("class", "QuotedString", "Quoted", "pyparsing/core.py"),
    ("function", "make_compressed_re", "compressed_regex", "pyparsing/util.py"),
    ("class", "PrecededBy", "Preceded", "pyparsing/core.py"),
    ("class", "ParseBaseException", "ParseErrorBase", "pyparsing/exceptions.py"),
    ("class", "ParseSyntaxException", "ParseSyntaxError", "pyparsing/exceptions.py"),
    # Attributes of the base class of every parser element (its subclasses
    # assign and read them through `self`), and of the results class.
    ("attribute", "ParserElement.callPreparse", "call_preparse", "pyparsing/core.py"),
    ("attribute", "ParserElement.keepTabs", "keep_tabs", "pyparsing/core.py"),
    ("attribute", "ParserElement.mayIndexError", "may_index_error", "pyparsing/core.py"),
    ("attribute", "ParserElement.streamlined", "is_streamlined", "pyparsing/core.py"),
    ("attribute", "ParserElement.customName", "custom_name", "pyparsing/core.py"),
    ("attribute", "ParseResults._toklist", "_tokens", "pyparsing/results.py"),
]

PROJECTS = {
    # name: (pip requirement, unpacked directory, renames)
    "click": ("click==8.5.1", "click-8.5.1", CLICK),
    "more-itertools": ("more_itertools==11.2.1", "more_itertools-11.2.1", MORE_ITERTOOLS),
    "pyparsing": ("pyparsing==3.3.3", "pyparsing-3.3.3", PYPARSING),
}

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(args, cwd, check=True, **kw):
    return subprocess.run(args, cwd=cwd, check=check, text=True, capture_output=True, **kw)


def checkout(work, requirement, directory):
    dl = os.path.join(work, "dl")
    sh([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
        requirement, "-d", dl], cwd=work)
    archive = os.path.join(dl, directory + ".tar.gz")
    sh(["tar", "--no-same-owner", "-xzf", archive, "-C", work], cwd=work)
    return os.path.join(work, directory)


def why(file, old_text, new_text):
    """What a changed line is, for lines only one tool changes."""
    text = (old_text or "") + (new_text or "")
    if file.endswith(".pyi"):
        return "type stub"
    if re.match(r"\s*(>>>|\.\.\.)( |$)", text):
        return "doctest"
    if re.match(r"\s*['\"]\w+['\"],?\s*$", old_text or "") or "__all__" in text:
        return "__all__ entry"
    if re.search(r":\w+:`", text) or "``" in text:
        return "docs role/literal"
    return "code"


def prepare(repo):
    if not os.path.isdir(os.path.join(repo, ".git")):
        sh(["git", "init", "-q", "-b", "main"], cwd=repo)
        sh(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "add", "-A"], cwd=repo)
        sh(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m",
            "import"], cwd=repo)
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


def rope_rename(repo, path, kind, old, new, soa=True):
    from rope.base.project import Project
    from rope.refactor.rename import Rename

    started = time.monotonic()
    # `automatic_soa=False` only after rope crashed in its own analysis of
    # the files it just wrote (it does on pyparsing).
    project = Project(repo, ropefolder=None, automatic_soa=soa)
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
        elif kind == "attribute":
            class_name, attribute = old.split(".")
            cls = re.search(rf"^class\s+{re.escape(class_name)}\b", source, re.M)
            # `self.NAME = ...` (or `self.NAME: T = ...`) in the class, else
            # `NAME = ...` / `NAME: T` in its body (not a parameter line).
            match = re.compile(
                rf"^(\s+self\.)({re.escape(attribute)})\b\s*(:[^=\n]*)?=(?!=)", re.M
            ).search(source, cls.end())
            body = re.compile(
                rf"^(    )({re.escape(attribute)})\b\s*[:=]", re.M
            ).search(source, cls.end())
            if body and (not match or body.start() < match.start()):
                match = body
        else:
            keyword = {"function": r"def\s+", "class": r"class\s+", "variable": ""}[kind]
            match = re.search(rf"^(\s*){keyword}({re.escape(old)})\b", source, re.M)
        offset = match.start(2)
        changes = Rename(project, resource, offset).get_changes(
            new, docs=False, unsure=lambda _: False, in_hierarchy=(kind in ("method", "attribute")))
        project.do(changes)
    finally:
        project.close()
    elapsed = time.monotonic() - started
    diff = sh(["git", "diff", "-U0"], cwd=repo).stdout
    reset(repo)
    return elapsed, diff


def orch(repo, binary, state, command, dry_run=True, extra=()):
    args = [binary, "run", "--yes", "--json", "--phase-tokens", "100000", "--total-tokens", "400000",
            "--deadline", "10m", *extra, "--repo", repo, command]
    if dry_run:
        args.insert(2, "--dry-run")
    else:
        # The whole suite, before and after: the oracle's evidence.
        args[2:2] = ["--tests", "all"]
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
    parser.add_argument("dir", nargs="?", help="an unpacked checkout of the project")
    parser.add_argument("--project", default="click", choices=sorted(PROJECTS))
    parser.add_argument("--tests", action="store_true", help="also run orch for real: full test suite")
    parser.add_argument("--runs", type=int, default=1, help="timed runs of each tool per rename")
    parser.add_argument("--only", help="comma-separated old names to run")
    parser.add_argument("--kind", help="only the renames of this kind (function, class, method, attribute, ...)")
    parser.add_argument("--orch-args", default="", help="extra flags for orch (e.g. --include-strings)")
    parser.add_argument("--orch", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/orch-target")), "release", "orch"))
    args = parser.parse_args()
    requirement, directory, renames = PROJECTS[args.project]
    work = tempfile.mkdtemp()
    try:
        repo = os.path.abspath(args.dir) if args.dir else checkout(work, requirement, directory)
        prepare(repo)
        state = os.path.join(work, "state")
        rows, mismatches = [], []
        only = set(args.only.split(",")) if args.only else None
        for kind, old, new, path in renames:
            if only and old not in only:
                continue
            command = f"rename {kind} {old} to {new}"
            if kind == "parameter":
                function, parameter = old.split(".")
                command = f"rename parameter {parameter} of {function} to {new}"
            if args.kind and kind != args.kind:
                continue
            rope_times, orch_times = [], []
            rope_error = None
            for _ in range(args.runs):
                try:
                    rope_time, rope_diff = rope_rename(repo, path, kind, old, new)
                except Exception:  # rope fails on some real code: once more without SOA
                    reset(repo)
                    try:
                        rope_time, rope_diff = rope_rename(repo, path, kind, old, new, soa=False)
                    except Exception as error:
                        reset(repo)
                        rope_time, rope_diff = float("nan"), ""
                        rope_error = f"{type(error).__name__}: {error}"
                rope_times.append(rope_time)
                orch_time, data = orch(repo, args.orch, state, command, extra=args.orch_args.split())
                orch_times.append(orch_time)
            ours = changed_lines(data.get("diff") or "")
            theirs = changed_lines(rope_diff)
            agree = ours == theirs
            only_rope = sorted(theirs - ours, key=str)
            only_orch = sorted(ours - theirs, key=str)
            for item in only_rope:
                mismatches.append((command, "rope only", item))
            for item in only_orch:
                mismatches.append((command, "orch only", item))
            tests = "-"
            if args.tests:
                _, real = orch(repo, args.orch, state, command, dry_run=False, extra=args.orch_args.split())
                tests = "green" if real.get("success") else f"FAILED: {real.get('stop_reason')}: {str(real.get('error'))[:120]}"
                if real.get("branch"):
                    sh(["git", "branch", "-D", real["branch"]], cwd=repo, check=False)
            accounting = (data.get("accounting") or {})
            rope_med, orch_med = statistics.median(rope_times), statistics.median(orch_times)
            if rope_error:
                # Nothing to compare: rope did not finish.
                mismatches = [m for m in mismatches if not (m[0] == command and m[1] == "orch only")]
                tests += f"  (rope failed: {rope_error[:80]})"
            rows.append((command, len(theirs), len(ours), len(only_rope), len(only_orch), agree,
                         rope_med, orch_med, tests, data.get("success"), data.get("error"), accounting))
        print(f"{'rename':<52} {'rope':>5} {'orch':>5} {'rope-':>5} {'orch-':>5}  {'rope s':>7} {'orch s':>7} "
              f"{'ratio':>6}  {'edited/other/uncertain':<22}  tests")
        for (command, nr, no, r_only, o_only, agree, rt, ot, tests, ok, error, acc) in rows:
            note = "" if ok else f"  orch: {error}"
            counts = f"{acc.get('edited', '-')}/{acc.get('other', '-')}/{acc.get('uncertain', '-')}" if acc else "-"
            print(f"{command:<52} {nr:>5} {no:>5} {r_only:>5} {o_only:>5}  {rt:>7.2f} {ot:>7.2f} "
                  f"{ot / rt:>6.3f}  {counts:<22}  {tests}{note}")
        timed = [r for r in rows if r[6] == r[6]]  # rope finished (not NaN)
        total_rope = sum(r[6] for r in timed)
        total_orch = sum(r[7] for r in timed)
        print(f"total: rope {total_rope:.2f} s, orch {total_orch:.2f} s, orch/rope = {total_orch / total_rope:.3f}; "
              f"{sum(1 for r in rows if r[5])}/{len(rows)} renames change exactly the lines rope changes")
        print("columns: lines rope changes, lines orch changes, lines only rope changes, lines only orch changes")
        for command, who, (file, line, old_text, new_text) in mismatches:
            print(f"  {command}: {who} ({why(file, old_text, new_text)}): {file}:{line}: {old_text!r} -> {new_text!r}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
