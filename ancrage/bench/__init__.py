"""Synthetic territories for the benchmarks; the harness itself lives in ``bench/``."""
