"""Tests of the explorers of chapters 04 and 05: gradient descent and the optimizer race."""

import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlnotes import widgets
from tools import assert_refused, live_controls, new_ax as _ax, shown_after, visible_panels


def gd_steps_closed_form(lr, lam=(1.0, 10.0), start=(1.0, 1.0), tol=1e-10, max_steps=1500):
    """Updates until L < tol for GD on diag(lam): coordinate i is (1 - lr lam_i)^t start_i."""
    t = np.arange(max_steps + 1)[:, None]
    x = (1 - lr * np.array(lam)) ** t * np.array(start)
    L = 0.5 * (np.array(lam) * x**2).sum(axis=1)
    below = np.flatnonzero(L < tol)
    return (int(below[0]) if below.size else None), x, L


def rotation(degrees):
    r = math.radians(degrees)
    return np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]])


# --- chapter 04: gradient descent ----------------------------------------------------------


def test_descent_static_is_four_paths_and_a_loss_panel(static, quiet):
    plt.close("all")
    fig = widgets.descent_explorer()
    assert fig.number not in plt.get_fignums()
    panels = visible_panels(fig)
    assert len(panels) == 5
    assert fig.get_size_inches()[0] <= 12
    for ax, lr in zip(panels[:4], widgets.DESCENT_LRS):
        steps, _, _ = gd_steps_closed_form(lr)
        title = ax.get_title()
        assert title.startswith(f"η = {lr:g}\n")
        if lr > 2 / 10:  # beyond 2 / lambda_max
            assert title.endswith("diverges") and steps is None
        else:
            assert title.endswith(f"{steps} steps to L < 1e-10")
    assert [int(re.search(r"\n(\d+) steps", ax.get_title())[1]) for ax in panels[:3]] == \
        [1112, 106, 117]  # chapter 04's worked example 1
    loss = panels[4]
    assert loss.get_title() == "1/λmax = 0.1, 2/λmax = 0.2"
    assert loss.get_yscale() == "log"
    assert [t.get_text() for t in loss.get_legend().get_texts()] == [
        "η = 0.01", "η = 0.1", "η = 0.19", "η = 0.21 (diverges)"]


def test_descent_panels_draw_the_closed_form_path_and_loss(static):
    panels = visible_panels(widgets.descent_explorer())
    for ax, lr in zip(panels[:4], widgets.DESCENT_LRS):
        _, x, L = gd_steps_closed_form(lr)
        np.testing.assert_allclose(ax.lines[0].get_xydata(), x, rtol=1e-9, atol=1e-300)
        curve = panels[4].lines[widgets.DESCENT_LRS.index(lr)].get_ydata()
        shown = np.isfinite(curve)
        np.testing.assert_allclose(curve[shown], L[shown], rtol=1e-9)
    # the diverging curve is cut once it has grown a millionfold, the others at the goal
    diverging = panels[4].lines[3].get_ydata()
    assert np.nanmax(diverging) <= 1e6 * diverging[0] < np.nanmax(gd_steps_closed_form(0.21)[2])


@pytest.mark.parametrize("lr", [0.15, 0.199, 0.2, 0.201, 0.25, 0.5])
def test_descent_diverges_exactly_beyond_two_over_lambda_max(lr, quiet):
    run = widgets.descent_run(lr, kappa=10.0, start=(1.0, 1.0))
    assert run.diverged == (lr > 0.2)
    ax = widgets.draw_descent(plt.figure().add_subplot(), lr, 10.0)
    assert ax.get_title().endswith("diverges") == (lr > 0.2)
    if lr == 0.2:  # the steep coordinate flips sign forever: L settles at 5
        assert ax.get_title().endswith("L = 5 after 1500 steps")
    plt.close("all")


def test_descent_run_reports_overflow_as_divergence_without_warning(quiet):
    run = widgets.descent_run(3.0, kappa=100.0, max_steps=500)
    assert run.diverged and run.steps is None
    bad = ~np.all(np.isfinite(run.path), axis=1)
    assert bad.any() and np.all(bad[np.argmax(bad):])  # NaN from the overflow on
    assert np.all(np.isnan(run.values[bad]))


@given(st.floats(1e-3, 0.3), st.floats(1.0, 50.0), st.floats(-180.0, 180.0),
       st.tuples(st.floats(-2, 2), st.floats(-2, 2)))
def test_descent_run_equals_torch_sgd_on_the_rotated_bowl(lr, kappa, angle, start):
    run = widgets.descent_run(lr, kappa, angle, start, max_steps=30)
    R = rotation(angle)
    A = torch.tensor(R @ np.diag([1.0, kappa]) @ R.T)
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([theta], lr=lr)
    path = [theta.detach().clone()]
    for _ in range(30):
        opt.zero_grad()
        (0.5 * theta @ A @ theta).backward()
        opt.step()
        path.append(theta.detach().clone())
    np.testing.assert_allclose(run.path, torch.stack(path).numpy(), rtol=1e-9, atol=1e-12)


@given(st.floats(-180.0, 180.0), st.sampled_from([0.05, 0.15, 0.19]))
def test_rotating_bowl_and_start_together_changes_no_step_count(angle, lr):
    """Gradient descent is rotation-equivariant (chapter 04, E4)."""
    start = np.array([1.0, 1.0])
    plain = widgets.descent_run(lr, 10.0, 0.0, start, tol=1e-8, max_steps=600)
    turned = widgets.descent_run(lr, 10.0, angle, rotation(angle) @ start, tol=1e-8,
                                 max_steps=600)
    np.testing.assert_allclose(turned.path, plain.path @ rotation(angle).T, atol=1e-12)
    assert abs(turned.steps - plain.steps) <= 1  # rounding may move the crossing by one


def test_descent_arrows_point_downhill(static):
    ax = widgets.draw_descent(plt.figure().add_subplot(), 0.05, 10.0, 30.0, (1.5, -1.0),
                              arrows=True)
    (quiver,) = ax.collections[-1:]
    P, V = quiver.get_offsets(), np.column_stack([quiver.U, quiver.V])
    R = rotation(30.0)
    grad = P @ (R @ np.diag([1.0, 10.0]) @ R.T)
    assert len(P) == 10 and np.all(np.sum(V * grad, axis=1) < 0)  # -grad: downhill
    cross = V[:, 0] * grad[:, 1] - V[:, 1] * grad[:, 0]
    np.testing.assert_allclose(cross, 0, atol=1e-9)  # and parallel to it


# --- chapter 05: the race ------------------------------------------------------------------


def torch_steps(name, angle, tol=1e-6, steps=1000):
    """Updates until f < tol on the race's bowl from (-10, 1), by torch.optim."""
    lr = dict(zip(widgets.RACE_OPTIMIZERS, (0.02, 0.02, 0.02, 5.0, 0.1, 0.3)))[name]
    R = rotation(angle)
    A = torch.tensor(R @ np.diag([1.0, widgets.RACE_KAPPA]) @ R.T)
    theta = torch.tensor([-10.0, 1.0], dtype=torch.float64, requires_grad=True)
    opt = {"GD": lambda p: torch.optim.SGD(p, lr=lr),
           "momentum": lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9),
           "Nesterov": lambda p: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
           "AdaGrad": lambda p: torch.optim.Adagrad(p, lr=lr),
           "RMSProp": lambda p: torch.optim.RMSprop(p, lr=lr, alpha=0.99),
           "Adam": lambda p: torch.optim.Adam(p, lr=lr)}[name]([theta])
    for t in range(steps + 1):
        opt.zero_grad()
        loss = 0.5 * theta @ A @ theta
        if loss.item() < tol:
            return t
        loss.backward()
        opt.step()
    return None


def test_race_static_grid_titles_are_torch_step_counts(static, quiet):
    plt.close("all")
    fig = widgets.optimizer_race()
    assert fig.number not in plt.get_fignums()
    panels = visible_panels(fig)
    assert len(panels) == 6 and fig.get_size_inches()[0] <= 10
    counts = {}
    for ax, angle in zip(panels, [0.0] * 3 + [45.0] * 3):
        pair = widgets.RACE_PAIRS[panels.index(ax) % 3]
        found = re.fullmatch(rf"{pair[0]} (\d+) · {pair[1]} (\d+)", ax.get_title())
        assert found, ax.get_title()
        for name, n in zip(pair, found.groups()):
            counts[name, angle] = int(n)
        assert [line.get_color() for line in ax.lines[:2]] == \
            [widgets.optimization._COLORS[n] for n in pair]
    assert counts == {(name, angle): torch_steps(name, angle) for name, angle in counts}
    # chapter 05's numbers: GD 439 and AdaGrad 16 (eta = 5) axis-aligned, 464 rotated
    assert (counts["GD", 0.0], counts["AdaGrad", 0.0], counts["AdaGrad", 45.0]) == (439, 16, 464)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == list(widgets.RACE_OPTIMIZERS)


def test_race_rotation_hurts_only_the_per_coordinate_methods(static):
    panels = visible_panels(widgets.optimizer_race())
    for top, bottom in zip(panels[:3], panels[3:]):
        (a0, b0), (a1, b1) = (map(int, re.findall(r"\d+", ax.get_title())) for ax in (top, bottom))
        assert 0.75 < a1 / a0 < 1.25  # GD, momentum, Nesterov: nearly unchanged
        assert b1 / b0 > 3  # AdaGrad, Adam, RMSProp: several times slower


def test_race_runs_follow_the_knobs(quiet):
    gd = widgets.race_runs("bowl", optimizers="GD", steps=50)["GD"]
    nesterov0 = widgets.race_runs("bowl", optimizers=["Nesterov"], mu=0.0, steps=50)["Nesterov"]
    np.testing.assert_array_equal(nesterov0.path, gd.path)  # mu = 0 makes Nesterov GD
    runs = widgets.race_runs("bowl", optimizers=("Adam", "GD"), lr_scale=10.0, steps=100)
    assert list(runs) == ["GD", "Adam"]  # drawing order, whatever the order asked
    assert runs["GD"].lr == pytest.approx(0.2) and runs["GD"].diverged  # 0.2 > 2/50
    assert runs["Adam"].lr == pytest.approx(3.0)
    assert widgets.race_runs("Beale", optimizers=[], steps=5) == {}
    # Adam with beta1 = 0 and no bias correction is RMSProp (dlnotes.optim's docstring)
    adam = widgets.race_runs("Beale", optimizers=["Adam"], beta1=0.0, beta2=0.99,
                             bias_correction=False, lr_scale=0.1 / 3, steps=50)["Adam"]
    rms = widgets.race_runs("Beale", optimizers=["RMSProp"], rho=0.99, steps=50)["RMSProp"]
    np.testing.assert_allclose(adam.path, rms.path, rtol=1e-12)


@pytest.mark.parametrize("surface", widgets.RACE_SURFACES)
def test_every_surface_draws_every_optimizer(surface, quiet):
    ax = widgets.draw_race(plt.figure().add_subplot(), surface, steps=300)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert [lab.split(" ")[0] for lab in labels] == list(widgets.RACE_OPTIMIZERS)
    runs = widgets.race_runs(surface, steps=300)
    for label, (name, run) in zip(labels, runs.items()):
        outcome = str(run.steps) if run.steps is not None else \
            "diverged" if run.diverged else ">300"
        assert label == f"{name} (η {run.lr:.3g}): {outcome}"
    if surface == "saddle":  # the goal there is the escape, f < -1
        for run in runs.values():
            assert run.steps is None or run.values[run.steps] < -1 <= run.values[run.steps - 1]
    plt.close("all")


# --- live forms -------------------------------------------------------------------------------


def test_descent_live_controls_and_thresholds(live, monkeypatch, quiet):
    import ipywidgets

    panel = widgets.descent_explorer()
    assert isinstance(panel, ipywidgets.interactive)
    controls = live_controls(panel)
    assert {n: c.value for n, c in controls.items()} == dict(
        log10_lr=-1.0, kappa=10.0, angle=0.0, x0=1.0, y0=1.0, arrows=False)
    fig = shown_after(panel, monkeypatch)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_title() == "η = 0.1\n106 steps to L < 1e-10"
    fig = shown_after(panel, monkeypatch, kappa=25.0)
    assert fig.axes[0].get_title() == "η = 0.1\ndiverges"
    assert fig.axes[1].get_title() == "η = 0.1 > 2/λmax = 0.08  (1/λmax = 0.04)"
    fig = shown_after(panel, monkeypatch, kappa=20.0)  # on the threshold: a bounce
    assert fig.axes[0].get_title() == "η = 0.1\nL = 10 after 1500 steps"
    assert fig.axes[1].get_title().startswith("η = 0.1 = 2/λmax = 0.1")


def test_race_live_controls_and_redraw(live, monkeypatch, quiet):
    panel = widgets.optimizer_race(steps=200)
    controls = live_controls(panel)
    assert set(controls) == {"surface", "angle", *widgets.RACE_OPTIMIZERS, "log10_lr_scale",
                             "mu", "rho", "beta1", "beta2", "bias_correction", "steps", "every"}
    assert (controls["steps"].value, controls["mu"].value, controls["beta2"].value) == \
        (200, 0.9, 0.999)
    assert controls["log10_lr_scale"].value == 0.0 and controls["Adam"].value is True
    fig = shown_after(panel, monkeypatch, surface="saddle", every=5)
    paths, losses = fig.axes
    assert paths.get_title() == "saddle ½(x² − y²)"
    assert losses.get_ylabel() == "f" and len(losses.lines) == 6 + 1  # + the goal line
    off = {n: False for n in widgets.RACE_OPTIMIZERS}
    fig = shown_after(panel, monkeypatch, **off)
    assert fig.axes[0].get_title().endswith("tick an optimizer")


# --- refusals -------------------------------------------------------------------------------


BAD = [
    (widgets.descent_run, dict(lr=0.0), ValueError, "lr must be > 0, got 0.0"),
    (widgets.descent_run, dict(lr=np.nan), ValueError, "lr must be finite"),
    (widgets.descent_run, dict(lr="0.1"), TypeError, "lr must be a real number"),
    (widgets.descent_run, dict(lr=0.1, kappa=0.5), ValueError, "kappa must be >= 1"),
    (widgets.descent_run, dict(lr=0.1, kappa=None), TypeError, "kappa must be a real number"),
    (widgets.descent_run, dict(lr=0.1, angle=np.inf), ValueError, "angle must be finite"),
    (widgets.descent_run, dict(lr=0.1, start=(1.0, 2.0, 3.0)), ValueError,
     r"start must be a point \(x, y\), shape \(2,\), got shape \(3,\)"),
    (widgets.descent_run, dict(lr=0.1, start=[np.nan, 1.0]), ValueError,
     "start must be finite"),
    (widgets.descent_run, dict(lr=0.1, start="ab"), TypeError, "start must be an array"),
    (widgets.descent_run, dict(lr=0.1, start=(1e200, 1e200)), ValueError,
     "start = .* lies so far out that L overflows"),
    (widgets.descent_run, dict(lr=0.1, tol=0.0), ValueError, "tol must be > 0"),
    (widgets.descent_run, dict(lr=0.1, max_steps=0), ValueError, "max_steps must be >= 1"),
    (widgets.descent_run, dict(lr=0.1, max_steps=10**6), ValueError,
     "max_steps must be <= 100000"),
    (widgets.descent_run, dict(lr=0.1, max_steps=1.5), TypeError, "max_steps must be an int"),
    (widgets.draw_descent, dict(ax=_ax, arrows="yes"), TypeError, "arrows must be True or False"),
    (widgets.draw_descent, dict(ax=None), TypeError, "ax must be a matplotlib Axes"),
    (widgets.draw_descent, dict(ax=_ax, lr=-0.1), ValueError, "lr must be > 0"),
    (widgets.draw_descent_losses, dict(ax=_ax, lrs=[]), ValueError, "lrs must not be empty"),
    (widgets.draw_descent_losses, dict(ax=_ax, lrs=[0.1, -1.0]), ValueError,
     "lrs must all be > 0, got smallest -1.0"),
    (widgets.draw_descent_losses, dict(ax=_ax, lrs="abc"), TypeError, "lrs must be an array"),
    (widgets.draw_descent_losses, dict(ax=_ax, tol=-1.0), ValueError, "tol must be > 0"),
    (widgets.descent_explorer, dict(tol=0.0), ValueError, "tol must be > 0"),
    (widgets.descent_explorer, dict(max_steps=True), TypeError, "max_steps must be an int"),
    (widgets.race_runs, dict(surface="Himmelblau"), ValueError,
     "surface must be one of 'bowl', 'Beale', 'saddle', 'Rosenbrock', got 'Himmelblau'"),
    (widgets.race_runs, dict(optimizers=["SGD"]), ValueError,
     "optimizers must be one of 'GD', .* got 'SGD'"),
    (widgets.race_runs, dict(optimizers=3), TypeError, "optimizers must be a sequence of names"),
    (widgets.race_runs, dict(optimizers=None), TypeError, "optimizers must be a sequence"),
    (widgets.race_runs, dict(angle="45"), TypeError, "angle must be a real number"),
    (widgets.race_runs, dict(lr_scale=0.0), ValueError, "lr_scale must be > 0"),
    (widgets.race_runs, dict(mu=1.0), ValueError, r"mu must be in \[0, 1\), got 1.0"),
    (widgets.race_runs, dict(mu=-0.1), ValueError, r"mu must be in \[0, 1\)"),
    (widgets.race_runs, dict(rho=1.0), ValueError, r"rho must be in \[0, 1\)"),
    (widgets.race_runs, dict(beta1=np.nan), ValueError, "beta1 must be finite"),
    (widgets.race_runs, dict(beta2=1.5), ValueError, r"beta2 must be in \[0, 1\)"),
    (widgets.race_runs, dict(bias_correction=1), TypeError,
     "bias_correction must be True or False"),
    (widgets.race_runs, dict(steps=0), ValueError, "steps must be >= 1, got 0"),
    (widgets.race_runs, dict(steps=20_001), ValueError, "steps must be <= 20000"),
    (widgets.race_runs, dict(steps=2.5), TypeError, "steps must be an int"),
    (widgets.race_runs, dict(tol=-1e-6), ValueError, "tol must be > 0"),
    (widgets.draw_race, dict(ax=_ax, every=0), ValueError, "every must be >= 1, got 0"),
    (widgets.draw_race, dict(ax=_ax, legend="no"), TypeError, "legend must be True or False"),
    (widgets.draw_race, dict(ax=_ax, surface=None), ValueError, "surface must be one of"),
    (widgets.optimizer_race, dict(tol=np.nan), ValueError, "tol must be finite"),
    (widgets.optimizer_race, dict(steps=0), ValueError, "steps must be >= 1"),
    (widgets.optimizer_race, dict(steps="100"), TypeError, "steps must be an int"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD)
def test_bad_arguments_are_refused_in_either_mode(either, fn, kwargs, error, match):
    assert_refused(fn, kwargs, error, match, lazy=_ax)


def test_readers_natural_arguments_are_accepted(static, quiet):
    run = widgets.descent_run(np.float32(0.1), np.int64(10), np.array(0.0),
                              torch.tensor([1.0, 1.0], requires_grad=True), max_steps=np.int64(5))
    assert run.path.shape == (6, 2) and run.path.dtype == np.float64
    runs = widgets.race_runs("bowl", np.float64(45.0), np.array(["GD", "Adam"]).tolist(),
                             steps=np.int32(5))
    assert list(runs) == ["GD", "Adam"]
    widgets.draw_descent_losses(_ax(), lrs=torch.tensor([0.05, 0.1]), max_steps=20)
    plt.close("all")
