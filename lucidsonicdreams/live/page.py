"""The live page (``--serve [PORT]``): the picture full screen in any browser (OBS or Resolume take it as a
browser source), its raw stream at ``/stream`` (multipart MJPEG, for other tools), and sliders for every live
setting. Served on 127.0.0.1 unless told otherwise; a host others can reach asks for ``--auth``.

Every viewer gets the newest frame when it is ready for one: a slow viewer skips frames, it never delays the
show or the other viewers.
"""

from __future__ import annotations

import base64
import hmac
import io
import json
import threading
from dataclasses import fields
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import numpy as np
from PIL import Image

from ..utils.serving import check_address
from .engine import LiveDream, LiveImage
from .vectors import LiveSettings

JPEG_QUALITY = 85
# Slider ranges per setting; the rest go from 0 to 2.
RANGES = {"speed_fpm": (0, 60, 1), "class_smooth_seconds": (0, 4, 0.1), "truncation": (0, 1.5, 0.05)}


class LivePage:
    """A sink that serves the frames to browsers. ``start()`` binds the port (an error names it when it is
    taken); frames arrive through :meth:`frame`; ``close()`` stops the server."""

    def __init__(self, dream: LiveDream, host: str = "127.0.0.1", port: int = 8765, *, auth=None,
                 no_auth: bool = False) -> None:
        self.credentials = check_address(host, port, auth, no_auth)
        self.dream, self.host, self.port = dream, host, port
        self._jpeg: bytes | None = None
        self._index = -1
        self._new = threading.Condition()
        self._closed = False
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> LivePage:
        page = self

        class Handler(_Handler):
            live = page

        try:
            self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        except OSError as exc:
            raise OSError(f"--serve {self.port}: cannot listen on {self.host}:{self.port} ({exc.strerror}); "
                          "another program has it: give another port") from None
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="live-page", daemon=True).start()
        return self

    # The sink interface of LiveDream.run.
    def open(self, size, fps, source) -> None:
        if self._server is None:
            self.start()

    def frame(self, frame: LiveImage) -> None:
        buffer = io.BytesIO()
        Image.fromarray(frame.image).save(buffer, "JPEG", quality=JPEG_QUALITY)
        with self._new:
            self._jpeg, self._index = buffer.getvalue(), frame.index
            self._new.notify_all()

    def close(self) -> None:
        with self._new:
            self._closed = True
            self._new.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def next_jpeg(self, after: int, timeout: float = 5.0) -> tuple[int, bytes | None]:
        """The newest frame after frame ``after`` (waiting for one), or ``(after, None)`` once closed."""
        with self._new:
            self._new.wait_for(lambda: self._closed or self._index > after, timeout=timeout)
            if self._closed:
                return after, None
            return self._index, self._jpeg


class _Handler(BaseHTTPRequestHandler):
    live: LivePage

    def log_message(self, format, *args) -> None:  # a request per frame: not for the terminal
        pass

    def _allowed(self) -> bool:
        expected = self.live.credentials
        if expected is None:
            return True
        given = self.headers.get("Authorization", "")
        token = base64.b64encode(f"{expected[0]}:{expected[1]}".encode()).decode()
        if hmac.compare_digest(given.encode(), f"Basic {token}".encode()):
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="lucidsonicdreams live"')
        self.end_headers()
        return False

    def do_GET(self) -> None:
        if not self._allowed():
            return
        url = urlparse(self.path)
        if url.path == "/":
            self._send(200, "text/html; charset=utf-8", _page().encode())
        elif url.path == "/stream":
            self._stream()
        elif url.path == "/settings":
            self._send(200, "application/json", json.dumps(vars(self.live.dream.settings)).encode())
        elif url.path == "/set":
            self._set(parse_qs(url.query))
        elif url.path == "/cue":
            self._cue(parse_qs(url.query).get("what", [""])[-1])
        else:
            self._send(404, "text/plain", b"not found")

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _set(self, query: dict) -> None:
        changes = {name: _value(name, values[-1]) for name, values in query.items()}
        try:
            self.live.dream.set(**changes)
        except (TypeError, ValueError) as exc:
            self._send(400, "application/json", json.dumps({"error": str(exc)}).encode())
            return
        self._send(200, "application/json", json.dumps(vars(self.live.dream.settings)).encode())

    def _cue(self, what: str) -> None:
        """``hit``, ``section`` (a new look) or ``seed`` (another random seed's path), on the next frame."""
        dream = self.live.dream
        cues = {"hit": dream.hit, "section": dream.section,
                "seed": lambda: dream.reseed(int(np.random.SeedSequence().entropy % 2**63))}
        if what not in cues:
            self._send(400, "application/json", json.dumps({"error": f"cue must be one of {', '.join(cues)}, got "
                                                                     f"{what!r}"}).encode())
            return
        cues[what]()
        self._send(200, "application/json", json.dumps({"cue": what}).encode())

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        index = -1
        try:
            while True:
                index, jpeg = self.live.next_jpeg(index)
                if jpeg is None:
                    return
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                                 + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            return  # the viewer went away


_FLAGS = {f.name for f in fields(LiveSettings) if isinstance(getattr(LiveSettings(), f.name), bool)}
_WORDS = {"true": True, "on": True, "1": True, "false": False, "off": False, "0": False}


def _value(name: str, text: str) -> object:
    """A query's text as the setting's type; what does not read as one goes on as text, for the setting's own
    check to name."""
    if name in _FLAGS:
        return _WORDS.get(text.lower(), text)
    try:
        return float(text)
    except ValueError:
        return text


def _page() -> str:
    controls = []
    for f in fields(LiveSettings):
        if f.name in _FLAGS:
            controls.append(f'<label><input type="checkbox" name="{f.name}"> {f.name}</label>')
        else:
            low, high, step = RANGES.get(f.name, (0, 2, 0.05))
            controls.append(f'<label>{f.name} <input type="range" name="{f.name}" min="{low}" max="{high}" '
                            f'step="{step}"> <output></output></label>')
    return _PAGE.replace("{controls}", "\n".join(controls))


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>lucidsonicdreams live</title>
<style>
html, body { margin: 0; height: 100%; background: #000; overflow: hidden; font: 13px sans-serif; color: #ddd; }
#picture { width: 100vw; height: 100vh; object-fit: contain; display: block; }
#controls { position: fixed; top: 8px; left: 8px; background: rgba(0,0,0,.7); padding: 8px 12px;
            display: grid; gap: 4px; opacity: 0; transition: opacity .3s; }
#controls:hover, body.show #controls { opacity: 1; }
label { display: flex; gap: 8px; align-items: center; justify-content: space-between; }
</style></head>
<body>
<img id="picture" src="stream" alt="live picture">
<form id="controls" title="h shows or hides the controls">
<div><button type="button" data-cue="hit">Hit</button> <button type="button" data-cue="section">New look</button>
<button type="button" data-cue="seed">New seed</button></div>
{controls}
</form>
<script>
const form = document.getElementById("controls");
async function load() {
  const settings = await (await fetch("settings")).json();
  for (const input of form.querySelectorAll("input")) {
    if (input.type === "checkbox") input.checked = settings[input.name];
    else { input.value = settings[input.name]; input.nextElementSibling.value = input.value; }
  }
}
form.addEventListener("input", async (event) => {
  const input = event.target;
  const value = input.type === "checkbox" ? input.checked : input.value;
  if (input.nextElementSibling) input.nextElementSibling.value = value;
  await fetch("set?" + new URLSearchParams({[input.name]: value}));
});
for (const button of form.querySelectorAll("button")) {
  button.addEventListener("click", () => fetch("cue?" + new URLSearchParams({what: button.dataset.cue})));
}
document.addEventListener("keydown", (e) => { if (e.key === "h") document.body.classList.toggle("show"); });
load();
</script>
</body></html>
"""
