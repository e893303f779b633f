"""The command line: thin commands over the library. Each docstring is the command's --help."""

from __future__ import annotations

import functools
import sys
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


def taxonomy_option(func):
    return click.option(
        "--taxonomy", type=click.Path(exists=True, dir_okay=False), envvar="EVIDENCE_TAXONOMY",
        help="A TOML file of extra or extended topics, merged over the built-in taxonomy [env EVIDENCE_TAXONOMY].",
    )(func)


def lock_option(func):
    return click.option(
        "--lock-timeout", type=click.FloatRange(min=0), default=60.0, show_default=True,
        help="Seconds to wait while another ingestion writes to the same database.",
    )(func)


def filter_options(func):
    """The dashboard's filters as options; the command receives one ``filters`` argument."""
    from .query import Filters
    from .taxonomy import DESIGN_CODES

    options = [
        click.option("--year-min", type=int, help="Published in or after this year."),
        click.option("--year-max", type=int, help="Published in or before this year."),
        click.option("--design", "designs", multiple=True, type=click.Choice(DESIGN_CODES),
                     help="Study design code (repeatable)."),
        click.option("--topic", "topics", multiple=True, help="Topic code (repeatable)."),
        click.option("--journal", "journals", multiple=True, help="Journal title, exactly (repeatable)."),
        click.option("--language", "languages", multiple=True, help="Language code such as eng (repeatable)."),
        click.option("--abstract/--no-abstract", "has_abstract", default=None,
                     help="Only records with (or without) an abstract."),
        click.option("--include-retracted", is_flag=True, help="Keep retracted records (left out by default)."),
        click.option("--search", default="", help="Full-text search of title, abstract and keywords."),
        click.option("--pmid", "pmids", multiple=True, type=int, help="Only this PMID (repeatable)."),
    ]

    def wrapper(*args, **kwargs):
        filters = Filters(
            year_min=kwargs.pop("year_min"), year_max=kwargs.pop("year_max"),
            designs=tuple(kwargs.pop("designs")), topics=tuple(kwargs.pop("topics")),
            journals=tuple(kwargs.pop("journals")), languages=tuple(kwargs.pop("languages")),
            has_abstract=kwargs.pop("has_abstract"), include_retracted=kwargs.pop("include_retracted"),
            search=kwargs.pop("search"), pmids=tuple(kwargs.pop("pmids")),
        )
        return func(*args, filters=filters, **kwargs)

    functools.update_wrapper(wrapper, func)  # keeps the options already attached to func
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


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

        def progress(path, position, counts, done):
            delta = position - seen.get(path, 0)
            if delta > 0:
                bar.update(delta)
                seen[path] = position

        return bar, progress

    def progress(path, position, counts, done):
        if done:
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
@taxonomy_option
def ingest_file(paths: tuple[Path, ...], db_path: Path | None, lock_timeout: float, taxonomy: str | None) -> None:
    """Ingest PubMed XML (.xml, .xml.gz) or MEDLINE text (.txt, .nbib) files, or folders of them.

    Each file is stored whole or not at all. Ends with one summary line; exits 1 when a
    file or record failed (each named on its own line), 0 otherwise.
    """
    from .pipeline import ingest_files
    from .sources import expand_paths

    files, _ = expand_paths(list(paths))
    bar, progress = _progress_reporter(files)
    try:
        run = dict(lock_timeout=lock_timeout, progress=progress, taxonomy=taxonomy)
        if bar is not None:
            with bar:
                result = ingest_files(_db(db_path), list(paths), **run)
        else:
            result = ingest_files(_db(db_path), list(paths), **run)
    except KeyboardInterrupt:
        click.echo("interrupted: the file being read was rolled back; run again to complete", err=True)
        sys.exit(130)
    _report(result)


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
@taxonomy_option
def retag(db_path: Path | None, lock_timeout: float, taxonomy: str | None) -> None:
    """Re-tag every stored record (design, topics, sample size) with the current rules.

    Run it after the rules or the taxonomy change; nothing is fetched. Curated labels are
    kept (they override the machine's labels wherever they are shown).
    """
    from .tagging import Tagger, retag as retag_all

    path = _db(db_path)
    tagger = Tagger(taxonomy)
    with store.translate_errors(path), store.write_lock(path, lock_timeout):
        db = store.connect(path)
        store.check_schema(db, path)
        if sys.stderr.isatty():
            total = db.execute("SELECT count(*) FROM articles").fetchone()[0]
            with click.progressbar(length=total, label="Re-tagging", file=sys.stderr) as bar:
                count, seconds = retag_all(db, tagger, progress=lambda done, _: bar.update(done - bar.pos))
        else:
            count, seconds = retag_all(db, tagger)
        db.close()
    click.echo(f"re-tagged {count} records in {seconds:.1f} s with {tagger.version}")


@cli.command()
@click.argument("labels", type=click.Path(dir_okay=False, path_type=Path))
@db_option()
@taxonomy_option
@click.option("--text-only", is_flag=True, help="Hide publication types and MeSH from the tagger: the text path alone.")
@click.option("--errors", "show_errors", type=click.IntRange(min=0), default=0,
              help="Also list up to this many misclassified records with the tagger's evidence.")
def evaluate(labels: Path, db_path: Path | None, taxonomy: str | None, text_only: bool, show_errors: int) -> None:
    """Score the taggers against LABELS.csv (columns pmid, study_type; topics and sample_size optional).

    The labelled records must be in the database; they are re-tagged with the current
    rules. Prints accuracy, per-class precision, recall and F1, macro-F1 and a confusion
    matrix; topic micro- and macro-F1 when the file has topics (';'-joined codes); and
    sample-size exact match when it has sample_size.
    """
    from .evaluate import evaluate as run_evaluation, format_evaluation

    db = _open_readonly(db_path)
    ev = run_evaluation(db, labels, text_only=text_only, taxonomy=taxonomy)
    if not ev.found:
        raise click.ClickException(f"none of the {ev.labels} labelled PMIDs is in {_db(db_path)}: ingest them first")
    click.echo(format_evaluation(ev))
    if show_errors:
        click.echo(f"\nmisclassified ({min(show_errors, len(ev.design.errors))} of {len(ev.design.errors)}):")
        for pmid, want, got, why in ev.design.errors[:show_errors]:
            click.echo(f"  PMID {pmid}: labelled {want}, tagged {got}: {why}")


@cli.command()
@db_option()
@taxonomy_option
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="How many disagreements to list.")
def agreement(db_path: Path | None, taxonomy: str | None, limit: int) -> None:
    """Agreement of the text-only tagger with PubMed's publication types (MEDLINE records).

    Where an indexer's publication type names a design (Randomized Controlled Trial, Case
    Reports, Review, Editorial...), compares it with what the title and abstract alone say,
    by indexing method, and lists the disagreements to review.
    """
    from .evaluate import agreement as run_agreement, format_agreement

    click.echo(format_agreement(run_agreement(_open_readonly(db_path), taxonomy=taxonomy), limit=limit))


@cli.command()
@db_option()
@filter_options
@click.option("--format", "fmt", type=click.Choice(["csv", "tsv", "xlsx", "json", "ris", "bibtex", "parquet"]),
              default="csv", show_default=True, help="Output format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (default: standard output; xlsx and parquet need a file).")
def export(db_path: Path | None, filters, fmt: str, output: Path | None) -> None:
    """Export the filtered records (the dashboard's filters) as csv, tsv, xlsx, json, ris, bibtex or parquet.

    Tabular formats begin with pmid, title, year, journal, study_type,
    study_type_confidence, topics (';'-joined), sample_size, doi, pubmed_url. Cells that
    a spreadsheet would run as formulas are neutralised. RIS imports into Zotero, EndNote
    and Rayyan; BibTeX keys are stable and unique.
    """
    from . import export as exporter
    from .query import export_rows

    db = _open_readonly(db_path)
    if query.is_synthetic_demo(db):
        click.echo("note: this database holds the synthetic demo sample, not real publications", err=True)
    rows = export_rows(db, filters)
    if output is None:
        if fmt in exporter.BINARY_FORMATS:
            raise click.UsageError(f"{fmt} is a binary format: give a file with -o")
        n = exporter.write(rows, fmt, click.get_text_stream("stdout"))
    else:
        tmp = output.with_name(output.name + ".part")
        try:
            if fmt in exporter.BINARY_FORMATS:
                with open(tmp, "wb") as out:
                    n = exporter.write(rows, fmt, out)
            else:
                with open(tmp, "w", encoding="utf-8", newline="") as out:
                    n = exporter.write(rows, fmt, out)
            tmp.replace(output)  # a finished file or none: never half an export
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        click.echo(f"wrote {n} records to {output} ({fmt})", err=True)


@cli.command()
@db_option()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. 127.0.0.1 keeps the dashboard on this machine; 0.0.0.0 shows it "
                   "to your network.")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True, help="Port to listen on.")
def dashboard(db_path: Path | None, host: str, port: int) -> None:
    """Start the dashboard (Streamlit) over the database, read-only; stop it with Ctrl-C.

    Open the address it prints (http://127.0.0.1:8501 by default). The dashboard never
    writes to the database and never sends usage statistics. A missing or empty database
    gets a page that says how to fill it.
    """
    from dashboard.serve import serve

    path = _db(db_path)
    if not path.exists():
        click.echo(f"note: no database at {path} yet; the dashboard will say how to create one", err=True)
    serve(path, host, port)


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
