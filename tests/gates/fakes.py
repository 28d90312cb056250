"""Small fakes of the GitHub and GitLab APIs: real HTTP servers on loopback, in a thread, that
record every request (method, path, headers, JSON body) and answer as the real services
document, or with the statuses a test scripts for a path."""

import json
import re
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Headers(dict):
    """Header names compare without case, as HTTP has them."""

    def __init__(self, items):
        super().__init__((name.lower(), value) for name, value in items)

    def __getitem__(self, name):
        return super().__getitem__(name.lower())

    def __contains__(self, name):
        return super().__contains__(name.lower())


@dataclass
class Request:
    method: str
    path: str
    headers: dict
    body: dict | None
    at: float = 0.0  # time.monotonic() when it arrived (one clock for every local process)


class FakeAPI:
    """`routes`: (method, regex of the path) -> (status, JSON body) answered by default.
    `script(path_pattern, *statuses)`: the next requests to a matching path get these
    statuses first (then the default). `fail(path_pattern, status)`: every request to a
    matching path gets that status until `mend()`."""

    def __init__(self, routes: dict[tuple[str, str], tuple[int, dict | None]]):
        self.routes = [
            (method, re.compile(path), answer) for (method, path), answer in routes.items()
        ]
        self.requests: list[Request] = []
        self.scripts: list[tuple[re.Pattern, list[int]]] = []
        self.failing: list[tuple[re.Pattern, int]] = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                status, answer = fake.answer(
                    self.command, self.path, Headers(self.headers.items()), body
                )
                data = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeAPI":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.scripts.clear()
            self.failing.clear()

    def fail(self, path: str, status: int) -> None:
        with self.lock:
            self.failing.append((re.compile(path), status))

    def mend(self) -> None:
        with self.lock:
            self.failing.clear()

    def script(self, path: str, *statuses: int) -> None:
        with self.lock:
            self.scripts.append((re.compile(path), list(statuses)))

    def answer(self, method, path, headers, body):
        with self.lock:
            self.requests.append(Request(method, path, headers, body, time.monotonic()))
            for pattern, status in self.failing:
                if pattern.fullmatch(path):
                    return status, {"message": "Server Error"}
            for pattern, statuses in self.scripts:
                if statuses and pattern.fullmatch(path):
                    status = statuses.pop(0)
                    if status >= 300:
                        return status, {"message": "Server Error"}
                    break
            for route_method, pattern, answer in self.routes:
                if route_method == method and pattern.fullmatch(path):
                    return answer
        return 404, {"message": "Not Found"}

    def to(self, pattern: str) -> list[Request]:
        """The requests recorded to paths matching `pattern`, in order."""
        compiled = re.compile(pattern)
        with self.lock:
            return [request for request in self.requests if compiled.fullmatch(request.path)]


INSTALLATION_TOKEN = "ghs_fakeInstallationToken0123456789"
TOKEN_PATH = r"/app/installations/\d+/access_tokens"
CALLBACK_PATH = r"/repos/[^/]+/[^/]+/actions/runs/\d+/deployment_protection_rule"
APPROVAL_PATH = r"/api/v4/projects/\d+/deployments/\d+/approval"


def github_api() -> FakeAPI:
    return FakeAPI(
        {
            ("POST", TOKEN_PATH): (
                201,
                {"token": INSTALLATION_TOKEN, "expires_at": "2099-01-01T00:00:00Z"},
            ),
            # GitHub answers a review of a protection rule with 204 No Content.
            ("POST", CALLBACK_PATH): (204, None),
        }
    )


def gitlab_api() -> FakeAPI:
    return FakeAPI(
        {
            ("POST", APPROVAL_PATH): (
                201,
                {
                    "user": {"id": 1, "username": "truststream-bot"},
                    "status": "approved",
                    "created_at": "2026-11-30T21:05:00.000Z",
                    "comment": "",
                },
            ),
        }
    )
