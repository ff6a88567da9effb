"""Packaging: the license in pyproject.toml, the LICENSE file and the built metadata agree; the
wheel carries the typed marker."""

import subprocess
import sys
import tomllib
import zipfile

from helpers import ROOT


def test_license_file_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    # PEP 639 license expressions need setuptools 77 or later
    assert any(r.replace(" ", "").startswith("setuptools>=") and
               tuple(map(int, r.split(">=")[1].split(".")[:1])) >= (77,)
               for r in project["build-system"]["requires"])


def test_built_metadata_carries_the_license(tmp_path):
    code = ("import sys; from setuptools import build_meta as b; "
            "print(b.prepare_metadata_for_build_wheel(sys.argv[1]))")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    meta = (tmp_path / r.stdout.strip().splitlines()[-1] / "METADATA").read_text()
    assert "License-Expression: MIT" in meta and "License-File: LICENSE" in meta
    assert "Requires-Dist: psycopg[binary]" in meta


def test_the_wheel_ships_the_typed_marker(tmp_path):
    """PEP 561: ``py.typed`` in the wheel tells a user's type checker to read gridsearch's
    annotations (without it every gridsearch name is ``Any`` to them)."""
    code = ("import sys; from setuptools import build_meta as b; "
            "print(b.build_wheel(sys.argv[1]))")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    wheel = tmp_path / r.stdout.strip().splitlines()[-1]
    names = zipfile.ZipFile(wheel).namelist()
    assert "gridsearch/py.typed" in names and "gridsearch/schemas/family-v1.json" in names
