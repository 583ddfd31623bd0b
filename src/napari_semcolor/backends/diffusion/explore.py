"""Room to differ: proposals that agree next to the hints and try other colourings away from them.

With hints, every proposal used to start from the same colouring (``propagate`` mixed with the
appearance guess), which spreads the hint colours everywhere; the network's corrections and the
noise were all that set proposals apart, so they differed by ΔE ≈ 1.5 — one proposal, four times.
Here each proposal gets its own starting point away from the hints: the hint colours are dealt
out anew (a random permutation of the hint patches, then the same spreading — ``propagate`` and
the appearance guess — with the permuted colours), so a region that looks like hint A may take
hint B's colour, and the result is blended in with a weight, the *freedom*, that is 0 next to
the hints and 1 far from them:

    start_k = base + strength · freedom · (dealt_k − base)

Proposal 0 keeps ``base``, the best single guess. The freedom also raises the sampler's
temperature far from the hints (:func:`temperature_map`), and since the freedom is 0 at the
hints, the hints themselves still hold in every proposal.

Gray hints are not dealt: "keep this neutral" is a statement about an area, not a colour to try
elsewhere. A gray hint keeps its colour in every proposal, and what it holds has no freedom: its
*neutral share* (:func:`neutral_share`) is 1 at gray hints, 0 at coloured ones, spread edge-aware
with a leak, so a substrate marked neutral stays neutral in every proposal however far from the
hint, while an unhinted object behind an edge (which the leak cuts off) stays free.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from napari_semcolor.backends.diffusion.appearance import MIX, appearance_colours
from napari_semcolor.propagation import affinity_graph, propagate, solve_propagation

#: the freedom is 0 within NEAR and 1 beyond FAR (fractions of the image's long side: 3 and
#: 13 px at the 128 px working resolution)
NEAR, FAR = 0.02, 0.10
#: default strength of the new starting points (``explore`` option); 0 = the same start for all
EXPLORE = 0.6
#: temperature far from the hints, reached where the freedom is 1 (at full ``explore``)
FAR_TEMPERATURE = 1.0
#: a hint patch of lower mean chroma than this is a gray ("keep neutral") hint
GRAY_CHROMA = 2.0
#: leak of the neutral share's propagation: small enough that a substrate holds its gray hints'
#: share across the image (noise weakens its affinities), large enough to cut an object off behind
#: its edge (on the bundled sample at 128 px: substrate freedom 0.10, unhinted particles 0.84–1)
NEUTRAL_LEAK = 1e-5


def freedom(hint_mask: np.ndarray, near: float = NEAR, far: float = FAR, *, neutral: np.ndarray | None = None) -> np.ndarray:
    """How free a pixel is to differ between proposals: 0 near the hints, 1 far away (smoothstep).

    ``near`` and ``far`` are distances as fractions of the long side; with no hints every pixel is
    free (1). ``neutral`` (h, w in [0, 1], :func:`neutral_share`) takes its share off.
    """
    mask = np.asarray(hint_mask) > 0
    if not mask.any():
        return np.ones(mask.shape, np.float32)
    side = max(mask.shape)
    d = ndimage.distance_transform_edt(~mask) / side
    t = np.clip((d - near) / (far - near), 0, 1)
    free = t * t * (3 - 2 * t)
    if neutral is not None:
        free = free * (1 - np.clip(neutral, 0, 1))
    return free.astype(np.float32)


def _patches(hint_ab: np.ndarray, hint_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hint patches (connected, labelled 1..n) and each one's mean a*b* (n, 2)."""
    patches, n = ndimage.label(np.asarray(hint_mask) > 0)
    colours = np.stack([ndimage.mean(hint_ab[..., c], patches, np.arange(1, n + 1)) for c in range(2)], -1).reshape(n, 2)
    return patches, colours


def neutral_share(L: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """How much of each pixel (h, w in [0, 1]) the gray hints hold: 1 at gray hint patches, 0 at
    coloured ones, spread edge-aware and fading with :data:`NEUTRAL_LEAK` (0 without gray hints).

    Plain propagation (no leak) would give an unhinted object the value around it, however strong
    its edge; the leak lets the share fade behind edges, so only what the gray hints reach along
    similar gray is held neutral.
    """
    patches, colours = _patches(hint_ab, hint_mask)
    gray = np.flatnonzero(np.linalg.norm(colours, axis=-1) < GRAY_CHROMA) + 1
    if gray.size == 0:
        return np.zeros(patches.shape, np.float32)
    values = np.isin(patches, gray).astype(np.float64).reshape(-1, 1)
    W = affinity_graph(np.asarray(L, np.float32), labels)
    share = solve_propagation(W, values, (patches > 0).ravel(), leak=NEUTRAL_LEAK)
    return np.clip(share.reshape(patches.shape), 0, 1)


def dealt_hints(hint_ab: np.ndarray, hint_mask: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The hint colours dealt out anew: every coloured hint patch takes the mean colour of another
    coloured one; gray ("keep neutral") patches stay gray."""
    patches, colours = _patches(hint_ab, hint_mask)
    coloured = np.flatnonzero(np.linalg.norm(colours, axis=-1) >= GRAY_CHROMA)
    if coloured.size < 2:
        return hint_ab
    order = rng.permutation(coloured.size)
    if np.all(order == np.arange(coloured.size)):
        order = np.roll(order, 1)
    dealt = colours.copy()
    dealt[coloured] = colours[coloured[order]]
    table = np.concatenate([np.zeros((1, 2)), dealt]).astype(np.float32)
    return table[patches]


def varied_starts(
    L: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray, base: np.ndarray, app: np.ndarray | None, n: int, *,
    seed: int = 0, strength: float = EXPLORE, labels: np.ndarray | None = None, free: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """``n`` starting points and appearance guesses (n, h, w, 2; None without ``app``).

    Proposal 0 keeps ``base`` and ``app``. The others spread a permutation of the hint colours
    (:func:`dealt_hints`) the way ``base`` was made (``propagate``, mixed with the appearance
    guess when ``app`` is given) and blend it in by the freedom (``free``, default
    :func:`freedom` of the hints) × ``strength``: next to the hints every proposal starts from
    ``base``.
    """
    starts = np.repeat(base[None], n, axis=0).astype(np.float32)
    apps = None if app is None else np.repeat(app[None], n, axis=0).astype(np.float32)
    if n < 2 or strength <= 0 or not (np.asarray(hint_mask) > 0).any():
        return starts, apps
    rng = np.random.default_rng(seed)
    dealt = [dealt_hints(hint_ab, hint_mask, rng) for _ in range(n - 1)]
    h, w = L.shape
    spread = propagate(L, np.concatenate(dealt, axis=-1), hint_mask, labels).reshape(h, w, n - 1, 2)
    weight = (strength * (freedom(hint_mask) if free is None else free))[..., None]
    for k in range(1, n):
        other = spread[:, :, k - 1]
        if app is not None:
            other_app = appearance_colours(L, dealt[k - 1], hint_mask, labels=labels)
            other_app = np.where(np.isfinite(other_app), other_app, other)
            apps[k] = app + weight * (other_app - app)
            other = (1 - MIX) * other + MIX * other_app
        starts[k] = base + weight * (other - base)
    return starts, apps


def free_map(L: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """The freedom of a run: :func:`freedom` of the hints less the gray hints' :func:`neutral_share`."""
    return freedom(hint_mask, neutral=neutral_share(L, hint_ab, hint_mask, labels))


def temperature_map(hint_mask: np.ndarray, near: float, far: float, strength: float = EXPLORE, free: np.ndarray | None = None) -> np.ndarray:
    """Noise temperature per pixel: ``near`` next to the hints, up to ``far`` away from them
    (by the freedom ``free``, default :func:`freedom` of the hints)."""
    free = np.clip(strength, 0, 1) * (freedom(hint_mask) if free is None else free)
    return (near + (far - near) * free).astype(np.float32)


__all__ = ["freedom", "free_map", "neutral_share", "dealt_hints", "varied_starts", "temperature_map"]
