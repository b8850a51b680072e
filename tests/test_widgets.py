"""The explorer pattern: live ipywidgets in Jupyter, small multiples elsewhere."""

import matplotlib

matplotlib.use("Agg")
import ipywidgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from dlnotes import widgets  # noqa: E402


def draw_line(ax, slope, label="line"):
    ax.plot([0, 1], [0, slope], label=label)


SETTINGS = [{"slope": 0.5}, {"slope": 1.0}, {"slope": 2.0}]


def test_static_mode_draws_one_panel_per_setting(monkeypatch):
    monkeypatch.setenv(widgets.ENV_VAR, "static")
    fig = widgets.explorer(draw_line, {"slope": (0.0, 3.0, 0.1)}, SETTINGS)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3
    assert [ax.get_title() for ax in visible] == ["slope = 0.5", "slope = 1", "slope = 2"]
    # each panel shows its own setting, not the last one
    assert [ax.lines[0].get_ydata()[1] for ax in visible] == [0.5, 1.0, 2.0]
    plt.close(fig)


def test_grid_hides_unused_panels(monkeypatch):
    monkeypatch.setenv(widgets.ENV_VAR, "static")
    fig = widgets.explorer(draw_line, {"slope": (0.0, 3.0)}, SETTINGS, ncols=2)
    assert len(fig.axes) == 4 and sum(ax.get_visible() for ax in fig.axes) == 3
    plt.close(fig)


def test_live_mode_returns_interactive_that_redraws(monkeypatch):
    monkeypatch.setenv(widgets.ENV_VAR, "live")
    calls = []

    def draw(ax, slope):
        calls.append(slope)
        draw_line(ax, slope)

    panel = widgets.explorer(draw, {"slope": (0.0, 3.0, 0.5)}, SETTINGS)
    assert isinstance(panel, ipywidgets.interactive)
    (slider,) = [c for c in panel.children if isinstance(c, ipywidgets.FloatSlider)]
    slider.value = 2.5
    assert calls[-1] == 2.5
    plt.close("all")


def test_static_settings_must_cover_controls(monkeypatch):
    monkeypatch.setenv(widgets.ENV_VAR, "static")
    with pytest.raises(ValueError, match=r"missing \['label'\]"):
        widgets.explorer(draw_line, {"slope": (0, 1), "label": ["a", "b"]}, [{"slope": 1}])


def test_bad_mode_and_empty_settings(monkeypatch):
    monkeypatch.setenv(widgets.ENV_VAR, "sometimes")
    with pytest.raises(ValueError, match="must be 'live' or 'static', got 'sometimes'"):
        widgets.mode()
    with pytest.raises(ValueError, match="at least one setting"):
        widgets.small_multiples(draw_line, [])
    with pytest.raises(TypeError, match="dict of parameters, got int"):
        widgets.small_multiples(draw_line, [3])


def test_static_figure_is_returned_closed_so_a_notebook_shows_it_once(monkeypatch):
    monkeypatch.setenv(widgets.ENV_VAR, "static")
    plt.close("all")
    fig = widgets.explorer(draw_line, {"slope": (0.0, 3.0)}, SETTINGS)
    assert fig.number not in plt.get_fignums()
