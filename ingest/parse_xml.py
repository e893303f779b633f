"""PubMed XML, read as a stream: efetch output, baseline and update files, plain or gzip.

The parser follows the elements NLM documents for the PubMed DTD
(https://www.nlm.nih.gov/bsd/licensee/elements_descriptions.html) and reads:

- ``PubmedArticleSet`` holding ``PubmedArticle`` and ``PubmedBookArticle`` (efetch, baseline),
- ``DeleteCitation`` lists in update files (each PMID becomes a :class:`Deletion`),
- the old ``MedlineCitationSet`` of pre-2017 baseline files,
- a bare ``PubmedArticle`` or ``MedlineCitation`` root without a set around it.

It uses lxml ``iterparse`` and clears each record once read, so memory stays flat whatever
the file's size. Entities are never expanded or fetched (``resolve_entities=False``,
``no_network=True``, no DTD loaded); libxml2 refuses entity-amplification payloads outright.
Inline markup in titles and abstracts (``i``, ``b``, ``sup``, ``sub``, MathML) becomes
readable text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import IO

from lxml import etree

from .dates import best_date, month_number, parse_free_date
from .record import Article, Deletion, RecordError, Unchanged

#: Asked before a record is parsed: is a record with this PMID and these bytes stored already?
Seen = Callable[[int, str], bool]

_RECORD_TAGS = ("PubmedArticle", "PubmedBookArticle", "MedlineCitation", "DeleteCitation")
_SET_TAGS = {"PubmedArticleSet", "MedlineCitationSet", "PubmedBookArticleSet"}
_RECORD_TAG_SET = set(_RECORD_TAGS)


class XMLParseError(ValueError):
    """The file as a whole cannot be read (malformed, truncated, not PubMed XML)."""


# Publication types written with odd capitalisation in some records ("JOURNAL ARTICLE")
# are stored in PubMed's canonical form so that counts and rules see one spelling.
_CANONICAL_PUBTYPES = {
    name.lower(): name
    for name in (
        "Journal Article", "Review", "Systematic Review", "Meta-Analysis", "Scoping Review",
        "Randomized Controlled Trial", "Clinical Trial", "Controlled Clinical Trial",
        "Clinical Trial, Phase I", "Clinical Trial, Phase II", "Clinical Trial, Phase III",
        "Clinical Trial, Phase IV", "Clinical Trial Protocol", "Pragmatic Clinical Trial",
        "Equivalence Trial", "Adaptive Clinical Trial", "Observational Study",
        "Multicenter Study", "Comparative Study", "Evaluation Study", "Validation Study",
        "Case Reports", "Editorial", "Letter", "Comment", "News", "Newspaper Article",
        "Practice Guideline", "Guideline", "Consensus Development Conference",
        "Published Erratum", "Retraction of Publication", "Retracted Publication",
        "Expression of Concern", "English Abstract", "Historical Article", "Interview",
        "Lecture", "Biography", "Congress", "Preprint", "Twin Study", "Video-Audio Media",
        "Randomized Controlled Trial, Veterinary", "Clinical Trial, Veterinary",
        "Observational Study, Veterinary", "Network Meta-Analysis", "Overall",
        "Research Support, N.I.H., Extramural", "Research Support, N.I.H., Intramural",
        "Research Support, Non-U.S. Gov't", "Research Support, U.S. Gov't, P.H.S.",
        "Research Support, U.S. Gov't, Non-P.H.S.", "Research Support, American Recovery and Reinvestment Act",
        "Introductory Journal Article", "Duplicate Publication", "Dataset", "Technical Report",
    )
}


def canonical_publication_type(name: str) -> str:
    name = " ".join(name.split())
    return _CANONICAL_PUBTYPES.get(name.lower(), name)


# --------------------------------------------------------------------------- text


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _math(el: etree._Element) -> str:
    """MathML as linear text: x^2, Cu2O, a/b."""
    local = _local(el.tag)
    if local in ("mi", "mn", "mo", "mtext", "ms"):
        return (el.text or "").strip()
    if local in ("annotation", "annotation-xml"):
        return ""
    kids = [_math(c) for c in el if isinstance(c.tag, str)]
    if local == "msup" and len(kids) == 2:
        return f"{kids[0]}^{kids[1]}"
    if local == "msubsup" and len(kids) == 3:
        return f"{kids[0]}{kids[1]}^{kids[2]}"
    if local == "mfrac" and len(kids) == 2:
        return f"{kids[0]}/{kids[1]}"
    if local == "msqrt":
        return f"√({''.join(kids)})"
    return "".join(kids)


def _walk(el: etree._Element, parts: list[str]) -> None:
    if el.text:
        parts.append(el.text)
    for child in el:
        if isinstance(child.tag, str):  # elements; entity references and comments are skipped
            local = _local(child.tag)
            if local == "math":
                parts.append(_math(child))
            elif local == "sup":
                inner = rich_text(child)
                prev = parts[-1][-1:] if parts and parts[-1] else ""
                parts.append(f"^{inner}" if inner and (prev.isalnum() or prev == ")") else inner)
            else:
                _walk(child, parts)
        if child.tail:
            parts.append(child.tail)


def rich_text(el: etree._Element | None) -> str:
    """The readable text of an element, inline markup flattened, white space folded."""
    if el is None:
        return ""
    if len(el) == 0:
        text = el.text or ""
    else:
        parts: list[str] = []
        _walk(el, parts)
        text = "".join(parts)
    return " ".join(text.split())


def _clean(value: str) -> str:
    """White space folded, cheaply: most PubMed values need nothing."""
    if "  " in value or "\n" in value or "\t" in value or "\r" in value or value[:1] == " " or value[-1:] == " ":
        return " ".join(value.split())
    return value


def _text(el: etree._Element | None, path: str) -> str | None:
    if el is None:
        return None
    value = el.findtext(path)
    if not value:
        return None
    return _clean(value) or None


# --------------------------------------------------------------------------- fields


def _abstract(container: etree._Element | None) -> tuple[str | None, list[dict]]:
    if container is None:
        return None, []
    abstract = container.find("Abstract")
    if abstract is None:
        # Some records carry their only English abstract as OtherAbstract.
        for other in container.iterfind("OtherAbstract"):
            if other.get("Language", "eng") == "eng":
                abstract = other
                break
    if abstract is None:
        return None, []
    sections = []
    for node in abstract.iterfind("AbstractText"):
        text = rich_text(node)
        if not text:
            continue
        sections.append({
            "label": node.get("Label") or None,
            "category": node.get("NlmCategory") or None,
            "text": text,
        })
    if not sections:
        return None, []
    plain = "\n\n".join(
        f"{s['label']}: {s['text']}" if s["label"] else s["text"] for s in sections
    )
    return plain, sections


def _authors(container: etree._Element | None) -> list[dict]:
    if container is None:
        return []
    author_list = container.find("AuthorList")
    if author_list is None:
        return []
    authors = []
    for au in author_list.iterchildren("Author"):
        if au.get("ValidYN") == "N":
            continue
        item: dict = {"last": None, "fore": None, "initials": None}
        affiliations: list[str] = []
        collective = None
        for child in au:  # one pass over the author's elements
            tag = child.tag
            if tag == "LastName":
                item["last"] = _clean(child.text) if child.text else None
            elif tag == "ForeName":
                item["fore"] = _clean(child.text) if child.text else None
            elif tag == "Initials":
                item["initials"] = _clean(child.text) if child.text else None
            elif tag == "Suffix" and child.text:
                item["suffix"] = _clean(child.text)
            elif tag == "AffiliationInfo":
                text = rich_text(child.find("Affiliation"))
                if text:
                    affiliations.append(text)
            elif tag == "Identifier" and child.get("Source") == "ORCID" and child.text:
                item["orcid"] = child.text.strip()
            elif tag == "CollectiveName":
                collective = rich_text(child)
        if collective:
            authors.append({"collective": collective})
            continue
        if affiliations:
            item["affiliations"] = affiliations
        if item["last"] or item["fore"]:
            authors.append(item)
    return authors


def _pub_date(pubdate: etree._Element | None) -> tuple[int | None, str | None, str | None]:
    if pubdate is None:
        return None, None, None
    medline_date = _text(pubdate, "MedlineDate")
    if medline_date:
        year, best = parse_free_date(medline_date)
        return year, best, medline_date
    year_text = _text(pubdate, "Year")
    if not year_text or not year_text[:4].isdigit():
        return None, None, None
    year = int(year_text[:4])
    season = _text(pubdate, "Season")
    month_text = _text(pubdate, "Month")
    day_text = _text(pubdate, "Day")
    month = month_number(month_text) or month_number(season)
    day = int(day_text) if day_text and day_text.isdigit() else None
    raw = " ".join(p for p in (year_text, month_text or season, day_text) if p)
    return year, best_date(year, month, day), raw


def _ymd(el: etree._Element | None) -> str | None:
    if el is None:
        return None
    year = _text(el, "Year")
    if not year or not year.isdigit():
        return None
    month = month_number(_text(el, "Month"))
    day_text = _text(el, "Day")
    return best_date(int(year), month, int(day_text) if day_text and day_text.isdigit() else None)


def _mesh(mc: etree._Element) -> list[dict]:
    headings = []
    for mh in mc.iterfind("MeshHeadingList/MeshHeading"):
        desc = mh.find("DescriptorName")
        if desc is None or not desc.text:
            continue
        qualifiers = [
            {"name": " ".join(q.text.split()), "major": q.get("MajorTopicYN") == "Y"}
            for q in mh.iterfind("QualifierName")
            if q.text
        ]
        headings.append({
            "descriptor": " ".join(desc.text.split()),
            "major": desc.get("MajorTopicYN") == "Y" or any(q["major"] for q in qualifiers),
            "qualifiers": qualifiers,
        })
    return headings


def _keywords(container: etree._Element) -> list[str]:
    seen: dict[str, None] = {}
    for kw in container.iterfind("KeywordList/Keyword"):
        text = rich_text(kw)
        if text:
            seen.setdefault(text, None)
    return list(seen)


def _links(mc: etree._Element) -> list[dict]:
    links = []
    for cc in mc.iterfind("CommentsCorrectionsList/CommentsCorrections"):
        pmid = _text(cc, "PMID")
        links.append({
            "type": cc.get("RefType"),
            "pmid": int(pmid) if pmid and pmid.isdigit() else None,
            "source": _text(cc, "RefSource"),
        })
    return links


def _ids(*lists: etree._Element | None) -> dict[str, str]:
    """ArticleId values by IdType from the record's own ArticleIdList (not its references)."""
    ids: dict[str, str] = {}
    for lst in lists:
        if lst is None:
            continue
        for aid in lst.iterfind("ArticleId"):
            kind = aid.get("IdType")
            if kind and aid.text and kind not in ids:
                ids[kind] = aid.text.strip()
    return ids


def _pmid(container: etree._Element, index: int) -> int:
    pmid = _text(container, "PMID")
    if not pmid:
        raise RecordError(f"record {index} has no PMID", index=index)
    if not pmid.isdigit():
        raise RecordError(f"record {index} has a PMID that is not a number: {pmid!r}", index=index)
    return int(pmid)


def _from_citation(mc: etree._Element, data: etree._Element | None, index: int) -> Article:
    """A MedlineCitation (with its PubmedData, when the record has one) -> Article."""
    pmid = _pmid(mc, index)
    art = mc.find("Article")
    journal = art.find("Journal") if art is not None else None
    issue = journal.find("JournalIssue") if journal is not None else None
    year, best, raw = _pub_date(issue.find("PubDate") if issue is not None else None)
    if year is None and art is not None:
        date = _ymd(art.find("ArticleDate"))
        if date:
            year, best, raw = int(date[:4]), date, date
    abstract, sections = _abstract(art)
    ids = _ids(data.find("ArticleIdList") if data is not None else None)
    doi = ids.get("doi")
    if doi is None and art is not None:
        for eloc in art.iterfind("ELocationID"):
            if eloc.get("EIdType") == "doi" and eloc.text:
                doi = eloc.text.strip()
                break
    pmcid = ids.get("pmc")
    if pmcid is None:
        for other in mc.iterfind("OtherID"):
            if other.text and other.text.strip().startswith("PMC"):
                pmcid = other.text.strip().split()[0]
                break
    pages = _text(art, "Pagination/MedlinePgn")
    if not pages and art is not None:
        start, end = _text(art, "Pagination/StartPage"), _text(art, "Pagination/EndPage")
        pages = f"{start}-{end}" if start and end else start
    vernacular = (rich_text(art.find("VernacularTitle")) or None) if art is not None else None
    return Article(
        pmid=pmid,
        # An empty ArticleTitle with a VernacularTitle beside it: PubMed shows the latter.
        title=(rich_text(art.find("ArticleTitle")) if art is not None else "") or vernacular or "",
        vernacular_title=vernacular,
        abstract=abstract,
        abstract_sections=sections,
        journal=_text(journal, "Title"),
        journal_iso=_text(journal, "ISOAbbreviation") or _text(mc, "MedlineJournalInfo/MedlineTA"),
        issn=_text(journal, "ISSN") or _text(mc, "MedlineJournalInfo/ISSNLinking"),
        volume=_text(issue, "Volume"),
        issue=_text(issue, "Issue"),
        pages=pages,
        pub_year=year,
        pub_date=best,
        pub_date_raw=raw,
        authors=_authors(art),
        languages=[lang.text.strip() for lang in art.iterfind("Language") if lang.text] if art is not None else [],
        publication_types=[
            canonical_publication_type(pt.text)
            for pt in art.iterfind("PublicationTypeList/PublicationType")
            if pt.text
        ] if art is not None else [],
        mesh=_mesh(mc),
        keywords=_keywords(mc),
        doi=doi,
        pmcid=pmcid,
        citation_status=mc.get("Status"),
        indexing_method=mc.get("IndexingMethod"),
        comments_corrections=_links(mc),
        notes=[rich_text(n) for n in mc.iterfind("GeneralNote") if rich_text(n)],
        is_book=False,
        date_revised=_ymd(mc.find("DateRevised")),
    )


def _from_book(el: etree._Element, index: int) -> Article:
    doc = el.find("BookDocument")
    if doc is None:
        raise RecordError(f"record {index}: PubmedBookArticle without BookDocument", index=index)
    pmid = _pmid(doc, index)
    book = doc.find("Book")
    year, best, raw = _pub_date(book.find("PubDate") if book is not None else None)
    abstract, sections = _abstract(doc)
    data = el.find("PubmedBookData")
    ids = _ids(doc.find("ArticleIdList"), data.find("ArticleIdList") if data is not None else None)
    book_title = rich_text(book.find("BookTitle")) if book is not None else ""
    return Article(
        pmid=pmid,
        title=rich_text(doc.find("ArticleTitle")) or book_title,
        vernacular_title=rich_text(doc.find("VernacularTitle")) or None,
        abstract=abstract,
        abstract_sections=sections,
        journal=book_title or None,
        journal_iso=_text(book, "Publisher/PublisherName"),
        volume=_text(book, "Volume"),
        pub_year=year,
        pub_date=best,
        pub_date_raw=raw,
        authors=_authors(doc) or _authors(book),
        languages=[lang.text.strip() for lang in doc.iterfind("Language") if lang.text],
        publication_types=[
            canonical_publication_type(pt.text) for pt in doc.iterfind("PublicationType") if pt.text
        ],
        keywords=_keywords(doc),
        doi=ids.get("doi"),
        pmcid=ids.get("pmc"),
        citation_status=None,
        is_book=True,
        date_revised=_ymd(doc.find("DateRevised")),
    )


# --------------------------------------------------------------------------- stream


def _source_hash(el: etree._Element) -> str:
    return hashlib.blake2b(etree.tostring(el), digest_size=16).hexdigest()


def _quick_pmid(el: etree._Element, tag: str) -> int | None:
    path = {"PubmedArticle": "MedlineCitation/PMID", "PubmedBookArticle": "BookDocument/PMID"}.get(tag, "PMID")
    text = el.findtext(path)
    return int(text) if text and text.strip().isdigit() else None


def iter_xml(source: str | IO[bytes], name: str | None = None, *,
             seen: Seen | None = None) -> Iterator[Article | Deletion | Unchanged | RecordError]:
    """Yield the records of one PubMed XML document, in order.

    ``source`` is a path or a binary file object (already decompressed). Record-level
    problems (a record without PMID) are yielded as :class:`RecordError` and reading goes
    on; a document that cannot be read raises :class:`XMLParseError` naming ``name``.
    Each Article carries the digest of its bytes; with ``seen``, a record whose PMID and
    digest are stored already is yielded as :class:`Unchanged`, without being parsed.
    """
    name = name or (source if isinstance(source, str) else getattr(source, "name", "<stream>"))
    context = etree.iterparse(
        source,
        events=("end",),
        tag=_RECORD_TAGS,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,  # records with thousands of authors exceed libxml2's default limits
        remove_comments=True,
        remove_pis=True,
    )
    index = 0
    found = 0
    try:
        for _event, el in context:
            tag = el.tag
            parent = el.getparent()
            if tag == "MedlineCitation" and parent is not None and parent.tag == "PubmedArticle":
                continue  # read with its PubmedArticle
            if tag == "DeleteCitation":
                for pmid in el.iterfind("PMID"):
                    if pmid.text and pmid.text.strip().isdigit():
                        found += 1
                        yield Deletion(int(pmid.text.strip()))
            else:
                index += 1
                found += 1
                digest = _source_hash(el)
                pmid = _quick_pmid(el, tag) if seen else None
                if pmid is not None and seen(pmid, digest):
                    yield Unchanged(pmid)
                    tag = None  # read: nothing more to do with this element
                try:
                    article = None
                    if tag == "PubmedArticle":
                        mc = el.find("MedlineCitation")
                        if mc is None:
                            raise RecordError(f"record {index}: PubmedArticle without MedlineCitation", index=index)
                        article = _from_citation(mc, el.find("PubmedData"), index)
                    elif tag == "PubmedBookArticle":
                        article = _from_book(el, index)
                    elif tag is not None:  # MedlineCitation in a MedlineCitationSet, or a bare root
                        article = _from_citation(el, None, index)
                    if article is not None:
                        article.source_hash = digest
                        yield article
                except RecordError as exc:
                    yield exc
            # Free what was read: this element, and the siblings before it.
            el.clear(keep_tail=False)
            if parent is not None:
                while el.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as exc:
        raise XMLParseError(f"{name}: malformed or truncated XML ({_syntax_message(exc)})") from exc
    if found == 0:
        root = context.root
        root_tag = _local(root.tag) if root is not None and isinstance(root.tag, str) else None
        if root_tag in _SET_TAGS:
            raise XMLParseError(f"{name}: no records in it (an empty {root_tag})")
        error = root.findtext(".//ERROR") if root is not None else None
        detail = f": {' '.join(error.split())}" if error else ""
        raise XMLParseError(
            f"{name}: not PubMed XML (root element <{root_tag or '?'}>, no PubmedArticle, "
            f"PubmedBookArticle, MedlineCitation or DeleteCitation){detail}"
        )


def _syntax_message(exc: etree.XMLSyntaxError) -> str:
    msg = str(exc.msg if getattr(exc, "msg", None) else exc).strip()
    line = getattr(exc, "lineno", None)
    return f"line {line}: {msg}" if line else msg
