"""TV-L1 optical flow in PyTorch that agrees with OpenCV's `DualTVL1OpticalFlow` (its defaults): the numerics.

The scheme is Zach, Pock & Bischof (2007) with the Wedel et al. (2009) / Sanchez et al. (2013, IPOL)
numerics, reproduced down to the choices that decide agreement with OpenCV: pyramid step 0.8 with
OpenCV's linear resize, image gradients once per scale on the unwarped second image, bicubic warps
(a = -0.75, zero border, coordinates on a 1/32 px grid with OpenCV's weight table and summation order),
a 5x5 median at the start of every outer iteration and OpenCV's stopping test.

Every function works row by row on (B, H, W) batches (rows never mix, so a pair's flow does not depend on
its neighbours); the inner step keeps each row's stopping test on the device. How pairs stream through
the scales on a device (batches refilled, blocks of steps, CUDA graphs) is src/prep/tvl1_stream.py.
Depends on torch and numpy only (the GPU check runs it where this project's requirements are absent).
"""
import threading
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

GRID = 32  # OpenCV's remap works on a 1/32 px grid (INTER_BITS = 5)


@dataclass(frozen=True)
class TVL1Params:
    """OpenCV's defaults (read back from `cv2.optflow.DualTVL1OpticalFlow_create()`)."""

    tau: float = 0.25
    lambda_: float = 0.15
    theta: float = 0.3
    nscales: int = 5
    warps: int = 5
    epsilon: float = 0.01
    inner_iterations: int = 30
    outer_iterations: int = 10
    scale_step: float = 0.8
    median_filtering: int = 5


def _cubic_table():
    """OpenCV's 1D bicubic weights (a = -0.75) at the 32 grid fractions, in float32 as it computes them."""
    f32 = np.float32
    a = f32(-0.75)
    table = np.zeros((GRID, 4), np.float32)
    for i in range(GRID):
        x = f32(1.0 / GRID) * f32(i)
        x1 = x + f32(1)
        c0 = ((a * x1 - f32(5) * a) * x1 + f32(8) * a) * x1 - f32(4) * a
        c1 = ((a + f32(2)) * x - (a + f32(3))) * x * x + f32(1)
        y = f32(1) - x
        c2 = ((a + f32(2)) * y - (a + f32(3))) * y * y + f32(1)
        c3 = f32(1) - c0 - c1 - c2
        table[i] = (c0, c1, c2, c3)
    return table


# [y fraction, x fraction, row k1, column k2]: the float products OpenCV tabulates once
_CUBIC_2D = torch.from_numpy(_cubic_table()[:, None, :, None] * _cubic_table()[None, :, None, :])


@lru_cache(maxsize=None)
def cubic_table_on(device):
    """The weight table on `device`, uploaded once (a pageable upload per warp would be a host sync)."""
    return _CUBIC_2D.to(device)


# ---------------------------------------------------------------------------------------------- resize

def _fma_lerp(a, b, frac):
    """a + frac (b - a) rounded once, as OpenCV 4.11's float linear resize does per pass."""
    return ((b - a).double() * frac.double() + a.double()).float()


@lru_cache(maxsize=256)
def _linear_taps(n_src, n_dst, scale, device):
    """Source indices and float weights of cv::resize INTER_LINEAR along one axis (scale = src/dst), made
    once per size and device (no host work or upload per call)."""
    pos = (torch.arange(n_dst, dtype=torch.float64) + 0.5) * scale - 0.5
    low = torch.floor(pos)
    frac = (pos - low).float()  # the fraction is taken in double, then rounded
    low = low.long()
    frac = torch.where((low < 0) | (low >= n_src - 1), torch.zeros_like(frac), frac)
    low = low.clamp(0, n_src - 1)
    high = (low + 1).clamp(max=n_src - 1)
    return low.to(device), high.to(device), frac.to(device)


def resize_linear(img, height, width, scale_y=None, scale_x=None):
    """cv::resize(INTER_LINEAR) of (N, H, W) float32 to (N, height, width); scale = source px per output px
    (default: the size ratio, as OpenCV uses for an explicit dsize)."""
    h, w = img.shape[-2:]
    scale_y = h / height if scale_y is None else scale_y
    scale_x = w / width if scale_x is None else scale_x
    x0, x1, fx = _linear_taps(w, width, float(scale_x), img.device)
    y0, y1, fy = _linear_taps(h, height, float(scale_y), img.device)
    rows = _fma_lerp(img[..., x0], img[..., x1], fx)
    return _fma_lerp(rows[..., y0, :], rows[..., y1, :], fy[:, None])


def pyramid_sizes(height, width, params=TVL1Params()):
    """(height, width) of every scale used, finest first (OpenCV stops before a side under 16 px)."""
    sizes = [(height, width)]
    while len(sizes) < params.nscales:
        h, w = (int(round(n * params.scale_step)) for n in sizes[-1])
        if h < 16 or w < 16:
            break
        sizes.append((h, w))
    return sizes


# ----------------------------------------------------------------------------------- stencils and warp

def centred_gradient(img):
    """0.5 (right - left), 0.5 (below - above) with replicated border (OpenCV's centeredGradient)."""
    p = F.pad(img[:, None], (1, 1, 1, 1), mode="replicate")[:, 0]
    return 0.5 * (p[:, 1:-1, 2:] - p[:, 1:-1, :-2]), 0.5 * (p[:, 2:, 1:-1] - p[:, :-2, 1:-1])


def forward_gradient(u):
    """Forward differences, zero in the last column / row."""
    return F.pad(u[:, :, 1:] - u[:, :, :-1], (0, 1)), F.pad(u[:, 1:, :] - u[:, :-1, :], (0, 0, 0, 1))


def divergence(px, py):
    """Backward-difference divergence, in OpenCV's operation order (the first column adds before it subtracts)."""
    above = F.pad(py[:, :-1], (0, 0, 1, 0))
    div = (px - F.pad(px[:, :, :-1], (1, 0))) + (py - above)
    div[:, :, 0] = (px[:, :, 0] + py[:, :, 0]) - above[:, :, 0]
    return div


def _median_network(n_in=25, wires=32):
    """(i, j, need_min, need_max) comparators that bring the median of n_in values to wire n_in // 2:
    Batcher's odd-even merge sort on `wires` wires, the extra wires +inf (their comparators drop out),
    then only what the middle wire depends on (113 comparators, 202 min/max for 25 values)."""
    network = []
    p = 1
    while p < wires:
        k = p
        while k >= 1:
            for j in range(k % p, wires - k, 2 * k):
                for i in range(min(k, wires - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        network.append((i + j, i + j + k))
            k //= 2
        p *= 2
    network = [(i, j) for i, j in network if j < n_in]  # min(x, +inf) = x: nothing moves
    live, needed = {n_in // 2}, []
    for i, j in reversed(network):
        if i in live or j in live:
            needed.append((i, j, i in live, j in live))
            live |= {i, j}
    return needed[::-1]


_MEDIAN25 = _median_network()


def median5(u):
    """5x5 median with replicated border (cv::medianBlur on float), by a selection network over the 25
    shifted planes (5-10x faster than torch.median over unfolded windows)."""
    h, w = u.shape[1:]
    p = F.pad(u[:, None], (2, 2, 2, 2), mode="replicate")[:, 0]
    v = [p[:, dy:dy + h, dx:dx + w] for dy in range(5) for dx in range(5)]
    for i, j, need_min, need_max in _MEDIAN25:
        a, b = v[i], v[j]
        if need_min:
            v[i] = torch.minimum(a, b)
        if need_max:
            v[j] = torch.maximum(a, b)
    return v[12]


def remap_cubic(imgs, map_x, map_y, table=None):
    """cv::remap(INTER_CUBIC, BORDER_CONSTANT 0) of C images (B, C, H, W) at float maps (B, H, W).

    Coordinates snap to the 1/32 grid (round half to even); weights come from OpenCV's table; the sum
    runs per row as OpenCV's does inside the image and tap by tap where the window crosses the border."""
    b, c, h, w = imgs.shape
    gx = torch.round(map_x * GRID).to(torch.int32)
    gy = torch.round(map_y * GRID).to(torch.int32)
    sx, sy = (gx >> 5) - 1, (gy >> 5) - 1
    table = cubic_table_on(imgs.device) if table is None else table
    weights = table[(gy & (GRID - 1)).long(), (gx & (GRID - 1)).long()]  # (B, H, W, 4, 4)
    flat = imgs.reshape(b, c, h * w)
    interior = (sx >= 0) & (sx < w - 3) & (sy >= 0) & (sy < h - 3)
    total = running = None
    for k1 in range(4):
        yy = sy + k1
        y_ok = (yy >= 0) & (yy < h)
        row_base = yy.clamp(0, h - 1) * w
        row = None
        for k2 in range(4):
            xx = sx + k2
            inside = (y_ok & (xx >= 0) & (xx < w)).to(imgs.dtype)[:, None]  # x * 1 and x * 0 are exact
            idx = (row_base + xx.clamp(0, w - 1)).reshape(b, 1, h * w).expand(b, c, h * w).long()
            vals = torch.gather(flat, 2, idx).reshape(b, c, h, w)
            prod = vals * weights[:, None, :, :, k1, k2] * inside
            row = prod if row is None else row + prod
            running = prod if running is None else running + prod
        total = row if total is None else total + row
    interior = interior.to(imgs.dtype)[:, None]
    return total * interior + running * (1 - interior)


# ------------------------------------------------------------------------------------- the iteration

def _inner_step(ix, iy, safe_grad, rho_c, alive, iters, u1, u2, p11, p12, p21, p22,
                l_t: float, theta: float, taut: float, limit: float):
    """One inner iteration (thresholding, primal and dual updates) of the rows still `alive`; the others
    keep their state exactly. Returns the new state, the rows still going (alive and a sum of squared
    flow changes over `limit`: OpenCV's stopping test, kept on the device) and `iters` + alive.

    OpenCV's three cases (rho < -l_t |grad|^2: v = u + l_t grad; rho > l_t |grad|^2: v = u - l_t grad;
    else v = u - rho / |grad|^2 grad) are one clamp: v = u - clamp(rho / |grad|^2, -l_t, l_t) grad, with
    the same roundings. safe_grad is |grad|^2 with 1 where it is 0 (there grad = 0 and v = u, as in OpenCV)."""
    rho = rho_c + (ix * u1 + iy * u2)
    c = torch.clamp(rho / safe_grad, -l_t, l_t)
    v1 = u1 - c * ix
    v2 = u2 - c * iy
    n1 = v1 + theta * divergence(p11, p12)
    n2 = v2 + theta * divergence(p21, p22)
    e1, e2 = n1 - u1, n2 - u2
    error = torch.sum(e1 * e1 + e2 * e2, dim=(1, 2), dtype=torch.float64)
    u1x, u1y = forward_gradient(n1)
    u2x, u2y = forward_gradient(n2)
    ng1 = 1.0 + taut * torch.hypot(u1x, u1y)  # rounded once, as OpenCV's hypot (sqrt(x*x+y*y) agrees less)
    ng2 = 1.0 + taut * torch.hypot(u2x, u2y)
    new = (n1, n2, (p11 + taut * u1x) / ng1, (p12 + taut * u1y) / ng1, (p21 + taut * u2x) / ng2, (p22 + taut * u2y) / ng2)
    keep = alive[:, None, None]
    state = tuple(torch.where(keep, a, b) for a, b in zip(new, (u1, u2, p11, p12, p21, p22)))
    return state, alive & (error > limit), iters + alive.to(iters.dtype)


def _median_pair(u1, u2):
    return median5(u1), median5(u2)


def _masked_median(u1, u2, mask):
    """The 5x5 median of the rows in `mask` (the others unchanged): in a fixed-shape block, where the
    host cannot pick rows without a sync."""
    keep = mask[:, None, None]
    return torch.where(keep, median5(u1), u1), torch.where(keep, median5(u2), u2)


# ----------------------------------------------------------------------------------- compiled or eager

_COMPILE_LOCK = threading.Lock()  # held while a function compiles (dynamo is not thread-safe then), never while it runs
_COMPILED = {}  # the cache: name -> torch.compile'd function
_WARM = set()  # (name, argument signature) whose first call (the compile) has run
_FAILED = {}  # the failures, kept apart: name -> why its compile failed (that function then runs eagerly)
EAGER = {"step": _inner_step, "median": _median_pair, "masked_median": _masked_median, "warp": remap_cubic}


def is_out_of_memory(exc):
    """A device (or host) allocation failure: worth a smaller batch, not a fallback or a stop."""
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def _signature(args):
    return tuple((tuple(a.shape), a.stride(), a.dtype, str(a.device)) if torch.is_tensor(a) else a for a in args)


class Kernels:
    """The hot functions (inner step, median, warp), torch.compile'd where asked (on a GPU each becomes
    one or a few fused kernels) or eager. The compile of a (function, shapes) runs once under a lock;
    later calls run unlocked. A function whose compile fails runs eagerly (exact anyway) and the reason
    is kept for `path`; errors at run time (out of memory among them) are not compile failures and go to
    the caller."""

    def __init__(self, fused):
        self.fused = bool(fused)

    def __call__(self, name, *args):
        if self.fused and name not in _FAILED:
            key = (name, _signature(args))
            if key in _WARM:
                return _COMPILED[name](*args)
            with _COMPILE_LOCK:
                if name not in _FAILED:
                    try:
                        if name not in _COMPILED:
                            _COMPILED[name] = torch.compile(EAGER[name], dynamic=True)
                        out = _COMPILED[name](*args)
                        _WARM.add(key)
                        return out
                    except Exception as exc:  # noqa: BLE001 - no Triton, no compiler, ...: eager is exact
                        if is_out_of_memory(exc):
                            raise
                        _FAILED[name] = f"torch.compile of the {name} failed ({type(exc).__name__}: {str(exc)[:200]})"
                        warnings.warn(_FAILED[name] + "; that function runs eagerly")
        return EAGER[name](*args)

    def path(self, device):
        """('compiled' or 'eager', why)."""
        if not self.fused:
            why = ("fused=False" if torch.device(device).type == "cuda"
                   else "torch.compile is used on CUDA only unless fused=True")
            return "eager", why
        if _FAILED:
            return "eager", "; ".join(_FAILED[n] for n in sorted(_FAILED))
        return "compiled", "torch.compile'd step, median and warp"


def _f32(x):
    return float(np.float32(x))


def agreement(reference, flow, bound=20.0):
    """How close `flow` is to `reference` (..., 2): mean and 99th-percentile end-point error in px, and
    the fraction of components within one stored level (uint8 round((f + bound) * 255 / (2 bound)))."""
    epe = np.sqrt(((np.asarray(reference, np.float64) - flow) ** 2).sum(-1))

    def levels(f):
        return np.round((np.clip(f, -bound, bound) + bound) * (255.0 / (2 * bound)))

    within = np.abs(levels(reference) - levels(flow)) <= 1
    return {"mean_epe": float(epe.mean()), "p99_epe": float(np.percentile(epe, 99)), "within_one_level": float(within.mean())}


def format_agreement(stats):
    return (f"mean EPE {stats['mean_epe']:.4f} px, p99 {stats['p99_epe']:.4f} px, "
            f"{100 * stats['within_one_level']:.2f}% within one stored level")


