"""The core's `AliveSource` over podherd's `job` table: the standalone replica registry.

*Alive* (DESIGN §3): ``state == 'running'`` and a heartbeat newer than the threshold. When the
database cannot answer, this says None ("cannot tell"), never "nobody else is alive", and logs
that once per change (DESIGN §4.7).
"""

from __future__ import annotations

from sqlalchemy import Engine

from podherd.core.ha.liveness import Availability
from podherd.standalone.db import queries


class JobTable:
    def __init__(self, engine: Engine, self_id: int, threshold: float) -> None:
        self.engine = engine
        self.self_id = self_id
        self.threshold = threshold
        self._source = Availability("database")

    def alive_siblings(self) -> set[int] | None:
        try:
            alive = queries.alive_sibling_ids(self.engine, self.self_id, queries.SCHEDULER_JOB, self.threshold)
        except Exception as e:  # the DB blinked: this source cannot answer now
            self._source.down(type(e).__name__)
            return None
        self._source.up()
        return alive
