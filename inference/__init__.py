"""Candor's rendering engine: a plain library (no Django) from portrait + speech to frames and MP4."""
