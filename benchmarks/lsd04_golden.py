"""Write ``tests/data/lsd04_golden.npz``: 0.4's own signals and vectors on the synthetic golden song.

    python benchmarks/lsd04_golden.py --lsd04 PATH

PATH is a checkout of the published 0.4 package. The fixture pins 0.4's semantics in the tests (amplitude,
pulse, motion, class vectors and effect signals, with every random draw recorded so they can be replayed):

* ``a_*``: 16-dim noise, one base vector, no class smoothing, contrast and flash on, 0.4's other defaults;
* ``b_*``: the same song with other settings for every constant of the maths (truncation, reactivities,
  randomness, class complexity, shuffles, repeated classes, dominant classes first);
* ``m512_*``: the amplitude signals with 512 mel bands (StyleGAN's noise length).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from golden_song import write_golden_song  # noqa: E402
from lsd04_reference import run_lsd04  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "lsd04_golden.npz"
KEEP = ("spec_norm_pulse", "spec_norm_motion", "spec_norm_class", "chrom_class", "noise", "class_vecs", "classes",
        "base_keys", "motion_signs_initial", "rand_factors", "effect_0_spec", "effect_1_spec")
RUNS = {
    "a": dict(input_shape=16, speed_fpm=0, class_smooth_seconds=0, contrast_strength=0.5, flash_strength=0.5),
    "b": dict(input_shape=16, seed=3, speed_fpm=0, class_smooth_seconds=0, truncation=0.6, pulse_react=0.3,
              motion_react=0.7, motion_randomness=0.3, class_pitch_react=0.8, class_complexity=0.7,
              class_shuffle_seconds=2, class_shuffle_strength=0.25, classes=[3, 5, 7, 11, 2],
              dominant_classes_first=True, pulse_percussive=False, pulse_harmonic=True,
              motion_percussive=True, motion_harmonic=False),
    "m512": dict(input_shape=512, speed_fpm=0, class_smooth_seconds=0),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lsd04", type=Path, required=True, help="checkout of the published 0.4 package")
    args = parser.parse_args()
    fixture: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        song = write_golden_song(Path(tmp) / "golden.wav")
        for prefix, kwargs in RUNS.items():
            kwargs = dict(kwargs)
            result = run_lsd04(args.lsd04, song, input_shape=kwargs.pop("input_shape"), seed=kwargs.pop("seed", 0),
                               **kwargs)
            keep = ("spec_norm_pulse", "spec_norm_motion") if prefix == "m512" else KEEP
            fixture.update({f"{prefix}_{k}": result[k] for k in keep if k in result})
            fixture.update({f"{prefix}_setting_{k}": np.asarray(v) for k, v in kwargs.items()})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **fixture)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {len(fixture)} arrays)")


if __name__ == "__main__":
    main()
