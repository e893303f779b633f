"""How fast is the dashboard on 100,000 records? Prints figures (no pass or fail).

    .venv/bin/python benchmarks/dashboard_bench.py [--records 100000] [--db PATH]

Builds benchmarks/out/bench100k.db once (generated synthetic PubMed XML through
`kratom-evidence ingest file`; a few minutes) and keeps it for later runs. Then, in one process
with Streamlit's AppTest:

- first render of each page with every cache empty (a fresh server meeting that page first);
- each page as a reader reaches it after the overview (caches of the pages before it kept);
- a filter change on each page (a design, then a topic: data not cached yet);
- peak resident memory of the process.

Targets (the dashboard issue): first render under 2 s, filter change under 0.3 s, memory
under 500 MB.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "out"
APP = ROOT / "dashboard" / "app.py"
PAGES = {
    "overview": "views/overview.py",
    "evidence map": "views/evidence_map.py",
    "claims": "views/claims.py",
    "browse": "views/browse.py",
    "data quality": "views/data_quality.py",
}
# Filter changes a reader makes in the sidebar: (widget key, new value).
CHANGES = [("f_designs", ["randomized_trial"]), ("f_topics", ["liver_injury"])]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(db: Path, n: int) -> None:
    xml = OUT / f"gen{n}.xml.gz"
    OUT.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    if not xml.exists():
        print(f"generating {n:,} synthetic records -> {xml}", flush=True)
        subprocess.run([sys.executable, "-m", "ingest.synthetic", "generate", str(n), "--seed", "1", "--out", str(xml)],
                       check=True, cwd=ROOT)
    print(f"ingesting {xml} -> {db} (tagging included; a few minutes)", flush=True)
    started = time.perf_counter()
    subprocess.run([str(bin_dir / "kratom-evidence"), "ingest", "file", str(xml), "--db", str(db)], check=True)
    print(f"built in {time.perf_counter() - started:,.0f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="an existing database to measure instead")
    parser.add_argument("--repeat", type=int, default=3, help="measure each figure this many times (median shown)")
    args = parser.parse_args()
    db = args.db or OUT / f"bench{args.records // 1000}k.db"
    if not db.exists():
        build(db, args.records)

    import streamlit as st
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    set_log_level("error")  # no "missing ScriptRunContext" warnings between the figures

    from dashboard import data
    from ingest import store

    sys.argv = ["app.py", "--db", str(db)]

    def fresh(page: str) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=120)
        if page != PAGES["overview"]:
            at.switch_page(page)
        return at

    def timed(at: AppTest) -> float:
        started = time.perf_counter()
        at.run()
        seconds = time.perf_counter() - started
        if at.exception:
            raise SystemExit(f"the page failed: {at.exception[0].value}")
        return seconds

    with store.connect(db, readonly=True) as conn:
        records = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    size = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
    print(f"database: {db} ({records:,} records, {size / 1e6:,.0f} MB)")
    print(f"python {sys.version.split()[0]}, streamlit {st.__version__}, {data.WORKERS} reader threads")

    # A server imports its modules once; so does this process, before anything is timed.
    started = time.perf_counter()
    empty = OUT / "empty.db"
    if not empty.exists():
        conn = store.connect(empty)
        store.ensure_db_shape(conn)
        conn.close()
    sys.argv = ["app.py", "--db", str(empty)]
    fresh(PAGES["overview"]).run()
    sys.argv = ["app.py", "--db", str(db)]
    print(f"imports and a first run on an empty database: {time.perf_counter() - started:.2f} s (not counted); "
          f"peak memory so far {peak_mb():,.0f} MB\n")

    print("first render, every cache empty (target < 2 s); median of", args.repeat)
    cold = {}
    for name, page in PAGES.items():
        runs = []
        for _ in range(args.repeat):
            st.cache_data.clear()
            st.cache_resource.clear()
            runs.append(timed(fresh(page)))
        cold[name] = statistics.median(runs)
        print(f"  {name:<14} {cold[name]:6.2f} s   (runs: {', '.join(f'{r:.2f}' for r in runs)}; "
              f"peak memory so far {peak_mb():,.0f} MB)")

    print("\nfirst render in reading order: overview first, each page new to the session (target < 2 s)")
    st.cache_data.clear()
    st.cache_resource.clear()
    for name, page in PAGES.items():
        print(f"  {name:<14} {timed(fresh(page)):6.2f} s")

    print("\nfilter change, data not cached yet (target < 0.3 s); median of", args.repeat)
    for name, page in PAGES.items():
        results = []
        for key, value in CHANGES:
            runs = []
            for _ in range(args.repeat):
                st.cache_data.clear()  # nobody asked for this filter yet...
                at = fresh(page)
                timed(at)  # ...on a page already showing every record
                at.sidebar.multiselect(key=key).set_value(value)
                runs.append(timed(at))
            results.append(f"{key[2:]}={value[0]}: {statistics.median(runs):.2f} s")
        print(f"  {name:<14} " + "; ".join(results))

    print("\nthe same change again (cached: another reader asked before)")
    for name, page in PAGES.items():
        at = fresh(page)
        timed(at)
        at.sidebar.multiselect(key="f_designs").set_value(["randomized_trial"])
        timed(at)
        at.sidebar.multiselect(key="f_designs").set_value([])
        timed(at)
        at.sidebar.multiselect(key="f_designs").set_value(["randomized_trial"])
        print(f"  {name:<14} {timed(at):6.2f} s")

    print(f"\npeak resident memory of this process: {peak_mb():,.0f} MB (target < 500 MB)")


if __name__ == "__main__":
    main()
