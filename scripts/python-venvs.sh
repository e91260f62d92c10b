#!/usr/bin/env bash
# The Python tools the project runs, pinned, each in its own virtual environment outside the
# work tree (their dependencies conflict): cfn-lint and checkov for the infra tests, moto's
# server as the local SNS. Built once (from PyPI), rebuilt only when the pins change, so later
# runs cost nothing. `bash scripts/python-venvs.sh [lint] [moto]` builds only those named.
set -euo pipefail
command -v python3 >/dev/null || { echo "python3 is needed on PATH (with venv: apt-get install python3-venv) for cfn-lint, checkov and the local SNS (moto)" >&2; exit 1; }
ROOT="$HOME/.cache/centralog"

build() { # venv-dir pins...
  local venv="$1"; shift
  local pins="$*"
  if [ "$(cat "$venv/.pins" 2>/dev/null)" != "$pins" ]; then
    echo "installing $pins into $venv (once)..." >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$@"
    echo "$pins" > "$venv/.pins"
  fi
}

WANT="${*:-lint moto}"
for name in $WANT; do
  case "$name" in
    lint) build "${CENTRALOG_LINT_VENV:-$ROOT/lint-venv}" cfn-lint==1.58.0 checkov==3.3.30 ;;
    moto) build "${CENTRALOG_MOTO_VENV:-$ROOT/moto-venv}" 'moto[server]==5.2.5' ;;
    *) echo "unknown tool set '$name' (known: lint moto)" >&2; exit 2 ;;
  esac
done
