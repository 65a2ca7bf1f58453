"""Choosing the torch device."""

from __future__ import annotations

import torch


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The requested device, checked to exist; ``None`` picks CUDA, then Apple MPS, then the CPU."""
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'cuda', 'mps', 'cpu' or None, got {device!r}") from exc
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was asked for, but no CUDA GPU is available; use device=None or 'cpu'")
    if chosen.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ValueError("device='mps' was asked for, but Apple MPS is not available; use device=None or 'cpu'")
    if chosen.type not in ("cuda", "mps", "cpu"):
        raise ValueError(f"device must be 'cuda', 'mps', 'cpu' or None, got {device!r}")
    return chosen
