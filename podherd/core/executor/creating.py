"""What the executor does with a create's answer: launched, already there, retry, fail or hand back.

Part of `KubernetesExecutor` (a mixin, so the executor module keeps to one screenful of jobs):
the loop thread starts due creates (`creates.py` makes the calls) and turns each answer into the
attempt's next step, decided by the pure `attempts.after_create_error`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from podherd.core.executor.attempts import Attempt, CreateStep, after_create_error, create_failed
from podherd.core.executor.batch import Then
from podherd.core.executor.creates import CreateAnswer, Creates
from podherd.core.executor.settings import ExecutorSettings
from podherd.core.kube.classify import backoff_delay
from podherd.core.labels import LabelScheme
from podherd.core.podstatus import FAILED, Outcome
from podherd.core.ports import Clock, Launched, Pod, PodAPI, Release, StoreOp
from podherd.core.stats import Tally

log = logging.getLogger("podherd.executor")


class CreateAnswers:
    attempts: dict[tuple[str, str], Attempt]
    settings: ExecutorSettings
    creates: Creates
    clock: Clock
    pods: PodAPI
    scheme: LabelScheme
    _tally: Tally
    _write: Callable[[StoreOp, Then | None], None]
    _settle: Callable[..., None]

    def create_due(self) -> None:
        """Submit the creates that are due now (also done at the end of every `sync`)."""
        self._create_due()

    def _create_due(self) -> None:
        now = self.clock()
        budget = self.settings.worker_pods_creation_batch_size
        for att in list(self.attempts.values()):
            if budget <= 0:
                break
            if not att.launched and not att.creating and att.next_create_at <= now:
                att.creating = True
                budget -= 1
                self.creates.submit(att.key, att.work.manifest)

    def _on_created(self, answer: CreateAnswer) -> None:
        att = self.attempts.get(answer.key)
        if att is None:  # finished already: its watch event outran the create's answer
            if answer.pod is not None:
                self._tally.add("launched")
            return
        att.creating = False
        if answer.pod is not None:
            self._launched(att, answer.pod)
            return
        err = answer.error
        assert err is not None, "a create answer has a pod or an error"
        step = after_create_error(
            att, err, answer.refused is not None, self.settings.task_publish_max_retries, self.clock()
        )
        if step == CreateStep.HAND_BACK:
            self._hand_back(att, str(answer.refused))
        elif step == CreateStep.EXISTS:
            self._adopt_existing(att)
        elif step == CreateStep.RETRY:
            self._tally.add("create_retries")
            log.info("create of %s failed (%s), retry %d", att.key[1], err.reason, att.create_errors)
        elif step == CreateStep.FAIL:
            self._tally.add("create_failures")
            self._settle(att, create_failed(err), clean=False)

    def _hand_back(self, att: Attempt, why: str) -> None:
        """Give the try back uncounted: the task is queued again and this replica forgets it.

        Only for attempts whose pod surely does not exist (the API refused the create before
        doing anything, and no earlier create of this try got an ambiguous answer), so the
        next claim may create the same pod name afresh.
        """
        self.attempts.pop(att.key, None)

        def handed(released: object) -> None:
            if released:
                self._tally.add("handed_back")
                log.info("%s try %d handed back uncounted (%s)", att.work.name, att.ref.try_number, why)

        self._write(Release(att.ref), handed)

    def _adopt_existing(self, att: Attempt) -> None:
        """409 AlreadyExists means 'already launched' (deterministic names): never a second run."""
        try:
            pod = self.pods.get_pod(*att.key)
        except Exception as e:
            att.next_create_at = self.clock() + backoff_delay(att.create_errors)
            att.create_errors += 1
            log.info("could not read existing pod %s (%s); will retry", att.key[1], type(e).__name__)
            return
        if self.scheme.identity(pod) != att.ref:
            taken = Outcome(FAILED, reason="pod name taken", message="a pod of another task has this name")
            self._settle(att, taken, clean=False)
            return
        self._tally.add("already_existed")
        self._launched(att, pod)

    def _launched(self, att: Attempt, pod: Pod) -> None:
        uid = pod["metadata"].get("uid")
        if uid:
            self._write(Launched(att.ref, uid))
        att.launched, att.uid = True, uid
        self._tally.add("launched")
