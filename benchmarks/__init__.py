"""Benchmarks and quality measurements, each run on its own: python -m benchmarks.<name>."""
