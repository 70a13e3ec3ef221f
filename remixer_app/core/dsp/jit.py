"""The numba decorator used for our compiled kernels.

Kernels are cached on disk beside their source so that only the first start pays the
compile time; a frozen (PyInstaller) app ships no sources to cache beside, so there
they compile at first use instead.
"""

from __future__ import annotations

import sys

import numba

_CACHE = not getattr(sys, "frozen", False)
kernel = numba.njit(cache=_CACHE, nogil=True)
#: For sums whose order does not matter to the result's use (lets numba vectorise them).
summing_kernel = numba.njit(cache=_CACHE, nogil=True, fastmath=True)
