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
