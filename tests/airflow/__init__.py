"""Tests against real Apache Airflow 3.3 from PyPI (see conftest.py and harness.py)."""
