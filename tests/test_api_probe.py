"""Every parameter of every public function, probed with bad values.

Each public function of ``dlnotes`` has one good call in ``GOOD`` below. For every
parameter of that call the probe substitutes values a careless or sceptical reader
might pass (a string, an arbitrary object, NaN, infinity, a bool, a complex number,
None, a float for an int, an array with a NaN in it, an unknown option). The call
must raise ``TypeError`` or ``ValueError`` whose message names the parameter; never
succeed, and never raise a raw error from NumPy, torch or matplotlib.

A test makes sure every public function of every module has an entry, so a new
function cannot skip the probe.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from dlnotes import autodiff, layers, losses, optim

MODULES = ["autodiff", "cv", "data", "device", "gradcheck", "labs.engine", "labs.regression",
           "labs.matrix_calculus", "labs.classification", "labs.gradient_descent",
           "labs.optimizers", "labs.networks", "labs.backprop",
           "landscapes", "layers", "linreg", "losses",
           "matcalc", "optim", "plot", "widgets.core",
           "widgets.regression", "widgets.matrix_calculus", "widgets.classification",
           "widgets.optimization", "widgets.backprop",
           "widgets.networks"]

rng = np.random.default_rng(0)
X5 = rng.standard_normal((6, 2))
Y6 = rng.standard_normal(6)
PHI = np.column_stack([np.ones(6), rng.standard_normal(6)])
W23 = rng.standard_normal((2, 3))


def _softmax_grads(X, W, b, y):
    G = (losses.softmax(X @ W.T + b) - losses.one_hot(y, W.shape[0])) / len(y)
    return G.T @ X, G.sum(0)


def _step_sizes(H):
    lam = np.linalg.eigvalsh(H)
    return 2 / lam[-1], 2 / (lam[0] + lam[-1]), (lam[-1] - lam[0]) / (lam[-1] + lam[0])


def _epoch_batches(n, batch_size):
    order = np.random.default_rng().permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def _adam_step(theta, g, m, s, t, lr, beta1, beta2, eps):
    m, s = beta1 * m + (1 - beta1) * g, beta2 * s + (1 - beta2) * g * g
    m_hat, s_hat = m / (1 - beta1**t), s / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(s_hat) + eps), m, s


def _clip_grad_norm(gW, gb, c):
    scale = min(1.0, c / np.sqrt((gW**2).sum() + (gb**2).sum()))
    return gW * scale, gb * scale


def _mlp_backward(X, y, W1, b1, W2, b2):
    S1 = X @ W1.T + b1
    H1 = np.maximum(S1, 0)
    G2 = (losses.softmax(H1 @ W2.T + b2) - losses.one_hot(y, W2.shape[0])) / len(y)
    G1 = (G2 @ W2) * (S1 > 0)
    return G1.T @ X, G1.sum(0), G2.T @ H1, G2.sum(0)


def _relu_layer_backward(X, W, b, G):
    G = G * (X @ W.T + b > 0)
    return G.T @ X, G @ W, G.sum(0)


def _sq(x):
    return float(np.sum(np.asarray(x) ** 2))


def _ax():
    return plt.figure().add_subplot()


def _fit(X, y):
    return np.linalg.lstsq(np.column_stack([np.ones(len(X)), X]), y, rcond=None)[0]


def _predict(theta, X):
    return np.column_stack([np.ones(len(X)), X]) @ theta


# function name -> keyword arguments of one good call. Values that are callables named
# "make" are called fresh for each probe (axes must not be shared between calls).
GOOD: dict[str, dict] = {
    "cv.train_val_test_split": dict(n=20, val=4, test=4, seed=0),
    "cv.kfold_indices": dict(n=10, k=3, seed=0),
    "cv.mse": dict(y=Y6, y_hat=Y6 + 0.1),
    "cv.cross_validate": dict(fit=_fit, predict=_predict, X=X5[:, :1], y=Y6, k=3, seed=0),
    "data.rent": dict(n=10, seed=0, noise=300.0),
    "data.polynomial": dict(n=10, coefficients=(0.0, 1.0), noise=0.3, seed=0),
    "data.standardize": dict(x_train=X5),
    "data.digits": dict(seed=0, val=0.15, test=0.15),
    "data.cache_dir": dict(),
    "data.fetch": None,  # touches the file system and URLs: probed in test_data.py
    "data.blobs": dict(n=30, centers=3, std=0.5, seed=0),
    "data.spirals": dict(n=30, n_classes=3, noise=0.05, seed=0),
    "data.xor": dict(n=20, noise=0.1, seed=0),
    "data.split": dict(X=X5, y=Y6, val=0.2, test=0.2, seed=0),
    "landscapes.Landscape": None,  # built by the constructors; its methods: test_landscapes.py
    "landscapes.quadratic": dict(kappa=10.0, angle=30.0, center=np.array([1.0, -1.0])),
    "landscapes.rosenbrock": dict(a=1.0, b=100.0),
    "landscapes.beale": dict(),
    "landscapes.himmelblau": dict(),
    "landscapes.saddle": dict(kind="monkey"),
    "losses.sigmoid": dict(z=Y6),
    "losses.softmax": dict(z=W23, axis=-1),
    "losses.log_softmax": dict(z=W23, axis=-1),
    "losses.logsumexp": dict(z=W23, axis=-1),
    "losses.one_hot": dict(labels=np.array([0, 2, 1]), n_classes=3),
    "losses.cross_entropy": dict(logits=W23, targets=np.array([0, 2]), label_smoothing=0.1,
                                 reduction="mean"),
    "losses.cross_entropy_grad": dict(logits=W23, targets=np.array([[0.2, 0.3, 0.5],
                                                                    [1.0, 0.0, 0.0]]),
                                      label_smoothing=0.1, reduction="sum"),
    "losses.binary_cross_entropy_with_logits": dict(
        logits=Y6, targets=np.array([0.0, 1.0, 1.0, 0.0, 0.5, 1.0]), reduction="mean"),
    "losses.mse": dict(y_hat=Y6, y=Y6 + 0.1, reduction="sum"),
    # classes: their constructors are validated in test_optim.py
    "optim.Optimizer": None,
    "optim.SGD": None,
    "optim.AdaGrad": None,
    "optim.RMSProp": None,
    "optim.Adam": None,
    "optim.AdamW": None,
    "optim.trajectory": dict(optimizer=optim.SGD(lr=0.1), grad_fn=lambda x: 2 * x,
                             x0=np.array([1.0, -2.0]), n_steps=5),
    "optim.constant": dict(lr=0.1),
    "optim.step_decay": dict(lr=0.1, step_size=10, gamma=0.5),
    "optim.exp_decay": dict(lr=0.1, gamma=0.9),
    "optim.inv_time": dict(lr=0.1, k=0.01),
    "optim.cosine": dict(lr=0.1, T=100, lr_min=0.001),
    "optim.warmup": dict(after=optim.constant(0.1), warmup_steps=5, start=0.1),
    "optim.clip_grad_norm": dict(grads=np.array([30.0, 40.0]), max_norm=10.0, eps=1e-6),
    "optim.clip_grad_value": dict(grads=np.array([30.0, -40.0]), clip_value=10.0),
    "device.device": dict(name="cpu"),
    "device.seed": dict(n=0),
    "device.fast_mode": dict(),
    "gradcheck.numerical_grad": dict(f=_sq, x=np.array([1.0, 2.0]), h=1e-6),
    "gradcheck.numerical_jacobian": dict(f=np.tanh, x=np.array([1.0, 2.0]), h=1e-6,
                                         layout="numerator"),
    "gradcheck.numerical_hessian": dict(grad_f=lambda x: 2 * x, x=np.array([1.0, 2.0]), h=1e-5),
    "gradcheck.to_denominator": dict(jacobian=W23, in_ndim=1),
    "gradcheck.to_numerator": dict(derivative=W23, in_ndim=1),
    "gradcheck.rel_error": dict(a=np.array([1.0, 2.0]), b=np.array([1.0, 2.1])),
    "gradcheck.directional_check": dict(f=_sq, grad=np.array([2.0, 4.0]), x=np.array([1.0, 2.0]),
                                        n_dirs=3, h=1e-6, seed=0),
    "gradcheck.GradCheck": None,  # a result record, not called by readers
    "gradcheck.autograd_grad": dict(f_torch=lambda t: (t**2).sum(), x=np.array([1.0, 2.0])),
    "gradcheck.check_grad": dict(f=_sq, grad=np.array([2.0, 4.0]), x=np.array([1.0, 2.0]),
                                 f_torch=lambda t: (t**2).sum(), h=1e-6, tol=1e-7),
    "gradcheck.taylor_error": dict(f=_sq, grad=np.array([2.0, 4.0]), x=np.array([1.0, 2.0]),
                                   d=np.array([1.0, 0.0]), ts=np.array([1e-1, 1e-2])),
    "gradcheck.step_size_errors": dict(f=np.sin, df=np.cos, x=1.0, hs=np.array([1e-3, 1e-5]),
                                       dtype=np.float64),
    "labs.regression.check_lsq_gradient": dict(
        fn=lambda theta, Phi, y: Phi.T @ (Phi @ theta - y) / len(y), seed=0),
    "labs.regression.check_normal_equations": dict(
        fn=lambda Phi, y: np.linalg.lstsq(Phi, y, rcond=None)[0], seed=0),
    "labs.regression.check_kfold": dict(fn=lambda n, k: [
        (np.setdiff1d(np.arange(n), f), f) for f in np.array_split(np.arange(n), k)], seed=0),
    "labs.matrix_calculus.check_quadratic_form_gradient": dict(fn=lambda A, x: (A + A.T) @ x,
                                                               seed=0),
    "labs.matrix_calculus.check_linear_layer_backward": dict(
        fn=lambda X, W, G: (G.T @ X, G @ W, G.sum(0)), seed=0),
    "labs.classification.check_cross_entropy_logit_grad": dict(
        fn=lambda Z, y: (losses.softmax(Z) - losses.one_hot(y, Z.shape[1])) / len(y), seed=0),
    "labs.classification.check_softmax_grads": dict(fn=_softmax_grads, seed=0),
    "labs.gradient_descent.check_step_sizes": dict(fn=_step_sizes, seed=0),
    "labs.gradient_descent.check_epoch_batches": dict(fn=_epoch_batches, seed=0),
    "labs.optimizers.check_adam_step": dict(fn=_adam_step, seed=0),
    "labs.optimizers.check_nesterov_step": dict(
        fn=lambda phi, v, g, lr, mu: (phi + mu * (mu * v - lr * g) - lr * g, mu * v - lr * g),
        seed=0),
    "labs.optimizers.check_clip_grad_norm": dict(fn=_clip_grad_norm, seed=0),
    "optim.heavy_ball_rate": dict(lr_curvature=np.array([1.0, 3.9]), momentum=0.9),
    "optim.tuned_heavy_ball": dict(lam_min=1.0, lam_max=50.0),
    "optim.effective_step": dict(optimizer=optim.Adam(0.1), grads=np.ones(5)),
    "optim.ema": dict(iterates=np.arange(6.0).reshape(3, 2), beta=0.9),
    "autodiff.Value": dict(data=2.0, label="x"),
    "autodiff.topological_order": dict(root=autodiff.Value(2.0) * 3.0),
    "autodiff.zero_grad": dict(root=autodiff.Value(2.0) * 3.0),
    "autodiff.draw_graph": dict(root=autodiff.Value(2.0, "x").exp(), ax=_ax),
    "widgets.backprop.BackpropStep": None,  # a result record
    "widgets.backprop.backprop_graph": dict(example="sigmoid neuron", values={"w0": 1.0}),
    "widgets.backprop.backprop_steps": dict(root=autodiff.Value(2.0) * 3.0),
    "widgets.backprop.draw_backprop": dict(ax=_ax, example="max(x y, z) + x", step=3,
                                           values={"x": 1.0}),
    "widgets.backprop.backprop_explorer": dict(example="(x + y) z", values={"y": -1.5}),
    "layers.Module": None,  # the base class
    "layers.Linear": dict(d_in=3, d_out=2, seed=0, init="xavier", like=None),
    "layers.ReLU": dict(),
    "layers.LeakyReLU": dict(negative_slope=0.1),
    "layers.Sigmoid": dict(),
    "layers.Tanh": dict(),
    "layers.ELU": dict(alpha=1.0),
    "layers.GELU": dict(),
    "layers.SiLU": dict(),
    "layers.Softplus": dict(),
    "layers.Identity": dict(),
    "layers.SoftmaxCrossEntropy": dict(),
    "layers.Sequential": None,  # takes its modules positionally: probed in test_layers.py
    "layers.mlp": dict(sizes=[3, 4, 2], activation="tanh", seed=0, init="xavier", like=None),
    "layers.to_torch": dict(model=layers.mlp([2, 3, 3], seed=0)),
    "layers.train_epoch": dict(model=layers.mlp([2, 3, 3], seed=0),
                               loss=layers.SoftmaxCrossEntropy(), optimizer=optim.SGD(lr=0.1),
                               X=X5, y=np.array([0, 1, 2, 0, 1, 2]), batch_size=4, seed=0),
    "layers.predict": dict(model=layers.mlp([2, 3, 3], seed=0), X=X5),
    "layers.accuracy": dict(model=layers.mlp([2, 3, 3], seed=0), X=X5,
                            y=np.array([0, 1, 2, 0, 1, 2])),
    "labs.backprop.check_graph_backward": dict(
        fn=lambda x, y, z, g: (g * ((x * y > z) * y + 1), g * (x * y > z) * x, g * (x * y <= z)),
        seed=0),
    "labs.backprop.check_mlp_backward": dict(fn=_mlp_backward, seed=0),
    "labs.networks.check_mlp_forward": dict(
        fn=lambda X, W1, b1, W2, b2: np.maximum(X @ W1.T + b1, 0) @ W2.T + b2, seed=0),
    "labs.networks.check_param_count": dict(
        fn=lambda sizes: sum(n * (m + 1) for m, n in zip(sizes[:-1], sizes[1:])), seed=0),
    "labs.networks.check_relu_layer_backward": dict(fn=_relu_layer_backward, seed=0),
    "widgets.networks.saturated_intervals": dict(name="gelu", threshold=0.01,
                                                 negative_slope=0.01, alpha=1.0),
    "widgets.networks.activation_numbers": dict(name="elu", threshold=0.001, tau=3.0,
                                                negative_slope=0.01, alpha=0.5, lim=6.0, n=101),
    "widgets.networks.draw_activation": dict(ax=_ax, name="leaky_relu", threshold=0.1, tau=2.0,
                                             negative_slope=0.2, alpha=1.0, lim=5.0),
    "widgets.networks.draw_activation_histogram": dict(ax=_ax, name="tanh", threshold=0.01,
                                                       tau=3.0, negative_slope=0.01, alpha=1.0,
                                                       seed=0),
    "widgets.networks.activation_explorer": dict(name="relu", threshold=0.01, tau=3.0),
    "widgets.networks.xor_training": dict(activation="relu", seed=1),
    "widgets.networks.draw_xor": dict(ax_input=_ax, ax_hidden=_ax, activation="sigmoid",
                                      step=40, seed=0),
    "widgets.networks.xor_explorer": dict(activation="tanh", seed=0),
    "data.minibatches": dict(n=10, batch_size=3, seed=0, shuffle=True, drop_last=False),
    "landscapes.double_well": dict(),
    "landscapes.condition_number": dict(H=np.array([[2.0, 1.0], [1.0, 3.0]])),
    "landscapes.random_unit_vectors": dict(n=4, dim=3, seed=0),
    "labs.engine.LabResult": None,  # records: the result, and the pieces a new lab is written from
    "labs.engine.Case": None,
    "labs.engine.Mistake": None,
    "labs.engine.Output": None,
    "linreg.design_matrix": dict(x=Y6),
    "linreg.polynomial_features": dict(x=Y6, degree=3),
    "linreg.fit_normal_equations": dict(Phi=PHI, y=Y6),
    "linreg.fit_lstsq": dict(Phi=PHI, y=Y6),
    "linreg.fit_ridge": dict(Phi=PHI, y=Y6, lam=0.5),
    "linreg.fit_tls": dict(x=PHI[:, 1], y=Y6),
    "linreg.fit_lad": dict(Phi=PHI, y=Y6, iters=50, tol=1e-10, delta=1e-8),
    "linreg.fit_gd": dict(Phi=PHI, y=Y6, eta=0.1, steps=5, theta0=np.zeros(2)),
    "linreg.lsq_loss": dict(theta=np.zeros(2), Phi=PHI, y=Y6),
    "linreg.lsq_grad": dict(theta=np.zeros(2), Phi=PHI, y=Y6),
    "linreg.gaussian_nll": dict(theta=np.zeros(2), log_sigma=0.0, Phi=PHI, y=Y6),
    "linreg.hat_matrix": dict(Phi=PHI, rtol=1e-12),
    "linreg.gram_condition": dict(Phi=PHI, digits=30),
    "linreg.IllConditionedWarning": None,  # warning classes
    "linreg.RankDeficientWarning": None,
    "linreg.ConvergenceWarning": None,
    "matcalc.MatmulGrads": None,  # result records
    "matcalc.LinearGrads": None,
    "matcalc.matvec_grads": dict(W=W23, x=np.ones(3), g=np.ones(2)),
    "matcalc.matmul_grads": dict(W=W23, X=np.ones((3, 4)), G=np.ones((2, 4))),
    "matcalc.linear_rows": dict(X=np.ones((4, 3)), W=W23, b=np.ones(2)),
    "matcalc.linear_rows_grads": dict(X=np.ones((4, 3)), W=W23, G=np.ones((4, 2))),
    "matcalc.kernel_grads": dict(X=np.ones((4, 3)), K=W23.T.copy(), G=np.ones((4, 2))),
    "matcalc.sum_outer_products": dict(G=np.ones((4, 2)), X=np.ones((4, 3))),
    "matcalc.dz_dW_tensor": dict(W=W23, x=np.ones(3)),
    "matcalc.softmax_jacobian": dict(z=np.array([1.0, 2.0, 3.0])),
    "matcalc.chain_grad": dict(jacobians=[W23.T.copy(), W23], g=np.ones(2), order="reverse"),
    "matcalc.classify_stationary": dict(H=np.diag([1.0, 2.0]), tol=1e-10),
    "plot.use_style": dict(),
    "plot.sci": dict(value=2.5e14, digits=1),
    "plot.glue": dict(name="probe-value", value=1.5, display=False),
    "plot.subplots": dict(nrows=1, ncols=2, panel=(3.0, 2.0)),
    "plot.loss_curves": dict(ax=_ax, curves={"train": [3.0, 2.0, 1.0]}, xlabel="step",
                             ylabel="loss", logy=False),
    "plot.residual_segments": dict(ax=_ax, x=PHI[:, 1], y=Y6, slope=1.0, intercept=0.0,
                                   kind="vertical", color="#D55E00"),
    "plot.fold_layout": dict(ax=_ax, n=20, k=4, test=4, highlight=2),
    "plot.matrix_heatmap": dict(ax=_ax, M=W23, title="W", highlight_row=1, annotate=True,
                                vmax=2.0, fmt="{:.2g}"),
    "widgets.core.mode": dict(),
    "widgets.core.small_multiples": None,  # drawing plumbing: probed in test_widgets.py
    "widgets.core.explorer": None,
    "widgets.core.live_panels": None,
    "widgets.regression.line_fitter": dict(x=PHI[:, 1], y=Y6),
    "widgets.regression.polynomial_explorer": dict(seed=0, coefficients=(0.0, 1.0)),
    "widgets.regression.outlier_explorer": dict(seed=0),
    "widgets.regression.kfold_errors": dict(k=4, seed=0),
    "widgets.regression.kfold_explorer": dict(seed=0),
    "widgets.matrix_calculus.derivative_of": dict(name="W x", m=3, n=2, layout="numerator",
                                                  seed=0),
    "widgets.matrix_calculus.draw_derivative": dict(ax=_ax, map="W x", m=3, n=2,
                                                    layout="numerator"),
    "widgets.matrix_calculus.layout_explorer": dict(),
    "widgets.matrix_calculus.draw_tensor_slice": dict(ax=_ax, k=1, view="slice"),
    "widgets.matrix_calculus.tensor_slice_explorer": dict(),
    "widgets.matrix_calculus.quiz_table": dict(target="dL/dW", layout="rows", square=False),
    "widgets.matrix_calculus.format_quiz_table": dict(targets=("dL/dW", "dL/dX"), layout="rows"),
    "widgets.matrix_calculus.dimension_quiz": dict(),
    "widgets.matrix_calculus.draw_first_order": dict(ax=_ax, t=0.5, angle=30.0),
    "widgets.matrix_calculus.first_order_explorer": dict(),
    "widgets.classification.softmax_numbers": dict(
        logits=np.array([2.0, 1.0, 0.1]), temperature=1.0, true_class=0, shift=0.0,
        method="stable", float32=False),
    "widgets.classification.draw_softmax": dict(
        ax=_ax, logits=np.array([2.0, 1.0, 0.1]), temperature=0.5, true_class=1, shift=100.0,
        method="naive vs stable", float32=True),
    "widgets.classification.softmax_explorer": dict(logits=np.array([2.0, 1.0, 0.1]),
                                                    true_class=0),
    "widgets.optimization.Run": None,  # a result record
    "widgets.optimization.descent_run": dict(lr=0.1, kappa=10.0, angle=30.0,
                                             start=np.array([1.0, 1.0]), tol=1e-10,
                                             max_steps=200),
    "widgets.optimization.draw_descent": dict(ax=_ax, lr=0.19, kappa=10.0, angle=0.0,
                                              start=np.array([1.0, 1.0]), arrows=True,
                                              tol=1e-10, max_steps=200),
    "widgets.optimization.draw_descent_losses": dict(
        ax=_ax, lrs=np.array([0.01, 0.21]), kappa=10.0, angle=0.0, start=np.array([1.0, 1.0]),
        tol=1e-10, max_steps=200),
    "widgets.optimization.descent_explorer": dict(tol=1e-10, max_steps=300),
    "widgets.optimization.race_runs": dict(
        surface="bowl", angle=45.0, optimizers=("GD", "Adam"), lr_scale=1.0, mu=0.9, rho=0.99,
        beta1=0.9, beta2=0.999, bias_correction=True, steps=50, tol=1e-6),
    "widgets.optimization.draw_race": dict(
        ax=_ax, surface="Beale", angle=0.0, optimizers=("momentum", "RMSProp"), lr_scale=1.0,
        mu=0.9, rho=0.99, beta1=0.9, beta2=0.999, bias_correction=False, steps=50, every=2,
        tol=1e-6, legend=True),
    "widgets.optimization.optimizer_race": dict(tol=1e-6, steps=200),
}

# Parameters that take any object by design.
ANYTHING = {("plot.glue", "value")}
# String parameters that choose among options (an unknown option must be refused).
OPTIONS = {"layout", "order", "kind", "view", "name", "map", "target", "reduction", "method",
           "surface", "example"}
# String parameters that are free text.
FREE_TEXT = {"xlabel", "ylabel", "title", "color", "fmt"}


def _public(module):
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield name, obj


def _resolve(qualname):
    mod, name = qualname.rsplit(".", 1)
    return getattr(importlib.import_module(f"dlnotes.{mod}"), name)


def test_every_public_function_has_a_good_call():
    missing = [f"{m}.{n}" for m in MODULES
               for n, _ in _public(importlib.import_module(f"dlnotes.{m}"))
               if f"{m}.{n}" not in GOOD]
    assert not missing, f"add a good call to GOOD for {missing}"


def _bad_values(qualname, name, good, default):
    """(label, value) pairs that must be refused in place of ``good``."""
    common = [("str", "abc"), ("object", object())]
    if default is not None and name != "seed":  # seed=None: fresh randomness, everywhere
        common.append(("None", None))
    if isinstance(good, bool):
        return [("str", "yes"), ("int", 2), ("object", object())]
    if isinstance(good, (int, np.integer)):
        return common + [("float", 2.5), ("bool", True), ("nan", math.nan), ("complex", 1j)]
    if isinstance(good, float):
        return common + [("nan", math.nan), ("inf", math.inf), ("bool", True), ("complex", 1j)]
    if isinstance(good, str):
        if name in FREE_TEXT:
            return [("int", 3)] + ([("None", None)] if default is not None else [])
        bad = [("int", 3), ("object", object())]
        if name in OPTIONS and qualname != "plot.glue":  # glue's name is free text
            bad.append(("unknown option", "no-such-option"))
        return bad
    if isinstance(good, np.ndarray) and good.dtype.kind == "f":
        with_nan = good.copy()
        with_nan.flat[0] = np.nan
        return common + [("array with NaN", with_nan)]
    if callable(good):
        return [("str", "abc"), ("int", 3)]
    return common


CASES = []
for qualname, kwargs in GOOD.items():
    if kwargs is None:
        continue
    params = inspect.signature(_resolve(qualname)).parameters
    for pname, value in kwargs.items():
        if getattr(value, "__name__", "") == "_ax" or (qualname, pname) in ANYTHING:
            continue  # axes come from the book's own code; some parameters take anything
        default = params[pname].default
        default = value if default is inspect.Parameter.empty else default
        for label, bad in _bad_values(qualname, pname, value, default):
            CASES.append(pytest.param(qualname, pname, bad, id=f"{qualname}-{pname}-{label}"))


def _call(qualname, kwargs):
    f = _resolve(qualname)
    args = {k: (v() if getattr(v, "__name__", "") == "_ax" else v) for k, v in kwargs.items()}
    try:
        return f(**args)
    finally:
        plt.close("all")


@pytest.mark.parametrize("qualname", [q for q, k in GOOD.items() if k is not None])
def test_good_call_succeeds(qualname, static):
    _call(qualname, GOOD[qualname])


@pytest.mark.parametrize("qualname, pname, bad", CASES)
def test_bad_argument_is_refused_by_name(qualname, pname, bad, static):
    kwargs = dict(GOOD[qualname], **{pname: bad})
    with pytest.raises((TypeError, ValueError)) as info:
        _call(qualname, kwargs)
    message = str(info.value)
    assert re.search(rf"\b{re.escape(pname)}\b", message), (
        f"{qualname}({pname}={bad!r}) raised {type(info.value).__name__} without naming "
        f"{pname!r}: {message}")
    assert info.traceback[-1].path.as_posix().count("/dlnotes/"), (
        f"{qualname}({pname}={bad!r}) raised from outside dlnotes "
        f"({info.traceback[-1].path}): {message}")
