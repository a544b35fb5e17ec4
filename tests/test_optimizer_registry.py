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


def test_the_static_signature_table_is_what_torch_says():
    """gdplay.optim.signatures (what `gdplay init` reads without importing torch) holds exactly the
    installed torch's constructor signatures: regenerate it with `python -m gdplay.optim.signatures`."""
    from gdplay.optim import signatures

    assert torch.__version__ == signatures.TORCH_VERSION, "regenerate: python -m gdplay.optim.signatures"
    assert signatures.live_table() == signatures.TABLE, "regenerate: python -m gdplay.optim.signatures"
    assert signatures.installed_torch_version() == torch.__version__


@pytest.mark.parametrize("name", sorted(n for n, info in OPTIMIZERS.items() if info.supported))
def test_accepted_options_from_the_table_equal_the_live_signature(name):
    """Each option's name, kind, default and str(annotation) (what check_options reads) as
    inspect.signature of the torch.optim class gives them."""
    from gdplay.optim.factory import optimizer_class
    from gdplay.optim.signatures import parameters

    table = parameters(name)
    assert table is not None
    live = inspect.signature(optimizer_class(OPTIMIZERS[name])).parameters
    got = [(k, p.kind, p.default, str(p.annotation)) for k, p in accepted_options(OPTIMIZERS[name]).items()]
    want = [(k, p.kind, p.default, str(p.annotation)) for k, p in live.items() if k in {row[0] for row in got}]
    assert got == want
    assert set(table) == {k for k in live if k not in ("self", "params")}


def test_another_torch_version_reads_the_live_signature(monkeypatch):
    from gdplay.optim import signatures

    monkeypatch.setattr(signatures, "TORCH_VERSION", "0.0.0-not-installed")
    assert signatures.parameters("sgd") is None
    monkeypatch.setattr(signatures, "TORCH_VERSION", torch.__version__)
    assert signatures.parameters("sgd") is not None
