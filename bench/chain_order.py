"""Benchmark for chapter 02: evaluation order of the chain rule, and one matrix
product versus a loop of outer products. Prints ratios (not a test).

Run: .venv/bin/python bench/chain_order.py
"""

import time

import numpy as np

from dlnotes import matcalc


def best_time(fn, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    rng = np.random.default_rng(0)
    print("chain of 20 n x n Jacobians: time left-to-right / right-to-left (best of 3)")
    for n in (200, 500, 1000):
        Js = [rng.standard_normal((n, n)) / np.sqrt(n) for _ in range(20)]
        g = rng.standard_normal(n)
        t_rev = best_time(lambda: matcalc.chain_grad(Js, g, order="reverse"))
        t_fwd = best_time(lambda: matcalc.chain_grad(Js, g, order="forward"))
        print(f"  n = {n:4d}: right-to-left {1e3 * t_rev:8.2f} ms, left-to-right "
              f"{1e3 * t_fwd:8.2f} ms, ratio {t_fwd / t_rev:6.1f}")
    N = 10_000
    G, X = rng.standard_normal((N, 10)), rng.standard_normal((N, 20))
    t_loop = best_time(lambda: matcalc.sum_outer_products(G, X), repeats=1)
    t_mat = best_time(lambda: G.T @ X)
    print(f"weight gradient, N = {N}: loop of outer products {1e3 * t_loop:.1f} ms, "
          f"G^T X {1e3 * t_mat:.2f} ms, ratio {t_loop / t_mat:.0f}")


if __name__ == "__main__":
    main()
