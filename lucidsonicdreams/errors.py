"""The package's exception classes.

Bad arguments raise the standard ``ValueError``, ``TypeError`` or ``FileNotFoundError``; problems with the
things the package works on (model files, downloads, the encoder) raise a subclass of
:class:`LucidSonicDreamsError`.
"""

from __future__ import annotations


class LucidSonicDreamsError(Exception):
    """Root of the package's own errors."""


class ModelFileError(LucidSonicDreamsError):
    """A style file that cannot be loaded: unknown format, damaged, or asking to run code."""


class DownloadError(LucidSonicDreamsError):
    """A style download that failed or did not verify."""


class AudioDecodeError(LucidSonicDreamsError):
    """An audio file that neither libsndfile nor ffmpeg can decode."""


class EncoderError(LucidSonicDreamsError):
    """ffmpeg failed while writing the video."""


class WorkerError(LucidSonicDreamsError):
    """A Ray worker failed to draw a segment, or was lost more often than it is restarted."""


# What a user's own input or setup can cause: reported as one line (the CLI, the web app), never as a traceback.
USER_ERRORS = (ValueError, TypeError, OSError, MemoryError, ImportError, LucidSonicDreamsError)
