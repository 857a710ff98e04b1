"""Timing shared by the benchmark scripts here."""
import time


def best_of_3(fn, rows):
    """Rows per second of ``fn`` (which explains ``rows`` rows): one warm-up call, then the
    best of three timed calls."""
    fn()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return rows / best
