"""The optimizer registry and torch.optim cannot drift apart unnoticed."""

from __future__ import annotations

import inspect

import pytest
import torch

from gdplay.errors import ConfigError
from gdplay.optim.factory import accepted_options, check_options, lookup
from gdplay.optim.registry import OPTIMIZERS


def torch_optimizers():
    return {
        name
        for name, cls in vars(torch.optim).items()
        if inspect.isclass(cls) and issubclass(cls, torch.optim.Optimizer) and cls is not torch.optim.Optimizer
    }


def test_every_torch_optimizer_has_a_registry_entry():
    registered = {info.torch_class for info in OPTIMIZERS.values() if info.torch_class}
    assert torch_optimizers() <= registered, f"new in torch.optim: {torch_optimizers() - registered}"


def test_every_registry_entry_exists_in_torch():
    for info in OPTIMIZERS.values():
        if info.torch_class:
            assert hasattr(torch.optim, info.torch_class), info


def test_entries_that_are_not_supported_or_batchable_say_why():
    for info in OPTIMIZERS.values():
        if not info.supported or not info.batchable or not info.lr_linear:
            assert info.why_not, info.name
        assert info.rule


@pytest.mark.parametrize("name", ["SGD", "sgd", "Adam", "LBFGS"])
def test_names_are_case_insensitive(name):
    assert lookup(name).name == name.lower()


def test_options_are_checked_against_the_real_signature():
    sgd = lookup("sgd")
    assert "momentum" in accepted_options(sgd) and "nesterov" in accepted_options(sgd)
    assert check_options(sgd, {"momentum": 0.9, "nesterov": True}) == {"momentum": 0.9, "nesterov": True}
    with pytest.raises(ConfigError, match="did you mean 'momentum'"):
        check_options(sgd, {"momentun": 0.9})
    with pytest.raises(ConfigError, match="true or false"):
        check_options(sgd, {"nesterov": "yes"})
    with pytest.raises(ConfigError, match="whole number"):
        check_options(lookup("lbfgs"), {"max_iter": 2.5})


@pytest.mark.parametrize("name", ["sparseadam", "muon"])
def test_unsupported_optimizers_are_refused_with_the_reason(name):
    with pytest.raises(ConfigError, match="not supported"):
        lookup(name)
