"""Speed of our StyleGAN2 generator, and of NVIDIA's on the same weights when a checkout of their code is given.

    python benchmarks/bench_stylegan2.py [--resolution 256] [--batch 4] [--runs 5] [--device cpu|cuda] [--fp16]
                                         [--nvidia PATH_TO_CHECKOUT]

Builds a config-f layout (z_dim = w_dim = 512, 8 mapping layers, channel_base 32768, channel_max 512, 'skip'
output) with random weights and times ``G(z, None, truncation_psi=0.7, noise_mode='const')``: warm-up, then the
median of ``--runs`` batches, as frames per second. ``--fp16`` runs the four highest resolutions in float16 with
``conv_clamp=256`` (CUDA only, as in NVIDIA's files).

``--nvidia`` takes a checkout of NVlabs/stylegan3 (``training/networks_stylegan2.py``) or NVlabs/stylegan2-ada-pytorch
(``training/networks.py``). NVIDIA's generator is built with the same configuration, its weights are copied into
ours, the outputs are compared, and both are timed in alternation in the same process; the ratio printed is our
frames per second over theirs. Their code is imported from the checkout, never copied.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from compare_nvidia import randomize, shim_old_imports  # the sibling script in benchmarks/

from lucidsonicdreams.models.stylegan2 import Generator


def config(resolution: int, fp16: bool) -> dict:
    """Generator constructor arguments of a full-width config-f layout, StyleGAN3-repository style."""
    return dict(
        z_dim=512,
        c_dim=0,
        w_dim=512,
        img_resolution=resolution,
        img_channels=3,
        mapping_kwargs=dict(num_layers=8),
        channel_base=32768,
        channel_max=512,
        architecture="skip",
        num_fp16_res=4 if fp16 else 0,
        conv_clamp=256 if fp16 else None,
    )


def load_nvidia(checkout: Path) -> tuple[type, bool]:
    """NVIDIA's StyleGAN2 ``Generator`` class from a checkout of their repository, and whether it takes its
    synthesis arguments nested in ``synthesis_kwargs`` (stylegan2-ada-pytorch does)."""
    sys.path.insert(0, str(checkout))
    shim_old_imports()
    if (checkout / "training" / "networks_stylegan2.py").exists():
        from training.networks_stylegan2 import Generator as NVGenerator

        return NVGenerator, False
    if (checkout / "training" / "networks.py").exists():
        from training.networks import Generator as NVGenerator

        return NVGenerator, True
    raise SystemExit(f"{checkout} is neither a stylegan3 nor a stylegan2-ada-pytorch checkout")


def nvidia_kwargs(kwargs: dict, nested: bool) -> dict:
    """The same configuration in the layout NVIDIA's class takes."""
    if nested:
        synth = {k: v for k, v in kwargs.items() if k not in _TOP_LEVEL}
        return {**{k: kwargs[k] for k in _TOP_LEVEL}, "synthesis_kwargs": synth}
    return dict(kwargs)


_TOP_LEVEL = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs")


def median_seconds(fns: dict[str, Callable[[], torch.Tensor]], runs: int, device: torch.device) -> dict[str, float]:
    """Median wall time of each function, run in alternation after one warm-up call each."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(runs + 1):
        for name, fn in fns.items():
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            if i > 0:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--fp16", action="store_true", help="float16 for the 4 highest resolutions (CUDA only)")
    parser.add_argument("--nvidia", type=Path, help="checkout of NVlabs/stylegan3 or NVlabs/stylegan2-ada-pytorch")
    args = parser.parse_args()
    if args.fp16 and args.device != "cuda":
        parser.error("--fp16 needs --device cuda: float16 layers run on CUDA only")
    device = torch.device(args.device)

    kwargs = config(args.resolution, args.fp16)
    ours = Generator(**kwargs).eval()
    nv = None
    if args.nvidia is not None:
        nv_class, nested = load_nvidia(args.nvidia)
        nv = nv_class(**nvidia_kwargs(kwargs, nested)).eval().requires_grad_(False)
        randomize(nv, seed=0)
        ours.load_state_dict(nv.state_dict(), strict=True)
        nv.to(device)
    else:
        randomize(ours, seed=0)
    ours.to(device)

    z = torch.randn(args.batch, 512, generator=torch.Generator().manual_seed(1)).to(device)
    fns = {"ours": lambda: ours(z, None, truncation_psi=0.7, noise_mode="const")}
    if nv is not None:
        c = torch.zeros(args.batch, 0, device=device)

        def theirs() -> torch.Tensor:
            with torch.no_grad():
                return nv(z, c, truncation_psi=0.7, noise_mode="const", force_fp32=not args.fp16)

        fns["nvidia"] = theirs
        a, b = fns["ours"]().float(), theirs().float()
        rel = ((a - b).abs().max() / b.abs().max()).item()
        print(f"max |ours - nvidia| / max |nvidia| = {rel:.2e}  ({'ok' if rel <= 1e-3 else 'MISMATCH'})")

    precision = "fp16" if args.fp16 else "fp32"
    print(
        f"{args.resolution}x{args.resolution}, batch {args.batch}, {precision}, {device}, "
        f"{torch.get_num_threads()} CPU threads, median of {args.runs}"
    )
    seconds = median_seconds(fns, args.runs, device)
    for name, s in seconds.items():
        print(f"  {name:7s} {s * 1000:9.1f} ms/batch  {args.batch / s:8.2f} frames/s")
    if nv is not None:
        print(f"  speed ratio ours / nvidia = {seconds['nvidia'] / seconds['ours']:.2f}x")


if __name__ == "__main__":
    main()
