"""A causal analysis of live sound: fed blocks of samples as they arrive, it reports every analysis frame
(``HOP`` samples, ~11.6 ms) from the past alone.

What an offline render computes over the whole song, this computes with one-sided windows: block-wise spectra;
onsets from spectral flux against an adaptive threshold; the loudest mel band of the sound and of its harmonic
and percussive parts (a median split that looks back only); the same noise floor as offline; STFT chroma and
MFCCs; and a tempo and beat-phase tracker (offline's tempogram and librosa's dynamic programme, run forward) that
predicts the next beat, so that a hit can be drawn on the beat rather than after it. Scaling to [0, 1] over the
last seconds, the sections and the vectors are the live engine's part.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import librosa
import numpy as np
from scipy.ndimage import median_filter

from ..audio.beat import MIN_BEAT_ONSET, TEMPO_WINDOW, tempo_of, tempogram_columns
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
# 93 ms window of the chroma would see it only when it reaches the window's middle.
ONSET_N_FFT = 1024
ONSET_MELS = 64
# The levels (pulse and motion) are measured on a shorter window still (23 ms), for the same reason: offline, a
# frame's window is centred on it, but a live one ends at the newest sample. On 2048 samples the pulse came 46 ms
# after the sound, when the offline pulse had long risen: on a song with drums the frames then changed least where
# the onsets were strongest (r -0.13, offline +0.14, with the pulse and motion alone; +0.22 on 512 samples).
LEVEL_N_FFT = 512
# The flux must rise this far above its median over the last THRESHOLD_SECONDS, and onsets are at least
# REFRACTORY_SECONDS apart (a click is one onset, not three).
THRESHOLD_SECONDS = 1.0
THRESHOLD_FACTOR = 1.5
THRESHOLD_FLOOR = 0.5  # dB of mean flux: less is noise whatever the music around it
REFRACTORY_SECONDS = 0.08
# Onset strength reads 1 at the loudest recent onset; that reference falls by half every PEAK_HALF_LIFE seconds.
PEAK_HALF_LIFE = 8.0
# The harmonic/percussive split: a median over the last SPLIT_FRAMES frames (harmonic: what lasts) against one
# over SPLIT_BINS neighbouring bins (percussive: what is broadband; 730 Hz on the level window, offline's spans
# 335 Hz).
SPLIT_FRAMES = 17
SPLIT_BINS = 17
# The tempo: every TEMPO_EVERY seconds the tempogram column of the last 8 s of onset strength (offline's, on the
# analysis window) joins a running mean that forgets half its weight every TEMPO_HALF_LIFE seconds; its peak under
# librosa's prior is the tempo, as the whole song's mean is offline. Beats are followed only while the onsets of
# those 8 s are as strong as offline asks of a whole song (audio.beat.MIN_BEAT_ONSET).
TEMPO_EVERY = 0.25
TEMPO_MIN_SECONDS = 2.0
TEMPO_HALF_LIFE = 30.0
# The beat phase: librosa's dynamic programme (a beat's score is its onset plus the best score one period back,
# less TIGHTNESS times the squared log-ratio of the gap to the period), run forward only. The last beat is where
# the score peaked within the last period, and the next is a period after it.
# That prediction is made again only SETTLE_FRAMES after each predicted beat (when its onset has been heard), so
# a beat once predicted comes, and a loud off-beat moves the next beat rather than the one due.
SETTLE_FRAMES = 3
TIGHTNESS = 100.0
NORM_SECONDS = 8.0  # the onsets are scaled by their spread over this long, as offline over the song

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
        self._mel = mel_basis(min(n_mels, MAX_MELS), LEVEL_N_FFT).astype(np.float64)
        self._level_hann = np.hanning(LEVEL_N_FFT + 1)[:-1].astype(np.float32)
        self._onset_mel = mel_basis(ONSET_MELS, ONSET_N_FFT).astype(np.float64)
        self._chroma = librosa.filters.chroma(sr=ANALYSIS_SR, n_fft=N_FFT)
        self._floor_db = full_scale_mel_db(ONSET_MELS, ONSET_N_FFT) - ONSET_RANGE_DB  # inaudible adds nothing
        self._history = deque(maxlen=SPLIT_FRAMES)  # magnitudes of the last frames, for the harmonic median
        self._last_mel_db: np.ndarray | None = None
        self._last_level_db: np.ndarray | None = None
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
        level_magnitude = np.abs(np.fft.rfft(window[-LEVEL_N_FFT:] * self._level_hann))
        level_power = level_magnitude**2
        self._history.append(level_magnitude)
        harmonic = np.median(np.stack(self._history), axis=0)
        percussive = median_filter(level_magnitude, size=SPLIT_BINS, mode="reflect")  # across the bins, as offline
        h2, p2 = harmonic**2, percussive**2
        total = np.maximum(h2 + p2, 1e-20)
        amplitude = float((self._mel @ level_power).max())
        harmonic_level = float((self._mel @ (level_power * h2 / total)).max())
        percussive_level = float((self._mel @ (level_power * p2 / total)).max())
        chroma = self._chroma @ power
        chroma = chroma / chroma.max() if gate > 0 and chroma.max() > 0 else np.zeros(12)
        level_db = log_mel(power[:, None])
        timbre = librosa.feature.mfcc(S=level_db, n_mfcc=13)[:, 0]
        # Offline's onset strength, on the same window and bands: the beat tracker's tempo and gate.
        level_flux = 0.0 if self._last_level_db is None else float(np.maximum(level_db - self._last_level_db,
                                                                                0).mean())
        self._last_level_db = level_db

        short = window[-ONSET_N_FFT:] * self._onset_hann
        mel_db = np.maximum(librosa.power_to_db(self._onset_mel @ np.abs(np.fft.rfft(short)) ** 2, ref=1.0,
                                                amin=1e-20, top_db=None), self._floor_db)
        flux = 0.0 if self._last_mel_db is None else float(np.maximum(mel_db - self._last_mel_db, 0).mean())
        self._last_mel_db = mel_db
        onset = self._onset(flux)
        self.beats.add(flux, level_flux)
        return LiveFrame(time, gate, amplitude, percussive_level, harmonic_level, flux, onset, chroma, timbre,
                         self.beats.tempo, self.beats.next_beat())

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
    """Tempo and beat phase from the onsets heard so far, fed one analysis frame at a time: the tempo as offline
    reads it from a song's tempogram, over a running mean of the recent tempogram; the beats by librosa's dynamic
    programme run forward, so the latest beat is the best path's end and the next one is a period later."""

    def __init__(self) -> None:
        self._level = deque(maxlen=TEMPO_WINDOW)  # offline's onset strength
        self._recent = deque(maxlen=int(round(NORM_SECONDS / GRID)))  # the onsets the phase follows
        self._score = deque(maxlen=2 * TEMPO_WINDOW + 1)  # the programme's cumulative score, newest last
        self._tempogram = np.zeros(TEMPO_WINDOW)
        self._weight = 0.0
        self._frames = 0
        self._next: float | None = None  # the time of the next beat, as predicted at the last one
        self.lag = 0  # the period in whole frames, as the programme steps; 0 until there is a beat to follow
        self.period = 0.0  # seconds, to a fraction of a frame

    @property
    def tempo(self) -> float:
        return 60.0 / self.period if self.period else 0.0

    def add(self, flux: float, level_flux: float) -> None:
        """One analysis frame's spectral flux (on the onset window) and offline's onset strength."""
        self._frames += 1
        self._level.append(level_flux)
        if self._frames * GRID >= TEMPO_MIN_SECONDS and self._frames % int(round(TEMPO_EVERY / GRID)) == 0:
            self._estimate()
        self._recent.append(flux)
        spread = float(np.std(self._recent, ddof=1)) if len(self._recent) > 1 else 0.0
        score = flux / spread if spread > 0 else 0.0
        if self.lag and self._score:
            history = np.fromiter(self._score, dtype=np.float64, count=len(self._score))
            gaps = np.arange(int(round(self.lag / 2)), min(2 * self.lag, len(history)) + 1)
            if len(gaps):
                score += float(np.max(history[-gaps] - TIGHTNESS * np.log(gaps / self.lag) ** 2))
        self._score.append(score)
        if not self.lag:
            self._next = None
        elif self._next is None or self._frames * GRID >= self._next + SETTLE_FRAMES * GRID:
            # The beat just past is where the best path now ends (within the last period), heard or not; its sound
            # began within the hop before the frame that heard it, half a hop earlier on average.
            recent = np.fromiter(self._score, dtype=np.float64, count=len(self._score))[-self.lag:]
            beat = (self._frames - (len(recent) - 1 - int(np.argmax(recent))) - 0.5) * GRID
            self._next = beat + self.period * max(1, np.ceil((self._frames * GRID - beat) / self.period))

    def next_beat(self) -> float | None:
        """The predicted time of the next beat after the newest frame."""
        if self._next is None:
            return None
        now = self._frames * GRID
        return self._next + (self.period if self._next <= now else 0.0)

    def _estimate(self) -> None:
        decay = 0.5 ** (TEMPO_EVERY / TEMPO_HALF_LIFE)
        self._tempogram *= decay
        self._weight *= decay
        if np.percentile(self._level, 99) < MIN_BEAT_ONSET:  # no beat to follow now (the mean is kept for later)
            self.lag, self.period = 0, 0.0
            return
        window = np.zeros(TEMPO_WINDOW)
        window[-len(self._level):] = self._level
        self._tempogram += tempogram_columns(window[:, None])[:, 0]
        self._weight += 1.0
        tempogram = self._tempogram / self._weight
        self.lag = int(round(60.0 / tempo_of(tempogram[:, None]) / GRID))
        # A parabola through the peak and its neighbours: the period to a fraction of a frame.
        a, b, c = tempogram[self.lag - 1 : self.lag + 2] if 0 < self.lag < TEMPO_WINDOW - 1 else (0.0, 1.0, 0.0)
        shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
        self.period = (self.lag + float(np.clip(shift, -0.5, 0.5))) * GRID
