"""Carrying gridsearch to a GPU machine that cannot reach a package index.

The GPU image has torch, torchvision and pandas (and what they need: numpy, Pillow, …) but not
optuna, fvcore, SQLAlchemy, scikit-learn or pytest.  Two steps (benchmarks/README.md, "On a GPU"):

    # here, with PyPI: the wheels the check needs, for the GPU machine's Python and platform
    python benchmarks/wheels.py download wheels/ --python-version 3.11
    # there: install those the image lacks into a folder, then put it on PYTHONPATH
    bash benchmarks/gpu_check.sh --wheels wheels/        # (runs `wheels.py missing` itself)

``download`` builds wheels of gridsearch and of the two pure-Python dependencies that PyPI has
only as source (fvcore, iopath), downloads binary wheels (``--only-binary=:all:``, with their own
dependencies) of the rest for the target Python and platform, and leaves out the packages the image
is known to have (``--have``) so the folder stays small.  ``missing`` prints, one per line, the
wheels of a folder that fit this Python and whose project is not installed here: what to give
``pip install --no-index --no-deps --target``.  The image's own numpy, Pillow, … are never
shadowed by a carried copy.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SOURCE_ONLY = ["fvcore==0.1.5.post20221221", "iopath==0.1.10"]   # pure Python, built here
BINARY = ["optuna>=5.0,<6", "sqlalchemy>=2.0", "scikit-learn>=1.3", "tqdm>=4.60", "pyyaml",
          "yacs", "termcolor", "tabulate", "portalocker",            # fvcore's and iopath's
          "pytest>=8", "pytest-timeout>=2.3"]
# What torch, torchvision and pandas bring with them: on the image already.
IMAGE_HAS = ("torch", "torchvision", "pandas", "numpy", "pillow", "typing-extensions", "filelock",
             "sympy", "mpmath", "networkx", "jinja2", "markupsafe", "fsspec", "python-dateutil",
             "pytz", "tzdata", "six", "triton", "setuptools")


def _project(wheel: str) -> str:
    """The normalised project name of a wheel file name."""
    return re.sub(r"[-_.]+", "-", Path(wheel).name.split("-")[0]).lower()


def download(folder: Path, python_version: str, platform: str, have: tuple[str, ...]) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(folder), str(ROOT), *SOURCE_ONLY],
                   check=True)
    subprocess.run([*pip, "download", "--only-binary=:all:", "--python-version", python_version,
                    "--platform", platform, "-d", str(folder), *BINARY], check=True)
    dropped = []
    for w in sorted(folder.glob("*.whl")):
        if _project(w.name) in {re.sub(r"[-_.]+", "-", h).lower() for h in have}:
            w.unlink()
            dropped.append(w.name)
    size = sum(w.stat().st_size for w in folder.glob("*.whl"))
    print(f"{folder}: {len(list(folder.glob('*.whl')))} wheels, {size / 2**20:.1f} MiB "
          f"(left out, on the image already: {', '.join(dropped) or 'none'})")
    return 0


def missing(folder: Path) -> int:
    """The wheels of ``folder`` to install here: compatible, and their project not installed."""
    from importlib import metadata

    try:
        from packaging.tags import sys_tags
        from packaging.utils import parse_wheel_filename
    except ImportError:       # pip carries its own copy
        from pip._vendor.packaging.tags import sys_tags
        from pip._vendor.packaging.utils import parse_wheel_filename
    supported = list(sys_tags())
    rank = {t: i for i, t in enumerate(supported)}
    best: dict[str, tuple[int, Path]] = {}
    for w in folder.glob("*.whl"):
        name, _, _, tags = parse_wheel_filename(w.name)
        fit = [rank[t] for t in tags if t in rank]
        if not fit:
            continue
        key = str(name)
        if key not in best or min(fit) < best[key][0]:
            best[key] = (min(fit), w)
    for name, (_, w) in sorted(best.items()):
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            print(w)
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("download", help="build and download the wheels (needs PyPI)")
    d.add_argument("folder", type=Path)
    d.add_argument("--python-version", default=f"{sys.version_info[0]}.{sys.version_info[1]}",
                   help="the GPU machine's Python, e.g. 3.10 (default: this one's)")
    d.add_argument("--platform", default="manylinux2014_x86_64")
    d.add_argument("--have", default=",".join(IMAGE_HAS),
                   help="projects the image has already (left out)")
    m = sub.add_parser("missing", help="the wheels to install on this machine")
    m.add_argument("folder", type=Path)
    args = p.parse_args()
    if args.command == "download":
        return download(args.folder, args.python_version, args.platform,
                        tuple(filter(None, args.have.split(","))))
    return missing(args.folder)


if __name__ == "__main__":
    sys.exit(main())
