#!/usr/bin/env bash
# cfn-lint and checkov for the infra tests, pinned, in a virtual environment outside the work
# tree; built once (from PyPI) and rebuilt only when the pins change, so later runs cost nothing.
set -euo pipefail
command -v python3 >/dev/null || { echo "the infra tests need python3 on PATH (for cfn-lint and checkov)" >&2; exit 1; }
VENV="${CENTRALOG_LINT_VENV:-$HOME/.cache/centralog/lint-venv}"
PINS="cfn-lint==1.58.0 checkov==3.3.30"
if [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$PINS" ]; then
  echo "installing $PINS into $VENV (once)..." >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086 # the pins are separate arguments
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS
  echo "$PINS" > "$VENV/.pins"
fi
