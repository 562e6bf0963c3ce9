"""podherd's core: everything between "this attempt should run" and "its pod is gone", for any front-end.

Pure decisions (labels, selectors, pod manifests, pod status → outcome, the adoption planner)
and the machinery that acts on them (the kube client, the watcher, the executor, cleanup,
liveness, the sweeper). It reaches a task queue and a replica registry only through the
Protocols in `podherd.core.ports`, so it imports neither `podherd.standalone` nor the CLI: the
standalone scheduler and the Airflow executor plug their own store and liveness source in.
"""
