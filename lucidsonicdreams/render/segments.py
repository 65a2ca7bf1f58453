"""A render as fixed windows of frames, each encoded to its own MP4 segment, joined without re-encoding; and the
manifest that lets a render that died resume where it stopped.

The segments and ``manifest.json`` live in a hidden folder beside the output (``.<name>.parts``). The manifest
holds a key over everything that changes a frame (the plan's vectors and settings, the style's identity, the
package version, the encoder settings and the segmentation); running the same render again draws only the
segments that are missing, and a segment counts only if its size and hash are those the manifest recorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..models.loader import file_sha256
from ..utils.files import write_atomically
from ..version import __version__
from .plan import RenderPlan
from .video import PINNED_ENCODER, read_comment

SEGMENT_SECONDS = 10.0
MANIFEST_VERSION = 1
_log = logging.getLogger("lucidsonicdreams")
# Globals whose text is their value: those a style or effect function reads count in its identity.
_PLAIN = (int, float, str, bytes, bool, tuple, type(None))


def content_hash(path: Path) -> str:
    """The sha256 of an input file (a song, a stem, a style pickle), read once per process while the file stays
    the same: a render's two keys and every preview of it would otherwise read a 300 MB pickle each time."""
    stat = Path(path).stat()
    return _content_hash(str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _content_hash(path: str, size: int, mtime_ns: int) -> str:
    return file_sha256(Path(path))


def frame_rate(fps: float) -> Fraction:
    """The frame rate as an exact ratio: 24 -> 24/1, 29.97002997 (30000/1001 as a float) -> 30000/1001."""
    return Fraction(fps).limit_denominator(1001)


def segment_windows(first: int, end: int, fps: float, seconds: float | None = None) -> list[tuple[int, int]]:
    """The windows of ``[first, end)`` on the render's fixed grid of ``seconds``-long segments (default
    :data:`SEGMENT_SECONDS`), counted from frame 0 whatever the window or the number of workers."""
    size = segment_frames(fps, seconds)
    return [(max(lo, first), min(lo + size, end)) for lo in range(first - first % size, end, size)]


def segment_frames(fps: float, seconds: float | None = None) -> int:
    """Frames in one segment."""
    return max(1, int(round((SEGMENT_SECONDS if seconds is None else seconds) * fps)))


def parts_folder(target: Path) -> Path:
    """Where the segments of ``target`` wait to be joined: a hidden folder beside it."""
    return target.with_name(f".{target.name}.parts")


def render_key(plan: RenderPlan, first: int, end: int, seconds: float | None = None) -> str | None:
    """A digest of everything that changes the frames of ``[first, end)``, or ``None`` when the style cannot be
    identified (a style object: its weights are not known), so nothing may be reused."""
    style = _style_identity(plan)
    if style is None:
        return None
    digest = hashlib.sha256()
    for part in (__version__, MANIFEST_VERSION, PINNED_ENCODER, segment_frames(plan.fps, seconds), first, end,
                 str(frame_rate(plan.fps)), style, plan.style_seed, plan.seed, plan.start, plan.length,
                 repr(plan.options), plan.output.size, plan.output.batch_size, plan.class_order):
        digest.update(repr(part).encode() + b"\0")
    digest.update(content_hash(plan.audio).encode())  # the sound muxed in (output_audio may be any file)
    for array in (plan.noise, plan.classes, *(fx.amplitude for fx in plan.effects)):
        digest.update(np.ascontiguousarray(array).tobytes())
    for fx in plan.effects:
        effect = _function_identity(fx.effect.func)
        if effect is None:
            return None
        digest.update(effect.encode())
    return digest.hexdigest()


def stamp(key: str | None) -> str | None:
    """What a finished video carries in its metadata, so the same render asked again is known done."""
    return None if key is None else f"lucidsonicdreams render {key}"


def is_rendered(target: Path, key: str | None) -> bool:
    """Whether ``target`` is a finished video of the render with ``key``."""
    return key is not None and target.is_file() and read_comment(target) == stamp(key)


def _style_identity(plan: RenderPlan) -> str | None:
    return _source_identity(plan.style)


def _source_identity(source) -> str | None:
    if source.kind == "object":
        return None
    if source.kind == "file":
        return f"file {content_hash(source.value)}"
    if source.kind == "function":
        return _function_identity(source.value)
    if source.kind == "timeline":
        own, others = source.value
        parts = [_source_identity(own), *(_source_identity(s) for s, _ in others)]
        return None if None in parts else " then ".join(
            [parts[0], *(f"{part} (seed {seed})" for part, (_, seed) in zip(parts[1:], others))])
    return source.describe()


def _function_identity(func: object) -> str | None:
    """A function's module, name, compiled code and the values it sees (defaults, closure, simple globals): the
    same source with the same values gives the same identity. ``None`` for another callable (an object whose
    state, unseen here, may change what it draws), or where a value it sees has no stable text."""
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    seen = [getattr(func, "__defaults__", None), getattr(func, "__kwdefaults__", None),
            [cell.cell_contents for cell in (getattr(func, "__closure__", None) or ())],
            {name: value for name, value in getattr(func, "__globals__", {}).items()
             if name in code.co_names and isinstance(value, _PLAIN)}]
    text = repr(seen)
    if " at 0x" in text:  # an object shown by its address: not the same from one run to the next
        return None
    try:
        body = pickle.dumps((code.co_code, code.co_consts, code.co_names, text))
    except (pickle.PicklingError, TypeError):
        return None
    return f"{func.__module__}.{func.__qualname__} {hashlib.sha256(body).hexdigest()}"


# What the settings key leaves out: the seed (an unfinished render's own is reused), and what changes how a render
# is made, never what it draws.
_NOT_IN_SETTINGS = ("seed", "resume", "workers", "ray_address")


def settings_key(values: dict, inputs: Iterable[Path | None], style: str, frames: tuple[int, int]) -> str:
    """A digest of a render's arguments less its seed, its input files' contents and its style: where an
    unfinished render to the same file has this key, a render with ``seed=None`` takes the seed it drew."""
    kept = sorted((k, repr(v)) for k, v in values.items() if k not in _NOT_IN_SETTINGS)
    digest = hashlib.sha256(repr((__version__, kept, style, frames)).encode())
    for path in inputs:
        digest.update(b"-" if path is None else content_hash(path).encode())
    return digest.hexdigest()


def stored_seed(target: Path, key: str) -> int | None:
    """The seed of the unfinished render to ``target`` made with the settings ``key``, if there is one."""
    stored = _read(parts_folder(target) / "manifest.json")
    seed = stored.get("seed") if stored is not None and stored.get("settings") == key else None
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else None


@dataclass
class Manifest:
    """The segments done so far of one render, as stored in ``manifest.json``."""

    folder: Path
    key: str | None
    done: dict[str, dict]
    seed: int | None = None
    settings: str | None = None

    @classmethod
    def open(cls, target: Path, key: str | None, *, resume: bool = True, seed: int | None = None,
             settings: str | None = None) -> Manifest:
        """The manifest of ``target``'s render with ``key``: the one on disk when it is that render's (its
        segments checked later, one by one), else a new one in an emptied folder."""
        folder = parts_folder(target)
        stored = _read(folder / "manifest.json") if resume and key is not None else None
        if stored is not None and stored.get("key") == key and isinstance(stored.get("segments"), dict):
            return cls(folder, key, stored["segments"], seed, settings)
        if folder.exists():
            if stored is not None:
                _log.warning("%s: the unfinished render there was made with other settings; starting over", target)
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        manifest = cls(folder, key, {}, seed, settings)
        manifest.save()
        return manifest

    def segment_path(self, first: int) -> Path:
        return self.folder / f"{first:09d}.mp4"

    def is_done(self, first: int, end: int) -> bool:
        """Whether the segment from ``first`` is on disk whole: the frames, size and hash recorded for it."""
        entry = self.done.get(str(first))
        path = self.segment_path(first)
        if not entry or entry.get("end") != end or not path.is_file() or path.stat().st_size != entry.get("size"):
            return False
        return file_sha256(path) == entry.get("sha256")

    def record(self, first: int, end: int) -> None:
        path = self.segment_path(first)
        self.done[str(first)] = {"end": end, "size": path.stat().st_size, "sha256": file_sha256(path)}
        self.save()

    def save(self) -> None:
        data = {"version": MANIFEST_VERSION, "key": self.key, "seed": self.seed, "settings": self.settings,
                "segments": self.done}
        write_atomically(self.folder / "manifest.json",
                         lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1), encoding="utf-8"))

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def _read(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) and data.get("version") == MANIFEST_VERSION else None
