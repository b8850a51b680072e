"""The explorer pattern: live ipywidgets in Jupyter, small multiples elsewhere."""

import matplotlib

matplotlib.use("Agg")
import ipywidgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
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


# --- every argument is checked, the same way in both modes ------------------------------


CONTROLS = {"slope": (0.0, 3.0, 0.1), "label": ["line", "other"]}
GOOD = [{"slope": 0.5, "label": "line"}, {"slope": 3, "label": "other"}]


def test_good_explorer_in_either_mode(either):
    out = widgets.explorer(draw_line, CONTROLS, GOOD, ncols=2, panel=(2.0, 1.5), titles=False)
    expected = plt.Figure if either == "static" else ipywidgets.interactive
    assert isinstance(out, expected)


EXPLORER_BAD = [
    (dict(draw="draw"), TypeError, "draw must be callable, got str"),
    (dict(controls=[("slope", (0, 1))]), TypeError,
     "controls must be a mapping of parameter name -> control, got list"),
    (dict(controls={}), ValueError, "controls must name at least one parameter"),
    (dict(controls={1: (0, 1)}), TypeError, "controls must be keyed by parameter names, got 1"),
    (dict(controls={"slope": (0, 3), "label": 3.5}), TypeError,
     r"controls\['label'\] must be a slider tuple, a list of options, a bool, a str or an "
     r"ipywidgets widget, got float"),
    (dict(controls={"slope": (3, 0), "label": ["line"]}), ValueError,
     r"controls\['slope'\] must have lo < hi, got \(3, 0\)"),
    (dict(controls={"slope": (0, 3, -1), "label": ["line"]}), ValueError,
     r"controls\['slope'\] must have a step in \(0, hi - lo\]"),
    (dict(controls={"slope": (0, float("nan")), "label": ["line"]}), ValueError,
     r"controls\['slope'\] hi must be finite"),
    (dict(controls={"slope": ("a", "b"), "label": ["line"]}), TypeError,
     r"controls\['slope'\] must be a slider \(lo, hi\) or \(lo, hi, step\) of real numbers"),
    (dict(controls={"slope": (0, 3), "label": []}), ValueError,
     r"controls\['label'\] must offer at least one option"),
    (dict(controls={"slope": (0, 3), "colour": ["red"]}), ValueError,
     r"static\[0\] is missing \['colour'\]"),
    (dict(static={"slope": 1, "label": "line"}), TypeError,
     "static must be a list of dicts of parameters, got dict; wrap a single setting in a list"),
    (dict(static="slope"), TypeError, "static must be a list of dicts of parameters, got str"),
    (dict(static=[]), ValueError, "static must hold at least one setting, got none"),
    (dict(static=[{"slope": 1, "label": "line"}, 3]), TypeError,
     r"static\[1\] must be a dict of parameters, got int"),
    (dict(static=[{"slope": 4.0, "label": "line"}]), ValueError,
     r"static\[0\]\['slope'\] = 4.0 is outside the control's range \[0.0, 3.0\]"),
    (dict(static=[{"slope": float("nan"), "label": "line"}]), TypeError,
     r"static\[0\]\['slope'\] must be a finite real number"),
    (dict(static=[{"slope": "1", "label": "line"}]), TypeError,
     r"static\[0\]\['slope'\] must be a finite real number for the slider"),
    (dict(static=[{"slope": 1, "label": "dashed"}]), ValueError,
     r"static\[0\]\['label'\] must be one of the control's options \['line', 'other'\], "
     r"got 'dashed'"),
    (dict(static=[{"slope": 1, "label": "line", "colour": "red"}]), TypeError,
     r"static\[0\] does not fit draw\(ax, slope, label='line'\): got an unexpected keyword "
     r"argument 'colour'"),
    (dict(draw=lambda ax, slope, label, width: None), TypeError,
     r"static\[0\] does not fit draw\(ax, slope, label, width\): missing a required argument: "
     r"'width'"),
    (dict(grid=dict(colums=2)), TypeError,
     r"explorer got unknown keyword\(s\) \['colums'\]; it passes only ncols, panel, sharey, "
     r"titles"),
    (dict(grid=dict(ncols=0)), ValueError, "ncols must be >= 1, got 0"),
    (dict(grid=dict(panel=(0, 1))), ValueError, r"panel\[0\] \(width\) must be > 0"),
    (dict(grid=dict(sharey="yes")), TypeError, "sharey must be True or False"),
    (dict(grid=dict(titles=None)), TypeError, "titles must be True or False"),
]


@pytest.mark.parametrize("change, error, match", EXPLORER_BAD)
def test_explorer_refuses_bad_input_in_either_mode(either, change, error, match):
    args = dict(draw=draw_line, controls=CONTROLS, static=GOOD, grid={})
    args.update(change)
    with pytest.raises(error, match=match):
        widgets.explorer(args["draw"], args["controls"], args["static"], **args["grid"])


def test_int_sliders_take_ints_and_checkboxes_bools(either):
    def draw(ax, n, flag):
        ax.plot(range(n))

    controls = {"n": (1, 5, 1), "flag": True}
    widgets.explorer(draw, controls, [{"n": np.int64(2), "flag": np.bool_(False)}])
    with pytest.raises(TypeError, match=r"static\[0\]\['n'\] must be an int, got float 2.5"):
        widgets.explorer(draw, controls, [{"n": 2.5, "flag": False}])
    with pytest.raises(TypeError, match=r"static\[0\]\['flag'\] must be True or False"):
        widgets.explorer(draw, controls, [{"n": 2, "flag": 1}])
    with pytest.raises(ValueError, match=r"static\[0\]\['n'\] = 6 is outside the control's "
                                         r"range \[1, 5\]"):
        widgets.explorer(draw, controls, [{"n": 6, "flag": True}])


def test_widget_controls_are_checked_by_their_own_range(either):
    slider = ipywidgets.IntSlider(min=0, max=4)
    widgets.explorer(draw_line, {"slope": slider}, [{"slope": 4}])
    with pytest.raises(ValueError, match=r"static\[0\]\['slope'\] = 5 is outside the widget's "
                                         r"range \[0, 4\]"):
        widgets.explorer(draw_line, {"slope": slider}, [{"slope": 5}])


SMALL_MULTIPLES_BAD = [
    (dict(draw=None), TypeError, "draw must be callable, got NoneType"),
    (dict(settings=SETTINGS[0]), TypeError, "settings must be a list of dicts"),
    (dict(settings=[{"slop": 1}]), TypeError, r"settings\[0\] does not fit draw"),
    (dict(settings=[{1: 1}]), TypeError, r"settings\[0\] must be keyed by parameter names"),
    (dict(ncols=1.5), TypeError, "ncols must be an int, got float"),
    (dict(ncols=-1), ValueError, "ncols must be >= 1, got -1"),
    (dict(panel="big"), TypeError, r"panel must be a pair \(width, height\)"),
    (dict(sharey=1), TypeError, "sharey must be True or False, got int"),
    (dict(titles="no"), TypeError, "titles must be True or False, got str"),
]


@pytest.mark.parametrize("change, error, match", SMALL_MULTIPLES_BAD)
def test_small_multiples_refuses_bad_input(static, change, error, match):
    args = dict(draw=draw_line, settings=SETTINGS)
    args.update(change)
    draw, settings = args.pop("draw"), args.pop("settings")
    with pytest.raises(error, match=match):
        widgets.small_multiples(draw, settings, **args)


def test_a_failing_draw_leaves_no_open_figure(static):
    def broken(ax, slope):
        raise RuntimeError("broken draw")

    plt.close("all")
    with pytest.raises(RuntimeError, match="broken draw"):
        widgets.small_multiples(broken, SETTINGS)
    assert plt.get_fignums() == []


LIVE_PANELS_BAD = [
    (dict(draw=3), TypeError, "draw must be callable, got int"),
    (dict(controls=None), TypeError, "controls must be a mapping"),
    (dict(controls={"slope": (1, 1)}), ValueError, r"controls\['slope'\] must have lo < hi"),
    (dict(controls={"width": (0, 1)}), TypeError, "controls does not fit draw"),
    (dict(ncols=0), ValueError, "ncols must be >= 1, got 0"),
    (dict(ncols=True), TypeError, "ncols must be an int, got bool"),
    (dict(panel=(1.0, -2.0)), ValueError, r"panel\[1\] \(height\) must be > 0"),
]


@pytest.mark.parametrize("change, error, match", LIVE_PANELS_BAD)
def test_live_panels_refuses_bad_input(live, change, error, match):
    def draw(axes, slope):
        draw_line(axes[0], slope)

    args = dict(draw=draw, controls={"slope": (0.0, 1.0)})
    args.update(change)
    with pytest.raises(error, match=match):
        widgets.live_panels(args.pop("draw"), args.pop("controls"), **args)


def test_live_panels_redraws_on_every_panel(live, monkeypatch):
    shown = []
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gcf()))

    def draw(axes, slope):
        for ax in axes:
            draw_line(ax, slope)

    panel = widgets.live_panels(draw, {"slope": (0.0, 1.0)}, ncols=np.int64(3))
    panel.update()
    assert shown and all(len(fig.axes) == 3 for fig in shown)
