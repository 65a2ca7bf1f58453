"""Audio: files in, per-frame signals out.

:mod:`.decode` reads any file (soundfile, else ffmpeg); :mod:`.feature` computes framewise features on the
analysis grid; :mod:`.decompose` separates harmonic and percussive parts; :mod:`.beat` and :mod:`.segment` find
beats and sections; :mod:`.analysis` caches all of it per file; :mod:`.signals` routes the song and its stems to
the per-frame signals of one render; :mod:`.demo` synthesizes the demo song.
"""
