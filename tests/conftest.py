"""What every test shares: Hypothesis runs the same examples on every machine and every run.

Property tests here read as specifications, and a failure in CI must be one anyone can run again:
so the examples are drawn from a seed derived from each test (``derandomize``) and no example
database carries findings from one run to the next. To explore fresh examples while working on a
rule, run ``pytest --hypothesis-profile=explore`` (random, with the local example database);
a failure it finds goes into the test as an ``@example``.
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("kadath", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile("kadath")
