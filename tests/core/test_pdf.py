"""The one PDF renderer fetches nothing but data: URIs (no SSRF through a typed link)."""

import socket
import threading

import pytest

from ancrage.core.pdf import ExternalResourceRefused, html_to_pdf, no_network_fetcher


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/x.png", "https://example.invalid/x.css", "file:///etc/passwd", "ftp://x/y"]
)
def test_the_fetcher_refuses_every_url_but_data(url):
    with pytest.raises(ExternalResourceRefused, match="Ressource externe refusée"):
        no_network_fetcher().fetch(url)


def test_a_pdf_with_a_remote_image_is_rendered_without_calling_out():
    calls = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(5)
    port = server.getsockname()[1]

    def accept():
        try:
            conn, _ = server.accept()
            calls.append(1)
            conn.close()
        except OSError:
            pass

    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    pixel = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGA"
        "hKmMIQAAAABJRU5ErkJggg=="
    )
    pdf = html_to_pdf(
        f'<p>Bonjour</p><img src="http://127.0.0.1:{port}/x.png"><img src="{pixel}">',
        (f'@import url("http://127.0.0.1:{port}/s.css"); p {{ color: #000091; }}',),
    )
    server.close()
    listener.join(timeout=10)
    assert pdf.startswith(b"%PDF-")
    assert calls == []  # nothing connected to the listening port
