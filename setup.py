from pathlib import Path

from setuptools import find_packages, setup

# Diffusion styles (DiffusionStyle, style="sd-turbo"); transformers for the text encoders and tokenizers.
DIFFUSION = ["diffusers>=0.30", "transformers>=4.40"]
# The web app (lucidsonicdreams ui).
UI = ["gradio>=5"]
# Renders spread over several GPUs or machines (workers=N, ray_address=).
RAY = ["ray>=2.9"]
# Live mode's sound devices (PortAudio), OSC control and window (lucidsonicdreams live).
LIVE = ["sounddevice>=0.4", "python-osc>=1.8", "pygame>=2.1"]

setup(
    name="lucidsonicdreams",
    version="1.0.0.dev0",
    description="Music videos from generative image models driven by the song (PyTorch successor of 0.4)",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.9",
    packages=find_packages(include=["lucidsonicdreams", "lucidsonicdreams.*"]) + ["lucidsonicdreams.styles_data"],
    # The catalog lives in styles/ at the top of the repository and ships inside the package.
    package_dir={"lucidsonicdreams.styles_data": "styles"},
    package_data={"lucidsonicdreams.styles_data": ["*.json", "*.md"]},
    install_requires=[
        "torch>=2.1",
        "numpy>=1.24",
        "scipy>=1.10",
        "librosa>=0.10",
        "soundfile>=0.12",
        "imageio-ffmpeg>=0.4.9",
        "scikit-image>=0.21",
        "pillow>=10",
        "tqdm>=4.60",
        "requests>=2.28",
        "safetensors>=0.4",
        "matplotlib>=3.6",
        "pyyaml>=6",  # timeline files
    ],
    extras_require={
        "diffusion": DIFFUSION,
        "ui": UI,
        "ray": RAY,
        "live": LIVE,
        "test": ["pytest>=7", "pytest-timeout>=2.1", "av>=11", "ruff>=0.4", "nbclient>=0.7", "nbformat>=5.7", "ipykernel>=6", "gradio_client",
                 "playwright>=1.40", *DIFFUSION, *UI, *RAY, *LIVE],
    },
    entry_points={"console_scripts": ["lucidsonicdreams=lucidsonicdreams.cli:main"]},
)
