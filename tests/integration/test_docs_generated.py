"""Every generated block in the README and docs matches the committed results files.

`python benchmarks/docs.py` writes them; a table typed by hand, or a results file re-run
without regenerating the documents, fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import docs


def test_generated_blocks_match_the_results_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert docs.main(["--check"]) == 0, capsys.readouterr().out


def test_a_hand_edited_block_is_caught(tmp_path: Path) -> None:
    text = "intro\n<!-- generated: race-summary -->\n| typed | by hand |\n<!-- /generated -->\n"
    new, changed = docs.regenerate(text, docs.RESULTS, "../benchmarks/results")
    assert changed == ["race-summary"] and "| typed | by hand |" not in new
    assert docs.regenerate(new, docs.RESULTS, "../benchmarks/results") == (new, [])


def test_an_unknown_block_is_an_error() -> None:
    with pytest.raises(KeyError, match="nonsense"):
        docs.regenerate("<!-- generated: nonsense -->\n<!-- /generated -->", docs.RESULTS, ".")


def test_a_registered_block_no_document_holds_is_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(docs.RENDERERS, "orphan-block", lambda _results, _link: "")
    assert docs.main(["--check"]) == 1
    assert "no document holds these blocks: orphan-block" in capsys.readouterr().out


def test_the_scale_block_is_registered_once_its_results_file_is_committed() -> None:
    assert ("scale-summary" in docs.RENDERERS) == (docs.RESULTS / "scale.json").is_file()


def test_every_block_names_its_results_file_command_and_commit() -> None:
    for path in docs.DOCUMENTS:
        for m in docs.BLOCK.finditer(path.read_text(encoding="utf-8")):
            body = m.group("body")
            assert "<sub>From [`benchmarks/results/" in body and "`python benchmarks/" in body, m.group("name")
            assert ", git " in body, m.group("name")
