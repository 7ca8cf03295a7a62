"""Fault injection, long form: a seeded run of faults against 2 controllers and 3 nodes, then the
invariants table (tasks lost, tasks running twice at once, accepted commands not applied, statuses
wrong for longer than the convergence bound). `tests/chaos/test_faults.py` is the 3-minute version.

    .venv/bin/python bench/chaos_bench.py                 # 30 minutes, a random seed
    .venv/bin/python bench/chaos_bench.py --seconds 180 --seed 42

Starts its own Kafka, FerretDB and Redis on free ports (scripts/services, a private state folder).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support.chaos_run import run_chaos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1800)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--tasks", type=int, default=30)
    parser.add_argument("--output", type=Path, default=None, help="also write the table here")
    parser.add_argument("--keep", type=Path, default=None,
                        help="run in this folder and keep it (the nodes' logs and the workers' ticks)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    print(f"[chaos] seed {seed}, {args.seconds:.0f}s, {args.tasks} tasks", flush=True)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        report = run_chaos(args.keep, seed, args.seconds, tasks=args.tasks)
    else:
        with tempfile.TemporaryDirectory(prefix="skalds-chaos-") as workdir:
            report = run_chaos(Path(workdir), seed, args.seconds, tasks=args.tasks)
    text = "\n".join([f"# Fault injection, seed {seed}", "", report.table(), "", "## Faults", "",
                      *[f"    {line}" for line in report.injected]])
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
