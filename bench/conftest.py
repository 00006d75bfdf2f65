"""Benchmark plumbing: the ``figures`` fixture and the end-of-run table of paired measurements.

pytest-benchmark times one function per test. Ratios (engine versus plain Python, churn versus no
churn) are measured inside one test by timing both sides in alternation, and recorded here: into the
benchmark's ``extra_info`` (so ``--benchmark-json`` keeps them) and into a table printed at the end
of the run, which is where ``docs/PERFORMANCE.md`` takes its figures from. Nothing here asserts a
time.
"""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

Figure = float | int | str
_FIGURES = pytest.StashKey[list[tuple[str, dict[str, Figure]]]]()


class Figures:
    """Records the figures one benchmark measured besides pytest-benchmark's own timing."""

    def __init__(self, benchmark: BenchmarkFixture, sink: list[tuple[str, dict[str, Figure]]]):
        self._benchmark = benchmark
        self._sink = sink
        self._values: dict[str, Figure] = {}

    @property
    def enabled(self) -> bool:
        """False under ``--benchmark-disable``: benchmarks then run once, as plain tests."""
        return not self._benchmark.disabled

    def record(self, **values: Figure) -> None:
        """Keep named figures (rounded for reading); repeated names overwrite."""
        if not self.enabled:
            return
        rounded = {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items()}
        self._benchmark.extra_info.update(rounded)
        if not self._values:
            self._sink.append((self._benchmark.fullname, self._values))
        self._values.update(rounded)


@pytest.fixture
def figures(request: pytest.FixtureRequest, benchmark: BenchmarkFixture) -> Figures:
    sink = request.config.stash.setdefault(_FIGURES, [])
    return Figures(benchmark, sink)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    rows = config.stash.get(_FIGURES, [])
    if not rows:
        return
    terminalreporter.section("Kadath benchmark figures (paired, same run)")
    for name, values in rows:
        terminalreporter.write_line(name)
        for key, value in values.items():
            terminalreporter.write_line(f"    {key:<40} {value}")
