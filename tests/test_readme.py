"""The README's set-up commands are the ones CI runs, so a newcomer's first steps are tested."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _shell_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S)]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    match = re.search(r'^TEST_COMMAND="(.*)"$', ci, flags=re.M)
    assert match, ".ci/run must define TEST_COMMAND"
    assert match.group(1) in _shell_blocks(readme)


def _section(text: str, heading: str) -> str:
    match = re.search(rf"^## {heading}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert match, f"README.md has no '## {heading}' section"
    return match.group(1)


def test_readme_gives_the_whole_set_up_in_two_commands() -> None:
    blocks = _shell_blocks(_section((ROOT / "README.md").read_text(), "Set-up"))
    assert len(blocks) == 2
    serve, test = blocks
    assert "kadath serve" in serve and "pip install" in serve
    assert "pytest" in test and "pip install" in test


def test_readme_shows_how_to_install_and_make_a_game_of_ones_own() -> None:
    section = _section((ROOT / "README.md").read_text(), "Install and make your own game")
    for step in ("pip install", "kadath init mygame", "cd mygame", "kadath serve"):
        assert step in section
