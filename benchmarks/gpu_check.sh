#!/usr/bin/env bash
# The first run on a GPU, in one command (benchmarks/README.md, "On a GPU"):
#
#   bash benchmarks/gpu_check.sh [--wheels DIR] [--cpu] [--budget SECONDS] [-o FILE]
#
# --wheels DIR: first install the wheels of DIR (made by `benchmarks/wheels.py download`) that
# this Python lacks into $GS_SITE (default /tmp/gridsearch-site), with no index and no
# dependencies, and put it on PYTHONPATH and PATH: the image keeps its own torch, numpy, pandas.
# Then benchmarks/gpu_check.py runs every step and writes one markdown table (default
# gpu_check.md; --cpu: the same steps, small, on the CPU). $PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
WHEELS=""
args=()
while (($#)); do
    case "$1" in
        --wheels) WHEELS=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done
if [[ -n "$WHEELS" ]]; then
    SITE=${GS_SITE:-/tmp/gridsearch-site}
    mapfile -t need < <("$PY" benchmarks/wheels.py missing "$WHEELS")
    if ((${#need[@]})); then
        "$PY" -m pip install --quiet --no-index --no-deps --target "$SITE" "${need[@]}"
    fi
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}" PATH="$SITE/bin:$PATH"
fi
exec "$PY" benchmarks/gpu_check.py ${args[@]+"${args[@]}"}
