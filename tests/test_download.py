"""download_style and catalog styles in the renderer, against a local HTTP server (nothing touches the internet)."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from conftest import probe
from stylegan_files import write_pytorch_pickle

import lucidsonicdreams.catalog.download as download
from lucidsonicdreams import DownloadError, LucidSonicDream, ModelFileError, download_style
from lucidsonicdreams.models import stylegan2
from lucidsonicdreams.style import resolve_style

DATA = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
DRIVE_ID = "1AbC-dEf_123"
DRIVE_TOKEN = "t0ken"
YANDEX_LINK = "https://yadi.sk/d/AbCdEf123"
FORM_FIELDS = {"id": DRIVE_ID, "export": "download", "confirm": DRIVE_TOKEN, "uuid": "0f1e-2d3c"}


class FakeServer:
    """What the handler serves and how it misbehaves; records every request as (path with query, headers)."""

    def __init__(self) -> None:
        self.base = ""
        self.files: dict[str, bytes] = {}
        self.content_types: dict[str, str] = {}
        self.cut: dict[str, int] = {}  # path -> how many more responses stop half-way through the body
        self.drop: dict[str, int] = {}  # path -> how many more responses close right after the headers
        self.ignore_range = False
        self.drive_file = DATA
        self.drive_page = "form"  # "form", "cookie" or "nothing" (a page without a download link)
        self.requests: list[tuple[str, dict[str, str]]] = []

    def headers_of(self, path: str) -> list[dict[str, str]]:
        return [headers for p, headers in self.requests if urlsplit(p).path == path]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a stuck connection ends the handler thread

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        fake: FakeServer = self.server.fake
        fake.requests.append((self.path, dict(self.headers)))
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        if parts.path == "/uc":
            self._drive(fake, query)
        elif parts.path == "/v1/disk/public/resources/download":  # Yandex Disk's public API
            known = query.get("public_key") == YANDEX_LINK
            body = {"href": f"{fake.base}/yandex-file.pkl"} if known else {"error": "DiskNotFoundError"}
            self._send(200 if known else 404, json.dumps(body).encode(), "application/json")
        elif parts.path == "/download":  # the action of the Drive confirmation form
            if query == FORM_FIELDS:
                self._file(fake, parts.path, fake.drive_file)
            else:
                self._send(400, b"<html>bad form</html>", "text/html")
        elif parts.path in fake.files:
            self._file(fake, parts.path, fake.files[parts.path])
        else:
            self._send(404, b"not found", "text/plain")

    def _drive(self, fake: FakeServer, query: dict[str, str]) -> None:
        if query.get("id") != DRIVE_ID:
            self._send(404, b"<html>no such file</html>", "text/html")
        elif fake.drive_page == "cookie" and query.get("confirm") == DRIVE_TOKEN:
            self._file(fake, "/uc", fake.drive_file)
        elif fake.drive_page == "cookie":
            cookie = f"download_warning_1305_{DRIVE_ID}={DRIVE_TOKEN}; Path=/"
            self._send(200, b"<html><body>Google Drive can't scan this file for viruses.</body></html>", "text/html",
                       {"Set-Cookie": cookie})
        elif fake.drive_page == "form":
            hidden = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in FORM_FIELDS.items())
            page = (f'<html><body><form action="/search" method="get"><input type="hidden" name="q" value="x">'
                    f'</form><p>Google Drive can\'t scan this file for viruses.</p>'
                    f'<form id="download-form" action="{fake.base}/download" method="get">{hidden}'
                    f'<input type="submit" value="Download anyway"></form></body></html>')
            self._send(200, page.encode(), "text/html; charset=utf-8")
        else:
            self._send(200, b"<html><body>Too many users have viewed or downloaded this file.</body></html>",
                       "text/html")

    def _file(self, fake: FakeServer, path: str, data: bytes) -> None:
        start, status, headers = 0, 200, {}
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if match and not fake.ignore_range:
            start = int(match.group(1))
            if start >= len(data):
                self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{len(data)}"})
                return
            status, headers = 206, {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
        body = data[start:]
        if fake.cut.get(path):
            fake.cut[path] -= 1
            body = body[: len(body) // 2]
        elif fake.drop.get(path):
            fake.drop[path] -= 1
            body = b""
        else:
            self._send(status, data[start:], fake.content_types.get(path, "application/octet-stream"), headers)
            return
        self._send(status, body, "application/octet-stream", {**headers, "Content-Length": str(len(data) - start)})
        self.close_connection = True

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {"Content-Type": content_type, "Content-Length": str(len(body)), **(headers or {})}
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


@pytest.fixture
def server():
    fake = FakeServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.fake = fake
    fake.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A private cache, an empty override catalog, no proxy for 127.0.0.1 and no waiting between retries."""
    monkeypatch.setenv("LUCIDSONICDREAMS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setattr(download, "_RETRY_DELAY", 0.0)
    write_catalog(tmp_path, monkeypatch, [])


def write_catalog(tmp_path: Path, monkeypatch, entries: list[dict]) -> None:
    path = tmp_path / "override.json"
    path.write_text(json.dumps({"styles": entries}))
    monkeypatch.setenv("LUCIDSONICDREAMS_CATALOG", str(path))


def entry(name: str, url: str, data: bytes | None = DATA, **extra) -> dict:
    """A catalog entry; with ``data``, its size and sha256."""
    checks = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()} if data is not None else {}
    return {"name": name, "url": url, "format": "pytorch", "resolution": 16, **checks, **extra}


def cached_files(tmp_path: Path) -> list[str]:
    folder = tmp_path / "cache" / "styles"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_download_completes_and_verifies(server, tmp_path, monkeypatch):
    server.files["/model.pkl"] = DATA
    write_catalog(tmp_path, monkeypatch, [entry("Test Model", server.base + "/model.pkl")])
    path = download_style("test model")
    assert path.read_bytes() == DATA
    assert path.parent == tmp_path / "cache" / "styles" and path.suffix == ".pkl"
    assert cached_files(tmp_path) == [path.name]
    assert len(server.requests) == 1


@pytest.mark.parametrize("catalog_knows", [True, False], ids=["size+sha256", "no checks"])
def test_a_cut_connection_is_resumed_with_a_range_request(server, tmp_path, monkeypatch, catalog_knows):
    server.files["/model.pkl"] = DATA
    server.cut["/model.pkl"] = 1
    write_catalog(tmp_path, monkeypatch, [entry("m", server.base + "/model.pkl", DATA if catalog_knows else None)])
    path = download_style("m")
    first, second = server.headers_of("/model.pkl")
    resumed_at = int(re.fullmatch(r"bytes=(\d+)-", second["Range"]).group(1))
    assert "Range" not in first and 0 < resumed_at <= len(DATA) // 2  # what arrived before the cut is kept
    assert path.read_bytes() == DATA
    assert cached_files(tmp_path) == [path.name]


def test_a_server_that_ignores_range_starts_over(server, tmp_path, monkeypatch):
    server.files["/model.pkl"] = DATA
    server.cut["/model.pkl"] = 1
    server.ignore_range = True
    write_catalog(tmp_path, monkeypatch, [entry("m", server.base + "/model.pkl")])
    assert download_style("m").read_bytes() == DATA
    assert len(server.requests) == 2


def test_a_partial_file_from_an_earlier_run_is_resumed(server, tmp_path, monkeypatch):
    server.files["/model.pkl"] = DATA
    write_catalog(tmp_path, monkeypatch, [entry("m", server.base + "/model.pkl")])
    from lucidsonicdreams.catalog.entries import find_style

    part = download.style_file(find_style("m")).with_suffix(".pkl.part")
    part.parent.mkdir(parents=True)
    part.write_bytes(DATA[:1000])
    assert download_style("m").read_bytes() == DATA
    assert [h["Range"] for h in server.headers_of("/model.pkl")] == ["bytes=1000-"]
    assert not part.exists()


def test_retries_give_up_and_keep_only_the_partial_file(server, tmp_path, monkeypatch):
    server.files["/model.pkl"] = DATA
    server.cut["/model.pkl"] = 1
    server.drop["/model.pkl"] = 99
    write_catalog(tmp_path, monkeypatch, [entry("m", server.base + "/model.pkl")])
    with pytest.raises(DownloadError, match="gave up after 4 attempts"):
        download_style("m")
    assert len(server.requests) == 1 + download.ATTEMPTS
    assert [name.endswith(".part") for name in cached_files(tmp_path)] == [True]
    server.drop.clear()
    assert download_style("m").read_bytes() == DATA  # the next call resumes
    assert server.headers_of("/model.pkl")[-1]["Range"] == f"bytes={len(DATA) // 2 // 65536 * 65536}-"


@pytest.mark.parametrize("problem", ["checksum", "size", "404", "web page"])
def test_failures_name_style_and_url_and_leave_no_usable_file(server, tmp_path, monkeypatch, problem):
    server.files["/model.pkl"] = DATA
    server.files["/page"] = b"<html>sign in</html>"
    server.content_types["/page"] = "text/html"
    url = server.base + {"404": "/missing.pkl", "web page": "/page"}.get(problem, "/model.pkl")
    catalog = {"checksum": entry("Broken One", url, DATA[::-1]), "size": entry("Broken One", url, DATA + b"x")}
    write_catalog(tmp_path, monkeypatch, [catalog.get(problem, entry("Broken One", url))])
    words = {"checksum": "sha256", "size": "bytes", "404": "HTTP 404", "web page": "web page"}[problem]
    for attempt in (1, 2):  # a second call tries again: nothing usable was left behind
        with pytest.raises(DownloadError) as info:
            download_style("broken one")
        message = str(info.value)
        assert "'Broken One'" in message and url in message and words in message
        assert 'style="/path/to/file.pkl"' in message
        assert cached_files(tmp_path) == []
        assert len(server.requests) == attempt


def test_no_network_is_a_download_error(tmp_path, monkeypatch):
    with socket.socket() as sock:  # a port that nothing listens on once the socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/model.pkl"
    write_catalog(tmp_path, monkeypatch, [entry("m", url)])
    with pytest.raises(DownloadError, match=f"'m' from {re.escape(url)}: gave up .*connection failed"):
        download_style("m")
    assert cached_files(tmp_path) == []


def test_a_file_that_no_longer_verifies_is_downloaded_again(server, tmp_path, monkeypatch):
    server.files["/model.pkl"] = DATA
    write_catalog(tmp_path, monkeypatch, [entry("m", server.base + "/model.pkl")])
    path = download_style("m")
    path.write_bytes(b"damaged")
    assert download_style("m").read_bytes() == DATA
    assert len(server.requests) == 2


def test_a_cached_style_needs_no_request(server, tmp_path, monkeypatch):
    server.files["/model.pkl"] = DATA
    write_catalog(tmp_path, monkeypatch, [entry("m", server.base + "/model.pkl")])
    first = download_style("m")
    server.requests.clear()
    assert download_style("M") == first
    assert server.requests == []


def test_a_new_url_for_a_name_is_a_new_file(server, tmp_path, monkeypatch):
    server.files["/a.pkl"] = b"model a"
    server.files["/b.pkl"] = b"model b"
    write_catalog(tmp_path, monkeypatch, [entry("m", server.base + "/a.pkl", None)])
    assert download_style("m").read_bytes() == b"model a"
    write_catalog(tmp_path, monkeypatch, [entry("m", server.base + "/b.pkl", None)])
    assert download_style("m").read_bytes() == b"model b"


@pytest.mark.parametrize("page", ["form", "cookie"])
@pytest.mark.parametrize("link", [f"https://drive.google.com/file/d/{DRIVE_ID}/view?usp=sharing",
                                  f"https://drive.google.com/uc?id={DRIVE_ID}",
                                  f"https://drive.google.com/open?id={DRIVE_ID}"])
def test_google_drive_links_pass_the_large_file_confirmation(server, tmp_path, monkeypatch, page, link):
    server.drive_page = page
    to_drive = download._request
    monkeypatch.setattr(download, "_request", lambda session, method, url, **kw: to_drive(
        session, method, url.replace("https://drive.google.com", server.base), **kw))
    write_catalog(tmp_path, monkeypatch, [entry("drive model", link)])
    assert download_style("drive model").read_bytes() == DATA
    first, second = (urlsplit(path) for path, _ in server.requests)
    assert (first.path, parse_qs(first.query)) == ("/uc", {"export": ["download"], "id": [DRIVE_ID]})
    if page == "form":
        assert (second.path, {k: v[0] for k, v in parse_qs(second.query).items()}) == ("/download", FORM_FIELDS)
    else:
        assert second.path == "/uc" and parse_qs(second.query)["confirm"] == [DRIVE_TOKEN]
        assert DRIVE_TOKEN in server.requests[1][1]["Cookie"]


def test_a_google_drive_page_without_a_link_fails_clearly(server, tmp_path, monkeypatch):
    server.drive_page = "nothing"
    to_drive = download._request
    monkeypatch.setattr(download, "_request", lambda session, method, url, **kw: to_drive(
        session, method, url.replace("https://drive.google.com", server.base), **kw))
    write_catalog(tmp_path, monkeypatch, [entry("drive model", f"https://drive.google.com/uc?id={DRIVE_ID}")])
    with pytest.raises(DownloadError, match="no download link.*drive.google.com|drive.google.com.*no download link"):
        download_style("drive model")
    assert cached_files(tmp_path) == []


def test_yandex_disk_share_links_resolve_through_the_public_api(server, tmp_path, monkeypatch):
    server.files["/yandex-file.pkl"] = DATA
    to_server = download._request
    monkeypatch.setattr(download, "_request", lambda session, method, url, **kw: to_server(
        session, method, url.replace("https://cloud-api.yandex.net", server.base), **kw))
    write_catalog(tmp_path, monkeypatch, [entry("doors", YANDEX_LINK)])
    assert download_style("doors").read_bytes() == DATA
    write_catalog(tmp_path, monkeypatch, [entry("gone", "https://yadi.sk/d/missing")])
    with pytest.raises(DownloadError, match="Yandex Disk"):
        download_style("gone")


def test_mega_links_fail_without_a_request(server, tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("no request may be made")

    monkeypatch.setattr(download, "_request", no_network)
    url = "https://mega.nz/file/AbCdEf#key"
    write_catalog(tmp_path, monkeypatch, [entry("on mega", url)])
    with pytest.raises(DownloadError) as info:
        download_style("on mega")
    assert url in str(info.value) and "mega.nz" in str(info.value) and "by hand" in str(info.value)
    assert server.requests == []


def test_names_that_cannot_be_downloaded(tmp_path, monkeypatch):
    write_catalog(tmp_path, monkeypatch, [
        {"name": "old gan", "url": "https://example.invalid/old.pkl", "format": "stylegan1"}])
    with pytest.raises(ValueError, match="needs no download"):
        download_style("CPPN")
    with pytest.raises(ValueError, match="show_styles"):
        download_style("no such style")
    with pytest.raises(ModelFileError, match="'old gan'.*StyleGAN1"):
        download_style("old gan")


TINY_GAN = {"z_dim": 16, "c_dim": 0, "w_dim": 16, "img_resolution": 16, "img_channels": 3,
            "mapping_kwargs": {"num_layers": 2}, "channel_base": 256, "channel_max": 16}


def tiny_gan_pickle(path: Path) -> bytes:
    write_pytorch_pickle(path, "stylegan2", TINY_GAN, stylegan2.Generator(**TINY_GAN).state_dict())
    return path.read_bytes()


def test_a_catalog_style_renders_end_to_end(server, song, tmp_path, monkeypatch):
    data = tiny_gan_pickle(tmp_path / "tiny.pkl")
    server.files["/tiny.pkl"] = data
    write_catalog(tmp_path, monkeypatch, [entry("Tiny GAN", server.base + "/tiny.pkl", data)])
    resolve_style("tiny gan", None, None)
    assert server.requests == []  # checking the argument downloads nothing
    dream = LucidSonicDream(song, style="TINY gan")
    assert len(server.requests) == 1 and (dream.input_shape, dream.num_possible_classes) == (16, 0)
    info = probe(dream.hallucinate(tmp_path / "v.mp4", fps=10, duration=1, batch_size=4, seed=1))
    assert len(info["frames"]) == 10 and (info["width"], info["height"]) == (16, 16)
    LucidSonicDream(song, style="Tiny GAN")
    assert len(server.requests) == 1  # the second dream uses the cached file


def test_an_existing_file_wins_over_a_catalog_name(server, song, tmp_path, monkeypatch):
    tiny_gan_pickle(tmp_path / "tiny gan")
    write_catalog(tmp_path, monkeypatch, [entry("tiny gan", server.base + "/tiny.pkl")])
    monkeypatch.chdir(tmp_path)
    assert LucidSonicDream(song, style="tiny gan").input_shape == 16
    assert server.requests == []
