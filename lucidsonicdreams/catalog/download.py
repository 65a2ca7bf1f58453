"""``download_style``: a catalog style's model file, downloaded once into the cache, resumed and verified.

The file is written to ``<target>.part`` and moved to ``<target>`` only once it is whole and matches the catalog's
size and sha256, so a file at the target is always good; an interrupted ``.part`` stays for the next call to resume.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
from tqdm.auto import tqdm

from ..catalog.entries import BUILTIN_STYLES, CatalogEntry, find_style, style_key
from ..errors import DownloadError, ModelFileError
from ..utils.paths import cache_dir

ATTEMPTS = 4  # attempts in a row that receive nothing before a download gives up
_RETRY_DELAY = 0.5  # seconds before a retry; doubled for each further attempt in a row that received nothing
_TIMEOUT = (15, 60)  # seconds to connect, seconds between received bytes
_CHUNK = 1 << 20
_STREAM_CHUNK = 1 << 16  # bytes per read; a cut connection loses at most the chunk being read
_HEADERS = {"User-Agent": "lucidsonicdreams", "Accept-Encoding": "identity"}  # identity: byte ranges of the file
# Hosts whose files cannot be fetched with plain HTTP requests (they need their own client or a browser).
_NEEDS_OWN_CLIENT = ("mega.nz", "mega.co.nz", "mega.io", "pan.baidu.com", "yun.baidu.com")
_DRIVE_HOSTS = ("drive.google.com", "docs.google.com", "drive.usercontent.google.com")
# Yandex Disk share links name a page; Yandex's public API turns them into a direct link (0.4 did the same).
_YANDEX_HOSTS = ("yadi.sk", "disk.yandex.ru", "disk.yandex.com")
_YANDEX_API = "https://cloud-api.yandex.net/v1/disk/public/resources/download"


class _Failure(Exception):
    """A download problem that retrying will not fix."""


class _Retry(Exception):
    """A download problem worth another attempt (a cut connection, a busy server)."""


_TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
              requests.exceptions.ContentDecodingError, _Retry)


def download_style(name: str) -> Path:
    """The model file of the catalog style ``name`` (any case), downloaded into the cache on first use.

    A file already in ``<cache>/styles/`` that matches the catalog's size and sha256 is returned without any
    network request. Otherwise the file is downloaded with a progress bar, an interrupted download is resumed
    (HTTP Range) a few times on its own, and the result is verified before it is moved into the cache.

    Raises ``ValueError`` for an unknown name or the built-in ``cppn``, :class:`~lucidsonicdreams.ModelFileError`
    for a style the package cannot load, and :class:`~lucidsonicdreams.DownloadError` when the download fails or
    does not verify (the message names the URL, to download the file by hand and pass its path as ``style``).
    """
    style = _catalog_entry(name)
    target = style_file(style)
    if target.is_file():
        if _problem(target, style) is None:
            return target
        target.unlink()
    host = (urlsplit(style.url).hostname or "").lower()
    if any(host == h or host.endswith("." + h) for h in _NEEDS_OWN_CLIENT):
        raise DownloadError(_message(style, f"{host} files cannot be downloaded without that site's own client"))
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    try:
        _fetch(style, part)
    except _Failure as exc:
        raise DownloadError(_message(style, str(exc))) from None
    problem = _problem(part, style)
    if problem is not None:
        part.unlink(missing_ok=True)
        raise DownloadError(_message(style, f"the downloaded file {problem}; it was deleted"))
    os.replace(part, target)
    return target


def style_file(style: CatalogEntry) -> Path:
    """Where the cache keeps ``style``'s file: ``<cache>/styles/<name>-<hash of the URL>.pkl``.

    The URL is part of the name so that an override catalog that points a name at another file never gets the
    old file back.
    """
    safe = re.sub(r"[^a-z0-9._-]+", "-", style.key).strip("-.") or "style"
    url_hash = hashlib.sha256(style.url.encode()).hexdigest()[:8]
    return cache_dir() / "styles" / f"{safe}-{url_hash}.pkl"


def _catalog_entry(name: str) -> CatalogEntry:
    if not isinstance(name, str):
        raise TypeError(f"style name must be a string, got {type(name).__name__}")
    if style_key(name) in BUILTIN_STYLES:
        raise ValueError(f"style {name!r} is built in and needs no download")
    style = find_style(name)
    if style is None:
        raise ValueError(f"unknown style {name!r}; show_styles() or `lucidsonicdreams styles` lists the styles")
    if not style.supported:
        raise ModelFileError(f"style {style.name!r} cannot be used: {style.unsupported_reason}")
    if style.format == "diffusers":
        raise ValueError(f"style {style.name!r} is a diffusion model: DiffusionStyle({style.name!r}, prompts=[...]) "
                         f"fetches it from the Hugging Face hub ({style.hub_id})")
    return style


def _message(style: CatalogEntry, reason: str) -> str:
    return (f"could not download style {style.name!r} from {style.url}: {reason}. Download the file by hand "
            f'(e.g. in a browser) and pass its path instead of the name: style="/path/to/file.pkl"')


def _problem(path: Path, style: CatalogEntry) -> str | None:
    """Why ``path`` is not the catalog's file (by size, then sha256, where the catalog has them), or ``None``."""
    size = path.stat().st_size
    if style.size is not None and size != style.size:
        return f"is {size} bytes, the catalog says {style.size}"
    if style.sha256 is not None:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                digest.update(chunk)
        if digest.hexdigest() != style.sha256:
            return f"has sha256 {digest.hexdigest()}, the catalog says {style.sha256}"
    return None


def _request(session: requests.Session, method: str, url: str, **kwargs) -> requests.Response:
    """Every network request of this module goes through here (tests point it at a local server)."""
    return session.request(method, url, stream=True, timeout=_TIMEOUT, **kwargs)


def _fetch(style: CatalogEntry, part: Path) -> None:
    """Download ``style.url`` into ``part``, resuming what is there; retries cut connections on its own."""
    failures = 0
    with requests.Session() as session, tqdm(total=style.size, unit="B", unit_scale=True, unit_divisor=1024,
                                             desc=f"Downloading {style.name}") as bar:
        session.headers.update(_HEADERS)
        url = _yandex_direct_url(session, _direct_url(style.url))
        while True:
            have = part.stat().st_size if part.exists() else 0
            if style.size is not None and have > style.size:
                part.unlink()
                have = 0
            if style.size is not None and have == style.size:
                return  # whole already (an earlier run stopped before verifying)
            try:
                _attempt(session, url, part, have, style, bar)
                return
            except _TRANSIENT as exc:
                progressed = part.exists() and part.stat().st_size > have
                failures = 0 if progressed else failures + 1
                if failures >= ATTEMPTS:
                    raise _Failure(f"gave up after {ATTEMPTS} attempts in a row that received nothing "
                                   f"({_reason(exc)})") from None
                bar.write(f"Download of {style.name} interrupted ({_reason(exc)}); resuming", file=sys.stderr)
                time.sleep(_RETRY_DELAY * 2 ** max(failures - 1, 0))
            except requests.RequestException as exc:
                raise _Failure(_reason(exc)) from None


def _attempt(session: requests.Session, url: str, part: Path, have: int, style: CatalogEntry, bar: tqdm) -> None:
    """One request: append the rest of the file to ``part`` (or rewrite it, if the server starts over)."""
    headers = {"Range": f"bytes={have}-"} if have else {}
    response = _open(session, url, headers)
    with response:
        status = response.status_code
        if status == 416:  # nothing left after ``have``: whole, or the partial file is not a prefix of this one
            if _range_total(response) == have:
                return
            part.unlink(missing_ok=True)
            raise _Retry("the server could not resume the partial file")
        if status in (429, 500, 502, 503, 504):
            raise _Retry(f"HTTP {status} {response.reason}")
        if status >= 400:
            raise _Failure(f"HTTP {status} {response.reason}")
        if _is_html(response):
            raise _Failure("the server sent a web page instead of the model file (is the link a direct download?)")
        start = _range_start(response) if status == 206 else 0
        if start != have and status == 206:
            part.unlink(missing_ok=True)
            raise _Retry(f"the server resumed at byte {start}, not {have}")
        length = response.headers.get("Content-Length")
        expected = start + int(length) if length and length.isdigit() else None
        total = _range_total(response) if status == 206 else expected
        if total is not None and style.size is not None and total != style.size:
            part.unlink(missing_ok=True)
            raise _Failure(f"the server's file is {total} bytes, the catalog says {style.size}")
        bar.reset(total=total or style.size)
        bar.update(start)
        with open(part, "ab" if start else "wb") as f:
            for chunk in response.iter_content(_STREAM_CHUNK):
                f.write(chunk)
                bar.update(len(chunk))
    size = part.stat().st_size
    if expected is not None and size < expected:
        raise _Retry(f"the connection closed after {size} of {expected} bytes")


def _open(session: requests.Session, url: str, headers: dict[str, str]) -> requests.Response:
    """GET ``url``; a Google Drive large-file confirmation page is answered, and the file's response returned."""
    response = _request(session, "GET", url, headers=headers)
    if not (_is_drive(url) and _is_html(response) and response.ok):
        return response
    with response:
        page, page_url = response.text, response.url
        cookies = list(response.cookies.items()) + list(session.cookies.items())
    token = next((value for key, value in cookies if key.startswith("download_warning")), None)
    if token is not None:
        confirmed = _request(session, "GET", url, params={"confirm": token}, headers=headers)
    else:
        form = _DriveForm()
        form.feed(page)
        if form.action is not None:
            action = urljoin(page_url, form.action)
            data = "data" if form.method == "post" else "params"
            confirmed = _request(session, form.method.upper(), action, headers=headers, **{data: form.inputs})
        elif form.confirm_link is not None:
            confirmed = _request(session, "GET", urljoin(page_url, form.confirm_link), headers=headers)
        else:
            raise _Failure("Google Drive answered with a page that has no download link (is the file shared "
                           "with anyone who has the link? is its download quota exceeded?)")
    if confirmed.ok and _is_html(confirmed):
        confirmed.close()
        raise _Failure("Google Drive did not hand out the file after the confirmation (download quota exceeded?)")
    return confirmed


class _DriveForm(HTMLParser):
    """The download form of a Drive confirmation page (action, method, hidden inputs), or a link with ``confirm=``."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.method = "get"
        self.inputs: dict[str, str] = {}
        self.confirm_link: str | None = None
        self._in_form = False
        self._done = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {key: value or "" for key, value in attrs}
        if tag == "form" and not self._done and "action" in attr:
            self._in_form, self.action, self.inputs = True, attr["action"], {}
            self.method = "post" if attr.get("method", "").lower() == "post" else "get"
        elif tag == "input" and self._in_form and attr.get("type", "").lower() == "hidden" and attr.get("name"):
            self.inputs[attr["name"]] = attr.get("value", "")
        elif tag == "a" and self.confirm_link is None and "confirm=" in attr.get("href", ""):
            self.confirm_link = attr["href"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form = False
            # The download form is the one that sends the file id; keep looking if this one does not.
            self._done = "id" in self.inputs
            if not self._done:
                self.action, self.inputs = None, {}


def _direct_url(url: str) -> str:
    """Google Drive share links (``/file/d/ID/...``, ``?id=ID``) become the ``uc`` download endpoint."""
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in ("drive.google.com", "docs.google.com"):
        return url
    match = re.search(r"/file/d/([\w-]+)", parts.path)
    file_id = match.group(1) if match else parse_qs(parts.query).get("id", [None])[0]
    return f"https://drive.google.com/uc?export=download&id={file_id}" if file_id else url


def _yandex_direct_url(session: requests.Session, url: str) -> str:
    """A Yandex Disk share link's direct download link, from Yandex's public API; other links as they are."""
    if (urlsplit(url).hostname or "").lower() not in _YANDEX_HOSTS:
        return url
    try:
        with _request(session, "GET", _YANDEX_API, params={"public_key": url}) as response:
            if not response.ok:
                raise _Failure(f"Yandex Disk's API answered HTTP {response.status_code} for the share link")
            href = response.json().get("href")
    except (requests.RequestException, ValueError) as exc:
        raise _Failure(f"Yandex Disk's API gave no download link ({_reason(exc)})") from None
    if not isinstance(href, str) or not href:
        raise _Failure("Yandex Disk's API gave no download link")
    return href


def _is_drive(url: str) -> bool:
    return (urlsplit(url).hostname or "").lower() in _DRIVE_HOSTS


def _is_html(response: requests.Response) -> bool:
    return response.headers.get("Content-Type", "").lower().startswith("text/html")


def _range_start(response: requests.Response) -> int | None:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _range_total(response: requests.Response) -> int | None:
    match = re.search(r"/(\d+)$", response.headers.get("Content-Range", "").strip())
    return int(match.group(1)) if match else None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, requests.Timeout):
        return "the server stopped answering"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
        return "the connection broke off"
    if isinstance(exc, requests.ConnectionError):
        return f"connection failed: {exc}"
    return str(exc) or type(exc).__name__
