"""Web app preview speed: a 5 s preview at 256 px with ``cppn``, through the API as the page calls it.

    python benchmarks/bench_ui.py [--song FILE] [--seconds 60] [--model FILE.pkl]

Starts the app in this process on a free port (as ``lucidsonicdreams ui`` does, warm-up included), waits for
the warm-up, then times with ``gradio_client``: the first preview of an upload (decode, separation, beats,
sections, render, encode, transfer) and a second preview of the same upload with other visual settings (the
analysis is cached). With ``--model``, also a third one of the same upload with that model file as the style
(the decoded song and its analysis, separated parts, beats and sections included, are shared by every style;
a style with another latent size only works out its amplitude envelopes at its own mel-band count). Without
``--song``, a synthesized song of ``--seconds``.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

from gradio_client import Client, handle_file

from lucidsonicdreams.app.page import serve
from lucidsonicdreams.audio.demo import write_demo_song


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--song", type=Path)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--model", type=Path, help="a StyleGAN .pkl to time a preview in another style")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        song = args.song or write_demo_song(Path(tmp) / "song.wav", seconds=args.seconds)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        page = serve("127.0.0.1", port, Path(tmp) / "work", block=False)
        for thread in threading.enumerate():
            if thread.name == "warm-up":
                thread.join()
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        t0 = time.perf_counter()
        client.predict(song=handle_file(str(song)), start=10, api_name="/preview")
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.predict(song=handle_file(str(song)), start=10, pulse_react=1.2, flash_strength=0.4,
                       api_name="/preview")
        second = time.perf_counter() - t0
        if args.model:
            t0 = time.perf_counter()
            client.predict(song=handle_file(str(song)), start=10, model_file=handle_file(str(args.model)),
                           api_name="/preview")
            third = time.perf_counter() - t0
        page.close()
    print(f"5 s preview at 256 px, cppn ({song.name}): first {first:.1f} s, second (same upload, other settings) "
          f"{second:.1f} s -> {first / second:.1f}x faster")
    if args.model:
        print(f"third (same upload, {args.model.name} as the style): {third:.1f} s")


if __name__ == "__main__":
    main()
