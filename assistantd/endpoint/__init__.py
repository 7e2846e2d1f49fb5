"""Endpointing: VAD adapters (is_speech per frame) and the pure endpointer state machine."""
