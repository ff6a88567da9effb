"""The ``gridsearch`` command line: thin commands over the library.

FLOPs are counted by fvcore: one multiply-add is ONE FLOP (the EfficientNet paper's convention).
Bad input prints one line and exits with status 2; Ctrl-C exits with 130 and leaves the study
resumable.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings

from ..errors import GridsearchError
from ..storage import redact
from . import count, search, viz

COMMANDS = (count, search, viz)
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
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for module in COMMANDS:
        module.register(sub)
    return p


def _quiet_libraries(verbose: bool) -> None:
    import optuna

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="gridsearch: %(message)s")
    optuna.logging.set_verbosity(optuna.logging.INFO if verbose else optuna.logging.WARNING)
    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    # Heartbeats are used with ask/tell on purpose; optuna marks them experimental.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    logging.getLogger("fvcore").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _quiet_libraries(args.verbose)
    try:
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
    except Exception as e:  # noqa: BLE001 - never a traceback unless asked
        if args.debug:
            raise
        msg = redact(f"{type(e).__name__}: {e}".splitlines()[0])
        print(f"gridsearch: unexpected error: {msg} (re-run with --debug for a traceback)",
              file=sys.stderr)
        return 1
