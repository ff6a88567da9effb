"""The sbatch line `gridsearch init` prints (gridsearch.workers._slurm): the array from the units left,
the config as given, a GPU for a cuda config, and where the job finds the storage URL: a file's
path or the environment's variable, never the URL.  (It runs on a real Slurm in tests/cluster/test_slurm.py.)"""

import pytest

from gridsearch import config
from gridsearch.workers import StorageVariable, sbatch_line, script_path, storage_variable, study_sbatch_line
from helpers import PG_PASSWORD, ROOT, cli

URL = "postgresql://gridsearch:pw-Secret@db:5432/gridsearch"
SCRIPT = ROOT / "docker" / "slurm-worker.sbatch"


@pytest.fixture
def cfg(tiny_config, tmp_path):
    return config.load(tiny_config(name="sub"))


def _file(folder, name, url=URL):
    p = folder / name
    p.write_text(url + "\n")
    return p


def test_the_variable_names_the_file_the_url_came_from(cfg, tmp_path):
    cli_file, env_file = _file(tmp_path, "cli-url"), _file(tmp_path, "env-url")
    v = storage_variable(URL, cfg, str(cli_file), {"GRIDSEARCH_STORAGE_FILE": str(env_file)})
    assert v == StorageVariable("GRIDSEARCH_STORAGE_FILE", str(cli_file))       # --storage-file
    v = storage_variable(URL, cfg, None, {"GRIDSEARCH_STORAGE_FILE": str(env_file)})
    assert v == StorageVariable("GRIDSEARCH_STORAGE_FILE", str(env_file))
    v = storage_variable(URL, cfg, None, {"GRIDSEARCH_STORAGE": URL,
                                          "GRIDSEARCH_STORAGE_FILE": str(env_file)})
    assert v.name == "GRIDSEARCH_STORAGE" and v.value is None and "export" in v.note


def test_a_relative_file_becomes_absolute(cfg, tmp_path, monkeypatch):
    _file(tmp_path, "rel-url")
    monkeypatch.chdir(tmp_path)
    v = storage_variable(URL, cfg, "rel-url", {})
    assert v.value == str(tmp_path / "rel-url")


def test_the_configs_storage_file_relative_to_the_config(tiny_config, tmp_path):
    (tmp_path / "secrets").mkdir()
    _file(tmp_path / "secrets", "url")
    path = tiny_config(name="withfile")
    path.write_text(path.read_text().replace('name = "withfile"',
                                             'name = "withfile"\nstorage_file = "secrets/url"'))
    c = config.load(path)
    assert storage_variable(URL, c, None, {}).value == str(tmp_path / "secrets" / "url")


def test_a_url_from_the_command_line_or_the_config_gets_a_placeholder(cfg, tmp_path):
    other = _file(tmp_path, "other", "postgresql://gridsearch:x@elsewhere/db")
    for env in ({}, {"GRIDSEARCH_STORAGE_FILE": str(other)},
                {"GRIDSEARCH_STORAGE": "postgresql://u:x@elsewhere/db"}):
        v = storage_variable(URL, cfg, None, env)      # the URL came from neither: --storage
        assert v == StorageVariable("GRIDSEARCH_STORAGE_FILE", "FILE", v.note) and "chmod 600" in v.note


def test_the_line(tmp_path):
    v = StorageVariable("GRIDSEARCH_STORAGE_FILE", "/home/me/my url")
    assert sbatch_line("studies/x.toml", 12, v) == (
        "GRIDSEARCH_STORAGE_FILE='/home/me/my url' sbatch --array=0-11 docker/slurm-worker.sbatch "
        "studies/x.toml")
    assert sbatch_line("a b.toml", 1, v, gpu=True, script="s.sbatch").endswith(
        "sbatch --array=0-0 --gres=gpu:1 s.sbatch 'a b.toml'")
    assert "--array=0-1000 " in sbatch_line("x.toml", 5000, v)     # Slurm's default MaxArraySize
    env = StorageVariable("GRIDSEARCH_STORAGE", None, "GRIDSEARCH_STORAGE passes on")
    assert sbatch_line("x.toml", 2, env) == (
        "sbatch --array=0-1 docker/slurm-worker.sbatch x.toml  # GRIDSEARCH_STORAGE passes on")
    with pytest.raises(ValueError):
        sbatch_line("x.toml", 0, v)


def test_the_script_path_from_where_the_user_is(tmp_path):
    assert script_path(ROOT) == "docker/slurm-worker.sbatch"
    assert script_path(ROOT / "docker") == "slurm-worker.sbatch"
    assert script_path(tmp_path) == str(SCRIPT)


def test_no_line_for_sqlite_or_when_nothing_is_left(cfg, tmp_path):
    from gridsearch.study import Search

    search = Search(cfg)
    assert search.url.startswith("sqlite")
    assert study_sbatch_line(search, "x.toml", left=3) is None
    search = Search(cfg, URL)
    assert study_sbatch_line(search, "x.toml", left=0) is None
    line = study_sbatch_line(search, "x.toml", left=3, environ={"GRIDSEARCH_STORAGE": URL},
                             cwd=ROOT)
    assert line.startswith("sbatch --array=0-2 docker/slurm-worker.sbatch x.toml  #")
    assert "pw-Secret" not in line


@pytest.mark.slow
@pytest.mark.postgres
def test_init_prints_the_line(postgres_url, tiny_config, tmp_path):
    """`gridsearch init --storage-file F` on PostgreSQL: the study's line with F's path; a cuda
    config asks for a GPU per task."""
    secret = _file(tmp_path, "pg-url", postgres_url)
    path = tiny_config(name="printed")
    path.write_text(path.read_text().replace('device = "cpu"', 'device = "cuda"'))
    r = cli("init", path.name, "--storage-file", secret, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == (f"  GRIDSEARCH_STORAGE_FILE={secret} sbatch --array=0-2 "
                                         f"--gres=gpu:1 {SCRIPT} {path.name}")
    assert PG_PASSWORD not in r.stdout + r.stderr
