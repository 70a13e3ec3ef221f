"""The numba decorators used for our compiled kernels.

Kernels are cached on disk beside their source, or in the user's cache folder, so that
only the first start pays the compile time. Where numba finds nowhere to write that
cache (a frozen app ships no sources; a read-only install under an account without a
writable home, as a kiosk's), the kernels compile at first use instead: numba would
otherwise refuse the decoration itself, at import.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])

_CACHE = not getattr(sys, "frozen", False)


def _compiled(func: F, fastmath: bool) -> F:
    if _CACHE:
        try:
            return cast(F, numba.njit(func, cache=True, nogil=True, fastmath=fastmath))
        except RuntimeError as error:
            if "cannot cache" not in str(error):
                raise
    return cast(F, numba.njit(func, nogil=True, fastmath=fastmath))


def kernel(func: F) -> F:
    """Compile ``func`` with numba (no Python objects, the GIL released)."""
    return _compiled(func, fastmath=False)


def summing_kernel(func: F) -> F:
    """:func:`kernel` for sums whose order does not matter to the result's use (lets
    numba vectorise them)."""
    return _compiled(func, fastmath=True)
