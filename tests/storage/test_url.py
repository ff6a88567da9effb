"""Storage URLs: where they come from (flag, file, environment, config) and that no password in
any form SQLAlchemy accepts is shown or stored by any command."""

import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

from gridsearch import cli, config, workers
from gridsearch.errors import ConfigError
from gridsearch.storage import redact
from helpers import PG_PASSWORD, TINY

HOST = "127.0.0.1:1"  # nothing listens: every command fails at the store, with one line
PW = "Sup3r-Secret-pw"
ODD = "pa@ss/wo:rd#7%"  # needs percent-encoding
FORMS = {  # id: (url, strings that must never appear)
    "plain": (f"postgresql://gsuser:{PW}@{HOST}/db", [PW]),
    "empty user": (f"postgresql://:{PW}@{HOST}/db", [PW]),
    "query password": (f"postgresql://gsuser@{HOST}/db?password={PW}&sslmode=disable", [PW]),
    "percent-encoded": (f"postgresql://gsuser:{quote(ODD, safe='')}@{HOST}/db",
                        [ODD, quote(ODD, safe=""), "wo:rd"]),
    "raw @": (f"postgresql://gsuser:Raw@Secret9@{HOST}/db", ["Raw@Secret9", "Secret9"]),
    "driver": (f"postgresql+psycopg2://gsuser:{PW}@{HOST}/db", [PW]),
    "mysql": (f"mysql://gsuser:{PW}@{HOST}/db", [PW]),
}


@pytest.mark.parametrize("form", FORMS)
def test_redact_hides_every_form(form):
    url, secrets = FORMS[form]
    text = redact(f"cannot open {url}: failed ('{url}')")
    assert "***" in text and not any(s in text for s in secrets), text
    assert "127.0.0.1:1" in text or form == "raw @"


def test_redact_leaves_other_text_alone():
    for text in ("sqlite:///studies/x.db", "http://127.0.0.1:8080/dashboard/studies/1",
                 "postgresql://user@host:5432/db", "no url at all: a@b"):
        assert redact(text) == text


# -- every command that can print or store a URL, each form, each way of giving it -------------
COMMANDS = [
    ["init", "{cfg}"], ["run", "{cfg}", "--no-progress"], ["worker", "{cfg}", "--no-progress"],
    ["status", "{cfg}"], ["best", "{cfg}", "--json"], ["freeze", "{cfg}"],
    ["scale", "{cfg}", "--phi", "0..1"], ["export", "{cfg}", "-o", "{dir}/x.json"],
    ["report", "{cfg}", "-o", "{dir}/rep"], ["dashboard", "{cfg}", "--port", "0"],
    ["compare", "{cfg}", "-o", "{dir}/cmp"],
]


@pytest.fixture
def cfg(tmp_path):
    p = tmp_path / "u.toml"
    p.write_text(TINY.format(name="u", mode="reject", storage=""))
    return p


def _main(argv, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    try:
        code = cli.main(["-v", *argv])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err, caplog.text


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("command", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_no_form_leaks_from_any_command(form, command, cfg, tmp_path, capsys, caplog):
    url, secrets = FORMS[form]
    argv = [a.format(cfg=cfg, dir=tmp_path) for a in command] + ["--storage", url]
    code, out, err, log = _main(argv, capsys, caplog)
    assert code == 2, (out, err)
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("gridsearch: ")
             or ln.startswith("gridsearch: error")]
    assert len([ln for ln in lines if ln.startswith("gridsearch: error")]) == 1, err
    assert "Traceback" not in out + err
    assert not any(s in out + err + log for s in secrets), err
    assert not list(tmp_path.glob("*.db"))  # nothing created beside the config


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("how", ["env", "env file", "--storage-file", "storage_file"])
def test_no_form_leaks_from_a_file_or_the_environment(form, how, cfg, tmp_path, monkeypatch,
                                                      capsys, caplog):
    url, secrets = FORMS[form]
    secret_file = tmp_path / "storage-url"
    secret_file.write_text(url + "\n")
    argv = ["run", str(cfg), "--no-progress"]
    if how == "env":
        monkeypatch.setenv("GRIDSEARCH_STORAGE", url)
    elif how == "env file":
        monkeypatch.setenv("GRIDSEARCH_STORAGE_FILE", str(secret_file))
    elif how == "--storage-file":
        argv += ["--storage-file", str(secret_file)]
    else:
        cfg.write_text(cfg.read_text().replace('name = "u"\n', 'name = "u"\nstorage_file = '
                                               '"storage-url"\n'))
    code, out, err, log = _main(argv, capsys, caplog)
    assert code == 2 and "gridsearch: error: storage:" in err, err
    assert not any(s in out + err + log for s in secrets), err


# -- where the URL comes from -------------------------------------------------------------------
def test_precedence_flag_file_env_config_default(cfg, tmp_path, monkeypatch):
    def url(storage=None, storage_file=None):
        return config.storage_url(config.load(cfg), storage, storage_file)

    def file(name, text):
        (tmp_path / name).write_text(text + "\n")
        return str(tmp_path / name)

    assert url() == f"sqlite:///{tmp_path}/u.db"                            # default
    cfg.write_text(cfg.read_text().replace('name = "u"\n', 'name = "u"\nstorage_file = "c"\n'))
    file("c", "sqlite:///from-config-file.db")
    assert url() == "sqlite:///from-config-file.db"                       # config storage_file
    monkeypatch.setenv("GRIDSEARCH_STORAGE_FILE", file("e", "sqlite:///from-env-file.db"))
    assert url() == "sqlite:///from-env-file.db"                          # env file > config
    monkeypatch.setenv("GRIDSEARCH_STORAGE", "sqlite:///from-env.db")
    assert url() == "sqlite:///from-env.db"                               # env > env file
    assert url(storage_file=file("f", "sqlite:///from-flag-file.db")) == "sqlite:///from-flag-file.db"
    assert url(storage="sqlite:///flag.db") == "sqlite:///flag.db"        # --storage first
    with pytest.raises(ConfigError, match="--storage-file: give --storage or --storage-file"):
        url(storage="sqlite:///a.db", storage_file=file("f", "sqlite:///b.db"))
    cfg.write_text(cfg.read_text().replace('name = "u"\n', 'name = "u"\nstorage = "sqlite:///x.db"\n'))
    with pytest.raises(ConfigError, match="storage_file: give storage or storage_file, not both"):
        config.load(cfg)


@pytest.mark.parametrize("text,message", [(None, "No such file"), ("", "is empty"),
                                          ("\n  \n", "is empty")])
def test_unreadable_or_empty_storage_file_is_one_line(text, message, cfg, tmp_path, capsys):
    f = tmp_path / "secret"
    if text is not None:
        f.write_text(text)
    code = cli.main(["status", str(cfg), "--storage-file", str(f)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--storage-file: " in err and message in err


def test_workers_get_the_url_in_their_environment_not_their_command_line():
    slot = workers.Slot(0, "cpu", 1)
    cmd = workers.worker_command("studies/x.toml", slot)
    assert not any("postgresql" in a or a == "--storage" for a in cmd)
    pool = workers.Pool([cmd], lambda i, line: None, storage=FORMS["plain"][0])
    assert pool.envs[0]["GRIDSEARCH_STORAGE"] == FORMS["plain"][0]


# -- a reachable PostgreSQL: nothing stored, written or served holds the password -----------------
@pytest.mark.slow
@pytest.mark.postgres
def test_real_store_never_holds_or_shows_the_password(postgres_url, tmp_path, monkeypatch, capsys,
                                                      caplog):
    """Run a tiny study on the test server through each URL form that connects, then every
    command that reads it (verbose); the password is in no output, log, file or table row."""
    import psycopg

    base = postgres_url  # postgresql://gridsearch:PASSWORD@127.0.0.1:PORT/DB
    encoded = base.replace(PG_PASSWORD, "".join(f"%{b:02X}" for b in PG_PASSWORD.encode()))
    no_pw = base.replace(f":{PG_PASSWORD}@", "@")
    forms = [base, encoded, f"{no_pw}?password={PG_PASSWORD}"]
    path = tmp_path / "pg.toml"
    path.write_text(TINY.format(name="pg", mode="reject", storage="")
                    .replace("epochs = 2", "epochs = 1"))
    secrets = [PG_PASSWORD, quote(PG_PASSWORD), encoded.split(":")[2].split("@")[0]]
    seen = []
    caplog.set_level(logging.DEBUG)

    def run(*argv, url=forms[0]):
        monkeypatch.setenv("GRIDSEARCH_STORAGE", url)
        code = cli.main(["-v", *map(str, argv)])
        out, err = capsys.readouterr()
        assert code == 0, err
        seen.append(out + err)

    run("run", path, "--max-trials", "1", "--no-progress", url=forms[1])
    run("run", path, "--max-trials", "1", "--no-progress", url=forms[2])
    run("init", path)
    run("status", path)
    run("best", path, "--json", "--output", tmp_path / "best.json")
    run("freeze", path)
    run("scale", path, "--phi", "0..1", "--json")
    run("export", path, "-o", tmp_path / "fam.json")
    run("report", path, "-o", tmp_path / "rep")
    seen.append(caplog.text)
    dash = subprocess.Popen([str(Path(sys.executable).parent / "gridsearch"), "-v", "dashboard",
                             str(path), "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "GRIDSEARCH_STORAGE": forms[2]})
    try:
        lines = [dash.stdout.readline() for _ in range(2)]
        api = lines[1].strip().split("/dashboard")[0] + "/api/studies"
        seen.append("".join(lines) + urllib.request.urlopen(api, timeout=30).read().decode())
    finally:
        dash.terminate()
        seen.append(dash.communicate(timeout=30)[0])
    assert "***" in "".join(seen)  # the URL is shown, redacted
    for f in tmp_path.rglob("*"):
        if f.is_file() and f.suffix in (".json", ".txt", ".csv"):
            seen.append(f.read_text())
    with psycopg.connect(base) as conn:  # every row of every table, as text
        tables = [r[0] for r in conn.execute(
            "select tablename from pg_tables where schemaname = 'public'")]
        for t in tables:
            seen.append(json.dumps(conn.execute(f"select * from {t}").fetchall(), default=str))
    assert "trial_user_attributes" in tables and len(seen) > 10
    text = "\n".join(seen)
    assert not any(s in text for s in secrets)


# -- drivers: a plain postgresql:// URL works in gridsearch, optuna and optuna-dashboard alike -----
def test_plain_postgresql_url_means_an_installed_driver():
    from sqlalchemy.engine import make_url

    make_url("postgresql://u@h/db").get_dialect().import_dbapi()  # ImportError if not installed
    make_url("postgresql+psycopg2://u@h/db").get_dialect().import_dbapi()


@pytest.mark.slow
@pytest.mark.postgres
def test_plain_postgresql_url_in_optuna_cli_and_optuna_dashboard(postgres_url, cfg, capsys):
    assert postgres_url.startswith("postgresql://")  # no +driver
    assert cli.main(["init", str(cfg), "--storage", postgres_url]) == 0
    assert "***" in capsys.readouterr().out
    bindir = Path(sys.executable).parent
    r = subprocess.run([str(bindir / "optuna"), "studies", "--storage", postgres_url, "-f", "json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert [s["name"] for s in json.loads(r.stdout)] == ["u"]
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dash = subprocess.Popen([str(bindir / "optuna-dashboard"), postgres_url, "--port", str(port),
                             "--host", "127.0.0.1", "--quiet"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline, body = time.monotonic() + 60, None
        while body is None and time.monotonic() < deadline and dash.poll() is None:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies",
                                              timeout=5).read()
            except OSError:
                time.sleep(0.3)
        assert body is not None, dash.stderr.read() if dash.poll() is not None else "no answer"
        assert [s["study_name"] for s in json.loads(body)["study_summaries"]] == ["u"]
    finally:
        dash.terminate()
        dash.wait(timeout=30)


def test_opening_a_store_warns_a_library_user_of_nothing(tmp_path):
    """Heartbeats are chosen on purpose; Optuna's "experimental feature" warning about them is not
    the user's business. Any other warning still shows."""
    import warnings

    from gridsearch.storage import open_storage

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        open_storage(f"sqlite:///{tmp_path / 'w.db'}")
    assert [str(w.message) for w in caught] == []
