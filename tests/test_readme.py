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


def test_readme_gives_the_whole_set_up_in_two_commands() -> None:
    blocks = _shell_blocks((ROOT / "README.md").read_text())
    assert len(blocks) == 2
    serve, test = blocks
    assert "kadath serve" in serve and "pip install" in serve
    assert "pytest" in test and "pip install" in test
