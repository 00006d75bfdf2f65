"""How much CPU each process of a run takes, in cores, while a load test runs beside it.

``python -m bench.process_cpu --seconds 30 shards="kadath shard" gateway="kadath gateway"
nats=nats-server bots="kadath bots"`` reads, from ``/proc`` (Linux), the user and system CPU
time of every process whose command line contains each pattern, at the start and at the end of
the window, and prints each name's share in cores (1.00 is one core busy for the whole window)
and the total. Several processes matching one pattern are summed (two shards). Started just as
a load test's commands begin, it gives what PERFORMANCE.md's *Sharding* capacity table gives.
Never run by the test suite: it measures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

PROC = Path("/proc")


def cpu_seconds_of_stat(stat: str, ticks_per_s: float) -> float:
    """User plus system CPU seconds from the text of a ``/proc/PID/stat`` file. The command name
    (second field) is in parentheses and may hold spaces and parentheses itself, so the fields
    are counted from the last closing parenthesis."""
    fields = stat.rsplit(")", 1)[1].split()
    # After the name: state is field 3 of proc(5), utime 14 and stime 15.
    return (int(fields[11]) + int(fields[12])) / ticks_per_s


def cpu_by_name(patterns: Mapping[str, str], proc: Path = PROC) -> dict[str, float]:
    """CPU seconds so far of the processes matching each pattern, by name (summed)."""
    ticks_per_s = float(os.sysconf("SC_CLK_TCK"))
    me = os.getpid()
    found = dict.fromkeys(patterns, 0.0)
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        for name, pattern in patterns.items():
            if pattern in command:
                found[name] += cpu_seconds_of_stat(stat, ticks_per_s)
                break
    return found


def shares(
    before: Mapping[str, float], after: Mapping[str, float], span_s: float
) -> dict[str, float]:
    """Each name's CPU over the window, in cores."""
    return {name: (after[name] - before.get(name, 0.0)) / span_s for name in after}


def _patterns(given: Sequence[str]) -> dict[str, str]:
    patterns: dict[str, str] = {}
    for item in given:
        name, sep, pattern = item.partition("=")
        if not sep or not name or not pattern:
            raise SystemExit(f"process_cpu: {item!r} is not NAME=PATTERN")
        patterns[name] = pattern
    return patterns


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.process_cpu", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="the window (default 30)")
    parser.add_argument("processes", nargs="+", metavar="NAME=PATTERN")
    ns = parser.parse_args(argv)
    patterns = _patterns(ns.processes)
    if not PROC.is_dir():
        print("process_cpu: no /proc here (Linux only)", file=sys.stderr)
        return 2
    started = time.monotonic()
    before = cpu_by_name(patterns)
    time.sleep(ns.seconds)
    cores = shares(before, cpu_by_name(patterns), time.monotonic() - started)
    for name, share in cores.items():
        print(f"{name:<12} {share:5.2f} cores")
    print(f"{'total':<12} {sum(cores.values()):5.2f} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
