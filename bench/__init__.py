"""Benchmark data generator and harness (issue 6). See bench/README.md."""
