"""Train the hint-guided diffusion U-Net on one CPU core.

    python -m training.diffusion --data ../shared/data/semcolorful/train --out runs/diffusion [--resume]
    # with no checkpoint left (a new machine): continue from the shipped EMA weights
    python -m training.diffusion --data ../shared/data/semcolorful/train --out runs/diffusion --init-from models/diffusion.safetensors

Examples are made at the working resolution the backend runs at (128 px), exactly as the backend
sees them: simulated hints → ``propagate`` → :func:`napari_semcolor.backends.diffusion.net_inputs`
at half that resolution. Making an example costs more than a training step on it (the sparse
solve), so a pool of examples is built once and a few of them are replaced every step; what
commutes with propagation is applied per batch instead, for free: flips/rot90, hue rotation and
chroma scaling of the a*b* plane (propagation is linear in the colours), and dropping all hints
(for classifier-free guidance; propagating no hints gives zero).

Checkpoints (``last.ckpt``: a dict of tensors and numbers, read with ``weights_only=True``) hold the
model, its EMA, the optimiser and the step; the log ``train.log`` has the loss and, every
``--val-every`` steps, the validation PSNR with 10 hints next to ``propagate``'s.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

from napari_semcolor.backends.diffusion import NET_SIZE, TEMPERATURE, net_inputs, residual_to_ab, sample_residual, starting_point, to_tensor_cond
from napari_semcolor.color import compose, image_to_lab, to_lightness
from napari_semcolor.propagation import propagate
from napari_semcolor.synthetic import KINDS, make_sem, paint, region_colors
from napari_semcolor.upsample import downsample
from training.data import list_images, load_lab, split_files
from training.metrics import psnr

WORK = 128  # working resolution of the backend (long side)
STORE = 176  # long side the training images are kept at in memory (crops are scaled from it)
GRAY_CHROMA = 5.0


# ----------------------------------------------------------------------------- hints


def simulate_hints(ab: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random user hints for a true a*b* image (h, w, 2), as in Zhang et al. 2017 / AB-diffuser.

    Count ~ geometric(p = 1/8) − 1 (so 0 happens), patches of 1–9 px, half of the locations drawn
    around the centre and half uniformly, colour = the patch's mean a*b*; about 1% of examples
    reveal everything. Gray hints (mask 1, colour 0) are added on low-chroma pixels.
    """
    h, w = ab.shape[:2]
    hint_ab = np.zeros_like(ab)
    mask = np.zeros((h, w), np.float32)
    if rng.random() < 0.01:
        return ab.copy(), np.ones((h, w), np.float32)
    for _ in range(rng.geometric(1 / 8) - 1):
        size = int(rng.integers(1, 10))
        if rng.random() < 0.5:
            y, x = rng.normal([h / 2, w / 2], [h / 4, w / 4])
        else:
            y, x = rng.uniform([0, 0], [h, w])
        y0 = int(np.clip(y - size / 2, 0, h - size))
        x0 = int(np.clip(x - size / 2, 0, w - size))
        ys, xs = slice(y0, y0 + size), slice(x0, x0 + size)
        hint_ab[ys, xs] = ab[ys, xs].reshape(-1, 2).mean(axis=0)
        mask[ys, xs] = 1
    low = np.hypot(ab[..., 0], ab[..., 1]) < GRAY_CHROMA
    if low.any() and rng.random() < 0.3:
        ys, xs = np.nonzero(low)
        for k in rng.integers(0, len(ys), rng.geometric(1 / 3)):
            size = int(rng.integers(1, 6))
            sl = slice(ys[k], ys[k] + size), slice(xs[k], xs[k] + size)
            hint_ab[sl] = 0
            mask[sl] = 1
    return hint_ab, mask


def uniform_hints(ab: np.ndarray, n: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` hints of ``size``² px at uniform locations with the patch-mean colour (iColoriT protocol)."""
    h, w = ab.shape[:2]
    hint_ab = np.zeros_like(ab)
    mask = np.zeros((h, w), np.float32)
    for _ in range(n):
        y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
        sl = slice(y, y + size), slice(x, x + size)
        hint_ab[sl] = ab[sl].reshape(-1, 2).mean(axis=0)
        mask[sl] = 1
    return hint_ab, mask


# ----------------------------------------------------------------------------- examples


def synthetic_lab(rng: np.random.Generator, size: int = WORK) -> tuple[np.ndarray, np.ndarray]:
    """A generated SEM-like image with a random region colouring: L (h, w) and in-gamut a*b* (h, w, 2)."""
    sem = make_sem((size, size), KINDS[rng.integers(len(KINDS))], seed=int(rng.integers(1 << 31)), noise=float(rng.uniform(2, 10)))
    L = to_lightness(sem.image)
    colors = region_colors(sem.labels, seed=int(rng.integers(1 << 31)), chroma=(8, 60))
    for k in colors:
        if rng.random() < 0.15:
            colors[k] = colors[k] * 0  # some regions stay gray
    lab = image_to_lab(compose(L, paint(sem.labels, colors)))
    return L, lab[..., 1:]


def crop_lab(lab: np.ndarray, rng: np.random.Generator, size: int = WORK) -> np.ndarray:
    """A random square crop of (a random 55–100% of) the short side, scaled to ``size``²."""
    h, w = lab.shape[:2]
    c = int(min(h, w) * rng.uniform(0.55, 1.0))
    y, x = int(rng.integers(0, h - c + 1)), int(rng.integers(0, w - c + 1))
    return downsample(lab[y : y + c, x : x + c], (size, size))


def make_example(
    images: list[np.ndarray], rng: np.random.Generator,
    synthetic_fraction: float = 0.25, net_size: int = NET_SIZE, appearance: bool = False,
) -> np.ndarray:
    """One training example at network resolution: (h, w, 8) = L, hint a*b*, mask, prop a*b*, true a*b*
    (+ appearance-spread hint a*b*: (h, w, 10))."""
    if rng.random() < synthetic_fraction or not images:
        L, ab = synthetic_lab(rng)
    else:
        lab = crop_lab(images[rng.integers(len(images))], rng)
        L, ab = lab[..., 0], lab[..., 1:]
    hint_ab, mask = simulate_hints(ab, rng)
    prop = propagate(L, hint_ab, mask)
    base, app = starting_point(L, hint_ab, mask, prop, appearance)
    inp = net_inputs(L, hint_ab, mask, base, net_size, app)
    truth = downsample(ab, inp["L"].shape)
    parts = [inp["L"][..., None], inp["hint_ab"], inp["hint_mask"][..., None], inp["prop"], truth]
    return np.concatenate(parts + ([inp["app"]] if appearance else []), axis=-1).astype(np.float32)


# ----------------------------------------------------------------------------- batches


def augment(batch, rng: np.random.Generator, drop: float = 0.1):
    """Flips/rot90, hue rotation and chroma scaling of every a*b* channel, hint dropout (all commute with propagate).

    ``batch`` is a (n, 8, h, w) tensor (n, 10, h, w with the appearance channels); returns the
    network conditioning (n, 6 or 8, h, w) and the clean residual x0 (n, 2, h, w), in network units.
    """
    import torch

    from napari_semcolor.nets.unet import AB_SCALE, conditioning

    b = batch
    k = int(rng.integers(4))
    b = torch.rot90(b, k, dims=(2, 3))
    if rng.random() < 0.5:
        b = torch.flip(b, dims=(3,))
    n = b.shape[0]
    theta = torch.from_numpy(np.where(rng.random(n) < 0.8, rng.uniform(0, 2 * np.pi, n), 0.0)).float()
    gain = torch.from_numpy(np.exp(rng.uniform(np.log(0.6), np.log(1.5), n))).float()
    c, s = torch.cos(theta) * gain, torch.sin(theta) * gain
    rot = torch.stack([torch.stack([c, -s], 1), torch.stack([s, c], 1)], 1)  # (n, 2, 2)
    L, hint_ab, mask, prop, truth = b[:, :1], b[:, 1:3], b[:, 3:4], b[:, 4:6], b[:, 6:8]
    turn = lambda ab: torch.einsum("nij,njhw->nihw", rot, ab)  # noqa: E731
    hint_ab, prop, truth = turn(hint_ab), turn(prop), turn(truth)
    keep = torch.from_numpy(rng.random(n) >= drop).float()[:, None, None, None]
    hint_ab, mask, prop = hint_ab * keep, mask * keep, prop * keep
    app = turn(b[:, 8:10]) * keep if b.shape[1] >= 10 else None  # linear in the hint colours, like prop
    return conditioning(L, hint_ab, mask, prop, app), (truth - prop) / AB_SCALE


# ----------------------------------------------------------------------------- validation


def validation_set(files: list[Path], n_hints: int = 10, seed: int = 0) -> list[dict]:
    """Validation images at the working resolution with ``n_hints`` uniform 1-px hints (fixed seed)."""
    out = []
    for i, f in enumerate(files):
        lab = load_lab(f, long_side=WORK)
        L, ab = lab[..., 0], lab[..., 1:]
        hint_ab, mask = uniform_hints(ab, n_hints, 1, np.random.default_rng(seed + i))
        prop = propagate(L, hint_ab, mask)
        out.append({"L": L, "ab": ab, "hint_ab": hint_ab, "mask": mask, "prop": prop})
    return out


def psnr_lab(L: np.ndarray, ab: np.ndarray, ab_true: np.ndarray) -> float:
    """PSNR (dB) between the 8-bit sRGB renderings of (L, ab) and (L, ab_true)."""
    return psnr(compose(L, ab), compose(L, ab_true), data_range=255)


def validate(
    model, vset: list[dict],
    net_size: int = NET_SIZE, steps: int = 10, temperature: float = TEMPERATURE, appearance: bool = False,
) -> tuple[float, float]:
    """Mean PSNR of one sample (seed 0, sampled as the backend does) and of ``propagate`` on the validation set."""
    import torch

    ours, base = [], []
    with torch.inference_mode():
        for item in vset:
            start, app = starting_point(item["L"], item["hint_ab"], item["mask"], item["prop"], appearance)
            inp = net_inputs(item["L"], item["hint_ab"], item["mask"], start, net_size, app)
            cond, _ = to_tensor_cond(inp, model.multiple)
            h, w = inp["L"].shape
            res = sample_residual(model, cond, 1, seed=0, steps=steps, temperature=temperature)[0, :, :h, :w].permute(1, 2, 0).numpy()
            ab = residual_to_ab(res, inp["L"], item["L"], start)
            ours.append(psnr_lab(item["L"], ab, item["ab"]))
            base.append(psnr_lab(item["L"], item["prop"], item["ab"]))
    return float(np.mean(ours)), float(np.mean(base))


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder of colour training images")
    p.add_argument("--out", default="runs/diffusion")
    p.add_argument("--resume", action="store_true")
    p.add_argument(
        "--init-from",
        help="warm start model and EMA from exported weights (e.g. models/diffusion.safetensors) when there is no checkpoint to resume; "
        "the optimiser starts afresh",
    )
    p.add_argument("--steps", type=int, default=200_000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=4e-4)
    p.add_argument("--pool", type=int, default=1200, help="examples kept in memory")
    p.add_argument("--refresh", type=float, default=0.5, help="new examples per step")
    p.add_argument("--val-every", type=int, default=250)
    p.add_argument("--val-images", type=int, default=24)
    p.add_argument("--ckpt-every", type=int, default=100)
    p.add_argument("--max-images", type=int, default=0, help="use only this many training images (smoke runs)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--net-size", type=int, default=NET_SIZE, help=f"long side the network runs at (the working images are {WORK} px)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--appearance", action="store_true", help="also condition on the hint colours spread by appearance (10 input channels)")
    p.add_argument(
        "--t-power", type=float, default=1.0,
        help="noise levels t = U**p: p < 1 trains the noisy end (the posterior mean the low-temperature samples lean on) more",
    )
    args = p.parse_args(argv)

    import torch

    from napari_semcolor.backends.diffusion.sampling import add_noise, logsnr_of
    from napari_semcolor.nets.unet import IN_CHANNELS, UNet, config_of, widen_input

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "train.log", "a", buffering=1)

    def say(msg: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        log.write(line + "\n")

    train_files, val_files = split_files(list_images(args.data))
    if args.max_images:
        train_files = train_files[: args.max_images]
    say(f"data: {len(train_files)} train, {len(val_files)} val images from {args.data}; args {vars(args)}")
    t0 = time.perf_counter()
    images = [load_lab(f, long_side=STORE) for f in train_files]
    vset = validation_set(val_files[: args.val_images])
    say(f"loaded images in {time.perf_counter() - t0:.0f}s")

    in_channels = IN_CHANNELS + (2 if args.appearance else 0)
    model = UNet(in_channels=in_channels)
    ema = UNet(in_channels=in_channels)
    ema.load_state_dict(model.state_dict())
    ema.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.0)
    step = 0
    ckpt_path = out / "last.ckpt"
    if args.resume and ckpt_path.exists():
        ck = torch.load(ckpt_path, weights_only=True)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step = int(ck["step"])
        say(f"resumed from {ckpt_path} at step {step}")
    elif args.init_from:
        from safetensors import safe_open
        from safetensors.torch import load_file

        with safe_open(args.init_from, framework="pt") as f:
            meta = f.metadata() or {}
        source = json.loads(meta.get("config", "{}"))
        if {**source, "in_channels": in_channels} != {**config_of(model), "in_channels": in_channels}:
            raise SystemExit(f"{args.init_from} was made for another network configuration: {meta.get('config')}")
        state = widen_input({k: v.float() for k, v in load_file(args.init_from).items()}, in_channels)
        model.load_state_dict(state)
        ema.load_state_dict(state)
        step = int(meta.get("step", 0))
        say(f"warm start from {args.init_from} (EMA weights of step {step}); optimiser state is new")
    n_params = sum(p.numel() for p in model.parameters())
    say(f"model {config_of(model)}: {n_params} parameters")
    (out / "config.json").write_text(json.dumps(config_of(model)))

    rng = np.random.default_rng(args.seed + step)
    t0 = time.perf_counter()
    pool_path = out / "pool.npy"  # plain array (allow_pickle=False); saves the build on resume
    pool = np.load(pool_path, allow_pickle=False) if args.resume and pool_path.exists() else None
    if pool is None or len(pool) != args.pool or pool.shape[1] != args.net_size or pool.shape[-1] != 8 + 2 * args.appearance:
        pool = np.stack([make_example(images, rng, net_size=args.net_size, appearance=args.appearance) for _ in range(args.pool)])
        np.save(pool_path, pool, allow_pickle=False)
        say(f"built a pool of {args.pool} examples in {time.perf_counter() - t0:.0f}s")
    else:
        say(f"loaded the example pool from {pool_path}")

    def save(path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        torch.save(
            {
                "model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                "config": json.dumps(config_of(model)), "net_size": args.net_size,
            },
            tmp,
        )
        tmp.replace(path)

    best = -math.inf
    if (out / "best.json").exists():
        best = json.loads((out / "best.json").read_text())["psnr"]
    losses, t_last, owed = [], time.perf_counter(), 0.0
    model.train()
    while step < args.steps:
        owed += args.refresh
        while owed >= 1:  # keep the pool fresh: a few new examples per step
            pool[rng.integers(len(pool))] = make_example(images, rng, net_size=args.net_size, appearance=args.appearance)
            owed -= 1
        idx = rng.integers(0, len(pool), args.batch)
        batch = torch.from_numpy(pool[idx]).permute(0, 3, 1, 2)
        cond, x0 = augment(batch, rng)
        logsnr = logsnr_of(torch.from_numpy(rng.uniform(0, 1, args.batch) ** args.t_power).float())
        noise = torch.from_numpy(rng.standard_normal(x0.shape)).float()
        x_t, v = add_noise(x0, logsnr, noise)
        loss = torch.mean((model(x_t, logsnr, cond) - v) ** 2)
        lr = args.lr * min(1.0, (step + 1) / 300)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - decay)
            for be, bm in zip(ema.buffers(), model.buffers()):
                be.copy_(bm)
        losses.append(loss.item())
        if step % 25 == 0:
            dt = time.perf_counter() - t_last
            say(f"step {step} loss {np.mean(losses):.4f} lr {lr:.2e} {25 / dt:.2f} steps/s")
            losses, t_last = [], time.perf_counter()
        if step % args.ckpt_every == 0:
            save(ckpt_path)
        if step % args.val_every == 0:
            ema.eval()
            ours, base = validate(ema, vset, args.net_size, appearance=args.appearance)
            say(
                f"val step {step}: PSNR@10 hints diffusion(EMA, 1 sample, 10 steps, T={TEMPERATURE}) {ours:.2f} dB, "
                f"propagate {base:.2f} dB, diff {ours - base:+.2f}"
            )
            if ours > best:
                best = ours
                torch.save({"ema": ema.state_dict(), "step": step, "config": json.dumps(config_of(model)), "net_size": args.net_size}, out / "best.ckpt")
                (out / "best.json").write_text(json.dumps({"psnr": ours, "propagate": base, "step": step}))
            t_last = time.perf_counter()
    save(ckpt_path)


if __name__ == "__main__":
    main()
