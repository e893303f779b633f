"""Topic tagging: zero or more topics per record, each with the evidence that assigned it.

The taxonomy is data (ingest/data/taxonomy.toml); a user extends it with their own TOML file
(``--taxonomy FILE`` or ``EVIDENCE_TAXONOMY``) without touching code. A topic is assigned when
the record makes it a substantive subject: named in the title or the author keywords, indexed
under one of its MeSH headings, or discussed in the abstract's methods and results rather
than in passing in the background.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, read_toml
from .record import Article
from .textview import TOKEN, TextView, normalise

BUILTIN_TAXONOMY = Path(__file__).parent / "data" / "taxonomy.toml"
VERSION = "topics-1"
STRONG, PLAIN = 2.0, 1.0
TITLE, KEYWORD = 2.0, 1.5
MESH, MESH_MAJOR = 2.5, 3.5
DEFAULT_THRESHOLD = 3.0
#: The abstract's sentences count up to this much for a topic: a subject discussed in every
#: sentence should not drown a second subject of the same paper.
ABSTRACT_CAP = float("inf")


_PHRASE_PART = re.compile(r"[^\W_](?:[^\W_]|[*?]|-(?=[^\W_]))*|[*?]")


def phrase_parts(phrase: str) -> tuple[str, ...]:
    """A phrase as the words it must match: 'self-treat* opioid*' -> ('self-treat*', 'opioid*')."""
    return tuple(p for p in _PHRASE_PART.findall(normalise(phrase)) if p not in ("*", "?"))


class _Part:
    """One word of a phrase: exact, a prefix (trailing *), or a pattern ('?' is any one letter)."""

    __slots__ = ("text", "kind", "regex")

    def __init__(self, part: str):
        if "?" in part or "*" in part[:-1]:
            self.kind, self.text = "re", part
            self.regex = re.compile(re.escape(part).replace(r"\?", r"\w").replace(r"\*", r"\w*") + r"\Z")
        elif part.endswith("*"):
            self.kind, self.text, self.regex = "prefix", part[:-1], None
        else:
            self.kind, self.text, self.regex = "exact", part, None

    def matches(self, word: str) -> bool:
        if self.kind == "exact":
            return word == self.text
        if self.kind == "prefix":
            return word.startswith(self.text)
        return bool(self.regex.match(word))


CACHE_WORDS = 200_000  # the words whose phrases PhraseIndex remembers


class PhraseIndex:
    """All phrases of all topics, looked up word by word: one dictionary probe per word.

    ``entries`` are (topic, weight, phrase); weight 0 marks an ``unless`` phrase, which cancels
    the topic's other matches it overlaps.
    """

    def __init__(self, entries: list[tuple[str, float, str]]):
        self._cache: dict[str, list] = {}
        self.exact: dict[str, list[tuple[tuple[_Part, ...], str, float]]] = {}
        self.prefix: dict[str, list[tuple[tuple[_Part, ...], str, float]]] = {}
        for topic, weight, phrase in entries:
            parts = tuple(_Part(p) for p in phrase_parts(phrase))
            if not parts:
                continue
            first = parts[0]
            if first.kind == "exact":
                self.exact.setdefault(first.text, []).append((parts, topic, weight))
            else:
                key = re.split(r"[?*]", first.text)[0][:3]
                self.prefix.setdefault(key, []).append((parts, topic, weight))

    def _starting_with(self, word: str) -> list:
        """The phrases whose first word matches ``word``, as (length, topic, weight, the other
        words: exact ones as strings, the others as _Part), remembered: a vocabulary is small."""
        found = self._cache.get(word)
        if found is None:
            found = self.exact.get(word, [])
            bucket = self.prefix.get(word[:3])
            if bucket:
                found = found + [c for c in bucket if c[0][0].matches(word)]
            found = [(len(parts), topic, weight, tuple(p.text if p.kind == "exact" else p for p in parts[1:]))
                     for parts, topic, weight in found]
            self._cache[word] = found
        return found

    def find(self, words: list[str]) -> list[tuple[int, int, str, float]]:
        """(first word, last word + 1, topic, weight) of every phrase found in ``words``."""
        cache = self._cache
        get = cache.get
        looked_up = list(map(get, words))  # None for a word not met before
        if None in looked_up:
            missing = {word for word, known in zip(words, looked_up) if known is None}
            if len(cache) + len(missing) > CACHE_WORDS:
                cache.clear()  # an odd corpus: start again rather than grow without end
                missing = set(words)
            for word in missing:
                self._starting_with(word)
            looked_up = list(map(get, words))
        found = []
        n = len(words)
        for i, candidates in [(i, c) for i, c in enumerate(looked_up) if c]:
            for k, topic, weight, rest in candidates:
                if k == 1:
                    found.append((i, i + 1, topic, weight))
                    continue
                if i + k > n:
                    continue
                j = i + 1
                for part in rest:
                    word = words[j]
                    if not (word == part if part.__class__ is str else part.matches(word)):
                        break
                    j += 1
                else:
                    found.append((i, i + k, topic, weight))
        return found


def _resolve(found: list[tuple[int, int, str, float]]) -> list[tuple[int, int, str, float]]:
    """Drop the matches an 'unless' phrase of the same topic overlaps, and the unless matches."""
    blocked = [(a, b, t) for a, b, t, w in found if w == 0]
    if not blocked:
        return found
    return [(a, b, t, w) for a, b, t, w in found
            if w and not any(t == bt and a < bb and ba < b for ba, bb, bt in blocked)]


@dataclass
class Topic:
    code: str
    label: str
    mesh: frozenset[str]
    strong: list[str]
    plain: list[str]
    unless: list[str]
    threshold: float
    prior: dict[str, float]


@dataclass
class TopicTag:
    topic: str
    score: float
    evidence: str
    anchored: bool = False  # named in the title or keywords, or a major MeSH heading


def _merge(tables: list[dict]) -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for table in tables:
        code = table.get("code")
        if not code or not re.fullmatch(r"[a-z][a-z0-9_]*", code):
            raise ConfigError(f"taxonomy topic {code!r}: a code must be lower-case letters, digits and _")
        entry = merged.setdefault(code, {"code": code, "label": code, "mesh": [], "strong": [], "phrases": [],
                                         "unless": [], "threshold": DEFAULT_THRESHOLD, "prior": {}})
        for key in ("mesh", "strong", "phrases", "unless"):
            values = table.get(key, [])
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ConfigError(f"taxonomy topic {code!r}: {key} must be a list of strings")
            entry[key].extend(values)
        if "label" in table:
            entry["label"] = str(table["label"])
        if "threshold" in table:
            entry["threshold"] = float(table["threshold"])
        prior = table.get("prior", {})
        if not isinstance(prior, dict) or not all(isinstance(v, (int, float)) for v in prior.values()):
            raise ConfigError(f"taxonomy topic {code!r}: prior must map design codes to numbers")
        entry["prior"].update({k: float(v) for k, v in prior.items()})
    return merged


def _read(path: Path) -> tuple[list[dict], dict]:
    data = read_toml(path, "taxonomy file")
    tables = data.get("topic", [])
    settings = data.get("settings", {})
    if not isinstance(tables, list) or not isinstance(settings, dict):
        raise ConfigError(f"taxonomy file {path}: topics must be [[topic]] tables, settings a [settings] table")
    return tables, settings


class Taxonomy:
    """The built-in topics, extended by a user's file when one is given."""

    def __init__(self, extra: str | os.PathLike | None = None, *, environment: bool = True):
        if not extra and environment:
            extra = os.environ.get("EVIDENCE_TAXONOMY") or None
        sources = [BUILTIN_TAXONOMY] + ([Path(extra)] if extra else [])
        digest = hashlib.sha256()
        tables: list[dict] = []
        settings: dict = {}
        for path in sources:
            more, more_settings = _read(path)
            tables.extend(more)
            settings.update(more_settings)
            digest.update(path.read_bytes())
        try:
            self.relative = float(settings.get("relative", 0.0))
            self.max_topics = int(settings.get("max_topics", 99))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"taxonomy settings: relative must be a number, max_topics a whole number ({exc})") from exc
        self.path = Path(extra) if extra else None
        self.digest = digest.hexdigest()[:8]
        self.topics: dict[str, Topic] = {}
        for code, entry in _merge(tables).items():
            self.topics[code] = Topic(
                code=code,
                label=entry["label"],
                mesh=frozenset(m.lower() for m in entry["mesh"]),
                strong=entry["strong"],
                plain=entry["phrases"],
                unless=entry["unless"],
                threshold=entry["threshold"],
                prior=entry["prior"],
            )

        self.index = PhraseIndex(
            [(t.code, STRONG, p) for t in self.topics.values() for p in t.strong]
            + [(t.code, PLAIN, p) for t in self.topics.values() for p in t.plain]
            + [(t.code, 0.0, p) for t in self.topics.values() for p in t.unless]
        )

    @property
    def labels(self) -> dict[str, str]:
        return {code: t.label for code, t in self.topics.items()}

    @property
    def version(self) -> str:
        return f"{VERSION}.{self.digest}"


class TopicTagger:
    """Topics by the rules, decided by the learned model where it knows the topic.

    ``model="default"`` loads ingest/data/topic_model.json (see :mod:`ingest.topic_model`);
    ``model=None`` uses the rules alone.
    """

    def __init__(self, taxonomy: Taxonomy | None = None, model="default"):
        from .topic_model import TopicModel

        self.taxonomy = taxonomy or Taxonomy()
        self.model = TopicModel.load() if model == "default" else model

    @property
    def version(self) -> str:
        return self.taxonomy.version + (f".model-{self.model.digest}" if self.model else "")

    def _best(self, text: str) -> dict[str, tuple[float, str]]:
        """For a short text (title, keywords): each topic's best match weight and its words."""
        words = TOKEN.findall(text)
        best: dict[str, tuple[float, str]] = {}
        for a, b, topic, weight in _resolve(self.taxonomy.index.find(words)):
            if weight > best.get(topic, (0.0, ""))[0]:
                best[topic] = (weight, " ".join(words[a:b]))
        return best

    def tag(self, article: Article, view: TextView | None = None, design: str | None = None) -> list[TopicTag]:
        """The record's topics, strongest first. ``design`` (its study design) lets priors count."""
        return self.tag_many([(article, view or TextView.of(article), design)])[0]

    def tag_many(self, records: list[tuple[Article, TextView, str | None]]) -> list[list[TopicTag]]:
        """:meth:`tag` for a batch of (record, its view, its design): the learned model scores
        the whole batch at once."""
        if self.model is None:
            return [self.select(self.scores(article, view, design)) for article, view, design in records]
        from .topic_model import THRESHOLD

        raws = [{code: (score, anchored, evidence) for code, score, anchored, evidence in self._raw(article, view, design)}
                for article, view, design in records]
        learned = set(self.model.topics)
        predictions = self.model.predict_many(
            [self.model.encode(article, view, design) for article, view, design in records],
            [{code: score for code, (score, _, _) in raw.items()} for raw in raws], explain=THRESHOLD)
        out = []
        for (article, view, design), raw, probabilities in zip(records, raws, predictions):
            chosen = []
            for topic, (p, words) in probabilities.items():
                if p < THRESHOLD or topic not in self.taxonomy.topics:
                    continue
                why = f"learned model p={p:.2f}" + (f" ({', '.join(words)})" if words else "")
                score, anchored, evidence = raw.get(topic, (0.0, False, []))
                rule = self._evidence(view, evidence)  # the rules' evidence is written out only for chosen topics
                chosen.append((p, TopicTag(topic, score, f"{rule}; {why}" if rule else why, anchored)))
            chosen.sort(key=lambda pt: -pt[0])
            # Topics the model has not learned (a user's additions) are the rules' to decide.
            others = self.select([TopicTag(code, score, self._evidence(view, evidence), anchored)
                                  for code, (score, anchored, evidence) in raw.items() if code not in learned])
            out.append([t for _, t in chosen] + others)
        return out

    def select(self, scored: list[TopicTag]) -> list[TopicTag]:
        """The topics that reach their threshold; of those, the ones the record names up front
        and those near its strongest topic, at most ``max_topics``."""
        topics = self.taxonomy.topics
        out = [t for t in scored if t.score >= topics[t.topic].threshold]
        out.sort(key=lambda t: (not t.anchored, -t.score))
        if out:
            floor = max(t.score for t in out) * self.taxonomy.relative
            out = [t for t in out if t.anchored or t.score >= floor][: self.taxonomy.max_topics]
            out.sort(key=lambda t: -t.score)
        return out

    def scores(self, article: Article, view: TextView, design: str | None = None) -> list[TopicTag]:
        """Every topic with any evidence, with its score and evidence (before selection)."""
        return [TopicTag(code, score, self._evidence(view, evidence), anchored)
                for code, score, anchored, evidence in self._raw(article, view, design)]

    @staticmethod
    def _evidence(view: TextView, evidence: list[tuple[float, str | dict]]) -> str:
        """The three weightiest pieces of evidence, as text (abstract phrases quoted as written)."""
        evidence = sorted(evidence, key=lambda e: -e[0])[:3]
        out = []
        for _, item in evidence:
            if isinstance(item, dict):  # the abstract: per sentence, the strongest phrase
                phrases = sorted(item.values(), key=lambda vab: -vab[0])
                quoted = ", ".join(dict.fromkeys(
                    f'"{view.abstract[view.word_span(a)[0]:view.word_span(b - 1)[1]]}"' for _, a, b in phrases[:3]))
                item = f"abstract ({len(phrases)} sentences): {quoted}"
            out.append(item)
        return "; ".join(out)

    def _raw(self, article: Article, view: TextView, design: str | None = None
             ) -> list[tuple[str, float, bool, list[tuple[float, str | dict]]]]:
        """(topic, score, anchored, evidence) for every topic with any evidence; the abstract's
        evidence stays a table of sentences until :meth:`_evidence` writes it out."""
        mesh: dict[str, bool] = {}
        for heading in article.mesh:
            name = heading["descriptor"].lower()
            mesh[name] = mesh.get(name, False) or heading.get("major", False)
            for q in heading.get("qualifiers", []):
                mesh[f"{name}/{q['name'].lower()}"] = q.get("major", False)
        title = self._best(view.title)
        keywords = self._best(" | ".join(view.keywords))
        # Abstract: per topic, per sentence, the strongest phrase.
        words, sentence_of, _ = view.abstract_words
        per_topic: dict[str, dict[int, tuple[float, int, int]]] = {}
        for a, b, topic, weight in _resolve(self.taxonomy.index.find(words)):
            i = sentence_of[a]
            value = weight * view.weights[i]
            sentences = per_topic.setdefault(topic, {})
            if value > sentences.get(i, (0.0,))[0]:
                sentences[i] = (value, a, b)
        out: list[tuple[str, float, bool, list[tuple[float, str | dict]]]] = []
        for topic in self.taxonomy.topics.values():
            score = 0.0
            anchored = False
            evidence: list[tuple[float, str | dict]] = []
            for name in sorted(topic.mesh & mesh.keys()):
                weight = MESH_MAJOR if mesh[name] else MESH
                anchored = anchored or mesh[name]
                score += weight
                evidence.append((weight, f"MeSH '{name}'"))
            for place, found, factor in (("title", title, TITLE), ("keyword", keywords, KEYWORD)):
                if topic.code in found:
                    weight, phrase = found[topic.code]
                    score += weight * factor
                    anchored = anchored or weight >= STRONG
                    evidence.append((weight * factor, f'{place}: "{phrase}"'))
            sentences = per_topic.get(topic.code)
            if sentences:
                total = min(ABSTRACT_CAP, sum(v for v, _, _ in sentences.values()))
                score += total
                evidence.append((total, sentences))
            if design and topic.prior.get(design) and score:
                score += topic.prior[design]
                evidence.append((topic.prior[design], f"usual for a {design.replace('_', ' ')}"))
            if score > 0:
                out.append((topic.code, round(score, 2), anchored, evidence))
        return out
