"""Tests of chapter 03's softmax explorer: static small multiples and live ipywidgets."""

import re
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from dlnotes import widgets
from tools import assert_refused, live_controls, new_ax as _ax, shown_after, visible_panels

Z = (2.0, 1.0, 0.1)


def heights(ax, i):
    """Heights of the i-th group of bars drawn on ``ax``."""
    return np.array([bar.get_height() for bar in ax.containers[i]])


def numbers_in(text):
    return [float(v) if v != "NaN" else np.nan for v in re.findall(r"NaN|-?\d+\.?\d*(?:e-?\d+)?",
                                                               text)]


def torch_reference(z, T=1.0, y=0, shift=0.0, dtype=torch.float64):
    """p, -log p_y, dloss/du and LSE(u) for u = (z + shift) / T, by torch."""
    u = ((torch.tensor(z, dtype=dtype) + shift) / T).requires_grad_(True)
    loss = F.cross_entropy(u[None], torch.tensor([y]))
    loss.backward()
    return (torch.softmax(u.detach(), 0).numpy(), loss.item(), u.grad.numpy(),
            torch.logsumexp(u.detach(), 0).item())


# --- static form ------------------------------------------------------------------------------


def test_static_form_is_two_by_three_and_fits_a_column(static, quiet):
    plt.close("all")
    fig = widgets.softmax_explorer()
    assert isinstance(fig, plt.Figure) and fig.number not in plt.get_fignums()
    assert len(visible_panels(fig)) == 6
    width, height = fig.get_size_inches()
    assert width <= 10 and height <= 6
    titles = [ax.get_title() for ax in visible_panels(fig)]
    assert titles == ["stable, T = 0.5 (float64)", "stable, T = 1 (float64)",
                      "stable, T = 5 (float64)", "shift 0 (float32): naive = stable",
                      "shift 100 (float32): naive p is NaN",
                      "shift 1000 (float32): naive p is NaN"]


def test_top_row_bars_are_torch_softmax_and_its_gradient(static):
    top = visible_panels(widgets.softmax_explorer())[:3]
    for ax, T in zip(top, (0.5, 1.0, 5.0)):
        p, loss, grad, lse = torch_reference(Z, T)
        np.testing.assert_allclose(heights(ax, 0), p, rtol=1e-12)
        np.testing.assert_allclose(heights(ax, 1), grad, rtol=1e-12, atol=1e-15)
        shown = numbers_in(ax.texts[0].get_text())  # -log p_y, LSE(u), max u
        np.testing.assert_allclose(shown, [loss, lse, max(Z) / T], rtol=1e-3)
    # the chapter's worked numbers at T = 1
    np.testing.assert_allclose(heights(top[1], 0), [0.659, 0.242, 0.099], atol=5e-4)
    assert "−log p_y = 0.417" in top[1].texts[0].get_text()
    # T -> 0 sharpens towards the argmax, T -> infinity flattens towards uniform
    assert heights(top[0], 0)[0] > heights(top[1], 0)[0] > heights(top[2], 0)[0] > 1 / 3


def test_bottom_row_shows_naive_float32_overflow_honestly(static):
    bottom = visible_panels(widgets.softmax_explorer())[3:]
    for ax, shift in zip(bottom, (0.0, 100.0, 1000.0)):
        naive, stable = heights(ax, 0), heights(ax, 1)
        p, loss, _, _ = torch_reference(Z, shift=shift, dtype=torch.float32)
        np.testing.assert_allclose(stable, p, rtol=1e-6)
        text = ax.texts[-1].get_text()
        assert f"stable {loss:.3f}" in text
        if shift == 0:
            np.testing.assert_allclose(naive, p, rtol=1e-6)
            assert "naive 0.417" in text
        else:  # exp(shift + 2) > 3.4e38 overflows float32: inf / inf
            assert np.all(np.isnan(naive))
            assert "naive NaN" in text
            labels = [t.get_text() for t in ax.texts[:-1]]
            assert labels == ["NaN"] * 3  # every empty bar says why it is empty


def test_custom_logits_and_true_class_reach_every_panel(static):
    z, y = (5.0, -3.0, 4.5, 0.0, 1.0), 2
    panels = visible_panels(widgets.softmax_explorer(logits=np.array(z), true_class=np.int64(y)))
    p, _, grad, _ = torch_reference(z, 1.0, y)
    np.testing.assert_allclose(heights(panels[1], 0), p, rtol=1e-12)
    np.testing.assert_allclose(heights(panels[1], 1), grad, rtol=1e-12, atol=1e-15)
    labels = [t.get_text() for t in panels[0].get_xticklabels()]
    assert labels == ["0", "1", "2 (y)", "3", "4"]


# --- the numbers behind a panel ----------------------------------------------------------------


@given(st.lists(st.floats(-10, 10), min_size=2, max_size=6), st.floats(0.1, 10),
       st.floats(-1000, 1000), st.integers(0, 5), st.booleans())
def test_stable_numbers_equal_torch(z, T, shift, y, float32):
    y = y % len(z)
    n = widgets.softmax_numbers(z, T, y, shift, "stable", float32)
    dtype = torch.float32 if float32 else torch.float64
    p, loss, grad, lse = torch_reference(z, T, y, shift, dtype)
    tol = 1e-5 if float32 else 1e-12
    assert n["p"].dtype == (np.float32 if float32 else np.float64)
    np.testing.assert_allclose(n["p"], p, rtol=tol, atol=tol)
    np.testing.assert_allclose(n["grad"], grad, rtol=tol, atol=tol)
    np.testing.assert_allclose([n["loss"], n["lse"]], [loss, lse], rtol=tol, atol=tol)
    assert n["max"] <= n["lse"] <= n["max"] + np.log(len(z)) * (1 + tol)


@given(st.lists(st.floats(-10, 10), min_size=2, max_size=5), st.floats(0.5, 5),
       st.floats(0, 1000), st.booleans())
def test_naive_breaks_exactly_when_the_sum_of_exps_overflows(z, T, shift, float32):
    dtype = np.float32 if float32 else np.float64
    lse = float(torch.logsumexp((torch.tensor(z, dtype=torch.float64) + shift) / T, 0))
    limit = float(np.log(np.finfo(dtype).max))  # 88.72 (float32), 709.78 (float64)
    top = (max(z) + shift) / T
    assume(abs(lse - limit) > 0.01 and abs(top - limit) > 0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        naive = widgets.softmax_numbers(z, T, 0, shift, "naive", float32)
    if lse > limit:  # sum exp(u) is inf: p is NaN (inf / inf) or 0 (finite / inf)
        assert np.isinf(naive["lse"]) and not np.nansum(naive["p"]) > 0
        assert np.isnan(naive["p"]).any() == (top > limit)  # some exp(u_k) itself is inf
    else:
        stable = widgets.softmax_numbers(z, T, 0, shift, "stable", float32)
        np.testing.assert_allclose(naive["p"], stable["p"], rtol=1e-4 if float32 else 1e-10,
                                   atol=1e-30)


@pytest.mark.parametrize("float32", [False, True])
def test_extreme_logits_stay_finite_when_stable(static, float32, quiet):
    ax = widgets.draw_softmax(plt.figure().add_subplot(), [1e4, -1e4, 0.0], true_class=1,
                              method="naive vs stable", float32=float32)
    naive, stable = heights(ax, 0), heights(ax, 1)
    assert np.isnan(naive[0]) and stable.tolist() == [1.0, 0.0, 0.0]
    assert "stable 2e+04" in ax.texts[-1].get_text()  # -log p_1 = LSE - z_1 = 1e4 + 1e4
    assert ax.get_title().endswith("naive p is NaN")
    n = widgets.softmax_numbers([1e4, -1e4, 0.0], 1.0, 1, 0.0, "stable", float32)
    assert n["loss"] == 2e4 and n["grad"].tolist() == [1.0, -1.0, 0.0]
    plt.close("all")


def test_float64_copes_where_float32_overflows():
    """The chapter's example: (500, 400, 450) is NaN naively in float32, fine in float64."""
    z = (5.0, 4.0, 4.5)
    f32 = widgets.softmax_numbers(z, 0.01, 0, 0.0, "naive", True)
    f64 = widgets.softmax_numbers(z, 0.01, 0, 0.0, "naive", False)
    assert np.isnan(f32["p"]).any() and np.all(np.isfinite(f64["p"]))
    np.testing.assert_allclose(f64["p"], [1, 3.7e-44, 1.9e-22], rtol=0.05)


# --- live form ------------------------------------------------------------------------------


def test_live_controls_start_at_the_logits(live):
    import ipywidgets

    panel = widgets.softmax_explorer(logits=[1.0, -2.0, 3.0, 0.5])
    assert isinstance(panel, ipywidgets.interactive)
    controls = live_controls(panel)
    assert set(controls) == {"z0", "z1", "z2", "z3", "shift", "temperature", "true_class",
                             "method", "float32"}
    assert [controls[f"z{k}"].value for k in range(4)] == [1.0, -2.0, 3.0, 0.5]
    assert (controls["shift"].min, controls["shift"].max) == (-1000.0, 1000.0)
    assert controls["temperature"].value == 1.0 and controls["method"].value == "stable"
    assert list(controls["true_class"].options) == [0, 1, 2, 3]
    assert controls["float32"].value is False


def test_live_panel_follows_the_sliders(live, monkeypatch):
    panel = widgets.softmax_explorer()
    fig = shown_after(panel, monkeypatch, z1=4.0, temperature=2.0, true_class=2)
    (ax,) = fig.axes
    p, _, grad, _ = torch_reference((2.0, 4.0, 0.1), 2.0, 2)
    np.testing.assert_allclose(heights(ax, 0), p, rtol=1e-12)
    np.testing.assert_allclose(heights(ax, 1), grad, rtol=1e-12)
    fig = shown_after(panel, monkeypatch, shift=800.0, temperature=1.0, method="naive")
    assert fig.axes[0].get_title().endswith(": p is NaN")  # float64 overflows beyond 709.8
    fig = shown_after(panel, monkeypatch, method="stable")
    assert "NaN" not in fig.axes[0].get_title()


# --- refusals -------------------------------------------------------------------------------


BAD = [
    (widgets.softmax_explorer, dict(logits=[1.0, 2.0]), ValueError,
     "logits must hold 3 to 5 numbers .* got 2"),
    (widgets.softmax_explorer, dict(logits=np.zeros(6)), ValueError, "3 to 5 numbers"),
    (widgets.softmax_explorer, dict(logits=[1.0, 2.0, 30.0]), ValueError,
     r"logits must lie in \[-10, 10\] .* got values from 1 to 30"),
    (widgets.softmax_explorer, dict(logits=[1.0, np.nan, 0.0]), ValueError,
     "logits must be finite"),
    (widgets.softmax_explorer, dict(logits="abc"), TypeError, "logits must be an array"),
    (widgets.softmax_explorer, dict(logits=None), TypeError, "logits must be an array"),
    (widgets.softmax_explorer, dict(logits=[[1.0, 2.0, 3.0]]), ValueError, "logits must be 1-D"),
    (widgets.softmax_explorer, dict(true_class=3), ValueError, "true_class must be <= 2, got 3"),
    (widgets.softmax_explorer, dict(true_class=-1), ValueError, "true_class must be >= 0"),
    (widgets.softmax_explorer, dict(true_class=1.0), TypeError, "true_class must be an int"),
    (widgets.softmax_explorer, dict(true_class=True), TypeError, "true_class must be an int"),
    (widgets.draw_softmax, dict(ax=_ax, temperature=0.0), ValueError,
     "temperature must be > 0, got 0.0"),
    (widgets.draw_softmax, dict(ax=_ax, temperature=np.inf), ValueError,
     "temperature must be finite"),
    (widgets.draw_softmax, dict(ax=_ax, temperature="1"), TypeError,
     "temperature must be a real number"),
    (widgets.draw_softmax, dict(ax=_ax, shift=np.nan), ValueError, "shift must be finite"),
    (widgets.draw_softmax, dict(ax=_ax, shift=1j), TypeError, "shift must be a real number"),
    (widgets.draw_softmax, dict(ax=_ax, method="fast"), ValueError,
     "method must be one of 'stable', 'naive', 'naive vs stable', got 'fast'"),
    (widgets.draw_softmax, dict(ax=_ax, float32="yes"), TypeError,
     "float32 must be True or False"),
    (widgets.draw_softmax, dict(ax=_ax, float32=1), TypeError, "float32 must be True or False"),
    (widgets.draw_softmax, dict(ax=_ax, logits=[1.0]), ValueError,
     "logits must hold at least 2 classes, got 1"),
    (widgets.draw_softmax, dict(ax=_ax, true_class=5), ValueError, "true_class must be <= 2"),
    (widgets.draw_softmax, dict(ax=None), TypeError, "ax must be a matplotlib Axes"),
    (widgets.draw_softmax, dict(ax=_ax, logits=[1e308, 0.0], temperature=0.1), ValueError,
     r"\(logits \+ shift\) / temperature overflows float64"),
    (widgets.draw_softmax, dict(ax=_ax, shift=1e39, float32=True), ValueError,
     "overflows float32"),
    (widgets.softmax_numbers, dict(logits=Z, method="naive vs stable"), ValueError,
     "method must be one of 'stable', 'naive', got 'naive vs stable'"),
]


@pytest.mark.parametrize("fn, kwargs, error, match", BAD)
def test_bad_arguments_are_refused_in_either_mode(either, fn, kwargs, error, match):
    assert_refused(fn, kwargs, error, match, lazy=_ax)


def test_readers_natural_arguments_are_accepted(static):
    ax = _ax()
    widgets.draw_softmax(ax, torch.tensor([1.0, 2.0, 3.0], requires_grad=True),
                         np.float32(0.5), np.int64(1), np.array(3.0))
    np.testing.assert_allclose(heights(ax, 0), torch.softmax(torch.tensor([2.0, 4, 6]), 0),
                               rtol=1e-6)
    widgets.draw_softmax(ax, [1, 2, 3])  # integer logits
    plt.close("all")
