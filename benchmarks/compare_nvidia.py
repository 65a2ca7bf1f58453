"""Check that our loader and networks reproduce NVIDIA's images, file by file, for every pickle layout.

    python benchmarks/compare_nvidia.py --stylegan3 PATH [--stylegan2-ada-pytorch PATH] [--resolution 64]

PATHs are checkouts of NVlabs/stylegan3 and NVlabs/stylegan2-ada-pytorch; nothing of theirs is part of this
project. For each layout a network with random weights is built and pickled *by NVIDIA's code* (so the file has
the real structure), or for the TensorFlow layout written by the test fixture writer, then loaded twice: by
NVIDIA's ``legacy.load_network_pkl`` and by our ``load_network``. Both generate from the same z, c with
``truncation_psi=0.7, noise_mode='const'`` in float32 on the CPU and the worst difference relative to the
image's range is printed (the issue's bound is 1e-3). Each NVIDIA checkout runs in its own subprocess, as both
define the top-level packages ``training``, ``torch_utils`` and ``dnnlib``.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import torch

CASES = {
    "stylegan2-ada-pytorch": [("sg2-ada unconditional", "training.networks", {"c_dim": 0}),
                              ("sg2-ada conditional", "training.networks", {"c_dim": 10})],
    "stylegan3": [("sg2 (stylegan3 repo) resnet", "training.networks_stylegan2",
                   {"c_dim": 0, "architecture": "resnet"}),
                  ("sg3-T conditional", "training.networks_stylegan3", {"c_dim": 10}),
                  ("sg3-T unconditional", "training.networks_stylegan3", {"c_dim": 0}),
                  ("sg3-R unconditional", "training.networks_stylegan3",
                   {"c_dim": 0, "conv_kernel": 1, "use_radial_filters": True, "channel_base": 4096}),
                  ("tensorflow sg2 (via legacy.py)", "tensorflow", {"c_dim": 0}),
                  ("tensorflow sg2 conditional (via legacy.py)", "tensorflow", {"c_dim": 10})],
}
SKIP_BUFFERS = ("resample_filter", "up_filter", "down_filter", "freqs", "phases")


def shim_old_imports() -> None:
    """NVIDIA's 2021 code imports pkg_resources.parse_version, gone from recent setuptools."""
    from packaging.version import parse

    sys.modules.setdefault("pkg_resources", types.SimpleNamespace(parse_version=parse))


def randomize(net: torch.nn.Module, seed: int) -> None:
    """Make every learned value matter: default inits leave biases, noise strengths and w_avg at zero."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in list(net.named_parameters()) + list(net.named_buffers()):
            if name.endswith(SKIP_BUFFERS) or not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=gen)
            if name.endswith("magnitude_ema"):
                tensor.copy_(0.5 + noise.abs())
            elif name.endswith("transform"):
                tensor.add_(0.05 * noise)
            elif name.endswith(("bias", "noise_strength", "w_avg")):
                tensor.copy_(0.2 * noise)
            else:
                tensor.copy_(noise)


def _build(module_name: str, overrides: dict, resolution: int) -> torch.nn.Module:
    import importlib

    module = importlib.import_module(module_name)
    synthesis = {"channel_base": 2048, "channel_max": 64}
    synthesis.update({k: v for k, v in overrides.items() if k != "c_dim"})
    kwargs = dict(z_dim=64, c_dim=overrides["c_dim"], w_dim=64, img_resolution=resolution, img_channels=3,
                  mapping_kwargs={"num_layers": 2})
    if module_name == "training.networks":  # stylegan2-ada-pytorch nests the synthesis options
        kwargs["synthesis_kwargs"] = synthesis
    else:
        kwargs.update(synthesis)
    return module.Generator(**kwargs).eval().requires_grad_(False)


def _tensorflow_file(path: Path, c_dim: int, resolution: int, project: Path) -> None:
    """A TF-layout (G, D, Gs) pickle with random variables, written by the project's test fixture writer."""
    import numpy as np

    sys.path.insert(0, str(project / "tests"))
    from stylegan_files import tf_generator_variables, write_tf_pickle

    static = {"latent_size": 64, "dlatent_size": 64, "label_size": c_dim, "resolution": resolution,
              "num_channels": 3, "fmap_base": 1024, "fmap_max": 64, "mapping_layers": 2}
    variables = tf_generator_variables(static, np.random.default_rng(3))
    variables[""]["dlatent_avg"] *= 0.2
    write_tf_pickle(path, static, variables)


def worker(repo: Path, project: Path, resolution: int) -> list[dict]:
    """Runs inside a subprocess with ``repo`` importable."""
    sys.path.insert(0, str(repo))
    shim_old_imports()
    import legacy  # NVIDIA's loader

    from lucidsonicdreams.models.loader import load_network

    results = []
    for label, module_name, overrides in CASES[repo_kind(repo)]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "net.pkl"
            if module_name == "tensorflow":
                _tensorflow_file(path, overrides["c_dim"], resolution, project)
            else:
                net = _build(module_name, overrides, resolution)
                randomize(net, seed=len(results))
                with open(path, "wb") as f:
                    pickle.dump({"G": net, "D": net, "G_ema": net, "augment_pipe": None,
                                 "training_set_kwargs": {"resolution": resolution}}, f)
            with open(path, "rb") as f:
                if module_name == "tensorflow":  # their D converter wants a full discriminator; Gs is enough
                    theirs = legacy.convert_tf_generator(legacy._LegacyUnpickler(f).load()[2]).eval()
                else:
                    theirs = legacy.load_network_pkl(f)["G_ema"].eval()

            os.environ["LUCIDSONICDREAMS_CACHE"] = tmp  # a fresh cache: this load converts the pickle
            ours = load_network(path, device="cpu")
            gen = torch.Generator().manual_seed(7)
            z = torch.randn(4, theirs.z_dim, generator=gen)
            c = torch.nn.functional.one_hot(torch.arange(4) % max(theirs.c_dim, 1), max(theirs.c_dim, 1)).float()
            c = c[:, : theirs.c_dim] if theirs.c_dim else None
            with torch.no_grad():
                expected = theirs(z, c, truncation_psi=0.7, noise_mode="const")
                got = ours(z, c, truncation_psi=0.7, noise_mode="const")
            error = (got - expected).abs().max().item() / expected.abs().max().item()
            results.append({"case": label, "relative_error": error, "shape": list(got.shape)})
    return results


def repo_kind(repo: Path) -> str:
    return "stylegan3" if (repo / "training" / "networks_stylegan3.py").exists() else "stylegan2-ada-pytorch"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stylegan3", type=Path, help="checkout of NVlabs/stylegan3")
    parser.add_argument("--stylegan2-ada-pytorch", type=Path, help="checkout of NVlabs/stylegan2-ada-pytorch")
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    project = Path(__file__).resolve().parent.parent
    if args.worker:
        print(json.dumps(worker(args.worker, project, args.resolution)))
        return
    worst = 0.0
    for repo in (args.stylegan2_ada_pytorch, args.stylegan3):
        if repo is None:
            continue
        proc = subprocess.run([sys.executable, __file__, "--worker", str(repo), "--resolution", str(args.resolution)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-3000:])
            raise SystemExit(f"comparison with {repo} failed")
        for row in json.loads(proc.stdout.strip().splitlines()[-1]):
            worst = max(worst, row["relative_error"])
            status = "ok" if row["relative_error"] <= 1e-3 else "MISMATCH"
            print(f"{row['case']:<45} {str(row['shape']):<18} max|ours - NVIDIA| / max|NVIDIA| = "
                  f"{row['relative_error']:.2e}  {status}")
    print(f"worst relative error: {worst:.2e} (bound 1e-3)")


if __name__ == "__main__":
    main()
