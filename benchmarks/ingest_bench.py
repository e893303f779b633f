"""Ingestion speed and memory, as figures from one run (issue 9). Not a test: it prints.

    python benchmarks/ingest_bench.py                  # 20,000 records; retag of 100,000
    python benchmarks/ingest_bench.py --flat 200000    # also peak memory at 200,000 records

Each stage runs in a fresh process, so its peak memory is its own:

1. the raw lxml iterparse rate over the file (elements cleared as read): the limit;
   then, for scale, the project's parser alone (records built, nothing stored) and an
   ingest without tagging (parse, store, FTS), each in one process;
2. ``ingest file`` into a new database (parse, design, topics, sample size, store, FTS),
   with the CPU time it took a record, against what 0.4 x raw would leave on this machine;
3. the same file again, unchanged (every record compared by hash, nothing written);
4. ``retag`` of a database of ``--retag`` records;
5. with ``--flat N``: the peak memory of ingesting N records, against the first ingest's.

Targets (ratios within one run, this machine being shared and noisy): full ingest at least
0.4 times the raw parse rate; re-ingest at least 3 times faster than the first ingest; peak
memory under 200 MB and growing less than 20% from 20,000 to 200,000 records; retag of
100,000 records under 30 s. Generated files and databases are kept in benchmarks/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"

STAGE = r"""
import json, os, resource, sys, time
stage, path, db, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t = time.perf_counter()
if stage == "raw":
    from lxml import etree
    n = 0
    for _, el in etree.iterparse(path, events=("end",), tag=("PubmedArticle",), resolve_entities=False,
                                 no_network=True, load_dtd=False, huge_tree=True):
        n += 1
        el.clear()
        parent = el.getparent()
        while el.getprevious() is not None:
            del parent[0]
elif stage == "parse":
    from ingest.parse_xml import iter_xml
    from ingest.record import Article
    with open(path, "rb") as f:
        n = sum(1 for r in iter_xml(f, path) if isinstance(r, Article))
elif stage in ("ingest", "untagged"):
    from ingest.pipeline import ingest_files
    if stage == "ingest":
        result = ingest_files(db, [path], workers=workers)
    else:
        result = ingest_files(db, [path], labeller=None)
    assert result.ok, result.summary()
    n = result.counts.found
    extra = {"new": result.counts.new, "unchanged": result.counts.unchanged}
elif stage == "retag":
    from ingest import store
    from ingest.tagging import Tagger, retag
    conn = store.connect(db)
    n, _ = retag(conn, Tagger(), workers=workers, db_path=db)
seconds = time.perf_counter() - t
me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
out = {"n": n, "seconds": seconds, "peak_mb": me.ru_maxrss / 1024, "worker_peak_mb": children.ru_maxrss / 1024,
       "cpu": me.ru_utime + me.ru_stime, "worker_cpu": children.ru_utime + children.ru_stime}
if stage in ("ingest", "untagged"):
    out.update(extra)
print(json.dumps(out))
"""


def stage(name: str, path: Path, db: Path | None = None, workers: int = 1) -> dict:
    proc = subprocess.run([sys.executable, "-c", STAGE, name, str(path), str(db or ""), str(workers)],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode:
        sys.exit(f"stage {name} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def generated(n: int, seed: int) -> Path:
    path = OUT / f"generated_{n}_seed{seed}.xml"
    if not path.exists():
        from ingest.synthetic import write_generated
        t = time.perf_counter()
        write_generated(path, n, seed)
        print(f"  (generated {n:,} records in {time.perf_counter() - t:.0f} s: {path.name})")
    return path


def fresh_db(name: str) -> Path:
    db = OUT / name
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000, help="records in the main file")
    parser.add_argument("--retag", type=int, default=100_000, help="records in the retag database (0: skip)")
    parser.add_argument("--flat", type=int, default=0, help="also measure peak memory at this many records")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="tagging processes")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))

    path = generated(args.records, args.seed)
    size = path.stat().st_size / 1e6
    print(f"file: {args.records:,} generated records, {size:,.0f} MB; {args.workers} tagging processes; "
          f"{os.cpu_count()} CPUs")
    raw = stage("raw", path)
    raw_rate = raw["n"] / raw["seconds"]
    print(f"raw lxml iterparse:      {raw_rate:>9,.0f} records/s  (the limit)")
    parsed = stage("parse", path)
    parse_rate = parsed["n"] / parsed["seconds"]
    print(f"our parser alone:        {parse_rate:>9,.0f} records/s  = {parse_rate / raw_rate:.2f} x raw "
          f"(records built, nothing stored; one process)")
    untagged = stage("untagged", path, fresh_db("bench_untagged.db"))
    untagged_rate = untagged["n"] / untagged["seconds"]
    print(f"ingest without tagging:  {untagged_rate:>9,.0f} records/s  = {untagged_rate / raw_rate:.2f} x raw "
          f"(parse, store, FTS; one process; {untagged['cpu'] / untagged['n'] * 1000:.3f} ms of CPU a record)")
    db = fresh_db("bench.db")
    first = stage("ingest", path, db, args.workers)
    first_rate = first["n"] / first["seconds"]
    print(f"full ingest:             {first_rate:>9,.0f} records/s  = {first_rate / raw_rate:.2f} x raw "
          f"(target >= 0.40); peak {first['peak_mb']:,.0f} MB, workers {first['worker_peak_mb']:,.0f} MB each "
          f"(target < 200 MB)")
    cpus = os.cpu_count() or 1
    main_ms, worker_ms = (first[k] / first["n"] * 1000 for k in ("cpu", "worker_cpu"))
    budget_ms = cpus / (0.4 * raw_rate) * 1000
    print(f"  CPU a record: {main_ms:.3f} ms parsing and storing + {worker_ms:.3f} ms in the tagging processes "
          f"= {main_ms + worker_ms:.3f} ms; 0.4 x raw on {cpus} CPUs leaves {budget_ms:.3f} ms a record for all of it")
    again = stage("ingest", path, db, args.workers)
    again_rate = again["n"] / again["seconds"]
    assert again["unchanged"] == again["n"], again
    print(f"re-ingest, unchanged:    {again_rate:>9,.0f} records/s  = {again_rate / first_rate:.1f} x the first "
          f"ingest (target >= 3)")
    if args.flat:
        big = generated(args.flat, args.seed)
        result = stage("ingest", big, fresh_db("bench_flat.db"), args.workers)
        growth = result["peak_mb"] / first["peak_mb"] - 1
        print(f"peak memory at {args.flat:,}: {result['peak_mb']:,.0f} MB vs {first['peak_mb']:,.0f} MB at "
              f"{args.records:,}: {growth:+.0%} (target < +20%); workers {result['worker_peak_mb']:,.0f} MB; "
              f"{result['n'] / result['seconds']:,.0f} records/s")
    if args.retag:
        retag_db = OUT / f"retag_{args.retag}.db"
        if not retag_db.exists():
            print(f"  (building the {args.retag:,}-record retag database)")
            stage("ingest", generated(args.retag, args.seed + 1), fresh_db(retag_db.name), args.workers)
        result = stage("retag", retag_db, retag_db, args.workers)
        print(f"retag of {result['n']:,} records:  {result['seconds']:.1f} s (target < 30 s) "
              f"= {result['n'] / result['seconds']:,.0f} records/s; peak {result['peak_mb']:,.0f} MB; "
              f"{result['worker_cpu'] / result['n'] * 1000:.3f} ms of the workers' CPU a record "
              f"(it moves with the machine's load: compare runs by it)")


if __name__ == "__main__":
    main()
