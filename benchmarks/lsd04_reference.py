"""Run the published 0.4 ``lucidsonicdreams`` analysis and vector maths on a song and record everything.

    python benchmarks/lsd04_reference.py --lsd04 PATH SONG --input-shape N --out FILE.npz [--fps 43]
        [--speed-fpm X] [--motion-randomness X] [--class-smooth-seconds X] [--contrast-strength X]
        [--flash-strength X] [--seed N] [--duration S] ...

What it is for: comparing our signals with 0.4's -- making golden test fixtures, fidelity checks, and the
speed benchmark. PATH is a checkout of the 2021 package (mikael-alafriz-deel/lucid-sonic-dreams) that the user
gives; none ships with this project and nothing of it is copied here. It is run in-process exactly as published:
``LucidSonicDream(song, style=<function>, input_shape=N, num_possible_classes=12)`` gets the attributes that
``hallucinate()`` sets (0.4's defaults, read from its signature, overridable), then its own ``load_specs()``,
``setup_effects()``, ``transform_classes()`` and ``generate_vectors()`` run; no frames, no video.

To import it without TensorFlow, moviepy, pygit2, dnnlib, pandas, gdown or mega, those are stub modules while it
loads (under a private package name, so it never clashes with ours), from a temporary directory holding an empty
``stylegan2/`` so that no repository is cloned. For the run only: ``librosa.get_duration`` accepts 0.4's
positional ``(y, sr)`` (librosa >= 0.10 made them keyword-only), and 0.4's module-level ``random`` and
``truncnorm`` are recording proxies over the real, seeded generators so a test can replay every draw:

* ``base_keys`` -- each ``truncnorm.rvs(-2, 2, size=(1, N))`` draw, row 0, raw float64; 0.4 uses
  ``truncation * draw.astype(float32)``.
* ``motion_signs_initial`` and ``rand_factors`` -- the ``random.choice`` draws: N signs, then every redraw of
  the randomness factors in order (the one before the frame loop, then at frames 0, round(4 * fps), ...).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import inspect
import os
import random
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import librosa
import numpy as np

# Modules 0.4 imports for rendering, downloads and the TensorFlow StyleGAN; none is used by the maths run here.
STUBS: dict[str, dict[str, Any]] = {
    "tensorflow": {},
    "moviepy": {},
    "moviepy.editor": {},
    "moviepy.audio": {},
    "moviepy.audio.AudioClip": {"AudioArrayClip": object},
    "pygit2": {},
    "dnnlib": {},
    "dnnlib.tflib": {},
    "dnnlib.tflib.tfutil": {},
    "pandas": {},
    "gdown": {},
    "mega": {"Mega": object},
}
# hallucinate() arguments that only concern the rendering; batch_size is pinned to 1.
NOT_SETTINGS = ("self", "file_name", "output_audio", "resolution", "save_frames", "batch_size")
# Extra audio inputs, given to the constructor.
AUDIO_ARGS = ("pulse_audio", "motion_audio", "class_audio", "contrast_audio", "flash_audio")

_loaded: dict[Path, types.ModuleType] = {}


def _no_style(noise_batch, class_batch):
    """A function style for the constructor's checks; no frames are ever drawn."""
    raise RuntimeError("lsd04_reference does not render frames")


@contextlib.contextmanager
def _stub_modules():
    """Put the stubs in sys.modules while 0.4 imports, then restore whatever was there before."""
    saved = {name: sys.modules.get(name) for name in STUBS}
    for name, attrs in STUBS.items():
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        sys.modules[name] = module
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def load_lsd04(checkout: Path) -> types.ModuleType:
    """Import 0.4's ``main`` module from ``checkout`` (the repository root or its ``lucidsonicdreams/``)."""
    checkout = Path(checkout).resolve()
    package_dir = checkout if (checkout / "main.py").is_file() else checkout / "lucidsonicdreams"
    if not (package_dir / "main.py").is_file():
        raise FileNotFoundError(f"no lucidsonicdreams/main.py under {checkout}")
    if package_dir in _loaded:
        return _loaded[package_dir]
    name = "_lsd04_" + hashlib.sha1(str(package_dir).encode()).hexdigest()[:8]
    spec = importlib.util.spec_from_file_location(
        name, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
    )
    package = importlib.util.module_from_spec(spec)
    cwd = os.getcwd()
    sys.modules[name] = package
    try:
        with _stub_modules(), tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "stylegan2").mkdir()  # main.py clones StyleGAN2-ADA unless this exists, then chdirs in
            os.chdir(tmp)
            spec.loader.exec_module(package)
    except BaseException:
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]
        raise
    finally:
        os.chdir(cwd)
    _loaded[package_dir] = sys.modules[name + ".main"]
    return _loaded[package_dir]


class _RecordingRandom:
    """0.4's view of ``random``: ``choice`` is logged, everything else is the real module."""

    def __init__(self, log: list) -> None:
        self._log = log

    def choice(self, seq):
        value = random.choice(seq)
        self._log.append(value)
        return value

    def __getattr__(self, name: str):
        return getattr(random, name)


class _RecordingTruncnorm:
    """0.4's view of ``scipy.stats.truncnorm``: ``rvs`` draws are logged."""

    def __init__(self, real, log: list) -> None:
        self._real, self._log = real, log

    def rvs(self, *args, **kwargs):
        draw = self._real.rvs(*args, **kwargs)
        self._log.append(np.array(draw, dtype=np.float64, copy=True))
        return draw

    def __getattr__(self, name: str):
        return getattr(self._real, name)


def _positional_get_duration(real):
    def get_duration(*args, **kwargs):
        kwargs.update(zip(("y", "sr"), args))  # 0.4 calls get_duration(wav, sr)
        return real(**kwargs)

    return get_duration


@contextlib.contextmanager
def _patched(main: types.ModuleType, choices: list, keys: list):
    saved = main.random, main.truncnorm, librosa.get_duration
    main.random = _RecordingRandom(choices)
    main.truncnorm = _RecordingTruncnorm(saved[1], keys)
    librosa.get_duration = _positional_get_duration(saved[2])
    try:
        yield
    finally:
        main.random, main.truncnorm, librosa.get_duration = saved


def lsd04_defaults(main: types.ModuleType) -> dict[str, Any]:
    """0.4's ``hallucinate()`` defaults for everything that affects the signals."""
    params = inspect.signature(main.LucidSonicDream.hallucinate).parameters
    return {k: p.default for k, p in params.items() if k not in NOT_SETTINGS}


def run_lsd04(
    checkout: Path, song: Path, *, input_shape: int, seed: int = 0, fps: int = 43, **kwargs
) -> dict[str, np.ndarray]:
    """Run 0.4's analysis and vector maths on ``song``; ``kwargs`` override ``hallucinate()`` defaults.

    Keys: ``spec_norm_pulse/motion/class``, ``chrom_class`` (12, n), ``frame_duration``, ``sr``, ``fps``,
    ``noise`` (n, input_shape), ``class_vecs`` (n, 12), ``classes`` (12, after transform_classes),
    ``base_keys``, ``motion_signs_initial``, ``rand_factors``, ``effect_<i>_spec`` and ``effect_names`` for the
    effects that are on (contrast before flash), ``setting_<name>`` for each non-None scalar setting, and
    ``time_load_specs``, ``time_setup_effects``, ``time_generate_vectors`` in seconds.
    """
    main = load_lsd04(checkout)
    settings = {**lsd04_defaults(main), "fps": fps}
    audio = {k: kwargs.pop(k) for k in AUDIO_ARGS if k in kwargs}
    unknown = set(kwargs) - set(settings)
    if unknown:
        raise TypeError(f"not 0.4 hallucinate() settings: {sorted(unknown)}")
    settings.update(kwargs)

    dream = main.LucidSonicDream(
        str(song),
        style=_no_style,
        input_shape=input_shape,
        num_possible_classes=12,
        **{k: str(v) if v is not None else None for k, v in audio.items()},
    )
    dream.file_name, dream.resolution, dream.batch_size = "lsd04_reference.mp4", None, 1
    for key, value in settings.items():
        setattr(dream, key, list(value) if isinstance(value, (list, tuple)) else value)

    random.seed(seed)
    np.random.seed(seed)
    choices: list = []
    keys: list[np.ndarray] = []
    with _patched(main, choices, keys):
        t0 = time.perf_counter()
        dream.load_specs()
        t1 = time.perf_counter()
        dream.setup_effects()
        t2 = time.perf_counter()
        dream.transform_classes()
        classes = np.array(dream.classes)  # generate_vectors rotates dream.classes on shuffle frames
        t3 = time.perf_counter()
        dream.generate_vectors()
        t4 = time.perf_counter()
    times = {"load_specs": t1 - t0, "setup_effects": t2 - t1, "generate_vectors": t4 - t3}

    if len(choices) % input_shape or len(choices) < 2 * input_shape:
        raise RuntimeError(f"unexpected number of random.choice draws: {len(choices)}")
    draws = np.array(choices, dtype=np.float64).reshape(-1, input_shape)
    out = {
        "spec_norm_pulse": np.asarray(dream.spec_norm_pulse),
        "spec_norm_motion": np.asarray(dream.spec_norm_motion),
        "spec_norm_class": np.asarray(dream.spec_norm_class),
        "chrom_class": np.asarray(dream.chrom_class),
        "frame_duration": np.array(dream.frame_duration),
        "sr": np.array(dream.sr),
        "fps": np.array(fps),
        "noise": np.asarray(dream.noise, dtype=np.float64),
        "class_vecs": np.asarray(dream.class_vecs, dtype=np.float64),
        "classes": classes,
        "base_keys": np.stack([k.reshape(k.shape[0], -1)[0] for k in keys]),
        "motion_signs_initial": draws[0],
        "rand_factors": draws[1:],
        "effect_names": np.array([e.func.__name__ for e in dream.custom_effects], dtype=str),
    }
    for i, effect in enumerate(dream.custom_effects):
        out[f"effect_{i}_spec"] = np.asarray(effect.spec)
    for key, value in settings.items():
        if isinstance(value, (bool, int, float)):
            out[f"setting_{key}"] = np.array(value)
    for key, value in times.items():
        out[f"time_{key}"] = np.array(value)
    return out


def _number(text: str) -> int | float:
    """An int when it is one: 0.4 needs ``class_smooth_seconds * fps`` to be an int for slicing."""
    value = float(text)
    return int(value) if value.is_integer() else value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lsd04", type=Path, required=True, help="checkout of the published 0.4 package")
    parser.add_argument("song", type=Path)
    parser.add_argument("--input-shape", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True, help=".npz to write")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fps", type=int, default=43)
    options = (
        "start",
        "duration",
        "speed_fpm",
        "pulse_react",
        "motion_react",
        "motion_randomness",
        "truncation",
        "class_pitch_react",
        "class_smooth_seconds",
        "class_complexity",
        "contrast_strength",
        "flash_strength",
    )
    for name in options:
        parser.add_argument("--" + name.replace("_", "-"), type=_number, default=None, dest=name)
    args = parser.parse_args(argv)

    kwargs = {name: getattr(args, name) for name in options if getattr(args, name) is not None}
    result = run_lsd04(args.lsd04, args.song, input_shape=args.input_shape, seed=args.seed, fps=args.fps, **kwargs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **result)

    n = len(result["noise"])
    rate = float(result["sr"] / result["frame_duration"])
    print(f"{args.out}: {n} frames, hop {int(result['frame_duration'])} samples ({rate:.3f} frames/s)")
    for key in ("load_specs", "setup_effects", "generate_vectors"):
        print(f"  {key:17s} {float(result['time_' + key]):8.3f} s")


if __name__ == "__main__":
    main()
