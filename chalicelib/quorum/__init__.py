"""Signature quorum engine: pure Python, no I/O, no AWS imports."""
