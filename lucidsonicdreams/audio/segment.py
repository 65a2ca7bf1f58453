"""Song sections and their boundaries, from per-beat chroma and timbre.

Sections follow McFee & Ellis's Laplacian segmentation ("Analyzing song structure with spectral clustering",
ISMIR 2014), built from librosa's parts; small whole-song arrays, so memory stays flat however long the song.
"""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
import scipy.linalg
import scipy.ndimage
import scipy.signal
import scipy.sparse.csgraph

from .beat import Beats
from .feature import GRID_SECONDS

# Sections are found on a regular grid of this step (robust where beat tracking is not), then moved to the
# nearest beat.
SECTION_STEP_SECONDS = 0.5
MIN_SECTION_SECONDS = 4.0
MAX_SECTIONS = 12
# Adjacent sections must differ by at least this many pooled standard deviations (with an absolute noise scale
# per feature) in their mean chroma and timbre, so that a drone, silence or noise stays one section.
MIN_SECTION_CONTRAST = 0.8
_FEATURE_NOISE = 0.05
# MFCCs are in dB: divided by this, a timbre change weighs like a chord change.
TIMBRE_SCALE = 10.0


@dataclass(frozen=True)
class Sections:
    """A song's sections: the grid frame where each one after the first starts, and every section's label ("A",
    "B", ... in order of first appearance): sections with the same label are the same kind of music."""

    boundaries: np.ndarray
    labels: tuple[str, ...]


def song_sections(chroma: np.ndarray, timbre: np.ndarray, beats: Beats) -> Sections:
    """Sections from chroma and timbre, their starts moved onto beats, and labelled by the cluster most of each
    one's steps fall in.

    chroma : np.ndarray [shape=(12, n_grid)], silence = 0
    timbre : np.ndarray [shape=(d, n_grid)], e.g. MFCCs of the log-mel spectrogram in dB
    """
    n_grid = chroma.shape[1]
    step = max(1, int(round(SECTION_STEP_SECONDS / GRID_SECONDS)))
    marks = np.arange(step, n_grid, step)
    if len(marks) < 8:
        return Sections(np.zeros(0, dtype=int), ("A",))
    starts = np.concatenate([[0], marks])
    features = np.vstack([chroma, timbre / TIMBRE_SCALE])
    synced = librosa.util.sync(features, marks, aggregate=np.median)
    labels = _laplacian_labels(synced[:12], synced[12:])
    cuts = _merge_short([0] + [i for i in range(1, len(labels)) if labels[i] != labels[i - 1]], starts, n_grid)
    cuts = _drop_weak(cuts, synced, len(labels))
    clusters = [int(np.bincount(labels[lo:hi]).argmax()) for lo, hi in zip(cuts, cuts[1:] + [len(labels)])]
    letters: dict[int, str] = {}
    for cluster in clusters:
        letters.setdefault(cluster, _letter(len(letters)))
    boundaries = starts[cuts[1:]].astype(int)
    if len(beats.frames):
        # A section starts on the nearest beat, when one is within half a step.
        nearest = beats.frames[np.argmin(np.abs(beats.frames[None, :] - boundaries[:, None]), axis=1)]
        boundaries = np.where(np.abs(nearest - boundaries) <= step / 2, nearest, boundaries)
    return Sections(boundaries, tuple(letters[c] for c in clusters))


def section_boundaries(chroma: np.ndarray, timbre: np.ndarray, beats: Beats) -> np.ndarray:
    """Grid frames where a new section starts (never 0): :func:`song_sections` without the labels.
    Returns np.ndarray [shape=(n_boundaries,)] of grid frames, ascending."""
    return song_sections(chroma, timbre, beats).boundaries


def _letter(index: int) -> str:
    """A, B, ..., Z, then A2, B2, ..."""
    return chr(ord("A") + index % 26) + (str(index // 26 + 1) if index >= 26 else "")


def _laplacian_labels(chroma: np.ndarray, timbre: np.ndarray) -> np.ndarray:
    """Cluster beats into sections by spectral clustering of a recurrence graph (harmony) joined with a path
    graph (timbre continuity); the number of sections comes from the largest eigengap."""
    from sklearn.cluster import KMeans

    n = chroma.shape[1]
    if np.allclose(chroma, chroma[:, :1]) and np.allclose(timbre, timbre[:, :1]):
        return np.zeros(n, dtype=int)
    stacked = np.vstack([chroma, timbre])
    try:
        recurrence = librosa.segment.recurrence_matrix(stacked, width=3, mode="affinity", sym=True)
    except librosa.ParameterError:  # (nearly) all frames alike: nothing to segment
        return np.zeros(n, dtype=int)
    recurrence = librosa.segment.timelag_filter(scipy.ndimage.median_filter)(recurrence, size=(1, 7))
    path_distance = np.sum(np.diff(stacked, axis=1) ** 2, axis=0)
    sigma = np.median(path_distance)
    path_sim = np.exp(-path_distance / sigma) if sigma > 0 else np.ones_like(path_distance)
    path = np.diag(path_sim, k=1) + np.diag(path_sim, k=-1)
    deg_path, deg_rec = path.sum(axis=1), recurrence.sum(axis=1)
    mu = deg_path.dot(deg_path + deg_rec) / max(np.sum((deg_path + deg_rec) ** 2), 1e-12)
    graph = mu * recurrence + (1 - mu) * path
    laplacian = scipy.sparse.csgraph.laplacian(graph, normed=True)
    evals, evecs = scipy.linalg.eigh(laplacian)
    evecs = scipy.ndimage.median_filter(evecs, size=(9, 1))
    k_max = int(min(MAX_SECTIONS, max(1, n // 8)))
    gaps = np.diff(evals[: k_max + 1])
    k = int(np.argmax(gaps)) + 1 if len(gaps) else 1
    if k == 1:
        return np.zeros(n, dtype=int)
    norm = np.sqrt(np.cumsum(evecs**2, axis=1))[:, k - 1 : k]
    points = evecs[:, :k] / np.maximum(norm, 1e-12)
    return KMeans(n_clusters=k, n_init=10, random_state=0).fit_predict(points)


def _merge_short(cuts: list[int], starts: np.ndarray, n_grid: int) -> list[int]:
    """Drop boundaries (indices into ``starts``) until every section lasts ``MIN_SECTION_SECONDS``."""
    min_frames = MIN_SECTION_SECONDS / GRID_SECONDS
    cuts = list(cuts)
    while len(cuts) > 1:
        ends = [starts[c] for c in cuts[1:]] + [n_grid]
        lengths = [e - starts[c] for c, e in zip(cuts, ends)]
        shortest = int(np.argmin(lengths))
        if lengths[shortest] >= min_frames:
            break
        # Join the shortest section to the shorter of its neighbours.
        if shortest == 0:
            del cuts[1]
        elif shortest == len(cuts) - 1 or lengths[shortest - 1] <= lengths[shortest + 1]:
            del cuts[shortest]
        else:
            del cuts[shortest + 1]
    return cuts


def _drop_weak(cuts: list[int], synced: np.ndarray, n: int) -> list[int]:
    """Remove boundaries between sections that do not really differ, weakest first."""
    cuts = list(cuts)
    while len(cuts) > 1:
        bounds = cuts + [n]
        contrasts = []
        for j in range(1, len(cuts)):
            contrasts.append(section_contrast(synced[:, bounds[j - 1] : bounds[j]],
                                              synced[:, bounds[j] : bounds[j + 1]]))
        weakest = int(np.argmin(contrasts))
        if contrasts[weakest] >= MIN_SECTION_CONTRAST:
            break
        del cuts[weakest + 1]
    return cuts


def section_contrast(left: np.ndarray, right: np.ndarray) -> float:
    """How far apart two stretches' mean features are, in pooled standard deviations (with an absolute noise
    scale per feature). left, right : [shape=(d, n)] pooled chroma and timbre (MFCCs / 10)."""
    spread = 0.5 * (left.var(axis=1) + right.var(axis=1)) + _FEATURE_NOISE**2
    return float(np.sqrt(np.mean((left.mean(axis=1) - right.mean(axis=1)) ** 2 / spread)))
