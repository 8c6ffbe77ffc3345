#!/usr/bin/env bash
# Idempotent set-up: a Python 3.11 venv in .venv with the pinned packages, this
# project installed editable, and TeX Live (Debian) when latexmk is missing.
# Rerunning it reinstalls nothing: a stamp records the requirements' hash.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

# g++ builds the tweet LSTM's C++ kernel on first use (without it the LSTM falls back to nn.LSTM).
need_system=0
for tool in latexmk pdflatex pdftotext g++; do command -v "$tool" >/dev/null || need_system=1; done
if [ "$need_system" = 1 ]; then
  echo "[setup] installing TeX Live, poppler-utils and g++ (Debian packages)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    texlive-latex-base texlive-latex-recommended texlive-fonts-recommended \
    latexmk poppler-utils g++ >/dev/null
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha256"
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "[setup] installing pinned packages into $VENV"
  # pip's log goes to a file: some machines' pip configs print pages of harmless warnings.
  "$VENV/bin/pip" install -q --disable-pip-version-check -r requirements.txt >"$VENV/pip.log" 2>&1 \
    || { grep -v "is ignored: it is neither" "$VENV/pip.log" >&2; exit 1; }
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
else
  echo "[setup] $VENV is up to date"
fi
