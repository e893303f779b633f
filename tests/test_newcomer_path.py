"""The newcomer path: what the README promises exists and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci/run").read_text()
    assert "make test" in readme
    assert re.search(r"^make test$", ci, re.M)


def test_every_make_target_the_readme_names_exists():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"^make (\w+)", readme, re.M)):
        assert re.search(rf"^{target}:", makefile, re.M), f"README names 'make {target}', Makefile lacks it"


def test_every_command_the_readme_lists_has_help():
    from click.testing import CliRunner

    from ingest.cli import cli
    readme = (ROOT / "README.md").read_text()
    for line in re.findall(r"^kratom-evidence ([a-z][a-z -]*?)(?:\s{2,}#|\s+[A-Z]|$)", readme, re.M):
        words = [w for w in line.split() if not w.startswith("-")]
        result = CliRunner().invoke(cli, [*words, "--help"])
        assert result.exit_code == 0, (line, result.output)


def test_gitignore_keeps_databases_and_environments_out():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert "*.db" in ignored and ".venv/" in ignored and "*.db-wal" in ignored
