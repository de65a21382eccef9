"""The torch backend of convert_rgb_to_flow: a pipeline that keeps the devices busy.

CPU threads decode whole frame folders (grey JPEGs, checked as the OpenCV backend checks them) ahead of
the devices; frame pairs, from any videos, go in chunks to one thread per device, which streams them
through the TV-L1 (src/prep/tvl1_stream.py: one stream per frame size, refilled as pairs finish); CPU
threads quantise and JPEG-encode each flow into its video's temp folder, which is renamed into place when
its last pair is written. Same files, resume, failure list and progress bar as the OpenCV backend.
A device out of memory halves its batch and goes on; any other TV-L1 error fails the videos in flight,
naming the pairs, and stops the run (what is finished stays; a rerun resumes).
"""
import queue
import sys
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from src.common.errors import UserError
from src.data.layout import is_finished, write_n_frames
from src.prep.flow_files import encode_flow, flow_file_numbers, read_video_gray, write_encoded, zero_flow
from src.prep.jobs import Progress, close_folder, discard_folder, failure_reason, open_folder, remove_partials
from src.prep.tvl1_stream import TVL1Error, TVL1Stream, measure_throughput


class _Tag:
    """Which pair a flow belongs to: flow k of a video, from frame k to k + 1 (1-based, as the files)."""

    __slots__ = ("video", "k")

    def __init__(self, video, k):
        self.video, self.k = video, k

    def __repr__(self):
        return f"{self.video.task.src} frames {self.k}-{self.k + 1}"


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
        self.fatal = None

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
        """Feed the device's streams (one per frame size) and run them: take every chunk ready now, wait
        for one only when no stream has work; run a full pool when one is, else a partial one."""
        streams, closed = {}, False
        while not self.stop.is_set():
            while not closed:
                try:
                    batch = self.batches.get(block=not any(s.busy() for s in streams.values()))
                except queue.Empty:
                    break
                if batch is None:
                    closed = True
                    break
                for video, k, first, second in batch:
                    if first.shape not in streams:
                        streams[first.shape] = TVL1Stream(device, self.batch_pairs)
                    streams[first.shape].add(_Tag(video, k), first, second)
                if any(s.ready() for s in streams.values()):
                    break
            busy = [s for s in streams.values() if s.busy()]
            if not busy:
                if closed:
                    return
                continue
            try:
                done = next((s for s in busy if s.ready()), busy[0]).step(drain=True)
            except TVL1Error as exc:
                self.fail_run(exc)
                return
            for tag, flow in done:
                self.encoder.submit(self.store, tag.video, tag.k, flow)

    def fail_run(self, exc):
        """A TV-L1 error other than memory: the videos of the pairs it names fail with it, the run stops."""
        self.fatal = str(exc)
        for video in {id(t.video): t.video for t in exc.tags}.values():
            self.fail(video, self.fatal)
        self.stop.set()

    def put(self, batch):
        """Queue a chunk for the devices unless the run has stopped (a stopped device takes nothing)."""
        while not self.stop.is_set():
            try:
                self.batches.put(batch, timeout=0.2)
                return
            except queue.Full:
                continue

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
                        self.put(bucket)
                        bucket = buckets[frames[0].shape] = []
                if self.stop.is_set():
                    break
            for bucket in buckets.values():
                if bucket:
                    self.put(bucket)
            for _ in workers:
                self.put(None)
            for worker in workers:
                worker.join()
            self.encoder.shutdown(wait=True)
            if self.fatal:
                remove_partials(*(t.dst for t in self.progress.pending))
                print(f"stopped: {self.fatal}; finished videos are kept, run the same command again to resume",
                      file=sys.stderr)
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
    pairs) on real frames at the batch size the run will use, the pair count, and the TV-L1 path that
    ran with why ('graph+compiled', ...: see TVL1Stream.path)."""
    on_cpu = str(device) == "cpu"
    frames = read_video_gray(rgb_dir, max_frames=max_pairs_cpu + 1 if on_cpu else batch_pairs + 1)
    batch = len(frames) - 1 if on_cpu else batch_pairs
    before = torch.get_num_threads()
    torch.set_num_threads(1 if on_cpu else before)
    try:
        rate, _, _, path = measure_throughput(np.stack(frames[:-1]), np.stack(frames[1:]), batch, device)
    finally:
        torch.set_num_threads(before)
    return rate, batch, path
