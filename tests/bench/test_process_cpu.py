"""The CPU share tool reads /proc's stat lines right, whatever the command's name holds."""

from __future__ import annotations

import pytest

from bench.process_cpu import _patterns, cpu_seconds_of_stat, shares

# proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
# utime stime ...
STAT = "4242 (kadath (shard) s1) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 50 0 0 20 0 9 0"


def test_cpu_seconds_are_user_plus_system_time_after_the_last_parenthesis() -> None:
    assert cpu_seconds_of_stat(STAT, 100.0) == pytest.approx(3.0)


def test_a_share_is_cpu_seconds_over_the_window_in_cores() -> None:
    before = {"shards": 10.0, "gateway": 2.0}
    after = {"shards": 25.0, "gateway": 5.0}
    assert shares(before, after, 30.0) == {"shards": 0.5, "gateway": 0.1}


def test_a_process_argument_without_name_and_pattern_is_refused() -> None:
    assert _patterns(["nats=nats-server"]) == {"nats": "nats-server"}
    with pytest.raises(SystemExit, match="not NAME=PATTERN"):
        _patterns(["nats-server"])
