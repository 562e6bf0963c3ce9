"""Pod creates off the loop thread: a bounded pool makes the calls, a queue brings the answers back.

The loop thread decides (which attempts are due, what an answer means: `attempts.after_create_error`);
this module only runs the calls and hands each answer back through an `Inbox`, which never drops
one (an attempt whose answer were lost would wait forever).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from podherd.core.executor.inbox import Inbox
from podherd.core.kube.classify import ErrorClass, Unusable, classify_exception, unusable
from podherd.core.ports import Pod, PodAPI


@dataclass(frozen=True)
class CreateAnswer:
    key: tuple[str, str]  # (namespace, pod name): the attempt it answers
    pod: Pod | None  # the created pod, or None with `error`
    error: ErrorClass | None = None
    refused: Unusable | None = None  # the API refused us outright: no pod can exist


class Creates:
    def __init__(self, pods: PodAPI, workers: int, wake: threading.Event) -> None:
        self.pods = pods
        self.wake = wake
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="podherd-create")
        self._answers: Inbox[CreateAnswer] = Inbox()

    def submit(self, key: tuple[str, str], manifest: Pod) -> None:
        self._pool.submit(self._create, key, manifest)

    def _create(self, key: tuple[str, str], manifest: Pod) -> None:
        """Pool thread: one create call; the loop thread handles the answer."""
        try:
            self._answers.put(CreateAnswer(key, self.pods.create_pod(key[0], manifest)))
        except Exception as e:
            self._answers.put(CreateAnswer(key, None, classify_exception(e), unusable(e)))
        self.wake.set()

    def take(self) -> list[CreateAnswer]:
        """Every answer that came back (handle them, or `unread` them if that failed)."""
        return self._answers.take()

    def unread(self, answers: list[CreateAnswer]) -> None:
        self._answers.unread(answers)

    def drain(self, handle: Callable[[CreateAnswer], None]) -> int:
        """Hand every answer to `handle` (one whose handling raises is kept for the next call)."""
        return self._answers.drain(handle)

    def shutdown(self) -> None:
        """Wait for the calls in flight: their answers are in the queue afterwards."""
        self._pool.shutdown(wait=True)
