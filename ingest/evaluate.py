"""How good are the taggers? Scores against a labels file, and agreement with PubMed's own labels.

``evaluate LABELS.csv`` re-tags the labelled records found in the database with the current
rules (``text_only`` hides publication types and MeSH) and scores: design accuracy, per-class
precision, recall and F1, macro-F1 and a confusion matrix; topic micro- and macro-F1 when
the file has a ``topics`` column; sample-size exact match when it has ``sample_size``; each
of accuracy, topic micro-F1 and exact match with a 95% bootstrap interval over the records.

``agreement`` compares the text-only tagger with the publication types that PubMed's
indexers gave the database's MEDLINE records, wherever a type maps to a design: a label set
every user already has, though not the truth (indexing has been automated since 2022).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from . import design_rules, store
from .errors import EvidenceError
from .record import Article
from .tagging import Tagger
from .taxonomy import DESIGN_CODES

# Where a record has several publication types that map to designs, the first in this order
# is PubMed's label for it (a trial reported as a letter is still a trial).
PUBMED_PRECEDENCE = (
    "other", "randomized_trial", "clinical_trial", "systematic_review", "observational",
    "case_report", "preclinical", "review", "commentary",
)


class LabelsError(EvidenceError):
    """The labels file cannot be used; the message names the file and the line."""


@dataclass
class Gold:
    study_type: dict[int, str] = field(default_factory=dict)
    topics: dict[int, set[str]] | None = None
    sample_size: dict[int, int | None] | None = None


def read_labels(path: str | Path, topic_codes: set[str]) -> Gold:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LabelsError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    reader = csv.DictReader(io.StringIO(text))
    columns = set(reader.fieldnames or [])
    if not {"pmid", "study_type"} <= columns:
        raise LabelsError(f"{path}: needs the columns pmid and study_type (it has: {', '.join(sorted(columns)) or 'none'})")
    gold = Gold(topics={} if "topics" in columns else None,
                sample_size={} if "sample_size" in columns else None)
    for line, row in enumerate(reader, start=2):
        pmid = (row.get("pmid") or "").strip()
        if not pmid.isdigit():
            raise LabelsError(f"{path} line {line}: pmid {pmid!r} is not a number")
        design = (row.get("study_type") or "").strip()
        if design not in DESIGN_CODES:
            raise LabelsError(f"{path} line {line}: study_type {design!r} is not one of {', '.join(DESIGN_CODES)}")
        gold.study_type[int(pmid)] = design
        if gold.topics is not None:
            codes = {t.strip() for t in (row.get("topics") or "").split(";") if t.strip()}
            unknown = codes - topic_codes
            if unknown:
                raise LabelsError(f"{path} line {line}: unknown topic code(s) {', '.join(sorted(unknown))}")
            gold.topics[int(pmid)] = codes
        if gold.sample_size is not None:
            size = (row.get("sample_size") or "").strip()
            if size and not size.isdigit():
                raise LabelsError(f"{path} line {line}: sample_size {size!r} is not a whole number")
            gold.sample_size[int(pmid)] = int(size) if size else None
    if not gold.study_type:
        raise LabelsError(f"{path}: no labelled records in it")
    return gold


def _f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


#: Resamples behind the 95% intervals that ``evaluate`` prints (seeded: the same labels and
#: tags always give the same interval).
RESAMPLES = 1000


def bootstrap_interval(rows: Sequence[Sequence[int]], statistic: Callable[[Sequence[int]], float], *,
                       resamples: int = RESAMPLES, seed: int = 0, level: float = 0.95) -> tuple[float, float] | None:
    """A percentile bootstrap interval over records: how far a score could move with another
    sample of records labelled the same way. ``rows`` holds one row of counts per record
    (for topics: true positives, false positives, false negatives); ``statistic`` turns the
    column sums of a resample into the score. None for fewer than two records."""
    import numpy as np

    if len(rows) < 2:
        return None
    counts = np.asarray(rows, dtype=np.int64)
    rng = np.random.default_rng(seed)
    scores = []
    for at in range(0, resamples, 100):  # a hundred resamples at a time: memory stays small
        picks = rng.integers(0, len(counts), size=(min(100, resamples - at), len(counts)))
        scores += [statistic(sums) for sums in counts[picks].sum(axis=1).tolist()]
    low, high = np.quantile(scores, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def _micro_f1(sums: Sequence[int]) -> float:
    return _f1(*sums)[2]


def _share(sums: Sequence[int]) -> float:
    return sums[0] / sums[1] if sums[1] else 0.0


def _interval_text(interval: tuple[float, float] | None) -> str:
    return f" (95% interval {interval[0]:.3f}-{interval[1]:.3f})" if interval else ""


@dataclass
class DesignScores:
    n: int
    accuracy: float
    per_class: dict[str, dict[str, float]]  # code -> precision, recall, f1, support
    macro_f1: float
    weighted_f1: float
    confusion: dict[str, Counter]  # gold -> predicted counts
    errors: list[tuple[int, str, str, str]]  # pmid, gold, predicted, evidence
    interval: tuple[float, float] | None = None  # of the accuracy, by bootstrap over records


def score_designs(gold: dict[int, str], predicted: dict[int, str],
                  evidence: dict[int, str] | None = None) -> DesignScores:
    pmids = [p for p in gold if p in predicted]
    confusion: dict[str, Counter] = {code: Counter() for code in DESIGN_CODES}
    for p in pmids:
        confusion[gold[p]][predicted[p]] += 1
    per_class = {}
    for code in DESIGN_CODES:
        tp = confusion[code][code]
        fn = sum(confusion[code].values()) - tp
        fp = sum(confusion[g][code] for g in DESIGN_CODES) - tp
        precision, recall, f1 = _f1(tp, fp, fn)
        per_class[code] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    present = [c for c in DESIGN_CODES if per_class[c]["support"]]
    n = len(pmids)
    correct = sum(confusion[c][c] for c in DESIGN_CODES)
    errors = [(p, gold[p], predicted[p], (evidence or {}).get(p, "")) for p in pmids if gold[p] != predicted[p]]
    return DesignScores(
        n=n,
        accuracy=correct / n if n else 0.0,
        per_class=per_class,
        macro_f1=sum(per_class[c]["f1"] for c in present) / len(present) if present else 0.0,
        weighted_f1=sum(per_class[c]["f1"] * per_class[c]["support"] for c in present) / n if n else 0.0,
        confusion=confusion,
        errors=errors,
    )


@dataclass
class TopicScores:
    n: int
    micro_f1: float
    micro_precision: float
    micro_recall: float
    macro_f1: float
    per_topic: dict[str, dict[str, float]]
    interval: tuple[float, float] | None = None  # of the micro-F1, by bootstrap over records


def score_topics(gold: dict[int, set[str]], predicted: dict[int, set[str]], codes: list[str]) -> TopicScores:
    pmids = [p for p in gold if p in predicted]
    per_topic = {}
    total = Counter()
    for code in codes:
        tp = sum(1 for p in pmids if code in gold[p] and code in predicted[p])
        fp = sum(1 for p in pmids if code not in gold[p] and code in predicted[p])
        fn = sum(1 for p in pmids if code in gold[p] and code not in predicted[p])
        total.update(tp=tp, fp=fp, fn=fn)
        precision, recall, f1 = _f1(tp, fp, fn)
        per_topic[code] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    precision, recall, f1 = _f1(total["tp"], total["fp"], total["fn"])
    present = [c for c in codes if per_topic[c]["support"]]
    return TopicScores(len(pmids), f1, precision, recall,
                       sum(per_topic[c]["f1"] for c in present) / len(present) if present else 0.0, per_topic)


@dataclass
class SizeScores:
    stated: int          # labelled records that state a sample size
    exact: int           # of those, extracted exactly
    spurious: int        # records with no stated size for which one was extracted
    interval: tuple[float, float] | None = None  # of the exact match, by bootstrap over records

    @property
    def exact_match(self) -> float:
        return self.exact / self.stated if self.stated else 0.0


@dataclass
class Evaluation:
    labels: int
    found: int
    missing: list[int]
    design: DesignScores
    topics: TopicScores | None
    sizes: SizeScores | None
    text_only: bool
    tagger_version: str


def evaluate(db: sqlite_utils.Database, labels_path: str | Path, *, text_only: bool = False,
             taxonomy: str | None = None) -> Evaluation:
    tagger = Tagger(taxonomy, text_only=text_only)
    gold = read_labels(labels_path, set(tagger.taxonomy.topics))
    articles = {a.pmid: a for a in store.load_articles(db, gold.study_type)}
    missing = sorted(set(gold.study_type) - set(articles))
    labels = {pmid: tagger.tag(a) for pmid, a in articles.items()}
    design = score_designs(gold.study_type, {p: lab.design.study_type for p, lab in labels.items()},
                           {p: lab.design.evidence for p, lab in labels.items()})
    scored = [p for p in gold.study_type if p in labels]
    design.interval = bootstrap_interval(
        [(gold.study_type[p] == labels[p].design.study_type, 1) for p in scored], _share)
    topics = None
    if gold.topics is not None:
        found = {p: {t.topic for t in lab.topics} for p, lab in labels.items()}
        topics = score_topics(gold.topics, found, list(tagger.taxonomy.topics))
        topics.interval = bootstrap_interval(
            [(len(gold.topics[p] & found[p]), len(found[p] - gold.topics[p]), len(gold.topics[p] - found[p]))
             for p in scored if p in gold.topics], _micro_f1)
    sizes = None
    if gold.sample_size is not None:
        stated = exact = spurious = 0
        rows = []
        for pmid, lab in labels.items():
            want = gold.sample_size.get(pmid)
            got = lab.sample.value if lab.sample else None
            if want is not None:
                stated += 1
                exact += got == want
                rows.append((got == want, 1))
            elif got is not None:
                spurious += 1
        sizes = SizeScores(stated, exact, spurious, bootstrap_interval(rows, _share))
    return Evaluation(len(gold.study_type), len(articles), missing, design, topics, sizes, text_only, tagger.version)


# --------------------------------------------------------------------------- agreement


def pubmed_design(article: Article) -> str | None:
    """The design PubMed's publication types name for a record, if any type maps to one."""
    found = set()
    for pt in (p.lower() for p in article.publication_types):
        if pt in design_rules.NOTICE_PUBTYPES:
            found.add("other")
        elif pt in design_rules.PUBTYPES:
            found.add(design_rules.PUBTYPES[pt][0])
    for code in PUBMED_PRECEDENCE:
        if code in found:
            return code
    return None


@dataclass
class Agreement:
    medline: int                   # MEDLINE-indexed records in the database
    comparable: int                # of those, with a publication type that maps to a design
    agree: int
    by_method: dict[str, tuple[int, int]]  # indexing method -> (agree, comparable)
    confusion: dict[str, Counter]  # PubMed's design -> tagger's design
    disagreements: list[tuple[int, str, str, str]]  # pmid, pubmed, tagger, evidence

    @property
    def rate(self) -> float:
        return self.agree / self.comparable if self.comparable else 0.0


def agreement(db: sqlite_utils.Database, *, taxonomy: str | None = None) -> Agreement:
    """Text-only tagger vs PubMed's publication types, on the database's MEDLINE records."""
    tagger = Tagger(taxonomy, text_only=True)
    pmids = [r[0] for r in db.execute(
        "SELECT pmid FROM articles WHERE deleted = 0 AND citation_status = 'MEDLINE' ORDER BY pmid")]
    comparable = agree = 0
    by_method: dict[str, list[int]] = {}
    confusion: dict[str, Counter] = {}
    disagreements = []
    for article in store.load_articles(db, pmids):
        theirs = pubmed_design(article)
        if theirs is None:
            continue
        ours = tagger.tag(article).design
        comparable += 1
        same = ours.study_type == theirs
        agree += same
        method = article.indexing_method or "Curated (before 2022, or unstated)"
        counts = by_method.setdefault(method, [0, 0])
        counts[0] += same
        counts[1] += 1
        confusion.setdefault(theirs, Counter())[ours.study_type] += 1
        if not same:
            disagreements.append((article.pmid, theirs, ours.study_type, ours.evidence))
    return Agreement(len(pmids), comparable, agree, {k: tuple(v) for k, v in by_method.items()},
                     confusion, disagreements)


# --------------------------------------------------------------------------- reports


def format_evaluation(ev: Evaluation) -> str:
    d = ev.design
    out = [f"tagger {ev.tagger_version}{' (text only: publication types and MeSH hidden)' if ev.text_only else ''}",
           f"labelled records: {ev.labels}; found in the database: {ev.found}"
           + (f"; missing: {len(ev.missing)} (first: {', '.join(map(str, ev.missing[:5]))})" if ev.missing else ""),
           "",
           f"study design: accuracy {d.accuracy:.3f}{_interval_text(d.interval)}, macro-F1 {d.macro_f1:.3f}, "
           f"weighted F1 {d.weighted_f1:.3f} (n={d.n})",
           f"  {'design':<18} {'precision':>9} {'recall':>7} {'F1':>6} {'n':>5}"]
    for code, m in d.per_class.items():
        if m["support"] or any(d.confusion[g][code] for g in d.confusion):
            out.append(f"  {code:<18} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {int(m['support']):>5}")
    shown = [c for c in DESIGN_CODES if d.per_class[c]["support"] or any(d.confusion[g][c] for g in d.confusion)]
    abbrev = {c: c[:5] for c in shown}
    out += ["", "confusion matrix (rows: labelled, columns: tagged)",
            "  " + " " * 18 + "".join(f"{abbrev[c]:>6}" for c in shown)]
    for g in shown:
        out.append(f"  {g:<18}" + "".join(f"{d.confusion[g][p]:>6}" for p in shown))
    if ev.topics:
        t = ev.topics
        out += ["", f"topics: micro-F1 {t.micro_f1:.3f}{_interval_text(t.interval)}, "
                    f"precision {t.micro_precision:.3f}, recall {t.micro_recall:.3f}, "
                    f"macro-F1 {t.macro_f1:.3f} (n={t.n})"]
        for code, m in t.per_topic.items():
            if m["support"]:
                out.append(f"  {code:<20} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {int(m['support']):>5}")
    if ev.sizes:
        s = ev.sizes
        out += ["", f"sample size: exact match {s.exact_match:.3f}{_interval_text(s.interval)}, "
                    f"{s.exact}/{s.stated} records that state one; "
                    f"a size given where none is stated: {s.spurious}"]
    return "\n".join(out)


def format_agreement(ag: Agreement, limit: int = 20) -> str:
    out = [f"MEDLINE-indexed records: {ag.medline}; with a publication type that names a design: {ag.comparable}",
           f"text-only tagger agrees with PubMed's label on {ag.agree}/{ag.comparable} ({ag.rate:.1%})"]
    for method, (agree, n) in sorted(ag.by_method.items()):
        out.append(f"  {method}: {agree}/{n} ({agree / n:.1%})")
    if ag.confusion:
        out += ["", "PubMed's label -> tagger's design"]
        for theirs, counts in sorted(ag.confusion.items()):
            out.append(f"  {theirs:<18} " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    if ag.disagreements and not limit:
        out += ["", f"{len(ag.disagreements)} disagreements to review (--limit N lists them)"]
    elif ag.disagreements:
        out += ["", f"disagreements to review (first {min(limit, len(ag.disagreements))} of {len(ag.disagreements)}):"]
        for pmid, theirs, ours, why in ag.disagreements[:limit]:
            out.append(f"  PMID {pmid}: PubMed {theirs}, tagger {ours}: {why}")
    return "\n".join(out)


# --------------------------------------------------------------------------- several coders


@dataclass
class CoderAgreement:
    n: int
    design_agreement: float
    design_kappa: float
    topic_micro_f1: float
    size_agreement: float  # same value (or both empty) on records where either gives one
    size_n: int


def _kappa(a: list[str], b: list[str]) -> float:
    n = len(a)
    if not n:
        return 0.0
    observed = sum(x == y for x, y in zip(a, b)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    return (observed - expected) / (1 - expected) if expected < 1 else 1.0


def coder_agreement(first: Gold, second: Gold) -> CoderAgreement:
    """How far two sets of labels for the same records agree (Cohen's kappa for the design)."""
    pmids = sorted(set(first.study_type) & set(second.study_type))
    designs_a = [first.study_type[p] for p in pmids]
    designs_b = [second.study_type[p] for p in pmids]
    tp = fp = fn = 0
    if first.topics is not None and second.topics is not None:
        for p in pmids:
            a, b = first.topics.get(p, set()), second.topics.get(p, set())
            tp, fp, fn = tp + len(a & b), fp + len(b - a), fn + len(a - b)
    sizes = [(first.sample_size.get(p), second.sample_size.get(p)) for p in pmids] \
        if first.sample_size is not None and second.sample_size is not None else []
    stated = [(x, y) for x, y in sizes if x is not None or y is not None]
    return CoderAgreement(
        n=len(pmids),
        design_agreement=sum(x == y for x, y in zip(designs_a, designs_b)) / len(pmids) if pmids else 0.0,
        design_kappa=_kappa(designs_a, designs_b),
        topic_micro_f1=_f1(tp, fp, fn)[2],
        size_agreement=sum(x == y for x, y in stated) / len(stated) if stated else 0.0,
        size_n=len(stated),
    )


def combine_labels(golds: list[Gold]) -> Gold:
    """Majority labels of several coders: the design most give (the first coder breaks ties); a
    topic when more than half give it; a sample size when more than half give the same value
    (or the same 'none'), otherwise the first coder's."""
    first = golds[0]
    need = len(golds) // 2 + 1
    out = Gold(topics={}, sample_size={})
    for pmid in first.study_type:
        votes = Counter(g.study_type[pmid] for g in golds if pmid in g.study_type)
        top = max(votes.values())
        leaders = [d for d, v in votes.items() if v == top]
        out.study_type[pmid] = first.study_type[pmid] if first.study_type[pmid] in leaders else leaders[0]
        topic_votes = Counter(t for g in golds if g.topics is not None for t in g.topics.get(pmid, set()))
        out.topics[pmid] = {t for t, v in topic_votes.items() if v >= need}
        size_votes = Counter(g.sample_size.get(pmid) for g in golds if g.sample_size is not None)
        value, count = size_votes.most_common(1)[0] if size_votes else (None, 0)
        out.sample_size[pmid] = value if count >= need else first.sample_size.get(pmid)
    return out


def write_labels(gold: Gold) -> str:
    """Labels as the CSV that ``evaluate`` reads: pmid, study_type, topics, sample_size."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["pmid", "study_type", "topics", "sample_size"])
    for pmid in sorted(gold.study_type):
        size = (gold.sample_size or {}).get(pmid)
        writer.writerow([pmid, gold.study_type[pmid], ";".join(sorted((gold.topics or {}).get(pmid, set()))),
                         "" if size is None else size])
    return buffer.getvalue()


def format_coder_agreement(name: str, ag: CoderAgreement) -> str:
    return (f"{name}: {ag.n} records; design agreement {ag.design_agreement:.3f} (kappa {ag.design_kappa:.3f}); "
            f"topics micro-F1 {ag.topic_micro_f1:.3f}; sample size same value {ag.size_agreement:.3f} "
            f"(of {ag.size_n} records where either coder gives one)")
