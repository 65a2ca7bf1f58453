"""The Colab notebook runs top to bottom unattended: no GPU, no network, no upload (as in CI)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest
from conftest import probe
from PIL import Image as PILImage

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[1] / "colab" / "lucidsonicdreams.ipynb"
# The notebook's unattended settings: 12 fps at 128 px; a 3 s preview (and beat example), a 4 s "full" render,
# 2 s examples.
EXPECTED_FRAMES = {"preview.mp4": 36, "full.mp4": 48, "effect.mp4": 24, "stems.mp4": 24, "beat.mp4": 36}


@pytest.fixture
def kernel_for_this_python(tmp_path, monkeypatch) -> str:
    """A "python3" kernelspec that runs this interpreter (the one with lucidsonicdreams installed).

    JUPYTER_PATH comes first in the kernelspec search, so a python3 spec elsewhere on the machine cannot win.
    """
    from jupyter_client.kernelspec import KernelSpecManager

    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == sys.executable
    return "python3"


@pytest.fixture
def work(tmp_path, monkeypatch) -> Path:
    """The folder the notebook runs in (its outputs land there), with the cache in tmp and no GPU."""
    folder = tmp_path / "colab"
    folder.mkdir()
    monkeypatch.setenv("LUCIDSONICDREAMS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # the CPU path, even on a machine with a GPU
    return folder


def execute(nb, work: Path, kernel: str) -> None:
    client = nbclient.NotebookClient(nb, kernel_name=kernel, timeout=120, resources={"metadata": {"path": str(work)}})
    client.execute()  # raises CellExecutionError on the first failing cell


def outputs_text(nb) -> str:
    return "\n".join(output.get("text", "") for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs)


def test_notebook_runs_unattended_on_a_cpu(work, kernel_for_this_python):
    notebook = work / NOTEBOOK.name
    shutil.copy(NOTEBOOK, notebook)
    nb = nbformat.read(notebook, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    execute(nb, work, kernel_for_this_python)

    for name, frames in EXPECTED_FRAMES.items():
        info = probe(work / name)
        assert len(info["frames"]) == frames, name
        assert (info["width"], info["height"]) == (128, 128)
        assert info["audio_codec"] == "aac"

    text = outputs_text(nb)
    assert "is already installed" in text
    assert "No GPU" in text and "Style: cppn" in text
    assert "Diffusion styles need a GPU runtime" in text
    assert "cppn" in text.split("Style:")[0]  # show_styles() listed the built-in style
    videos = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
              if "data:video/mp4;base64" in output.get("data", {}).get("text/html", "")]
    assert len(videos) == 4  # preview, effect, stems and beat shown inline
    # The demo loop is 120 bpm; the signal plot is written and shown.
    assert re.search(r"tempo 1[12]\d bpm, \d+ beats, 1 section\(s\)", text)
    with PILImage.open(work / "signals.png") as plot:
        assert plot.width >= 800
    images = [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs
              if "image/png" in output.get("data", {})]
    assert len(images) == 1


def test_a_style_that_fails_to_load_falls_back_to_cppn(work, kernel_for_this_python):
    (work / "broken.pkl").write_bytes(b"not a StyleGAN file")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    style_cell = next(i for i, cell in enumerate(nb.cells) if re.search(r"^STYLE = ", cell.source, re.MULTILINE))
    nb.cells = nb.cells[: style_cell + 1]
    nb.cells[style_cell].source = re.sub(r"^STYLE = .*$", 'STYLE = "broken.pkl"', nb.cells[style_cell].source,
                                         flags=re.MULTILINE)
    execute(nb, work, kernel_for_this_python)

    text = outputs_text(nb)
    assert "'broken.pkl' could not be used" in text and "Style: cppn" in text
