"""gridsearch: find EfficientNet compound-scaling coefficients (alpha, beta, gamma) for a network,
then scale it with them.

The usual order:  plan → run → status → confirm or climb → freeze → verify → scale / export → report
(init / worker share one study between hosts; dashboard shows it in optuna-dashboard; compare
checks compound against single-dimension scaling; count measures one network).

FLOPs are counted by fvcore: one multiply-add is ONE FLOP (the EfficientNet paper's convention).
Bad input prints one line and exits with status 2; Ctrl-C exits with 130 and leaves the study
resumable.  `gridsearch COMMAND --help` describes each command.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import warnings

from gridsearch.training import prepare_env

# Before anything loads torch (OpenMP reads it then): waiting OpenMP threads sleep instead of
# spinning, which on a CPU shared with other work cost 12x in training steps (benchmarks/README.md).
_ENV_ERROR = prepare_env()  # and a malformed OMP_NUM_THREADS is reported by main()

from gridsearch import __version__  # noqa: E402
from gridsearch.cli import climb, confirm, count, family, search, trials, viz  # noqa: E402
from gridsearch.errors import GridsearchError  # noqa: E402
from gridsearch.storage import RedactingFilter, redact  # noqa: E402
from gridsearch.training import DeviceLost  # noqa: E402  (no torch: a light import)

# One place to add a command: a module with register(sub), listed here in the order of the help.
COMMANDS = (search, trials, confirm, climb, family, viz, count)
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        print(f"gridsearch: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="gridsearch", description=__doc__,
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-v", "--verbose", action="store_true", help="log more (fvcore, optuna)")
    p.add_argument("--debug", action="store_true", help="show tracebacks of unexpected errors")
    p.add_argument("--version", action="version", version=f"gridsearch {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in COMMANDS:
        module.register(sub)
    return p


def _quiet_libraries(verbose: bool) -> None:
    import optuna

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="gridsearch: %(message)s")
    for handler in logging.getLogger().handlers:  # no password in any library's log line
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.WARNING)
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    # Heartbeats are used with ask/tell on purpose; optuna marks them experimental.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    logging.getLogger("fvcore").setLevel(logging.ERROR)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _unraisable(unraisable) -> None:
    """An interrupt that lands inside a finalizer or weakref callback is swallowed by Python
    ("Exception ignored in …", a traceback on stderr) and the command would run on: deliver it
    again, to the main program, where it stops the command cleanly."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
        return
    sys.__unraisablehook__(unraisable)


# Options whose value may start with '-' (``--phi -1..4``): argparse would take it for an option.
_DASH_VALUES = ("--phi",)


def _join_dash_values(argv: list[str]) -> list[str]:
    """``--phi -1..4`` → ``--phi=-1..4``."""
    out: list[str] = []
    for a in argv:
        if out and out[-1] in _DASH_VALUES and re.match(r"-[\d.]", a):
            out[-1] = f"{out[-1]}={a}"
        else:
            out.append(a)
    return out


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Parse a command line as the console script does (``--phi -1..4`` included)."""
    return parser().parse_args(_join_dash_values(list(argv)))


def main(argv: list[str] | None = None) -> int:
    console = argv is None  # the console script, not a call from Python
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _quiet_libraries(args.verbose)
    if hasattr(signal, "SIGTERM") and console:  # docker stop / kill: stop like Ctrl-C
        signal.signal(signal.SIGTERM, _interrupt)
        sys.unraisablehook = _unraisable
    try:
        if _ENV_ERROR is not None:
            raise _ENV_ERROR
        return int(args.func(args) or 0)
    except GridsearchError as e:
        print(f"gridsearch: error: {redact(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gridsearch: interrupted; the study is saved, re-run the command to resume",
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except DeviceLost as e:  # a worker's device is unusable: it gave its unit back and stops
        print(f"gridsearch: error: {redact(str(e))} (this worker stops; its unit is left to "
              "the others)", file=sys.stderr)
        return DeviceLost.EXIT_CODE
    except Exception as e:  # never a traceback unless asked
        if args.debug:
            raise
        msg = redact(f"{type(e).__name__}: {e}".splitlines()[0])
        print(f"gridsearch: unexpected error: {msg} (re-run with --debug for a traceback)",
              file=sys.stderr)
        return 1
