"""A small closed-loop load generator for the web measure, loopback only.

``python bench/load.py SPEC.json --users 20 --duration 60``. SPEC: ``{"base": "http://127.0.0.1:PORT",
"password": "...", "pages": [[account or null, path], ...]}``. Each account logs in once through
the login form; then ``users`` threads each request the pages in turn, one request at a time, with
no think time, until ``duration`` seconds have passed. Prints JSON: every latency (s), p50/p95 per
page and overall, and the errors (any status other than 200, or a redirect to the login page).
"""

from __future__ import annotations

import argparse
import http.client
import http.cookies
import json
import re
import statistics
import sys
import threading
import time
import urllib.parse


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 6)


class Client:
    def __init__(self, base: str):
        parsed = urllib.parse.urlsplit(base)
        if parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("load.py only targets loopback")
        self.host, self.port = parsed.hostname, parsed.port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        try:
            headers = dict(headers or {})
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            for header in response.msg.get_all("Set-Cookie") or []:
                cookie = http.cookies.SimpleCookie(header)
                for key, morsel in cookie.items():
                    self.cookies[key] = morsel.value
            return response.status, response.getheader("Location") or "", data
        finally:
            conn.close()

    def login(self, email: str, password: str) -> None:
        status, _, page = self.request("GET", "/compte/connexion/")
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if status != 200 or not token:
            raise SystemExit(f"login page: status {status}")
        body = urllib.parse.urlencode(
            {"username": email, "password": password, "csrfmiddlewaretoken": token.group(1).decode()}
        ).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"http://{self.host}:{self.port}/compte/connexion/",
        }
        status, location, _ = self.request("POST", "/compte/connexion/", body, headers)
        if status != 302 or "connexion" in location:
            raise SystemExit(f"login of {email} failed: {status} {location}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=argparse.FileType("r"))
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args(argv)
    spec = json.load(args.spec)
    sessions = {}
    for account, _ in spec["pages"]:
        if account and account not in sessions:
            client = Client(spec["base"])
            client.login(account, spec["password"])
            sessions[account] = dict(client.cookies)
    latencies: dict[str, list[float]] = {path: [] for _, path in spec["pages"]}
    errors: list[str] = []
    lock = threading.Lock()
    deadline = time.perf_counter() + args.duration

    def user(index: int) -> None:
        clients = []
        for account, path in spec["pages"]:
            client = Client(spec["base"])
            client.cookies = dict(sessions.get(account, {}))
            clients.append((client, path))
        k = index  # users start on different pages
        while time.perf_counter() < deadline:  # bounded by the duration
            client, path = clients[k % len(clients)]
            k += 1
            start = time.perf_counter()
            try:
                status, location, _ = client.request("GET", path)
                ok = status == 200
                problem = f"{path}: {status} {location}"
            except OSError as exc:
                ok, problem = False, f"{path}: {type(exc).__name__}"
            elapsed = time.perf_counter() - start
            with lock:
                latencies[path].append(elapsed)
                if not ok:
                    errors.append(problem)

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(args.users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.duration + 120)
    every = [x for values in latencies.values() for x in values]
    print(
        json.dumps(
            {
                "latencies": every,
                "p50": _percentile(every, 0.5),
                "p95": _percentile(every, 0.95),
                "errors": len(errors),
                "error_samples": sorted(set(errors))[:5],
                "pages": {
                    path: {
                        "requests": len(values),
                        "p50": _percentile(values, 0.5),
                        "p95": _percentile(values, 0.95),
                        "mean": round(statistics.fmean(values), 6) if values else None,
                    }
                    for path, values in latencies.items()
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
