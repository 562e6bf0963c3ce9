#!/usr/bin/env bash
# Create the Apache Airflow virtualenvs the Airflow tests and benchmarks run (idempotent).
#
#   scripts/airflow-env.sh [current] [thrash] [all]     (default: current)
#   scripts/airflow-env.sh --relock [ENV...]            re-resolve from PyPI and rewrite the pins
#
#   current  podherd (editable, `pip install -e '.[airflow]'`) + apache-airflow 3.3.2
#            + apache-airflow-providers-cncf-kubernetes 10.25.0 (has the seed's fix, #66400)
#   thrash   apache-airflow 3.3.2 + apache-airflow-providers-cncf-kubernetes 10.17.0
#            (before #66400: the relabel "thrash") + psycopg 3 (PostgreSQL), no podherd; for the
#            side-by-side benchmark
#
# Layout under $PODHERD_AIRFLOW_ENVS (default: <repo>/.venv-airflow):
#   current/, thrash/   the venvs; each holds a stamp of what it was built from
#   wheels/             every wheel they were installed from (a rebuild needs no network)
#
# A venv whose stamp matches (python, packages, pins, pyproject.toml) is left alone, so a second
# run costs well under a second. Otherwise it is rebuilt from scratch: missing wheels are
# downloaded into wheels/, then the venv is installed from wheels/ alone (--no-index).
# Pins: scripts/airflow-constraints/<env>-py<X.Y>.txt (pip freeze of a fresh resolve; without a
# file for this Python the resolve is unpinned and says so).
#
# Environment: PYTHON (interpreter, >= 3.11), PODHERD_AIRFLOW_ENVS (cache root),
# PODHERD_AIRFLOW_OFFLINE=1 (never download: install from wheels/ only).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${PODHERD_AIRFLOW_ENVS:-$REPO/.venv-airflow}
PY=${PYTHON:-python3}
OFFLINE=${PODHERD_AIRFLOW_OFFLINE:-0}
AIRFLOW_VERSION=3.3.2
PROVIDER_CURRENT=10.25.0
PROVIDER_THRASH=10.17.0

relock=0
envs=()
for arg in "$@"; do
  case "$arg" in
    --relock) relock=1 ;;
    current | thrash) envs+=("$arg") ;;
    all) envs+=(current thrash) ;;
    -h | --help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "airflow-env.sh: unknown argument '$arg' (current, thrash, all, --relock)" >&2; exit 2 ;;
  esac
done
[ ${#envs[@]} -gt 0 ] || envs=(current)

if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "the Airflow venvs need Python >= 3.11 (found: $("$PY" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
PYVER=$("$PY" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
mkdir -p "$ROOT/wheels"
# One builder at a time (parallel test workers may all ask for the same venv).
exec 9>"$ROOT/.lock"
flock 9

# The requirement lines of one env (argv words for pip).
spec() {
  case "$1" in
    current) printf '%s\n' "-e" "$REPO[airflow]" "apache-airflow==$AIRFLOW_VERSION" \
      "apache-airflow-providers-cncf-kubernetes==$PROVIDER_CURRENT" ;;
    # psycopg 3: Airflow's PostgreSQL driver (current gets it with podherd), for three schedulers in the benchmark
    thrash) printf '%s\n' "apache-airflow==$AIRFLOW_VERSION" \
      "apache-airflow-providers-cncf-kubernetes==$PROVIDER_THRASH" "psycopg[binary]" ;;
  esac
}

# What `pip download` gets for it: no -e, and the build backend an editable install needs.
download_spec() {
  spec "$1" | grep -vx -- "-e"
  printf '%s\n' "setuptools>=68" "wheel"
}

stamp_of() {
  local env=$1 pins=$2
  {
    echo "$env python=$("$PY" -c 'import sys; print(sys.version)')"
    spec "$env"
    if [ -f "$pins" ]; then cat "$pins"; fi
    # current installs this checkout in editable mode: another checkout needs its own build
    if [ "$env" = current ]; then echo "$REPO"; cat "$REPO/pyproject.toml"; fi
  } | sha256sum | cut -d' ' -f1
}

build() {
  local env=$1 venv="$ROOT/$1" pins="$REPO/scripts/airflow-constraints/$1-py$PYVER.txt"
  local -a constraint=() words=()
  mapfile -t words < <(spec "$env")
  if [ "$relock" = 1 ]; then
    pins_out=$pins
    pins=/dev/null/none  # resolve freely
  elif [ -f "$pins" ]; then
    constraint=(-c "$pins")
  else
    echo "note: no pins for Python $PYVER ($pins): resolving $env unpinned" >&2
  fi
  local stamp
  stamp=$(stamp_of "$env" "$pins")
  if [ "$relock" = 0 ] && [ -x "$venv/bin/airflow" ] && [ "$(cat "$venv/.podherd-env-stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "airflow env '$env' is up to date: $venv"
    return
  fi
  local t0=$SECONDS
  echo "building airflow env '$env' in $venv (Python $PYVER)"
  rm -rf "$venv"
  "$PY" -m venv "$venv"
  local -a pipq=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)
  if [ "$OFFLINE" != 1 ]; then
    local -a dl=()
    mapfile -t dl < <(download_spec "$env")
    "${pipq[@]}" download --quiet --progress-bar off -d "$ROOT/wheels" "${constraint[@]}" "${dl[@]}"
  fi
  "${pipq[@]}" install --quiet --progress-bar off --no-index --find-links "$ROOT/wheels" \
    "${constraint[@]}" "${words[@]}"
  "${pipq[@]}" check
  if [ "$relock" = 1 ]; then
    mkdir -p "$(dirname "$pins_out")"
    {
      echo "# pip freeze of the '$env' Airflow venv, Python $PYVER; written by scripts/airflow-env.sh --relock"
      "${pipq[@]}" freeze --exclude-editable
    } >"$pins_out"
    echo "wrote $pins_out"
    pins=$pins_out
    stamp=$(stamp_of "$env" "$pins")
  fi
  echo "$stamp" >"$venv/.podherd-env-stamp"
  echo "airflow env '$env' built in $((SECONDS - t0)) s: $venv ($(du -sh "$venv" | cut -f1))"
}

for env in "${envs[@]}"; do
  build "$env"
done
