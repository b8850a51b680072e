"""Programming labs that check themselves.

A lab is a stub that the reader fills in and a check that runs the reader's
function on fresh random inputs of several shapes (a typical batch, a batch of
one, more features than examples, non-square matrices, small and large
entries), compares each result with the package's tested reference, and says
in words what is wrong: not written yet, an exception, the wrong type, the
wrong shape, a transpose, a wrong sign, a factor such as the batch size N, a
result that is right for N > 1 but wrong for a batch of one, NaN or inf, or
plainly wrong values. A check never prints the reference's values.

Each check returns a :class:`LabResult` and prints its message. With the
environment variable ``DLNOTES_LABS=strict`` (the book build sets it) a failed
check raises ``AssertionError`` instead, so that a wrong solution cannot slip
into the book; unset, empty or ``DLNOTES_LABS=print`` only print, so that a
student notebook runs from top to bottom. ``seed`` means what it means
everywhere in dlnotes: an int >= 0 draws the same cases every time, ``None``
(the default) fresh ones.
"""

from dlnotes.labs.backprop import check_graph_backward, check_mlp_backward
from dlnotes.labs.classification import check_cross_entropy_logit_grad, check_softmax_grads
from dlnotes.labs.engine import ENV_VAR, Case, LabResult, Mistake, Output
from dlnotes.labs.gradient_descent import check_epoch_batches, check_step_sizes
from dlnotes.labs.matrix_calculus import check_linear_layer_backward, check_quadratic_form_gradient
from dlnotes.labs.networks import check_mlp_forward, check_param_count, check_relu_layer_backward
from dlnotes.labs.optimizers import check_adam_step, check_clip_grad_norm, check_nesterov_step
from dlnotes.labs.regression import check_kfold, check_lsq_gradient, check_normal_equations

__all__ = ["ENV_VAR", "Case", "LabResult", "Mistake", "Output",
           "check_lsq_gradient", "check_normal_equations", "check_kfold",
           "check_quadratic_form_gradient", "check_linear_layer_backward",
           "check_cross_entropy_logit_grad", "check_softmax_grads",
           "check_step_sizes", "check_epoch_batches",
           "check_adam_step", "check_nesterov_step", "check_clip_grad_norm",
           "check_mlp_forward", "check_param_count", "check_relu_layer_backward",
           "check_graph_backward", "check_mlp_backward"]
