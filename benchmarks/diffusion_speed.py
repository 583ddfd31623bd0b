"""Wall time of 9 diffusion proposals through the whole pipeline, against AB-diffuser's sampling cost.

For 256², 1024² and 2048² generated micrographs (12 hints), times ``colorize(..., backend="diffusion",
n_samples=9)``. In the same run, times one forward pass of the AB-diffuser-sized network
(``denoising_diffusion_pytorch.Unet(dim=64, dim_mults=(1, 2, 4, 8), channels=5, out_dim=2)``) on 9
images of 256², and prints ours / (1000 × that step), AB-diffuser's 1000-step sampling cost.

``denoising-diffusion-pytorch`` is only a benchmark tool, never a dependency of the plugin. Install
it beside the plugin with ``pip install --no-deps denoising-diffusion-pytorch einops tqdm``; this
script puts empty stand-ins for torchvision, accelerate, ema-pytorch and pytorch-fid in
``sys.modules`` (the package imports them at import time; the network uses none of them).

    python benchmarks/diffusion_speed.py [--sizes 256 1024 2048] [--repeat 2] [--threads 1] [--steps 10]
"""

from __future__ import annotations

import argparse
import sys
import time
import types


def _stub_modules() -> None:
    """Empty modules for the training-side imports of denoising_diffusion_pytorch."""

    class Stub(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith("__"):
                raise AttributeError(name)
            return Stub(f"{self.__name__}.{name}")

        def __call__(self, *args, **kwargs):
            return Stub("call")

    for name in ("torchvision", "torchvision.transforms", "torchvision.utils", "torchvision.models", "accelerate",
                 "ema_pytorch", "pytorch_fid", "pytorch_fid.inception", "pytorch_fid.fid_score"):
        if name not in sys.modules:
            mod = Stub(name)
            mod.__path__ = []  # a package, so submodule imports resolve to the stand-ins above
            sys.modules[name] = mod


def reference_step(batch: int = 9, size: int = 256) -> float:
    """Seconds for one forward pass of the AB-diffuser-sized U-Net (batch × 5 × size²)."""
    import torch

    _stub_modules()
    from denoising_diffusion_pytorch.denoising_diffusion_pytorch import Unet

    net = Unet(dim=64, dim_mults=(1, 2, 4, 8), channels=5, out_dim=2).eval()
    x = torch.randn(batch, 5, size, size)
    t = torch.full((batch,), 500, dtype=torch.long)
    with torch.inference_mode():
        t0 = time.perf_counter()
        net(x, t)
        return time.perf_counter() - t0


def ours(size: int, repeat: int, steps: int) -> float:
    """Best wall time (s) of 9 proposals of a ``size``² image through :func:`colorize`."""
    import numpy as np

    from napari_semcolor.hints import Hint
    from napari_semcolor.pipeline import colorize
    from napari_semcolor.synthetic import make_sem

    sem = make_sem((size, size), "particles", seed=1, n_objects=12)
    rng = np.random.default_rng(0)
    hints = [Hint(int(y), int(x), tuple(rng.random(3)), max(1, size // 128)) for y, x in rng.integers(0, size - 16, (12, 2))]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        colorize(sem.image, "diffusion", hints, n_samples=9, seed=0, device="cpu", options={"steps": steps})
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[256, 1024, 2048])
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--no-reference", action="store_true")
    args = p.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from napari_semcolor.pipeline import colorize
    from napari_semcolor.synthetic import make_sem

    colorize(make_sem((64, 64)).image, "diffusion", n_samples=1, device="cpu", options={"steps": 1})  # load weights
    rows = [(s, ours(s, args.repeat, args.steps)) for s in args.sizes]
    ref = None if args.no_reference else reference_step()
    print(f"torch threads {args.threads}, {args.steps} steps (DPM-Solver++ 2M), 9 proposals, best of {args.repeat}\n")
    print("| image | ours: 9 proposals (s) | AB-diffuser 1000 steps on this machine (s) | ours / theirs | theirs / ours |")
    print("|---|---|---|---|---|")
    for s, t in rows:
        if ref is None:
            print(f"| {s}² | {t:.2f} | – | – | – |")
        else:
            print(f"| {s}² | {t:.2f} | {1000 * ref:.0f} | {t / (1000 * ref):.2e} | {1000 * ref / t:.0f}× |")
    if ref is not None:
        print(f"\nAB-diffuser-sized U-Net, one forward pass, 9 × 5 × 256²: {ref:.1f} s")


if __name__ == "__main__":
    main()
