"""Runs the numpydoc ``Examples`` of every module in tinyemo_audit.metrics, and checks the public API is documented."""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import tinyemo_audit.metrics as metrics

MODULES = [info.name for info in pkgutil.iter_modules(metrics.__path__, prefix="tinyemo_audit.metrics.")]


@pytest.mark.parametrize("name", MODULES)
def test_module_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@pytest.mark.parametrize("name", [n for n in metrics.__all__ if callable(getattr(metrics, n))])
def test_public_function_has_runnable_example(name):
    doc = inspect.getdoc(getattr(metrics, name))
    assert "Examples\n--------" in doc and ">>> " in doc
    assert "Parameters\n----------" in doc and "Returns\n-------" in doc


def test_required_signatures():
    sig = inspect.signature
    assert list(sig(metrics.group_table).parameters)[:7] == [
        "y_true", "y_pred", "sensitive", "classes", "n_boot", "confidence", "seed"]
    params = sig(metrics.disparity).parameters
    assert params["kind"].default == "difference" and params["relative_to"].default == "groups"
    assert params["n_boot"].default == 1000 and params["n_perm"].default == 1000 and params["seed"].default == 0
    assert sig(metrics.weat).parameters["n_perm"].default == 10_000
    assert sig(metrics.benjamini_hochberg).parameters["q"].default == 0.05
    assert sig(metrics.cramers_v).parameters["bias_correction"].default is True
    assert sig(metrics.wilson_interval).parameters["confidence"].default == 0.95
