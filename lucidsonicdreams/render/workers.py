"""Segments drawn on Ray workers: one actor per GPU (one per CPU on a CPU-only cluster), each loading the style
once, while the driver (this process) keeps the manifests, stores what comes back and joins each video.

Ray (``pip install 'lucidsonicdreams[ray]'``) is imported here only, when a render asks for workers. The driver
puts each plan in the object store once; an actor draws a segment with the same pinned encoder as a local
render, so the video is the same bytes whoever drew which part. A segment comes back through the output's folder
where the actor sees it (one machine, or a shared disk), else as bytes. An actor that dies is restarted and its
segment drawn again.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from ..errors import WorkerError
from ..utils.files import write_atomically
from .arguments import Output
from .loop import VideoJob, encode_segments, finish_video, open_video, plan_style
from .plan import Progress, RenderPlan

# Segments waiting at each actor, so that it starts the next one as soon as it sends one back.
IN_FLIGHT = 2
# Times an actor is restarted (and its segment drawn again) after its process dies.
RESTARTS = 3
CONNECT_TIMEOUT = 5.0  # seconds to reach a cluster's address before Ray is asked to connect
# Test hooks, passed to every actor: ``{"crash_once": (marker file, first frame)}`` kills the actor's process the
# first time it draws that segment; ``{"delay": (first frame, seconds)}`` holds that segment back;
# ``{"unshared": True}`` sends every segment back as bytes, as from a machine that does not see the folder.
FAULTS: dict = {}


class SegmentDrawer:
    """A Ray actor's state: the plans it was given (kept by object id) and, through :func:`plan_style`, the style
    loaded once. ``draw`` encodes one segment and returns ``None`` when it wrote it straight into the output's
    parts folder (which it sees), else the segment's bytes."""

    def __init__(self, faults: dict | None = None) -> None:
        self._plans: dict[str, RenderPlan] = {}
        self._faults = faults or {}

    def device(self, plan: RenderPlan) -> str:
        """A GPU actor draws on its own GPU (Ray shows it only that one); any other on the plan's device, or the
        CPU where the plan's GPU is not here."""
        import ray
        import torch

        if ray.get_gpu_ids() and torch.cuda.is_available():
            return "cuda"
        if plan.device.startswith("cuda") and not torch.cuda.is_available():
            return "cpu"
        return plan.device

    def draw(self, plans: list, lo: int, hi: int, folder: str, token: str) -> bytes | None:
        import ray

        ref = plans[0]  # in a list, so Ray hands over the reference and the plan is fetched once per actor
        plan = self._plans.get(ref.hex())
        if plan is None:
            self._plans = {ref.hex(): ray.get(ref)}  # one plan at a time: an album's songs come one after another
            plan = self._plans[ref.hex()]
        self._fault(lo)
        style = plan_style(plan, self.device(plan))
        shared = Path(folder)
        if _reads(shared / f"{token}.token") == token and not self._faults.get("unshared"):
            # The driver's own folder (this machine, or a shared disk): the segment is written there.
            encode_segments(plan, [(lo, hi)], lambda first: shared / f"{first:09d}.mp4", _close, style=style)
            return None
        with tempfile.TemporaryDirectory(prefix="lucidsonicdreams-segment-") as here:
            path = Path(here) / "segment.mp4"
            encode_segments(plan, [(lo, hi)], lambda first: path, _close, style=style)
            return path.read_bytes()

    def _fault(self, lo: int) -> None:
        crash = self._faults.get("crash_once")
        if crash is not None and crash[1] == lo and not Path(crash[0]).exists():
            Path(crash[0]).touch()
            os._exit(1)
        delay = self._faults.get("delay")
        if delay is not None and delay[0] == lo:
            import time

            time.sleep(delay[1])


def _close(segment: ExitStack, lo: int, hi: int) -> None:
    segment.close()


def _reads(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return None


@dataclass
class Cluster:
    """The actors of one render (or album), on a Ray that this process is connected to."""

    actors: list

    def write_videos(self, plans: list[tuple[RenderPlan, int, int]], progress: Progress | None = None) -> list[int]:
        """Draw every ``(plan, first, end)`` into its video, all their segments in one queue shared by the actors;
        each video is joined as soon as its last segment is back. Returns the frames drawn for each."""
        import ray

        opened = [open_video(plan, first, end) for plan, first, end in plans]
        jobs = [job for job in opened if job is not None]
        total = sum(job.total for job in jobs)
        done = sum(job.done_before for job in jobs)
        if progress is not None:
            progress(done, total, "Rendering")
        for job in jobs:
            _send_code_by_value(ray, job.plan)
        refs = [[ray.put(job.plan)] for job in jobs]  # each plan in the object store once
        tokens = [uuid.uuid4().hex for _ in jobs]
        for job, token in zip(jobs, tokens):
            (job.manifest.folder / f"{token}.token").write_text(token, encoding="utf-8")
        queue = deque((i, lo, hi) for i, job in enumerate(jobs) for lo, hi in job.todo)
        left = [len(job.todo) for job in jobs]
        for job in jobs:
            if not job.todo:  # every segment was done before (a run that died while joining)
                finish_video(job)
        running: dict = {}  # object ref -> (actor, job index, lo, hi)

        def submit(actor) -> None:
            if queue:
                i, lo, hi = queue.popleft()
                ref = actor.draw.remote(refs[i], lo, hi, str(jobs[i].manifest.folder), tokens[i])
                running[ref] = (actor, i, lo, hi)

        for _ in range(IN_FLIGHT):
            for actor in self.actors:
                submit(actor)
        drawn = [0] * len(jobs)
        try:
            while running:
                [ready], _ = ray.wait(list(running), num_returns=1)
                actor, i, lo, hi = running.pop(ready)
                data = _result(ray, ready, jobs[i], lo)
                job = jobs[i]
                path = job.manifest.segment_path(lo)
                if data is not None:
                    write_atomically(path, lambda tmp, data=data: Path(tmp).write_bytes(data))
                job.manifest.record(lo, hi)
                drawn[i] += hi - lo
                if progress is not None:
                    progress(done + sum(drawn), total, "Rendering")
                left[i] -= 1
                if left[i] == 0:
                    finish_video(job)
                submit(actor)
        finally:
            for ref in running:  # what has not started yet; what has stops with the actors
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 - finished meanwhile, or an older Ray: the actors stop anyway
                    pass
            for job, token in zip(jobs, tokens):
                (job.manifest.folder / f"{token}.token").unlink(missing_ok=True)
        counts = iter(drawn)
        return [0 if job is None else next(counts) for job in opened]


def _send_code_by_value(ray, plan: RenderPlan) -> None:
    """A style or effect function from the user's own module (a script beside the song, not an installed package)
    travels as code: a worker, maybe on another machine, could not import that module."""
    funcs = [fx.effect.func for fx in plan.effects]
    if plan.style.kind == "function":
        funcs.append(plan.style.value)
    for func in funcs:
        module = sys.modules.get(getattr(func, "__module__", None) or "")
        path = getattr(module, "__file__", None)
        if module is None or path is None or module.__name__.split(".")[0] == "lucidsonicdreams":
            continue
        if not any(part in ("site-packages", "dist-packages") for part in Path(path).parts):
            ray.cloudpickle.register_pickle_by_value(module)


def _result(ray, ref, job: VideoJob, lo: int) -> bytes | None:
    """A segment's result; a worker's failure as a :class:`WorkerError` that says which segment, and why."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:  # the drawing itself failed: the same error as a local render
        cause = getattr(exc, "cause", None) or exc.as_instanceof_cause()
        raise WorkerError(f"drawing frames {lo}- of {job.plan.output.file.name} failed on a Ray worker: "
                          f"{type(cause).__name__}: {_first_line(cause)}") from exc
    except ray.exceptions.RayError as exc:
        raise WorkerError(f"the Ray worker drawing frames {lo}- of {job.plan.output.file.name} was lost "
                          f"{RESTARTS + 1} times: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    lines = [line for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def drawing(output: Output) -> AbstractContextManager[Cluster | None]:
    """The Ray workers that ``output`` asks for (``workers`` > 1 or a ``ray_address``), else ``None``: this
    process draws."""
    if output.workers == 1 and output.ray_address is None:
        return nullcontext()
    return cluster(output.workers, output.ray_address)


@contextmanager
def cluster(workers: int, address: str | None) -> Iterator[Cluster]:
    """``workers`` actors on Ray: the cluster at ``address``, else the Ray this process already started, else a
    local one (shut down after). Raises before anything is drawn where the address cannot be reached or the
    cluster lacks the GPUs (or, on a CPU-only cluster, the CPUs) asked for."""
    try:
        import ray
    except ImportError:
        raise ImportError("workers and ray_address need Ray: pip install 'lucidsonicdreams[ray]'") from None
    if address is not None:
        _reachable(address)
    started = not ray.is_initialized()
    if started:
        if address is None:
            ray.init(num_cpus=max(workers, os.cpu_count() or 1), include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    actors: list = []
    try:
        options = _actor_resources(ray.cluster_resources(), workers)
        drawer = ray.remote(max_restarts=RESTARTS, max_task_retries=RESTARTS, **options)(SegmentDrawer)
        actors = [drawer.remote(dict(FAULTS)) for _ in range(workers)]
        yield Cluster(actors)
    finally:
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()


def _actor_resources(resources: dict, workers: int) -> dict:
    """One GPU per actor where the cluster has GPUs, else one CPU; more than it has is an error now, not a task
    that waits forever."""
    gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 0))
    if gpus:
        if workers > gpus:
            raise ValueError(f"workers={workers} asks for one GPU each, and the Ray cluster has {gpus}: use "
                             f"workers={gpus}, or add machines to the cluster")
        return {"num_gpus": 1, "num_cpus": 1 if cpus >= workers else 0}
    if workers > cpus:
        raise ValueError(f"workers={workers} asks for one CPU each, and the Ray cluster has {cpus} (and no GPU): "
                         f"use workers={max(cpus, 1)}, or add machines to the cluster")
    return {"num_cpus": 1}


def _reachable(address: str) -> None:
    """Fail at once on an address nobody answers at: Ray itself keeps retrying for minutes."""
    if address in ("auto", "local"):
        return
    host_port = address.split("://", 1)[-1].rstrip("/")
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"ray_address must be HOST:PORT, ray://HOST:PORT or 'auto', got {address!r}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT):
            pass
    except OSError as exc:
        raise ConnectionError(f"ray_address {address!r}: nothing answers there ({exc}); start the cluster with "
                              "`ray start --head` on that machine, or check the address") from None
