"""Fake vendor servers that implement protocols.md strictly.

Each runs standalone: python -m tests.fakes.<vendor> --port P --transcript TEXT.
"""
