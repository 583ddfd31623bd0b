"""EE-CNN: end-to-end automatic colouriser (after Goytom et al. 2019), predicting a*b* from L*.

Encoder on L* down to H/8 (8 convolutions, stride 2 on the first of each of the first three
pairs) with skips from the H/2, H/4 and H/8 stages; a frozen EfficientNet-Lite0 vector of the
whole image fused at H/8 (tile + concat + 1x1 conv); a decoder with nearest upsampling that
predicts, at H/2, a distribution over quantised a*b* bins (Zhang et al. 2016). The colour is read
out as the annealed mean of that distribution and upsampled to H.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from napari_semcolor.color import lab_to_linear
from napari_semcolor.nets.efficientnet_lite import FEATURE_DIM

AB_GRID = 10.0
AB_RANGE = 110.0


@lru_cache(maxsize=4)
def ab_bins(grid: float = AB_GRID) -> np.ndarray:
    """Centres (Q, 2) of the a*b* grid cells that hold a displayable sRGB colour at some L*.

    A cell counts as in gamut if any of a 5 x 5 set of points inside it is, at any L* in 1..99.
    """
    centres = np.arange(-AB_RANGE, AB_RANGE + 1e-6, grid)
    aa, bb = np.meshgrid(centres, centres, indexing="ij")
    offs = np.linspace(-grid / 2, grid / 2, 5)
    oa, ob = np.meshgrid(offs, offs, indexing="ij")
    Ls = np.linspace(1, 99, 50)
    pts = np.stack(
        np.broadcast_arrays(
            Ls[:, None, None, None, None],
            (aa[..., None, None] + oa)[None],
            (bb[..., None, None] + ob)[None],
        ),
        axis=-1,
    )
    rgb = lab_to_linear(pts)
    ok = np.all((rgb >= -1e-6) & (rgb <= 1 + 1e-6), axis=-1).any(axis=(0, 3, 4))
    return np.stack([aa[ok], bb[ok]], axis=-1).astype(np.float32)


def conv_bn(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    """3x3 conv + batch norm + ReLU, "same" output size (divided by ``stride``)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Fusion(nn.Module):
    """Tile the global vector over the grid, concatenate, 1x1 conv.

    Computed as ``W_local x + W_global g`` (the same 1x1 conv split by input channels), which
    avoids materialising the tiled (N, 1280, h, w) tensor.
    """

    def __init__(self, c_local: int, c_global: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_local + c_global, c_out, 1)
        self.c_local = c_local
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:  # noqa: D102
        w = self.conv.weight[:, :, 0, 0]
        local = F.conv2d(x, self.conv.weight[:, : self.c_local])
        glob = g @ w[:, self.c_local :].T + self.conv.bias
        return F.relu(self.bn(local + glob[:, :, None, None]))


class EECNN(nn.Module):
    """The colouriser network.

    Parameters
    ----------
    width : int
        Channels at H/2; H/4 and H/8 stages have 2x and 4x as many.
    global_dim : int
        Length of the global feature vector (EfficientNet-Lite0 pooled features: 1280).
    dropout : float
        Channel dropout after the fusion (training only; no parameters, so any value loads the
        same weights).

    Notes
    -----
    ``forward(L, g)`` takes L* in [0, 100], shape (N, 1, H, W) with H and W multiples of 8, and
    the global vector (N, global_dim); it returns bin logits (N, Q, H/2, W/2).
    """

    def __init__(self, width: int = 32, global_dim: int = FEATURE_DIM, dropout: float = 0.0) -> None:
        super().__init__()
        c1, c2, c3 = width, 2 * width, 4 * width
        self.register_buffer("bins", torch.from_numpy(ab_bins()))
        q = self.bins.shape[0]
        self.enc1 = nn.Sequential(conv_bn(1, c1, 2), conv_bn(c1, c1))
        self.enc2 = nn.Sequential(conv_bn(c1, c2, 2), conv_bn(c2, c2))
        self.enc3 = nn.Sequential(conv_bn(c2, c3, 2), conv_bn(c3, c3))
        self.enc4 = nn.Sequential(conv_bn(c3, c3, dilation=2), conv_bn(c3, c3, dilation=2))
        self.fusion = Fusion(c3, global_dim, c3)
        self.dropout = nn.Dropout2d(dropout)
        self.mid = nn.Sequential(conv_bn(c3, c3, dilation=2), conv_bn(c3, c3))
        self.dec3 = conv_bn(2 * c3, c3)
        self.dec2 = nn.Sequential(conv_bn(c3 + c2, c2), conv_bn(c2, c2))
        self.dec1 = nn.Sequential(conv_bn(c2 + c1, c1), conv_bn(c1, c1))
        self.head = nn.Conv2d(c1, q, 1)

    def forward(self, L: torch.Tensor, g: torch.Tensor) -> torch.Tensor:  # noqa: D102
        x = (L - 50.0) / 50.0
        s1 = self.enc1(x)
        s2 = self.enc2(s1)
        s3 = self.enc3(s2)
        y = self.mid(self.dropout(self.fusion(self.enc4(s3), g)))
        y = self.dec3(torch.cat([y, s3], 1))
        y = F.interpolate(y, scale_factor=2, mode="nearest")
        y = self.dec2(torch.cat([y, s2], 1))
        y = F.interpolate(y, scale_factor=2, mode="nearest")
        y = self.dec1(torch.cat([y, s1], 1))
        return self.head(y)

    def readout(self, logits: torch.Tensor, T: float) -> torch.Tensor:
        """Annealed mean of the bin distribution: (N, Q, h, w) logits -> (N, 2, h, w) a*b*.

        ``T = 1`` is the plain mean (safe, washed out); ``T -> 0`` the mode (vivid, patchy). The
        temperature has no default here: the plugin reads out at
        :data:`napari_semcolor.backends.eecnn.TEMPERATURE`, training at its own (``training.eecnn``).
        """
        # softmax(logits / T) weighted by the bin centres: one matmul gives a*, b* and the sum
        x = logits - logits.amax(dim=1, keepdim=True)
        if torch.is_grad_enabled() and logits.requires_grad:
            e = torch.exp(x * (1.0 / T))
        else:  # inference: reuse the buffer, this read-out is a large share of the run time
            e = x.mul_(1.0 / T).exp_()
        n, q, h, w = e.shape
        weights = torch.cat([self.bins, torch.ones_like(self.bins[:, :1])], 1).T  # (3, Q)
        r = torch.stack([weights @ ei.reshape(q, h * w) for ei in e]).reshape(n, 3, h, w)
        return r[:, :2] / r[:, 2:]

    def predict(self, L: torch.Tensor, g: torch.Tensor, T: float) -> torch.Tensor:
        """a*b* (N, 2, H, W) for L* (N, 1, H, W) read out at temperature ``T``, bilinearly upsampled from H/2."""
        ab = self.readout(self(L, g), T)
        return F.interpolate(ab, size=L.shape[-2:], mode="bilinear", align_corners=False)


def soft_encode(ab: torch.Tensor, bins: torch.Tensor, k: int = 5, sigma: float = 5.0):
    """Soft targets over bins for ground-truth a*b* (N, 2, h, w), in sparse form.

    Returns
    -------
    index : (N, k, h, w) long
        The ``k`` nearest bins of every pixel (the first is the nearest).
    weight : (N, k, h, w)
        Gaussian weights (``sigma``) of those bins, summing to 1 over ``k``.
    """
    n, _, h, w = ab.shape
    flat = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    d2 = torch.cdist(flat, bins).square()
    dk, ik = d2.topk(k, dim=1, largest=False, sorted=True)
    wk = torch.softmax(-dk / (2 * sigma**2), dim=1)
    return ik.reshape(n, h, w, k).permute(0, 3, 1, 2), wk.reshape(n, h, w, k).permute(0, 3, 1, 2)


def soft_cross_entropy(logits: torch.Tensor, index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Per-pixel cross-entropy (N, h, w) of bin logits against sparse soft targets."""
    logp = F.log_softmax(logits, dim=1)
    return -(logp.gather(1, index) * weight).sum(1)


def rebalancing_weights(counts: np.ndarray, bins: np.ndarray, lam: float = 0.5, sigma: float = 5.0) -> np.ndarray:
    """Class rebalancing weights (Zhang et al. 2016): rare colours count more.

    ``w ∝ 1 / ((1 - lam) p̃ + lam / Q)`` with ``p̃`` the bin frequency smoothed by a Gaussian of
    ``sigma`` in a*b*, normalised so that the expected weight under ``p̃`` is 1.
    """
    p = counts / max(counts.sum(), 1)
    d2 = ((bins[:, None, :] - bins[None, :, :]) ** 2).sum(-1)
    k = np.exp(-d2 / (2 * sigma**2))
    p = k @ p
    p = p / p.sum()
    w = 1.0 / ((1 - lam) * p + lam / len(p))
    return (w / (p * w).sum()).astype(np.float32)


__all__ = ["EECNN", "ab_bins", "soft_encode", "soft_cross_entropy", "rebalancing_weights"]
