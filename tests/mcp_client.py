"""Drives `orch mcp` with the official MCP Python SDK, as a coding agent would.

Usage: mcp_client.py SCENARIO ORCH REPO

Scenarios:
  session  - list the tools, read `refactors`, `plan` a rename (progress
             notifications, the diff), `explain` it, `apply` the plan id to
             the checkout, and get a refusal with a stable code.
  cancel   - start `apply` on a project whose tests take a minute, cancel
             the request after a few seconds, and report what came back.
  uncertain - `apply` of a plan that leaves uncertain sites: refused with
             `uncertain_sites`, then applied with `accept_uncertain`.
  sampling - a client with a sampling callback (its "model" is this script):
             a request outside orch's language is restated through it, and
             a restatement orch cannot parse either runs nothing.

Prints one JSON document on stdout; the Rust test checks it.
"""

import json
import os
import sys
import time

import anyio
from mcp import Client
from mcp.client.stdio import StdioServerParameters


def server(orch, repo):
    # The SDK passes a server only a few variables of its own; orch gets the
    # test's whole environment (its state and worktree directories).
    return StdioServerParameters(
        command=orch, args=["mcp", "--repo", repo], env=dict(os.environ)
    )


def content_json(result):
    """The tool result's JSON: structured content, else its text."""
    structured = getattr(result, "structured_content", None) or getattr(
        result, "structuredContent", None
    )
    if structured:
        return structured
    for block in result.content:
        text = getattr(block, "text", None)
        if text is not None:
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return {"text": text}
    return {}


def is_error(result):
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


async def session(orch, repo):
    out = {}
    params = server(orch, repo)
    async with Client(params) as client:
        tools = await client.list_tools()
        out["tools"] = {}
        for tool in tools.tools:
            annotations = tool.annotations
            out["tools"][tool.name] = {
                "read_only": getattr(annotations, "read_only_hint", None)
                if annotations
                else None,
                "destructive": getattr(annotations, "destructive_hint", None)
                if annotations
                else None,
            }
        refactors = await client.call_tool("refactors", {})
        out["refactors"] = content_json(refactors)
        progress = []

        async def on_progress(value, total, message):
            progress.append([value, total, message])

        plan = await client.call_tool(
            "plan",
            {"command": "rename function make_str to make_text", "diff_lines": 40},
            progress_callback=on_progress,
        )
        out["plan_error"] = is_error(plan)
        out["plan"] = content_json(plan)
        out["progress"] = progress
        plan_id = out["plan"].get("plan_id", "")
        explain = await client.call_tool(
            "explain", {"plan_id": plan_id[:8], "path": "shop/util.py"}
        )
        out["explain"] = content_json(explain)
        apply = await client.call_tool("apply", {"plan_id": plan_id, "to": "checkout"})
        out["apply_error"] = is_error(apply)
        out["apply"] = content_json(apply)
        unknown = await client.call_tool(
            "plan", {"command": "rename function no_such_thing to other"}
        )
        out["unknown_error"] = is_error(unknown)
        out["unknown"] = content_json(unknown)
        garbled = await client.call_tool("plan", {"command": "please frobnicate the cart"})
        out["garbled"] = content_json(garbled)
    return out


async def cancel(orch, repo):
    out = {}
    params = server(orch, repo)
    async with Client(params) as client:
        started = time.monotonic()
        progress = []

        async def on_progress(value, total, message):
            progress.append(message)

        with anyio.move_on_after(8) as scope:
            await client.call_tool(
                "apply",
                {"command": "rename function make_str to make_text", "to": "branch"},
                progress_callback=on_progress,
            )
        out["cancelled"] = scope.cancelled_caught
        out["seconds"] = round(time.monotonic() - started, 1)
        out["progress"] = progress
        # The server is still there and answers.
        refactors = await client.call_tool("refactors", {})
        out["after"] = bool(content_json(refactors))
    return out


async def sampling(orch, repo):
    import mcp_types as types

    out = {"asked": []}

    async def sample(context, params):
        message = params.messages[0]
        content = message.content
        if isinstance(content, list):
            content = content[0]
        text = content.text
        out["asked"].append({"prompt": text, "system": params.system_prompt})
        if "frobnicate" in text:
            answer = "frobnicate the cart, please"
        else:
            answer = "`rename function make_str to make_text`"
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=answer),
            model="the-test-script",
        )

    # Sampling is a request from the server to the client: the handshake-era
    # protocol (what coding agents speak today), not the 2026 one.
    async with Client(server(orch, repo), sampling_callback=sample, mode="legacy") as client:
        plan = await client.call_tool(
            "plan", {"command": "could make_str please be known as make_text from now on"}
        )
        out["plan_error"] = is_error(plan)
        out["plan"] = content_json(plan)
        bad = await client.call_tool("plan", {"command": "frobnicate the cart totally"})
        out["bad_error"] = is_error(bad)
        out["bad"] = content_json(bad)
    return out


async def uncertain(orch, repo):
    out = {}
    command = "rename method Cart.total to grand_total"
    async with Client(server(orch, repo)) as client:
        first = await client.call_tool("apply", {"command": command, "tests": "none"})
        out["first_error"] = is_error(first)
        out["first"] = content_json(first)
        plan = await client.call_tool("plan", {"command": command})
        plan_id = content_json(plan)["plan_id"]
        second = await client.call_tool(
            "apply", {"plan_id": plan_id, "accept_uncertain": True, "to": "branch"}
        )
        out["second_error"] = is_error(second)
        out["second"] = content_json(second)
    return out


def main():
    scenario, orch, repo = sys.argv[1:4]
    run = {
        "session": session,
        "cancel": cancel,
        "sampling": sampling,
        "uncertain": uncertain,
    }[scenario]
    print(json.dumps(anyio.run(run, orch, repo)))


if __name__ == "__main__":
    main()
