"""Beat times and tempo from a song's onset strength on the analysis grid (librosa's dynamic-programming
tracker), cheap on whole-song arrays."""

from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
import scipy.signal

from .feature import ANALYSIS_SR, GRID_SECONDS, HOP

# The beat tracker needs onsets this strong (the 99th percentile of the spectral flux, in dB averaged over the
# mel bands): a sustained drone or steady noise stays below ~0.7, any music with attacks is above ~4.
MIN_BEAT_ONSET = 1.5
# librosa's tempo estimate averages the autocorrelation of an 8 s window (its ac_size) centred on every analysis
# frame. Taken every TEMPO_STRIDE frames the average is the same (identical beats on 8 real songs) and 5-50x
# faster: librosa's per-frame tempogram took up to 7.6 s of a 4-minute song's analysis.
TEMPO_WINDOW = int(round(8.0 * ANALYSIS_SR / HOP))  # frames
TEMPO_STRIDE = 8


@dataclass(frozen=True)
class Beats:
    """Beat positions on the analysis grid and the tempo (beats per minute; 0 when there are no beats)."""

    tempo: float
    frames: np.ndarray

    @property
    def times(self) -> np.ndarray:
        return self.frames * GRID_SECONDS


def track_beats(onset: np.ndarray) -> Beats:
    """Beats of a song from its onset strength on the analysis grid (librosa's dynamic-programming tracker).

    onset : np.ndarray [shape=(n_grid,)]
    """
    if len(onset) < 8 or np.percentile(onset, 99) < MIN_BEAT_ONSET:
        return Beats(0.0, np.zeros(0, dtype=int))
    bpm = tempo_of(_tempogram(onset))
    tempo, frames = librosa.beat.beat_track(onset_envelope=onset, sr=ANALYSIS_SR, hop_length=HOP, bpm=bpm)
    tempo = float(np.atleast_1d(tempo)[0])
    frames = np.asarray(frames, dtype=int)
    return Beats(tempo if len(frames) > 1 else 0.0, frames)


def _tempogram(onset: np.ndarray) -> np.ndarray:
    """librosa's autocorrelation tempogram (Hann window, padded ends, each column scaled to max 1), with a column
    every ``TEMPO_STRIDE`` frames. Returns [shape=(window, n_columns)]."""
    padded = np.pad(np.asarray(onset, dtype=np.float64), TEMPO_WINDOW // 2, mode="linear_ramp")
    return tempogram_columns(librosa.util.frame(padded, frame_length=TEMPO_WINDOW, hop_length=TEMPO_STRIDE))


def tempogram_columns(windows: np.ndarray) -> np.ndarray:
    """librosa's tempogram columns of windows of onset strength [shape=(TEMPO_WINDOW, n)]: the autocorrelation of
    each Hann-weighted window, scaled to max 1."""
    autocorrelation = librosa.autocorrelate(windows * scipy.signal.get_window("hann", TEMPO_WINDOW)[:, None], axis=0)
    return librosa.util.normalize(autocorrelation, norm=np.inf, axis=0)


def tempo_of(tempogram: np.ndarray) -> float:
    """The tempo (beats per minute) that librosa reads from tempogram columns: their mean's peak, weighted by its
    prior (log-normal around 120 BPM, one octave wide)."""
    return float(librosa.feature.tempo(tg=tempogram, sr=ANALYSIS_SR, hop_length=HOP)[0])
