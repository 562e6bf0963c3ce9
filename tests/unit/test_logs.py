"""The kubelet's log records (kubelet.logs), how they are written out (logformat) and which instance (logselect)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from podherd.localcluster.kubelet.logformat import LogOptions, LogWriter, Record, format_ts, since_ns, tail
from podherd.localcluster.kubelet.logs import MAX_LINE, LogStore
from podherd.localcluster.kubelet.logselect import NoLogs, log_instance

T0 = 1_767_225_600 * 1_000_000_000  # 2026-01-01T00:00:00Z


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def store() -> tuple[LogStore, Clock]:
    clock = Clock()
    s = LogStore(clock_ns=clock)
    s.open("ns", "p", "c", "id1")
    return s, clock


def test_format_ts_has_nine_digits() -> None:
    assert format_ts(T0 + 5) == "2026-01-01T00:00:00.000000005Z"
    assert format_ts(T0 + 1_500_000_000) == "2026-01-01T00:00:01.500000000Z"


def test_records_split_at_newlines_and_an_open_line_waits() -> None:
    s, clock = store()
    s.append("ns", "p", "c", "id1", b"a\nb")
    clock.now += 1_000_000_000
    s.append("ns", "p", "c", "id1", b"c\nd")
    assert s.read("ns", "p", "c", "id1") == b"a\nbc\n"  # "d" has no newline yet
    s.close("ns", "p", "c", "id1")
    out = s.read("ns", "p", "c", "id1", LogOptions(timestamps=True))
    assert out.decode().splitlines() == [
        "2026-01-01T00:00:00.000000000Z a",
        "2026-01-01T00:00:01.000000000Z bc",
        "2026-01-01T00:00:01.000000000Z d",  # a partial record: no newline added
    ]
    assert out.endswith(b" d")


def test_long_lines_become_partial_records() -> None:
    s, _ = store()
    s.append("ns", "p", "c", "id1", b"x" * (MAX_LINE + 10) + b"\n")
    out = s.read("ns", "p", "c", "id1", LogOptions(tail=1))
    assert out == b"x" * 10 + b"\n"


def test_options() -> None:
    records = [Record(T0, b"one\n"), Record(T0 + 2_000_000_000, b"two\n"), Record(T0 + 3_000_000_000, b"three\n")]
    assert LogWriter(LogOptions(since_ns=T0 + 2_000_000_000)).render(records) == b"two\nthree\n"
    assert LogWriter(LogOptions(limit_bytes=6)).render(records) == b"one\ntw"
    assert tail(records, 0) == [] and tail(records, 2) == records[1:] and tail(records, None) == records
    assert since_ns(T0 + 10_000_000_000, 5, None) == T0 + 5_000_000_000
    assert since_ns(T0 + 10_000_000_000, 5, T0 + 7_000_000_000) == T0 + 7_000_000_000  # the later wins
    assert since_ns(T0, None, None) is None


def test_instances_are_kept_by_container_id_two_at_most() -> None:
    s, _ = store()
    for cid in ("id1", "id2", "id3"):
        s.open("ns", "p", "c", cid)
        s.append("ns", "p", "c", cid, cid.encode() + b"\n")
        s.close("ns", "p", "c", cid)
    assert not s.has("ns", "p", "c", "id1")
    assert s.read("ns", "p", "c", "id2") == b"id2\n" and s.read("ns", "p", "c") == b"id3\n"


def test_follow_yields_until_close_and_respects_the_limit() -> None:
    async def run() -> tuple[bytes, bytes]:
        s, _ = store()
        s.append("ns", "p", "c", "id1", b"a\n")

        async def collect(opts: LogOptions) -> bytes:
            return b"".join([chunk async for chunk in s.follow("ns", "p", "c", "id1", opts)])

        whole = asyncio.ensure_future(collect(LogOptions(follow=True)))
        capped = asyncio.ensure_future(collect(LogOptions(follow=True, limit_bytes=3)))
        await asyncio.sleep(0)
        s.append("ns", "p", "c", "id1", b"b\nc")
        await asyncio.sleep(0)
        s.close("ns", "p", "c", "id1")
        return await whole, await capped

    assert asyncio.run(run()) == (b"a\nb\nc", b"a\nb")


def pod(state: dict[str, Any], last: dict[str, Any] | None = None, cid: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"name": "c", "state": state, "lastState": {"terminated": last} if last else {}}
    if cid:
        status["containerID"] = cid
    return {"metadata": {"name": "p"}, "status": {"containerStatuses": [status]}}


@pytest.mark.parametrize(
    ("p", "previous", "expected"),
    [
        (pod({"running": {}}, cid="now"), False, "now"),
        (pod({"terminated": {"containerID": "t"}}), False, "t"),
        (pod({"waiting": {"reason": "CrashLoopBackOff"}}, {"containerID": "old"}), False, "old"),
        (pod({"running": {}}, {"containerID": "old"}, cid="now"), True, "old"),
        (pod({"terminated": {}}, {"containerID": "old"}), False, "old"),
    ],
)
def test_log_instance(p: dict[str, Any], previous: bool, expected: str) -> None:
    assert log_instance(p, "c", previous) == expected


@pytest.mark.parametrize(
    ("p", "previous", "message"),
    [
        (pod({"running": {}}, cid="now"), True, 'previous terminated container "c" in pod "p" not found'),
        (
            pod({"waiting": {"reason": "ContainerCreating"}}),
            False,
            'container "c" in pod "p" is waiting to start: ContainerCreating',
        ),
        (pod({"waiting": {"reason": "ErrImagePull"}}), False, "is waiting to start: image can't be pulled"),
        (pod({"waiting": {"reason": "ImagePullBackOff"}}), False, "trying and failing to pull image"),
        (pod({"terminated": {}}), False, 'container "c" in pod "p" is terminated'),
        (pod({}), False, "is waiting to start - no logs yet"),
        ({"metadata": {"name": "p"}, "status": {}}, False, "is waiting to start: ContainerCreating"),
    ],
)
def test_no_logs(p: dict[str, Any], previous: bool, message: str) -> None:
    with pytest.raises(NoLogs) as ei:
        log_instance(p, "c", previous)
    assert message in str(ei.value)
