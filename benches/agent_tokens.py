#!/usr/bin/env python3
"""What a coding agent receives from `orch mcp`, against what it would read
and rewrite itself, and how long `plan` takes.

Usage: benches/agent_tokens.py REPO "COMMAND" [--runs N] [--orch PATH] [--apply]

Drives `orch mcp --repo REPO` with the official MCP Python SDK (`pip install
mcp`): `plan` N times (median latency), then, with --apply, `apply` of the
plan to orch's branch (nothing in the checkout changes). Prints the bytes of
the tool results the agent gets (its first diff page included) against the
bytes of the files the change touches, read once and written once, which is
what an agent editing them itself must at least move through its context.
Tokens are estimated at 4 bytes a token on both sides.
"""

import argparse
import json
import os
import statistics
import time

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters


def text_of(result):
    return "".join(getattr(block, "text", "") for block in result.content)


async def main(args):
    params = StdioServerParameters(
        command=args.orch, args=["mcp", "--repo", args.repo], env=dict(os.environ)
    )
    async with Client(params) as client:
        refactors = text_of(await client.call_tool("refactors", {}))
        latencies, plan_text = [], ""
        for _ in range(args.runs):
            started = time.monotonic()
            result = await client.call_tool("plan", {"command": args.command})
            latencies.append(time.monotonic() - started)
            plan_text = text_of(result)
            if getattr(result, "is_error", False) or getattr(result, "isError", False):
                raise SystemExit(f"plan refused: {plan_text}")
        plan = json.loads(plan_text)
        apply_text = ""
        if args.apply:
            result = await client.call_tool(
                "apply", {"plan_id": plan["plan_id"], "to": "branch", "tests": "none"}
            )
            apply_text = text_of(result)
    touched = sum(
        os.path.getsize(os.path.join(args.repo, f)) for f in plan["files"]
    )
    received = len(refactors) + len(plan_text) + len(apply_text)
    print(f"command: {args.command}")
    print(f"plan: {plan['summary']}")
    print(
        f"plan latency: median {statistics.median(latencies) * 1000:.0f} ms "
        f"(min {min(latencies) * 1000:.0f}, max {max(latencies) * 1000:.0f}, {args.runs} runs)"
    )
    print(
        f"agent receives from orch: {received:,} bytes (~{received // 4:,} tokens): "
        f"refactors {len(refactors):,}, plan {len(plan_text):,} (its diff page: the first "
        f"{min(200, plan['diff']['total_lines']):,} of {plan['diff']['total_lines']:,} lines, "
        f"{len(plan['diff']['text']):,} bytes), apply {len(apply_text):,}"
    )
    print(
        f"files the change touches: {len(plan['files'])}, {touched:,} bytes; read and "
        f"rewritten: {2 * touched:,} bytes (~{2 * touched // 4:,} tokens)"
    )
    print(f"ratio: {2 * touched / received:.1f}x fewer bytes through the agent")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("repo")
    parser.add_argument("command")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--orch", default="orch")
    parser.add_argument("--apply", action="store_true")
    anyio.run(main, parser.parse_args())
