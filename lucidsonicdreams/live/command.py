"""``lucidsonicdreams live``: its options and what it runs (the command line wires it in)."""

from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import fields

from ..style.resolve import DEFAULT_STYLE
from ..utils import checks as validation
from .vectors import LiveSettings

DEFAULT_PORT = 8765


def add_live_command(commands) -> None:
    live = commands.add_parser(
        "live", help="draw along with live sound: a sound device, or a file in real time",
        description="Draw a style along with live sound, in real time, to a browser page (--serve), a recording "
                    "(--record) or both. Frames that would be late are dropped, never queued.")
    source = live.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", metavar="SONG", help="play this file in real time (as if it were live)")
    source.add_argument("--input", metavar="DEVICE", help="a sound device's input, by number or name (needs "
                        "`pip install lucidsonicdreams[live]` and PortAudio)")
    source.add_argument("--list-devices", action="store_true", help="list the input devices and stop")
    live.add_argument("--offline", action="store_true",
                      help="with --file: every frame, as fast as they can be drawn (the same frames every time)")
    live.add_argument("--serve", nargs="?", type=int, const=DEFAULT_PORT, metavar="PORT",
                      help=f"show the picture on a page at http://HOST:PORT/ (default port {DEFAULT_PORT}); "
                           "the raw stream is /stream (MJPEG)")
    live.add_argument("--host", default="127.0.0.1", help="address of the page (default: 127.0.0.1, this machine "
                      "only); any other needs --auth or --no-auth")
    live.add_argument("--auth", metavar="USER:PASSWORD", help="ask for this user name and password on the page")
    live.add_argument("--no-auth", action="store_true", help="serve a --host others can reach without a password")
    live.add_argument("--window", action="store_true", help="show the picture in a window (pygame; needs a "
                      "display; F: full screen, Esc: stop)")
    live.add_argument("--record", metavar="FILE", help="also write the frames and the sound to this MP4")
    live.add_argument("--osc-port", type=int, metavar="PORT", help="take OSC messages on this UDP port: "
                      "/SETTING value, /hit, /section, /seed N")
    live.add_argument("--osc-host", default="127.0.0.1", help="address OSC listens on (default: 127.0.0.1; OSC has "
                      "no password, so 0.0.0.0, for TouchOSC on a tablet, lets anyone on the network steer the show)")
    live.add_argument("--seconds", type=float, metavar="N", help="stop after N seconds")
    live.add_argument("--stats", action="store_true", help="print the frames drawn and dropped, fps and latency "
                      "every 5 seconds (they are always printed at the end)")
    live.add_argument("--style", default=DEFAULT_STYLE, help=f"a style, as for render (default: {DEFAULT_STYLE})")
    live.add_argument("--prompt", dest="prompts", action="append", metavar="TEXT", help="a diffusion style's prompt")
    live.add_argument("--resolution", type=int, default=256, metavar="N", help="frame size N x N (default: 256)")
    live.add_argument("--fps", type=float, default=30, help="frames per second (default: 30)")
    live.add_argument("--seed", type=int, help="the picture's seed (default: random)")
    live.add_argument("--classes", type=int, nargs="+", metavar="N", help="the classes the 12 pitches drive")
    live.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    defaults = LiveSettings()
    for f in fields(LiveSettings):
        default = getattr(defaults, f.name)
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, bool):
            live.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=default)
        else:
            live.add_argument(flag, dest=f.name, type=float, default=default, metavar="X",
                              help=f"(default: {default:g}; changes while playing, from the page)")


def run_live(args: argparse.Namespace) -> int:
    from .engine import LiveDream, LiveStats
    from .sinks import RecordSink
    from .sources import DeviceSource, FileSource, list_devices

    if args.list_devices:
        print(list_devices())
        return 0
    if args.offline and not args.file:
        raise ValueError("--offline plays a --file as fast as it can be drawn; it does not go with --input")
    if args.seconds is not None:
        validation.number("--seconds", args.seconds, low=0, low_open=True)
    if args.record:
        validation.video_path(args.record, "--record")
    if args.serve is None and not args.record and not args.window:
        raise ValueError("say where the frames go: --serve [PORT] for a page, --window, --record FILE for a "
                         "video, or several")
    if args.file:
        validation.audio_file("--file", args.file)
    settings = {f.name: getattr(args, f.name) for f in fields(LiveSettings)}
    # Everything that can be refused comes before anything slow: the settings, the page's and OSC's address and
    # port, the window's display, the sound device; then the song is decoded, and the style loads last.
    dream = LiveDream(args.style, resolution=args.resolution, fps=args.fps, seed=args.seed, classes=args.classes,
                      prompts=args.prompts, device=args.device, **settings)
    sinks: list = []
    page = control = source = None
    stats = LiveStats()
    if args.serve is not None:
        from .page import LivePage

        page = LivePage(dream, args.host, args.serve, auth=args.auth, no_auth=args.no_auth)
        sinks.append(page)
    if args.window:
        from .window import WindowSink

        sinks.append(WindowSink())
    if args.record:
        sinks.append(RecordSink(args.record))
    if args.osc_port is not None:
        from .osc import OscControl

        control = OscControl(dream, args.osc_port, args.osc_host)
    if args.stats:
        sinks.append(_Reporter(stats))
    # SIGTERM (a service manager, `kill`) stops the show as Ctrl-C does: the recording is finished, not lost.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        if page is not None:
            page.start()
        if control is not None:
            control.start()
        source = FileSource(args.file, offline=args.offline) if args.file else DeviceSource(_device(args.input))
        if page is not None:
            print(f"live: open {page.url} (the stream alone: {page.url}stream)", flush=True)
        if control is not None:
            print(f"live: OSC on {args.osc_host}:{control.port}", flush=True)
        dream.style  # noqa: B018 - loaded now, so the show starts on time
        print(f"live: {source.name}", flush=True)
        dream.run(source, sinks, seconds=args.seconds, stats=stats)
    except KeyboardInterrupt:
        print("live: stopped", file=sys.stderr)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if control is not None:
            control.close()
        if page is not None:
            page.close()
        if source is not None:
            source.close()
        if stats.drawn or stats.dropped:
            print(stats.summary(), flush=True)
    if args.record and stats.drawn:
        print(f"wrote {args.record}")
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _device(text: str) -> int | str:
    return int(text) if text.strip().isdigit() else text


class _Reporter:
    """``--stats``: one line every 5 seconds of sound."""

    def __init__(self, stats) -> None:
        self.stats, self.next = stats, 5.0

    def open(self, size, fps, source) -> None:
        pass

    def frame(self, frame) -> None:
        if frame.time >= self.next:
            self.next += 5.0
            print(self.stats.summary(), flush=True)

    def close(self) -> None:
        pass
