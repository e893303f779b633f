"""The command line: thin commands over the library. Each docstring is the command's --help."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from pathlib import Path

import click

from . import __version__, query, store
from .errors import EvidenceError

DEMO_DB = "demo.db"
DEMO_SAMPLE = Path(__file__).parent / "data" / "demo" / "demo_sample.xml"


class EvidenceGroup(click.Group):
    """A group whose commands turn the library's errors into one line and exit 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EvidenceError as exc:
            raise click.ClickException(str(exc)) from exc


def db_option(default: str | None = None, help_text: str | None = None):
    """--db PATH, with EVIDENCE_DB as the fallback and evidence.db as the default."""
    return click.option(
        "--db", "db_path", type=click.Path(dir_okay=False, path_type=Path),
        default=default, show_default=default is not None, envvar="EVIDENCE_DB",
        help=help_text or "The SQLite database [env EVIDENCE_DB; default: evidence.db].",
    )


def lock_option(func):
    return click.option(
        "--lock-timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
        help="Seconds to wait while another ingestion writes to the same database.",
    )(func)


def _db(path: Path | None) -> Path:
    return store.resolve_db_path(path)


def _open_readonly(path: Path | None):
    db_path = _db(path)
    db = store.connect(db_path, readonly=True)
    with store.translate_errors(db_path):
        store.check_schema(db, db_path)
    return db


@click.group(cls=EvidenceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kratom-evidence")
def cli() -> None:
    """What the PubMed literature on kratom says, by study design and topic.

    Records go into a SQLite database (evidence.db, or --db / EVIDENCE_DB), which the
    dashboard, the exports and the notebooks read.
    """


@cli.group(cls=EvidenceGroup)
def ingest() -> None:
    """Bring PubMed records into the database."""


def _progress_reporter(paths_for_size: list[Path]):
    """A progress bar on a terminal; one plain line per file otherwise (cron, CI logs)."""
    if sys.stderr.isatty():
        total = sum(p.stat().st_size for p in paths_for_size if p.is_file()) or 1
        bar = click.progressbar(length=total, label="Ingesting", file=sys.stderr, show_eta=True)
        seen: dict[Path, int] = {}

        def progress(path, position, counts):
            delta = position - seen.get(path, 0)
            if delta > 0:
                bar.update(delta)
                seen[path] = position

        return bar, progress

    def progress(path, position, counts):
        if position >= path.stat().st_size:
            click.echo(
                f"{path}: {counts.found} records, new {counts.new}, updated {counts.updated}, "
                f"unchanged {counts.unchanged}, deleted {counts.deleted}, failed {counts.failed}",
                err=True,
            )

    return None, progress


def _report(result) -> None:
    for message in result.errors:
        click.echo(f"error: {message}", err=True)
    click.echo(result.summary())
    if result.status != "success":
        sys.exit(1)


@ingest.command("file")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option()
@lock_option
def ingest_file(paths: tuple[Path, ...], db_path: Path | None, lock_timeout: float) -> None:
    """Ingest PubMed XML (.xml, .xml.gz) or MEDLINE text (.txt, .nbib) files, or folders of them.

    Each file is stored whole or not at all. Ends with one summary line; exits 1 when a
    file or record failed (each named on its own line), 0 otherwise.
    """
    from .pipeline import ingest_files
    from .sources import expand_paths

    files, _ = expand_paths(list(paths))
    bar, progress = _progress_reporter(files)
    try:
        if bar is not None:
            with bar:
                result = ingest_files(_db(db_path), list(paths), lock_timeout=lock_timeout, progress=progress)
        else:
            result = ingest_files(_db(db_path), list(paths), lock_timeout=lock_timeout, progress=progress)
    except KeyboardInterrupt:
        click.echo("interrupted: the file being read was rolled back; run again to complete", err=True)
        sys.exit(130)
    _report(result)


@ingest.command("pubmed")
@click.option("--query", metavar="TEXT",
              help="A PubMed query instead of the default kratom query (README: Updating from PubMed).")
@click.option("--full", is_flag=True, help="Fetch every record of the query, not only what changed.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), metavar="YYYY-MM-DD",
              help="Fetch the records added or modified since this date.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="Records per efetch request.")
@click.option("--max-tries", type=click.IntRange(1, 20), default=5, show_default=True,
              help="Attempts per request before the run fails.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=60.0, show_default=True,
              help="Seconds to wait for each answer.")
@db_option()
@lock_option
def ingest_pubmed(query: str | None, full: bool, since, batch_size: int, max_tries: int,
                  timeout: float, db_path: Path | None, lock_timeout: float) -> None:
    """Bring the kratom literature from PubMed into the database (NCBI E-utilities).

    By default fetches what was added or modified since the last successful run of the same
    query (a few days of overlap); the first run, or --full, fetches everything. Needs
    NCBI_EMAIL (NCBI asks for a contact address); NCBI_API_KEY allows 10 requests/s instead
    of 3; NCBI_EUTILS_URL points at a mirror or proxy.

    Ends with one summary line. Exits 0 when every announced record was stored; 1 otherwise:
    the run is recorded as failed, the watermark stays, and the next run asks again.
    """
    from .eutils import EutilsConfig
    from .pubmed import ingest_pubmed as run_pubmed

    if full and since:
        raise click.UsageError("--full and --since exclude each other")
    config = EutilsConfig.from_env(timeout=timeout, max_tries=max_tries)
    tty = sys.stderr.isatty()
    progress = _PubMedProgress() if tty else None
    try:
        with _log_to_stderr(logging.WARNING if tty else logging.INFO), \
                (progress or contextlib.nullcontext()):
            result = run_pubmed(
                _db(db_path), query=query, full=full, since=since.date() if since else None,
                config=config, batch_size=batch_size, lock_timeout=lock_timeout, progress=progress,
            )
    except KeyboardInterrupt:
        click.echo("interrupted: the batches stored so far are kept; run again to complete", err=True)
        sys.exit(130)
    for message in result.errors:
        for line in message.splitlines():
            click.echo(f"error: {line}", err=True)
    click.echo(result.summary())
    if result.status != "success":
        click.echo("the watermark was not advanced: the next run asks again for everything since "
                   "the last successful run", err=True)
        sys.exit(1)


class _PubMedProgress:
    """A progress bar over the announced records, shown once the search has counted them."""

    def __init__(self):
        self.bar = None
        self.shown = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)

    def __call__(self, event) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=max(event.announced, 1), label="PubMed",
                                         file=sys.stderr, show_eta=True, show_pos=True)
            self.bar.__enter__()
        if event.received > self.shown:
            self.bar.update(event.received - self.shown)
            self.shown = event.received


@contextlib.contextmanager
def _log_to_stderr(level: int):
    """The library's log lines on stderr: every step when not on a terminal (cron), warnings
    otherwise; time-stamped in UTC."""
    logger = logging.getLogger("ingest")
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.setLevel(level)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(min(level, previous) if previous else level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@cli.command()
@db_option()
def stats(db_path: Path | None) -> None:
    """Counts of records by year, citation status and publication type."""
    db = _open_readonly(db_path)
    totals = query.totals(db)
    if query.is_synthetic_demo(db):
        click.echo("SYNTHETIC DEMO DATA: these records were written by the project, not taken from PubMed.")
    click.echo(f"records: {totals['records']} (deleted {totals['deleted']}, retracted {totals['retracted']})")
    click.echo("\nby year:")
    for year, n in query.counts_by_year(db):
        click.echo(f"  {year if year is not None else 'unknown':<8} {n:>6}")
    click.echo("\nby citation status:")
    for status, n in query.counts_by_status(db):
        click.echo(f"  {status or 'none (book)':<22} {n:>6}")
    click.echo("\nby publication type:")
    for pubtype, n in query.counts_by_publication_type(db):
        click.echo(f"  {pubtype:<40} {n:>6}")


@cli.command()
@db_option(default=DEMO_DB, help_text=f"The demo database to build [default: {DEMO_DB}].")
@lock_option
def demo(db_path: Path, lock_timeout: float) -> None:
    """Build a database from the synthetic demo sample (offline, about 300 records).

    The sample is written by the project, not taken from PubMed; the database is marked as
    synthetic and the dashboard says so. Refuses to mix it into a database of real records.
    """
    from .pipeline import ingest_files

    db_path = Path(db_path)
    if db_path.exists():
        db = store.connect(db_path, readonly=True)
        real = 0
        if db["articles"].exists():
            real = db.execute("SELECT count(*) FROM articles WHERE pmid < 90000000").fetchone()[0]
        db.close()
        if real:
            raise click.ClickException(
                f"{db_path} holds {real} real PubMed records; build the demo in another file (--db demo.db)"
            )
    result = ingest_files(db_path, [DEMO_SAMPLE], lock_timeout=lock_timeout, source="demo")
    with store.write_lock(db_path, lock_timeout):
        db = store.connect(db_path)
        store.set_meta(db, "synthetic_demo", "1")
        db.close()
    _report(result)
    click.echo(f"demo database ready: {db_path} (synthetic records)")


@cli.command()
@db_option()
@lock_option
def migrate(db_path: Path | None, lock_timeout: float) -> None:
    """Upgrade a database written by an older version to this version's schema."""
    path = _db(db_path)
    if not path.exists():
        raise click.ClickException(f"no database at {path}")
    with store.translate_errors(path), store.write_lock(path, lock_timeout):
        db = store.connect(path)
        before, _ = store.schema_state(db)
        store.ensure_db_shape(db)
        after, _ = store.schema_state(db)
        db.close()
    click.echo(f"{path}: schema version {before} -> {after}")


def main() -> None:  # the console script
    cli(prog_name="kratom-evidence")
