"""The style catalog: the shipped file, the override file, validation, show_styles and the wheel."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import lucidsonicdreams.catalog.download as download
from lucidsonicdreams import ModelFileError, show_styles
from lucidsonicdreams.catalog.entries import FORMATS, find_style, load_catalog
from lucidsonicdreams.cli import main
from lucidsonicdreams.style import resolve_style

ROOT = Path(__file__).resolve().parents[1]
URL = "https://example.invalid/model.pkl"


@pytest.fixture(autouse=True)
def no_override(monkeypatch, tmp_path):
    monkeypatch.delenv("LUCIDSONICDREAMS_CATALOG", raising=False)
    monkeypatch.setenv("LUCIDSONICDREAMS_CACHE", str(tmp_path / "cache"))


def override(tmp_path: Path, monkeypatch, data) -> Path:
    path = tmp_path / "my catalog.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    monkeypatch.setenv("LUCIDSONICDREAMS_CATALOG", str(path))
    return path


def test_the_shipped_catalog_loads():
    catalog = load_catalog()
    assert catalog["cppn"].builtin and catalog["cppn"].url is None and catalog["cppn"].supported
    for key, style in catalog.items():
        assert key == style.name.lower() and style.format in FORMATS + (None,)
        assert style.builtin or style.url or not style.supported, style.name
        assert style.supported or style.unsupported_reason, style.name


def test_the_override_catalog_adds_and_replaces_entries(tmp_path, monkeypatch):
    shipped = load_catalog()
    replaced = next(s for s in shipped.values() if not s.builtin)
    override(tmp_path, monkeypatch, {"styles": [
        {"name": "My Model", "url": URL, "resolution": 256, "license": "CC0"},
        {"name": replaced.name.upper(), "url": "https://example.invalid/mine.pkl", "sha256": "AB" * 32},
    ]})
    catalog = load_catalog()
    assert set(catalog) == set(shipped) | {"my model"}
    mine = find_style("MY MODEL")
    assert (mine.name, mine.url, mine.resolution, mine.license, mine.conditional, mine.supported) == (
        "My Model", URL, 256, "CC0", 0, True)
    assert find_style(replaced.name).url == "https://example.invalid/mine.pkl"
    assert find_style(replaced.name).sha256 == "ab" * 32
    assert find_style("not in any catalog") is None


def test_a_missing_override_file_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("LUCIDSONICDREAMS_CATALOG", str(tmp_path / "nope.json"))
    with pytest.raises(FileNotFoundError, match="LUCIDSONICDREAMS_CATALOG.*nope.json"):
        load_catalog()


@pytest.mark.parametrize("styles, words", [
    ("{not json", "not valid JSON"),
    ({"models": []}, '{"styles": [...]}'),
    ({"styles": ["wikiart"]}, "entry 0: an entry must be a JSON object"),
    ({"styles": [{"url": URL}]}, "entry 0: 'name' must be a non-empty string"),
    ({"styles": [{"name": "a", "url": URL}, {"name": "A", "url": URL}]}, "entry 1 ('A'): the name 'A' is already"),
    ({"styles": [{"name": "a"}]}, "entry 0 ('a'): 'url' is required"),
    ({"styles": [{"name": "a", "url": "ftp://x/y.pkl"}]}, "'url' must be an http(s) URL"),
    ({"styles": [{"name": "a", "url": URL, "format": "onnx"}]}, "'format' must be one of"),
    ({"styles": [{"name": "a", "url": URL, "sha256": "abc"}]}, "'sha256' must be 64 hex digits"),
    ({"styles": [{"name": "a", "url": URL, "size": -1}]}, "'size' must be in [1, inf]"),
    ({"styles": [{"name": "a", "url": URL, "resolution": "1024"}]}, "'resolution' must be an integer"),
    ({"styles": [{"name": "a", "url": URL, "conditional": True}]}, "'conditional' must be an integer"),
    ({"styles": [{"name": "a", "url": URL, "supported": "yes"}]}, "'supported' must be true or false"),
    ({"styles": [{"name": "a", "url": URL, "licence": "MIT"}]}, "unknown field(s) licence"),
    ({"styles": [{"name": "a", "url": URL, "format": "stylegan1", "supported": True}]}, "StyleGAN1"),
    ({"styles": [{"name": "a", "format": "builtin"}]}, "only the built-in styles (cppn)"),
    ({"styles": [{"name": "CPPN", "url": URL}]}, "only the built-in styles (cppn)"),
])
def test_a_malformed_catalog_names_the_file_and_the_entry(tmp_path, monkeypatch, styles, words):
    path = override(tmp_path, monkeypatch, styles)
    with pytest.raises(ValueError) as info:
        load_catalog()
    assert str(info.value).startswith(str(path)) and words in str(info.value)


def test_defaults_and_unsupported_entries(tmp_path, monkeypatch):
    override(tmp_path, monkeypatch, {"styles": [
        {"name": "old", "url": URL, "format": "stylegan1"},
        {"name": "gone", "url": None, "supported": False, "unsupported_reason": "the link is dead"},
    ]})
    old, gone = find_style("old"), find_style("gone")
    assert not old.supported and "StyleGAN1" in old.unsupported_reason
    assert (gone.supported, gone.unsupported_reason, gone.format) == (False, "the link is dead", None)


def test_show_styles_prints_a_table_and_returns_the_usable_names(tmp_path, monkeypatch, capsys):
    override(tmp_path, monkeypatch, {"styles": [
        {"name": "Zebra Faces", "url": URL, "resolution": 512, "conditional": 7, "license": "CC BY 4.0"},
        {"name": "ancient", "url": URL, "resolution": 256, "format": "stylegan1"},
    ]})
    names = show_styles()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "resolution", "classes", "license"]
    assert lines[1].split()[:4] == ["cppn", "any", "12", "MIT"]
    assert len(lines) == len(load_catalog()) + 1
    zebra = next(line for line in lines if line.startswith("Zebra Faces"))
    assert zebra.split()[2:6] == ["512", "7", "CC", "BY"] and "unsupported" not in zebra
    ancient = next(line for line in lines if line.startswith("ancient"))
    assert "unsupported: StyleGAN1" in ancient
    assert names[0] == "cppn" and "Zebra Faces" in names and "ancient" not in names
    assert names == [s.name for s in sorted(load_catalog().values(), key=lambda s: (not s.builtin, s.key))
                     if s.supported]


def test_the_styles_command_prints_the_same_table(capsys):
    show_styles()
    table = capsys.readouterr().out
    assert main(["styles"]) == 0
    assert capsys.readouterr().out == table


def test_resolve_style_knows_catalog_names_without_downloading(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("no request may be made")

    monkeypatch.setattr(download, "_request", no_network)
    override(tmp_path, monkeypatch, {"styles": [{"name": "My Model", "url": URL},
                                                {"name": "old", "url": URL, "format": "stylegan1"}]})
    resolve_style("my model", None, None)
    resolve_style("CPPN", None, None)
    with pytest.raises(ModelFileError, match="'old' cannot be used"):
        resolve_style("old", None, None)
    with pytest.raises(ValueError, match="show_styles"):
        resolve_style("my modle", None, None)
    with pytest.raises(FileNotFoundError, match="my model.pkl"):
        resolve_style("my model.pkl", None, None)


def test_the_wheel_contains_the_catalog(tmp_path):
    """A wheel built from the repository (offline: no build isolation) ships catalog.json and README.md."""
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".venv", ".pytest_cache", ".ruff_cache", "*.mp4"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-w", str(tmp_path / "wheels"), "."], cwd=source, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = (tmp_path / "wheels").glob("lucidsonicdreams-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "lucidsonicdreams/styles_data/README.md" in archive.namelist()
        shipped = json.loads(archive.read("lucidsonicdreams/styles_data/catalog.json"))
    assert shipped == json.loads((source / "styles" / "catalog.json").read_text())


def test_the_catalog_is_parsed_once_per_process(tmp_path, monkeypatch):
    """Names are looked up many times a render (the style, the CLI, the app's list): the JSON is read once, and an
    override file again only when it changes."""
    import lucidsonicdreams.catalog.entries as entries

    parsed = []
    real = entries._parse
    monkeypatch.setattr(entries, "_parse", lambda text, origin: parsed.append(origin) or real(text, origin))
    entries._shipped.cache_clear()
    for _ in range(3):
        find_style("cppn")
        load_catalog()
    assert len(parsed) == 1
    override(tmp_path, monkeypatch, {"styles": [{"name": "Mine", "url": URL}]})
    for _ in range(3):
        assert find_style("mine") is not None
    assert len(parsed) == 2
    override(tmp_path, monkeypatch, {"styles": [{"name": "Mine", "url": URL}, {"name": "Other", "url": URL}]})
    assert find_style("other") is not None and len(parsed) == 3
