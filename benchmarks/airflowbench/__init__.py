"""The parts of `benchmarks/airflow_bench.py` (podherd's executor beside the provider's, on real Airflow 3.3).

- `fleet`: one executor's Airflow deployment on PostgreSQL and the embedded cluster, its scheduler
  processes (each incarnation with its job id and CPU), the job-table lock; `postgres`: its databases;
- `judge`: pure, audit records and database rows in, figures out (no I/O);
- `scenarios`: steady state, database trouble, kill -9, the two-survivors race;
- `sweep` (+ `sweep_client`, run by each executor's own venv): one completed-pod sweep with 10,000 pods;
- `report`: the text and Markdown report, the summary table, the plot.
"""
