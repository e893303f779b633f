"""The command line: thin commands over the library. Each docstring is the command's --help."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import time
from pathlib import Path

import click

from . import __version__, store
from .errors import EvidenceError
from .taxonomy import DESIGN_CODES

DEMO_DB = "demo.db"


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
    from .filters import Filters

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


def _open_for_writing(path: Path):
    """A writable connection to an existing, current database (call under the write lock)."""
    if not path.exists():
        raise click.ClickException(f"no database at {path}")
    db = store.connect(path)
    store.check_schema(db, path)
    return db


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


def workers_option(func):
    return click.option(
        "--workers", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1,
        show_default="the number of CPUs", help="Processes that tag records in parallel (large inputs).",
    )(func)


@ingest.command("file")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option()
@lock_option
@taxonomy_option
@workers_option
def ingest_file(paths: tuple[Path, ...], db_path: Path | None, lock_timeout: float, taxonomy: str | None,
                workers: int) -> None:
    """Ingest PubMed XML (.xml, .xml.gz) or MEDLINE text (.txt, .nbib) files, or folders of them.

    Each file is stored whole or not at all. Ends with one summary line; exits 1 when a
    file or record failed (each named on its own line), 0 otherwise.
    """
    from .pipeline import ingest_files
    from .sources import expand_paths

    files, _ = expand_paths(list(paths))
    bar, progress = _progress_reporter(files)
    try:
        run = dict(lock_timeout=lock_timeout, progress=progress, taxonomy=taxonomy, workers=workers)
        if bar is not None:
            with bar:
                result = ingest_files(_db(db_path), list(paths), **run)
        else:
            result = ingest_files(_db(db_path), list(paths), **run)
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
@taxonomy_option
def ingest_pubmed(query: str | None, full: bool, since, batch_size: int, max_tries: int,
                  timeout: float, db_path: Path | None, lock_timeout: float, taxonomy: str | None) -> None:
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
                taxonomy=taxonomy,
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
    from . import query

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
    from .demo import build_demo

    result = build_demo(db_path, lock_timeout=lock_timeout)
    _report(result)
    click.echo(f"demo database ready: {db_path} (synthetic records)")


@cli.command()
@db_option()
@lock_option
@taxonomy_option
@workers_option
def retag(db_path: Path | None, lock_timeout: float, taxonomy: str | None, workers: int) -> None:
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
                count, seconds = retag_all(db, tagger, workers=workers, taxonomy=taxonomy, db_path=path,
                                           progress=lambda done, _: bar.update(done - bar.pos))
        else:
            count, seconds = retag_all(db, tagger, workers=workers, taxonomy=taxonomy, db_path=path)
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
    sample-size exact match when it has sample_size. Accuracy, topic micro-F1 and exact
    match come with a 95% interval (a seeded bootstrap over the labelled records).
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
    from . import query

    from . import export as exporter
    from .query import export_rows

    db = _open_readonly(db_path)
    _check_filter_topics(db, filters)
    if query.is_synthetic_demo(db):
        click.echo("note: this database holds the synthetic demo sample, not real publications", err=True)
    rows = export_rows(db, filters)
    if output is None:
        if fmt in exporter.BINARY_FORMATS:
            raise click.UsageError(f"{fmt} is a binary format: give a file with -o")
        n = exporter.write(rows, fmt, sys.stdout)
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
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        click.echo(f"wrote {n} records to {output} ({fmt})", err=True)


@cli.group(cls=EvidenceGroup)
def curate() -> None:
    """Override a record's design or topics (kept across re-ingestion and re-tagging)."""


def _topic_codes(taxonomy: str | None) -> set[str]:
    from .topics import Taxonomy

    return set(Taxonomy(taxonomy).topics)


def _check_filter_topics(db, filters) -> None:
    """A --topic that names no topic is a mistake to say, not an empty result to print."""
    if not filters.topics:
        return
    known = _topic_codes(None) | {r[0] for r in db.execute("SELECT DISTINCT topic FROM article_topics")}
    unknown = [t for t in filters.topics if t not in known]
    if unknown:
        raise click.BadParameter(f"unknown topic {', '.join(map(repr, unknown))} (known: {', '.join(sorted(known))})",
                                 param_hint="'--topic'")


@curate.command("set")
@click.argument("pmid", type=int)
@click.option("--design", type=click.Choice(DESIGN_CODES),
              help="The study design this record really has.")
@click.option("--add-topic", "add_topics", multiple=True, help="A topic code to add (repeatable).")
@click.option("--remove-topic", "remove_topics", multiple=True, help="A topic code to remove (repeatable).")
@click.option("--note", help="Why: shown beside the label everywhere.")
@click.option("--curator", envvar="EVIDENCE_CURATOR", help="Who [env EVIDENCE_CURATOR; default: your user name].")
@db_option()
@lock_option
@taxonomy_option
def curate_set(pmid: int, design: str | None, add_topics: tuple[str, ...], remove_topics: tuple[str, ...],
               note: str | None, curator: str | None, db_path: Path | None, lock_timeout: float,
               taxonomy: str | None) -> None:
    """Set PMID's design and/or add or remove topics, with a note; records who and when."""
    from .curate import set_curation

    path = _db(db_path)
    with store.translate_errors(path), store.write_lock(path, lock_timeout):
        db = _open_for_writing(path)
        cur = set_curation(db, pmid, design=design, add_topics=list(add_topics), remove_topics=list(remove_topics),
                           note=note, curator=curator, topic_codes=_topic_codes(taxonomy))
        db.close()
    click.echo(f"PMID {pmid}: design {cur.study_type or '(machine)'}, +topics {', '.join(cur.add_topics) or '-'}, "
               f"-topics {', '.join(cur.remove_topics) or '-'} (by {cur.curator}, {cur.curated_at})")


@curate.command("list")
@db_option()
def curate_list(db_path: Path | None) -> None:
    """List curations beside the machine's labels."""
    from .curate import listing

    rows = listing(_open_readonly(db_path))
    if not rows:
        click.echo("no curations")
    for r in rows:
        click.echo(f"{r['pmid']}\t{r['curated_design'] or '-'} (machine: {r['machine_design'] or 'not tagged'})\t"
                   f"+{r['add_topics'] or '[]'} -{r['remove_topics'] or '[]'}\t{r['curator']}\t{r['curated_at']}\t"
                   f"{r['note'] or ''}")


@curate.command("clear")
@click.argument("pmid", type=int)
@db_option()
@lock_option
def curate_clear(pmid: int, db_path: Path | None, lock_timeout: float) -> None:
    """Remove PMID's curation: the machine's labels count again."""
    from .curate import clear

    path = _db(db_path)
    with store.translate_errors(path), store.write_lock(path, lock_timeout):
        db = _open_for_writing(path)
        removed = clear(db, pmid)
        db.close()
    if not removed:
        raise click.ClickException(f"PMID {pmid} has no curation")
    click.echo(f"PMID {pmid}: curation removed")


@curate.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: standard output).")
@db_option()
def curate_export(output: Path | None, db_path: Path | None) -> None:
    """Write all curations as CSV, to share with a team."""
    from .curate import to_csv

    text = to_csv(_open_readonly(db_path))
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@curate.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@db_option()
@lock_option
@taxonomy_option
def curate_import(csv_file: Path, db_path: Path | None, lock_timeout: float, taxonomy: str | None) -> None:
    """Read curations from a CSV written by 'curate export' (all rows checked first; all or nothing)."""
    from .curate import from_csv

    path = _db(db_path)
    with store.translate_errors(path), store.write_lock(path, lock_timeout):
        db = _open_for_writing(path)
        n, absent = from_csv(db, csv_file, _topic_codes(taxonomy))
        db.close()
    click.echo(f"imported {n} curations" + (f" ({absent} for PMIDs not in this database yet)" if absent else ""))


@cli.command()
@db_option()
@click.option("--run", "run_id", type=int, help="A run's id (default: the last successful run).")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Everything first stored since DATE (YYYY-MM-DD).")
@click.option("--html", "as_html", is_flag=True, help="Write HTML instead of Markdown.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: standard output).")
def digest(db_path: Path | None, run_id: int | None, since, as_html: bool, output: Path | None) -> None:
    """What is new since the last run (or --since DATE): counts by design and topic, new randomized
    trials and systematic reviews first, each with title, journal, year and link. Markdown or HTML,
    ready for a scheduled job to mail or post."""
    from .digest import build, to_html, to_markdown

    if run_id is not None and since is not None:
        raise click.UsageError("give --run or --since, not both")
    d = build(_open_readonly(db_path), run_id=run_id, since=since.date().isoformat() if since else None)
    text = to_html(d) if as_html else to_markdown(d)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote the digest of {d.total} new records to {output}", err=True)
    else:
        click.echo(text, nl=False)


@cli.group(cls=EvidenceGroup)
def labels() -> None:
    """Work with labels files (pmid, study_type, topics, sample_size) from several coders."""


@labels.command("agreement")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@taxonomy_option
def labels_agreement(files: tuple[Path, ...], taxonomy: str | None) -> None:
    """How far the coders of FILES agree, pair by pair (design agreement and Cohen's kappa,
    topic micro-F1, sample size)."""
    from itertools import combinations

    from .evaluate import coder_agreement, format_coder_agreement, read_labels

    if len(files) < 2:
        raise click.UsageError("give at least two labels files")
    codes = _topic_codes(taxonomy)
    golds = {f.name: read_labels(f, codes) for f in files}
    for a, b in combinations(golds, 2):
        click.echo(format_coder_agreement(f"{a} vs {b}", coder_agreement(golds[a], golds[b])))


@labels.command("combine")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File (default: standard output).")
@taxonomy_option
def labels_combine(files: tuple[Path, ...], output: Path | None, taxonomy: str | None) -> None:
    """Majority labels of three or more coders (the first file breaks ties and covers the records)."""
    from .evaluate import combine_labels, read_labels, write_labels

    if len(files) < 3:
        raise click.UsageError("give at least three labels files, so that a majority means something")
    codes = _topic_codes(taxonomy)
    text = write_labels(combine_labels([read_labels(f, codes) for f in files]))
    if output:
        output.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


def claims_option(func):
    return click.option(
        "--claims", "claims_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
        envvar="EVIDENCE_CLAIMS",
        help="A TOML file of claims ([[claim]] tables like the built-in ingest/data/claims.toml), used "
             "instead of the built-in claims [env EVIDENCE_CLAIMS].",
    )(func)


def _load_claims(claims_file: Path | None, taxonomy: str | None = None):
    """The claims, checked against the topic codes: a claim naming an unknown topic is an error."""
    from .query import load_claims

    claims = load_claims(claims_file)
    codes = set(_topic_codes(taxonomy))
    for claim in claims:
        unknown = sorted(set(claim.topics) - codes)
        if unknown:
            raise click.ClickException(
                f"claims file {claims_file or 'built-in'}: claim {claim.id!r} names unknown topic(s) "
                f"{', '.join(unknown)} (known: {', '.join(sorted(codes))})")
    if not claims:
        raise click.ClickException(f"claims file {claims_file}: no [[claim]] tables")
    return claims


@cli.command()
@db_option()
@filter_options
@claims_option
@taxonomy_option
@click.option("--format", "fmt", type=click.Choice(["text", "csv", "json"]), default="text", show_default=True,
              help="text: one line per claim; csv and json: one row per claim with counts by design.")
def claims(db_path: Path | None, filters, claims_file: Path | None, taxonomy: str | None, fmt: str) -> None:
    """What each claim about kratom rests on: its records by study design, in evidence order.

    A claim's records are those tagged with its topics (any of them, or all with
    match = "all") and, when the claim lists phrases, mentioning one of them. Retracted
    records are listed but not counted unless --include-retracted is given.
    """
    import csv
    import json

    from . import query

    chosen = _load_claims(claims_file, taxonomy)
    db = _open_readonly(db_path)
    _check_filter_topics(db, filters)
    if query.is_synthetic_demo(db):
        click.echo("note: this database holds the synthetic demo sample, not real publications", err=True)
    with store.translate_errors(_db(db_path)):
        profiles = query.claim_profiles(db, filters, claims=chosen)
    if fmt == "text":
        for row in profiles.itertuples():
            strongest = f"strongest: {row.strongest}" if row.records else "no records"
            click.echo(f"{row.claim}\n  {row.summary} ({strongest})")
            if row.retracted_or_corrected:
                flagged = ", ".join(f"{r['pmid']} ({'retracted' if r['retracted'] else 'corrected'})"
                                    for r in row.retracted_or_corrected)
                click.echo(f"  retracted or corrected: {flagged}")
        return
    rows = []
    for row in profiles.itertuples():
        counts = {code: row.by_design.get(code, 0) for code in DESIGN_CODES}
        rows.append({"id": row.id, "claim": row.claim, "topics": ";".join(row.topics), "records": row.records,
                     **counts, "not_tagged": row.by_design.get(None, 0),
                     "strongest_design": row.strongest_design or "", "participants": row.participants,
                     "newest_year": row.newest_year or "", "summary": row.summary})
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


@cli.command()
@db_option()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. 127.0.0.1 keeps the dashboard on this machine; 0.0.0.0 shows it "
                   "to your network.")
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True, help="Port to listen on.")
@claims_option
def dashboard(db_path: Path | None, host: str, port: int, claims_file: Path | None) -> None:
    """Start the dashboard (Streamlit) over the database, read-only; stop it with Ctrl-C.

    Open the address it prints (http://127.0.0.1:8501 by default). The dashboard never
    writes to the database and never sends usage statistics. A missing or empty database
    gets a page that says how to fill it.
    """
    from dashboard.serve import serve

    path = _db(db_path)
    if claims_file is not None:
        from .query import load_claims

        load_claims(claims_file)  # a broken claims file stops here, not in the browser
    if not path.exists():
        click.echo(f"note: no database at {path} yet; the dashboard will say how to create one", err=True)
    serve(path, host, port, claims=claims_file)


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
