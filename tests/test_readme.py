"""The README's Python examples run unchanged, in order, as one script, offline: every file they name is made
here (a short song.mp3, a tiny StyleGAN3 pickle under the README's file name, tiny diffusion pipelines in an
offline Hugging Face cache under the hub ids the examples load), and every public name is documented."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from canvas_files import write_audio_model, write_image_model
from diffusion_files import write_tiny_pipeline
from test_models import pytorch_file

import lucidsonicdreams
from lucidsonicdreams.audio.decode import ffmpeg_exe
from lucidsonicdreams.audio.demo import synthesize_song

README = Path(__file__).resolve().parents[1] / "README.md"
# The API example needs the web app running on port 7860; tests/test_ui.py drives that endpoint itself.
NEEDS_A_SERVER = "gradio_client"
# The Ray example names GPUs and a cluster this machine lacks; tests/test_workers.py renders on a local Ray.
NEEDS_A_CLUSTER = "ray_address="
# A fragment that uses samples it does not make: the script gives it the song's.
PRELUDE = "import time\nimport soundfile\nsamples = soundfile.read('song.wav', dtype='float32')[0].mean(axis=1)\n"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def hub_snapshot(hub: Path, repo_id: str, folder: Path) -> None:
    """``folder`` as ``repo_id``'s main revision in a Hugging Face cache: what the hub leaves after a download."""
    repo = hub / f"models--{repo_id.replace('/', '--')}"
    commit = "1" * 40
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(folder, repo / "snapshots" / commit)


def test_every_public_name_is_documented():
    text = README.read_text()
    missing = [name for name in lucidsonicdreams.__all__ if name not in text]
    assert missing == []


@pytest.mark.slow
def test_the_readme_examples_run_unchanged(tmp_path):
    blocks = [b for b in python_blocks() if NEEDS_A_SERVER not in b and NEEDS_A_CLUSTER not in b]
    assert len(blocks) >= 6
    y = synthesize_song(seconds=2.0, sr=22050, seed=1)
    soundfile.write(tmp_path / "song.wav", y.astype(np.float32), 22050)
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-i", str(tmp_path / "song.wav"), str(tmp_path / "song.mp3")],
                   check=True)
    pytorch_file(tmp_path / "stylegan3-r-afhqv2-512x512.pkl", "stylegan3")
    tiny = write_tiny_pipeline(tmp_path / "tiny")
    for repo_id in ("stabilityai/sd-turbo", "riffusion/riffusion-model-v1"):
        hub_snapshot(tmp_path / "hub", repo_id, tiny)
    image_model = write_image_model(tmp_path / "sd15")
    hub_snapshot(tmp_path / "hub", "stable-diffusion-v1-5/stable-diffusion-v1-5", image_model)
    hub_snapshot(tmp_path / "hub", "auffusion/auffusion-full-no-adapter",
                 write_audio_model(tmp_path / "auffusion", vae_from=image_model))
    script = tmp_path / "readme_examples.py"
    marks = [f"print('block {i} at', round(time.perf_counter(), 1), flush=True)\n" for i in range(len(blocks))]
    script.write_text(PRELUDE + "".join(mark + block for mark, block in zip(marks, blocks)))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub"),
           "LUCIDSONICDREAMS_CACHE": str(tmp_path / "cache"), "TQDM_DISABLE": "1"}
    run = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout[-1000:] + run.stderr[-3000:]
    assert (tmp_path / "song.mp4").stat().st_size > 0
