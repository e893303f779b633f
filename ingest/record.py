"""The one record type: an article as PubMed describes it, whatever format it came in.

Every parser (PubMed XML, MEDLINE text) yields :class:`Article`; the taggers read it and the
store writes it. Multi-valued fields are lists of small dicts, stored as JSON arrays, never
as joined strings.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Publication types and link types that mark a retracted article.
RETRACTED_PUBLICATION = "Retracted Publication"
RETRACTION_LINKS = frozenset({"RetractionIn", "PartialRetractionIn"})


@dataclass(slots=True)
class Article:
    """One PubMed record.

    ``abstract`` is the readable text (sections joined, each with its label);
    ``abstract_sections`` keeps the structure: ``[{"label", "category", "text"}]``.
    ``authors`` items are ``{"last", "fore", "initials", "collective", "affiliations",
    "orcid"}`` (a collective author has only ``collective``). ``mesh`` items are
    ``{"descriptor", "major", "qualifiers": [{"name", "major"}]}``. ``comments_corrections``
    items are ``{"type", "pmid", "source"}`` (RetractionIn, ErratumFor, CommentOn, ...).
    """

    pmid: int
    title: str = ""
    vernacular_title: str | None = None
    abstract: str | None = None
    abstract_sections: list[dict] = field(default_factory=list)
    journal: str | None = None
    journal_iso: str | None = None
    issn: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    pub_year: int | None = None
    pub_date: str | None = None  # best ISO date, YYYY-MM-DD
    pub_date_raw: str | None = None  # as PubMed wrote it: "1998 Dec-1999 Jan", "2019 Winter"
    authors: list[dict] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    publication_types: list[str] = field(default_factory=list)
    mesh: list[dict] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    doi: str | None = None
    pmcid: str | None = None
    citation_status: str | None = None  # MEDLINE, PubMed-not-MEDLINE, In-Process, Publisher...
    indexing_method: str | None = None  # Curated, Automated, Manual (None for older records)
    comments_corrections: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # GeneralNote texts
    is_book: bool = False
    date_revised: str | None = None  # YYYY-MM-DD, PubMed's last revision (DateRevised)
    # A digest of the record's bytes as they came (not part of its content): when a file is
    # read again, a record whose bytes are the same is known unchanged without parsing it.
    source_hash: str | None = field(default=None, compare=False)

    # ------------------------------------------------------------------ derived facts
    @property
    def is_retracted(self) -> bool:
        return RETRACTED_PUBLICATION in self.publication_types or any(
            link.get("type") in RETRACTION_LINKS for link in self.comments_corrections
        )

    @property
    def has_abstract(self) -> bool:
        return bool(self.abstract and self.abstract.strip())

    @property
    def mesh_terms(self) -> list[str]:
        """MeSH descriptor names, in record order."""
        return [m["descriptor"] for m in self.mesh]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True, frozen=True)
class Unchanged:
    """A record read again whose bytes equal those stored: nothing to parse or write."""

    pmid: int


@dataclass(slots=True, frozen=True)
class Deletion:
    """A DeleteCitation entry: PubMed withdrew this PMID."""

    pmid: int


class RecordError(ValueError):
    """One record could not be read (for example it has no PMID); the file goes on."""

    def __init__(self, message: str, *, index: int | None = None, pmid: int | None = None):
        super().__init__(message)
        self.index = index
        self.pmid = pmid
