"""Benchmarks: timed runs that are not tests. Run them with ``python -m benchmarks.run``."""
