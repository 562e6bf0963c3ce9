#!/usr/bin/env bash
# One command for a newcomer: Apache Airflow 3.3 with podherd's executor on podherd's embedded
# Kubernetes cluster, and a demo DAG run to success.
#
#   scripts/airflow-demo.sh            build the Airflow venv if needed (~2 min the first time), start the
#                                      embedded cluster, Airflow (API server + UI, DAG processor, scheduler
#                                      with [core] executor = podherd.airflow.PodherdExecutor), run the demo
#                                      DAG, print where to look; keeps running until Ctrl-C
#   scripts/airflow-demo.sh --once     the same, and stop as soon as the run has ended (exit 0 on success)
#
# Everything is written to ./.airflow-demo/ (recreated each run). Options: --home DIR, --port N.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/airflow-env.sh current >/dev/null
exec .venv-airflow/current/bin/python scripts/airflow_demo.py "$@"
