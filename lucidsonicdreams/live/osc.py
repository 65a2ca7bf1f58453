"""OSC control of a live show (``--osc-port``, python-osc from the ``[live]`` extra), for TouchOSC, a lighting
desk or a sequencer:

- ``/pulse_react 1.2`` (any live setting by its name; ``/set pulse_react 1.2`` too) changes it for the next frame;
- ``/hit`` draws a beat's hit on the next frame; ``/section`` switches to a new look; ``/seed 7`` to another
  seed's path.

OSC has no replies: a message with a bad value is reported as one line on stderr and changes nothing.
"""

from __future__ import annotations

import sys
import threading

from .engine import LiveDream


class OscControl:
    """An OSC server on UDP ``host:port`` that steers ``dream``; ``start()`` binds it (an error names a port in
    use), ``close()`` stops it."""

    def __init__(self, dream: LiveDream, port: int, host: str = "127.0.0.1") -> None:
        try:
            from pythonosc.dispatcher import Dispatcher
            from pythonosc.osc_server import ThreadingOSCUDPServer
        except ImportError:
            raise ImportError("--osc-port needs python-osc: pip install 'lucidsonicdreams[live]'") from None
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValueError(f"--osc-port must be a whole number from 1 to 65535, got {port!r}")
        self.dream, self.host, self.port = dream, host, port
        dispatcher = Dispatcher()
        dispatcher.map("/hit", lambda address, *args: dream.hit())
        dispatcher.map("/section", lambda address, *args: dream.section())
        dispatcher.map("/seed", lambda address, *args: self._apply(address, lambda: dream.reseed(*args[:1])))
        dispatcher.map("/set", self._set)
        dispatcher.set_default_handler(self._setting)
        self._server_class = ThreadingOSCUDPServer
        self._dispatcher = dispatcher
        self._server = None
        self.errors: list[str] = []  # what was refused, newest last (also printed)

    def start(self) -> OscControl:
        try:
            self._server = self._server_class((self.host, self.port), self._dispatcher)
        except OSError as exc:
            raise OSError(f"--osc-port {self.port}: cannot listen on {self.host}:{self.port} ({exc.strerror}); "
                          "another program has it: give another port") from None
        threading.Thread(target=self._server.serve_forever, name="live-osc", daemon=True).start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _set(self, address: str, *args) -> None:
        if len(args) != 2 or not isinstance(args[0], str):
            self._report(address, f"give a setting's name and a value, got {list(args)}")
            return
        self._apply(address, lambda: self.dream.set(**{args[0]: args[1]}))

    def _setting(self, address: str, *args) -> None:
        name = address.strip("/")
        if len(args) != 1:
            self._report(address, f"give one value, got {len(args)}")
            return
        self._apply(address, lambda: self.dream.set(**{name: args[0]}))

    def _apply(self, address: str, change) -> None:
        try:
            change()
        except (TypeError, ValueError) as exc:
            self._report(address, str(exc))

    def _report(self, address: str, message: str) -> None:
        line = f"live: OSC {address}: {message}"
        self.errors.append(line)
        print(line, file=sys.stderr, flush=True)
