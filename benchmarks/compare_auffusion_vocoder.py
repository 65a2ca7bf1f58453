"""Our HiFi-GAN (``load_vocoder``) against Auffusion's own ``Generator`` on the same files, side by side in one run.

    mkdir -p /tmp/auffusion
    git -C <Auffusion checkout> archive HEAD converter.py | tar -x -C /tmp/auffusion
    python benchmarks/compare_auffusion_vocoder.py --auffusion /tmp/auffusion

Needs a checkout of happylittlecat2333/Auffusion (its ``converter.py`` is imported from ``--auffusion``; it needs
librosa, scipy and Pillow). Random vocoders are written in Auffusion's layout (``vocoder/config.json`` +
``vocoder/vocoder.pt`` = torch.save({"generator": state_dict}) with weight norm's ``weight_g``/``weight_v``), then
loaded by ``Generator.from_pretrained(folder, subfolder="vocoder")`` (which folds the weight norm with
``remove_weight_norm``) and by ours, and both run on the same random log-mel. For each config it prints the
output lengths and the largest absolute difference, which must be at most 1e-5.

Auffusion's real ``vocoder/config.json`` (auffusion/auffusion-full-no-adapter on the hub) is not available offline,
so the "auffusion-size" config is assumed: its mel settings as ``converter.py`` states them (256 bands, 16 kHz, hop
160) on HiFi-GAN V1's layout (resblock "1", kernels 3/7/11, dilations 1/3/5) with upsample rates [5, 4, 2, 2, 2],
kernels [11, 8, 4, 4, 4] and 1024 initial channels. The small configs cover both of Auffusion's transposed
convolution padding rules (even and odd kernel - rate) and both residual block kinds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from lucidsonicdreams.models.hifigan import HifiGan, load_vocoder

TINY = {
    "num_mels": 16, "upsample_rates": [5, 4, 2, 2, 2], "upsample_kernel_sizes": [11, 8, 4, 4, 4],
    "upsample_initial_channel": 32, "resblock": "1", "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5]] * 3, "sampling_rate": 16000,
}
CONFIGS = {
    "tiny-v1": TINY,
    "tiny-v1-odd": {**TINY, "upsample_kernel_sizes": [10, 8, 5, 4, 3]},  # kernel - rate 5, 4, 3, 2, 1
    "tiny-v3-odd": {**TINY, "upsample_kernel_sizes": [10, 8, 5, 4, 3], "resblock": "2",
                    "resblock_kernel_sizes": [3, 5, 7], "resblock_dilation_sizes": [[1, 2], [2, 6], [3, 12]]},
    "auffusion-size": {**TINY, "num_mels": 256, "upsample_initial_channel": 1024, "hop_size": 160,
                       "n_fft": 2048, "win_size": 1024, "fmin": 0, "fmax": 8000},
}


def weight_normed_state(config: dict, seed: int) -> dict[str, torch.Tensor]:
    """Random weights under the names of a weight-normalised HiFi-GAN: every conv's ``weight`` as ``weight_g``
    (one gain per first-dimension slice) and ``weight_v``; biases as they are."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for name, tensor in HifiGan(config).state_dict().items():
        if name.endswith(".weight"):
            prefix = name[: -len(".weight")]
            state[f"{prefix}.weight_v"] = torch.randn(tensor.shape, generator=generator)
            state[f"{prefix}.weight_g"] = 0.8 + 0.6 * torch.rand((tensor.shape[0], 1, 1), generator=generator)
        else:
            state[name] = 0.05 * torch.randn(tensor.shape, generator=generator)
    return state


def compare(name: str, config: dict, root: Path, generator_class, frames: int) -> float:
    folder = root / name
    (folder / "vocoder").mkdir(parents=True)
    (folder / "vocoder" / "config.json").write_text(json.dumps(config))
    torch.save({"generator": weight_normed_state(config, seed=len(name))}, folder / "vocoder" / "vocoder.pt")
    log_mel = torch.randn(2, config["num_mels"], frames, generator=torch.Generator().manual_seed(1)) - 4

    start = time.perf_counter()
    theirs = generator_class.from_pretrained(str(folder), subfolder="vocoder")
    with torch.no_grad():
        expected = theirs(log_mel).squeeze(1)
    their_time = time.perf_counter() - start
    start = time.perf_counter()
    ours = load_vocoder(folder / "vocoder", device="cpu")
    with torch.no_grad():
        got = ours(log_mel)
    our_time = time.perf_counter() - start

    difference = float((got - expected).abs().max())
    hop = math.prod(config["upsample_rates"])
    print(f"{name:15s} frames {frames:3d}  hop {hop}  length ours {got.shape[-1]} / Auffusion "
          f"{expected.shape[-1]} (frames x hop = {frames * hop})  max |diff| {difference:.3g}  "
          f"output std {float(expected.std()):.3f}, saturated {float((expected.abs() > 0.99).float().mean()):.1%}  "
          f"load+run {our_time:.2f} s ours, {their_time:.2f} s Auffusion")
    if got.shape != expected.shape or difference > 1e-5:
        raise SystemExit(f"{name}: our vocoder differs from Auffusion's")
    return difference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--auffusion", type=Path, required=True, help="a folder holding Auffusion's converter.py")
    parser.add_argument("--frames", type=int, default=64, help="log-mel frames per test input")
    args = parser.parse_args()
    if not (args.auffusion / "converter.py").is_file():
        parser.error(f"{args.auffusion} has no converter.py")
    sys.path.insert(0, str(args.auffusion.resolve()))
    from converter import Generator  # Auffusion's own

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LUCIDSONICDREAMS_CACHE"] = str(Path(tmp) / "cache")  # leave the user's cache alone
        worst = max(compare(name, config, Path(tmp), Generator, args.frames) for name, config in CONFIGS.items())
    print(f"largest difference over all configs: {worst:.3g} (limit 1e-5)")


if __name__ == "__main__":
    main()
