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
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError
from .record import Article
from .textview import TextView, normalise

BUILTIN_TAXONOMY = Path(__file__).parent / "data" / "taxonomy.toml"
VERSION = "topics-1"
STRONG, PLAIN = 2.0, 1.0
TITLE, KEYWORD = 2.0, 1.5
MESH, MESH_MAJOR = 2.5, 3.5
DEFAULT_THRESHOLD = 3.0
#: The abstract's sentences count up to this much for a topic: a subject discussed in every
#: sentence should not drown a second subject of the same paper.
ABSTRACT_CAP = float("inf")


def _phrase_pattern(phrases: list[str]) -> re.Pattern | None:
    """Whole-word, case-insensitive alternatives; '*' is any ending and '?' any one letter."""
    parts = []
    for phrase in sorted({normalise(p) for p in phrases if p.strip()}, key=len, reverse=True):
        body = re.escape(phrase).replace(r"\*", r"[\w-]*").replace(r"\?", r"\w")
        parts.append(body)
    if not parts:
        return None
    return re.compile(r"(?<![\w-])(?:" + "|".join(parts) + r")(?![\w-])")


@dataclass
class Topic:
    code: str
    label: str
    mesh: frozenset[str]
    strong: re.Pattern | None
    plain: re.Pattern | None
    unless: re.Pattern | None
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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"taxonomy file {path} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"taxonomy file {path}: {exc}") from exc
    tables = data.get("topic", [])
    settings = data.get("settings", {})
    if not isinstance(tables, list) or not isinstance(settings, dict):
        raise ConfigError(f"taxonomy file {path}: topics must be [[topic]] tables, settings a [settings] table")
    return tables, settings


class Taxonomy:
    """The built-in topics, extended by a user's file when one is given."""

    def __init__(self, extra: str | os.PathLike | None = None):
        extra = extra or os.environ.get("EVIDENCE_TAXONOMY") or None
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
                strong=_phrase_pattern(entry["strong"]),
                plain=_phrase_pattern(entry["phrases"]),
                unless=_phrase_pattern(entry["unless"]),
                threshold=entry["threshold"],
                prior=entry["prior"],
            )

    @property
    def labels(self) -> dict[str, str]:
        return {code: t.label for code, t in self.topics.items()}

    @property
    def version(self) -> str:
        return f"{VERSION}.{self.digest}"


def _masked(text: str, unless: re.Pattern | None) -> str:
    """Blank out the phrases that must not count (same length, so offsets hold)."""
    if unless is None or not text:
        return text
    return unless.sub(lambda m: " " * len(m.group(0)), text)


class TopicTagger:
    def __init__(self, taxonomy: Taxonomy | None = None):
        self.taxonomy = taxonomy or Taxonomy()

    @property
    def version(self) -> str:
        return self.taxonomy.version

    def tag(self, article: Article, view: TextView | None = None, design: str | None = None) -> list[TopicTag]:
        """The record's topics, strongest first. ``design`` (its study design) lets priors count."""
        view = view or TextView.of(article)
        mesh: dict[str, bool] = {}
        for heading in article.mesh:
            name = heading["descriptor"].lower()
            mesh[name] = mesh.get(name, False) or heading.get("major", False)
            for q in heading.get("qualifiers", []):
                mesh[f"{name}/{q['name'].lower()}"] = q.get("major", False)
        keywords = " | ".join(view.keywords)
        out: list[TopicTag] = []
        for topic in self.taxonomy.topics.values():
            score = 0.0
            anchored = False
            evidence: list[tuple[float, str]] = []
            for name in topic.mesh & mesh.keys():
                weight = MESH_MAJOR if mesh[name] else MESH
                anchored = anchored or mesh[name]
                score += weight
                evidence.append((weight, f"MeSH '{name}'"))
            for place, text, factor in (("title", view.title, TITLE), ("keyword", keywords, KEYWORD)):
                text = _masked(text, topic.unless)
                best = 0.0
                for pattern, weight in ((topic.strong, STRONG), (topic.plain, PLAIN)):
                    match = pattern.search(text) if pattern else None
                    if match and weight * factor > best:
                        best = weight * factor
                        phrase = match.group(0)
                if best:
                    score += best
                    anchored = anchored or best >= STRONG * factor
                    evidence.append((best, f'{place}: "{phrase}"'))
            if view.abstract:
                text = _masked(view.abstract, topic.unless)
                per_sentence: dict[int, tuple[float, str]] = {}
                for pattern, weight in ((topic.strong, STRONG), (topic.plain, PLAIN)):
                    if pattern is None:
                        continue
                    for match in pattern.finditer(text):
                        i = view.sentence_at(match.start())
                        value = weight * view.weights[i]
                        if value > per_sentence.get(i, (0.0, ""))[0]:
                            per_sentence[i] = (value, match.group(0))
                if per_sentence:
                    total = min(ABSTRACT_CAP, sum(v for v, _ in per_sentence.values()))
                    score += total
                    phrases = sorted(per_sentence.values(), key=lambda vp: -vp[0])
                    quoted = ", ".join(dict.fromkeys(f'"{p}"' for _, p in phrases[:3]))
                    evidence.append((total, f"abstract ({len(per_sentence)} sentences): {quoted}"))
            if design and topic.prior.get(design) and score:
                score += topic.prior[design]
                evidence.append((topic.prior[design], f"usual for a {design.replace('_', ' ')}"))
            if score >= topic.threshold:
                evidence.sort(key=lambda e: -e[0])
                out.append(TopicTag(topic.code, round(score, 2), "; ".join(e for _, e in evidence[:3]), anchored))
        out.sort(key=lambda t: (not t.anchored, -t.score))
        if out:
            # The paper's subjects: those it names up front, and those near its strongest topic.
            floor = max(t.score for t in out) * self.taxonomy.relative
            out = [t for t in out if t.anchored or t.score >= floor][: self.taxonomy.max_topics]
            out.sort(key=lambda t: -t.score)
        return out
