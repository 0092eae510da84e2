"""orch's pytest plugin: which of the project's functions each test runs.

Loaded by orch's test server (``-p orch_calls``) when a run records its
call map: ``ORCH_CALLS_OUT`` is where to write it, ``ORCH_CALLS_ROOT`` the
project's root. On Python 3.12 and later, ``sys.monitoring`` reports the
first start of each code object and is then told to stop reporting it
(``DISABLE``) until the next test file (``restart_events``): each function
costs one event per test. Before 3.12, a trace function sees every
Python call (it returns None, so no line is traced): tests of call-heavy
code run several times slower.

The code objects are charged to the test whose setup, call or teardown
ran them (its node id, parameters left out: ``tests/test_a.py::TestK::
test_x``), or to its test file when the file's import (collection) or a
fixture of a wider scope than the function (a module's, a class's,
unittest's ``setUpClass``) ran them: what every test of the file shares.
At the end the code objects of files under the root are written as
``{test file or node id: ["path::qualname", ...]}`` (paths relative to the
root, ``<locals>`` left out of qualnames), one file per pytest-xdist
worker.
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


_MONITORING = getattr(sys, "monitoring", None)
_TOOL = []


def _tracer(frame, event, arg):
    _codes.add(frame.f_code)
    return None


def _started(code, offset):
    _codes.add(code)
    return _MONITORING.DISABLE


def _switch(key):
    if _current[0] is not None and _codes:
        _by_file.setdefault(_current[0], set()).update(_codes)
    _codes.clear()
    _current[0] = key
    if _TOOL:
        # Every code object reports its next start again, for this file.
        _MONITORING.restart_events()


def _monitor():
    """Claims a free sys.monitoring tool id; False when there is none."""
    for tool in (3, 4, 1, 2):
        try:
            _MONITORING.use_tool_id(tool, "orch_calls")
        except ValueError:
            continue
        _MONITORING.register_callback(tool, _MONITORING.events.PY_START, _started)
        _MONITORING.set_events(tool, _MONITORING.events.PY_START)
        _TOOL.append(tool)
        return True
    return False


def pytest_configure(config):
    if not _OUT:
        return
    if _MONITORING is None or not _monitor():
        sys.settrace(_tracer)
        threading.settrace(_tracer)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    path = getattr(collector, "path", None)
    if _OUT and path is not None and type(collector).__name__ == "Module":
        _switch(os.path.realpath(str(path)))
    yield


def _item_key(item):
    """The test's file and its node id's names after the file, without
    parameters (``/abs/tests/test_a.py::TestK::test_x``)."""
    names = item.nodeid.split("::")[1:]
    if names:
        names[-1] = names[-1].split("[", 1)[0]
    return "::".join([os.path.realpath(str(item.path))] + names)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if _OUT:
        _switch(_item_key(item))
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    # A fixture of a wider scope serves every test after it: what it runs
    # is the file's, not the test's that happened to set it up first.
    shared = _OUT and _current[0] is not None and fixturedef.scope != "function"
    if shared:
        item = _current[0]
        _switch(item.split("::", 1)[0])
    yield
    if shared:
        _switch(item)


def _name(code):
    name = getattr(code, "co_qualname", code.co_name)
    return name.replace(".<locals>", "")


def pytest_unconfigure(config):
    if not _OUT:
        return
    _switch(None)
    if _TOOL:
        _MONITORING.set_events(_TOOL[0], 0)
        _MONITORING.free_tool_id(_TOOL[0])
        _TOOL.clear()
    else:
        sys.settrace(None)
        threading.settrace(None)
    seen = {}
    out = {}
    for key, codes in _by_file.items():
        if not key.startswith(_ROOT):
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
        test_file, sep, names = key[len(_ROOT):].partition("::")
        out[test_file.replace(os.sep, "/") + sep + names] = sorted(functions)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(f"{_OUT}.{worker}", "w", encoding="utf-8") as f:
        json.dump(out, f)
