"""A causal analysis of live sound: fed blocks of samples as they arrive, it reports every analysis frame
(``HOP`` samples, ~11.6 ms) from the past alone.

What an offline render computes over the whole song, this computes with one-sided windows: block-wise spectra;
onsets from spectral flux against an adaptive threshold; the loudest mel band of the sound and of its harmonic
and percussive parts (a median split that looks back only); the same noise floor as offline; STFT chroma and
MFCCs; and a tempo and beat-phase tracker that predicts the next beat, so that a hit can be drawn on the beat
rather than after it. Scaling to [0, 1] over the last seconds, the sections and the vectors are the live
engine's part.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import librosa
import numpy as np
from scipy.ndimage import median_filter

from ..audio.feature import (
    ANALYSIS_SR,
    HOP,
    MAX_MELS,
    N_FFT,
    ONSET_RANGE_DB,
    full_scale_mel_db,
    log_mel,
    mel_basis,
    silence_gate,
)

GRID = HOP / ANALYSIS_SR  # seconds between analysis frames
# Onsets are found on a short window (46 ms): an attack shows in the flux within a hop or two of arriving; the
# 93 ms window of the levels and chroma would see it only when it reaches the window's middle.
ONSET_N_FFT = 1024
ONSET_MELS = 64
# The flux must rise this far above its median over the last THRESHOLD_SECONDS, and onsets are at least
# REFRACTORY_SECONDS apart (a click is one onset, not three).
THRESHOLD_SECONDS = 1.0
THRESHOLD_FACTOR = 1.5
THRESHOLD_FLOOR = 0.5  # dB of mean flux: less is noise whatever the music around it
REFRACTORY_SECONDS = 0.08
# Onset strength reads 1 at the loudest recent onset; that reference falls by half every PEAK_HALF_LIFE seconds.
PEAK_HALF_LIFE = 8.0
# The harmonic/percussive split: a median over the last SPLIT_FRAMES frames (harmonic: what lasts) against one
# over SPLIT_BINS neighbouring bins (percussive: what is broadband).
SPLIT_FRAMES = 17
SPLIT_BINS = 17
# The beat tracker looks at the last TEMPO_WINDOW seconds of flux, every TEMPO_EVERY seconds, for a tempo
# between these bounds (librosa's prior: log-normal around 120 BPM, one octave wide).
TEMPO_WINDOW = 8.0
TEMPO_EVERY = 0.25
TEMPO_MIN_SECONDS = 2.0
BPM_RANGE = (60.0, 200.0)
PRIOR_BPM, PRIOR_OCTAVES = 120.0, 1.0
# Where the pulse twice as fast scores at least this share of the best, it is the beat (a steady pulse correlates
# at every multiple of its period; the prior alone can pick the slower one).
OCTAVE_SHARE = 0.8
# An onset this close to a predicted beat (as a share of the period) pulls the beat phase towards it.
LOCK_SHARE = 0.2
LOCK_GAIN = 0.5


@dataclass(frozen=True)
class LiveFrame:
    """One analysis frame: its time (seconds of input up to its newest sample) and what was heard by then."""

    time: float
    gate: float  # 0 below the noise floor, 1 from NOISE_FLOOR_RAMP_DB above it
    amplitude: float  # loudest mel band's power: the whole sound
    percussive: float  # ... of its percussive part
    harmonic: float  # ... of its harmonic part
    flux: float  # spectral flux (mean dB rise over the mel bands)
    onset: float  # 0, or the strength in (0, 1] of an onset found in this frame
    chroma: np.ndarray  # [shape=(12,)], strongest pitch 1 (zeros in silence)
    timbre: np.ndarray  # [shape=(13,)] MFCCs of the log-mel spectrum, as offline
    tempo: float  # beats per minute, 0 until there is a beat to follow
    next_beat: float | None  # predicted time of the next beat after ``time``


class CausalAnalysis:
    """Feed it samples (mono float32, any block size) at ``sample_rate``; :meth:`feed` returns the analysis
    frames completed by them. The same samples in any blocks give the same frames."""

    def __init__(self, sample_rate: int = ANALYSIS_SR, n_mels: int = 128) -> None:
        self.sample_rate = int(sample_rate)
        self._resampler = None
        if self.sample_rate != ANALYSIS_SR:
            import soxr

            self._resampler = soxr.ResampleStream(self.sample_rate, ANALYSIS_SR, 1, dtype="float32")
        self._window = np.zeros(N_FFT, np.float32)  # the newest N_FFT samples
        self._pending = np.zeros(0, np.float32)  # samples not yet making up a hop
        self._hann = np.hanning(N_FFT + 1)[:-1].astype(np.float32)  # librosa's periodic Hann
        self._onset_hann = np.hanning(ONSET_N_FFT + 1)[:-1].astype(np.float32)
        # In float64, as the spectra are: a float32 bank is converted again on every product (3 ms a hop at 512).
        self._mel = mel_basis(min(n_mels, MAX_MELS)).astype(np.float64)
        self._onset_mel = mel_basis(ONSET_MELS, ONSET_N_FFT).astype(np.float64)
        self._chroma = librosa.filters.chroma(sr=ANALYSIS_SR, n_fft=N_FFT)
        self._floor_db = full_scale_mel_db(ONSET_MELS, ONSET_N_FFT) - ONSET_RANGE_DB  # inaudible adds nothing
        self._history = deque(maxlen=SPLIT_FRAMES)  # magnitudes of the last frames, for the harmonic median
        self._last_mel_db: np.ndarray | None = None
        self._recent_flux = deque(maxlen=max(1, int(round(THRESHOLD_SECONDS / GRID))))
        self._peak = 0.0
        self._since_onset = np.inf
        self._frames = 0
        self.beats = BeatTracker()

    def feed(self, samples: np.ndarray) -> list[LiveFrame]:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if self._resampler is not None:
            samples = self._resampler.resample_chunk(samples)
        self._pending = np.concatenate([self._pending, samples])
        frames = []
        while len(self._pending) >= HOP:
            hop, self._pending = self._pending[:HOP], self._pending[HOP:]
            self._window = np.concatenate([self._window[HOP:], hop])
            frames.append(self._frame())
        return frames

    def _frame(self) -> LiveFrame:
        self._frames += 1
        time = self._frames * GRID
        window = self._window
        magnitude = np.abs(np.fft.rfft(window * self._hann))
        power = magnitude**2
        gate = float(silence_gate(power[:, None])[0])  # offline's, on the same windowed spectrum
        self._history.append(magnitude)
        harmonic = np.median(np.stack(self._history), axis=0)
        percussive = median_filter(magnitude, size=SPLIT_BINS, mode="reflect")  # as offline, across the bins
        h2, p2 = harmonic**2, percussive**2
        total = np.maximum(h2 + p2, 1e-20)
        amplitude = float((self._mel @ power).max())
        harmonic_level = float((self._mel @ (power * h2 / total)).max())
        percussive_level = float((self._mel @ (power * p2 / total)).max())
        chroma = self._chroma @ power
        chroma = chroma / chroma.max() if gate > 0 and chroma.max() > 0 else np.zeros(12)
        timbre = librosa.feature.mfcc(S=log_mel(power[:, None]), n_mfcc=13)[:, 0]

        short = window[-ONSET_N_FFT:] * self._onset_hann
        mel_db = np.maximum(librosa.power_to_db(self._onset_mel @ np.abs(np.fft.rfft(short)) ** 2, ref=1.0,
                                                amin=1e-20, top_db=None), self._floor_db)
        flux = 0.0 if self._last_mel_db is None else float(np.maximum(mel_db - self._last_mel_db, 0).mean())
        self._last_mel_db = mel_db
        onset = self._onset(flux)
        self.beats.add(time, flux, onset > 0)
        return LiveFrame(time, gate, amplitude, percussive_level, harmonic_level, flux, onset, chroma, timbre,
                         self.beats.tempo, self.beats.next_beat(time))

    def _onset(self, flux: float) -> float:
        """The strength of an onset in this frame, or 0: the flux above its recent median (times
        THRESHOLD_FACTOR, and above THRESHOLD_FLOOR), no sooner than REFRACTORY_SECONDS after the last."""
        threshold = max(THRESHOLD_FACTOR * float(np.median(self._recent_flux)) if self._recent_flux else 0.0,
                        THRESHOLD_FLOOR)
        self._recent_flux.append(flux)
        self._peak *= 0.5 ** (GRID / PEAK_HALF_LIFE)
        self._since_onset += GRID
        if flux <= threshold or self._since_onset < REFRACTORY_SECONDS:
            return 0.0
        self._since_onset = 0.0
        self._peak = max(self._peak, flux)
        return float(np.clip(flux / self._peak, 1e-3, 1.0))


class BeatTracker:
    """Tempo and beat phase from the recent flux: every TEMPO_EVERY seconds the autocorrelation of the last
    TEMPO_WINDOW seconds (weighted by a tempo prior) gives the period, and the comb of that period that best
    fits the flux gives the phase; onsets near a predicted beat then pull the phase towards them."""

    def __init__(self) -> None:
        self._flux = deque(maxlen=int(round(TEMPO_WINDOW / GRID)))
        self._since_estimate = 0.0
        self.period = 0.0  # seconds; 0 until a tempo is found
        self.last_beat = 0.0  # time of the latest beat (heard or predicted)

    @property
    def tempo(self) -> float:
        return 60.0 / self.period if self.period else 0.0

    def add(self, time: float, flux: float, onset: bool) -> None:
        self._flux.append(flux)
        self._since_estimate += GRID
        if len(self._flux) * GRID >= TEMPO_MIN_SECONDS and self._since_estimate >= TEMPO_EVERY:
            self._since_estimate = 0.0
            self._estimate(time)
        if onset and self.period:
            # The beat nearest this onset, whether it was predicted just before or is due just after.
            beat = self.last_beat + round((time - self.last_beat) / self.period) * self.period
            error = time - beat
            if abs(error) <= LOCK_SHARE * self.period:
                self.last_beat = beat + LOCK_GAIN * error

    def next_beat(self, time: float) -> float | None:
        """The first predicted beat after ``time``."""
        if not self.period:
            return None
        beats_ahead = np.floor((time - self.last_beat) / self.period) + 1
        return self.last_beat + beats_ahead * self.period

    def _estimate(self, time: float) -> None:
        flux = np.asarray(self._flux, dtype=np.float64)
        flux = flux - flux.mean()
        if not np.any(flux > 0):
            return
        # Slightly smoothed: a period that falls between two frames still makes one clear peak.
        ac = librosa.autocorrelate(np.convolve(flux, [0.25, 0.5, 0.25], mode="same"))
        lags = np.arange(len(ac)) * GRID
        usable = (lags >= 60.0 / BPM_RANGE[1]) & (lags <= 60.0 / BPM_RANGE[0])
        if not np.any(usable) or ac[0] <= 0:
            return
        bpm = 60.0 / np.maximum(lags, 1e-9)
        prior = np.exp(-0.5 * (np.log2(bpm / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
        score = np.where(usable, ac / ac[0] * prior, -np.inf)
        lag = int(np.argmax(score))
        if score[lag] <= 0.05:  # no periodicity worth following
            return
        half = int(round(lag / 2))
        if usable[half] and score[max(half - 1, 0) : half + 2].max() >= OCTAVE_SHARE * score[lag]:
            lag = max(half - 1, 0) + int(np.argmax(score[max(half - 1, 0) : half + 2]))  # the faster pulse
        # A parabola through the peak and its neighbours: the period to a fraction of a frame.
        if 0 < lag < len(ac) - 1:
            a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
            shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
        else:
            shift = 0.0
        period = (lag + float(np.clip(shift, -0.5, 0.5))) * GRID
        # The phase: the offset whose comb of beats back from now collects the most flux.
        n = len(flux)
        offsets = np.arange(max(1, int(round(period / GRID))))
        comb = [flux[(n - 1 - np.round(o + np.arange(0, n - o, period / GRID)).astype(int)).clip(0, n - 1)].sum()
                for o in offsets]
        best = int(np.argmax(comb))
        newest = time - best * GRID
        if self.period and abs(period - self.period) < 0.05 * self.period:
            # The same tempo as before: keep following the locked phase unless the comb disagrees by much.
            predicted = self.last_beat + round((newest - self.last_beat) / period) * period
            if abs(newest - predicted) < LOCK_SHARE * period:
                self.period = period
                return
        self.period, self.last_beat = period, newest
