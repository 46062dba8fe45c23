"""The fault sweep: every data-loss, write-outside and untrusted-input case, run and tabulated (prints JSON).

    python bench/faults.py [-k EXPR]

Each case is a test in tests/faults/ named test_case_<item>_<what> (item: the numbered finding of the sweep).
The cases run through the real entry points on generated data in temporary folders; a case is "ok" when the
product behaves (nothing outside changed, one clear line, the batch goes on) and "flaw" when it does not. The
table goes to stderr for reading, the JSON object (every case, counts, seconds) to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CASE = re.compile(r"test_case_(\d+)_(\w+?)(?:\[(.*)\])?$")


class Collector:
    def __init__(self) -> None:
        self.cases: list[dict] = []

    def pytest_runtest_logreport(self, report) -> None:
        name = report.nodeid.rsplit("::", 1)[-1]
        match = CASE.match(name)
        if not match:
            return
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            what = match.group(2).replace("_", " ") + (f" ({match.group(3)})" if match.group(3) else "")
            self.cases.append({"item": int(match.group(1)), "case": what,
                               "result": "ok" if report.outcome == "passed" else "flaw",
                               "seconds": round(report.duration, 2), "test": report.nodeid})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default=None, help="only the cases matching this pytest -k expression")
    args = parser.parse_args()
    collector = Collector()
    started = time.perf_counter()
    options = [str(REPO / "tests" / "faults"), "-q", "-p", "no:cacheprovider", "--no-header", "-o",
               "addopts=--import-mode=importlib"]
    if args.k:
        options += ["-k", args.k]
    with contextlib.redirect_stdout(sys.stderr):  # pytest's own report is for reading; stdout is the JSON
        exit_code = pytest.main(options, plugins=[collector])
    seconds = round(time.perf_counter() - started, 1)
    cases = sorted(collector.cases, key=lambda case: (case["item"], case["case"]))
    for case in cases:
        print(f"{case['item']:>3}  {case['result']:<5} {case['case']}", file=sys.stderr)
    print(json.dumps({
        "cases": cases,
        "ok": sum(case["result"] == "ok" for case in cases),
        "flaw": sum(case["result"] == "flaw" for case in cases),
        "items_covered": sorted({case["item"] for case in cases}),
        "seconds": seconds,
        "pytest_exit_code": int(exit_code),
    }, indent=2))


if __name__ == "__main__":
    main()
