"""A record's text as the taggers read it: normalised once, split into weighted sentences.

Every tagger (design, topics, sample size) reads the same view, built once per record. Each
pattern runs once over the whole abstract; :meth:`TextView.sentence_at` maps a match back to
its sentence, so the cost grows with the number of patterns, not patterns times sentences.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import cached_property

from .record import Article

_TRANSLATE = str.maketrans({
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " ", "\u2009": " ",
    "\u202f": " ",
})
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[\"'(\[]?[A-Za-z0-9])")
#: Words as the phrase matchers see them: runs of letters and digits; a hyphenated compound
#: ("pain-related", "self-administration") is one word, so "pain" does not match inside it.
TOKEN = re.compile(r"[^\W_]+(?:-[^\W_]+)*")

#: How much a design or topic word counts by where it stands. Background sentences and
#: conclusions speak of other studies and of what is needed; methods say what was done.
SECTION_WEIGHTS = {"BACKGROUND": 0.5, "OBJECTIVE": 0.9, "METHODS": 1.2, "RESULTS": 1.0, "CONCLUSIONS": 0.6}
UNSTRUCTURED_FIRST = 0.6   # the opening sentence of an unstructured abstract
UNSTRUCTURED_LAST = 0.7    # its closing sentence

# Section labels authors use, read as NLM's categories when a record gives none (MEDLINE text).
_LABEL_CATEGORY = [
    (re.compile(r"background|introduction|context|rationale|importance"), "BACKGROUND"),
    (re.compile(r"aim|objective|purpose|question|goal"), "OBJECTIVE"),
    (re.compile(r"method|design|setting|participant|measure|intervention|case|patient|procedure|"
                r"material|data source|search|selection|extraction"), "METHODS"),
    (re.compile(r"result|finding|outcome"), "RESULTS"),
    (re.compile(r"conclusion|discussion|interpretation|implication|relevance|significance|summary"), "CONCLUSIONS"),
]


def normalise(text: str | None) -> str:
    """Lower case, one kind of dash and quote, white space folded."""
    return " ".join((text or "").translate(_TRANSLATE).lower().split())


def section_category(section: dict) -> str | None:
    if section.get("category") and section["category"] != "UNASSIGNED":
        return section["category"]
    label = (section.get("label") or "").lower()
    if label:
        for pattern, category in _LABEL_CATEGORY:
            if pattern.search(label):
                return category
    return None


@dataclass
class TextView:
    title: str
    abstract: str                  # normalised sentences joined by single spaces
    starts: list[int]              # offset of each sentence in ``abstract``
    weights: list[float]           # how much each sentence's words count
    keywords: list[str] = field(default_factory=list)
    original: str = ""             # the abstract as written (for quoting numbers and phrases)
    _spans: dict[int, list[int]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, article: Article) -> "TextView":
        sections = article.abstract_sections or (
            [{"label": None, "category": None, "text": article.abstract}] if article.abstract else [])
        categories = [section_category(sec) for sec in sections]
        structured = any(categories)
        parts: list[str] = []
        starts: list[int] = []
        weights: list[float] = []
        offset = 0
        for sec, category in zip(sections, categories):
            sentences = [s for s in _SENTENCE_END.split(normalise(sec["text"])) if s]
            n = len(sentences)
            for i, sentence in enumerate(sentences):
                if structured:
                    weight = SECTION_WEIGHTS.get(category or "", 1.0)
                elif n >= 3 and i == 0:
                    weight = UNSTRUCTURED_FIRST
                elif n >= 3 and i == n - 1:
                    weight = UNSTRUCTURED_LAST
                else:
                    weight = 1.0
                starts.append(offset)
                weights.append(weight)
                parts.append(sentence)
                offset += len(sentence) + 1
        return cls(
            title=normalise(article.title),
            abstract=" ".join(parts),
            starts=starts,
            weights=weights,
            keywords=[normalise(k) for k in article.keywords],
            original=" ".join((article.abstract or "").split()),
        )

    @cached_property
    def abstract_words(self) -> tuple[list[str], list[int], list[int]]:
        """Every word of the abstract, the sentence each stands in, and each sentence's first word.

        Where a word stands in the text is worked out only when asked (:meth:`word_span`): the
        taggers need it for the few words they quote, not for the thousands they read.
        """
        words: list[str] = []
        sentence_of: list[int] = []
        first: list[int] = []
        text, starts, n = self.abstract, self.starts, len(self.starts)
        findall = TOKEN.findall
        for i in range(n):
            first.append(len(words))
            found = findall(text, starts[i], starts[i + 1] if i + 1 < n else len(text))
            words += found
            sentence_of += [i] * len(found)
        return words, sentence_of, first

    def word_span(self, k: int) -> tuple[int, int]:
        """Start and end offsets in ``abstract`` of word ``k`` of :attr:`abstract_words`."""
        words, sentence_of, first = self.abstract_words
        i = sentence_of[k]
        found = self._spans.setdefault(i, [])  # where the sentence's words start, as far as asked
        if len(found) <= k - first[i]:
            # Between one word and the next stand no letters or digits, so the next word's
            # text first occurs where the word begins: a search finds it without a pattern.
            find = self.abstract.find
            at = found[-1] + len(words[first[i] + len(found) - 1]) if found else self.starts[i]
            for word in words[first[i] + len(found):k + 1]:
                at = find(word, at)
                found.append(at)
                at += len(word)
        start = found[k - first[i]]
        return start, start + len(words[k])

    def sentence_at(self, offset: int) -> int:
        return bisect_right(self.starts, offset) - 1

    def sentence(self, index: int) -> str:
        start = self.starts[index]
        end = self.starts[index + 1] - 1 if index + 1 < len(self.starts) else len(self.abstract)
        return self.abstract[start:end]

    def sentences(self) -> list[str]:
        return [self.sentence(i) for i in range(len(self.starts))]
