"""The outcome of a content check: each problem, located in its file and entry, and the report
of them all that ``kadath check-world`` prints and the server refuses to start on. Plain data and
text: nothing here reads files or checks content."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from components.content import Content
from engine.plugins import SetupError

__all__ = ["ContentCheck", "ContentError", "Problem", "Report", "Severity"]


class Severity(StrEnum):
    ERROR = "error"  # the world cannot be built: the server refuses to start
    WARNING = "warning"  # the world can be built, but a builder probably made a mistake


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the content, located as precisely as the data allows.

    ``file`` is the path relative to its content folder (prefixed ``plugin:`` for a plugin's
    folder), ``entry`` names the entry (``room arkham.square``, ``spawn #2``), ``field`` the key
    within it (``exits.n``, ``items#2.template``); each is empty when it does not apply.
    """

    severity: Severity
    file: str
    entry: str
    field: str
    message: str

    def __str__(self) -> str:
        return ": ".join([*(p for p in (self.file, self.entry, self.field) if p), self.message])


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


@dataclass(frozen=True, slots=True)
class Report:
    """Every problem found in one check, errors and warnings, and how many files were read."""

    problems: tuple[Problem, ...] = ()
    files: int = 0

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == Severity.WARNING)

    @property
    def ok(self) -> bool:
        """True when the world can be built (warnings allowed)."""
        return not self.errors

    def summary(self) -> str:
        return (
            f"{_plural(len(self.errors), 'error')}, {_plural(len(self.warnings), 'warning')}"
            f" in {_plural(self.files, 'file')}"
        )

    def lines(self) -> list[str]:
        """Errors, then warnings, each group by file in the order found; then the summary."""
        listed = [f"error: {p}" for p in _by_file(self.errors)]
        listed += [f"warning: {p}" for p in _by_file(self.warnings)]
        return [*listed, self.summary()]

    def format(self) -> str:
        return "\n".join(self.lines())


def _by_file(problems: Iterable[Problem]) -> list[Problem]:
    order: dict[str, int] = {}
    for p in problems:
        order.setdefault(p.file, len(order))
    return sorted(problems, key=lambda p: order[p.file])


class ContentError(SetupError):
    """The content has errors; ``report`` has every problem, and the message is its text."""

    def __init__(self, report: Report) -> None:
        self.report = report
        super().__init__(
            "the world's content has errors (`kadath check-world` shows the same report):\n"
            + report.format()
        )

    def __reduce__(self) -> tuple[type[ContentError], tuple[Report]]:
        return (type(self), (self.report,))


@dataclass(frozen=True, slots=True)
class ContentCheck:
    """The outcome of a check: the report, and the content when there is no error."""

    report: Report
    content: Content | None = None
    world_name: str = ""

    def require(self) -> Content:
        """The content, or :class:`ContentError` with the whole report if there is any error."""
        if self.content is None or not self.report.ok:
            raise ContentError(self.report)
        return self.content
