"""Every page of the demo world, as each role, against gunicorn: no 500, no missing static file,
no SVG number a browser cannot read (ancrage.core.svg, standard library only itself).

Called by scripts/ci-production with gunicorn's port; the demo accounts' password is in
``DEMO_PASSWORD_PROD``. Each request goes as the reverse proxy of docs/exploitation.md sends it
(``X-Forwarded-Proto: https``, ``X-Forwarded-For``), so the production settings' HTTPS redirect,
secure cookies and CSRF origin checks all apply. Standard library and ancrage.core.svg only.
"""

import base64
import hashlib
import hmac
import os
import re
import struct
import sys
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from http.client import HTTPConnection
from urllib.parse import urlencode, urljoin, urlsplit

from ancrage.core.svg import svg_number_errors

# The public demo key of the README (référent, élu, coordinateur).
DEMO_TOTP_KEY_BASE32 = "MFXGG4TBM5SS2ZDFNVXS2YLOMNZGCZ3F"
ROLES = [
    "animateur",
    "responsable",
    "referent",
    "elu",
    "partenaire",
    "coordinateur",
    "animateur2",
    "animateur3",
]
# Links that end the session or change nothing to show.
SKIPPED = ("/compte/deconnexion/", "/admin/", "/static/", "/media/")
PER_SHAPE = 3  # detail pages of one shape (e.g. /dossiers/<n>/) fetched per role
MAX_DEPTH = 3  # the dashboard, its menu and links, their pages, the detail pages they list

LINK = re.compile(r"""<a\b[^>]*?\bhref=["']([^"'#]+)""", re.IGNORECASE)
ASSET = re.compile(r"""<(?:link|script|img)\b[^>]*?\b(?:href|src)=["'](/static/[^"']+)""", re.IGNORECASE)
CSRF = re.compile(r"""name=["']csrfmiddlewaretoken["']\s+value=["']([^"']+)""")


def totp(key_base32: str, at: float) -> str:
    counter = struct.pack(">Q", int(at) // 30)
    digest = hmac.new(base64.b32decode(key_base32), counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


class Browser:
    """Cookies kept by hand: the __Host- cookies are Secure, which http.cookiejar withholds on http."""

    def __init__(self, port: int):
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "127.0.0.1",
            "User-Agent": "ancrage-ci-production",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            headers["Referer"] = self.origin + path
        connection = HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if not value or value == '""' or "max-age=0" in header.lower():
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return response.status, response.headers, content

    def get(self, path: str):
        return self.request("GET", path)

    def follow(self, status, headers, content, path, limit=5):
        while status in (301, 302, 303) and limit:
            location = headers["Location"]
            if location.startswith(self.origin):
                location = location[len(self.origin) :]
            if not location.startswith("/"):
                location = urljoin(path, location)
            path = location
            status, headers, content = self.get(path)
            limit -= 1
        return status, headers, content, path

    def post_form(self, path: str, fields: dict):
        status, headers, content = self.get(path)
        match = CSRF.search(content.decode("utf-8", "replace"))
        if status != 200 or not match:
            raise SystemExit(f"{path}: {status}, no form with a CSRF token")
        status, headers, content = self.request("POST", path, {"csrfmiddlewaretoken": match[1], **fields})
        return self.follow(status, headers, content, path)


def log_in(browser: Browser, role: str, password: str) -> None:
    email = f"{role}@demo.ancrage.fr"
    status, _headers, _content, path = browser.post_form(
        "/compte/connexion/", {"username": email, "password": password}
    )
    if path.startswith("/compte/double-authentification/"):
        # One code per 30 s window: wait for a fresh window rather than risk a reused code.
        if time.time() % 30 > 25:
            time.sleep(30 - time.time() % 30 + 0.5)
        status, _headers, _content, path = browser.post_form(
            path, {"token": totp(DEMO_TOTP_KEY_BASE32, time.time())}
        )
    if status != 200 or path.startswith("/compte/"):
        raise SystemExit(f"{email}: the login ended on {path} ({status})")


def shape(path: str) -> str:
    return re.sub(r"\d+", "<n>", urlsplit(path).path)


def crawl(browser: Browser, role: str, assets: dict[str, int]) -> tuple[int, list[str]]:
    seen, failures, shapes = set(), [], Counter()
    queue = deque([("/", 0)])
    while queue:
        path, depth = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        status, headers, content = browser.get(path)
        if status >= 500:
            failures.append(f"{role}: {path} answered {status}")
            continue
        if status in (301, 302) and headers["Location"].startswith(
            ("/compte/connexion", f"{browser.origin}/compte/connexion")
        ):
            failures.append(f"{role}: {path} sent back to the login page (session lost)")
            continue
        if "text/html" not in headers.get("Content-Type", "") or status != 200:
            continue
        page = content.decode("utf-8", "replace")
        for error in svg_number_errors(page):
            failures.append(f"{role}: {path} writes an SVG number no browser reads: {error}")
        for asset in ASSET.findall(page):
            asset = unescape(asset)
            if asset not in assets:
                assets[asset] = browser.get(asset)[0]
            if assets[asset] != 200:
                failures.append(f"{role}: {path} names {asset}, which answered {assets[asset]}")
        if depth >= MAX_DEPTH:
            continue
        for href in LINK.findall(page):
            link = unescape(href)
            if link.startswith(browser.origin):
                link = link[len(browser.origin) :]
            if not link.startswith("/") or link.startswith("//") or link.startswith(SKIPPED) or link in seen:
                continue
            if shapes[shape(link)] >= PER_SHAPE:
                continue
            shapes[shape(link)] += 1
            queue.append((link, depth + 1))
    return len(seen), failures


def visit(port: int, role: str, password: str, assets: dict[str, int]) -> tuple[int, list[str]]:
    started = time.monotonic()
    browser = Browser(port)
    log_in(browser, role, password)
    count, failures = crawl(browser, role, assets)
    print(
        f"{role:<13} {count:>4} pages, {len(failures)} failures, {time.monotonic() - started:.1f} s",
        flush=True,
    )
    return count, failures


def main() -> int:
    port = int(sys.argv[1])
    password = os.environ["DEMO_PASSWORD_PROD"]
    assets: dict[str, int] = {}
    # Two roles at a time, as gunicorn's two workers can serve them.
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda role: visit(port, role, password, assets), ROLES))
    failures = [failure for _count, role_failures in results for failure in role_failures]
    print(f"{sum(count for count, _ in results)} pages, {len(assets)} static files")
    if not assets:
        failures.append("no page named a static file")
    for failure in failures:
        print("FAIL", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
