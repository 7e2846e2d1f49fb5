"""assistantd: an always-on voice assistant daemon for Raspberry Pi."""

__version__ = "0.1.0"
