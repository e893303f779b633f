"""The study-design tagger: one design per record, a confidence, and the evidence for it.

It reads everything a record offers: publication types (trusted by how they were assigned),
MeSH design headings, and the title and abstract, which carry the decision for records that
say only "Journal Article". The rules are data in :mod:`ingest.design_rules`; this module
only applies them. ``text_only=True`` hides publication types and MeSH, to measure the text
path alone (``kratom-evidence evaluate --text-only``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field

from . import design_rules as rules
from .record import Article
from .regexhint import Hint, HintScanner, required_hints
from .textview import TextView

VERSION = "design-rules-1"


def _fill(pattern: str) -> str:
    for name, value in rules.TERMS.items():
        pattern = pattern.replace("{" + name + "}", value)
    return pattern


_ANIMAL = re.compile(rf"\b{rules.TERMS['ANIMAL']}\b")
_HEDGE = re.compile(rules.HEDGES)
_RAND = re.compile(r"\b(?:randomi[sz]\w*|randomly (?:assigned|allocated|divided|distributed))")


@dataclass(frozen=True, eq=False)  # identity hashing: cues are keys on the hot path
class _Cue:
    design: str
    weight: float
    where: str
    pattern: re.Pattern
    why: str
    human: bool
    hedge: bool
    statement: bool
    hints: frozenset[Hint] | None  # one of these occurs in any match (None: always try the pattern)


_CUES = [
    _Cue(d, w, where, re.compile(_fill(p)), why, bool(opts.get("human")), bool(opts.get("hedge")),
         bool(opts.get("statement")), required_hints(_fill(p)))
    for d, w, where, p, why, opts in rules.TEXT_CUES
]
_TITLE_CUES = [c for c in _CUES if c.where in ("title", "text")]
_ABSTRACT_CUES = [c for c in _CUES if c.where in ("abstract", "text")]
_SCANNER = HintScanner({h for c in _CUES if c.hints for h in c.hints})
# Which cues a found hint makes worth trying (cues without hints are always tried).
_CUES_BY_HINT: dict[Hint, list[_Cue]] = {}
for _c in _CUES:
    for _h in _c.hints or ():
        _CUES_BY_HINT.setdefault(_h, []).append(_c)
_ORDER = {c: i for i, c in enumerate(_CUES)}
_UNHINTED_TITLE = [c for c in _TITLE_CUES if c.hints is None]
_UNHINTED_ABSTRACT = [c for c in _ABSTRACT_CUES if c.hints is None]


def _cue(why: str) -> _Cue:
    return next(c for c in _CUES if c.why == why)


_SECONDARY = _cue("a secondary analysis of trial data")
_EXISTING_SURVEY = _cue("analysis of existing national survey data")
_OWN_SURVEY = _cue("the authors ran a questionnaire")
_NOTICE = _cue("a correction or retraction notice")
_REVIEW_STATEMENT = {_cue("'this review' or 'this chapter'"), _cue("'we review/summarise the literature'"),
                     _cue("a review or overview in the title")}
_COMMENTARY_STATEMENT = {_cue("'in this commentary, we argue'"), _cue("comments on someone else's study")}
_SR_CUES = [c for c in _CUES if c.design == "systematic_review" and c.weight >= 4.0]
_OWN_CASE = [c for c in _CUES if c.design == "case_report" and c.weight >= 4.0 and not c.hedge]
_RCT_PUBTYPES = {"randomized controlled trial", "pragmatic clinical trial", "equivalence trial"}
_HUMAN_DOSING = {_cue("dosing of healthy volunteers"), _cue("participants given fixed doses"),
                 _cue("human pharmacokinetics"), _cue("a within-subject laboratory dosing study"),
                 _cue("measures of human drug exposure (Cmax, AUC)")}


@dataclass
class DesignTag:
    study_type: str
    confidence: float
    evidence: str
    scores: dict[str, float] = field(default_factory=dict)


@dataclass
class _Hit:
    design: str
    weight: float
    text: str  # what to show a reader
    order: int = 10_000  # the rule's place in design_rules, so equal weights always list alike


def _hedged(text: str, lo: int, hi: int, start: int, end: int) -> bool:
    """Does the design word at text[start:end] stand among words that make it literature?"""
    return bool(_HEDGE.search(text, max(lo, start - 60), min(hi, end + 90)))


class DesignTagger:
    """Apply the design rules to records. One instance serves any number of records."""

    version = VERSION

    def __init__(self, *, text_only: bool = False):
        self.text_only = text_only

    # ------------------------------------------------------------------ text
    def _text_hits(self, view: TextView) -> tuple[dict[_Cue, _Hit], set[str]]:
        hits: dict[_Cue, _Hit] = {}
        flags: set[str] = set()
        text, n = view.abstract, len(view.starts)
        bounds = [(view.starts[i], view.starts[i + 1] - 1 if i + 1 < n else len(text)) for i in range(n)]
        animal_cache: dict[int, bool] = {}

        def is_animal(i: int) -> bool:
            if i not in animal_cache:
                animal_cache[i] = bool(_ANIMAL.search(text, *bounds[i]))
            return animal_cache[i]

        title_animal = bool(_ANIMAL.search(view.title))
        for match in _RAND.finditer(view.title):
            flags.add("animal_randomisation" if title_animal else "randomised")
        for match in _RAND.finditer(text) if "random" in text else ():
            i = view.sentence_at(match.start())
            if is_animal(i):
                flags.add("animal_randomisation")
            elif not _hedged(text, *bounds[i], match.start(), match.end()):
                flags.add("randomised")

        def record(cue: _Cue, weight: float, place: str, phrase: str) -> None:
            best = hits.get(cue)
            if best is None or weight > best.weight:
                hits[cue] = _Hit(cue.design, weight, f'{place}: "{phrase}" ({cue.why})', _ORDER[cue])

        title_cues = set(_UNHINTED_TITLE)
        for hint in _SCANNER.positions(view.title):
            title_cues.update(c for c in _CUES_BY_HINT[hint] if c.where != "abstract")
        for cue in title_cues:
            if cue.human and title_animal:
                continue
            for match in cue.pattern.finditer(view.title):
                if cue.hedge and _hedged(view.title, 0, len(view.title), match.start(), match.end()):
                    continue
                record(cue, cue.weight * 1.5, "title", match.group(0))
                break
        if not text:
            return hits, flags
        for cue, matches in self._abstract_matches(view, bounds):
            for i, match in matches:
                if cue.human and is_animal(i):
                    continue
                if cue.hedge and _hedged(text, *bounds[i], match.start(), match.end()):
                    continue
                position = view.weights[i]
                factor = max(position, 1.0) if cue.statement else position
                record(cue, cue.weight * factor, "abstract", match.group(0))
                if factor >= 1.0:
                    break  # cannot do better than a full-weight match
        return hits, flags

    @staticmethod
    def _abstract_matches(view: TextView, bounds: list[tuple[int, int]]
                          ) -> list[tuple[_Cue, Iterator[tuple[int, re.Match]]]]:
        """The abstract's cues worth trying, each with its matches as (sentence, match): looked
        for only in the sentences holding one of the cue's hints (a cue without hints: the whole
        text). A cue's scans begin only when its matches are asked for."""
        text = view.abstract
        candidates: dict[_Cue, set[int]] = {}
        for hint, offsets in _SCANNER.positions(text).items():
            sentences = {bisect_right(view.starts, at) - 1 for at in offsets}
            for cue in _CUES_BY_HINT[hint]:
                if cue.where != "title":
                    candidates.setdefault(cue, set()).update(sentences)

        def whole(cue: _Cue) -> Iterator[tuple[int, re.Match]]:
            for match in cue.pattern.finditer(text):
                yield view.sentence_at(match.start()), match

        def within(cue: _Cue, sentences: set[int]) -> Iterator[tuple[int, re.Match]]:
            for i in sorted(sentences):
                for match in cue.pattern.finditer(text, *bounds[i]):
                    yield i, match

        return ([(cue, whole(cue)) for cue in _UNHINTED_ABSTRACT]
                + [(cue, within(cue, sentences)) for cue, sentences in candidates.items()])

    # ------------------------------------------------------------------ decision
    def tag(self, article: Article, view: TextView | None = None) -> DesignTag:
        view = view or TextView.of(article)
        hits, flags = self._text_hits(view)
        evidence: list[_Hit] = list(hits.values())
        pubtypes = {p.lower() for p in article.publication_types} if not self.text_only else set()

        for pt in pubtypes & rules.NOTICE_PUBTYPES.keys():
            return DesignTag("other", 0.99, f"PubMed marks it as {rules.NOTICE_PUBTYPES[pt]}", {"other": 99.0})
        if pubtypes:
            trust, how = rules.pubtype_trust(article.citation_status, article.indexing_method)
            for pt in pubtypes & rules.PUBTYPES.keys():
                design, weight, why = rules.PUBTYPES[pt]
                evidence.append(_Hit(design, weight * trust, f"{why} ({how})"))
        if not self.text_only:
            for heading in article.mesh:
                found = rules.MESH.get(heading["descriptor"].lower())
                if found:
                    evidence.append(_Hit(*found))
        if not article.has_abstract:
            evidence.append(_Hit("commentary", 2.0, "no abstract, as is usual for letters, editorials and news"))

        if _SECONDARY in hits:
            flags.add("secondary_analysis")
        if any(c in hits for c in _SR_CUES) and not any(c in hits for c in _OWN_CASE):
            flags.add("systematic_search")
        if _EXISTING_SURVEY in hits and _OWN_SURVEY not in hits:
            flags.add("existing_survey_data")
        if _NOTICE in hits:
            flags.add("notice")
        if _REVIEW_STATEMENT & hits.keys():
            flags.add("review_statement")
        if _COMMENTARY_STATEMENT & hits.keys() and "review_statement" not in flags:
            flags.add("commentary_statement")
        if len(_HUMAN_DOSING & hits.keys()) >= 2:
            flags.add("human_dosing")
        if "randomised" not in flags and not pubtypes & _RCT_PUBTYPES:
            flags.add("no_randomisation")

        scores: dict[str, float] = {}
        for hit in evidence:
            scores[hit.design] = scores.get(hit.design, 0.0) + hit.weight

        applied: list[str] = []
        for condition, design, silenced, factor, why in rules.OVERRIDES:
            if condition not in flags:
                continue
            moved = 0.0
            for other in silenced:
                if scores.get(other):
                    moved += scores[other] * (1 - factor)
                    scores[other] *= factor
            if condition == "no_randomisation":
                if not moved:
                    continue
                scores[design] = scores.get(design, 0.0) + moved  # the same cues, read as non-randomized
            elif condition == "human_dosing":
                if not moved:
                    continue
            else:
                scores[design] = scores.get(design, 0.0) + 4.0
            applied.append(why)

        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        if not ranked or ranked[0][1] < rules.MIN_SCORE:
            best = f" (strongest: {ranked[0][0]}, {ranked[0][1]:.1f})" if ranked else ""
            return DesignTag("other", 0.3, f"no design cue strong enough{best}", scores)
        top, top_score = ranked[0]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = round(min(0.99, top_score / (top_score + second + 1.5)), 2)
        reasons = sorted((h for h in evidence if h.design == top), key=lambda h: (-h.weight, h.order))
        parts = [why for why in applied if why][:1] + [h.text for h in reasons[:3]]
        return DesignTag(top, confidence, "; ".join(parts), scores)
