"""timm baselines and the export's timm arguments: issue 14, parts 1 and 2.

Every network here is built by timm itself (``timm.create_model`` or the generator named in an
export) and counted with fvcore, never mocked.
"""

import importlib
import json
import subprocess
import sys

import jsonschema
import pytest
import timm
import torch
import torchvision.models as tvm
from torchvision.models import efficientnet as tve

import gridsearch
from gridsearch import family as export, models
from gridsearch.errors import ModelError
from gridsearch.family import scale
from gridsearch.measure import Realiser
from gridsearch.models._timm import ARCHITECTURES
from gridsearch.scaling import Point


def _fvcore(module, resolution):
    """params and fvcore FLOPs, counted here with fvcore directly."""
    from fvcore.nn import FlopCountAnalysis

    module.eval()
    with torch.no_grad():
        fca = FlopCountAnalysis(module, torch.zeros(1, 3, resolution, resolution))
        fca.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        flops = int(fca.total())
    return sum(p.numel() for p in module.parameters()), flops


@pytest.mark.parametrize("name", ["efficientnet_b2", "efficientnet_lite1", "mixnet_m",
                                  "mobilenetv3_large_100", "mobilenetv3_small_075",
                                  "tf_efficientnet_b0"])
def test_timm_baseline_at_one_is_timms_registered_model(name):
    ours = models.build(f"timm:{name}", 1.0, 1.0, 10).module
    theirs = timm.create_model(name, num_classes=10)
    assert models.signature(ours) == models.signature(theirs)


def test_timm_baseline_scales_with_timms_rounding():
    # efficientnet_b0 scaled by (w 1.1, d 1.2) is timm's efficientnet_b2 exactly.
    ours = models.build("timm:efficientnet_b0", 1.1, 1.2, 10)
    assert models.signature(ours.module) == models.signature(timm.create_model("efficientnet_b2",
                                                                                num_classes=10))
    assert ours.layout.depths == (2, 3, 3, 4, 4, 5, 2) and ours.layout.head == 1408
    # MixNet truncates depth by rounding (timm's depth_trunc="round"), EfficientNet by ceil.
    assert models.build("timm:mixnet_m", 1.0, 1.2, 10).layout.depths == (1, 2, 5, 5, 5, 5)
    assert models.build("timm:efficientnet_b0", 1.0, 1.2, 10).layout.depths == (2, 3, 3, 4, 4, 5, 2)
    # Its rebuild recipe is the generator's keyword arguments, and they build the same network.
    entry = ours.timm
    mod, _, fn = entry["builder"].rpartition(".")
    again = getattr(importlib.import_module(mod), fn)(**entry["kwargs"])
    assert entry["exact"] and models.signature(again) == models.signature(ours.module)


def test_unsupported_timm_models_are_one_line_errors():
    with pytest.raises(ModelError, match=r"timm:resnet50.*efficientnet_b0.*mobilenetv3"):
        models.get_baseline("timm:resnet50")
    with pytest.raises(ModelError, match="no depth multiplier"):
        models.build("timm:mixnet_s", 1.0, 1.2, 10)
    assert len(ARCHITECTURES) >= 20


def _main(capsys, *args):
    """The CLI in this process (the console script costs a torch import per call)."""
    from gridsearch.cli import main

    capsys.readouterr()
    try:
        rc = main([str(a) for a in args])
    except SystemExit as e:
        rc = e.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_count_timm_from_the_command_line(capsys):
    rc, out, err = _main(capsys, "count", "timm:efficientnet_b0", "--width", "1.1", "--depth",
                         "1.2", "--resolution", "260", "--json")
    assert rc == 0, err
    got = json.loads(out)
    params, flops = _fvcore(timm.create_model("efficientnet_b2"), 260)
    assert (got["params"], got["flops"]) == (params, flops)
    rc, out, err = _main(capsys, "count", "timm:mobilenetv3_large_100", "--width", "1.25",
                         "--resolution", "256")
    assert rc == 0, err
    assert "stem 24" in out and "head 1280" in out
    rc, out, err = _main(capsys, "count", "timm:vit_base_patch16_224")
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "efficientnet_b0" in err


@pytest.mark.slow
def test_timm_is_imported_lazily():
    code = ("import sys, gridsearch.cli; gridsearch.cli.parser(); import gridsearch.models; "
            "print('timm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- part 2: the export's timm and torchvision arguments rebuild what the file says ---------------
def _doc(model, base_resolution, phis):
    fam = scale(Realiser(model, base_resolution, 10), Point(1.2, 1.1, 1.15), phis, target=2.0)
    doc = json.loads(json.dumps(export.document(fam)))   # what a file holds
    jsonschema.validate(doc, export.schema())
    return doc


def _timm_from_file(entry):
    mod, _, fn = entry["builder"].rpartition(".")
    return getattr(importlib.import_module(mod), fn)(**entry["kwargs"])


@pytest.mark.slow
def test_efficientnet_b0_family_rebuilds_with_torchvision_and_timm():
    doc = _doc("efficientnet_b0", 64, [0, 1, 2])   # φ = 0…4 at 224 px: see the README
    for m in doc["family"]:
        tv = m["torchvision"]
        setting, last = tve._efficientnet_conf(tv["arch"], width_mult=tv["width_mult"],
                                               depth_mult=tv["depth_mult"])
        net = tvm.EfficientNet(setting, tv["dropout"], last_channel=last,
                               num_classes=tv["num_classes"])
        assert _fvcore(net, m["resolution"]) == (m["params"], m["flops"])

        t = m["timm"]
        assert set(t) >= {"builder", "kwargs", "exact", "params", "flops", "note"}
        assert _fvcore(_timm_from_file(t), m["resolution"]) == (t["params"], t["flops"])
        # The same layers up to φ = 1; from φ = 2 timm rounds the head as round(1280·w).
        assert t["exact"] == (m["phi"] <= 1), m["phi"]
        assert (t["params"] == m["params"]) == t["exact"]
        if m["phi"] == 2:
            assert "1552-channel head" in t["note"] and "1536" in t["note"]
        # The same layers still count fewer FLOPs: timm's squeeze-excitation pools with mean().
        assert t["flops"] < m["flops"] and "aten::mean" in t["note"]
    loaded = export.Exported(doc)
    assert models.signature(loaded.build_timm(2)) == models.signature(_timm_from_file(
        doc["family"][2]["timm"]))


def test_a_timm_family_exports_timms_own_network():
    doc = _doc("timm:mobilenetv3_large_100", 64, [0, 1])
    assert doc["baseline"]["model"] == "timm:mobilenetv3_large_100"
    for m in doc["family"]:
        assert m["torchvision"] is None
        t = m["timm"]
        assert t["exact"] and (t["params"], t["flops"]) == (m["params"], m["flops"])
        assert _fvcore(_timm_from_file(t), m["resolution"]) == (m["params"], m["flops"])


def test_files_with_the_old_timm_arguments_still_load(tmp_path):
    doc = _doc("efficientnet_b0", 32, [0])
    doc["family"][0]["timm"] = {"builder": "timm.models.efficientnet._gen_efficientnet",
                                "variant": "efficientnet_b0", "channel_multiplier": 1.0,
                                "depth_multiplier": 1.0, "num_classes": 10, "pretrained": False}
    jsonschema.validate(doc, export.schema())
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    loaded = gridsearch.load(path)
    assert loaded.build(0) is not None
    with pytest.raises(gridsearch.GridsearchError, match="export again"):
        loaded.build_timm(0)


# -- a study on a timm baseline: search, freeze, scale, export, build -----------------------------
TIMM_STUDY = """
name = "tm"

[model]
name = "timm:efficientnet_b0"
base_resolution = 32
num_classes = 10
width_mult = 0.25
depth_mult = 0.25

[data]
source = "digits"
train_size = 64
val_size = 32

[train]
epochs = 1
batch_size = 32
device = "cpu"

[search]
alpha = { min = 1.0, max = 1.2, step = 0.2 }
beta = { min = 1.0, max = 1.0, step = 0.1 }
gamma = { min = 1.3, max = 1.3, step = 0.1 }
target = 2.0
tolerance = 0.5

[budget]
mode = "repair"
tolerance = 0.15
"""


@pytest.mark.slow
def test_timm_study_search_freeze_export_build(tmp_path, capsys):
    path = tmp_path / "tm.toml"
    path.write_text(TIMM_STUDY)
    rc, _, err = _main(capsys, "run", path, "--no-progress")
    assert rc == 0, err
    rc, out, err = _main(capsys, "freeze", path)
    assert rc == 0 and "frozen: α=" in out, err
    out = tmp_path / "tm.json"
    rc, _, err = _main(capsys, "export", path, "-o", out, "--phi", "0,1", "--no-progress")
    assert rc == 0, err
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, export.schema())
    assert doc["baseline"]["model"] == "timm:efficientnet_b0"
    for m in doc["family"]:
        assert _fvcore(_timm_from_file(m["timm"]), m["resolution"]) == (m["params"], m["flops"])
    rc, text, err = _main(capsys, "build", out, "--phi", "1")
    assert rc == 0 and "counts equal the file's" in text, err
