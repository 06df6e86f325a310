"""Benchmarks: each prints its figures and a one-line summary with its target."""
