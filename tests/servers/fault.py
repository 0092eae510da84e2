#!/usr/bin/env python3
"""A small, deliberately misbehaving MCP server (stdio, JSON-RPC lines) for
orch's fault tests.

    fault.py MODE STATE_DIR

MODE says how it misbehaves; STATE_DIR (a test's temp dir) is where it
notes what it saw (`seen.log`) and keeps its crash markers. The directory
is also on its command line, and on its grandchild's, so that tests can
find any process left behind.

Tools: `read` (read-only), `write` (destructive), `plain` (no annotations),
`slow` (read-only; sleeps for `seconds`).
"""

import json
import os
import subprocess
import sys
import threading
import time

MODE = sys.argv[1]
STATE = sys.argv[2]

TOOLS = [
    {
        "name": "read",
        "description": "read-only echo",
        "inputSchema": {"type": "object"},
        "annotations": {"readOnlyHint": True},
    },
    {
        "name": "write",
        "description": "destructive echo",
        "inputSchema": {"type": "object"},
        "annotations": {"readOnlyHint": False, "destructiveHint": True},
    },
    {"name": "plain", "description": "no annotations", "inputSchema": {"type": "object"}},
    {
        "name": "slow",
        "description": "sleeps",
        "inputSchema": {"type": "object"},
        "annotations": {"readOnlyHint": True},
    },
]


def note(text):
    with open(os.path.join(STATE, "seen.log"), "a") as f:
        f.write(text + "\n")


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def text_result(text):
    return {"content": [{"type": "text", "text": text}]}


def bump(name):
    """Counts calls across restarts; returns the count before this one."""
    path = os.path.join(STATE, name + ".count")
    with LOCK:
        count = int(open(path).read()) if os.path.exists(path) else 0
        with open(path, "w") as f:
            f.write(str(count + 1))
    return count


def call(name, arguments):
    count = bump(name)
    if MODE == "crash-once" and count == 0:
        sys.stderr.write("fault: crashing in the middle of %s\n" % name)
        sys.stderr.flush()
        os._exit(17)
    if MODE == "stderr-flood":
        chunk = "x" * 1023 + "\n"
        for _ in range(4 * 1024):  # 4 MiB
            sys.stderr.write(chunk)
        sys.stderr.flush()
    if MODE == "huge":
        return text_result("y" * (17 * 1024 * 1024))
    if MODE == "large":
        return text_result("z" * (12 * 1024 * 1024))
    if MODE == "hog":
        hoard = bytearray(400 * 1024 * 1024)
        return text_result(str(len(hoard)))
    if MODE == "files":
        handles = [open(__file__) for _ in range(4096)]
        return text_result(str(len(handles)))
    if name == "slow" or MODE == "silent-call":
        with LOCK:
            ACTIVE[0] += 1
            ACTIVE[1] = max(ACTIVE[1], ACTIVE[0])
            with open(os.path.join(STATE, "slow.max"), "w") as f:
                f.write(str(ACTIVE[1]))
        time.sleep(float(arguments.get("seconds", 3600)))
        with LOCK:
            ACTIVE[0] -= 1
    return text_result(json.dumps({"tool": name, "arguments": arguments, "call": count + 1}))


LOCK = threading.Lock()
SEND_LOCK = threading.Lock()
# Calls of `slow` running now, and the most at once.
ACTIVE = [0, 0]


def answer(request_id, params):
    result = call(params.get("name"), params.get("arguments") or {})
    with SEND_LOCK:
        send({"jsonrpc": "2.0", "id": request_id, "result": result})


def main():
    note("started %s pid %d" % (MODE, os.getpid()))
    if MODE == "grandchild":
        subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)", STATE],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    if MODE == "garbage":
        sys.stdout.write("this is not JSON-RPC\n{\"half\": \n")
        sys.stdout.flush()
    for line in sys.stdin:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        method = message.get("method")
        note("got %s" % method)
        if "id" not in message:
            if method == "notifications/cancelled":
                note("cancelled %s" % json.dumps(message.get("params", {})))
            continue
        if method == "initialize":
            if MODE == "handshake-exit":
                sys.stderr.write("fault: cannot start, missing configuration\n")
                sys.stderr.flush()
                sys.exit(3)
            if MODE == "silent":
                continue
            send({
                "jsonrpc": "2.0",
                "id": message["id"],
                "result": {
                    "protocolVersion": message["params"].get("protocolVersion", "2025-06-18"),
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "fault-" + MODE, "version": "0.0.1"},
                },
            })
        elif method == "tools/list":
            send({"jsonrpc": "2.0", "id": message["id"], "result": {"tools": TOOLS}})
        elif method == "tools/call":
            params = message.get("params", {})
            name = params.get("name")
            if name == "slow" or MODE == "silent-call":
                # Answer from a thread so that notifications (cancellation)
                # are still read meanwhile.
                threading.Thread(
                    target=answer, args=(message["id"], params), daemon=True
                ).start()
            else:
                answer(message["id"], params)
        elif method == "ping":
            send({"jsonrpc": "2.0", "id": message["id"], "result": {}})
        else:
            send({
                "jsonrpc": "2.0",
                "id": message["id"],
                "error": {"code": -32601, "message": "no method " + str(method)},
            })
    note("stdin closed")


if __name__ == "__main__":
    main()
