"""The full fault-injection run: `python -m tests.faults --trials 1000 --playbooks`.

Prints the trial counts and the totals (records lost and duplicated, write and
destructive requests sent twice, retried writes sent other than the resend rule says;
for the run races, requests per write, runs left unresumable and events after
`run_finished`), and exits 1 if any is not as it must be.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from soarpack.pack import Pack
from tests.faults.common import REPO
from tests.faults.ingest_trials import Totals, run_ingest_trials
from tests.faults.playbook_trials import CASES, PlaybookTotals, run_playbook_trials
from tests.faults.race_processes import run_process_races
from tests.faults.race_trials import RaceTotals, run_race_trials
from tests.faults.retry_trials import run_retry_trials

# Counted beside the faults, but not faults: new records arriving, and a run ending on a
# page served before they arrived (the next run reads them).
NOT_FAULTS = frozenset({"records_arrive", "stale_caught_up_then_read"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults", description=__doc__)
    parser.add_argument("--trials", type=int, default=1000, help="ingest trials (0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--kill-share", type=float, default=0.1, help="share of ingest trials SIGKILLed"
    )
    parser.add_argument(
        "--playbooks", action="store_true", help="also kill every shipped playbook everywhere"
    )
    parser.add_argument("--no-sigkill", action="store_true", help="playbooks: in process only")
    parser.add_argument(
        "--retries", type=int, default=200, help="trials of retried write steps (0: none)"
    )
    parser.add_argument(
        "--races",
        type=int,
        default=100,
        help="seeded trials of each run race: parallel resumes of a run killed mid-write "
        "(with and without verify), parallel decisions, resumes racing approvals (0: none)",
    )
    parser.add_argument(
        "--race-processes",
        type=int,
        default=10,
        help="trials of 8 `soarpack run --resume` processes at once on a run killed mid-write",
    )
    parser.add_argument("--json", action="store_true", help="the totals as one JSON object")
    args = parser.parse_args(argv)
    # A simulated crash is logged by the ingest as an internal error: expected here.
    logging.getLogger("soarpack").addHandler(logging.NullHandler())
    logging.getLogger("soarpack").propagate = False

    pack = Pack.load(REPO)
    report: dict[str, Any] = {"seed": args.seed}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="soarpack-faults-") as work:
        if args.trials:

            def ingest_progress(done: int, totals: Totals) -> None:
                if done % 50 == 0 or done == args.trials:
                    print(
                        f"ingest: {done}/{args.trials} trials, "
                        f"{totals.records_lost} lost, {totals.records_duplicated} duplicated",
                        file=sys.stderr,
                        flush=True,
                    )

            ingest = run_ingest_trials(
                pack,
                Path(work) / "ingest",
                args.trials,
                seed=args.seed,
                kill_share=args.kill_share,
                progress=ingest_progress,
            )
            report["ingest"] = ingest.to_dict()
            report["ingest_seconds"] = round(time.monotonic() - started, 1)
        if args.playbooks:
            middle = time.monotonic()

            def book_progress(name: str, totals: PlaybookTotals) -> None:
                print(f"playbooks: {name} done, {totals.trials} trials", file=sys.stderr)

            books = run_playbook_trials(
                pack,
                Path(work) / "playbooks",
                list(CASES),
                sigkill=not args.no_sigkill,
                progress=book_progress,
            )
            report["playbooks"] = books.to_dict()
            report["playbook_seconds"] = round(time.monotonic() - middle, 1)
        if args.retries:
            begun = time.monotonic()
            retries = run_retry_trials(pack, Path(work), args.retries, seed=args.seed)
            report["retries"] = retries.to_dict()
            report["retry_seconds"] = round(time.monotonic() - begun, 1)
        if args.races:
            middle = time.monotonic()

            def race_progress(kind: str, done: int, totals: RaceTotals) -> None:
                if done % 25 == 0 or done == args.races:
                    print(f"races: {kind} {done}/{args.races}", file=sys.stderr, flush=True)

            races = run_race_trials(
                pack, Path(work) / "races", args.races, seed=args.seed, progress=race_progress
            )
            if args.race_processes:
                races.add(
                    run_process_races(
                        pack, Path(work) / "races", args.race_processes, seed=args.seed
                    )
                )
            report["races"] = races.to_dict()
            report["race_seconds"] = round(time.monotonic() - middle, 1)
    bad = _summary(report)
    if args.json:
        print(json.dumps(report, indent=1))
    return 1 if bad else 0


def _summary(report: dict[str, Any]) -> bool:
    bad = False
    if "ingest" in report:
        i = report["ingest"]
        print(
            f"ingest: {i['trials']} trials ({i['sigkill_trials']} starting with a real process, "
            f"{i['sigkills']} of them SIGKILLed), {i['runs']} runs, "
            f"{i['records_expected']} records expected in {report['ingest_seconds']} s\n"
            f"  records lost: {i['records_lost']}   duplicated: {i['records_duplicated']}   "
            f"corrupt lines: {i['lines_corrupt']}   out of order: {i['out_of_order']}   "
            f"premature caught-up: {i['premature_caught_up']}\n"
            f"  faults injected: {sum(v for k, v in i['injected'].items() if k not in NOT_FAULTS)} "
            f"({', '.join(f'{k} {v}' for k, v in i['injected'].items())})"
        )
        bad |= bool(i["failures"])
        for failure in i["failures"][:20]:
            print(f"  FAILED {failure}")
    if "playbooks" in report:
        p = report["playbooks"]
        print(
            f"playbooks: {p['trials']} kills and resumes "
            f"({', '.join(f'{k} {v}' for k, v in p['by_kind'].items())}) "
            f"in {report['playbook_seconds']} s\n"
            f"  write+destructive requests sent: {p['write_and_destructive_requests_sent']}   "
            f"sent twice: {p['write_requests_sent_twice']} "
            f"(destructive: {p['destructive_requests_sent_twice']})   "
            f"lost: {p['write_requests_lost']}   not succeeded: {p['runs_not_succeeded']}   "
            f"left in doubt (unverifiable note had arrived): "
            f"{p['runs_left_in_doubt_after_the_write_arrived']}"
        )
        bad |= bool(p["failures"])
        for failure in p["failures"][:20]:
            print(f"  FAILED {failure[:300]}")
    if "retries" in report:
        r = report["retries"]
        print(
            f"retried writes: {r['trials']} trials, {r['write_steps']} write steps, "
            f"{sum(r['faults'].values())} failures injected in {report['retry_seconds']} s\n"
            f"  requests sent: {r['write_requests_sent']}   resent (proven not processed): "
            f"{r['resent_proven_not_processed']}   resent (verify: absent): "
            f"{r['resent_after_verify_found_it_absent']}   not resent (verify: done): "
            f"{r['not_resent_verify_found_it_done']}\n"
            f"  in doubt: resent by the operator {r['in_doubt_resent_by_the_operator']}, "
            f"left (the change was there) {r['in_doubt_left_the_change_was_there']}   "
            f"applied twice: {r['writes_applied_twice']}   lost: {r['writes_lost']}   "
            f"sent other than the rule says: {len(r['failures'])}"
        )
        bad |= bool(r["failures"]) or bool(r["writes_applied_twice"]) or bool(r["writes_lost"])
        for failure in r["failures"][:20]:
            print(f"  FAILED {failure[:300]}")
    if "races" in report:
        r = report["races"]
        print(
            f"run races: {', '.join(f'{k} {v}' for k, v in r['trials'].items())} trials "
            f"in {report['race_seconds']} s\n"
            f"  requests per write: {r['requests_per_write']} "
            f"({r['writes_sent']} for {r['writes_expected']} writes; twice: "
            f"{r['writes_sent_twice']}, lost: {r['writes_lost']})   runs left unresumable: "
            f"{r['runs_left_unresumable']}   events after run_finished: "
            f"{r['events_after_run_finished']}   extra decisions: {r['extra_decisions']}\n"
            f"  answers: {', '.join(f'{k} {v}' for k, v in r['answers'].items())}"
        )
        bad |= bool(r["failures"])
        for failure in r["failures"][:20]:
            print(f"  FAILED {failure[:300]}")
    return bad


if __name__ == "__main__":
    sys.exit(main())
