"""A small conditional U-Net that denoises a*b* given L*, colour hints and their propagation.

Sized for a CPU (about 2 M parameters at the default widths): three resolutions, two residual
blocks per resolution, self-attention only at the coarsest one. The noise level enters as a
sinusoidal embedding of the log signal-to-noise ratio that scales and shifts every residual block.

Input channels (all at the same resolution, see :func:`conditioning`):

====  ================================================================
0–1   noisy a*b* residual ``x_t`` (what the diffusion runs on)
2     L*, scaled to [-1, 1]
3–4   hint a*b* (0 where there is no hint, and under gray hints)
5     hint mask (1 under any hint, gray ones included)
6–7   the ``propagate`` result for the same hints
8–9   (``in_channels=10``) the hint colours spread by appearance
      (:func:`napari_semcolor.backends.diffusion.appearance.appearance_colours`)
====  ================================================================

The output is the v-prediction for channels 0–1.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: a*b* values are divided by this before entering the network
AB_SCALE = 40.0
IN_CHANNELS = 8
OUT_CHANNELS = 2


def conditioning(L: torch.Tensor, hint_ab: torch.Tensor, hint_mask: torch.Tensor, prop_ab: torch.Tensor, app_ab: torch.Tensor | None = None) -> torch.Tensor:
    """Stack the conditioning channels (everything but ``x_t``) in network units.

    Parameters
    ----------
    L : (n, 1, h, w)
        L* in [0, 100].
    hint_ab : (n, 2, h, w)
        Hint a*b* (0 where no hint).
    hint_mask : (n, 1, h, w)
        1 under hints.
    prop_ab : (n, 2, h, w)
        Propagated hint a*b*.
    app_ab : (n, 2, h, w), optional
        Hint a*b* spread by appearance (for networks with ``in_channels=10``).

    Returns
    -------
    (n, 6, h, w) tensor, or (n, 8, h, w) with ``app_ab``
    """
    parts = [L / 50 - 1, hint_ab / AB_SCALE, hint_mask, prop_ab / AB_SCALE]
    if app_ab is not None:
        parts.append(app_ab / AB_SCALE)
    return torch.cat(parts, dim=1)


def timestep_embedding(logsnr: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding (n, dim) of the log-SNR (n,), which lives in roughly [-20, 20]."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=logsnr.device, dtype=torch.float32) / half)
    args = (logsnr.float()[:, None] * 25.0) * freqs[None]  # ×25 spreads [-20, 20] over many periods
    return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels)


class ResBlock(nn.Module):
    """Two 3×3 convolutions with a scale-shift from the noise-level embedding."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int):
        super().__init__()
        self.norm1 = _norm(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * c_out)
        self.norm2 = _norm(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(F.silu(h))
        return self.skip(x) + h


class Attention(nn.Module):
    """Single-head self-attention over all positions (used only at the coarsest resolution)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = _norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(n, 3, c, h * w).transpose(-1, -2).unbind(1)
        a = F.scaled_dot_product_attention(q, k, v)
        return x + self.out(a.transpose(-1, -2).reshape(n, c, h, w))


class UNet(nn.Module):
    """Conditional U-Net for a*b* diffusion.

    Parameters
    ----------
    widths : tuple of int
        Channels at each resolution (each further one halves the resolution).
    blocks : int or tuple of int
        Residual blocks per resolution on the way down (one more on the way up); one number for
        all resolutions or one per resolution (few at full resolution keeps the CPU cost down).
    emb_dim : int
        Width of the noise-level embedding.
    in_channels : int
        ``x_t`` and conditioning channels: 8, or 10 with the appearance-spread hint colours.
    """

    def __init__(
        self, widths: tuple[int, ...] = (16, 32, 64, 128), blocks: int | tuple[int, ...] = (1, 1, 2, 2),
        emb_dim: int = 128, in_channels: int = IN_CHANNELS,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.widths = tuple(widths)
        self.blocks = (blocks,) * len(widths) if isinstance(blocks, int) else tuple(blocks)
        self.emb_dim = emb_dim
        self.emb = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.stem = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.pools = nn.ModuleList()
        skips = [widths[0]]
        c = widths[0]
        for i, w in enumerate(widths):
            level = nn.ModuleList()
            for _ in range(self.blocks[i]):
                level.append(ResBlock(c, w, emb_dim))
                c = w
                skips.append(c)
            self.down.append(level)
            if i < len(widths) - 1:
                self.pools.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.mid1 = ResBlock(c, c, emb_dim)
        self.mid_attn = Attention(c)
        self.mid2 = ResBlock(c, c, emb_dim)
        self.up = nn.ModuleList()
        self.unpools = nn.ModuleList()
        for i, w in reversed(list(enumerate(widths))):
            level = nn.ModuleList()
            for _ in range(self.blocks[i] + 1):
                level.append(ResBlock(c + skips.pop(), w, emb_dim))
                c = w
            self.up.append(level)
            if i > 0:
                self.unpools.append(nn.Conv2d(c, c, 3, padding=1))
        self.head = nn.Sequential(_norm(c), nn.SiLU(), nn.Conv2d(c, OUT_CHANNELS, 3, padding=1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    @property
    def multiple(self) -> int:
        """Height and width must be multiples of this (pad otherwise)."""
        return 2 ** (len(self.widths) - 1)

    def forward(self, x_t: torch.Tensor, logsnr: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """v-prediction (n, 2, h, w) for noisy ``x_t`` (n, 2, h, w) at ``logsnr`` (n,) given ``cond`` (n, 6, h, w)."""
        emb = self.emb(timestep_embedding(logsnr, self.emb_dim))
        h = self.stem(torch.cat([x_t, cond], dim=1))
        skips = [h]
        for i, level in enumerate(self.down):
            for block in level:
                h = block(h, emb)
                skips.append(h)
            if i < len(self.pools):
                h = self.pools[i](h)
                skips.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for i, level in enumerate(self.up):
            for block in level:
                h = block(torch.cat([h, skips.pop()], dim=1), emb)
            if i < len(self.unpools):
                h = self.unpools[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.head(h)


def config_of(model: UNet) -> dict:
    """Constructor arguments of ``model`` (stored beside the weights)."""
    config = {"widths": list(model.widths), "blocks": list(model.blocks), "emb_dim": model.emb_dim}
    if model.in_channels != IN_CHANNELS:  # older weight files have no such key
        config["in_channels"] = model.in_channels
    return config


def widen_input(state: dict, in_channels: int) -> dict:
    """A state dict of a network with fewer input channels, its stem given zero weights for the new ones.

    The widened network computes exactly what the old one did until training moves those weights.
    """
    state = dict(state)
    w = state["stem.weight"]
    extra = in_channels - w.shape[1]
    if extra < 0:
        raise ValueError(f"cannot narrow the stem from {w.shape[1]} to {in_channels} channels")
    state["stem.weight"] = torch.cat([w, w.new_zeros(w.shape[0], extra, *w.shape[2:])], dim=1)
    return state


__all__ = ["UNet", "conditioning", "timestep_embedding", "config_of", "widen_input", "AB_SCALE", "IN_CHANNELS"]
