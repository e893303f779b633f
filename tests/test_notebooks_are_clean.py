"""The notebooks are kept in git without outputs, say what they answer, and hold no SQL.

(pytest runs the notebooks themselves through nbmake: see testpaths in pyproject.toml.)
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_the_three_notebooks():
    assert [n.stem for n in NOTEBOOKS] == ["01_evidence_overview", "02_tagger_validation", "03_topic_in_depth"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stripped_and_says_its_question(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and "**Question:**" in first.source
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs before committing"
            assert "SELECT " not in cell.source.upper(), f"{path.name}: read through ingest.query, not SQL"
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1 and 'DATABASE = "demo"' in params[0].source
