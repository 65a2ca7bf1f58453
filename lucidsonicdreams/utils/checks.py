"""Checks of user arguments, run before any slow work; each error names the argument, the value and the fix."""

from __future__ import annotations

import inspect
import numbers
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np


def _as_list(value: object) -> object:
    """numpy arrays (and other array-likes with ``tolist``) become lists; anything else is returned as is."""
    return value.tolist() if isinstance(value, np.ndarray) else value


def number(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    integer: bool = False,
) -> float:
    """A real number (an integer if asked) within ``[low, high]`` (or ``(low, high]`` with ``low_open``)."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real if not integer else numbers.Integral):
        raise TypeError(f"{name} must be {kind}, got {value!r}")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    if too_low or (high is not None and value > high):
        left = "(" if low_open else "["
        bounds = f"{left}{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ValueError(f"{name} must be in {bounds}, got {value!r}")
    return int(value) if integer else float(value)


def optional_number(name: str, value: object, **bounds) -> float | None:
    return None if value is None else number(name, value, **bounds)


def text(name: str, value: object, *, optional: bool = False) -> str | None:
    """A non-empty string (or ``None`` when optional)."""
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TypeError(f"{name} must be a non-empty string{' or None' if optional else ''}, got {value!r}")
    return value


def prompts(value: object) -> list[str]:
    """``prompts``: a non-empty list of non-empty strings (one string counts as one prompt)."""
    if isinstance(value, str):
        value = [value]
    value = _as_list(value)
    if not isinstance(value, Sequence) or len(value) == 0:
        raise TypeError(f"prompts must be a non-empty list of strings, got {value!r}")
    for prompt in value:
        if not isinstance(prompt, str) or not prompt.strip():
            raise ValueError(f"every prompt must be a non-empty string, got {prompt!r}")
    return list(value)


def function(name: str, value: object, parameters: tuple[str, ...]) -> Callable:
    """A callable that accepts ``parameters`` as keyword arguments.

    One without a readable signature (some builtins and extension functions) is trusted.
    """
    if not callable(value):
        raise TypeError(f"{name} must be a function (any callable), got {type(value).__name__}")
    accepted = keyword_parameters(value, parameters)
    missing = [] if accepted is None else [p for p in parameters if p not in accepted]
    if missing:
        raise TypeError(f"{name} must accept the keyword arguments {', '.join(parameters)}; "
                        f"{getattr(value, '__name__', type(value).__name__)} lacks {', '.join(missing)}")
    return value


def keyword_parameters(func: Callable, names: Iterable[str], *, through_kwargs: bool = True) -> list[str] | None:
    """Those of ``names`` that ``func`` takes as keyword arguments: by name (not positional-only), or any of them
    through ``**kwargs`` when ``through_kwargs``. ``None`` when its signature cannot be read."""
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return None
    if through_kwargs and any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return list(names)
    by_name = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [n for n in names if n in params and params[n].kind in by_name]


def flag(name: str, value: object, *, optional: bool = False) -> bool | None:
    if optional and value is None:
        return None
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def audio_file(name: str, value: object, *, optional: bool = False) -> Path | None:
    """An existing audio file path."""
    if value is None and optional:
        return None
    return existing_file(name, value, "an audio file")


def existing_file(name: str, value: object, kind: str = "a file") -> Path:
    """An existing file path; ``kind`` says what it should be in messages (e.g. 'an audio file')."""
    if not isinstance(value, (str, Path)):
        raise TypeError(f"{name} must be the path of {kind}, got {type(value).__name__}")
    path = Path(value).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{name}: {kind.split(' ', 1)[-1]} {str(value)!r} does not exist")
    return path


def output_file(name: str, value: object, suffix: str, example: str | None = None) -> Path:
    """A file to write (the argument ``name``): ``suffix`` appended if missing, not a directory, its folder
    existing."""
    example = example or f"out{suffix}"
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise TypeError(f"{name} must be a file path such as {example!r}, got {value!r}")
    path = Path(value).expanduser()
    if path.suffix.lower() != suffix:
        path = path.with_name(path.name + suffix)
    if path.is_dir():
        raise ValueError(f"{name} {str(value)!r} is a directory; give a file name such as {example!r}")
    existing_folder(name, path)
    return path


def video_path(file_name: object, name: str = "file_name") -> Path:
    """The output video (the argument ``name``), with ``.mp4`` appended if missing, in a folder that exists and
    can be written."""
    path = output_file(name, file_name, ".mp4", "song.mp4")
    try:
        fd, probe = tempfile.mkstemp(prefix=".lucidsonicdreams-write-test.", dir=path.parent)
    except OSError as exc:
        raise PermissionError(
            f"{name}: cannot write in the folder {str(path.parent)!r} ({exc.strerror}); choose another folder"
        ) from None
    os.close(fd)
    os.unlink(probe)
    return path


def existing_folder(name: str, path: Path) -> None:
    """The folder that ``path`` (named ``name`` in messages) will be written into must exist."""
    if not path.parent.is_dir():
        raise FileNotFoundError(f"{name}: the folder {str(path.parent)!r} does not exist; create it first")


def not_an_input(path: Path, inputs: Iterable[Path | None]) -> None:
    """Refuse an output path that is one of the input audio files (rendering would replace it)."""
    for source in inputs:
        if source is not None and path.resolve() == Path(source).resolve():
            raise ValueError(f"file_name {str(path)!r} is one of the input audio files; choose another name")


# H.264's largest level (6.2) holds 139264 macroblocks of 16x16 pixels per frame (8192x4320); libx264 and
# players refuse anything wider or taller than 8192 pixels.
MAX_SIDE = 8192
MAX_PIXELS = 139264 * 256


def resolution(value: object) -> tuple[int, int] | None:
    """``None``, a square side, or a ``(width, height)`` pair, as ``(width, height)``; at most what H.264 can
    carry (``MAX_SIDE`` a side, ``MAX_PIXELS`` in all)."""
    value = _as_list(value)
    if value is None:
        return None
    if isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
        size = (number("resolution width", value[0], low=2, high=MAX_SIDE, integer=True),
                number("resolution height", value[1], low=2, high=MAX_SIDE, integer=True))
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        side = number("resolution", value, low=2, high=MAX_SIDE, integer=True)
        size = (side, side)
    else:
        raise TypeError(f"resolution must be None, an integer, or a (width, height) pair, got {value!r}")
    if size[0] * size[1] > MAX_PIXELS:
        raise ValueError(f"resolution {size[0]}x{size[1]} is more than H.264 can encode ({MAX_PIXELS} pixels, "
                         "e.g. 8192x4320); choose a smaller one")
    return size


def memory_fits(name: str, needed_bytes: float, fix: str = "choose a smaller resolution or batch_size") -> None:
    """Refuse work that needs more memory than the machine has available (Linux; elsewhere nothing is checked)."""
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f if ":" in line}
    except OSError:
        return
    available = info.get("MemAvailable")
    if available is not None and needed_bytes > available:
        raise MemoryError(f"{name} needs about {needed_bytes / 2**30:.1f} GiB of memory but "
                          f"{available / 2**30:.1f} GiB is available; {fix}")


def shuffle_seconds(value: object) -> float | list[float] | None:
    """``class_shuffle_seconds``: ``None``, a period in seconds, or a list of timestamps in seconds."""
    value = _as_list(value)
    if value is None:
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return number("class_shuffle_seconds", value, low=0, low_open=True)
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [number("class_shuffle_seconds[]", t, low=0) for t in value]
    raise TypeError(f"class_shuffle_seconds must be None, a number of seconds or a list of timestamps, got {value!r}")


def class_list(value: object, num_classes: int) -> list[int] | None:
    """``classes``: ``None`` or a non-empty list of class indices valid for the style."""
    value = _as_list(value)
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TypeError(f"classes must be None or a list of class indices, got {value!r}")
    if len(value) == 0:
        raise ValueError("classes must be None or a non-empty list of class indices, got []")
    if num_classes == 0:
        return [number("classes[]", c, low=0, integer=True) for c in value]
    return [number("classes[]", c, low=0, high=num_classes - 1, integer=True) for c in value]
