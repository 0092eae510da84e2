#!/usr/bin/env python3
"""A stateful GitHub API for orch's tests, in front of Prism.

Every request is first sent to Prism (`PRISM_URL`), which serves GitHub's own
OpenAPI description and rejects requests that do not match it (422/400).
A rejected request is logged and its error returned unchanged. An accepted
one gets Prism's example response, with the fields that carry state patched
from this server's memory: pull requests (number, head, base, state, title,
body, draft), comments and collaborator permissions. So create, update and
close paths can be exercised while each request is still checked against
GitHub's schema.

Usage: FAKE_STATE_DIR=DIR PRISM_URL=URL [EXPECTED_TOKEN=T] github_api.py
(directories come through the environment so that no process argument names
the test's temp dir, which the tests' leftover-process check looks for)
  STATE_DIR/state.json     initial and current state:
      {"pulls": [{"number", "head", "base", "state", "title", "body",
                  "draft", "head_repo"}],
       "permissions": {"login": "write"}, "comments": {id: body}}
  STATE_DIR/requests.jsonl one line per request: method, path, query, body,
                           status, violations
Prints the port it listens on, then serves until killed.
"""

import json
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PRISM = os.environ["PRISM_URL"].rstrip("/")
STATE_DIR = os.environ["FAKE_STATE_DIR"]
STATE_PATH = os.path.join(STATE_DIR, "state.json")
LOG_PATH = os.path.join(STATE_DIR, "requests.jsonl")
LOCK = threading.Lock()
TOKEN = os.environ.get("EXPECTED_TOKEN", "")


def load_state():
    try:
        with open(STATE_PATH) as f:
            state = json.load(f)
    except FileNotFoundError:
        state = {}
    state.setdefault("pulls", [])
    state.setdefault("permissions", {})
    state.setdefault("comments", {})
    state.setdefault("reactions", [])
    return state


def save_state(state):
    tmp = STATE_PATH + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=2)
    os.replace(tmp, STATE_PATH)


def patch_pull(template, owner, repo, pr):
    t = json.loads(json.dumps(template))
    n = pr["number"]
    t["number"] = n
    t["html_url"] = f"https://github.com/{owner}/{repo}/pull/{n}"
    t["url"] = f"https://api.github.com/repos/{owner}/{repo}/pulls/{n}"
    t["state"] = pr["state"]
    t["title"] = pr["title"]
    t["body"] = pr["body"]
    t["draft"] = pr.get("draft", False)
    head_repo = pr.get("head_repo", f"{owner}/{repo}")
    t["head"]["ref"] = pr["head"]
    t["head"]["label"] = f"{head_repo.split('/')[0]}:{pr['head']}"
    if t["head"].get("repo") is not None:
        t["head"]["repo"]["full_name"] = head_repo
        t["head"]["repo"]["name"] = head_repo.split("/")[1]
    t["base"]["ref"] = pr["base"]
    return t


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        request = urllib.request.Request(PRISM + self.path, data=raw or None, method=self.command)
        for name in ("Accept", "Content-Type", "Authorization", "X-GitHub-Api-Version", "User-Agent"):
            if self.headers.get(name):
                request.add_header(name, self.headers[name])
        violations = None
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                status, body = reply.status, reply.read()
                violations = reply.headers.get("sl-violations")
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
            violations = error.headers.get("sl-violations")
        # Prism also reports where GitHub's own examples miss their
        # response schema; only the request's violations are orch's.
        if violations:
            violations = [
                v for v in json.loads(violations) if v.get("location", [""])[0] == "request"
            ] or None
        try:
            sent = json.loads(raw) if raw else None
        except ValueError:
            sent = raw.decode("utf-8", "replace")
        with LOCK:
            if status < 400:
                status, body = self.stateful(url, sent, status, body)
            with open(LOG_PATH, "a") as log:
                log.write(json.dumps({
                    "method": self.command,
                    "path": url.path,
                    "query": urllib.parse.parse_qs(url.query),
                    "body": sent,
                    "status": status,
                    "violations": violations,
                    "auth_ok": self.headers.get("Authorization", "")
                    in (f"Bearer {TOKEN}", f"token {TOKEN}"),
                }) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def stateful(self, url, sent, status, body):
        parts = url.path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "repos":
            return status, body
        owner, repo, rest = parts[1], parts[2], parts[3:]
        state = load_state()
        example = json.loads(body) if body else None
        query = urllib.parse.parse_qs(url.query)
        method = self.command
        out = example
        if rest == ["pulls"] and method == "GET":
            template = example[0] if example else None
            head = query.get("head", [""])[0]
            want_state = query.get("state", ["open"])[0]
            branch = head.split(":", 1)[-1]
            out = [
                patch_pull(template, owner, repo, pr)
                for pr in state["pulls"]
                if (not head or pr["head"] == branch)
                and (want_state == "all" or pr["state"] == want_state)
            ]
        elif rest == ["pulls"] and method == "POST":
            number = max([p["number"] for p in state["pulls"]] + [99]) + 1
            pr = {
                "number": number,
                "head": sent["head"],
                "base": sent["base"],
                "state": "open",
                "title": sent.get("title", ""),
                "body": sent.get("body", ""),
                "draft": sent.get("draft", False),
            }
            state["pulls"].append(pr)
            out = patch_pull(example, owner, repo, pr)
        elif len(rest) == 2 and rest[0] == "pulls" and rest[1].isdigit():
            number = int(rest[1])
            pr = next((p for p in state["pulls"] if p["number"] == number), None)
            if pr is not None:
                if method == "PATCH":
                    for key in ("title", "body", "state", "base"):
                        if key in sent:
                            pr[key] = sent[key]
                out = patch_pull(example, owner, repo, pr)
            elif method == "PATCH":
                return 404, json.dumps({"message": "Not Found"}).encode()
        elif len(rest) == 3 and rest[0] == "collaborators" and rest[2] == "permission":
            user = urllib.parse.unquote(rest[1])
            if user in state["permissions"]:
                permission = state["permissions"][user]
                if permission is None:
                    return 404, json.dumps({"message": "Not Found"}).encode()
                out["permission"] = permission
                out["role_name"] = permission
                out["user"]["login"] = user
        elif len(rest) == 3 and rest[:1] == ["issues"] and rest[2] == "comments" and method == "POST":
            comment_id = max([int(k) for k in state["comments"]] + [8999]) + 1
            state["comments"][str(comment_id)] = sent["body"]
            out["id"] = comment_id
            out["body"] = sent["body"]
        elif len(rest) == 3 and rest[:2] == ["issues", "comments"] and method == "PATCH":
            state["comments"][rest[2]] = sent["body"]
            out["id"] = int(rest[2])
            out["body"] = sent["body"]
        elif len(rest) == 4 and rest[:2] == ["issues", "comments"] and rest[3] == "reactions":
            state["reactions"].append({"comment": int(rest[2]), "content": sent["content"]})
        save_state(state)
        return status, json.dumps(out).encode()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = handle_any


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
