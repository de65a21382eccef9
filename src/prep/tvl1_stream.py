"""Frame pairs streaming through the TV-L1 scales on one device, with no host round trip per iteration.

Why: a batch that runs until its slowest pair converges, with the stopping test copied to the host after
every inner iteration, keeps a GPU idle most of the time (16 distinct real 320x240 pairs needed 4.2x the
iterations a pair needs, and a host sync per iteration). Here:
- one pool per pyramid scale holds up to `batch` rows in fixed slots (pairs at any warp of that scale);
- a block of `block` inner iterations runs with OpenCV's stopping test on the device: a converged row is
  frozen (its state kept exactly, the median skipped for it) until the block ends;
- after the block one nonzero finds the rows that stopped (the block's only host sync): a row that finished
  a warp gets its next warp in its slot, a row that finished a scale goes to the next finer pool, a row
  that finished the finest scale is the pair's flow; free slots are refilled from the pool's queue, the
  coarsest pool from the pairs waiting: a stream of pairs, not batches waiting for their slowest member;
- the finest full pool runs next; when none is full and no more pairs come, the coarsest non-empty one;
- on CUDA a pool's block is captured once as a CUDA graph (fixed shape: batch x height x width) and then
  replayed, so launches cost no host time; elsewhere it runs eagerly (or torch.compile'd) on the
  occupied rows, compacted by index_select;
- an out-of-memory halves the batch and starts the pairs in flight again (their flow is unchanged: rows
  never mix); any other error names the pairs and stops.
A pair's flow is what OpenCV computes: the same iterations, medians and stopping test in every warp.
"""
import time
import warnings
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch

from src.prep.tvl1_torch import (Kernels, TVL1Params, _f32, centred_gradient, cubic_table_on, is_out_of_memory,
                                 pyramid_sizes, resize_linear)


class TVL1Error(RuntimeError):
    """The torch TV-L1 failed on these pairs (tags as given to TVL1Stream.add) for another reason than memory."""

    def __init__(self, message, tags):
        super().__init__(message)
        self.tags = list(tags)


@dataclass
class StreamStats:
    """What a stream did. row_iterations / pairs is the loop iterations per batch the device ran for a
    pair (a full batch of B rows counts B); pair_iterations / pairs is what a pair needs (OpenCV's count)."""

    pairs: int = 0
    blocks: int = 0
    loop_iterations: int = 0  # inner iterations launched, all pools
    row_iterations: int = 0  # inner iterations x rows launched
    slot_iterations: int = 0  # inner iterations x batch (what a fixed-shape CUDA graph launch computes)
    pair_iterations: int = 0  # inner iterations the pairs needed
    max_pair_iterations: int = 0
    checks: int = 0  # one nonzero (host sync) each
    halved: list = field(default_factory=list)  # batch sizes left after an out-of-memory

    @property
    def per_batch(self):
        return self.row_iterations / max(self.pairs, 1)

    @property
    def per_pair(self):
        return self.pair_iterations / max(self.pairs, 1)

    @property
    def syncs_per_iteration(self):
        return self.checks / max(self.loop_iterations, 1)


class _Pair:
    __slots__ = ("tag", "serial", "first", "second", "levels")

    def __init__(self, tag, serial, first, second):
        self.tag, self.serial, self.first, self.second, self.levels = tag, serial, first, second, None


class _Pool:
    """The rows of one scale: state, constants and images in `batch` fixed slots; host-side bookkeeping
    (which pair, which warp, iterations in this warp) that needs no sync."""

    def __init__(self, stream, scale, size):
        self.stream, self.scale, self.size = stream, scale, size
        dev, cap, (h, w) = stream.device, stream.batch, size

        def planes(*shape, dtype=torch.float32):
            return torch.zeros((cap, *shape), dtype=dtype, device=dev)

        self.state = [planes(h, w) for _ in range(6)]  # u1, u2, p11, p12, p21, p22
        self.consts = [planes(h, w) for _ in range(4)]  # ix, iy, |grad|^2 (1 where 0), rho_c
        self.consts[2].fill_(1.0)
        self.i0, self.src = planes(h, w), planes(3, h, w)  # first frame; second frame and its gradients
        self.alive, self.due = planes(dtype=torch.bool), planes(dtype=torch.bool)
        self.iters = planes(dtype=torch.int32)  # inner iterations this pair used at this scale
        self.pairs, self.warp, self.count = [None] * cap, [0] * cap, [0] * cap
        self.waiting = deque()  # (pair, u1, u2) to enter this scale (u None at the coarsest)
        self.rows = 0  # eager: slots [0, rows) hold every occupied one
        self.graph = None
        p = stream.params
        self.limit = _f32(p.epsilon * p.epsilon * h * w)
        self.xs = torch.arange(w, dtype=torch.float32, device=dev)[None, None, :]
        self.ys = torch.arange(h, dtype=torch.float32, device=dev)[None, :, None]

    def occupied(self):
        return [i for i, pair in enumerate(self.pairs) if pair is not None]

    def available(self):
        return len(self.occupied()) + len(self.waiting)

    def all_planes(self):
        return [*self.state, *self.consts, self.i0, self.src, self.alive, self.iters]

    def _warp(self, idx, u1, u2, src, i0):
        """Constants of the next warp of rows idx (OpenCV: remap I1 and its gradients at x + u, rho_c)."""
        s = self.stream
        warped, ix, iy = (t.contiguous() for t in s.kernels("warp", src, self.xs + u1, self.ys + u2,
                                                               cubic_table_on(src.device)).unbind(1))
        grad = ix * ix + iy * iy
        rho_c = ((warped - ix * u1) - iy * u2) - i0
        safe = torch.where(grad > 0, grad, torch.ones((), device=grad.device))
        for buf, value in zip(self.consts, (ix, iy, safe, rho_c)):
            buf.index_copy_(0, idx, value)
        self.alive.index_fill_(0, idx, True)

    def fill(self):
        """Move waiting rows into free slots (lowest first): images, flow, zero duals, first warp."""
        free = [i for i, pair in enumerate(self.pairs) if pair is None][: len(self.waiting)]
        if not free:
            return
        entries = [self.waiting.popleft() for _ in free]
        s, (h, w) = self.stream, self.size
        idx = s.index(free)
        if entries[0][1] is None:
            u1 = u2 = torch.zeros((len(free), h, w), device=s.device)
        else:
            u1, u2 = (torch.stack([e[k] for e in entries]) for k in (1, 2))
        i0 = torch.stack([e[0].levels[self.scale][0] for e in entries])
        i1 = torch.stack([e[0].levels[self.scale][1] for e in entries])
        src = torch.stack([i1, *centred_gradient(i1)], dim=1)
        for buf, value in ((self.state[0], u1), (self.state[1], u2), (self.i0, i0), (self.src, src)):
            buf.index_copy_(0, idx, value)
        for buf in (*self.state[2:], self.iters):
            buf.index_fill_(0, idx, 0)
        self._warp(idx, u1, u2, src, i0)
        for slot, (pair, _, _) in zip(free, entries):
            pair.levels[self.scale] = None
            self.pairs[slot], self.warp[slot], self.count[slot] = pair, 0, 0
        self.rows = max(self.rows, free[-1] + 1)

    def _steps(self, state, alive, iters, consts):
        s = self.stream
        for _ in range(s.block):
            state, alive, iters = s.kernels("step", *consts, alive, iters, *state, *s.scalars, self.limit)
        return state, alive, iters

    def _graph_body(self):
        """One block on all slots, reading and writing the pool's own tensors (what the CUDA graph holds)."""
        u1, u2 = self.stream.kernels("masked_median", self.state[0], self.state[1], self.due & self.alive)
        state, alive, iters = self._steps((u1, u2, *self.state[2:]), self.alive, self.iters, self.consts)
        for buf, value in zip((*self.state, self.alive, self.iters), (*state, alive, iters)):
            buf.copy_(value)

    def _eager_block(self, due):
        """One block on the occupied prefix; the median only for the rows due (host-known, no sync)."""
        n, s = self.rows, self.stream
        if due:
            idx = s.index(due)
            u1, u2 = s.kernels("median", self.state[0].index_select(0, idx), self.state[1].index_select(0, idx))
            self.state[0].index_copy_(0, idx, u1)
            self.state[1].index_copy_(0, idx, u2)
        state, alive, iters = self._steps([t[:n] for t in self.state], self.alive[:n], self.iters[:n],
                                          [t[:n] for t in self.consts])
        for buf, value in zip((*self.state, self.alive, self.iters), (*state, alive, iters)):
            buf[:n].copy_(value)

    def run_block(self):
        s = self.stream
        inner = s.params.inner_iterations
        occupied = self.occupied()
        due = [i for i in occupied if self.count[i] % inner == 0] if s.params.median_filtering > 1 else []
        if s.graphs:
            mask = torch.zeros(s.batch, dtype=torch.bool)
            mask[due] = True
            self.due.copy_(s.upload(mask), non_blocking=True)
            if self.graph is None:
                self._capture()
            else:
                self.graph.replay()
            rows = s.batch
        else:
            self._eager_block(due)
            rows = self.rows
        for i in occupied:
            self.count[i] += s.block
        s.stats.blocks += 1
        s.stats.loop_iterations += s.block
        s.stats.row_iterations += s.block * rows
        s.stats.slot_iterations += s.block * s.batch

    def _capture(self):
        """Run this block for real on a side stream (it also compiles), then capture it as a CUDA graph."""
        s = self.stream
        current = torch.cuda.current_stream(s.device)
        side = torch.cuda.Stream(s.device)
        side.wait_stream(current)
        with torch.cuda.stream(side):
            self._graph_body()
        current.wait_stream(side)
        try:
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, capture_error_mode="thread_local"):
                self._graph_body()
            self.graph = graph
        except Exception as exc:  # noqa: BLE001 - a capture failure costs speed, not results
            if is_out_of_memory(exc):
                raise
            s.graphs_off(f"CUDA graph capture failed ({type(exc).__name__}: {str(exc)[:200]})")

    def snapshot(self):
        """After the block: its stopping flags on their way to the host (on CUDA an asynchronous copy and an
        event), so that the host can queue another pool's block before it waits for these."""
        s = self.stream
        rows = s.batch if s.graphs else self.rows
        if s.device.type != "cuda":
            self.flags = (self.alive[:rows], None)
            return
        host = torch.empty(rows, dtype=torch.bool, pin_memory=True)
        host.copy_(self.alive[:rows], non_blocking=True)
        done = torch.cuda.Event()
        done.record(torch.cuda.current_stream(s.device))
        self.flags = (host, done)

    def check(self):
        """The block's one host sync (the wait for its flags): rows that stopped go to their next warp,
        scale or the output (one nonzero, on the host copy)."""
        s, p = self.stream, self.stream.params
        flags, done = self.flags
        if done is not None:
            done.synchronize()
        stopped = torch.nonzero(~flags).flatten().tolist()
        s.stats.checks += 1
        limit = p.outer_iterations * p.inner_iterations
        done = {i for i in stopped if self.pairs[i] is not None}
        done |= {i for i in self.occupied() if self.count[i] >= limit}  # OpenCV's iteration cap
        on = sorted(i for i in done if self.warp[i] < p.warps - 1)
        leave = sorted(i for i in done if self.warp[i] == p.warps - 1)
        if on:
            idx = s.index(on)
            self._warp(idx, *(t.index_select(0, idx) for t in (self.state[0], self.state[1], self.src, self.i0)))
            for i in on:
                self.warp[i] += 1
                self.count[i] = 0
        if leave:
            idx = s.index(leave)
            u1, u2 = (t.index_select(0, idx) for t in self.state[:2])
            pairs = [self.pairs[i] for i in leave]
            s.log_iterations([pair.serial for pair in pairs], self.iters.index_select(0, idx))
            self.alive.index_fill_(0, idx, False)
            for i in leave:
                self.pairs[i] = None
            s.leave(self.scale, pairs, u1, u2)
        if not s.graphs:
            self._compact()

    def _compact(self):
        """Eager pools: move the last occupied rows into the holes (index_select) once holes are more than
        the fraction `compact` of the rows computed."""
        occupied = self.occupied()
        n = len(occupied)
        top = occupied[-1] + 1 if occupied else 0
        holes = [i for i in range(n) if self.pairs[i] is None]
        if holes and top - n > self.stream.compact * top:
            movers = [i for i in occupied if i >= n]
            src, dst = self.stream.index(movers), self.stream.index(holes)
            for buf in self.all_planes():
                buf.index_copy_(0, dst, buf.index_select(0, src))
            for a, b in zip(holes, movers):
                self.pairs[a], self.warp[a], self.count[a] = self.pairs[b], self.warp[b], self.count[b]
                self.pairs[b] = None
            top = n
        self.rows = top


class TVL1Stream:
    """The torch TV-L1 of a stream of frame pairs of one size on one device (see the module docstring).

    add() queues pairs (host arrays or tensors, uint8 or float grey (H, W)); step() runs one block and
    returns the (tag, flow) pairs finished since; run() goes on until every pair added is done. batch: rows
    per pool; block: inner iterations between checks (a divisor of OpenCV's 30); fused: torch.compile
    (default on CUDA); graphs: CUDA graphs (default on CUDA, never elsewhere); compact: see _Pool._compact."""

    def __init__(self, device="cpu", batch=64, params=TVL1Params(), fused=None, graphs=None, block=10, compact=None):
        self.device = torch.device(device)
        cuda = self.device.type == "cuda"
        if params.inner_iterations % block:
            raise ValueError(f"block must divide the {params.inner_iterations} inner iterations, got {block}")
        self.batch, self.params, self.block = int(batch), params, int(block)
        self.kernels = Kernels(cuda if fused is None else fused)
        self.graphs = cuda and graphs is not False
        self.graph_why = ("captured once per pool (batch x height x width)" if self.graphs else
                          "not a CUDA device" if not cuda else "graphs=False")
        self.compact = (0.0 if self.device.type == "cpu" else 0.25) if compact is None else compact
        self.scalars = (_f32(params.lambda_ * params.theta), _f32(params.theta), _f32(params.tau / params.theta))
        self.pending, self.in_flight, self.downloads = deque(), {}, deque()
        self.iteration_log, self.partial_counts = [], {}  # (serials, device counts); serial -> count so far
        self.pools, self.sizes, self.serial, self.current = None, None, 0, []
        self.unchecked = None  # the pool whose block is queued and not checked yet
        self.stats = StreamStats()

    # ------------------------------------------------------------------------------------- the outside

    @property
    def path(self):
        """('graph+compiled' | 'graph+eager' | 'compiled' | 'eager', why) as it stands now."""
        kind, why = self.kernels.path(self.device)
        if self.graphs:
            return f"graph+{kind}", f"CUDA graph {self.graph_why}; {why}"
        return kind, f"{why}; no CUDA graph: {self.graph_why}"

    def add(self, tag, first, second):
        first, second = (torch.as_tensor(np.asarray(f)) if not torch.is_tensor(f) else f for f in (first, second))
        if self.sizes is None:
            self.sizes = pyramid_sizes(*first.shape, self.params)
        if tuple(first.shape) != self.sizes[0] or tuple(second.shape) != self.sizes[0]:
            raise ValueError(f"pair {tag!r}: frames {tuple(first.shape)} / {tuple(second.shape)}, this stream "
                             f"takes {self.sizes[0]} (one stream per frame size)")
        self.pending.append(_Pair(tag, self.serial, first, second))
        self.serial += 1

    def busy(self):
        return bool(self.pending or self.downloads or self.unchecked
                    or (self.pools and any(p.available() for p in self.pools)))

    def ready(self):
        """Some pool can run full (the caller may still add pairs before a partial block)."""
        return self._pick(drain=False) is not None

    def step(self, drain=True):
        """Queue the next block (of the finest full pool; with drain, else of the coarsest non-empty one),
        then check the block queued before it: the device runs one block while the host handles the other's
        finished rows. Returns the (tag, flow) finished since the last call."""
        waiting = self.unchecked
        scale = self._pick(drain, exclude=waiting)
        if scale is not None:
            self._guarded(self._launch, self.pools[scale])
        if waiting is not None:
            self._guarded(self._check, waiting)
        elif scale is None and self.downloads and self.downloads[0][0] is not None:
            self.downloads[0][0].synchronize()  # nothing left to queue: wait for the oldest flow copy
        return self._collect()

    def run(self):
        """(tag, flow (H, W, 2) float32 numpy) of every pair added, as they finish."""
        while self.busy():
            yield from self.step(drain=True)

    def finish_stats(self):
        """The stats with every finished pair's iteration count read from the device; returns them."""
        self._fold()
        return self.stats

    def log_iterations(self, serials, counts):
        """Iterations that pairs used at a scale (a device tensor: read later, in bulk, not now)."""
        self.iteration_log.append((serials, counts))
        if len(self.iteration_log) >= 1024:  # one read per 1024 scale exits keeps the log small
            self._fold()

    def _fold(self):
        if self.iteration_log:
            counts = torch.cat([c for _, c in self.iteration_log]).cpu().tolist()
            serials = [n for ns, _ in self.iteration_log for n in ns]
            self.iteration_log = []
            for serial, n in zip(serials, counts):
                self.partial_counts[serial] = self.partial_counts.get(serial, 0) + n
        waiting = {p.serial for p in self.pending}
        for serial in [n for n in self.partial_counts if n not in self.in_flight and n not in waiting]:
            total = self.partial_counts.pop(serial)  # a finished pair: all its scales are in
            self.stats.pair_iterations += total
            self.stats.max_pair_iterations = max(self.stats.max_pair_iterations, total)

    # ------------------------------------------------------------------------------------- the inside

    def index(self, slots):
        """Slot numbers as an index tensor on the device (pinned, asynchronous: no sync)."""
        return self.upload(torch.tensor(slots, dtype=torch.long))

    def upload(self, tensor):
        if self.device.type != "cuda":
            return tensor
        return tensor.pin_memory().to(self.device, non_blocking=True)

    def graphs_off(self, why):
        warnings.warn(f"TV-L1 on {self.device}: {why}; running without CUDA graphs")
        self.graphs, self.graph_why = False, why
        for pool in self.pools or ():
            pool.graph, pool.rows = None, self.batch

    def _pick(self, drain, exclude=None):
        if self.pools is None:
            if not self.pending:
                return None
            self.pools = [_Pool(self, s, size) for s, size in enumerate(self.sizes)]
        coarsest = len(self.pools) - 1

        def available(s):
            return self.pools[s].available() + (len(self.pending) if s == coarsest else 0)

        scales = [s for s in range(len(self.pools)) if self.pools[s] is not exclude]
        full = [s for s in scales if available(s) >= self.batch]
        if full:
            return full[0]
        if drain:
            waiting = [s for s in scales if available(s)]
            return waiting[-1] if waiting else None
        return None

    def _guarded(self, action, pool):
        try:  # the device made current: graph capture and its side stream follow the current device
            with torch.no_grad(), (torch.cuda.device(self.device) if self.device.type == "cuda" else nullcontext()):
                action(pool)
        except Exception as exc:
            if not is_out_of_memory(exc):
                raise TVL1Error(f"TV-L1 on {self.device} failed on {self._names(self.current)}: "
                                f"{type(exc).__name__}: {exc}", [p.tag for p in self.current]) from exc
            if self.batch == 1:
                raise TVL1Error(f"TV-L1 on {self.device}: out of memory at batch 1 on "
                                f"{self._names(self.current)}", [p.tag for p in self.current]) from exc
            self._restart(self.batch // 2)

    @staticmethod
    def _names(pairs):
        tags = [repr(p.tag) for p in pairs]
        if not tags:
            return "no pair in flight"
        return "pair " + tags[0] if len(tags) == 1 else f"pairs {', '.join(tags[:4])}" + (
            f" and {len(tags) - 4} more" if len(tags) > 4 else "")

    def _restart(self, batch):
        """Out of memory: drop the device state, halve the batch, queue the pairs in flight again (in order).
        Their flow does not change: no row depends on its neighbours."""
        lost = sorted(self.in_flight.values(), key=lambda p: p.serial)
        warnings.warn(f"TV-L1 on {self.device}: out of memory at batch {self.batch}; going on at batch {batch} "
                      f"({len(lost)} pairs in flight start again)")
        self.pools, self.in_flight, self.current, self.unchecked = None, {}, [], None
        lost_serials = {p.serial for p in lost}
        kept = []
        for serials, counts in self.iteration_log:  # the counts of pairs that start again go
            keep = [k for k, n in enumerate(serials) if n not in lost_serials]
            if keep:
                kept.append(([serials[k] for k in keep], counts[self.index(keep)]))
        self.iteration_log = kept
        for serial in lost_serials:
            self.partial_counts.pop(serial, None)
        for pair in reversed(lost):
            pair.levels = None
            self.pending.appendleft(pair)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        self.batch = batch
        self.stats.halved.append(batch)

    def _launch(self, pool):
        self.current = []
        if pool is self.pools[-1]:
            self._admit(self.batch - pool.available())
        pool.fill()
        self.current = [pool.pairs[i] for i in pool.occupied()]
        pool.run_block()
        pool.snapshot()
        self.unchecked = pool

    def _check(self, pool):
        self.current = [pool.pairs[i] for i in pool.occupied()]
        if self.unchecked is pool:
            self.unchecked = None
        pool.check()

    def _admit(self, n):
        """Pairs from the queue into the coarsest pool's queue, with their image pyramids (one upload)."""
        new = [self.pending.popleft() for _ in range(min(n, len(self.pending)))]
        if not new:
            return
        self.current = new
        frames = self.upload(torch.stack([p.first for p in new] + [p.second for p in new]))
        levels = [frames.to(self.device, torch.float32)]
        inv = 1.0 / self.params.scale_step
        for sh, sw in self.sizes[1:]:
            levels.append(resize_linear(levels[-1], sh, sw, inv, inv))
        for j, pair in enumerate(new):
            pair.levels = [(lv[j], lv[len(new) + j]) for lv in levels]
            self.in_flight[pair.serial] = pair
            self.pools[-1].waiting.append((pair, None, None))

    def leave(self, scale, pairs, u1, u2):
        """Rows that finished `scale`: up to the next finer pool, or out as flow."""
        if scale:
            size, up = self.sizes[scale - 1], _f32(1.0 / self.params.scale_step)
            u1, u2 = resize_linear(u1, *size) * up, resize_linear(u2, *size) * up
            self.pools[scale - 1].waiting.extend(zip(pairs, u1, u2))
            return
        flow = torch.stack([u1, u2], dim=-1)
        if self.device.type == "cuda":
            host = torch.empty(flow.shape, dtype=flow.dtype, pin_memory=True)
            host.copy_(flow, non_blocking=True)
            done = torch.cuda.Event()
            done.record(torch.cuda.current_stream(self.device))
        else:
            host, done = flow, None
        self.downloads.append((done, pairs, host))
        for pair in pairs:
            del self.in_flight[pair.serial]
        self.stats.pairs += len(pairs)

    def _collect(self):
        out = []
        while self.downloads and (self.downloads[0][0] is None or self.downloads[0][0].query()):
            _, pairs, host = self.downloads.popleft()
            flows = host.numpy()
            out.extend((pair.tag, flows[k]) for k, pair in enumerate(pairs))
        return out


def tvl1_flow(first, second, device="cpu", params=TVL1Params(), fused=None, compact=None, batch=None, graphs=None,
              block=10):
    """Flow from `first` to `second`: uint8 or float (B, H, W) grey frames (numpy or torch; (H, W) for
    one pair) -> float32 (B, H, W, 2) numpy array (x, y in pixels), as OpenCV's TV-L1 computes it.
    batch: rows per pool (default all pairs at once); the rest: see TVL1Stream."""
    single = np.ndim(first) == 2
    if single:
        first, second = first[None], second[None]
    n = len(first)
    if n == 0:
        return np.zeros((0, *np.shape(first)[1:], 2), np.float32)
    stream = TVL1Stream(device, batch or n, params, fused, graphs, block, compact)
    for k in range(n):
        stream.add(k, first[k], second[k])
    flow = np.empty((n, *stream.sizes[0], 2), np.float32)
    for k, f in stream.run():
        flow[k] = f
    return flow[0] if single else flow


def measure_throughput(first, second, batch, device="cpu", fused=None, pairs=None, graphs=None):
    """Pairs per second of a stream of `pairs` pairs cycling through the distinct pairs (first, second)
    (default: each once on the CPU, max(4 x batch, distinct) on a GPU), at `batch` rows per pool; the flow
    of the distinct pairs (their first pass) and the stream's stats. On a GPU an untimed stream of `batch`
    pairs first compiles the kernels and captures the graphs (kept: the timed stream uses the same)."""
    distinct = len(first)
    on_cpu = torch.device(device).type == "cpu"
    pairs = pairs or (distinct if on_cpu else max(4 * batch, distinct))
    stream = TVL1Stream(device, batch, fused=fused, graphs=graphs)
    if not on_cpu:
        for k in range(batch):
            stream.add(None, first[k % distinct], second[k % distinct])
        for _ in stream.run():
            pass
        stream.finish_stats()
        stream.stats = StreamStats()
    for k in range(pairs):
        stream.add(k, first[k % distinct], second[k % distinct])
    flow = np.empty((distinct, *stream.sizes[0], 2), np.float32)
    start = time.perf_counter()
    for k, f in stream.run():  # a flow comes back once its copy to the host is done
        if k < distinct:
            flow[k] = f
    rate = pairs / (time.perf_counter() - start)
    return rate, flow, stream.finish_stats(), stream.path
