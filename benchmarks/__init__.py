"""Benchmarks of the engine, each run as a module: python -m benchmarks.<name>."""
