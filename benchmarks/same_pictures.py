"""Fixed-seed renders, digested frame by frame, to prove a refactor keeps every picture.

    python benchmarks/same_pictures.py --write before.json    # on the old code
    python benchmarks/same_pictures.py --check before.json    # on the new code: exit 1 on any difference

Each case renders a synthesized song with a fixed seed and keeps its frames (``save_frames``, the exact pixels
before encoding); the digest is a SHA-256 per frame of the decoded PNG pixels, plus one over the decoded MP4
frames. Digests depend on the machine's float arithmetic: compare runs on one machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from lucidsonicdreams import EffectsGenerator, LucidSonicDream
from lucidsonicdreams.audio.demo import synthesize_song

SR = 22050


def _write(path: Path, y: np.ndarray) -> Path:
    import soundfile

    soundfile.write(str(path), y.astype(np.float32), SR)
    return path


def _function_style(noise_batch, class_batch):
    """A deterministic numpy style: stripes from the noise, tint from the classes."""
    x = np.linspace(-1, 1, 32)
    images = np.sin(noise_batch[:, :32, None] * 3 + x[None, None, :]) * 0.8
    tint = class_batch[:, :3].sum(axis=1)[:, None, None] * 0.1
    return np.clip(np.stack([images, images * 0.5, images + tint], axis=-1), -1, 1)


def _invert(array, strength, amplitude):
    return np.where(amplitude * strength > 0.2, 255 - array, array).astype(np.uint8)


def cases(folder: Path) -> dict[str, tuple[dict, dict]]:
    song = _write(folder / "song.wav", synthesize_song(seconds=6.0, sr=SR, seed=3))
    drums = _write(folder / "drums.wav", synthesize_song(seconds=5.0, sr=SR, seed=4) * 0.5)
    common = {"fps": 12, "resolution": 64, "seed": 11, "save_frames": True}
    return {
        "cppn-default": ({"song": song}, {**common}),
        "cppn-beat-sections": ({"song": song}, {**common, "beat_react": 0.8, "sections": True}),
        "cppn-stems-effects": (
            {"song": song, "pulse_audio": drums, "flash_audio": drums},
            {**common, "contrast_strength": 0.6, "flash_strength": 0.4, "batch_size": 3,
             "custom_effects": [EffectsGenerator(_invert, audio=drums, strength=0.5)]},
        ),
        "function-style": (
            {"song": song, "style": _function_style, "input_shape": 64, "num_possible_classes": 5},
            {**common, "resolution": (48, 32), "classes": [0, 2, 4], "class_shuffle_seconds": 2},
        ),
    }


def _digest(arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def render_digests() -> dict[str, dict]:
    import av

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, (make, render) in cases(folder).items():
            target = folder / f"{name}.mp4"
            LucidSonicDream(**make).hallucinate(target, **render)
            pngs = sorted((folder / f"{name}_frames").glob("*.png"))
            frames = [np.asarray(Image.open(p)) for p in pngs]
            with av.open(str(target)) as container:
                video = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
            out[name] = {"frames": [_digest([f]) for f in frames], "video": _digest(video), "n": len(frames)}
            print(f"{name}: {len(frames)} frames", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", type=Path, help="write the digests to this JSON file")
    action.add_argument("--check", type=Path, help="compare with the digests in this JSON file")
    args = parser.parse_args()
    digests = render_digests()
    if args.write:
        args.write.write_text(json.dumps(digests, indent=1))
        print(f"wrote {args.write}")
        return 0
    expected = json.loads(args.check.read_text())
    failed = False
    for name, want in expected.items():
        got = digests.get(name)
        if got is None:
            print(f"{name}: missing")
            failed = True
            continue
        diff = [i for i, (a, b) in enumerate(zip(want["frames"], got["frames"])) if a != b]
        same_video = want["video"] == got["video"]
        ok = not diff and want["n"] == got["n"] and same_video
        failed |= not ok
        print(f"{name}: {'identical' if ok else 'DIFFERENT'} ({got['n']} frames; frames differing: {diff[:10]}; "
              f"decoded video {'identical' if same_video else 'different'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
