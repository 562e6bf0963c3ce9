"""podherd's own scheduler front-end: the metadata database, the replica loop and task files.

It owns the task queue (`db/`), the `Replica` that claims tasks and drives the core's executor
and sweeper, and the implementations of the core's ports over its database (`store`, `alive`).
"""
