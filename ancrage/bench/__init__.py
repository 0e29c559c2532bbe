"""Synthetic territories for the benchmarks (issue 8); the harness itself lives in ``bench/``."""
