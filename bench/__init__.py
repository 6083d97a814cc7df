"""Benchmarks of Commons against this machine's own ceilings (issue #6); run with ``make bench``."""
