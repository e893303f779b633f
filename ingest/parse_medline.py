"""MEDLINE text ("PubMed format", .txt and .nbib exports), read with Bio.Medline.

Field tags follow NLM's MEDLINE/PubMed data element descriptions
(https://www.nlm.nih.gov/bsd/mms/medlineelements.html). Records are split on blank lines and
each is handed to ``Bio.Medline.read``; the same lines are scanned once more to keep each
affiliation (AD) with the author it follows, which a plain dictionary loses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from Bio import Medline

from .dates import parse_free_date
from .parse_xml import canonical_publication_type
from .record import Article, RecordError

#: MEDLINE comment/correction tags -> PubMed XML RefType names.
LINK_TAGS = {
    "CON": "CommentOn", "CIN": "CommentIn", "EIN": "ErratumIn", "EFR": "ErratumFor",
    "CRI": "CorrectedandRepublishedIn", "CRF": "CorrectedandRepublishedFrom",
    "PRIN": "PartialRetractionIn", "PROF": "PartialRetractionOf", "RPI": "RepublishedIn",
    "RPF": "RepublishedFrom", "RIN": "RetractionIn", "ROF": "RetractionOf",
    "UIN": "UpdateIn", "UOF": "UpdateOf", "SPIN": "SummaryForPatientsIn",
    "ORI": "OriginalReportIn", "ECI": "ExpressionOfConcernIn", "ECF": "ExpressionOfConcernFor",
}
_TAG_LINE = re.compile(r"^([A-Z]{2,4})\s*- ")
_LINK_PMID = re.compile(r"PMID:\s*(\d+)")
_ID_KIND = re.compile(r"^(.*?)\s*\[(\w+)\]\s*$")
# A structured abstract in MEDLINE text: "BACKGROUND: ... METHODS: ..." (labels in capitals).
_SECTION = re.compile(r"(?:^|(?<=[.?!)\]]\s))([A-Z][A-Z0-9 ,&/()-]{2,60}):\s+")


def first_tag(head: str) -> str | None:
    """The tag of the first "TAG - value" line ("PMID" for MEDLINE text, "TY" for RIS)."""
    for line in head.lstrip("\ufeff").splitlines():
        if line.strip():
            match = _TAG_LINE.match(line)
            return match.group(1) if match else None
    return None


def looks_like_medline(head: str) -> bool:
    """True when the opening text of a file reads as MEDLINE text (RIS looks alike: not it)."""
    return first_tag(head) not in (None, "TY")


def _split_records(lines: Iterable[str]) -> Iterator[list[str]]:
    block: list[str] = []
    for line in lines:
        if line.startswith("PMID-") and any(_TAG_LINE.match(b) for b in block):
            yield block
            block = []
        if not line.strip():
            if any(_TAG_LINE.match(b) for b in block):
                yield block
            block = []
            continue
        block.append(line.rstrip("\r\n") + "\n")
    if any(_TAG_LINE.match(b) for b in block):
        yield block


def _affiliations_by_author(block: list[str]) -> list[list[str]]:
    """For each author in order (FAU lines, or AU lines in older exports), the AD lines after it."""
    starter = "FAU" if any(line.startswith("FAU") for line in block) else "AU"
    authors: list[list[str]] = []
    current_tag = None
    for line in block:
        match = _TAG_LINE.match(line)
        if match:
            current_tag = match.group(1)
            if current_tag == starter:
                authors.append([])
            elif current_tag == "AD" and authors:
                authors[-1].append(line[match.end():].strip())
        elif current_tag == "AD" and authors and authors[-1] and line.startswith(" "):
            authors[-1][-1] += " " + line.strip()
    return authors


def _split_abstract(text: str | None) -> tuple[str | None, list[dict]]:
    if not text:
        return None, []
    text = " ".join(text.split())
    matches = list(_SECTION.finditer(text))
    if len(matches) < 2 or matches[0].start() != 0:
        return text, [{"label": None, "category": None, "text": text}]
    sections = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = text[m.end():end].strip()
        if body:
            sections.append({"label": m.group(1).strip(), "category": None, "text": body})
    plain = "\n\n".join(f"{s['label']}: {s['text']}" for s in sections)
    return plain, sections


def _mesh(headings: list[str]) -> list[dict]:
    out = []
    for heading in headings:
        parts = [p.strip() for p in heading.split("/")]
        desc = parts[0]
        qualifiers = [{"name": q.lstrip("*"), "major": q.startswith("*")} for q in parts[1:] if q]
        out.append({
            "descriptor": desc.lstrip("*"),
            "major": desc.startswith("*") or any(q["major"] for q in qualifiers),
            "qualifiers": qualifiers,
        })
    return out


def _first(rec: dict, key: str) -> str | None:
    value = rec.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    value = " ".join(str(value).split())
    return value or None


def _lr_date(value: str | None) -> str | None:
    if value and len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return None


def _article(rec: dict, affiliations: list[list[str]], index: int) -> Article:
    pmid = _first(rec, "PMID")
    if not pmid:
        raise RecordError(f"record {index} has no PMID", index=index)
    if not pmid.isdigit():
        raise RecordError(f"record {index} has a PMID that is not a number: {pmid!r}", index=index)
    abstract, sections = _split_abstract(_first(rec, "AB"))
    authors: list[dict] = []
    full_names = rec.get("FAU") or []
    short_names = rec.get("AU") or []
    for i, full in enumerate(full_names):
        last, _, fore = full.partition(",")
        short = short_names[i] if i < len(short_names) else ""
        item = {
            "last": last.strip() or None,
            "fore": fore.strip() or None,
            "initials": short.rpartition(" ")[2] or None if " " in short else None,
        }
        if i < len(affiliations) and affiliations[i]:
            item["affiliations"] = affiliations[i]
        authors.append(item)
    if not full_names:  # older exports give AU only
        for i, short in enumerate(short_names):
            last, _, initials = short.rpartition(" ")
            item = {"last": last or short, "fore": None, "initials": initials or None}
            if i < len(affiliations) and affiliations[i]:
                item["affiliations"] = affiliations[i]
            authors.append(item)
    for group in rec.get("CN") or []:
        authors.append({"collective": " ".join(group.split())})
    doi = pmcid = None
    for ident in (rec.get("AID") or []) + ([rec["LID"]] if rec.get("LID") else []):
        match = _ID_KIND.match(ident)
        if match and match.group(2) == "doi" and doi is None:
            doi = match.group(1)
    pmcid = _first(rec, "PMC")
    links = []
    for tag, ref_type in LINK_TAGS.items():
        for value in rec.get(tag) or []:
            match = _LINK_PMID.search(value)
            links.append({
                "type": ref_type,
                "pmid": int(match.group(1)) if match else None,
                "source": " ".join(_LINK_PMID.sub("", value).split()).rstrip(". ") or None,
            })
    raw_date = _first(rec, "DP")
    year, best = parse_free_date(raw_date)
    issn = _first(rec, "IS")
    is_book = bool(rec.get("BTI")) and not rec.get("JT")
    title = _first(rec, "TI") or _first(rec, "BTI") or ""
    return Article(
        pmid=int(pmid),
        title=title,
        vernacular_title=_first(rec, "TT"),
        abstract=abstract,
        abstract_sections=sections,
        journal=_first(rec, "JT") or _first(rec, "BTI"),
        journal_iso=_first(rec, "TA") or _first(rec, "PB"),
        issn=issn.split(" ")[0] if issn else None,
        volume=_first(rec, "VI"),
        issue=_first(rec, "IP"),
        pages=_first(rec, "PG"),
        pub_year=year,
        pub_date=best,
        pub_date_raw=raw_date,
        authors=authors,
        languages=list(rec.get("LA") or []),
        publication_types=[canonical_publication_type(p) for p in rec.get("PT") or []],
        mesh=_mesh(rec.get("MH") or []),
        keywords=[" ".join(k.split()) for k in rec.get("OT") or []],
        doi=doi,
        pmcid=pmcid,
        citation_status=_first(rec, "STAT"),
        indexing_method=None,
        comments_corrections=links,
        notes=[" ".join(n.split()) for n in rec.get("GN") or []],
        is_book=is_book,
        date_revised=_lr_date(_first(rec, "LR")),
    )


def iter_medline(lines: Iterable[str]) -> Iterator[Article | RecordError]:
    """Yield the records of a MEDLINE text document; a record without PMID is a RecordError."""
    for index, block in enumerate(_split_records(lines), start=1):
        try:
            rec = Medline.read(block)
            yield _article(rec, _affiliations_by_author(block), index)
        except RecordError as exc:
            yield exc
        except (KeyError, ValueError, StopIteration) as exc:
            yield RecordError(f"record {index} could not be read: {exc}", index=index)
