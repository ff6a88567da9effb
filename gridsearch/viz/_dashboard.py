"""optuna-dashboard on a study's store, and notes that make budget feasibility visible there.

optuna-dashboard 0.21 does not read Optuna 5's constraints (``trial.set_constraint``), so the
budget verdict is shown three other ways: every trial carries the user attributes ``feasible``,
``verdict`` and ``budget_reason``; infeasible trials are PRUNED, never COMPLETE, so the dashboard's
"best trial" is always a feasible one; and :func:`annotate` writes a Markdown note on the study
(best feasible trial, counts, frozen coefficients) and on every infeasible trial (the reason).

The dashboard has no authentication and can delete studies: it binds to 127.0.0.1 by default.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import optuna
from optuna.trial import TrialState

from gridsearch import _compat
from gridsearch.errors import GridsearchError
from gridsearch.family import Frozen
from gridsearch.scaling import Point
from gridsearch.study import from_trial, objective_names
from gridsearch.viz._report import accuracy_text, facts

log = logging.getLogger(__name__)

METRIC_PREFIX = "val_"    # the dashboard's name of the trained metric: val_accuracy, val_top1, …


SELECTED_ATTR = "selected"


def selected_text(search, f: dict | None = None) -> str | None:
    """The answer in one line (the study attribute ``selected``), or None before there is one.
    ``f``: the study's :func:`facts`, if already gathered."""
    f = facts(search) if f is None else f
    b = f["best"]
    if not b:
        return None
    acc = accuracy_text(b)
    return (f"{Point.from_dict(b).label()}, {f['metric']} {acc} "
            f"[{b['source']}, {b['trial']}]: {f['selection']['verdict']}")


def study_note(search, f: dict | None = None) -> str:
    """The study note: the selected point and how sure the choice is first (optuna-dashboard's own
    "best trial" is one seed of one trial: not the answer), then counts, feasibility, frozen.
    ``f``: the study's :func:`facts`, if already gathered."""
    f = facts(search) if f is None else f
    c = f["counts"]
    lines = [f"## {f['study']}: the answer", ""]
    b = f["best"]
    if b:
        sel = f["selection"]
        acc = accuracy_text(b)
        lines += [f"**Selected point ({b['source']}): α = {b['alpha']:g}, β = {b['beta']:g}, "
                  f"γ = {b['gamma']:g}**, mean {f['metric']} **{acc}**, trials of `{b['study']}` "
                  f"starting at {b['trial']}"
                  + (f"; resolution {b['resolution']} (effective γ {b['effective_gamma']:g}); "
                     f"measured FLOPs ratio {b['flops_ratio']:.3f}" if b.get("resolution") else "")
                  + ".", "", f"**Verdict:** {sel['verdict'].rstrip('.')}."
                  + (f" Ties: {sel['ties_text']}." if sel["ties"] else ""), "",
                  *([f"**Fidelity ladder:** {b['ladder']}", ""] if b["ladder"] else []),
                  f"**One φ up:** {b['checked']} (`gridsearch verify`).",
                  "",
                  "The dashboard's *Best Trial* is the single highest value of one trial (one "
                  "seed); the selection above is gridsearch's rule over every seed "
                  "(`gridsearch best`).", ""]
        lines += [f"| α | β | γ | {f['metric']} mean ± std | n | 95% CI | trials |",
                  "|---|---|---|---|---|---|---|"]
        for r in sel["ranked"][:10]:
            refs = f"{r['study']}#" + ", ".join(map(str, r["trials"][:8])) + (
                f" … ({len(r['trials'])})" if len(r["trials"]) > 8 else "")
            one = r["n"] < 2   # one seed: no spread and no interval, as everywhere else
            acc = f"{r['mean']:.4f}" + ("" if one else f" ± {r['std']:.4f}")
            ci = "—" if one else f"[{r['ci95'][0]:.4f}, {r['ci95'][1]:.4f}]"
            lines.append(f"| {r['alpha']:g} | {r['beta']:g} | {r['gamma']:g} | {acc} | {r['n']} | "
                         f"{ci} | {refs} |")
        lines.append("")
    else:
        lines += ["No feasible finished trial yet.", ""]
    lines += [f"{f['trials']} trials: **{c['COMPLETE']} complete (feasible)**, "
              f"**{c['INFEASIBLE']} infeasible** (over or under the FLOPs budget, pruned, not "
              f"trained), {c['PRUNED']} pruned by the pruner, {c['FAIL']} failed.",
              "",
              "Feasibility: see the user attributes `feasible`, `verdict` and `budget_reason` of a "
              "trial (this dashboard does not show Optuna 5 constraints). Infeasible trials are "
              "*Pruned* and carry a note.",
              ""]
    if f.get("frozen"):
        lines += ["### Frozen coefficients", "",
                  Frozen.from_dict(f["frozen"]).text().removeprefix("frozen: "),
                  "", "(study user attribute `frozen`; the measured family is `family`)", ""]
    return "\n".join(lines)


def trial_note(t: optuna.trial.FrozenTrial) -> str | None:
    """A note for a trial the budget rejected (or one that failed); None for the others."""
    r = from_trial(t, "")
    if r.state == "INFEASIBLE":
        return (f"**Infeasible** (not trained): {r.budget_reason or 'outside the budget'}. "
                f"Measured FLOPs ratio {r.flops_ratio if r.flops_ratio is not None else '?'} at "
                f"resolution {r.resolution if r.resolution is not None else '?'}.")
    if t.state == TrialState.FAIL and r.error:
        return f"**Failed** ({r.error_kind or 'trial'}): {r.error}"
    return None


def annotate(search) -> int:
    """Write (or refresh) the study note and the notes of infeasible/failed trials.

    Only changed notes are written. Returns how many notes were written.
    """
    from optuna_dashboard import get_note, save_note

    study = search.study(create=False)
    written = 0
    metric = search.cfg.train.metric
    names = [metric if metric.startswith(METRIC_PREFIX) else METRIC_PREFIX + metric,
             *objective_names(study)[1:]]
    if study.metric_names != names:
        study.set_metric_names(names)
    f = facts(search)                # the trials and the selection, read once for both
    text = study_note(search, f)
    if get_note(study) != text:
        save_note(study, text)
        written += 1
    answer = selected_text(search, f)   # the main page's "Study User Attributes" card shows it
    if answer is not None and study.user_attrs.get(SELECTED_ATTR) != answer:
        study.set_user_attr(SELECTED_ATTR, answer)
    for t in study.get_trials(deepcopy=False):
        note = trial_note(t)
        if note is None or _compat.trial_note(study, t) == note:
            continue
        _compat.save_trial_note(study, t, note)
        written += 1
    return written


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        log.debug("dashboard: " + format, *args)


@dataclass
class Server:
    """A bound (not yet serving) dashboard server."""

    httpd: WSGIServer
    host: str
    port: int

    def url(self, study_id: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        base = f"http://{host}:{self.port}/dashboard"
        return base if study_id is None else f"{base}/studies/{study_id}"

    def serve_forever(self) -> None:
        """Serve until Ctrl-C (or SIGTERM, which the CLI turns into Ctrl-C).

        Requests are served on a thread of their own: wsgiref's handler catches *everything*
        raised while it handles a request, so an interrupt that lands mid-request in the main
        thread would be swallowed and the server would keep running (a test's terminate() did).
        The main thread only waits, so the interrupt always reaches it.
        """
        worker = threading.Thread(target=self.httpd.serve_forever, name="dashboard", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.5)
        finally:
            self.httpd.shutdown()
            worker.join(5)
            self.httpd.server_close()

    def shutdown(self) -> None:
        self.httpd.shutdown()


def bind(storage, host: str = "127.0.0.1", port: int = 8080) -> Server:
    """Bind optuna-dashboard's WSGI app to ``host:port`` (0 picks a free port).

    A port in use raises :class:`GridsearchError` with one line.
    """
    if not 0 <= port <= 65535:
        raise GridsearchError(f"dashboard: port must be 0 to 65535, got {port}")
    from optuna_dashboard import wsgi

    app = wsgi(storage)
    cls = _server_class(host)
    try:
        httpd = make_server(host, port, app, server_class=cls, handler_class=_QuietHandler)
    except OSError as e:
        if e.errno in (98, 48, 10048) or "in use" in str(e).lower():
            raise GridsearchError(f"dashboard: port {port} on {host} is already in use "
                                  "(pick another with --port)") from None
        raise GridsearchError(f"dashboard: cannot listen on {host}:{port}: {e.strerror or e}") from None
    return Server(httpd, host, httpd.server_address[1])


def _server_class(host: str) -> type[WSGIServer]:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET

    class _Server(WSGIServer):
        address_family = family

    return _Server


def serve(storage, host: str, port: int, on_ready: Callable[[Server], None] | None = None) -> None:
    server = bind(storage, host, port)
    if on_ready:
        on_ready(server)
    server.serve_forever()
