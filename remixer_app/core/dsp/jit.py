"""The numba decorator used for our compiled kernels.

Kernels are cached on disk beside their source so that only the first start pays the
compile time; a frozen (PyInstaller) app ships no sources to cache beside, so there
they compile at first use instead.
"""

from __future__ import annotations

import sys

import numba

kernel = numba.njit(cache=not getattr(sys, "frozen", False), nogil=True)
