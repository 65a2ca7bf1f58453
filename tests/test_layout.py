"""The package's shape: no import cycles, and no stage imports a later one (imports inside functions count)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import lucidsonicdreams

PACKAGE = Path(lucidsonicdreams.__file__).parent
# The pipeline's order: a module may import its own stage and the ones before it, never a later one.
RANK = {"utils": 0, "errors": 0, "version": 0, "catalog": 1, "models": 2, "audio": 3, "demo": 3, "latents": 4,
        "timeline": 4, "style": 5, "effects": 6, "render": 7, "dream": 8, "spectrogram": 9, "canvas": 10, "live": 10,
        "app": 11, "cli": 12,
        "__init__": 13, "__main__": 13}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports anywhere in its file (not under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "lucidsonicdreams")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "lucidsonicdreams":
                return
            for alias in node.names:  # ``from . import x`` names a submodule; ``from .x import y`` a name in x
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in known else target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {m for m in found if m in known and m != name}


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_relative_function_level_and_submodule_imports():
    graph = import_graph()
    assert "lucidsonicdreams.dream" in graph["lucidsonicdreams.cli"]
    assert "lucidsonicdreams.style.base" in graph["lucidsonicdreams.style.cppn"]
    assert "lucidsonicdreams.utils.checks" in graph["lucidsonicdreams.render.arguments"]  # ``from ..utils import``
    assert len(graph) > 40


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None


def test_every_module_belongs_to_a_stage():
    assert {stage(m) for m in modules()} <= set(RANK), sorted({stage(m) for m in modules()} - set(RANK))


def test_no_stage_imports_a_later_one():
    late = sorted((module, target) for module, targets in import_graph().items() for target in targets
                  if RANK[stage(target)] > RANK[stage(module)])
    assert late == [], "\n".join(f"{m} imports the later {t}" for m, t in late)


def test_the_style_base_knows_no_concrete_style():
    assert import_graph()["lucidsonicdreams.style.base"] == set()
    for family in ("cppn", "stylegan", "function", "diffusion"):
        assert "lucidsonicdreams.style.resolve" not in import_graph()[f"lucidsonicdreams.style.{family}"]


@pytest.mark.parametrize("package", ["audio", "latents", "style", "catalog", "effects", "render", "spectrogram",
                                     "app", "utils", "models"])
def test_every_stage_says_what_goes_in_and_out(package):
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text()))
    assert doc and len(doc) > 40, f"{package}/__init__.py needs a docstring saying what goes in and comes out"


def test_the_readme_layout_lists_every_module():
    readme = (PACKAGE.parent / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    missing = [str(p.relative_to(PACKAGE)) for p in sorted(PACKAGE.rglob("*.py"))
               if p.name != "__init__.py" and f"`{p.relative_to(PACKAGE)}`" not in layout]
    assert missing == []


def test_the_old_import_paths_still_work():
    """0.4-era and earlier scripts import these."""
    from lucidsonicdreams.demo import write_demo_song
    from lucidsonicdreams.dream import LucidSonicDream
    from lucidsonicdreams.models.loader import load_network
    from lucidsonicdreams.spectrogram import audio_to_image, image_to_audio
    from lucidsonicdreams.style import RenderOptions, Style, show_styles

    assert LucidSonicDream is lucidsonicdreams.LucidSonicDream and load_network is lucidsonicdreams.load_network
    assert callable(write_demo_song)
    assert (audio_to_image, image_to_audio) == (lucidsonicdreams.audio_to_image, lucidsonicdreams.image_to_audio)
    assert (Style, RenderOptions, show_styles) == (lucidsonicdreams.Style, lucidsonicdreams.RenderOptions,
                                                  lucidsonicdreams.show_styles)
