"""In-memory fakes of the core's ports (`podherd.core.ports`): unit tests in milliseconds, no server, no database.

Shaped like client-go's leaderelection_test: the fakes keep state like the real thing would
(`FakePods` applies JSON-patch `test` ops, uid preconditions and resourceVersions), every
accepted write is logged with who made it and whose pod it was, one `Journal` orders the writes
of all fakes (so "result before removal" is an assertion), and `Strict` fails the test on any
call at all, for ports a code path must not touch.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonpatch
import jsonpointer

from podherd.core.kube.errors import Conflict, Invalid, NotFound
from podherd.core.labels import PODHERD_SCHEME, LabelScheme
from podherd.core.podstatus import SUCCESS, Outcome
from podherd.core.ports import AttemptRef, Launch, MissingPod, PatchOp, Pod, PodRef, StoreOp, apply_each
from podherd.localcluster.selectors.field import parse_field_selector
from podherd.localcluster.selectors.label import parse_label_selector


class Strict:
    """A port that must not be used: any call fails the test (client-go's catch-all reactor)."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        raise AssertionError(f"unexpected call: {self._name}.{attr}")


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Journal:
    """One ordered log of every accepted write, across all fakes: (who, what, which)."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def add(self, who: str, what: str, which: str) -> None:
        with self._lock:
            self.entries.append((who, what, which))

    def whats(self, which: str) -> list[str]:
        return [what for _who, what, w in self.entries if w == which]


@dataclass(frozen=True)
class Write:
    actor: str  # who wrote (a client's name)
    verb: str  # "create" | "delete" | "patch"
    name: str
    owner_before: str | None  # the owner label of the pod before the write


def pod(
    name: str,
    owner: str,
    phase: str = "Running",
    ref: AttemptRef | None = None,
    namespace: str = "default",
    scheme: LabelScheme = PODHERD_SCHEME,
    done: bool = False,
) -> Pod:
    """A task pod as podspec would label it, with the status a kubelet would write."""
    labels = {scheme.executor_key: scheme.executor_value, scheme.owner_key: owner}
    if done:
        labels[scheme.done_key] = scheme.done_value
    status: dict[str, Any] = {"phase": phase}
    if phase in ("Succeeded", "Failed"):
        code = 0 if phase == "Succeeded" else 3
        reason = "Completed" if code == 0 else "Error"
        status["containerStatuses"] = [{"name": "base", "state": {"terminated": {"exitCode": code, "reason": reason}}}]
    annotations = scheme.identity_annotations(ref) if ref is not None else {}
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations},
        "spec": {"containers": [{"name": "base", "image": "busybox"}]},
        "status": status,
    }


class FakePods:
    """The `PodAPI` as an API server would answer it, for any number of clients (`client(actor)`)."""

    def __init__(self, journal: Journal | None = None, scheme: LabelScheme = PODHERD_SCHEME) -> None:
        self.journal = journal or Journal()
        self.scheme = scheme
        self.pods: dict[tuple[str, str], Pod] = {}
        self.writes: list[Write] = []
        self.calls: list[tuple[str, str, str]] = []  # (actor, verb, name or namespace)
        self.logs: dict[tuple[str, str], str] = {}
        self.streams: list[list[Any]] = []  # scripted watch streams, one per watch call
        self.watch_calls: list[str] = []  # the resourceVersion of each watch
        self.fail: dict[str, list[BaseException]] = {}  # verb -> errors to raise, one per call
        self.before: dict[str, Callable[[str, str], None]] = {}  # verb -> hook(actor, name) before it is served
        self.after_list: Callable[[str], None] | None = None  # hook(actor) once a list is read, before it returns
        self.closed = threading.Event()
        self._rv = itertools.count(100)
        self._uids = itertools.count(1)
        self._lock = threading.RLock()

    # ---- set-up and inspection ----------------------------------------------------------------
    def add(self, p: Pod) -> Pod:
        meta = p["metadata"]
        meta.setdefault("namespace", "default")
        meta.setdefault("uid", f"uid-{next(self._uids)}")
        meta["resourceVersion"] = str(next(self._rv))
        self.pods[(meta["namespace"], meta["name"])] = p
        return p

    def client(self, actor: str) -> PodClient:
        return PodClient(self, actor)

    def owner(self, namespace: str, name: str) -> str | None:
        p = self.pods.get((namespace, name))
        return None if p is None else (p["metadata"].get("labels") or {}).get(self.scheme.owner_key)

    def writes_by(self, actor: str) -> list[Write]:
        return [w for w in self.writes if w.actor == actor]

    # ---- serving ------------------------------------------------------------------------------
    def serve(self, actor: str, verb: str, name: str) -> None:
        """Every call: logged, then its hook, then a scripted failure if one is queued."""
        with self._lock:
            self.calls.append((actor, verb, name))
        hook = self.before.get(verb)
        if hook is not None:
            hook(actor, name)
        errors = self.fail.get(verb)
        if errors:
            raise errors.pop(0)

    def _get(self, namespace: str, name: str) -> Pod:
        p = self.pods.get((namespace, name))
        if p is None:
            raise NotFound(f'pods "{name}" not found')
        return p

    def _wrote(self, actor: str, verb: str, namespace: str, name: str, owner_before: str | None) -> None:
        self.writes.append(Write(actor, verb, name, owner_before))
        self.journal.add(actor, f"{verb} pod", f"{namespace}/{name}")

    def create(self, actor: str, namespace: str, body: Pod) -> Pod:
        name = body["metadata"]["name"]
        if (namespace, name) in self.pods:
            raise Conflict("AlreadyExists", b'{"reason":"AlreadyExists","message":"already exists"}')
        p = self.add(copy.deepcopy(body))
        self._wrote(actor, "create", namespace, name, None)
        return copy.deepcopy(p)

    def delete(self, actor: str, namespace: str, name: str, uid: str | None) -> None:
        p = self._get(namespace, name)
        if uid and p["metadata"]["uid"] != uid:
            raise Conflict("the UID in the precondition does not match")
        owner = self.owner(namespace, name)
        del self.pods[(namespace, name)]
        self._wrote(actor, "delete", namespace, name, owner)

    def patch(self, actor: str, namespace: str, name: str, ops: list[PatchOp]) -> Pod:
        p = self._get(namespace, name)
        owner = self.owner(namespace, name)
        try:
            patched = jsonpatch.apply_patch(p, ops)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as e:  # a failed `test` op, too
            raise Invalid(str(e)) from None
        patched["metadata"]["resourceVersion"] = str(next(self._rv))
        self.pods[(namespace, name)] = patched
        self._wrote(actor, "patch", namespace, name, owner)
        return copy.deepcopy(patched)

    def merge(self, actor: str, namespace: str, name: str, patch: Pod) -> Pod:
        p = self._get(namespace, name)
        owner = self.owner(namespace, name)
        labels = ((patch.get("metadata") or {}).get("labels")) or {}
        p["metadata"]["labels"].update(labels)
        p["metadata"]["resourceVersion"] = str(next(self._rv))
        self._wrote(actor, "patch", namespace, name, owner)
        return copy.deepcopy(p)

    def select(self, namespace: str, labels: str, fields: str) -> list[Pod]:
        lsel, fsel = parse_label_selector(labels), parse_field_selector(fields)
        out = []
        for (ns, _name), p in sorted(self.pods.items()):
            phase = (p.get("status") or {}).get("phase", "")
            labels = p["metadata"].get("labels") or {}
            if ns == namespace and lsel.matches(labels) and fsel.matches({"status.phase": phase}):
                out.append(copy.deepcopy(p))
        return out

    def stream(self, rv: str) -> Iterator[Pod]:
        """A scripted stream (events; exceptions are raised; callables are called), else a quiet one."""
        self.watch_calls.append(rv)
        if not self.streams:
            self.closed.wait(0.05)  # like a server that has nothing to say, briefly
            return
        for item in self.streams.pop(0):
            if isinstance(item, BaseException):
                raise item
            if callable(item):
                item()
                continue
            yield item


class PodClient:
    """One client of a `FakePods`: the `PodAPI` port, with every call tagged with `actor`."""

    def __init__(self, server: FakePods, actor: str) -> None:
        self.server = server
        self.actor = actor

    def create_pod(self, namespace: str, body: Pod) -> Pod:
        self.server.serve(self.actor, "create", body["metadata"]["name"])
        return self.server.create(self.actor, namespace, body)

    def get_pod(self, namespace: str, name: str) -> Pod:
        self.server.serve(self.actor, "get", name)
        return copy.deepcopy(self.server._get(namespace, name))

    def delete_pod(self, namespace: str, name: str, uid: str | None = None, grace_seconds: int | None = None) -> None:
        self.server.serve(self.actor, "delete", name)
        self.server.delete(self.actor, namespace, name, uid)

    def json_patch_pod(self, namespace: str, name: str, ops: list[PatchOp]) -> Pod:
        self.server.serve(self.actor, "patch", name)
        return self.server.patch(self.actor, namespace, name, ops)

    def merge_patch_pod(self, namespace: str, name: str, patch: Pod) -> Pod:
        self.server.serve(self.actor, "patch", name)
        return self.server.merge(self.actor, namespace, name, patch)

    def list_pods(
        self,
        namespace: str,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 500,
        metadata_only: bool = False,
    ) -> tuple[list[Pod], str]:
        self.server.serve(self.actor, "list", namespace)
        items = self.server.select(namespace, label_selector, field_selector)
        if self.server.after_list is not None:
            self.server.after_list(self.actor)  # the world moves on while the answer travels
        return items, str(next(self.server._rv))

    def watch_pods(
        self, namespace: str, label_selector: str, resource_version: str, timeout_seconds: int, read_timeout: float
    ) -> Iterator[Pod]:
        self.server.serve(self.actor, "watch", namespace)
        return self.server.stream(resource_version)

    def pod_log(self, namespace: str, name: str, container: str, tail_lines: int = 20) -> str:
        self.server.serve(self.actor, "log", name)
        return self.server.logs.get((namespace, name), "")


class FakeLeases:
    """The `LeaseAPI`: Leases by name, a resourceVersion bumped on every write."""

    def __init__(self) -> None:
        self.leases: dict[str, dict[str, Any]] = {}
        self.deleted: list[str] = []
        self._rv = itertools.count(1)

    def put(self, name: str, holder: int, duration: int = 5, renew: str = "t0") -> None:
        spec = {"holderIdentity": str(holder), "leaseDurationSeconds": duration, "renewTime": renew}
        meta = {"name": name, "labels": {"podherd.io/replica-lease": "true"}, "resourceVersion": str(next(self._rv))}
        self.leases[name] = {"metadata": meta, "spec": spec}

    def get_lease(self, namespace: str, name: str) -> dict[str, Any]:
        if name not in self.leases:
            raise NotFound(name)
        return copy.deepcopy(self.leases[name])

    def create_lease(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        if name in self.leases:
            raise Conflict("AlreadyExists")
        body = copy.deepcopy(body)
        body["metadata"]["resourceVersion"] = str(next(self._rv))
        self.leases[name] = body
        return copy.deepcopy(body)

    def replace_lease(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        current = self.get_lease(namespace, name)
        if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
            raise Conflict("the object has been modified")
        body = copy.deepcopy(body)
        body["metadata"]["resourceVersion"] = str(next(self._rv))
        self.leases[name] = body
        return copy.deepcopy(body)

    def list_leases(self, namespace: str, label_selector: str = "") -> list[dict[str, Any]]:
        return [copy.deepcopy(v) for _k, v in sorted(self.leases.items())]

    def delete_lease(self, namespace: str, name: str) -> None:
        if name not in self.leases:
            raise NotFound(name)
        del self.leases[name]
        self.deleted.append(name)


@dataclass
class Row:
    """One attempt in the `TaskBook`."""

    owner: int
    work: Launch
    uid: str | None = None
    running: bool = False
    result: Outcome | None = None
    released: bool = False


@dataclass
class TaskBook:
    """The task store's truth, shared by the `FakeTasks` of several owners (as one database is)."""

    journal: Journal = field(default_factory=Journal)
    rows: dict[AttemptRef, Row] = field(default_factory=dict)
    alive_owners: set[int] = field(default_factory=set)

    def add(self, owner: int, name: str, key: str = "", launched: bool = False, uid: str | None = None) -> Launch:
        ref = AttemptRef(key or str(len(self.rows) + 1), 1)
        work = Launch(ref, name, PodRef("default", name, uid), manifest=_manifest(name, ref), launched=launched)
        self.rows[ref] = Row(owner, work, uid)
        return work


def _manifest(name: str, ref: AttemptRef) -> Pod:
    annotations = PODHERD_SCHEME.identity_annotations(ref)
    return {"metadata": {"name": name, "namespace": "default", "annotations": annotations}, "spec": {}}


class FakeTasks:
    """The `TaskStore` of one owner over a `TaskBook`; conditional and idempotent like the real one."""

    def __init__(self, book: TaskBook, owner: int) -> None:
        self.book = book
        self.owner = owner
        self.fail_record: BaseException | None = None
        self.commits = 0  # `apply` calls: one per executor loop that wrote anything

    def _live(self, ref: AttemptRef, mine: bool = False) -> Row | None:
        """The attempt's row while it is unfinished (and, with `mine`, owned here); else None."""
        row = self.book.rows.get(ref)
        if row is None or row.released or row.result is not None or (mine and row.owner != self.owner):
            return None
        return row

    def record_launched(self, ref: AttemptRef, uid: str) -> bool:
        row = self._live(ref)
        if row is not None:
            row.uid = uid
            self.book.journal.add(str(self.owner), "record launched", str(ref))
        return row is not None

    def record_running(self, ref: AttemptRef) -> bool:
        row = self._live(ref)
        if row is not None:
            row.running = True
        return row is not None

    def record(self, ref: AttemptRef, outcome: Outcome, log_tail: str = "") -> str:
        if self.fail_record is not None:
            raise self.fail_record
        row = self._live(ref)
        if row is None:
            return "unchanged"
        row.result = outcome
        self.book.journal.add(str(self.owner), "record result", str(ref))
        return "success" if outcome.state == SUCCESS else "failed"

    def release(self, ref: AttemptRef) -> bool:
        row = self._live(ref, mine=True)
        if row is not None:
            row.released = True
            self.book.journal.add(str(self.owner), "release", str(ref))
        return row is not None

    def apply(self, ops: Sequence[StoreOp]) -> list[object]:
        self.commits += 1
        return apply_each(self, ops)

    def decide_missing_pod(self, ref: AttemptRef) -> MissingPod:
        row = self._live(ref, mine=True)
        if row is None:
            return MissingPod.SETTLED
        if row.uid is None and not row.work.launched:
            return MissingPod.RELAUNCH
        return MissingPod.LOST

    def dead_owners_with_work(self) -> set[int]:
        return {r.owner for r in self.book.rows.values() if r.result is None and r.owner not in self.book.alive_owners}

    def take_over(self, dead_owner: int) -> list[Launch]:
        won = []
        for row in self.book.rows.values():
            if row.owner == dead_owner and row.result is None and not row.released:
                row.owner = self.owner
                won.append(row.work)
        return won


class FakeAlive:
    """The `AliveSource`: answers what the test says (None: cannot tell)."""

    def __init__(self, alive: set[int] | None) -> None:
        self.alive = alive
        self.asked = 0

    def alive_siblings(self) -> set[int] | None:
        self.asked += 1
        return None if self.alive is None else set(self.alive)


class FakeExecutor:
    """The `Executor` port as the sweeper sees it: records what it was handed."""

    def __init__(self) -> None:
        self.launched: list[tuple[Launch, Pod | None]] = []
        self.lost: list[Launch] = []
        self.finished: list[str] = []

    def launch(self, work: list[Launch], pods: Mapping[str, Pod] | None = None) -> None:
        for w in work:
            self.launched.append((w, (pods or {}).get(w.pod.name)))

    def record_lost(self, work: Launch) -> None:
        self.lost.append(work)

    def finish_pod(self, p: Pod, namespace: str, again: bool = False) -> bool:
        self.finished.append(p["metadata"]["name"])
        return True
