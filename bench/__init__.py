"""Benchmarks of `make bench` (`python -m bench`); bench/workload.py is shared with the tests."""
