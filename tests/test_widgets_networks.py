"""Tests of chapter 06's explorers: the activation explorer (functions, derivatives, the
saturated set and its Gaussian mass) and the XOR explorer (two hidden units trained by Adam).

Every number drawn is compared with an independent computation: closed forms, torch's
functions and autograd, Monte Carlo samples, and a training run written with torch.optim."""

import functools
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from scipy import special

from dlnotes import data, widgets
from tools import new_ax as _ax
from tools import assert_refused, live_controls, shown_after, visible_panels
from tools import one_thread  # noqa: F401 (an autouse fixture)

TORCH = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": F.relu,
         "leaky_relu": lambda t, slope=0.01: F.leaky_relu(t, slope),
         "elu": lambda t, alpha=1.0: F.elu(t, alpha), "softplus": F.softplus, "gelu": F.gelu,
         "silu": F.silu}


def torch_f_df(name, a, **kw):
    """f(a) and f'(a) by torch and autograd."""
    t = torch.tensor(np.asarray(a, dtype=float), requires_grad=True)
    y = TORCH[name](t, *kw.values())
    y.sum().backward()
    return y.detach().numpy(), t.grad.numpy()


# --- the saturated set ------------------------------------------------------------------------


def closed_form(name, thr, slope=0.01, alpha=1.0):
    """The set |f'| < thr, written out by hand."""
    if name == "tanh":
        a = np.arctanh(np.sqrt(1 - thr))
        return [(-np.inf, -a), (a, np.inf)]
    if name == "sigmoid":
        up, lo = (1 + np.sqrt(1 - 4 * thr)) / 2, (1 - np.sqrt(1 - 4 * thr)) / 2
        a = np.log(up / lo)
        return [(-np.inf, -a), (a, np.inf)]
    if name == "relu":
        return [(-np.inf, 0.0)]
    if name == "leaky_relu":
        return [(-np.inf, 0.0)] if slope < thr else []
    if name == "elu":   # alpha e^a < thr for a <= 0
        return [(-np.inf, min(np.log(thr / alpha), 0.0))]
    if name == "softplus":   # sigmoid(a) < thr
        return [(-np.inf, np.log(thr / (1 - thr)))]
    raise KeyError(name)


@pytest.mark.parametrize("thr", widgets.SATURATION_THRESHOLDS)
@pytest.mark.parametrize("name", ["tanh", "sigmoid", "relu", "leaky_relu", "elu", "softplus"])
def test_saturated_intervals_equal_the_closed_forms(name, thr):
    got = widgets.saturated_intervals(name, thr)
    want = closed_form(name, thr)
    assert len(got) == len(want)
    for (a, b), (c, d) in zip(got, want):
        for x, y in ((a, c), (b, d)):
            assert x == y if np.isinf(y) else abs(x - y) < 1e-9, (got, want)


def test_parameters_move_the_saturated_set():
    assert widgets.saturated_intervals("leaky_relu", 0.1, negative_slope=0.2) == []
    assert widgets.saturated_intervals("leaky_relu", 0.1, negative_slope=0.05) == [(-np.inf, 0.0)]
    (lo, hi), = widgets.saturated_intervals("elu", 0.01, alpha=0.5)
    assert lo == -np.inf and abs(hi - np.log(0.01 / 0.5)) < 1e-9


@pytest.mark.parametrize("name", ["gelu", "silu"])
def test_non_monotone_activations_have_a_narrow_dip_at_their_minimum(name):
    """|f'| < thr also in a band around the minimum, where f' changes sign; its end points
    are where torch's autograd derivative has magnitude thr."""
    intervals = widgets.saturated_intervals(name, 0.01)
    assert len(intervals) == 2 and intervals[0][0] == -np.inf
    lo, hi = intervals[1]
    argmin = {"gelu": -0.7518, "silu": -1.2785}[name]
    assert lo < argmin < hi and hi - lo < 0.2
    _, df = torch_f_df(name, [lo, hi, intervals[0][1]])
    np.testing.assert_allclose(np.abs(df), 0.01, rtol=1e-8)
    # and a dip far narrower than the sampling step is still found
    (_, _), (lo4, hi4) = widgets.saturated_intervals(name, 1e-4)
    assert 0 < hi4 - lo4 < 2e-3


@given(tau=st.floats(0.5, 10), thr=st.sampled_from(widgets.SATURATION_THRESHOLDS))
def test_saturated_fraction_is_the_gaussian_mass(tau, thr):
    for name in ("tanh", "sigmoid"):
        a = closed_form(name, thr)[1][0]
        got = widgets.activation_numbers(name, thr, tau)["fraction"]
        assert abs(got - 2 * special.ndtr(-a / tau)) < 1e-11
    assert widgets.activation_numbers("relu", thr, tau)["fraction"] == 0.5


def test_saturated_fractions_of_the_syllabus():
    """At tau = 10 and |f'| < 1e-3: about 0.68 of tanh units and 0.49 of sigmoid units."""
    assert abs(widgets.activation_numbers("tanh", 1e-3, 10.0)["fraction"] - 0.68) < 0.01
    assert abs(widgets.activation_numbers("sigmoid", 1e-3, 10.0)["fraction"] - 0.49) < 0.01


@pytest.mark.parametrize("name", widgets.ACTIVATION_NAMES)
def test_fractions_agree_with_samples_of_torch_derivatives(name):
    s = 3.0 * np.random.default_rng(0).standard_normal(200_000)
    _, df = torch_f_df(name, s)
    mc = np.mean(np.abs(df) < 0.01)
    exact = widgets.activation_numbers(name, 0.01, 3.0)["fraction"]
    assert abs(mc - exact) <= 5 * np.sqrt(max(exact * (1 - exact), 1e-6) / s.size) + 1e-6


@pytest.mark.parametrize("name", widgets.ACTIVATION_NAMES)
def test_function_and_derivative_are_torchs(name):
    n = widgets.activation_numbers(name, lim=8.0, n=1601)
    f, df = torch_f_df(name, n["a"])
    np.testing.assert_allclose(n["f"], f, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(n["df"], df, rtol=1e-12, atol=1e-15)
    f0, df0 = torch_f_df(name, [0.0])
    assert n["f0"] == pytest.approx(f0[0], abs=1e-15) and n["df0"] == pytest.approx(df0[0])


def test_parameters_reach_the_functions():
    n = widgets.activation_numbers("leaky_relu", negative_slope=0.2)
    f, df = torch_f_df("leaky_relu", n["a"], slope=0.2)
    np.testing.assert_allclose(n["f"], f, rtol=1e-14)
    np.testing.assert_allclose(n["df"], df, rtol=1e-14)
    n = widgets.activation_numbers("elu", alpha=0.5)
    f, df = torch_f_df("elu", n["a"], alpha=0.5)
    np.testing.assert_allclose(n["f"], f, rtol=1e-14)
    np.testing.assert_allclose(n["df"], df, rtol=1e-14)


# --- the activation explorer's figures -----------------------------------------------------------


def test_activation_static_form_is_the_family(static, quiet):
    plt.close("all")
    fig = widgets.activation_explorer()
    assert isinstance(fig, plt.Figure) and fig.number not in plt.get_fignums()
    panels = visible_panels(fig)
    assert len(panels) == 8
    assert fig.get_size_inches()[0] <= 10
    titles = [ax.get_title() for ax in panels]
    assert titles == ["sigmoid", "tanh", "relu", "leaky_relu (slope 0.01)", "elu (alpha 1)",
                      "softplus", "gelu", "silu"]


def spans(ax):
    """The x-extents of the shaded rectangles (axvspan) of ax."""
    out = []
    for p in ax.patches:
        xs = p.get_xy()[:, 0] if hasattr(p, "get_xy") and np.ndim(p.get_xy()) == 2 else None
        if xs is None:
            x0 = p.get_x()
            xs = np.array([x0, x0 + p.get_width()])
        out.append((float(xs.min()), float(xs.max())))
    return sorted(out)


def test_each_panel_draws_torchs_function_derivative_and_saturated_set(static):
    for ax, name in zip(visible_panels(widgets.activation_explorer(threshold=0.01, tau=3.0)),
                        widgets.ACTIVATION_NAMES):
        a = ax.lines[0].get_xdata()
        f, df = torch_f_df(name, a)
        np.testing.assert_allclose(ax.lines[0].get_ydata(), f, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ax.lines[1].get_ydata(), df, rtol=1e-12, atol=1e-15)
        want = [(max(lo, -6.0), min(hi, 6.0)) for lo, hi in
                (closed_form(name, 0.01) if name not in ("gelu", "silu")
                 else widgets.saturated_intervals(name, 0.01))]
        want = [(lo, hi) for lo, hi in want if lo < hi]
        np.testing.assert_allclose(spans(ax), want, atol=1e-9)
        # the shaded set is where torch's |f'| is small, checked at the drawn points
        inside = np.zeros(a.size, bool)
        for lo, hi in want:
            inside |= (a > lo) & (a < hi)
        assert np.all(np.abs(df[inside]) < 0.01 + 1e-12)
        far = np.ones(a.size, bool)
        for lo, hi in want:
            far &= (a < lo - 1e-6) | (a > hi + 1e-6)
        assert np.all(np.abs(df[far]) >= 0.01 - 1e-12)
        shown = float(re.search(r": ([\d.]+)%", ax.texts[0].get_text())[1])
        s = 3.0 * np.random.default_rng(1).standard_normal(400_000)
        _, df_s = torch_f_df(name, s)
        assert abs(shown - 100 * np.mean(np.abs(df_s) < 0.01)) < 0.5


def test_custom_threshold_and_tau_reach_the_boxes(static):
    panels = visible_panels(widgets.activation_explorer(name="relu", threshold=0.001, tau=10.0))
    for ax in panels:
        assert "|f'| < 0.001" in ax.texts[0].get_text() and "N(0, 10²)" in ax.texts[0].get_text()
    assert "50.0%" in panels[2].texts[0].get_text()       # relu: half of any centred normal
    assert "67.8%" in panels[1].texts[0].get_text()       # tanh at tau = 10


def test_histogram_draws_f_of_normal_samples(quiet):
    ax = plt.figure().add_subplot()
    widgets.draw_activation_histogram(ax, "tanh", 0.01, 2.0, seed=3)
    heights = np.array([p.get_height() for p in ax.patches])
    assert heights.sum() == 100_000
    s = 2.0 * np.random.default_rng(3).standard_normal(100_000)
    counts, _ = np.histogram(np.tanh(s), bins=80)
    np.testing.assert_array_equal(heights, counts)
    assert ax.get_title().startswith("τ = 2:")
    plt.close("all")


def test_live_activation_explorer_follows_its_controls(live, monkeypatch):
    import ipywidgets

    panel = widgets.activation_explorer(name="gelu", threshold=0.001, tau=2.0)
    assert isinstance(panel, ipywidgets.interactive)
    controls = live_controls(panel)
    assert set(controls) == {"name", "threshold", "tau", "negative_slope", "alpha"}
    assert controls["name"].value == "gelu" and controls["threshold"].value == 0.001
    assert controls["tau"].value == 2.0
    fig = shown_after(panel, monkeypatch, name="elu", alpha=0.5, tau=4.0)
    left, right = fig.axes
    f, df = torch_f_df("elu", left.lines[0].get_xdata(), alpha=0.5)
    np.testing.assert_allclose(left.lines[1].get_ydata(), df, rtol=1e-12, atol=1e-15)
    assert left.get_title() == "elu (alpha 0.5)" and right.get_title().startswith("τ = 4:")
    fig = shown_after(panel, monkeypatch, name="leaky_relu", negative_slope=0.2)
    f, _ = torch_f_df("leaky_relu", fig.axes[0].lines[0].get_xdata(), slope=0.2)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), f, rtol=1e-12)


# --- XOR: the training run against torch.optim ---------------------------------------------------


@functools.lru_cache(maxsize=None)
def torch_run(activation, seed=0, steps=300):
    """The same training, written with torch.nn, F.cross_entropy and torch.optim.Adam, from the
    widget's initial weights and data: returns (params per step, loss, accuracy)."""
    run = widgets.xor_training(activation, seed)
    X, y = torch.tensor(run["X"]), torch.tensor(run["y"])
    act = {"tanh": torch.nn.Tanh(), "relu": torch.nn.ReLU(), "sigmoid": torch.nn.Sigmoid()}
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), act[activation], torch.nn.Linear(2, 2))
    net = net.double()
    with torch.no_grad():
        for p, v in zip(net.parameters(), run["params"][0]):
            p.copy_(torch.tensor(v))
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    params, loss_hist, acc = [], [], []
    for _ in range(steps + 1):
        params.append([p.detach().numpy().copy() for p in net.parameters()])
        Z = net(X)
        loss = F.cross_entropy(Z, y)
        loss_hist.append(loss.item())
        acc.append((Z.argmax(1) == y).double().mean().item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    return run, params, np.array(loss_hist), np.array(acc)


@pytest.mark.parametrize("activation", widgets.XOR_ACTIVATIONS)
def test_xor_training_equals_torch_optim(activation):
    run, params, loss, acc = torch_run(activation)
    assert len(run["params"]) == widgets.XOR_STEPS + 1 == len(params)
    for t in (1, 40, 150, 300):
        for a, b in zip(run["params"][t], params[t]):
            np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(run["loss"], loss, rtol=1e-8)
    np.testing.assert_allclose(run["accuracy"], acc)
    W1, b1 = params[300][:2]
    f = {"tanh": np.tanh, "relu": lambda s: np.maximum(s, 0),
         "sigmoid": lambda s: 1 / (1 + np.exp(-s))}[activation]
    np.testing.assert_allclose(run["hidden"][300], f(run["X"] @ W1.T + b1), rtol=1e-8, atol=1e-12)


def test_xor_data_are_noisy_corners_with_xor_labels():
    run = widgets.xor_training("tanh", seed=2)
    X, y = run["X"], run["y"]
    _, y_ref = data.xor(80, noise=0.0, seed=2)
    np.testing.assert_array_equal(y, y_ref)
    corner = np.round(X)
    assert np.all(np.abs(X - corner) < 5 * 0.12)
    assert np.array_equal((corner[:, 0] != corner[:, 1]).astype(int), y)
    assert {tuple(c) for c in corner} == {(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)}


def test_seed_none_draws_fresh_data():
    a, b = widgets.xor_training(seed=None), widgets.xor_training(seed=None)
    assert not np.array_equal(a["X"], b["X"])
    assert a["X"].shape == (80, 2) and len(a["params"]) == widgets.XOR_STEPS + 1


def test_default_run_learns_xor_and_copies_are_returned():
    run = widgets.xor_training()
    assert run["accuracy"][-1] == 1.0 and run["accuracy"][0] < 1.0
    assert run["loss"][-1] < 0.01 < run["loss"][0]
    run["params"][0][0][:] = 99.0
    run["X"][:] = 0.0
    again = widgets.xor_training()
    assert not np.any(again["params"][0][0] == 99.0) and np.any(again["X"])


# --- the XOR explorer's figures -----------------------------------------------------------------


def contour_points(ax, i):
    """The vertices of the i-th contour set drawn on ax."""
    from matplotlib.contour import ContourSet

    sets = [c for c in ax.collections if isinstance(c, ContourSet)]
    paths = [p.vertices for p in sets[i].get_paths() if len(p.vertices)]
    return np.vstack(paths) if paths else np.zeros((0, 2))


def test_xor_static_form_shows_the_steps(static, quiet):
    plt.close("all")
    fig = widgets.xor_explorer()
    assert fig.number not in plt.get_fignums()
    panels = visible_panels(fig)
    assert len(panels) == 2 * len(widgets.XOR_STATIC_STEPS)
    run, params, loss, acc = torch_run("tanh")
    ncol = len(widgets.XOR_STATIC_STEPS)
    for col, step in enumerate(widgets.XOR_STATIC_STEPS):
        top, bottom = panels[col], panels[ncol + col]
        assert top.get_title() == f"step {step}: loss {loss[step]:.3f}, {100 * acc[step]:.0f}%"
        W1, b1, W2, b2 = params[step]
        # contour sets: decision regions (filled), then unit 1's line, then unit 2's line
        for unit in (0, 1):
            pts = contour_points(top, 1 + unit)
            np.testing.assert_allclose(pts @ W1[unit] + b1[unit], 0, atol=1e-9)
            if not len(pts):  # a line outside the window: s_i has one sign on the whole window
                corners = np.array([[a, b] for a in top.get_xlim() for b in top.get_ylim()])
                assert len(set(np.sign(corners @ W1[unit] + b1[unit]))) == 1
        H = np.tanh(run["X"] @ W1.T + b1)
        np.testing.assert_allclose(bottom.collections[0].get_offsets(), H, rtol=1e-8, atol=1e-12)
        pts = contour_points(bottom, 0)
        np.testing.assert_allclose(pts @ (W2[1] - W2[0]) + b2[1] - b2[0], 0, atol=1e-9)
        assert bottom.get_xlim() == (-1.15, 1.15)


def test_xor_explorer_for_relu_follows_the_points(static):
    panels = visible_panels(widgets.xor_explorer("relu", seed=3))
    bottom = panels[len(widgets.XOR_STATIC_STEPS):]
    for ax in bottom:
        H = ax.collections[0].get_offsets()
        assert np.all(H >= 0)
        lo, hi = ax.get_xlim()
        assert lo <= H[:, 0].min() and hi >= H[:, 0].max() and lo <= -0.15
        assert ax.get_title() == "hidden plane (relu)"


def test_live_xor_explorer_follows_its_slider(live, monkeypatch):
    panel = widgets.xor_explorer()
    controls = live_controls(panel)
    assert set(controls) == {"step", "activation"}
    assert (controls["step"].min, controls["step"].max) == (0, widgets.XOR_STEPS)
    assert controls["step"].value == widgets.XOR_STATIC_STEPS[1]
    fig = shown_after(panel, monkeypatch, step=120)
    _, _, loss, acc = torch_run("tanh")
    assert fig.axes[0].get_title() == f"step 120: loss {loss[120]:.3f}, {100 * acc[120]:.0f}%"
    fig = shown_after(panel, monkeypatch, activation="sigmoid", step=0)
    assert fig.axes[1].get_title() == "hidden plane (sigmoid)"


# --- refusals -----------------------------------------------------------------------------------


BAD = [
    (widgets.activation_explorer, dict(name="swish"), ValueError, "name must be one of"),
    (widgets.activation_explorer, dict(name=3), ValueError, "name must be one of"),
    (widgets.activation_explorer, dict(threshold=0.05), ValueError,
     r"threshold must be one of the menu's"),
    (widgets.activation_explorer, dict(threshold=0.0), ValueError, "threshold must be > 0"),
    (widgets.activation_explorer, dict(threshold="0.01"), TypeError,
     "threshold must be a real number"),
    (widgets.activation_explorer, dict(tau=20.0), ValueError, r"tau must be in \[0.5, 10\]"),
    (widgets.activation_explorer, dict(tau=np.nan), ValueError, "tau must be finite"),
    (widgets.saturated_intervals, dict(name="tanh", threshold=1.0), ValueError,
     r"threshold must be in \(0, 1\)"),
    (widgets.saturated_intervals, dict(name="identity"), ValueError, "name must be one of"),
    (widgets.saturated_intervals, dict(name="leaky_relu", negative_slope=1.5), ValueError,
     r"negative_slope must be in \[0, 1\)"),
    (widgets.saturated_intervals, dict(name="elu", alpha=0.0), ValueError, "alpha must be > 0"),
    (widgets.saturated_intervals, dict(name="elu", alpha=True), TypeError,
     "alpha must be a real number"),
    (widgets.activation_numbers, dict(name="tanh", tau=-1.0), ValueError, "tau must be > 0"),
    (widgets.activation_numbers, dict(name="tanh", n=1), ValueError, "n must be >= 2"),
    (widgets.activation_numbers, dict(name="tanh", n=10.0), TypeError, "n must be an int"),
    (widgets.activation_numbers, dict(name="tanh", lim=0.0), ValueError, "lim must be > 0"),
    (widgets.draw_activation, dict(ax=None), TypeError, "ax must be a matplotlib Axes"),
    (widgets.draw_activation_histogram, dict(ax=_ax, seed=-1), ValueError, "seed must be >= 0"),
    (widgets.xor_training, dict(activation="gelu"), ValueError, "activation must be one of"),
    (widgets.xor_training, dict(seed=-2), ValueError, "seed must be >= 0"),
    (widgets.xor_training, dict(seed=1.0), TypeError, "seed must be an int"),
    (widgets.xor_explorer, dict(activation="identity"), ValueError, "activation must be one of"),
    (widgets.xor_explorer, dict(seed="0"), TypeError, "seed must be an int"),
    (widgets.draw_xor, dict(ax_input=_ax, ax_hidden=_ax, step=301), ValueError,
     "step must be <= 300"),
    (widgets.draw_xor, dict(ax_input=_ax, ax_hidden=_ax, step=-1), ValueError,
     "step must be >= 0"),
    (widgets.draw_xor, dict(ax_input=_ax, ax_hidden="ax"), TypeError,
     "ax_hidden must be a matplotlib Axes"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD)
def test_bad_arguments_are_refused_in_either_mode(either, fn, kwargs, error, match):
    assert_refused(fn, kwargs, error, match, lazy=_ax)


def test_readers_natural_arguments_are_accepted(static):
    widgets.activation_explorer("tanh", np.float64(0.01), np.array(3.0))
    n = widgets.activation_numbers("tanh", torch.tensor(0.01), np.float32(2.0), n=np.int64(5))
    assert n["a"].shape == (5,)
    widgets.xor_training("tanh", np.int64(0))
    plt.close("all")
