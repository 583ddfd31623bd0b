"""EE-CNN backend: automatic colouring, no hints needed.

Options (``job.options``)
-------------------------
temperature : float
    Annealed-mean temperature of the read-out (default :data:`TEMPERATURE`, chosen on the
    validation split, see models/MODELS.md): lower is more vivid, higher is safer and grayer.
    With ``n_samples > 1`` the extra proposals use progressively more vivid and more muted
    temperatures around it.
region_coherence : float in [0, 1]
    How strongly each region takes one colour (default :data:`REGION_COHERENCE`): every pixel's
    a*b* is blended towards its region's dominant a*b*. The regions are the run's labels when
    given, else an automatic multi-Otsu segmentation (:mod:`.eecnn_regions`). 0 is the network alone.
hint_reach : float
    With hints: how far a hint's colour leads, as a fraction of the image's long side (default
    :data:`HINT_REACH`); beyond it the network's colour takes over. 0 leaves the network's colour
    and only corrects the hint pixels' surroundings (the pipeline's hint correction).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from napari_semcolor.backends.base import Job
from napari_semcolor.backends.spec import BackendSpec, Option

#: the plugin's read-out temperature (the one EE-CNN temperature outside training, which reads out
#: at its own): the largest that met colourfulness >= 0.7 x ground truth on the validation split
#: (higher temperatures are closer to gray: better PSNR, duller colour)
TEMPERATURE = 0.02
#: default ``region_coherence`` (see the module docstring; measured in benchmarks/eecnn_quality.py)
REGION_COHERENCE = 0.7
#: CG iterations per finer grid of the hint step in a live preview (a full run: 40)
PREVIEW_ITERATIONS = 20

#: default ``hint_reach``, fraction of the long side
HINT_REACH = 2.0


@lru_cache(maxsize=4)
def _load_nets(device: str = "cpu"):
    """(EfficientNet-Lite0 features, EE-CNN), built from the bundled weights, in eval mode."""
    from napari_semcolor.nets.eecnn import EECNN
    from napari_semcolor.nets.efficientnet_lite import EfficientNetLite0
    from napari_semcolor.weights import load_state_dict

    effnet = EfficientNetLite0(num_classes=None)
    effnet.load_state_dict(load_state_dict("efficientnet_lite0_features"))
    net = EECNN()
    net.load_state_dict(load_state_dict("eecnn"))
    return effnet.eval().to(device), net.eval().to(device)


def temperatures(T: float, n: int) -> list[float]:
    """``n`` read-out temperatures: ``T`` first, then alternately more muted and more vivid."""
    out = [T]
    k = 1
    while len(out) < n:
        out.append(T * 4.0**k)
        if len(out) < n:
            out.append(T * 0.25**k)
        k += 1
    return out


class EECNNBackend:
    """Automatic colouring with the EE-CNN (encoder + EfficientNet-Lite0 features + decoder)."""

    spec = BackendSpec(
        name="eecnn",
        summary="automatic colouring by a network trained on colour SEM images; hints are honoured on top",
        working_size=384,
        proposals=True,
        uses_torch=True,
        live=True,
        weights=("eecnn", "efficientnet_lite0_features"),
        options=(
            Option("temperature", float, TEMPERATURE, "read-out temperature: lower is more vivid, higher safer and grayer", min=1e-4, max=10.0),
            Option("region_coherence", float, REGION_COHERENCE,
                   "0-1: how strongly each region (your labels, else an automatic segmentation) takes one colour", min=0.0, max=1.0),
            Option("hint_reach", float, HINT_REACH,
                   "with hints: how far a hint's colour leads, as a fraction of the image size (0 = the network's colour)",
                   min=0.0, max=10.0, advanced=True),
        ),
    )

    def colorize(self, job: Job) -> np.ndarray:
        """Predict a*b* for ``job.L``; returns (n_samples, h, w, 2) float32."""
        ab = self.apply_hints(self.prior(job), job)
        job.report(1.0, "EE-CNN done")
        return ab

    def prior(self, job: Job) -> np.ndarray:
        """The part of :meth:`colorize` that ignores the hints: the network's a*b*, region-coherent.

        (n_samples, h, w, 2) float32; :meth:`apply_hints` finishes it. A live session caches it, so
        a hint edit does not run the network again.
        """
        import torch
        import torch.nn.functional as F

        from napari_semcolor.backends.eecnn_regions import auto_regions, pull_to_regions
        from napari_semcolor.nets.efficientnet_lite import gray_to_input

        job.check_cancel()
        job.report(0.0, "loading EE-CNN")
        effnet, net = _load_nets(job.device)
        h, w = job.L.shape
        L = torch.from_numpy(np.ascontiguousarray(job.L, dtype=np.float32))[None, None].to(job.device)
        # the encoder halves the size three times: pad to a multiple of 8, crop afterwards
        ph, pw = -h % 8, -w % 8
        Lp = F.pad(L, (0, pw, 0, ph), mode="replicate") if ph or pw else L
        with torch.inference_mode():
            g = effnet.features(gray_to_input(L))
            job.check_cancel()
            job.report(0.2, "EE-CNN")
            logits = net(Lp, g)
            job.check_cancel()
            out = []
            for T in temperatures(job.options["temperature"], max(1, int(job.n_samples))):
                ab = net.readout(logits, T)
                ab = F.interpolate(ab, size=Lp.shape[-2:], mode="bilinear", align_corners=False)
                out.append(ab[0, :, :h, :w].permute(1, 2, 0).float().cpu().numpy())
        job.report(0.8, "coherent regions, hints")
        coherence = job.options["region_coherence"]
        if coherence > 0:
            regions = job.labels if job.labels is not None else auto_regions(job.L)
            out = [pull_to_regions(ab, regions, coherence) for ab in out]
        return np.stack(out).astype(np.float32)

    def apply_hints(self, prior: np.ndarray, job: Job, *, preview: bool = False) -> np.ndarray:
        """:meth:`prior`'s a*b* led by the hints (spread edge-aware, the prior far from them).

        ``preview`` (a live session's per-edit preview) runs fewer CG iterations on the finer
        grids: borders a little less exact, a few times faster.
        """
        from napari_semcolor.backends.eecnn_regions import refine_prediction

        reach, iterations = job.options["hint_reach"], PREVIEW_ITERATIONS if preview else 40
        out = [
            refine_prediction(ab, job.L, job.hint_ab, job.hint_mask, job.labels, region_coherence=0.0, hint_reach=reach, iterations=iterations)
            for ab in prior
        ]
        return np.stack(out).astype(np.float32)


__all__ = ["EECNNBackend"]
