"""The built-in baselines register themselves where they are defined, and are all there before
any lookup, while importing ``gridsearch.models`` loads no torch."""

import subprocess
import sys

import pytest

from gridsearch import models
from gridsearch.models._base import Baseline
from gridsearch.models._registry import register

BUILTIN = ["efficientnet_b0", "mobilenet_v2", "regnet_y_400mf", "resnet18", "resnet50"]


def test_a_fresh_process_sees_every_builtin_and_imports_torch_only_when_asked():
    """``REGISTRY`` read first (before any ``get_baseline``) is already full, and ``import
    gridsearch.models`` alone leaves torch unloaded."""
    code = ("import sys, gridsearch.models as m; light = 'torch' in sys.modules; "
            "print(light, sorted(m.REGISTRY), m.get_baseline('regnet_y_400mf').name)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split(" ", 1) == ["False", f"{BUILTIN} regnet_y_400mf\n"]


def test_each_module_registers_its_own_baselines():
    from gridsearch.models import _efficientnet, _mobilenet, _regnet, _resnet

    defined = {b.name: b for b in (_efficientnet.EFFICIENTNET_B0, _mobilenet.MOBILENET_V2,
                                   _regnet.REGNET_Y_400MF, _resnet.RESNET18, _resnet.RESNET50)}
    assert {n: models.get_baseline(n) for n in BUILTIN} == defined
    assert all(models.REGISTRY[n] is b for n, b in defined.items())


@pytest.mark.parametrize("name,why", [("resnet18", "registered twice"),
                                      ("mine:net", "has no ':'")])
def test_register_refuses_a_taken_name_or_a_ref(name, why):
    before = dict(models.REGISTRY)
    with pytest.raises(ValueError, match=why):
        register(Baseline(name, lambda w, d, n: None))
    assert models.REGISTRY == before
