"""Recognizers: vendor-neutral events, one sans-I/O codec per vendor, a registry and one transport."""
