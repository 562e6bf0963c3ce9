"""The core's `AliveSource` over Airflow's `job` table: which other schedulers are alive.

Alive is the seed's definition, the one `SchedulerJobRunner.adopt_or_reset_orphaned_tasks` uses:
a `SchedulerJob` row with `state == running` and `latest_heartbeat` newer than
`[scheduler] scheduler_health_check_threshold`. When the database cannot answer this says None,
"cannot tell": the sweeper then skips, it never falls back to "everyone but me" as the provider
does (`_alive_other_scheduler_job_ids` returns an empty set on any error, which brings the thrash
back while the database fails). The core's `Liveness` combines this with the Leases.
"""

from __future__ import annotations

from collections.abc import Callable

from podherd.core.ha.liveness import Availability


class SchedulerJobs:
    def __init__(self, query: Callable[[], set[int]], self_id: int) -> None:
        """`query()`: the ids of alive SchedulerJob rows (db.alive_scheduler_ids); raises when the DB fails."""
        self.query = query
        self.self_id = self_id
        self._source = Availability("Airflow's job table")

    def alive_siblings(self) -> set[int] | None:
        try:
            alive = self.query()
        except Exception as e:  # the database blinked: this source cannot answer now
            self._source.down(type(e).__name__)
            return None
        self._source.up()
        return {job for job in alive if job != self.self_id}
