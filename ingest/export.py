"""Exports of the filtered records: csv, tsv, xlsx, json, ris, bibtex, parquet.

The rows come from the query layer (:func:`ingest.query.export_rows`), so an export holds
exactly what the dashboard shows for the same filters. Tabular formats begin with
:data:`ingest.query.EXPORT_FIRST`; lists are joined with "; " only here, at export
(topics with ";" exactly, as the contract says). Spreadsheets are safe to open: a text cell
that begins with =, +, -, @, a tab or a carriage return is prefixed with an apostrophe, so
no spreadsheet runs it as a formula. RIS follows the tags Zotero, EndNote and Rayyan import;
BibTeX keys are stable and unique (first author, year, PMID).
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

import pandas as pd

from .query import DOI_URL, EXPORT_FIRST, PUBMED_URL, design_label

FORMATS = ("csv", "tsv", "xlsx", "json", "ris", "bibtex", "parquet")
BINARY_FORMATS = {"xlsx", "parquet"}
MEDIA_TYPES = {
    "csv": "text/csv", "tsv": "text/tab-separated-values",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json", "ris": "application/x-research-info-systems",
    "bibtex": "application/x-bibtex", "parquet": "application/vnd.apache.parquet",
}
EXTENSIONS = {"csv": "csv", "tsv": "tsv", "xlsx": "xlsx", "json": "json", "ris": "ris", "bibtex": "bib",
              "parquet": "parquet"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# --------------------------------------------------------------------------- flat rows


def author_names(authors: list[dict]) -> list[str]:
    """'Last, Fore' for people, the group name for collective authors."""
    names = []
    for au in authors:
        if au.get("collective"):
            names.append(au["collective"])
        else:
            fore = au.get("fore") or au.get("initials") or ""
            names.append(f"{au.get('last') or ''}, {fore}".strip(", "))
    return names


def flat(row: dict[str, Any]) -> dict[str, Any]:
    """One export row: the contract's first columns, then the rest; lists joined."""
    out: dict[str, Any] = {
        "pmid": row["pmid"],
        "title": row["title"],
        "year": row["pub_year"],
        "journal": row["journal"],
        "study_type": row["study_type"],
        "study_type_confidence": row["study_type_confidence"],
        "topics": ";".join(row["topics"]),
        "sample_size": row["sample_size"],
        "doi": row["doi"],
        "pubmed_url": PUBMED_URL.format(pmid=row["pmid"]),
    }
    assert list(out) == EXPORT_FIRST
    out.update({
        "design_label": design_label(row["study_type"]),
        "authors": "; ".join(author_names(row["authors"])),
        "abstract": row["abstract"],
        "journal_iso": row["journal_iso"],
        "volume": row["volume"],
        "issue": row["issue"],
        "pages": row["pages"],
        "pub_date": row["pub_date"],
        "languages": "; ".join(row["languages"]),
        "publication_types": "; ".join(row["publication_types"]),
        "mesh": "; ".join(m["descriptor"] for m in row["mesh"]),
        "keywords": "; ".join(row["keywords"]),
        "pmcid": row["pmcid"],
        "citation_status": row["citation_status"],
        "is_retracted": bool(row["is_retracted"]),
        "machine_study_type": row["machine_study_type"],
        "study_type_evidence": row["study_type_evidence"],
        "sample_size_phrase": row["sample_size_phrase"],
        "curated": bool(row["curated"]),
        "curation_note": row["curation_note"],
        "curator": row["curator"],
        "curated_at": row["curated_at"],
        "tagger_version": row["tagger_version"],
        "first_seen": row["first_seen"],
        "doi_url": DOI_URL.format(doi=row["doi"]) if row["doi"] else None,
    })
    return out


def neutralise(value: Any) -> Any:
    """Keep a spreadsheet from reading text as a formula (OWASP's CSV-injection advice)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


# --------------------------------------------------------------------------- writers


def _write_delimited(rows: Iterable[dict], out: IO[str], delimiter: str) -> int:
    import csv

    writer = None
    n = 0
    for row in rows:
        record = {k: neutralise(v) for k, v in flat(row).items()}
        if delimiter == "\t":  # a TSV cell cannot hold a tab or a line break
            record = {k: re.sub(r"[\t\r\n]+", " ", v) if isinstance(v, str) else v for k, v in record.items()}
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(record), delimiter=delimiter, lineterminator="\r\n"
                                    if delimiter == "," else "\n")
            writer.writeheader()
        writer.writerow(record)
        n += 1
    if writer is None:  # no rows: still a header line, so the file says what it would hold
        csv.writer(out, delimiter=delimiter).writerow(EXPORT_FIRST)
    return n


def _json_record(row: dict[str, Any]) -> dict[str, Any]:
    record = flat(row)
    record.update({
        "topics": row["topics"], "authors": row["authors"], "languages": row["languages"],
        "publication_types": row["publication_types"], "mesh": row["mesh"], "keywords": row["keywords"],
        "abstract_sections": row["abstract_sections"], "comments_corrections": row["comments_corrections"],
        "notes": row["notes"],
    })
    return record


def _write_json(rows: Iterable[dict], out: IO[str]) -> int:
    out.write("[")
    n = 0
    for row in rows:
        out.write(",\n" if n else "\n")
        out.write(json.dumps(_json_record(row), ensure_ascii=False))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def _one_line(text: Any) -> str:
    return " ".join(str(text).split()) if text is not None else ""


def split_pages(pages: str | None) -> tuple[str | None, str | None]:
    """MEDLINE page ranges to start and end: '101-9' -> ('101', '109'), 'e14022' -> ('e14022', None)."""
    if not pages:
        return None, None
    first = pages.split(",")[0].strip()
    match = re.fullmatch(r"([A-Za-z]*)(\d+)\s*[-–]\s*([A-Za-z]*)(\d+)", first)
    if not match:
        return first, None
    prefix, start, _, end = match.groups()
    if len(end) < len(start):  # MEDLINE abbreviates: 1116-22 means 1116-1122
        end = start[: len(start) - len(end)] + end
    return prefix + start, prefix + end


def _ris_record(row: dict[str, Any]) -> str:
    lines = [("TY", "CHAP" if row["is_book"] else "JOUR")]
    lines.append(("TI", _one_line(row["title"])))
    for name in author_names(row["authors"]):
        lines.append(("AU", _one_line(name)))
    if row["pub_year"]:
        lines.append(("PY", str(row["pub_year"])))
    if row["pub_date"]:
        lines.append(("DA", row["pub_date"].replace("-", "/")))
    if row["journal"]:
        lines.append(("T2" if row["is_book"] else "JO", _one_line(row["journal"])))
    if row["journal_iso"] and not row["is_book"]:
        lines.append(("J2", _one_line(row["journal_iso"])))
    for tag, key in (("VL", "volume"), ("IS", "issue")):
        if row[key]:
            lines.append((tag, _one_line(row[key])))
    start, end = split_pages(row["pages"])
    if start:
        lines.append(("SP", start))
    if end:
        lines.append(("EP", end))
    if row["doi"]:
        lines.append(("DO", row["doi"]))
    if row["abstract"]:
        lines.append(("AB", _one_line(row["abstract"])))
    for kw in row["keywords"]:
        lines.append(("KW", _one_line(kw)))
    for language in row["languages"][:1]:
        lines.append(("LA", language))
    lines.append(("AN", str(row["pmid"])))
    lines.append(("UR", PUBMED_URL.format(pmid=row["pmid"])))
    note = f"Study design: {row['study_type'] or 'not tagged'}; topics: {'; '.join(row['topics']) or 'none'}"
    if row["sample_size"]:
        note += f"; sample size: {row['sample_size']}"
    if row["is_retracted"]:
        note += "; RETRACTED"
    lines.append(("N1", note))
    body = "".join(f"{tag}  - {value}\r\n" for tag, value in lines if value != "")
    return body + "ER  - \r\n\r\n"


def _write_each(render: Callable[[dict], str]) -> Callable[[Iterable[dict], IO[str]], int]:
    """A writer of one rendered text per record (RIS, BibTeX), returning the count."""
    def write(rows: Iterable[dict], out: IO[str]) -> int:
        n = 0
        for row in rows:
            out.write(render(row))
            n += 1
        return n
    return write


_BIB_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
                "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def bib_escape(text: Any) -> str:
    """A value safe inside BibTeX braces: specials escaped, white space folded."""
    return "".join(_BIB_SPECIAL.get(ch, ch) for ch in _one_line(text))


def bib_key(row: dict[str, Any]) -> str:
    """Stable and unique: first author's surname (ASCII), year, PMID. 'Rahman2021_90000001'."""
    first = row["authors"][0] if row["authors"] else {}
    surname = first.get("last") or first.get("collective") or "Anon"
    ascii_name = unicodedata.normalize("NFKD", surname).encode("ascii", "ignore").decode()
    ascii_name = re.sub(r"[^A-Za-z]", "", ascii_name)[:20] or "Anon"
    return f"{ascii_name}{row['pub_year'] or 'nd'}_{row['pmid']}"


def _bib_record(row: dict[str, Any]) -> str:
    kind = "incollection" if row["is_book"] else "article"
    names = []
    for au in row["authors"]:
        if au.get("collective"):
            names.append("{" + bib_escape(au["collective"]) + "}")
        else:
            names.append(bib_escape(f"{au.get('last') or ''}, {au.get('fore') or au.get('initials') or ''}".strip(", ")))
    fields = [
        ("title", "{" + bib_escape(row["title"]) + "}"),
        ("author", " and ".join(names)),
        ("booktitle" if row["is_book"] else "journal", bib_escape(row["journal"]) if row["journal"] else ""),
        ("year", str(row["pub_year"] or "")),
        ("volume", bib_escape(row["volume"]) if row["volume"] else ""),
        ("number", bib_escape(row["issue"]) if row["issue"] else ""),
        ("pages", "--".join(p for p in split_pages(row["pages"]) if p)),
        ("doi", bib_escape(row["doi"]) if row["doi"] else ""),
        ("pmid", str(row["pmid"])),
        ("url", PUBMED_URL.format(pmid=row["pmid"])),
        ("keywords", bib_escape(", ".join(row["keywords"]))),
        ("abstract", bib_escape(row["abstract"]) if row["abstract"] else ""),
        ("note", bib_escape(f"Study design: {row['study_type'] or 'not tagged'}; topics: "
                            f"{'; '.join(row['topics']) or 'none'}" + ("; RETRACTED" if row["is_retracted"] else ""))),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@{kind}{{{bib_key(row)},\n{body}\n}}\n\n"




def flat_columns() -> list[str]:
    return EXPORT_FIRST + ["design_label", "authors", "abstract", "journal_iso", "volume", "issue", "pages",
                           "pub_date", "languages", "publication_types", "mesh", "keywords", "pmcid",
                           "citation_status", "is_retracted", "machine_study_type", "study_type_evidence",
                           "sample_size_phrase", "curated", "curation_note", "curator", "curated_at",
                           "tagger_version", "first_seen", "doi_url"]


def _write_xlsx(rows: Iterable[dict], out: IO[bytes]) -> int:
    def clean(value: Any) -> Any:
        return _ILLEGAL_XLSX.sub("", neutralise(value)) if isinstance(value, str) else value

    records = [{k: clean(v) for k, v in flat(r).items()} for r in rows]
    df = pd.DataFrame(records, columns=flat_columns())
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        df.to_excel(writer, index=False, sheet_name="records")
    return len(df)


def _write_parquet(rows: Iterable[dict], out: IO[bytes]) -> int:
    records = [_json_record(r) for r in rows]
    df = pd.DataFrame(records)
    for column in ("authors", "mesh", "abstract_sections", "comments_corrections"):
        if column in df:  # nested objects as JSON text; lists of strings stay lists
            df[column] = [json.dumps(v, ensure_ascii=False) for v in df[column]]
    df.to_parquet(out, index=False)
    return len(df)


TEXT_WRITERS: dict[str, Callable[[Iterable[dict], IO[str]], int]] = {
    "csv": lambda rows, out: _write_delimited(rows, out, ","),
    "tsv": lambda rows, out: _write_delimited(rows, out, "\t"),
    "json": _write_json,
    "ris": _write_each(_ris_record),
    "bibtex": _write_each(_bib_record),
}
BINARY_WRITERS: dict[str, Callable[[Iterable[dict], IO[bytes]], int]] = {
    "xlsx": _write_xlsx,
    "parquet": _write_parquet,
}


def write(rows: Iterable[dict], fmt: str, out: IO) -> int:
    """Write rows (from query.export_rows) in ``fmt`` to a text (or, for xlsx and parquet,
    binary) stream; return how many records were written."""
    if fmt in TEXT_WRITERS:
        return TEXT_WRITERS[fmt](rows, out)
    if fmt in BINARY_WRITERS:
        return BINARY_WRITERS[fmt](rows, out)
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


def export_bytes(rows: Iterable[dict], fmt: str) -> bytes:
    """The whole export in memory (for a download button)."""
    if fmt in BINARY_FORMATS:
        buffer = io.BytesIO()
        write(rows, fmt, buffer)
        return buffer.getvalue()
    text = io.StringIO()
    write(rows, fmt, text)
    return text.getvalue().encode("utf-8")


def iter_flat(rows: Iterable[dict]) -> Iterator[dict]:
    return (flat(r) for r in rows)
