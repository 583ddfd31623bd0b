"""Colour hints: a colour the user wants at a small patch of the image.

A :class:`Hint` covers rows ``y … y+size−1`` and columns ``x … x+size−1`` of the full-resolution
image (the CLI's CSV convention). A napari point is *centred* on its patch instead; the
conversions below take care of that. A hint whose chroma is below :data:`GRAY_CHROMA` is a
**gray hint**: it says "keep this neutral" (mask 1, a*b* 0), which is not the same as no hint.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from napari_semcolor.color import parse_color, rgb_to_ab, to_hex
from napari_semcolor.errors import SemcolorError

#: a hint colour with a*b* chroma below this is a gray ("keep neutral") hint
GRAY_CHROMA = 4.0


@dataclass(frozen=True)
class Hint:
    """One colour hint.

    Attributes
    ----------
    y, x : int
        Top-left pixel of the patch (row, column) in the full-resolution image.
    rgb : (float, float, float)
        sRGB colour in [0, 1].
    size : int
        Side of the square patch in pixels (≥ 1).
    plane : tuple of int
        Leading (non-spatial) coordinates for nD stacks; empty = every plane.
    """

    y: int
    x: int
    rgb: tuple[float, float, float]
    size: int = 1
    plane: tuple[int, ...] = ()

    def __post_init__(self):
        if self.plane is None:  # None, as "no plane": every plane
            object.__setattr__(self, "plane", ())

    @property
    def ab(self) -> np.ndarray:
        """a*b* of the hint colour (0, 0 for a gray hint)."""
        ab = rgb_to_ab(np.asarray(self.rgb, np.float32))
        return np.zeros(2, np.float32) if self.is_gray else ab

    @property
    def is_gray(self) -> bool:
        """True if the hint means "keep this neutral"."""
        ab = rgb_to_ab(np.asarray(self.rgb, np.float32))
        return float(np.hypot(*ab)) < GRAY_CHROMA

    @property
    def hex(self) -> str:
        """The colour as ``#rrggbb``."""
        return to_hex(self.rgb)

    def to_dict(self) -> dict:
        """The hint as JSON-ready values (run metadata, sidecars); :meth:`from_dict` reads it back.

        Returns
        -------
        dict
            ``{"y": int, "x": int, "color": "#rrggbb", "size": int, "plane": [int, ...]}``.
        """
        return {"y": self.y, "x": self.x, "color": self.hex, "size": self.size, "plane": list(self.plane)}

    @classmethod
    def from_dict(cls, values: Mapping) -> Hint:
        """A hint from the dict of :meth:`to_dict` (``size`` and ``plane`` may be left out).

        Raises
        ------
        SemcolorError
            A missing ``y``, ``x`` or ``color``, or a value that cannot be read.
        """
        try:
            plane = tuple(int(v) for v in values.get("plane") or ())
            return cls(int(values["y"]), int(values["x"]), parse_color(values["color"]), int(values.get("size", 1)), plane)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SemcolorError(f"a hint is {{y, x, color[, size, plane]}}; cannot read {values!r}") from exc


def validate(hints: list[Hint], shape: tuple[int, int]) -> list[Hint]:
    """Check that every hint's top-left pixel lies in an image of ``shape`` (h, w).

    A patch reaching past the border is clipped, not refused.

    Raises
    ------
    SemcolorError
        A hint outside the image, a size below 1, a colour that is not 3 finite numbers in [0, 1],
        or a hint on a plane (only a stack has planes).
    """
    h, w = shape
    for i, hint in enumerate(hints):
        if hint.plane:
            raise SemcolorError(
                f"hint {i} is on plane {tuple(hint.plane)} but the image is 2D (one plane): give it without a plane "
                "(an empty plane column in a hints CSV), or colour a stack"
            )
        rgb = np.asarray(hint.rgb, np.float64)
        if rgb.shape != (3,) or not np.all(np.isfinite(rgb)) or rgb.min() < 0 or rgb.max() > 1:
            raise SemcolorError(f"hint {i} has colour {hint.rgb!r}; a hint colour is 3 sRGB values in [0, 1] (use parse_color for #rrggbb or 0–255)")
        if not (0 <= hint.y < h and 0 <= hint.x < w):
            raise SemcolorError(
                f"hint {i} at (y={hint.y}, x={hint.x}) is outside the image of {h}×{w} pixels; "
                "move or delete it"
            )
        if hint.size < 1:
            raise SemcolorError(f"hint {i} has size {hint.size}; a hint covers at least 1 pixel")
    return list(hints)


def rasterize(hints: list[Hint], shape: tuple[int, int], work_shape: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Paint hints into an a*b* field and a mask at a (working) resolution.

    Parameters
    ----------
    hints : list of Hint
        In full-resolution pixel coordinates of an image of ``shape``.
    shape : (H, W)
        Full-resolution image shape.
    work_shape : (h, w), optional
        Resolution of the output (default: ``shape``). Each patch covers at least one pixel.

    Returns
    -------
    ab : (h, w, 2) float32
        Hint a*b* where the mask is set, 0 elsewhere (also 0 under gray hints).
    mask : (h, w) float32
        1 under any hint (gray ones included), 0 elsewhere.
    """
    validate(hints, shape)
    h, w = work_shape or shape
    sy, sx = h / shape[0], w / shape[1]
    ab = np.zeros((h, w, 2), np.float32)
    mask = np.zeros((h, w), np.float32)
    for hint in hints:
        ys, xs = patch_slices(hint, shape, (sy, sx), (h, w))
        ab[ys, xs] = hint.ab
        mask[ys, xs] = 1
    return ab, mask


def patch_slices(hint: Hint, shape: tuple[int, int], scale=(1.0, 1.0), out_shape=None) -> tuple[slice, slice]:
    """Row and column slices a hint covers, at ``scale`` relative to the full-resolution ``shape``."""
    out_shape = out_shape or shape
    y0 = min(int(np.floor(hint.y * scale[0])), out_shape[0] - 1)
    x0 = min(int(np.floor(hint.x * scale[1])), out_shape[1] - 1)
    y1 = max(y0 + 1, min(int(np.ceil(min(hint.y + hint.size, shape[0]) * scale[0])), out_shape[0]))
    x1 = max(x0 + 1, min(int(np.ceil(min(hint.x + hint.size, shape[1]) * scale[1])), out_shape[1]))
    return slice(y0, y1), slice(x0, x1)


def from_points(coords: np.ndarray, colors, sizes=None) -> list[Hint]:
    """Hints from napari Points data: centres (n, D), colours (n, 3|4) or hex, sizes (n,).

    The last two coordinates are (row, column); any before them are the plane. Pass the colours
    stored in the layer's ``features`` where there are any (display colours are only a view).
    """
    coords = np.asarray(coords, np.float64)
    if coords.size == 0:
        return []
    if coords.ndim != 2 or coords.shape[1] < 2:
        raise SemcolorError(f"point coordinates must be (n, 2) or (n, D); got shape {coords.shape}")
    n = len(coords)
    sizes = np.ones(n) if sizes is None else np.broadcast_to(np.asarray(sizes, np.float64), (n,))
    colors = list(colors)
    if len(colors) != n:
        raise SemcolorError(f"{n} points but {len(colors)} colours")
    hints = []
    for c, col, s in zip(coords, colors, sizes):
        size = max(1, int(round(s)))
        half = (size - 1) / 2
        plane = tuple(int(round(v)) for v in c[:-2])
        hints.append(Hint(int(round(c[-2] - half)), int(round(c[-1] - half)), parse_color(col), size, plane))
    return hints


def to_points(hints: list[Hint]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Points data for hints: centres (n, D), sizes (n,), hex colours (n,)."""
    if not hints:
        return np.zeros((0, 2)), np.zeros(0), []
    ndim = max(len(h.plane) for h in hints) + 2
    coords = np.array(
        [[*([0] * (ndim - 2 - len(h.plane))), *h.plane, h.y + (h.size - 1) / 2, h.x + (h.size - 1) / 2] for h in hints],
        np.float64,
    )
    return coords, np.array([h.size for h in hints], np.float64), [h.hex for h in hints]


def read_csv(path: str | Path) -> list[Hint]:
    """Read hints from a CSV with header ``y,x,r,g,b`` and optional ``size`` and ``plane`` (colours 0–255).

    ``plane`` puts a hint on one plane of a stack, counting from 0 (``3``; with several leading
    axes one number per axis, ``0;3`` for t=0, z=3); left empty or out, the hint is on every plane.
    """
    path = Path(path)
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise SemcolorError(f"cannot read hints file {path}: {exc.strerror}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:  # e.g. an image given as the hints file
        raise SemcolorError(f"hints file {path} is not a text CSV with columns y,x,r,g,b[,size] ({exc})") from None
    need = {"y", "x", "r", "g", "b"}
    if rows and not need <= set(rows[0]):
        raise SemcolorError(f"hints file {path} needs the columns y,x,r,g,b (and optionally size, plane); it has {list(rows[0])}")
    hints = []
    for line, row in enumerate(rows, start=2):
        try:
            rgb = tuple(float(row[k]) / 255 for k in "rgb")
            size = int(float(row.get("size") or 1))
            hints.append(Hint(int(float(row["y"])), int(float(row["x"])), rgb, size, _plane(row.get("plane"))))
        except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: inf as a coordinate
            raise SemcolorError(f"hints file {path}, line {line}: {exc}") from exc
        if not all(0 <= v <= 1 for v in rgb):
            raise SemcolorError(f"hints file {path}, line {line}: r, g, b must be in 0–255")
    return hints


def _plane(text: str | None) -> tuple[int, ...]:
    """A CSV ``plane`` cell: "" → every plane, "3" → (3,), "0;3" → (0, 3)."""
    cells = [c for c in (text or "").replace(" ", ";").split(";") if c.strip()]
    plane = tuple(int(float(c)) for c in cells)
    if any(p < 0 for p in plane):
        raise ValueError(f"plane {text!r}: planes count from 0")
    return plane


def write_csv(hints: list[Hint], path: str | Path) -> None:
    """Write hints in the CSV format :func:`read_csv` reads (a ``plane`` column only if a hint has a plane)."""
    planes = any(h.plane for h in hints)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["y", "x", "r", "g", "b", "size"] + (["plane"] if planes else []))
        for h in hints:
            w.writerow([h.y, h.x, *(round(c * 255) for c in h.rgb), h.size] + ([";".join(map(str, h.plane))] if planes else []))
