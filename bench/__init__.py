"""Benchmarks: run one with `python bench/<name>.py`, all with `python -m bench`."""
