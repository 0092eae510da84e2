"""orch's pytest plugin: which of the project's functions each test file runs.

Loaded by orch's test server (``-p orch_calls``) when a run records its
call map: ``ORCH_CALLS_OUT`` is where to write it, ``ORCH_CALLS_ROOT`` the
project's root. A trace function sees every Python call (it returns None,
so no line is traced) and keeps the code objects; they are charged to the
test file whose tests (setup, call, teardown) or whose import (collection)
ran them. At the end the code objects of files under the root are written
as ``{test file: ["path::qualname", ...]}`` (paths relative to the root,
``<locals>`` left out of qualnames), one file per pytest-xdist worker.
"""
import json
import os
import sys
import threading

import pytest

_OUT = os.environ.get("ORCH_CALLS_OUT")
_ROOT = os.path.realpath(os.environ.get("ORCH_CALLS_ROOT") or os.getcwd()) + os.sep
_codes = set()
_by_file = {}
_current = [None]


def _tracer(frame, event, arg):
    _codes.add(frame.f_code)
    return None


def _switch(key):
    if _current[0] is not None and _codes:
        _by_file.setdefault(_current[0], set()).update(_codes)
    _codes.clear()
    _current[0] = key


def pytest_configure(config):
    if _OUT:
        sys.settrace(_tracer)
        threading.settrace(_tracer)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    path = getattr(collector, "path", None)
    if _OUT and path is not None and type(collector).__name__ == "Module":
        _switch(os.path.realpath(str(path)))
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if _OUT:
        _switch(os.path.realpath(str(item.path)))
    yield


def _name(code):
    name = getattr(code, "co_qualname", code.co_name)
    return name.replace(".<locals>", "")


def pytest_unconfigure(config):
    if not _OUT:
        return
    sys.settrace(None)
    threading.settrace(None)
    _switch(None)
    seen = {}
    out = {}
    for test_file, codes in _by_file.items():
        if not test_file.startswith(_ROOT):
            continue
        functions = set()
        for code in codes:
            path = seen.get(code.co_filename)
            if path is None:
                real = os.path.realpath(code.co_filename)
                path = real[len(_ROOT):] if real.startswith(_ROOT) else ""
                seen[code.co_filename] = path
            if path.endswith(".py"):
                functions.add(path.replace(os.sep, "/") + "::" + _name(code))
        out[test_file[len(_ROOT):].replace(os.sep, "/")] = sorted(functions)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(f"{_OUT}.{worker}", "w", encoding="utf-8") as f:
        json.dump(out, f)
