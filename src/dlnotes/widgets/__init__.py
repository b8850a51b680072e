"""Interactive explorers: live ipywidgets in Jupyter, small multiples in print.

The pattern is in :mod:`dlnotes.widgets.core`; the explorers are grouped by
topic and re-exported here, so a chapter writes ``widgets.line_fitter()``.
"""

from dlnotes.widgets.backprop import (
    BACKPROP_EXAMPLES,
    BackpropStep,
    backprop_explorer,
    backprop_graph,
    backprop_steps,
    draw_backprop,
)
from dlnotes.widgets.classification import (
    SOFTMAX_METHODS,
    draw_softmax,
    softmax_explorer,
    softmax_numbers,
)
from dlnotes.widgets.core import ENV_VAR, explorer, live_panels, mode, small_multiples
from dlnotes.widgets.matrix_calculus import (
    DERIVATIVE_MAPS,
    QUIZ_CANDIDATES,
    derivative_of,
    dimension_quiz,
    draw_derivative,
    draw_first_order,
    draw_tensor_slice,
    first_order_explorer,
    format_quiz_table,
    layout_explorer,
    quiz_table,
    tensor_slice_explorer,
)
from dlnotes.widgets.networks import (
    ACTIVATION_NAMES,
    SATURATION_THRESHOLDS,
    XOR_ACTIVATIONS,
    XOR_STATIC_STEPS,
    XOR_STEPS,
    activation_explorer,
    activation_numbers,
    draw_activation,
    draw_activation_histogram,
    draw_xor,
    saturated_intervals,
    xor_explorer,
    xor_training,
)
from dlnotes.widgets.optimization import (
    DESCENT_LRS,
    RACE_KAPPA,
    RACE_OPTIMIZERS,
    RACE_PAIRS,
    RACE_SURFACES,
    Run,
    descent_explorer,
    descent_run,
    draw_descent,
    draw_descent_losses,
    draw_race,
    optimizer_race,
    race_runs,
)
from dlnotes.widgets.regression import (
    KFOLD_DEGREES,
    kfold_errors,
    kfold_explorer,
    line_fitter,
    outlier_explorer,
    polynomial_explorer,
)

__all__ = [
    "BACKPROP_EXAMPLES", "BackpropStep", "backprop_explorer", "backprop_graph", "backprop_steps",
    "draw_backprop",
    "ENV_VAR", "explorer", "live_panels", "mode", "small_multiples",
    "DERIVATIVE_MAPS", "QUIZ_CANDIDATES", "derivative_of", "dimension_quiz", "draw_derivative",
    "draw_first_order", "draw_tensor_slice", "first_order_explorer", "format_quiz_table",
    "layout_explorer", "quiz_table", "tensor_slice_explorer",
    "KFOLD_DEGREES", "kfold_errors", "kfold_explorer", "line_fitter", "outlier_explorer",
    "polynomial_explorer",
    "SOFTMAX_METHODS", "draw_softmax", "softmax_explorer", "softmax_numbers",
    "DESCENT_LRS", "RACE_KAPPA", "RACE_OPTIMIZERS", "RACE_PAIRS", "RACE_SURFACES", "Run",
    "descent_explorer", "descent_run", "draw_descent", "draw_descent_losses", "draw_race",
    "optimizer_race", "race_runs",
    "ACTIVATION_NAMES", "SATURATION_THRESHOLDS", "XOR_ACTIVATIONS", "XOR_STATIC_STEPS",
    "XOR_STEPS", "activation_explorer", "activation_numbers", "draw_activation",
    "draw_activation_histogram", "draw_xor", "saturated_intervals", "xor_explorer",
    "xor_training",
]
