"""Benchmarks of the skips API: run by hand (see README.md), never by the test suite."""
