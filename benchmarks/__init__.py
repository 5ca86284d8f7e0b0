"""Throughput benchmarks (make bench); not part of the library."""
