"""How a new user meets `sitepivot plan`: when the first progress line, the plan's headline and
the end arrive, measured from the moment the command starts.

    python -m benchmarks.first_output                       # the sample, its own time limit
    python -m benchmarks.first_output inputs/sample_portfolio.xlsx --time-limit 20

Runs `python -m optimizer plan WORKBOOK --no-report ...` in a child process (the same code as
the `sitepivot` script) and stamps each line of its stdout and stderr as it arrives. Prints the
seconds to the first stderr line (progress), to the `npv_musd` line (the headline), to the end,
and the headline lines themselves. A benchmark, not a test: the machine may be shared.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    args = sys.argv[1:] or ["inputs/sample_portfolio.xlsx"]
    command = [sys.executable, "-m", "optimizer", "plan", *args, "--no-report"]
    began = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, bufsize=1)
    stamped: list[tuple[float, str, str]] = []

    def read(stream: object, name: str) -> None:
        for line in stream:  # type: ignore[attr-defined]
            stamped.append((time.perf_counter() - began, name, line.rstrip("\n")))

    readers = [threading.Thread(target=read, args=(child.stdout, "out")),
               threading.Thread(target=read, args=(child.stderr, "err"))]
    for reader in readers:
        reader.start()
    code = child.wait()
    for reader in readers:
        reader.join()
    wall = time.perf_counter() - began
    first = min((t for t, name, _ in stamped if name == "err"), default=float("nan"))
    headline = min((t for t, name, line in stamped if name == "out"
                    and line.startswith("npv_musd")), default=float("nan"))
    print(f"machine: {platform.node()} ({platform.machine()}), Python "
          f"{platform.python_version()}; command: {' '.join(command[2:])}")
    print(f"first progress line {first:.1f} s, headline {headline:.1f} s, end {wall:.1f} s, "
          f"exit code {code}")
    for _, name, line in stamped:
        if name == "out" and line.startswith(("npv_musd", "status")):
            print(line)
    sys.exit(code)


if __name__ == "__main__":
    main()
