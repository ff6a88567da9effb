"""CIFAR-10/100, MNIST, Fashion-MNIST and SVHN from their standard files, without torchvision's
checksums and never a download.  The tests write tiny real files in each format; every image's
pixels encode its label (value 20·label), so a label can be checked against its image."""

import gzip
import pickle

import numpy as np
import pytest

from gridsearch.errors import DataError
from gridsearch.training import _data as data


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDSEARCH_CACHE_DIR", str(tmp_path / "cache"))


def _labelled(n, k, seed=0, shape=(3, 32, 32)):
    y = np.random.default_rng(seed).permutation(np.arange(n) % k)
    v = (y * (200 // k)).astype(np.uint8).reshape(n, *([1] * len(shape)))
    x = np.broadcast_to(v, (n, *shape))
    return np.ascontiguousarray(x), y


def _check(s, k):
    step = 200 // k
    for x, y in ((s.train_x, s.train_y), (s.val_x, s.val_y)):
        assert x.dtype.is_floating_point is False and x.shape[1] == 3
        assert (x.float().mean((1, 2, 3)) / step).round().long().tolist() == y.tolist()


def _cifar10(root, keys=lambda s: s, per_batch=10, protocol=2):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for i in range(1, 6):
        x, y = _labelled(per_batch, 10, seed=i)
        d = {keys("batch_label"): keys(f"training batch {i} of 5"),
             keys("data"): x.reshape(per_batch, 3072), keys("labels"): y.tolist()}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(d, protocol=protocol))
    names = [keys(n) for n in
             ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]]
    (folder / "batches.meta").write_bytes(pickle.dumps({keys("label_names"): names}, protocol=2))
    return folder


@pytest.mark.parametrize("protocol", [2, 4])
def test_cifar10_reads_the_python_batches_without_a_checksum(tmp_path, protocol):
    """Files of the right format but not the published bytes: torchvision refused them."""
    _cifar10(tmp_path / "c10", protocol=protocol)
    s = data.load_data("cifar10", tmp_path / "c10", 20, 10)
    assert s.num_classes == 10 and s.train_x.shape == (20, 3, 32, 32)
    assert s.manifest.classes[:2] == ["plane", "car"]
    assert s.manifest.layout.startswith("cifar-10-batches-py/")
    assert s.manifest.available == {"all": [5] * 10}
    _check(s, 10)
    # the inner folder itself is a root too
    assert data.load_data("cifar10", tmp_path / "c10" / "cifar-10-batches-py", 20, 10).num_classes == 10


def test_bytes_keyed_batches(tmp_path):
    """A batch re-pickled by Python 3 after reading it with encoding="bytes" (b"data", …)."""
    _cifar10(tmp_path / "c10", keys=lambda s: s.encode())
    s = data.load_data("cifar10", tmp_path / "c10", 20, 10)
    assert s.manifest.classes[:2] == ["plane", "car"]
    _check(s, 10)


def test_cifar_errors_name_the_layout_and_the_file_and_never_a_download(tmp_path):
    folder = _cifar10(tmp_path / "c10")
    (folder / "data_batch_3").unlink()
    with pytest.raises(DataError) as e:
        data.load_data("cifar10", tmp_path / "c10", 20, 10)
    msg = str(e.value)
    assert "cifar-10-batches-py/data_batch_1, data_batch_2" in msg and "missing" in msg
    assert "data_batch_3" in msg.split("missing")[1] and "download" not in msg.lower()
    (folder / "data_batch_3").write_bytes(b"\x80\x02 this is not a pickle")
    with pytest.raises(DataError, match=r"data_batch_3: not a cifar10 python batch") as e:
        data.load_data("cifar10", tmp_path / "c10", 20, 10)
    assert "download" not in str(e.value).lower() and "\n" not in str(e.value)
    x, y = _labelled(8, 10)
    (folder / "data_batch_3").write_bytes(pickle.dumps({"pixels": x.reshape(8, -1), "labels": y}))
    with pytest.raises(DataError, match=r"data_batch_3: not a cifar10 python batch \(no 'data'"):
        data.load_data("cifar10", tmp_path / "c10", 20, 10)


def test_a_pickle_cannot_run_code(tmp_path):
    """Only arrays and plain values are unpickled: a file that names another callable is refused,
    not executed."""
    folder = _cifar10(tmp_path / "c10")
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (folder / "data_batch_2").write_bytes(pickle.dumps({"data": Evil()}, protocol=2))
    with pytest.raises(DataError, match=r"data_batch_2: not a cifar10 python batch .*refers to "
                                        r"(io|builtins)\.open"):
        data.load_data("cifar10", tmp_path / "c10", 20, 10)
    assert not marker.exists()


def test_cifar100_fine_labels(tmp_path):
    folder = tmp_path / "c100" / "cifar-100-python"
    folder.mkdir(parents=True)
    x, y = _labelled(300, 100)
    (folder / "train").write_bytes(pickle.dumps({"data": x.reshape(300, 3072), "fine_labels": y,
                                                 "coarse_labels": y // 5}, protocol=2))
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"c{i}" for i in range(100)]}))
    s = data.load_data("cifar100", tmp_path / "c100", 200, 100)
    assert s.num_classes == 100 and s.manifest.classes[7] == "c7"
    assert s.manifest.subset == {"train": [2] * 100, "val": [1] * 100}
    assert (s.train_x.float().mean((1, 2, 3)) // 2).long().tolist() == s.train_y.tolist()


def _idx(array, path, gz):
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = b"\0\0\x08" + bytes([array.ndim]) + dims + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(raw) if gz else raw)


@pytest.mark.parametrize("source,inner,gz", [("mnist", "MNIST", True),
                                             ("fashionmnist", "FashionMNIST", False)])
def test_mnist_family_reads_the_idx_files(tmp_path, source, inner, gz):
    raw = tmp_path / "m" / inner / "raw"
    raw.mkdir(parents=True)
    x, y = _labelled(40, 10, shape=(28, 28))
    ext = ".gz" if gz else ""
    _idx(x, raw / f"train-images-idx3-ubyte{ext}", gz)
    _idx(y, raw / f"train-labels-idx1-ubyte{ext}", gz)
    s = data.load_data(source, tmp_path / "m", 20, 10)
    assert s.train_x.shape == (20, 3, 28, 28) and s.num_classes == 10
    assert s.manifest.modes == {"L": 30}
    assert s.manifest.classes[0] == ("0" if source == "mnist" else "T-shirt/top")
    _check(s, 10)


def test_mnist_errors(tmp_path):
    with pytest.raises(DataError, match=r"mnist expects .*/MNIST/raw/train-images-idx3-ubyte") as e:
        data.load_data("mnist", tmp_path, 20, 10)
    assert "download" not in str(e.value).lower()
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    x, y = _labelled(40, 10, shape=(28, 28))
    _idx(x, raw / "train-images-idx3-ubyte", False)
    _idx(y, raw / "train-labels-idx1-ubyte", False)
    path = raw / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: not an idx file of mnist .*"
                                        r"the header says \[40, 28, 28\]"):
        data.load_data("mnist", tmp_path, 20, 10)


def test_svhn_reads_the_matlab_file(tmp_path):
    import scipy.io

    x, y = _labelled(40, 10)
    labels = np.where(y == 0, 10, y)            # SVHN stores the digit 0 as label 10
    (tmp_path / "svhn").mkdir()
    scipy.io.savemat(tmp_path / "svhn" / "train_32x32.mat",
                     {"X": x.transpose(2, 3, 1, 0), "y": labels[:, None].astype(np.uint8)})
    s = data.load_data("svhn", tmp_path / "svhn", 20, 10)
    assert s.train_x.shape == (20, 3, 32, 32) and s.num_classes == 10
    _check(s, 10)
    (tmp_path / "svhn" / "train_32x32.mat").write_bytes(b"MATLAB 7.3 MAT-file, not v5")
    with pytest.raises(DataError, match="train_32x32.mat: not a MATLAB v5 file of SVHN") as e:
        data.load_data("svhn", tmp_path / "svhn", 20, 10)
    assert "download" not in str(e.value).lower()
