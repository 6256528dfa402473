"""Decoding a media folder's images and audio into fixed-shape arrays, on worker processes.

Items are cut into chunks of :data:`CHUNK` and decoded
(:func:`~benchmark.data.folder.image.load_image`,
:func:`~benchmark.data.folder.audio.read_audio` and
:func:`~benchmark.data.folder.audio.conform_audio`); the parent places each chunk's rows.
The first chunk is decoded in this process and timed; when the rest would take longer than
:data:`POOL_WORTH_S` here, it goes to a pool of worker processes, started with
``forkserver`` (``spawn`` where there is none) so that they never inherit the parent's
threads (torch's, tqdm's). The pool has ``$ANYBENCH_WORKERS`` workers, else as many as the
CPUs this process may use, at most :data:`MAX_WORKERS`. Every decoding problem of every item
is collected before one :class:`~benchmark.data.manifest.BadData` is raised.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from benchmark.core.errors import UserError
from benchmark.core.threads import usable_cpus
from benchmark.data.folder.audio import conform_audio, read_audio
from benchmark.data.folder.image import load_image
from benchmark.data.folder.problems import BAD_AUDIO, BAD_IMAGE, EMPTY_AUDIO, raise_first
from benchmark.data.manifest import ManifestItem

CHUNK = 64
"""Items per task sent to a worker."""

MAX_WORKERS = 8
POOL_WORTH_S = 3.0
"""Seconds of decoding left (estimated from the first chunk) below which no pool is started.
Starting one costs each worker its imports (about 0.5 s; 1.5-3 s more when it resamples
audio, for scipy.signal) and the arrays are shipped back, so with two workers a pool only
pays off for a few seconds of work; tiny files (scenes' 32x32 PNGs and 0.75 s WAVs) decode
at about 2,000 items/s on one core."""
WORKERS_ENV = "ANYBENCH_WORKERS"
_START_METHOD = ("forkserver" if "forkserver" in multiprocessing.get_all_start_methods()
                 else "spawn")


@dataclass(frozen=True)
class MediaShape:
    """The shape every decoded item is brought to.

    Attributes:
        image_size: image side in pixels (images are ``[image_size, image_size, 3]``).
        sample_rate: audio samples per second.
        num_samples: audio clip length in samples.
    """

    image_size: int
    sample_rate: int
    num_samples: int


@dataclass
class _Decoded:
    """Rows ``start : start + len(images)`` of the arrays, and the problems found there."""

    start: int
    images: np.ndarray
    audio: np.ndarray
    problems: dict[str, list[int]] = field(default_factory=dict)


_Job = tuple[int, str | None, str | None]
"""One item to decode: ``(manifest line, image path or None, audio path or None)``."""


def decode_media(folder: Path, items: Sequence[ManifestItem], shape: MediaShape,
                 progress: bool = True, desc: str = "decoding") -> tuple[np.ndarray, np.ndarray]:
    """``(images uint8 [N, s, s, 3], audio float32 [N, num_samples])`` of ``items``, zeros
    where an item lacks the modality; raises :class:`~benchmark.data.manifest.BadData` naming
    every line whose file cannot be decoded (or holds no audio samples)."""
    jobs: list[_Job] = [(item.line, _path(item, "image"), _path(item, "audio")) for item in items]
    chunks = [(start, jobs[start:start + CHUNK]) for start in range(0, len(jobs), CHUNK)]
    images = np.zeros((len(jobs), shape.image_size, shape.image_size, 3), dtype=np.uint8)
    audio = np.zeros((len(jobs), shape.num_samples), dtype=np.float32)
    problems: dict[str, list[int]] = defaultdict(list)
    with tqdm(total=len(jobs), desc=desc, unit="item", disable=not progress) as bar:
        for decoded in _decode_chunks(folder, chunks, shape, worker_count()):
            rows = slice(decoded.start, decoded.start + len(decoded.images))
            images[rows], audio[rows] = decoded.images, decoded.audio
            for problem, lines in decoded.problems.items():
                problems[problem].extend(lines)
            bar.update(len(decoded.images))
    raise_first(folder, problems)
    return images, audio


def worker_count() -> int:
    """``$ANYBENCH_WORKERS`` if set, else the usable CPUs capped at :data:`MAX_WORKERS`."""
    text = os.environ.get(WORKERS_ENV)
    if text is None:
        return max(1, min(usable_cpus(), MAX_WORKERS))
    if not text.isdigit() or int(text) < 1:
        raise UserError(f"{WORKERS_ENV}={text!r} is not a positive whole number of worker "
                        "processes")
    return int(text)


def _path(item: ManifestItem, modality: str) -> str | None:
    value = item.media.get(modality)
    return value if isinstance(value, str) else None


def _decode_chunks(folder: Path, chunks: list[tuple[int, list[_Job]]], shape: MediaShape,
                   workers: int) -> Iterator[_Decoded]:
    """Each chunk decoded, in completion order. The first chunk is decoded here: its first
    item alone (it pays the one-time imports, e.g. scipy's when resampling), then the rest
    of it timed. The other chunks are decoded here too when one worker is allowed or they
    would take under :data:`POOL_WORTH_S` at that pace, else on a process pool that is shut
    down (pending chunks cancelled) however the loop ends."""
    if not chunks:
        return
    (start, jobs), rest = chunks[0], chunks[1:]
    yield _decode_chunk(folder, start, jobs[:1], shape)
    started = time.perf_counter()
    yield _decode_chunk(folder, start + 1, jobs[1:], shape)
    seconds_per_item = (time.perf_counter() - started) / max(1, len(jobs) - 1)
    estimate = seconds_per_item * sum(len(jobs) for _, jobs in rest)
    if workers <= 1 or len(rest) <= 1 or estimate < POOL_WORTH_S:
        for start, jobs in rest:
            yield _decode_chunk(folder, start, jobs, shape)
        return
    pool = ProcessPoolExecutor(min(workers, len(rest)),
                               mp_context=multiprocessing.get_context(_START_METHOD))
    done: set[int] = set()
    try:
        futures: list[Future[_Decoded]] = [
            pool.submit(_decode_chunk, folder, start, jobs, shape) for start, jobs in rest]
        for future in as_completed(futures):
            decoded = future.result()
            done.add(decoded.start)
            yield decoded
    except BrokenProcessPool:
        # Workers that cannot start (e.g. a __main__ read from stdin, which the forkserver
        # cannot re-import) cost speed, not the load: the rest is decoded here.
        print("[anybench] decoding worker processes failed to start; decoding in this "
              "process", file=sys.stderr, flush=True)
        for start, jobs in rest:
            if start not in done:
                yield _decode_chunk(folder, start, jobs, shape)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _decode_chunk(folder: Path, start: int, jobs: list[_Job], shape: MediaShape) -> _Decoded:
    """Decode one chunk (runs in a worker); a file that fails is a problem, not an error."""
    decoded = _Decoded(
        start,
        np.zeros((len(jobs), shape.image_size, shape.image_size, 3), dtype=np.uint8),
        np.zeros((len(jobs), shape.num_samples), dtype=np.float32),
    )
    problems: dict[str, list[int]] = defaultdict(list)
    for row, (line, image_path, audio_path) in enumerate(jobs):
        if image_path is not None:
            try:
                decoded.images[row] = load_image(folder / image_path, shape.image_size)
            except Exception:  # PIL raises many types for a file it cannot read
                problems[BAD_IMAGE].append(line)
        if audio_path is not None:
            try:
                mono, rate = read_audio(folder / audio_path)
            except Exception:  # soundfile's LibsndfileError, or a RuntimeError/TypeError
                problems[BAD_AUDIO].append(line)
                continue
            if len(mono) == 0:
                problems[EMPTY_AUDIO].append(line)
            else:
                decoded.audio[row] = conform_audio(mono, rate, shape.sample_rate,
                                                   shape.num_samples)
    decoded.problems = dict(problems)
    return decoded
