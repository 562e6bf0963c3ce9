"""`podherd run --kubeconfig`: which namespace answers stop the run before anything is inserted."""

from __future__ import annotations

from podherd.commands.run import classify_namespaces


def test_only_a_404_is_proof_that_a_namespace_is_missing() -> None:
    answers: dict[str, int | str] = {
        "here": 200,
        "gone": 404,
        "forbidden": 403,  # RBAC may allow creating pods but not reading namespaces: not a reason to stop
        "unauthorized": 401,
        "down": "ConnectionRefusedError: [Errno 111] Connection refused",
    }
    asked: list[str] = []

    def probe(ns: str) -> int | str:
        asked.append(ns)
        return answers[ns]

    missing, unknown = classify_namespaces(sorted(answers), probe)
    assert missing == ["gone"]
    assert unknown == {
        "down": "ConnectionRefusedError: [Errno 111] Connection refused",
        "forbidden": "HTTP 403",
        "unauthorized": "HTTP 401",
    }
    assert asked == sorted(answers)  # one GET per namespace


def test_no_namespaces_no_questions() -> None:
    assert classify_namespaces([], lambda ns: 500) == ([], {})
