"""Hint-guided diffusion: several colour proposals, sampled in a few steps on a CPU.

A starting point is made from the user's hints — the ``propagate`` result, mixed for 10-channel
networks with the hint colours spread by appearance (:func:`starting_point`,
:mod:`napari_semcolor.backends.diffusion.appearance`: regions that look alike usually share a colour) — and a small
conditional U-Net (:mod:`napari_semcolor.nets.unet`) diffuses the *residual* a*b* − start at a lower
resolution (long side 64), conditioned on L*, the hints, the hint mask (so a gray hint is not "no
hint"), the starting point and the appearance guess. The sampled residual is upsampled edge-aware
and added back:

    ab = start + guided_upsample(residual)

so the network only has to learn corrections (where regions end, which colour bleeds, what an
unhinted region probably looks like), and with no hints it samples whole colourings. Proposals are
one batch, seeded by a ``torch.Generator``; the sampler reports and checks for cancel every step.
With hints, each proposal after the first starts from its own colouring away from the hints (the
hint colours dealt out anew, :mod:`napari_semcolor.backends.diffusion.explore`) and is sampled
with more noise there, so proposals differ where the hints leave room and agree next to them.

Options (``job.options``, declared in ``DiffusionBackend.spec``): ``steps`` (default 10),
``sampler`` ("dpmpp_2m" or "ddim"),
``guidance`` (classifier-free guidance scale on the hints, default 1 = off, > 1 follows them more),
``temperature`` (scale of the starting noise; lower = less varied proposals, closer on average
to the truth; 1 = the model's own spread; default 0.6 with hints, 1 without, where distinct
automatic proposals are the point),
``explore`` (0–1, default 0.6: how far the proposals' starting points and temperature depart
from the common ones away from the hints; 0 = the same start for all, as before),
``network`` (default True; False returns the starting point the network would correct, for
measuring what the network adds), ``net_size`` (long side the network runs at; default: the resolution the bundled weights were
trained at, stored in their metadata).
"""

from __future__ import annotations

import numpy as np

from napari_semcolor.backends.base import Job
from napari_semcolor.backends.diffusion.appearance import MIX, appearance_colours
from napari_semcolor.backends.diffusion.explore import EXPLORE, FAR_TEMPERATURE, free_map, temperature_map, varied_starts
from napari_semcolor.backends.spec import BackendSpec, Option
from napari_semcolor.errors import SemcolorError
from napari_semcolor.propagation import propagate
from napari_semcolor.upsample import downsample, guided_upsample, resize_linear, working_shape

#: long side the network runs at when the weights do not say (the first model was trained at 64 px
#: for 128 px working images)
NET_SIZE = 64
WEIGHTS = "diffusion"
#: the samplers of :mod:`napari_semcolor.backends.diffusion.sampling`, named here so a GUI can list them without torch
SAMPLER_NAMES = ("dpmpp_2m", "ddim")
#: default scale of the starting noise with hints: at 1 the proposals were ~1.7 dB below propagate
#: on the validation split (10 hints), at 0.6 on a par with it (see models/MODELS.md)
TEMPERATURE = 0.6
#: default without hints: at 0.6 the 9 automatic proposals were nearly the same colouring (mean
#: pairwise a*b* distance 2.7, 8 validation images), at 1 distinct ones (9.4) for 0.7 dB of PSNR
TEMPERATURE_NO_HINTS = 1.0


def net_shape(shape: tuple[int, int], net_size: int = NET_SIZE) -> tuple[int, int]:
    """Resolution the network runs at for a working resolution ``shape`` (long side ``net_size``)."""
    return working_shape(shape, net_size)


def shrink_hints(hint_ab: np.ndarray, hint_mask: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Hints at a lower resolution: a pixel is a hint if any hint covers it, its colour their mean."""
    m = hint_mask.astype(np.float32)
    frac = downsample(m, shape)
    total = downsample(hint_ab * m[..., None], shape)
    mask = (frac > 1e-6).astype(np.float32)
    ab = np.where(mask[..., None] > 0, total / np.maximum(frac, 1e-6)[..., None], 0).astype(np.float32)
    return ab, mask


def starting_point(
    L: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray, prop: np.ndarray,
    appearance: bool, labels: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """The colouring the network corrects, and the appearance guess (None for 8-channel networks).

    With ``appearance``: ``(1 − MIX)·prop + MIX·appearance_colours(…)``, all at the working resolution
    (the texture statistics are finer there); otherwise ``prop`` itself. With ``labels`` the
    appearance guess stays within each region (``prop`` where a region has no hint).
    """
    if not appearance:
        return prop, None
    app = appearance_colours(L, hint_ab, hint_mask, labels=labels)
    app = np.where(np.isfinite(app), app, prop)
    return ((1 - MIX) * prop + MIX * app).astype(np.float32), app


def net_inputs(
    L: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray, base: np.ndarray,
    net_size: int = NET_SIZE, app: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Everything the network sees, at :func:`net_shape` of the working resolution.

    Returns a dict with ``L`` (h, w), ``hint_ab`` (h, w, 2), ``hint_mask`` (h, w) and ``prop`` (h, w, 2):
    the starting point ``base`` (see :func:`starting_point`), and with ``app`` also ``app`` (h, w, 2).
    """
    shape = net_shape(L.shape, net_size)
    ab, mask = shrink_hints(hint_ab, hint_mask, shape)
    inputs = {"L": downsample(L, shape), "hint_ab": ab, "hint_mask": mask, "prop": downsample(base, shape)}
    if app is not None:
        inputs["app"] = downsample(app, shape)
    return inputs


def to_tensor_cond(inputs: dict[str, np.ndarray], multiple: int):
    """Conditioning tensor (1, 6 or 8, H, W) padded (reflect) up to a multiple of ``multiple``, and the pad."""
    import torch
    import torch.nn.functional as F

    from napari_semcolor.nets.unet import conditioning

    h, w = inputs["L"].shape
    ph, pw = (-h) % multiple, (-w) % multiple
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32)).permute(2, 0, 1)[None]  # noqa: E731
    app = t(inputs["app"]) if "app" in inputs else None
    cond = conditioning(t(inputs["L"][..., None]), t(inputs["hint_ab"]), t(inputs["hint_mask"][..., None]), t(inputs["prop"]), app)
    if ph or pw:
        mode = "reflect" if ph < h and pw < w else "replicate"
        cond = F.pad(cond, (0, pw, 0, ph), mode=mode)
    return cond, (ph, pw)


def sample_residual(
    model, cond, n_samples: int, *,
    seed: int = 0, steps: int = 10, sampler: str = "dpmpp_2m", guidance: float = 1.0, temperature: float = 1.0, callback=None,
):
    """Sample ``n_samples`` residuals (n, 2, H, W) in network units for a conditioning (1 or n, C, H, W).

    ``temperature`` scales the starting noise: below 1 the proposals move towards the average
    colouring (less varied, closer on average to the truth), 0 gives the same proposal n times.
    It is a number or a map (H, W) (see :func:`noise_temperature`).

    With ``guidance`` ≠ 1 the network is also run without hints and the two a*b* estimates are
    mixed, ``ab = ab_free + s · (ab_hinted − ab_free)``; this happens in a*b*, not in residual
    units, because the hint-free residual is relative to zero instead of to the propagated colours.
    """
    import torch

    from napari_semcolor.backends.diffusion.sampling import SAMPLERS, alpha_sigma, grid, v_to_x0

    if sampler not in SAMPLERS:
        raise SemcolorError(f"unknown sampler {sampler!r}; choose one of: {', '.join(SAMPLERS)}")
    if steps < 1:
        raise SemcolorError(f"steps must be ≥ 1; got {steps}")
    gen = torch.Generator().manual_seed(int(seed))
    _, _, H, W = cond.shape
    scale = torch.as_tensor(np.asarray(temperature, np.float32))  # a number, or a map (H, W)
    x = (scale * torch.randn((n_samples, 2, H, W), generator=gen)).to(cond.device)
    logsnrs = grid(steps).to(cond.device)
    cond = cond.expand(n_samples, -1, -1, -1)
    free = cond.clone()
    free[:, 1:] = 0  # no hints, no mask, nothing propagated (L* stays)
    prop = cond[:, 4:6]  # starting point a*b* / AB_SCALE: the offset between the two residuals

    def denoise(x_t: torch.Tensor, i: int) -> torch.Tensor:
        ls = logsnrs[i].expand(n_samples)
        if guidance == 1.0:
            return v_to_x0(x_t, model(x_t, ls, cond), logsnrs[i])
        a, _ = alpha_sigma(logsnrs[i])
        v = model(torch.cat([x_t, x_t + a * prop]), torch.cat([ls, ls]), torch.cat([cond, free]))
        x0_c = v_to_x0(x_t, v[:n_samples], logsnrs[i])
        x0_u = v_to_x0(x_t + a * prop, v[n_samples:], logsnrs[i]) - prop  # as a residual
        return x0_u + guidance * (x0_c - x0_u)

    return SAMPLERS[sampler](denoise, x, logsnrs, callback)


def residual_to_ab(res: np.ndarray, L_net: np.ndarray, L: np.ndarray, prop: np.ndarray) -> np.ndarray:
    """Working-resolution a*b* (h, w, 2) from a network-resolution residual (hn, wn, 2) in network units."""
    from napari_semcolor.nets.unet import AB_SCALE

    up = res if res.shape[:2] == L.shape else guided_upsample(res, L_net, L)
    return (prop + AB_SCALE * up).astype(np.float32)


def load_model(device: str = "cpu"):
    """The bundled U-Net with its EMA weights (sha256 checked), in eval mode; ``model.net_size`` is its resolution."""
    import json

    from safetensors import safe_open

    from napari_semcolor.nets.unet import UNet
    from napari_semcolor.weights import load_state_dict, model_path

    path = model_path(WEIGHTS)
    state = load_state_dict(WEIGHTS)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        model = UNet(**json.loads(meta["config"]))
        model.load_state_dict(state)
        model.net_size = int(meta.get("net_size", NET_SIZE))  # the resolution it was trained at
    except Exception as exc:
        raise SemcolorError(f"the diffusion weights ({path}) do not fit the network: {exc}. Reinstall napari-semcolor.") from exc
    return model.to(device).eval()


def default_temperature(hint_mask: np.ndarray) -> float:
    """The automatic temperature: :data:`TEMPERATURE` with hints, :data:`TEMPERATURE_NO_HINTS` without."""
    return TEMPERATURE if hint_mask.any() else TEMPERATURE_NO_HINTS


def noise_temperature(
    hint_mask: np.ndarray, temperature: float | None, explore: float, pad: tuple[int, int] = (0, 0), free: np.ndarray | None = None,
):
    """The sampler's temperature: a number, or with hints and ``explore`` > 0 a map (h + ph, w + pw).

    ``temperature`` (automatic when None) holds next to the hints; away from them the map rises
    to :data:`~napari_semcolor.backends.diffusion.explore.FAR_TEMPERATURE` (if higher) by the
    freedom × ``explore`` (``free``, resized to ``hint_mask``'s shape; default
    :func:`~napari_semcolor.backends.diffusion.explore.freedom` of ``hint_mask``).
    """
    near = default_temperature(hint_mask) if temperature is None else float(temperature)
    if explore <= 0 or not hint_mask.any():
        return near
    if free is not None and free.shape != hint_mask.shape:
        free = np.clip(resize_linear(free, hint_mask.shape), 0, 1)
    t = temperature_map(hint_mask, near, max(near, FAR_TEMPERATURE), explore, free)
    return np.pad(t, ((0, pad[0]), (0, pad[1])), mode="edge")


class DiffusionBackend:
    """Hint-guided diffusion proposals (works with no hints too: automatic proposals)."""

    spec = BackendSpec(
        name="diffusion",
        summary="several colour proposals sampled around the hints (or automatic ones without hints)",
        working_size=128,
        proposals=True,
        seeded=True,
        uses_torch=True,
        weights=(WEIGHTS,),
        options=(
            Option("steps", int, 10, "sampler steps: more is slower and a little cleaner", min=1, max=100),
            Option("sampler", str, SAMPLER_NAMES[0], "the few-step sampler", choices=SAMPLER_NAMES),
            Option("guidance", float, 1.0, "hint guidance: 1 = off; above 1 the proposals follow the hints more closely", min=0.0, max=10.0),
            Option(
                "temperature", float, None, "lower: proposals closer to each other (and on average to the truth); 1: the model's own spread",
                min=0.0, max=2.0, auto=f"{TEMPERATURE} with hints, {TEMPERATURE_NO_HINTS} without",
            ),
            Option(
                "explore", float, EXPLORE, "how differently the proposals colour what is far from the hints: 0 = all start "
                "from the same colouring (next to the hints they always agree)", min=0.0, max=1.0,
            ),
            Option("network", bool, True, "off: return the starting point the network would correct (to measure what it adds)", advanced=True),
            Option("net_size", int, None, "long side the network runs at", min=8, max=1024, auto="the resolution the weights were trained at", advanced=True),
        ),
    )

    def __init__(self):
        self._model = None
        self._device = None

    def _get_model(self, device: str):
        if self._model is None or self._device != device:
            self._model = load_model(device)
            self._device = device
        return self._model

    def colorize(self, job: Job) -> np.ndarray:
        import torch

        from napari_semcolor.nets.unet import IN_CHANNELS

        opts = job.options
        model = self._get_model(job.device)
        job.report(0.0, "propagating hints")
        prop = propagate(job.L, job.hint_ab, job.hint_mask, job.labels, cancel=job.cancel)
        job.check_cancel()
        appearance = model.in_channels > IN_CHANNELS  # 10-channel networks start from the appearance mix
        base, app = starting_point(job.L, job.hint_ab, job.hint_mask, prop, appearance, job.labels)
        exploring = opts["explore"] > 0 and job.n_samples > 1 and job.hint_mask.any()
        free = free_map(job.L, job.hint_ab, job.hint_mask, job.labels) if exploring else None
        starts, apps = varied_starts(
            job.L, job.hint_ab, job.hint_mask, base, app, job.n_samples, seed=job.seed, strength=opts["explore"], labels=job.labels, free=free,
        )
        if not opts["network"]:  # diagnostic: the starting points alone, no sampling
            return honour_hints(starts, job.L, job.hint_ab, job.hint_mask, job.labels)
        net_size = model.net_size if opts["net_size"] is None else opts["net_size"]
        apps = [None] * len(starts) if apps is None else apps
        inputs = [net_inputs(job.L, job.hint_ab, job.hint_mask, s, net_size, a) for s, a in zip(starts, apps)]
        conds = [to_tensor_cond(i, model.multiple) for i in inputs]
        cond, (ph, pw) = torch.cat([c for c, _ in conds]), conds[0][1]
        temperature = noise_temperature(inputs[0]["hint_mask"], opts["temperature"], opts["explore"], (ph, pw), free)

        def step(i: int, n: int, x0) -> None:
            job.report(0.05 + 0.9 * (i + 1) / n, f"diffusion step {i + 1}/{n}")
            if i < n - 1:
                job.check_cancel()

        job.check_cancel()
        with torch.inference_mode():
            res = sample_residual(
                model, cond.to(job.device), job.n_samples, seed=job.seed, steps=opts["steps"],
                sampler=opts["sampler"], guidance=opts["guidance"], temperature=temperature, callback=step,
            )
        hn, wn = inputs[0]["L"].shape
        res = res[:, :, :hn, :wn].permute(0, 2, 3, 1).float().cpu().numpy()
        out = np.stack([residual_to_ab(r, inputs[0]["L"], job.L, s) for r, s in zip(res, starts)])
        job.check_cancel()
        out = honour_hints(out, job.L, job.hint_ab, job.hint_mask, job.labels)
        job.report(1.0, "sampled")
        return out


def honour_hints(ab: np.ndarray, L: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray, labels=None) -> np.ndarray:
    """Make every proposal (n, h, w, 2) meet the hints: spread each one's residual at hint pixels.

    The same correction the pipeline applies to one proposal at a time, but for all proposals in
    one sparse solve (the matrix is factorised once for all 2n right-hand sides), after which the
    pipeline finds nothing left to correct.
    """
    mask = hint_mask > 0
    if not mask.any():
        return ab
    n, h, w, _ = ab.shape
    residual = np.where(mask[None, ..., None], hint_ab[None] - ab, 0).astype(np.float32)
    stacked = residual.transpose(1, 2, 0, 3).reshape(h, w, 2 * n)
    fix = propagate(L, stacked, hint_mask, labels).reshape(h, w, n, 2).transpose(2, 0, 1, 3)
    return (ab + fix).astype(np.float32)
