"""Benchmarks of issue 8: each runs its case and a baseline in the same run and prints the ratio.

`python -m benchmarks` runs all five at full size; `python -m benchmarks.<name> [--toy]` runs one.
They measure; they assert nothing about time, and nothing in `make test` depends on them.
"""
