"""The style catalog: named styles with their download URL, format, size, checksum and license.

The catalog ships inside the package (``styles/catalog.json`` in the repository, installed as
``lucidsonicdreams.styles_data``). The file named by ``$LUCIDSONICDREAMS_CATALOG``, in the same format, adds
entries or replaces shipped ones of the same name. Names are matched case-insensitively.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from ..utils import checks as validation

CATALOG_ENV = "LUCIDSONICDREAMS_CATALOG"
BUILTIN_STYLES = frozenset({"cppn"})  # styles the package implements itself; they need no file
FORMATS = ("builtin", "tensorflow", "pytorch", "stylegan3", "stylegan1", "diffusers")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_HUB_URL = re.compile(r"https://huggingface\.co/([A-Za-z0-9][\w.-]*/[\w.-]+)/?")


@dataclass(frozen=True)
class CatalogEntry:
    """One catalog entry.

    ``url`` is ``None`` for a built-in style; ``format`` is ``None`` when the catalog does not say (the loader tells
    the formats apart by the file's content). ``conditional`` is the class count (0: unconditional), ``size`` is
    in bytes, ``sha256`` in lowercase hex.
    """

    name: str
    url: str | None = None
    format: str | None = None
    resolution: int | None = None
    conditional: int = 0
    license: str | None = None
    author: str | None = None
    source: str | None = None
    description: str | None = None
    sha256: str | None = None
    size: int | None = None
    supported: bool = True
    unsupported_reason: str | None = None

    @property
    def key(self) -> str:
        return style_key(self.name)

    @property
    def builtin(self) -> bool:
        return self.format == "builtin"

    @property
    def hub_id(self) -> str | None:
        """``OWNER/NAME`` of a diffusers model on the Hugging Face hub."""
        match = _HUB_URL.fullmatch(self.url or "") if self.format == "diffusers" else None
        return match.group(1) if match else None


_FIELDS = {f.name for f in fields(CatalogEntry)}


def style_key(name: str) -> str:
    """The lookup key of a style name: case and surrounding spaces do not matter."""
    return name.strip().lower()


def load_catalog() -> dict[str, CatalogEntry]:
    """The shipped catalog, then the entries of ``$LUCIDSONICDREAMS_CATALOG``, keyed by lowercased name.

    Each file is parsed once per process (an override again only when it changes). Raises ``ValueError`` naming
    the file and the entry when a catalog file is malformed, and ``FileNotFoundError`` when the override file
    does not exist.
    """
    catalog = dict(_shipped())
    override = os.environ.get(CATALOG_ENV)
    if override:
        path = Path(override).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{CATALOG_ENV}={override!r}: catalog file does not exist")
        stat = path.stat()
        catalog.update(_parsed_file(str(path.resolve()), stat.st_mtime_ns, stat.st_size))
    return catalog


@lru_cache(maxsize=1)
def _shipped() -> dict[str, CatalogEntry]:
    shipped = files("lucidsonicdreams.styles_data").joinpath("catalog.json")
    return _parse(shipped.read_text(encoding="utf-8"), f"the shipped catalog ({shipped})")


@lru_cache(maxsize=4)
def _parsed_file(path: str, mtime_ns: int, size: int) -> dict[str, CatalogEntry]:
    return _parse(Path(path).read_text(encoding="utf-8"), path)


def find_style(name: str) -> CatalogEntry | None:
    """The catalog entry called ``name`` (any case), or ``None``."""
    return load_catalog().get(style_key(name))


def _parse(text: str, origin: str) -> dict[str, CatalogEntry]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{origin}: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("styles"), list):
        raise ValueError(f'{origin}: expected a JSON object {{"styles": [...]}}')
    entries: dict[str, CatalogEntry] = {}
    for index, raw in enumerate(data["styles"]):
        label = f"{origin}: entry {index}"
        if isinstance(raw, dict) and isinstance(raw.get("name"), str):
            label += f" ({raw['name']!r})"
        try:
            style = _entry(raw)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{label}: {exc}") from None
        if style.key in entries:
            raise ValueError(f"{label}: the name {style.name!r} is already used by another entry")
        entries[style.key] = style
    return entries


def _entry(raw: object) -> CatalogEntry:
    """Validate one JSON entry and fill in the defaults."""
    if not isinstance(raw, dict):
        raise TypeError(f"an entry must be a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(_FIELDS))}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("'name' must be a non-empty string")
    url = _optional(raw, "url", str)
    if url is not None and not url.startswith(("http://", "https://")):
        raise ValueError(f"'url' must be an http(s) URL, got {url!r}")
    fmt = _optional(raw, "format", str)
    if fmt is None and url is None and style_key(name) in BUILTIN_STYLES:
        fmt = "builtin"
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"'format' must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if (fmt == "builtin") != (style_key(name) in BUILTIN_STYLES):
        raise ValueError(f"only the built-in styles ({', '.join(sorted(BUILTIN_STYLES))}) have format 'builtin'")
    if fmt == "builtin" and url is not None:
        raise ValueError("a built-in style has no 'url'")
    supported = raw.get("supported", fmt != "stylegan1")
    if not isinstance(supported, bool):
        raise TypeError(f"'supported' must be true or false, got {supported!r}")
    if supported and fmt == "stylegan1":
        raise ValueError("StyleGAN1 models cannot be loaded; set 'supported' to false")
    if supported and fmt != "builtin" and url is None:
        raise ValueError("'url' is required (null only for built-in or unsupported styles)")
    if fmt == "diffusers" and url is not None and not _HUB_URL.fullmatch(url):
        raise ValueError(f"a 'diffusers' entry's 'url' must be https://huggingface.co/OWNER/NAME, got {url!r}")
    sha256 = _optional(raw, "sha256", str)
    if sha256 is not None and not _SHA256.fullmatch(sha256):
        raise ValueError(f"'sha256' must be 64 hex digits, got {sha256!r}")
    reason = _optional(raw, "unsupported_reason", str)
    if not supported and not reason:
        reason = "StyleGAN1 models cannot be loaded" if fmt == "stylegan1" else "marked unsupported in the catalog"
    return CatalogEntry(
        name=name.strip(),
        url=url,
        format=fmt,
        resolution=validation.optional_number("'resolution'", raw.get("resolution"), low=1, integer=True),
        conditional=validation.optional_number("'conditional'", raw.get("conditional"), low=0, integer=True) or 0,
        license=_optional(raw, "license", str),
        author=_optional(raw, "author", str),
        source=_optional(raw, "source", str),
        description=_optional(raw, "description", str),
        sha256=sha256.lower() if sha256 else None,
        size=validation.optional_number("'size'", raw.get("size"), low=1, integer=True),
        supported=supported,
        unsupported_reason=None if supported else reason,
    )


def _optional(raw: dict, key: str, kind: type):
    value = raw.get(key)
    if value is not None and not isinstance(value, kind):
        raise TypeError(f"{key!r} must be a {kind.__name__} or null, got {value!r}")
    return value




def show_styles() -> list[str]:
    """Print the catalog as a table (name, resolution, classes, license) and return the usable style names.

    The built-in style comes first, then the others by name. Styles the package cannot load (e.g. StyleGAN1
    models) are printed with the reason but left out of the returned list, which holds exactly the names that
    ``LucidSonicDream(style=...)`` accepts.
    """
    styles = sorted(load_catalog().values(), key=lambda s: (not s.builtin, s.key))
    header = ("name", "resolution", "classes", "license", "")
    rows = [header] + [
        (
            s.name,
            "any" if s.builtin else str(s.resolution or "?"),
            "prompts" if s.format == "diffusers" else str(s.conditional) if s.conditional else "-",
            s.license or "?",
            "" if s.supported else f"unsupported: {s.unsupported_reason}",
        )
        for s in styles
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return [s.name for s in styles if s.supported]
