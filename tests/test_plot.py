import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlnotes import plot  # noqa: E402


def test_style_is_opaque_white_and_colour_blind_safe():
    fig, ax = plot.subplots(1, 2)
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"][:3] == [
        "#0072B2", "#E69F00", "#009E73"]
    assert np.allclose(fig.get_size_inches(), (6.8, 2.8))
    plt.close(fig)


def test_loss_curves_draws_each_sequence():
    fig, ax = plot.subplots()
    plot.loss_curves(ax, {"train": [3, 2, 1], "validation": [3, 2.5, 2.4]}, logy=True)
    assert [line.get_label() for line in ax.lines] == ["train", "validation"]
    assert ax.get_yscale() == "log"
    plt.close(fig)


def test_bad_input():
    with pytest.raises(ValueError, match="nrows must be a positive int, got 0"):
        plot.subplots(0, 1)
    fig, ax = plot.subplots()
    with pytest.raises(ValueError, match=r"curve 'a' must be 1-D, got shape \(2, 2\)"):
        plot.loss_curves(ax, {"a": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="at least one"):
        plot.loss_curves(ax, {})
    plt.close(fig)


@pytest.mark.parametrize("value, digits, text", [
    (2.53e14, 1, "2.5 × 10¹⁴"), (6.1e-6, 0, "6 × 10⁻⁶"), (9.96e3, 1, "1.0 × 10⁴"),
    (-3.2e-10, 1, "-3.2 × 10⁻¹⁰"), (1.0, 2, "1.00 × 10⁰"), (0.0, 1, "0")])
def test_sci_formats_numbers_for_prose(value, digits, text):
    assert plot.sci(value, digits) == text


@pytest.mark.parametrize("value, digits", [(float("nan"), 1), (1.0, -1), (1.0, 1.5)])
def test_sci_rejects_bad_input(value, digits):
    with pytest.raises(ValueError, match="sci needs a finite number|digits must be"):
        plot.sci(value, digits)
