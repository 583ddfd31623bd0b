"""Direct solves of the propagation's sparse SPD systems: an elimination order and a factorisation.

A nested-dissection order of the pixel grid (less fill than SuperLU's own minimum degree on these
grids), the sparse LU in it, and its solves in blocks of a few right-hand sides; a factorisation's
inverse entries among a changing set of pixels (live hint edits), and a direct solve with a prior.
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


class InverseAmong:
    """One Laplacian's factorisation (made on first use) and its inverse's entries among the hint pixels seen."""

    def __init__(self, laplacian: sp.csr_matrix, shape: tuple[int, int]):
        self._laplacian, self._shape = laplacian, shape
        self._lu = None
        self._pixels = np.zeros(0, np.intp)  # hint pixels seen, oldest first
        self._inverse = np.zeros((0, 0))  # the inverse's entries among them

    def solve(self, b: np.ndarray) -> np.ndarray:
        """``A⁻¹ b``."""
        if self._lu is None:
            self._lu = factorise(self._laplacian, nested_dissection(*self._shape))
        return self._lu(b)

    def among(self, known: np.ndarray, limit: int) -> np.ndarray:
        """(k, k) entries of ``A⁻¹`` at the pixels ``known``, solving only for pixels not seen before
        (keeping at most ``limit`` pixels' entries)."""
        missing = np.setdiff1d(known, self._pixels)
        if missing.size:
            keep = np.isin(self._pixels, known)  # forget the oldest pixels no longer hinted, if full
            drop = np.flatnonzero(~keep)[: max(0, self._pixels.size + missing.size - limit)]
            stay = np.setdiff1d(np.arange(self._pixels.size), drop)
            pixels, inverse = self._pixels[stay], self._inverse[np.ix_(stay, stay)]
            unit = np.zeros((self._laplacian.shape[0], missing.size))
            unit[missing, np.arange(missing.size)] = 1
            columns = self.solve(unit)  # A⁻¹ is symmetric: its columns are its rows
            self._pixels = np.concatenate([pixels, missing])
            self._inverse = np.block([[inverse, columns[pixels]], [columns[pixels].T, columns[missing]]])
        where = np.searchsorted(self._pixels, known, sorter=np.argsort(self._pixels))
        index = np.argsort(self._pixels)[where]
        return self._inverse[np.ix_(index, index)]


def solve_with_prior(A: sp.csr_matrix, values: np.ndarray, known: np.ndarray, prior: np.ndarray, leak: float, shape) -> np.ndarray:
    """Minimise ``xᵀ A x − 2 leak xᵀ prior`` with ``x = values`` at ``known`` (the free pixels' system,
    solved directly; ``A`` a propagation Laplacian with ``leak`` on its diagonal). Returns (n, c) float32."""
    out = np.asarray(prior, np.float64).copy()
    out[known] = values[known]
    free = ~known
    if free.any() and known.any():
        rows = A[free]
        rhs = leak * out[free] - rows[:, known] @ out[known]
        out[free] = factorise(rows[:, free], restrict_order(nested_dissection(*shape), free))(np.ascontiguousarray(rhs))
    return out.astype(np.float32)
