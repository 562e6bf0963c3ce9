#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run podherd's main job on the embedded default:
# a local Kubernetes cluster started in-process and an SQLite database in ./.podherd/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/podherd run "${1:-examples/quickstart.yaml}"
