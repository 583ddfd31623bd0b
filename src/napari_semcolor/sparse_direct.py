"""Direct solves of the propagation's sparse SPD systems: an elimination order and a factorisation.

A nested-dissection order of the pixel grid (less fill than SuperLU's own minimum degree on these
grids), the sparse LU in it, and its solves in blocks of a few right-hand sides.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.sparse as sp


def factorise(A: sp.spmatrix, order: np.ndarray | None):
    """A solver ``b -> A⁻¹ b`` for SPD ``A`` by sparse LU, in ``order`` (else SuperLU's own MMD)."""
    import scipy.sparse.linalg as spl

    if order is None:
        return _in_blocks(spl.splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True}).solve)
    # SPD: pivots on the diagonal are safe, so the ordering is kept as given
    lu = spl.splu(A.tocsr()[order][:, order].tocsc(), permc_spec="NATURAL", options={"SymmetricMode": True, "DiagPivotThresh": 0.0})
    lu_solve = _in_blocks(lu.solve)

    def solve(b: np.ndarray) -> np.ndarray:
        out = np.empty_like(b)
        out[order] = lu_solve(b[order])
        return out

    return solve


#: right-hand sides per triangular solve: SuperLU's time per column grows with their number past
#: a few (measured on a 192² grid: 48 columns take a quarter of the time in blocks of 4 as at once)
_SOLVE_BLOCK = 4


def _in_blocks(lu_solve):
    def solve(b: np.ndarray) -> np.ndarray:
        if b.ndim == 1 or b.shape[1] <= _SOLVE_BLOCK:
            return lu_solve(np.asfortranarray(b))
        return np.concatenate([lu_solve(np.asfortranarray(b[:, i : i + _SOLVE_BLOCK])) for i in range(0, b.shape[1], _SOLVE_BLOCK)], axis=1)

    return solve


@lru_cache(maxsize=8)
def nested_dissection(h: int, w: int, leaf: int = 8) -> np.ndarray:
    """An elimination order of an (h, w) grid's pixels (8-neighbourhood): halves first, separators last.

    A one-pixel line separates the two halves of a grid even with diagonal neighbours. On the
    grids solved here it gives a third less factorisation time than SuperLU's minimum degree.
    """
    idx = np.arange(h * w).reshape(h, w)
    parts: list[np.ndarray] = []
    stack = [(0, h, 0, w, False)]
    while stack:  # depth-first, each separator after both of its halves
        r0, r1, c0, c1, emit = stack.pop()
        if emit or (r1 - r0) * (c1 - c0) <= leaf or min(r1 - r0, c1 - c0) < 3:
            parts.append(idx[r0:r1, c0:c1].ravel())
        elif r1 - r0 >= c1 - c0:
            m = (r0 + r1) // 2
            stack += [(m, m + 1, c0, c1, True), (m + 1, r1, c0, c1, False), (r0, m, c0, c1, False)]
        else:
            m = (c0 + c1) // 2
            stack += [(r0, r1, m, m + 1, True), (r0, r1, m + 1, c1, False), (r0, r1, c0, m, False)]
    return np.concatenate(parts)


def restrict_order(order: np.ndarray, keep: np.ndarray) -> np.ndarray:
    # the order of the kept (free) pixels, as indices among the kept ones
    position = np.full(keep.size, -1)
    position[keep] = np.arange(int(keep.sum()))
    sub = position[order]
    return sub[sub >= 0]
