"""Audio: frames and formats (pure), capture sources (pyaudio, file, stdin) and resampling."""
