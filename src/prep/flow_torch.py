"""The torch backend of convert_rgb_to_flow: a pipeline that keeps the devices busy.

CPU threads decode whole frame folders (grey JPEGs, checked as the OpenCV backend checks them) ahead of
the devices; frame pairs of one size, from any videos, are grouped into batches; one thread per device
runs the batched TV-L1 (src/prep/tvl1_torch.py); CPU threads quantise and JPEG-encode each flow into its
video's temp folder, which is renamed into place when its last pair is written. Same files, resume,
failure list and progress bar as the OpenCV backend.
"""
import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from src.common.errors import UserError
from src.data.layout import is_finished, write_n_frames
from src.prep.flow_files import encode_flow, flow_file_numbers, read_video_gray, write_encoded, zero_flow
from src.prep.jobs import Progress, close_folder, discard_folder, failure_reason, open_folder
from src.prep.tvl1_torch import measure_throughput, tvl1_flow


class _Video:
    """A video in flight: its temp folder and the flow frames still to write."""

    def __init__(self, task, n):
        self.task, self.n = task, n
        self.tmp = open_folder(task.dst)
        self.left = max(n - 1, 1)
        self.failed = False
        self.lock = threading.Lock()


def _prefetch(pool, fn, items, ahead):
    """(item, fn(item)) in order, with up to `ahead` calls running in the pool beforehand."""
    items = iter(items)  # below, range comes first in zip so that zip draws no extra item
    running = deque((item, pool.submit(fn, item)) for _, item in zip(range(ahead), items))
    while running:
        item, future = running.popleft()
        following = next(items, None)
        if following is not None:
            running.append((following, pool.submit(fn, following)))
        yield item, future.result()


class _Pipeline:
    def __init__(self, tasks, bound, devices, batch_pairs, threads):
        self.progress = Progress(tasks, "flow", is_finished)
        self.bound, self.devices, self.batch_pairs = bound, devices, batch_pairs
        self.threads = max(1, threads)
        self.batches = queue.Queue(maxsize=2 * len(devices))  # the devices' next work, ready in memory
        self.encoder = ThreadPoolExecutor(self.threads, thread_name_prefix="flow-encode")
        self.stop = threading.Event()

    def fail(self, video, reason):
        with video.lock:
            if video.failed:
                return
            video.failed = True
        discard_folder(video.tmp, video.task.dst)
        self.progress.record(video.task, "failed", reason)

    def store(self, video, k, flow):
        """Encode and write flow k; the last one written finishes the folder."""
        if video.failed or self.stop.is_set():
            return
        try:
            encoded = encode_flow(flow, self.bound)
            for number in flow_file_numbers(k, video.n):
                write_encoded(video.tmp, number, encoded)
            with video.lock:
                video.left -= 1
                finished = video.left == 0 and not video.failed
            if finished:
                write_n_frames(video.tmp, video.n)
                close_folder(video.tmp, video.task.dst)
                self.progress.record(video.task, "done")
        except Exception as exc:  # noqa: BLE001 - a disk error fails this video, not the run
            self.fail(video, failure_reason(video.task, exc))

    def device_loop(self, device):
        while True:
            batch = self.batches.get()
            if batch is None or self.stop.is_set():
                return
            try:
                flows = tvl1_flow(np.stack([b[2] for b in batch]), np.stack([b[3] for b in batch]), device=device)
            except Exception as exc:  # noqa: BLE001 - e.g. out of device memory: these videos fail, listed
                for video in {id(b[0]): b[0] for b in batch}.values():
                    self.fail(video, f"TV-L1 on {device} failed: {type(exc).__name__}: {exc}")
                continue
            for (video, k, _, _), flow in zip(batch, flows):
                self.encoder.submit(self.store, video, k, flow)

    def load(self, task):
        try:
            return read_video_gray(task.src)
        except Exception as exc:  # noqa: BLE001 - listed as this video's failure
            return exc

    def run(self):
        workers = [threading.Thread(target=self.device_loop, args=(d,), daemon=True, name=f"tvl1-{d}")
                   for d in self.devices]
        for worker in workers:
            worker.start()
        buckets = {}
        decoder = ThreadPoolExecutor(self.threads, thread_name_prefix="flow-decode")
        try:
            for task, frames in _prefetch(decoder, self.load, self.progress.todo, 2 * self.threads):
                if isinstance(frames, Exception):
                    self.progress.record(task, "failed", failure_reason(task, frames))
                    continue
                try:
                    video = _Video(task, len(frames))
                except (OSError, UserError) as exc:  # OutputBusy: another run writes this video; or an unwritable folder
                    self.progress.record(task, "failed", failure_reason(task, exc))
                    continue
                if len(frames) == 1:  # one zero flow frame, as the OpenCV backend writes
                    self.encoder.submit(self.store, video, 1, zero_flow(frames[0].shape))
                    continue
                bucket = buckets.setdefault(frames[0].shape, [])
                for k in range(1, len(frames)):
                    bucket.append((video, k, frames[k - 1], frames[k]))
                    if len(bucket) == self.batch_pairs:
                        self.batches.put(bucket)
                        bucket = buckets[frames[0].shape] = []
            for bucket in buckets.values():
                if bucket:
                    self.batches.put(bucket)
            for _ in workers:
                self.batches.put(None)
            for worker in workers:
                worker.join()
            self.encoder.shutdown(wait=True)
        except KeyboardInterrupt:
            self.stop.set()
            self.encoder.shutdown(wait=True, cancel_futures=True)
            self.progress.interrupted()
        finally:
            decoder.shutdown(wait=False, cancel_futures=True)
        return self.progress.close()


def run_torch_flow(tasks, bound, devices, batch_pairs, threads):
    """Flow of every unfinished task with the torch TV-L1 on `devices`; returns the Summary.

    On the CPU, `threads` single-threaded workers: torch's own threads wait on each other at every small
    op (18x slower than one thread on a loaded 2-core machine), workers of one thread do not."""
    if set(devices) != {"cpu"}:
        return _Pipeline(tasks, bound, devices, batch_pairs, threads).run()
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _Pipeline(tasks, bound, ("cpu",) * max(1, threads), batch_pairs, threads).run()
    finally:
        torch.set_num_threads(before)


def measure_torch_rate(rgb_dir, device, batch_pairs, max_pairs_cpu=3):
    """Pairs per second of one device (on the CPU: one single-threaded worker, at most max_pairs_cpu
    pairs) on real frames at the batch size the run will use, and the pair count."""
    on_cpu = str(device) == "cpu"
    frames = read_video_gray(rgb_dir, max_frames=max_pairs_cpu + 1 if on_cpu else batch_pairs + 1)
    batch = len(frames) - 1 if on_cpu else batch_pairs
    before = torch.get_num_threads()
    torch.set_num_threads(1 if on_cpu else before)
    try:
        rate, _ = measure_throughput(np.stack(frames[:-1]), np.stack(frames[1:]), batch, device)
    finally:
        torch.set_num_threads(before)
    return rate, batch
