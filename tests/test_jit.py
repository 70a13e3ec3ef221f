"""The numba decorators: kernels still compile where numba can write no cache."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from remixer_app.core.dsp.jit import kernel, summing_kernel


def _sourceless(name: str):  # type: ignore[no-untyped-def]
    # A function whose source file numba cannot find, as for a read-only install under
    # an account with no writable home: numba has nowhere to put the cache.
    namespace: dict[str, object] = {}
    exec(compile(f"def {name}(x):\n    return x.sum() * 2.0\n", "<no file>", "exec"), namespace)
    return namespace[name]


def test_uncacheable_kernels_compile_at_first_use() -> None:
    with pytest.raises(RuntimeError, match="cannot cache"):
        numba.njit(_sourceless("plain"), cache=True)
    x = np.arange(5.0)
    for decorator in (kernel, summing_kernel):
        compiled = decorator(_sourceless("doubled_sum"))
        assert compiled(x) == 20.0
        assert compiled.signatures  # compiled by numba, not run as Python
