#!/usr/bin/env bash
# Create .venv and install SFC Studio into it from scratch.
#   bash scripts/install.sh app   # the app and library
#   bash scripts/install.sh dev   # + test dependencies and the parity-test references
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-app}"
python3 -m venv .venv
pip=".venv/bin/python -m pip"
$pip install --quiet --upgrade pip
$pip install --quiet torch==2.13.0          # first, so nothing else pulls a CUDA build
$pip install --quiet -r requirements.txt
$pip install --quiet --no-deps --editable .  # the project itself: `import sfc_core` and the sfc-* commands work anywhere
if [ "$what" = "dev" ]; then
  $pip install --quiet -r requirements-dev.txt
  $pip install --quiet --no-deps -r requirements-refs.txt
  if [ ! -x /usr/bin/chromium ]; then  # the browser tests use Debian's chromium
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
echo "installed ($what) into .venv"
