"""Loop vs vectorised least-squares loss (chapter 01, experiment E3).

Prints the ratio of the two timings measured side by side in one run. Not a
test: timings depend on the machine and its load.
"""

import time

import numpy as np

from dlnotes.linreg import design_matrix, lsq_loss


def loss_loop(theta, Phi, y):
    total = 0.0
    for i in range(len(y)):
        r = y[i] - (theta[0] * Phi[i, 0] + theta[1] * Phi[i, 1])
        total += r * r
    return total / (2 * len(y))


def best_of(f, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = f()
        times.append(time.perf_counter() - t0)
    return min(times), value


def main(n: int = 100_000) -> None:
    rng = np.random.default_rng(0)
    Phi = design_matrix(rng.uniform(500, 2000, n))
    y = 1.5 * Phi[:, 1] + 300 + 300 * rng.standard_normal(n)
    theta = np.array([300.0, 1.5])
    t_loop, v_loop = best_of(lambda: loss_loop(theta, Phi, y), 3)
    t_vec, v_vec = best_of(lambda: lsq_loss(theta, Phi, y), 50)
    assert abs(v_loop - v_vec) <= 1e-10 * v_vec, (v_loop, v_vec)
    print(f"lsq loss, N = {n:,}: loop {1e3 * t_loop:.1f} ms, vectorised {1e3 * t_vec:.3f} ms, "
          f"ratio {t_loop / t_vec:.0f}x")


if __name__ == "__main__":
    main()
