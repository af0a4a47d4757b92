"""Audio file formats and subtypes the package writes (no imports: the command line checks
``--format`` / ``--subtype`` with it before loading numpy or soundfile)."""

#: File extensions :func:`dsp_separate.save` can write (soundfile major formats).
FORMATS = ("wav", "flac", "ogg", "aiff")

#: The subtypes written for each format; the first is the default.
SUBTYPES = {
    "wav": ("PCM_16", "PCM_24", "PCM_32", "PCM_U8", "FLOAT", "DOUBLE"),
    "flac": ("PCM_16", "PCM_24", "PCM_S8"),
    "ogg": ("VORBIS", "OPUS"),
    "aiff": ("PCM_16", "PCM_24", "PCM_32", "PCM_S8", "FLOAT", "DOUBLE"),
}
