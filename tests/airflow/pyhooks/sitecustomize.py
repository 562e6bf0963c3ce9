"""Imported by Python at start-up when this directory is on PYTHONPATH (see podherd_airflow_hooks)."""

from __future__ import annotations

import podherd_airflow_hooks

podherd_airflow_hooks.install_user_agent()
