"""NST-CNN: a small fully-convolutional net, L* patch -> a*b*, fitted at run time to one reference.

After Goytom et al. 2019: the net is trained for a few seconds on random crops of the user's colour
reference (its own L* as input, its own a*b* as target) and then applied to the gray image. It is
tiny on purpose: it has to learn in seconds on a CPU. Dilated 3x3 convolutions give it a receptive
field of 31 pixels (texture context) at the cost of five layers.
"""

from __future__ import annotations

import torch
from torch import nn

#: dilation of each hidden 3x3 convolution; receptive field 1 + 2 * sum = 31 pixels
DILATIONS = (1, 2, 4, 8)
#: a*b* are predicted in units of this many L*a*b* units (keeps the output layer's scale near 1)
AB_SCALE = 50.0


class NSTCNN(nn.Module):
    """L* (N, 1, H, W) in [0, 100] -> a*b* (N, 2, H, W), same size (padding keeps the shape).

    Parameters
    ----------
    width : int
        Channels of the hidden layers.
    """

    def __init__(self, width: int = 24):
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be ≥ 1; got {width}")
        layers: list[nn.Module] = []
        c_in = 1
        for d in DILATIONS:
            layers += [nn.Conv2d(c_in, width, 3, padding=d, dilation=d, padding_mode="replicate"), nn.ReLU(inplace=True)]
            c_in = width
        self.body = nn.Sequential(*layers)
        # the colour read-out also sees L* itself, so a plain L* -> colour mapping is one layer away
        self.head = nn.Conv2d(width + 1, 2, 1)

    def set_mean_colour(self, ab_mean: torch.Tensor) -> None:
        """Start from the reference's mean colour: zero the read-out weights, bias = mean a*b*."""
        with torch.no_grad():
            self.head.weight.mul_(0.1)
            self.head.bias.copy_(torch.as_tensor(ab_mean, dtype=torch.float32) / AB_SCALE)

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        x = (L - 50.0) / 50.0
        return self.head(torch.cat([self.body(x), x], dim=1)) * AB_SCALE


__all__ = ["NSTCNN", "DILATIONS", "AB_SCALE"]
