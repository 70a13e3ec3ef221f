"""Choosing where separation runs: CUDA, Apple MPS, or the CPU as the fallback."""

from __future__ import annotations

DEVICES = ("auto", "cpu", "cuda", "mps")



def resolve_device(requested: str = "auto") -> tuple[str, str | None]:
    """The device to use for ``requested``, and a warning when it had to fall back.

    ``auto`` takes CUDA, then MPS, then the CPU. An explicit ``cuda``/``cuda:N``/``mps``
    that this machine lacks falls back to the CPU with a warning rather than failing,
    so a settings file carried to another machine keeps working.

    Raises
    ------
    ValueError
        ``requested`` is not a device name.
    """
    import torch

    base = requested.split(":", 1)[0]
    if base not in DEVICES:
        raise ValueError(f"unknown device {requested!r}; use one of {', '.join(DEVICES)}")
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if base == "auto":
        return ("cuda" if cuda else "mps" if mps else "cpu"), None
    if base == "cuda" and not cuda:
        return "cpu", f"{requested} is not available here; separating on the CPU"
    if base == "mps" and not mps:
        return "cpu", "Apple MPS is not available here; separating on the CPU"
    return requested, None
