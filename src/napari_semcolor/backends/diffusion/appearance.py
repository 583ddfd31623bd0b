"""Hint colours spread by appearance: each pixel takes the colours of the hints that look like it.

``propagate`` moves a hint's colour along paths without strong edges, so a region with no hint of
its own gets the colour of whatever hint reaches it first. In coloured micrographs regions that
*look* alike (same gray, same texture) usually share a colour, wherever they are. This module
gives that non-local guess: a soft assignment of every pixel to the hints by the distance between
local L* statistics (mean and standard deviation at three scales),

    ab(p) = Σ_h w_h(p) ab_h,   w_h(p) ∝ exp(−‖f(p) − f_h‖² / τ),

which the diffusion backend mixes with the ``propagate`` result, ``(1 − MIX)·propagate + MIX·this``,
as the starting point its network corrects (the network also sees both). Linear in the hint
colours, like ``propagate``, so hue rotations of the training data commute with it.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: Gaussian scales (pixels of the working resolution) of the local L* statistics
SCALES = (1.0, 3.0, 6.0)
#: softness of the assignment (in squared feature units: L* / 10); with MIX chosen on 48 training
#: images (10 one-pixel hints, 128 px): τ ∈ {0.5, 1, 2} × weight ∈ {0.3, 0.5, 0.7, 1}
TAU = 1.0
#: weight of the appearance guess against ``propagate`` in the diffusion backend's starting point
MIX = 0.7
#: at most this many hint patches take part (more are thinned evenly; a full reveal is one patch)
MAX_HINTS = 256


def appearance_features(L: np.ndarray) -> np.ndarray:
    """Local mean and standard deviation of L* at :data:`SCALES`: (h, w, 2·len(SCALES)), L*/10 units."""
    L = np.asarray(L, np.float32)
    out = []
    for s in SCALES:
        mean = ndimage.gaussian_filter(L, s)
        std = np.sqrt(np.maximum(ndimage.gaussian_filter(L * L, s) - mean * mean, 0))
        out += [mean, std]
    return np.stack(out, axis=-1) / 10


def appearance_colours(L: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray, tau: float = TAU, labels: np.ndarray | None = None) -> np.ndarray:
    """Every pixel's a*b* as the appearance-weighted mean of the hint colours.

    Parameters
    ----------
    L : (h, w) L* in [0, 100]
    hint_ab : (h, w, 2) hint a*b* (0 under gray hints)
    hint_mask : (h, w) 1 under hints
    tau : float
        Softness: small → each pixel takes its most similar hint's colour.
    labels : (h, w) int, optional
        Regions: a pixel only takes colours of hints in its own region (region borders stop
        colour, as in ``propagate``); NaN where its region has no hint.

    Returns
    -------
    (h, w, 2) float32; zeros when there are no hints.
    """
    h, w = L.shape
    patches, n = ndimage.label(np.asarray(hint_mask) > 0)
    if n == 0:
        return np.zeros((h, w, 2), np.float32)
    feats = appearance_features(L).reshape(h * w, -1)
    ids = patches.ravel()
    keep = ids > 0
    counts = np.bincount(ids[keep], minlength=n + 1)[1:].astype(np.float32)[:, None]
    colours = np.stack([np.bincount(ids[keep], hint_ab.reshape(-1, 2)[keep, c], n + 1)[1:] for c in range(2)], -1) / counts
    centres = np.stack([np.bincount(ids[keep], feats[keep, c], n + 1)[1:] for c in range(feats.shape[1])], -1) / counts
    region = None
    if labels is not None:
        lab = np.asarray(labels).ravel()
        region = _majority_label(ids[keep], lab[keep], n)
    if n > MAX_HINTS:
        pick = np.linspace(0, n - 1, MAX_HINTS).round().astype(int)
        colours, centres = colours[pick], centres[pick]
        region = None if region is None else region[pick]
    d = (feats**2).sum(1, keepdims=True) - 2 * feats @ centres.T + (centres**2).sum(1)[None]
    if region is not None:
        d = np.where(lab[:, None] == region[None], d, np.inf)
    with np.errstate(invalid="ignore"):  # a region without hints: inf − inf
        weights = np.exp(-(d - d.min(axis=1, keepdims=True)) / tau)
        out = (weights @ colours) / weights.sum(axis=1, keepdims=True)
    return out.reshape(h, w, 2).astype(np.float32)


def _majority_label(patch: np.ndarray, label: np.ndarray, n: int) -> np.ndarray:
    """The label under most of each patch 1…n (ties: the smallest label), in one pass over the pixels."""
    base = int(label.min())
    span = int(label.max()) - base + 1
    pairs, counts = np.unique(patch.astype(np.int64) * span + (label - base), return_counts=True)
    owner = pairs // span
    order = np.lexsort((-counts, owner))  # per patch, the most covered label first (stable: smallest on ties)
    first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    return pairs[first] % span + base


__all__ = ["appearance_features", "appearance_colours"]
