"""Synthetic PubMed records: the project's own authored data, turned into PubMed XML.

Every record the project ships (the offline demo sample, the labelled evaluation sets, the
test fixtures built from them and the benchmark generator) is *synthetic*: written for this
project, not taken from PubMed. Authors write records in TOML, a format meant for prose;
this module validates them and writes them out as PubMed XML (the same elements efetch
sends) plus a labels CSV holding the ground truth (design, topics, sample size).

Authoring format, one ``[[record]]`` table per article::

    [[record]]
    pmid = 90000001                 # required; synthetic PMIDs live at 90,000,000 and above
    title = "Kratom use among ..."  # required; non-English articles: "[English title]."
    vernacular_title = "..."        # original-language title (non-English articles)
    abstract = '''...'''            # unstructured abstract; or structured sections:
    sections = [ { label = "METHODS", category = "METHODS", text = "..." }, ... ]
    journal = "..."                 # fictional journal name (full title)
    journal_iso = "..."             # its ISO abbreviation
    volume = "12"                   # optional; also issue = "3", pages = "112-9"
    year = 2021                     # publication year; with optional month = "Mar", day = 4
    season = "Winter"               # instead of month
    medline_date = "2019 Dec-2020 Jan"  # instead of year/month: a free-form PubMed date
    language = "eng"                # ISO 639-2 code as PubMed writes it (default eng)
    status = "MEDLINE"              # MEDLINE, PubMed-not-MEDLINE, In-Process, In-Data-Review,
                                    # Publisher (default Publisher)
    indexing_method = "Automated"   # optional, MEDLINE records only (Automated or Curated)
    publication_types = ["Journal Article"]
    mesh = ["Humans", "*Mitragyna", "Analgesics/*therapeutic use"]  # MEDLINE-text style,
                                    # "*" marks a major topic
    keywords = ["kratom"]
    authors = ["Rahman, Nur Aisyah", "Okafor, Chidi"]   # "Last, Fore names"
    collective_author = "..."       # optional group author
    affiliation = "..."             # optional, given to the first author
    doi = "..."                     # optional; default 10.5555/synthetic.<pmid>; "" for none
    pmcid = "PMC..."                # optional
    comments_corrections = [ { type = "RetractionIn", pmid = 90000250 } ]
    book = false                    # true writes a PubmedBookArticle
    # ground truth, written to the labels CSV and never into the XML:
    study_type = "survey"           # one code from TAXONOMY.md
    topics = ["opioid_withdrawal"]  # codes from TAXONOMY.md
    sample_size = 2798              # human participants stated; omit when none
    hard_case = "survey of clinicians"  # optional: the hard case this record pins

``python -m ingest.synthetic check FILE...`` validates files; ``build`` writes XML and CSV.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path

from .taxonomy import DESIGN_CODES, TOPIC_CODES

SYNTHETIC_PMID_FLOOR = 90_000_000
SYNTHETIC_NOTE = (
    "Synthetic record written by the kratom-evidence project; not a real publication."
)
SYNTHETIC_BANNER = (
    " SYNTHETIC DATA. Every record in this file was written by the kratom-evidence project "
    "for demonstration and testing. None is a real publication; PMIDs at 90,000,000 and "
    "above, DOIs under the 10.5555 test prefix and the journal names are invented. "
)
DOCTYPE = (
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
    '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">'
)

STATUSES = {"MEDLINE", "PubMed-not-MEDLINE", "In-Process", "In-Data-Review", "Publisher"}
CATEGORIES = {"BACKGROUND", "OBJECTIVE", "METHODS", "RESULTS", "CONCLUSIONS", "UNASSIGNED"}
SEASONS = {"Winter", "Spring", "Summer", "Fall", "Autumn"}
MONTHS = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
REF_TYPES = {
    "RetractionIn", "RetractionOf", "ErratumIn", "ErratumFor", "CommentIn", "CommentOn",
    "UpdateIn", "UpdateOf", "ExpressionOfConcernIn", "ExpressionOfConcernFor",
    "RepublishedIn", "RepublishedFrom", "ReprintIn", "ReprintOf", "Cites",
    "OriginalReportIn", "SummaryForPatientsIn", "PartialRetractionIn", "PartialRetractionOf",
}
KNOWN_KEYS = {"_references",
    "pmid", "title", "vernacular_title", "abstract", "sections", "journal", "journal_iso",
    "volume", "issue", "pages", "year", "month", "day", "season", "medline_date", "language",
    "status", "indexing_method", "publication_types", "mesh", "keywords", "authors",
    "collective_author", "affiliation", "doi", "pmcid", "comments_corrections", "book",
    "study_type", "topics", "sample_size", "hard_case",
}
LABEL_COLUMNS = ["pmid", "study_type", "topics", "sample_size", "hard_case"]


class SyntheticError(ValueError):
    """An authored record breaks the format; the message names the file and the record."""


def load(paths: Iterable[str | Path]) -> list[dict]:
    """Read and validate TOML record files; return the records in file order."""
    records: list[dict] = []
    seen: dict[int, str] = {}
    for path in paths:
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SyntheticError(f"{path}: {exc}") from exc
        for index, rec in enumerate(data.get("record", []), start=1):
            where = f"{path} record {index} (pmid {rec.get('pmid', '?')})"
            _validate(rec, where)
            if rec["pmid"] in seen:
                raise SyntheticError(f"{where}: PMID already used in {seen[rec['pmid']]}")
            seen[rec["pmid"]] = where
            records.append(rec)
    return records


def _validate(rec: dict, where: str) -> None:
    def fail(msg: str) -> None:
        raise SyntheticError(f"{where}: {msg}")

    unknown = set(rec) - KNOWN_KEYS
    if unknown:
        fail(f"unknown key(s) {sorted(unknown)}")
    if not isinstance(rec.get("pmid"), int) or rec["pmid"] < SYNTHETIC_PMID_FLOOR:
        fail(f"pmid must be an integer >= {SYNTHETIC_PMID_FLOOR}")
    if not str(rec.get("title", "")).strip():
        fail("title is required")
    if "abstract" in rec and "sections" in rec:
        fail("give abstract or sections, not both")
    for sec in rec.get("sections", []):
        if set(sec) - {"label", "category", "text"} or not sec.get("text"):
            fail("each section needs text, and only label, category, text")
        if sec.get("category", "UNASSIGNED") not in CATEGORIES:
            fail(f"section category must be one of {sorted(CATEGORIES)}")
    if not rec.get("journal"):
        fail("journal is required")
    if "medline_date" not in rec and not isinstance(rec.get("year"), int):
        fail("year (an integer) or medline_date is required")
    if "month" in rec and rec["month"] not in MONTHS:
        fail(f"month must be one of {sorted(MONTHS)}")
    if "season" in rec and rec["season"] not in SEASONS:
        fail(f"season must be one of {sorted(SEASONS)}")
    if rec.get("status", "Publisher") not in STATUSES:
        fail(f"status must be one of {sorted(STATUSES)}")
    for key in ("publication_types", "mesh", "keywords", "authors", "topics"):
        if key in rec and not (
            isinstance(rec[key], list) and all(isinstance(v, str) for v in rec[key])
        ):
            fail(f"{key} must be a list of strings")
    for author in rec.get("authors", []):
        if "," not in author:
            fail(f"author {author!r} must be written 'Last, Fore names'")
    for link in rec.get("comments_corrections", []):
        if link.get("type") not in REF_TYPES:
            fail(f"comments_corrections type must be one of {sorted(REF_TYPES)}")
    if rec.get("study_type") not in DESIGN_CODES:
        fail(f"study_type must be one of {list(DESIGN_CODES)}")
    bad = [t for t in rec.get("topics", []) if t not in TOPIC_CODES]
    if bad:
        fail(f"unknown topic code(s) {bad}")
    size = rec.get("sample_size")
    if size is not None and (not isinstance(size, int) or size < 1):
        fail("sample_size must be a positive integer (omit it when none is stated)")


# --------------------------------------------------------------------------- XML writer


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = str(text)
    return el


def _date(parent: ET.Element, tag: str, year: int, month: int = 1, day: int = 1) -> None:
    el = _sub(parent, tag)
    _sub(el, "Year", f"{year:04d}")
    _sub(el, "Month", f"{month:02d}")
    _sub(el, "Day", f"{day:02d}")


def _mesh(parent: ET.Element, heading: str) -> None:
    """Write one MEDLINE-text style heading ("Analgesics/*therapeutic use")."""
    parts = heading.split("/")
    mh = _sub(parent, "MeshHeading")
    desc = parts[0]
    _sub(mh, "DescriptorName", desc.lstrip("*"), MajorTopicYN="Y" if desc.startswith("*") else "N")
    for qual in parts[1:]:
        _sub(mh, "QualifierName", qual.lstrip("*"), MajorTopicYN="Y" if qual.startswith("*") else "N")


def _authors(parent: ET.Element, rec: dict) -> None:
    names = rec.get("authors", [])
    if not names and not rec.get("collective_author"):
        return
    lst = _sub(parent, "AuthorList", CompleteYN="Y")
    for i, name in enumerate(names):
        last, fore = (p.strip() for p in name.split(",", 1))
        au = _sub(lst, "Author", ValidYN="Y")
        _sub(au, "LastName", last)
        if fore:
            _sub(au, "ForeName", fore)
            _sub(au, "Initials", "".join(w[0] for w in re.split(r"[\s-]+", fore) if w))
        if i == 0 and rec.get("affiliation"):
            _sub(_sub(au, "AffiliationInfo"), "Affiliation", rec["affiliation"])
    if rec.get("collective_author"):
        _sub(_sub(lst, "Author", ValidYN="Y"), "CollectiveName", rec["collective_author"])


def _pub_date(parent: ET.Element, rec: dict) -> None:
    pd = _sub(parent, "PubDate")
    if "medline_date" in rec:
        _sub(pd, "MedlineDate", rec["medline_date"])
        return
    _sub(pd, "Year", str(rec["year"]))
    if "season" in rec:
        _sub(pd, "Season", rec["season"])
    elif "month" in rec:
        _sub(pd, "Month", rec["month"])
        if "day" in rec:
            _sub(pd, "Day", f"{rec['day']:02d}")


def _abstract(parent: ET.Element, rec: dict) -> None:
    if rec.get("sections"):
        ab = _sub(parent, "Abstract")
        for sec in rec["sections"]:
            _sub(ab, "AbstractText", sec["text"].strip(), Label=sec.get("label"),
                 NlmCategory=sec.get("category"))
    elif rec.get("abstract", "").strip():
        _sub(_sub(parent, "Abstract"), "AbstractText", " ".join(rec["abstract"].split()))


def _year_of(rec: dict) -> int:
    if "year" in rec:
        return rec["year"]
    return int(re.search(r"\d{4}", rec["medline_date"]).group())


def _doi(rec: dict) -> str:
    return rec.get("doi", f"10.5555/synthetic.{rec['pmid']}")


def _article_ids(parent: ET.Element, rec: dict) -> None:
    ids = _sub(parent, "ArticleIdList")
    _sub(ids, "ArticleId", str(rec["pmid"]), IdType="pubmed")
    if _doi(rec):
        _sub(ids, "ArticleId", _doi(rec), IdType="doi")
    if rec.get("pmcid"):
        _sub(ids, "ArticleId", rec["pmcid"], IdType="pmc")


def _history(parent: ET.Element, rec: dict) -> None:
    hist = _sub(parent, "History")
    year = _year_of(rec)
    pmd = _sub(hist, "PubMedPubDate", PubStatus="pubmed")
    for tag, value in (("Year", year), ("Month", 1), ("Day", 15)):
        _sub(pmd, tag, str(value))


def record_element(rec: dict) -> ET.Element:
    """One authored record as a PubmedArticle (or PubmedBookArticle) element."""
    if rec.get("book"):
        return _book_element(rec)
    status = rec.get("status", "Publisher")
    attrs = {"Status": status, "Owner": "NLM"}
    if status == "MEDLINE" and rec.get("indexing_method"):
        attrs["IndexingMethod"] = rec["indexing_method"]
    art = ET.Element("PubmedArticle")
    mc = _sub(art, "MedlineCitation", **attrs)
    _sub(mc, "PMID", str(rec["pmid"]), Version="1")
    year = _year_of(rec)
    if status == "MEDLINE":
        _date(mc, "DateCompleted", year + 1, 2, 10)
    _date(mc, "DateRevised", year + 1, 3, 5)
    article = _sub(mc, "Article", PubModel="Print-Electronic")
    journal = _sub(article, "Journal")
    issue = _sub(journal, "JournalIssue", CitedMedium="Internet")
    if rec.get("volume"):
        _sub(issue, "Volume", rec["volume"])
    if rec.get("issue"):
        _sub(issue, "Issue", rec["issue"])
    _pub_date(issue, rec)
    _sub(journal, "Title", rec["journal"])
    _sub(journal, "ISOAbbreviation", rec.get("journal_iso", rec["journal"]))
    _sub(article, "ArticleTitle", rec["title"].strip())
    if rec.get("pages"):
        _sub(_sub(article, "Pagination"), "MedlinePgn", rec["pages"])
    if _doi(rec):
        _sub(article, "ELocationID", _doi(rec), EIdType="doi", ValidYN="Y")
    _abstract(article, rec)
    _authors(article, rec)
    _sub(article, "Language", rec.get("language", "eng"))
    ptl = _sub(article, "PublicationTypeList")
    for pt in rec.get("publication_types", ["Journal Article"]):
        _sub(ptl, "PublicationType", pt)
    if rec.get("vernacular_title"):
        _sub(article, "VernacularTitle", rec["vernacular_title"])
    info = _sub(mc, "MedlineJournalInfo")
    _sub(info, "MedlineTA", rec.get("journal_iso", rec["journal"]))
    if rec.get("comments_corrections"):
        ccl = _sub(mc, "CommentsCorrectionsList")
        for link in rec["comments_corrections"]:
            cc = _sub(ccl, "CommentsCorrections", RefType=link["type"])
            _sub(cc, "RefSource", link.get("source", f"Synthetic record {link.get('pmid', '')}"))
            if link.get("pmid"):
                _sub(cc, "PMID", str(link["pmid"]), Version="1")
    if rec.get("mesh"):
        mhl = _sub(mc, "MeshHeadingList")
        for heading in rec["mesh"]:
            _mesh(mhl, heading)
    if rec.get("keywords"):
        kwl = _sub(mc, "KeywordList", Owner="NOTNLM")
        for kw in rec["keywords"]:
            _sub(kwl, "Keyword", kw, MajorTopicYN="N")
    _sub(mc, "GeneralNote", SYNTHETIC_NOTE, Owner="NOTNLM")
    pd = _sub(art, "PubmedData")
    _history(pd, rec)
    _sub(pd, "PublicationStatus", "ppublish")
    _article_ids(pd, rec)
    return art


def _book_element(rec: dict) -> ET.Element:
    art = ET.Element("PubmedBookArticle")
    doc = _sub(art, "BookDocument")
    _sub(doc, "PMID", str(rec["pmid"]), Version="1")
    _article_ids(doc, rec)
    book = _sub(doc, "Book")
    pub = _sub(book, "Publisher")
    _sub(pub, "PublisherName", rec.get("journal_iso", "Synthetic Press"))
    _sub(book, "BookTitle", rec["journal"])
    _pub_date(book, rec)
    _sub(doc, "ArticleTitle", rec["title"].strip())
    _sub(doc, "Language", rec.get("language", "eng"))
    _authors(doc, rec)
    for pt in rec.get("publication_types", ["Review"]):
        _sub(doc, "PublicationType", pt)
    _abstract(doc, rec)
    if rec.get("keywords"):
        kwl = _sub(doc, "KeywordList", Owner="NOTNLM")
        for kw in rec["keywords"]:
            _sub(kwl, "Keyword", kw, MajorTopicYN="N")
    data = _sub(art, "PubmedBookData")
    _history(data, rec)
    _sub(data, "PublicationStatus", "ppublish")
    ids = _sub(data, "ArticleIdList")
    _sub(ids, "ArticleId", str(rec["pmid"]), IdType="pubmed")
    return art


def iter_xml_chunks(records: Iterable[dict]) -> Iterator[str]:
    """The PubMed XML document for ``records``, in chunks (constant memory)."""
    yield '<?xml version="1.0" encoding="utf-8"?>\n'
    yield DOCTYPE + "\n"
    yield f"<!--{SYNTHETIC_BANNER}-->\n"
    yield "<PubmedArticleSet>\n"
    for rec in records:
        el = record_element(rec)
        ET.indent(el, space="  ", level=1)
        yield "  " + ET.tostring(el, encoding="unicode") + "\n"
    yield "</PubmedArticleSet>\n"


def to_xml(records: Iterable[dict]) -> str:
    return "".join(iter_xml_chunks(records))


def labels_csv(records: Iterable[dict]) -> str:
    """The ground truth as CSV: pmid, study_type, topics (';'-joined), sample_size, hard_case."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(LABEL_COLUMNS)
    for rec in records:
        writer.writerow([
            rec["pmid"], rec["study_type"], ";".join(rec.get("topics", [])),
            rec.get("sample_size", ""), rec.get("hard_case", ""),
        ])
    return out.getvalue()


def build(sources: Iterable[str | Path], xml_out: Path, labels_out: Path) -> int:
    """Write the XML and labels CSV for the TOML ``sources``; return the record count."""
    records = load(sorted(Path(s) for s in sources))
    xml_out.write_text(to_xml(records), encoding="utf-8")
    labels_out.write_text(labels_csv(records), encoding="utf-8")
    return len(records)


# --------------------------------------------------------------------------- generator

GENERATED_PMID_START = 95_000_001
_SURNAMES = ("Abdullah", "Nguyen", "Smith", "Rahman", "Okafor", "Garcia", "Tanaka", "Müller", "Silva", "Kowalski",
             "Hassan", "Chen", "Johnson", "Singh", "Wongsakul", "Lindqvist", "Moreno", "Ibrahim", "Park", "Rossi",
             "Haddad", "Ismail", "Suwannarat", "Brennan", "Osei", "Delgado", "Kawamura", "Petrov", "Ali", "Costa")
_FORENAMES = ("Nur", "Thi", "James", "Aisyah", "Chidi", "Maria", "Hiroshi", "Anna", "Lucas", "Piotr", "Omar",
              "Wei", "Emily", "Arjun", "Pim", "Sara", "Tomas", "Fatima", "Ji-woo", "Giulia", "Rami", "Siti")


def _vary_numbers(text: str, rng) -> str:
    """Change the numbers of a text a little, so generated records are not copies."""
    def change(match: re.Match) -> str:
        raw = match.group(0)
        value = int(raw.replace(",", ""))
        if value < 10 or 1900 <= value <= 2100:
            return raw
        new = max(1, int(value * rng.uniform(0.7, 1.3)))
        return f"{new:,}" if "," in raw else str(new)
    return re.sub(r"\b\d{1,3}(?:,\d{3})+\b|\b\d{2,6}\b", change, text)


def generate_records(n: int, seed: int = 0, sources: Iterable[str | Path] | None = None,
                     start: int = GENERATED_PMID_START) -> Iterator[dict]:
    """``n`` synthetic records drawn from the demo sample and varied: new PMIDs, years, authors,
    numbers, and a reference list of 5-40 citations each, as real efetch records carry.
    Seeded: the same ``n`` and ``seed`` give the same records. Streams, so any ``n`` fits."""
    import random

    base = load(sorted(Path(p) for p in (sources or _demo_sources())))
    rng = random.Random(seed)
    for i in range(n):
        rec = dict(base[rng.randrange(len(base))])
        rec["pmid"] = start + i
        if "medline_date" not in rec:
            rec["year"] = rng.randint(2000, 2026)
        rec["authors"] = [f"{rng.choice(_SURNAMES)}, {rng.choice(_FORENAMES)}" for _ in range(rng.randint(1, 9))]
        if rec.get("abstract"):
            rec["abstract"] = _vary_numbers(rec["abstract"], rng)
        if rec.get("sections"):
            rec["sections"] = [dict(sec, text=_vary_numbers(sec["text"], rng)) for sec in rec["sections"]]
        rec.pop("comments_corrections", None)  # links would point at PMIDs of the demo sample
        rec["doi"] = f"10.5555/generated.{rec['pmid']}"
        rec["_references"] = rng.randint(5, 40)
        yield rec


def _demo_sources() -> list[Path]:
    return sorted((Path(__file__).parent / "data" / "demo" / "source").glob("*.toml"))


def _add_references(article: ET.Element, rec: dict) -> None:
    data = article.find("PubmedData")
    if data is None or not rec.get("_references"):
        return
    refs = _sub(data, "ReferenceList")
    for k in range(rec["_references"]):
        ref = _sub(refs, "Reference")
        _sub(ref, "Citation", f"Synthetic cited work {k + 1} of record {rec['pmid']}. J Synth Ref. 20{k % 25:02d};{k}:1-9.")
        ids = _sub(ref, "ArticleIdList")
        _sub(ids, "ArticleId", f"10.5555/synthetic-ref.{rec['pmid']}.{k}", IdType="doi")


def write_generated(path: str | Path, n: int, seed: int = 0) -> int:
    """Write ``n`` generated records as PubMed XML (gzip when the name ends in .gz)."""
    import gzip

    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    count = 0
    with opener(path, "wt", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="utf-8"?>\n' + DOCTYPE + "\n")
        out.write(f"<!--{SYNTHETIC_BANNER}Generated from the demo sample (seed {seed}). -->\n<PubmedArticleSet>\n")
        for rec in generate_records(n, seed):
            el = record_element(rec)
            _add_references(el, rec)
            out.write(ET.tostring(el, encoding="unicode"))
            out.write("\n")
            count += 1
        out.write("</PubmedArticleSet>\n")
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.synthetic", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    check = sub.add_parser("check", help="validate TOML record files and print a summary")
    check.add_argument("files", nargs="+")
    b = sub.add_parser("build", help="write PubMed XML and a labels CSV from TOML record files")
    b.add_argument("files", nargs="+")
    b.add_argument("--xml", required=True, type=Path)
    b.add_argument("--labels", required=True, type=Path)
    g = sub.add_parser("generate", help="write N varied synthetic records as PubMed XML (for benchmarks)")
    g.add_argument("n", type=int)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", required=True, type=Path, help="output file (.xml or .xml.gz)")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "check":
            records = load(args.files)
            ET.fromstring(to_xml(records).split("\n", 3)[3])  # the XML must parse
            from collections import Counter

            designs = Counter(r["study_type"] for r in records)
            topics = Counter(t for r in records for t in r.get("topics", []))
            print(f"{len(records)} records OK")
            print("designs:", ", ".join(f"{k}={v}" for k, v in sorted(designs.items())))
            print("topics:", ", ".join(f"{k}={v}" for k, v in sorted(topics.items())))
            print("with sample_size:", sum("sample_size" in r for r in records))
        elif args.cmd == "generate":
            n = write_generated(args.out, args.n, args.seed)
            print(f"wrote {n} generated records to {args.out}")
        else:
            n = build(args.files, args.xml, args.labels)
            print(f"wrote {n} records to {args.xml} and {args.labels}")
    except SyntheticError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
