"""Signature orders: use cases around the quorum engine, expressed against ports."""
