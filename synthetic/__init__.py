"""Generators of synthetic data for tests and benchmarks: not part of the product (not in the wheel)."""
