"""Simulated user hints on real colour SEM images: rim-handling variants, backends, hint corrections.

    PYTHONPATH=src python -m benchmarks.hint_quality [--data ../shared/data/semcolorful/train] [--images 30]
        [--size 384] [--hints 12] [--seed 0] [--variant baseline crest-cut ...] [--per-image]
        [--backend propagate|eecnn|diffusion|nst] [--option KEY=VALUE ...] [--correction pixel material]
        [--save DIR] [--only sem_0270 ...]

Protocol: the first ``--images`` images of the fixed validation split (:func:`training.data.split_files`),
resized to long side ``--size``. The gray input is the image's L* as 8 bits (``round(2.55 L*)``).
A simulated user places ``--hints`` 3×3 hints at seeded random points where the true colour is
locally uniform (a*b* standard deviation in a 7×7 window below 2, or the lowest 30 % of the image)
and L* is not on a strong edge (gradient below the image's 80th percentile), each with the true mean colour
of its patch; every other hint goes where the true a*b* differs most from the hints so far (a
user hints each colour seen). The result of ``colorize(gray, "propagate", hints)`` is scored against the truth
by mean ΔE_ab over all pixels, over **rim pixels** (bright thin ridges: white top-hat of L* with a
disk of radius 3 above 15 L*) and over the rest; and per hint by its material (the connected pixels
of similar L* around it, :func:`napari_semcolor.pipeline.material.hint_materials`): **regions
right**, the share of hints whose material's median a*b* ends within 10 ΔE_ab of the hint, and the
mean ΔE_ab against the truth over the hinted materials.

``--backend`` colours with another backend (``eecnn`` on the CPU; ``nst`` with the image's own
truth as its reference, its best case); ``--correction`` runs the pipeline's hint correction
(:func:`napari_semcolor.pipeline.refine.correct_to_hints`) reading the backend's colour at the hint
pixels (``pixel``) or over the hint's material (``material``). The backend's proposal of an image
is computed once and reused by every correction (so "s / image" is the backend's time on the first
row only).

Variants replace :func:`napari_semcolor.propagation.affinity_graph` (the graph cache is cleared
between variants). They are the prototypes for the bright rims of SEM edges, whose two steep
slopes link the rim strongly across the border it sits on:

* ``crest-cut``: affinities times ``exp(−r²/2σ²)``, ``r² = max(s_p, 0)·max(−s_q, 0)`` with ``s``
  the slope of smoothed L* along p→q: pairs on opposite slopes of a ridge are cut (σ the noise
  level of the smoothed L*, as for the affinities; ``crest-cut-strong``: σ/2);
* ``opened-rims``: inside a detected rim zone (white top-hat of smoothed L*, disk 3, above 3σ,
  components of at least twice the disk's area, dilated by 1), affinities on the grey-opened L*;
* ``crest-cut+opened-rims``: both, the crest cut inside the zone only.

The summary gives, per variant, the means over images, the **rim share** (the rim pixels' part of
"ΔE all": ``ΔE rim × rim fraction``, the most any rim handling could take off it), the mean seconds
per image, and how many images got better / worse than ``baseline`` by more than 0.5 ΔE (all pixels).
``--save`` writes side-by-side PNGs (gray with the hints marked | truth | each variant) of the 8 images with the
most rim pixels, or of the ``--only`` images (which get the same hints as in a full run).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import time
from functools import partial
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

import napari_semcolor.propagation as P
from napari_semcolor import colorize
from napari_semcolor.color import image_to_lab
from napari_semcolor.hints import Hint, rasterize
from napari_semcolor.pipeline.material import hint_materials
from training.data import list_images, load_rgb, resize_long_side, rgb_to_lab, split_files

R = importlib.import_module("napari_semcolor.pipeline.refine")  # the package's `refine` is the function
run_module = importlib.import_module("napari_semcolor.pipeline.run")
ORIGINAL = P.affinity_graph
ORIGINAL_CORRECTION = R.correct_to_hints
REGION_RIGHT = 10.0  # ΔE_ab: a hinted material whose median a*b* is this close to the hint is right
BACKENDS = ("propagate", "eecnn", "diffusion", "nst")
CORRECTIONS = ("pixel", "material")
RIM_TOPHAT = 15.0  # L* units: a ridge this much brighter than its opening is a rim pixel


def disk(r: int) -> np.ndarray:
    """Boolean disk footprint of radius ``r``."""
    return np.hypot(*np.mgrid[-r:r + 1, -r:r + 1]) <= r + 0.2


def rim_pixels(L: np.ndarray) -> np.ndarray:
    """Bright thin ridges of L*: white top-hat with a disk of radius 3 above :data:`RIM_TOPHAT`."""
    return ndimage.white_tophat(L.astype(np.float32), footprint=disk(3)) > RIM_TOPHAT


def pick_hints(lab: np.ndarray, rgb: np.ndarray, n: int, rng: np.random.Generator) -> list[Hint]:
    """``n`` 3×3 hints where the true colour is locally uniform and L* is not on an edge.

    Like a user, who hints each colour seen: every other hint goes to a random one of the places
    whose a*b* is farthest (top 5 %) from the hints so far; the others are uniformly random.
    """
    mean = lambda x: ndimage.uniform_filter(x, 7)  # noqa: E731
    a, b = lab[..., 1], lab[..., 2]
    std = np.sqrt(np.maximum(mean(a * a) - mean(a) ** 2 + mean(b * b) - mean(b) ** 2, 0))
    grad = ndimage.gaussian_gradient_magnitude(lab[..., 0], 1.0)
    ok = (std < max(2.0, float(np.percentile(std, 30)))) & (grad < np.percentile(grad, 80))
    ok[:4], ok[-4:], ok[:, :4], ok[:, -4:] = False, False, False, False
    ys, xs = np.nonzero(ok)
    ab = np.stack([mean(a)[ys, xs], mean(b)[ys, xs]], -1)
    chosen = [int(rng.integers(ys.size))]
    while len(chosen) < min(n, ys.size):
        if len(chosen) % 2:
            far = np.min(np.linalg.norm(ab[:, None] - ab[chosen][None], axis=-1), axis=1)
            pool = np.flatnonzero(far >= np.percentile(far, 95))
        else:
            pool = np.arange(ys.size)
        chosen.append(int(rng.choice(pool)))
    patch = lambda y, x: tuple(float(c) for c in rgb[y - 1:y + 2, x - 1:x + 2].reshape(-1, 3).mean(0))  # noqa: E731
    return [Hint(int(ys[i]) - 1, int(xs[i]) - 1, patch(ys[i], xs[i]), 3) for i in chosen]


def _pairs(h: int, w: int):
    for dy, dx in P._OFFSETS:
        yield dy, dx, (slice(0, h - dy), slice(max(0, -dx), w - max(0, dx))), (slice(dy, h), slice(max(0, dx), w + min(0, dx)))


def crest_factor(Ls: np.ndarray, sigma: float, zone: np.ndarray | None = None) -> sp.csr_matrix:
    """Symmetric matrix of ``exp(−r²/2σ²)`` per 8-neighbour pair (1 outside ``zone``)."""
    h, w = Ls.shape
    gy, gx = np.gradient(Ls)
    idx = np.arange(h * w).reshape(h, w)
    rows, cols, vals = [], [], []
    for dy, dx, s, t in _pairs(h, w):
        n = np.hypot(dy, dx)
        sp_, sq = (gy[s] * dy + gx[s] * dx) / n, (gy[t] * dy + gx[t] * dx) / n
        f = np.exp(-np.maximum(sp_, 0) * np.maximum(-sq, 0) / (2 * sigma**2))
        if zone is not None:
            f = np.where(zone[s] | zone[t], f, 1.0)
        rows.append(idx[s].ravel())
        cols.append(idx[t].ravel())
        vals.append(f.ravel())
    F = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(h * w, h * w)).tocsr()
    return F + F.T


def rim_zone(Ls: np.ndarray, sigma: float, radius: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Grey opening of smoothed L* and the zone of its bright thin ridges (``rims_proto.py``)."""
    opened = ndimage.grey_opening(Ls, footprint=disk(radius))
    parts, n = ndimage.label(Ls - opened > 3 * sigma, structure=np.ones((3, 3)))
    if n == 0:
        return opened, np.zeros(Ls.shape, bool)
    keep = np.bincount(parts.ravel()) >= 2 * disk(radius).sum()
    keep[0] = False
    return opened, ndimage.binary_dilation(keep[parts], structure=np.ones((3, 3)))


def make_variant(name: str):
    """An ``affinity_graph`` replacement for variant ``name``."""
    if name == "baseline":
        return ORIGINAL

    def graph(L, labels=None, *, sigma=None, smooth=1.0, sigma_floor=1.0):
        Ls = ndimage.gaussian_filter(L.astype(np.float32), smooth) if smooth > 0 else L.astype(np.float32)
        s = max(P.noise_level(Ls) if sigma is None else sigma, sigma_floor)
        if name.startswith("crest-cut") and "rims" not in name:
            cut = crest_factor(Ls, s / 2 if name.endswith("strong") else s)
            return ORIGINAL(L, labels, sigma=sigma, smooth=smooth, sigma_floor=sigma_floor).multiply(cut).tocsr()
        opened, zone = rim_zone(Ls, s)
        W = ORIGINAL(np.where(zone, opened, Ls), labels, sigma=s, smooth=0, sigma_floor=sigma_floor)
        if name == "crest-cut+opened-rims":
            W = W.multiply(crest_factor(Ls, s, zone)).tocsr()
        return W.tocsr()

    return graph


VARIANTS = ("baseline", "crest-cut", "crest-cut-strong", "opened-rims", "crest-cut+opened-rims")


def delta_e(out_rgb: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """Per-pixel ΔE_ab between a uint8 result and the true L*a*b*."""
    return np.linalg.norm(image_to_lab(out_rgb.astype(np.float32) / 255) - lab, axis=-1)


def regions_scores(out_rgb: np.ndarray, lab: np.ndarray, gray: np.ndarray, hints: list[Hint]) -> tuple[float, float]:
    """(share of hint spots whose material ends within :data:`REGION_RIGHT` ΔE_ab (a*b*) of the hint,
    mean ΔE_ab against the truth over those materials): the material as the ``material`` correction reads it."""
    out_ab = image_to_lab(out_rgb.astype(np.float32) / 255)[..., 1:]
    hint_ab, hint_mask = rasterize(hints, gray.shape)
    L = gray.astype(np.float32) / 2.55
    right, union = [], np.zeros(gray.shape, bool)
    for window, spot, material in hint_materials(L, hint_mask > 0):
        want = hint_ab[window][spot].mean(axis=0)
        right.append(np.linalg.norm(np.median(out_ab[window][material], axis=0) - want) <= REGION_RIGHT)
        union[window] |= material
    return float(np.mean(right)), float(delta_e(out_rgb, lab)[union].mean())


def run_image(rgb: np.ndarray, configs, n_hints: int, seed: int, backend: str, options: dict | None = None) -> tuple[dict, dict]:
    """Scores (``all``, ``rim``, ``rest``, ``right``, ``mat``, ``s``) and results per (variant, correction) for one image."""
    lab = rgb_to_lab(rgb)
    gray = np.clip(np.round(lab[..., 0] * 2.55), 0, 255).astype(np.uint8)
    hints = pick_hints(lab, rgb, n_hints, np.random.default_rng(seed))
    rim = rim_pixels(lab[..., 0])
    kwargs = {"device": "cpu"} if backend == "eecnn" else {}
    if options:
        kwargs["options"] = options
    if backend == "nst":  # the image's own truth as its reference: the backend's best case
        kwargs["references"] = {0: np.round(rgb * 255).astype(np.uint8)}
    scores, images = {}, {}
    cached = _cache_proposals()
    for label, (v, correction) in configs.items():
        P._RECENT.clear()
        P._ALIVE.clear()
        P.affinity_graph = make_variant(v)
        R.correct_to_hints = partial(ORIGINAL_CORRECTION, read=correction)
        t0 = time.perf_counter()
        out = colorize(gray, backend, hints, **kwargs).image
        dt = time.perf_counter() - t0
        d = delta_e(out, lab)
        right, mat = regions_scores(out, lab, gray, hints)
        scores[label] = {"all": d.mean(), "rim": d[rim].mean() if rim.any() else np.nan, "rest": d[~rim].mean(), "s": dt,
                         "rim%": 100 * rim.mean(), "right": right, "mat": mat}
        images[label] = out
    cached.restore()
    P.affinity_graph = ORIGINAL
    R.correct_to_hints = ORIGINAL_CORRECTION
    return scores, {"gray": np.repeat(gray[..., None], 3, -1), "truth": np.round(rgb * 255).astype(np.uint8), **images, "hints": hints}


class _cache_proposals:
    """The backend's proposals of one image, computed once for all corrections (the variants change the
    graph, so a proposal is reused only for the same variant: keyed by the affinity function)."""

    def __init__(self):
        self.memo = {}
        self.original = run_module.propose

        def propose(model, inputs, params, *args):
            key = P.affinity_graph
            if key not in self.memo:
                self.memo[key] = self.original(model, inputs, params, *args)
            ab, job = self.memo[key]
            return ab.copy(), job

        run_module.propose = propose

    def restore(self) -> None:
        run_module.propose = self.original


def summary(per_image: list[dict], variants) -> str:
    """Markdown table of means over images, and better / worse counts against the first variant."""
    lines = ["| variant | ΔE all | ΔE rim | ΔE rest | rim share | regions right | ΔE hinted materials | s / image | better | worse |",
             "|---" * 10 + "|"]
    base = np.array([s[variants[0]]["all"] for s in per_image])
    for v in variants:
        col = {k: np.array([s[v][k] for s in per_image]) for k in ("all", "rim", "rest", "s", "rim%", "right", "mat")}
        # what rim pixels add to "ΔE all": the most any rim handling could take off it
        share = np.nan_to_num(col["rim"]) * col["rim%"] / 100
        diff = col["all"] - base
        lines.append(f"| {v} | {col['all'].mean():.2f} | {np.nanmean(col['rim']):.2f} | {col['rest'].mean():.2f} | "
                     f"{share.mean():.2f} | {100 * col['right'].mean():.1f}% | {col['mat'].mean():.2f} | {col['s'].mean():.2f} | "
                     f"{(diff < -0.5).sum()} | {(diff > 0.5).sum()} |")
    return "\n".join(lines)


def per_image_table(names, per_image: list[dict], variants) -> str:
    """Markdown table of ΔE (all / rim) per image and variant."""
    lines = ["| image | rim % | " + " | ".join(f"{v} all / rim" for v in variants) + " |", "|---" * (len(variants) + 2) + "|"]
    for name, s in zip(names, per_image):
        cells = " | ".join(f"{s[v]['all']:.2f} / {s[v]['rim']:.2f}" for v in variants)
        lines.append(f"| {name} | {s[variants[0]]['rim%']:.1f} | {cells} |")
    return "\n".join(lines)


def save_side_by_side(path: Path, images: dict, variants) -> None:
    """gray | truth | each variant, with the hints marked on the gray panel."""
    from PIL import Image

    gray = images["gray"].copy()
    for h in images["hints"]:
        gray[max(h.y - 2, 0):h.y + 5, max(h.x - 2, 0):h.x + 5] = (255, 0, 255)
        gray[h.y:h.y + 3, h.x:h.x + 3] = np.round(np.asarray(h.rgb) * 255)
    Image.fromarray(np.concatenate([gray, images["truth"]] + [images[v] for v in variants], 1)).save(path)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/data/semcolorful/train")
    ap.add_argument("--images", type=int, default=30)
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--hints", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variant", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--backend", default="propagate", choices=BACKENDS, help="nst: the image's own truth is its reference")
    ap.add_argument("--correction", nargs="+", default=["pixel"], choices=CORRECTIONS,
                    help="where the hint correction reads the backend's colour: at the hint pixels or over their material")
    ap.add_argument("--option", nargs="+", default=[], metavar="KEY=VALUE", help="backend options, e.g. hint_reach=0")
    ap.add_argument("--per-image", action="store_true", help="also print the per-image table")
    ap.add_argument("--save", type=Path, help="folder for side-by-side PNGs of the most rimmed images")
    ap.add_argument("--only", nargs="+", help="only these images of the split (file stems); all are saved")
    args = ap.parse_args(argv)
    configs = {f"{v} {c}": (v, c) for v in ["baseline"] + [v for v in args.variant if v != "baseline"] for c in args.correction}
    variants = list(configs)
    files = list(enumerate(split_files(list_images(args.data))[1]))[: args.images]
    if args.only:  # the same hints as in a full run: the seed goes with the image's place in the split
        files = [(i, f) for i, f in enumerate(split_files(list_images(args.data))[1]) if f.stem in args.only]
    per_image, kept = [], []
    for i, f in files:
        scores, images = run_image(resize_long_side(load_rgb(f), args.size), configs, args.hints, args.seed + i, args.backend,
                                   {k: ast.literal_eval(v) for k, v in (o.split("=", 1) for o in args.option)})
        per_image.append(scores)
        if args.save:
            kept.append((scores[variants[0]]["rim%"], f.stem, images))
            kept = sorted(kept, key=lambda k: -k[0])[: len(files) if args.only else 8]  # keep only the 8 most rimmed in memory
    print(f"{len(files)} validation images, long side {args.size}, {args.hints} hints of 3×3 px each, backend {args.backend} {' '.join(args.option)}\n")
    print(summary(per_image, variants))
    if args.per_image:
        print()
        print(per_image_table([f.stem for _, f in files], per_image, variants))
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for _, stem, images in kept:
            save_side_by_side(args.save / f"{stem}.png", images, variants)


if __name__ == "__main__":
    main()
