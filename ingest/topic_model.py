"""A learned complement to the topic rules: one logistic regression per topic.

The rules (ingest/data/taxonomy.toml) find the phrases, MeSH headings and design priors that
speak for each topic; whether a topic is a *subject* of the paper or a passing mention is a
judgement the rules make poorly (micro-F1 about 0.79 against the held-out set's majority
labels). This model makes that judgement from what the rules found (their score for every
topic) together with the record's words, MeSH headings and study design, learned from the
project's own labelled records: the demo set (ingest/data/demo, 300 synthetic records) and the
training set (ingest/data/dev, 800), each with the majority labels of three coders. It raises
topic micro-F1 on the held-out set (tests/fixtures/labelled, never trained on) to 0.881;
cross-validated on the demo set, 0.885-0.896 (three fold seeds). Trained on the demo set
alone it reached 0.844.

It is small (about 5,400 weighted features, stored as JSON), deterministic (the same
file gives the same answers), and explained: each topic it assigns comes with the rules'
evidence and the words that weighed most. Topics a user adds to the taxonomy, which the model
has not learned, are decided by the rules alone. Retrain with

    python -m ingest.topic_model train \\
        --xml ingest/data/demo/demo_sample.xml --labels ingest/data/demo/demo_labels_majority.csv \\
        --xml ingest/data/dev/dev_sample.xml --labels ingest/data/dev/dev_labels_majority.csv

(scikit-learn, in the dev extras, is needed to train, not to use the model). Its settings (C,
the threshold, words alone or with word pairs) were chosen by 5-fold cross-validation on the
demo set, the training set joining every fold's training part; the held-out set plays no part.
To repeat it (about a minute for each C, three seeds):

    python -m ingest.topic_model cv \\
        --xml ingest/data/demo/demo_sample.xml --labels ingest/data/demo/demo_labels_majority.csv \\
        --xml ingest/data/dev/dev_sample.xml --labels ingest/data/dev/dev_labels_majority.csv \\
        --c 10 --c 30 --threshold 0.4 --threshold 0.5 --seed 0 --seed 1 --seed 2 [--word-pairs]

Micro-F1 at threshold 0.5, fold seeds 0 / 1 / 2:

| features | C 10 | C 30 |
|---|---|---|
| words and adjacent word pairs (the model until 2026-11) | 0.888 / 0.886 / 0.878 | 0.888 / 0.888 / 0.880 |
| words | 0.889 / 0.893 / 0.880 | **0.892 / 0.896 / 0.885** |

Threshold 0.4 with words at C 30: 0.896 / 0.896 / 0.887. A second, sparse implementation of
the same fit over eight fold seeds agreed: words alone beat words and pairs on every seed
(C 10: mean 0.886 against 0.878), C 30 beat C 10 (0.890), and C 100 gained nothing more.
With the roles swapped (folds over the training set, the demo set joining; seeds 0 and 1)
words alone gained again (C 10: 0.932 / 0.933 against 0.929 / 0.926; C 30: 0.933 / 0.936)
and threshold 0.4 lost to 0.5 (0.931 / 0.934), so the model keeps 0.5. Most likely the word pairs
over-fitted: 1,100 records are few to weigh some 14,000 features; without them the model has
5,400. Earlier rounds found that lower thresholds, per-topic thresholds chosen inside
the training folds, and always keeping the topics the rules anchor (title, keywords, major
MeSH) all lost on both sets.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections import Counter
from itertools import chain, filterfalse, repeat
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import EvidenceError

if TYPE_CHECKING:
    from .evaluate import TopicScores
from .record import Article
from .textview import TOKEN, TextView

MODEL_FILE = Path(__file__).parent / "data" / "topic_model.json"
FORMAT = 1
THRESHOLD = 0.5
RULE_WEIGHT = 2.0  # how strongly the rules' topic scores count beside the words
C = 30.0           # inverse regularisation; chosen by 5-fold cross-validation on the development set
MIN_DF = 2         # a word must appear in two training records to become a feature
PRUNE = 0.2        # weights smaller than this are dropped from the stored model
CHUNK = 256        # records scored in one product (memory: about 150 features x topics x 8 bytes each)
WORD_PAIRS = False # adjacent word pairs as features as well as words: cross-validation said no (module docstring)
STOP = frozenset("""a an and are as at be by for from has have in is it its of on or that the their these this
to was were which with we our than not but been also""".split())


def text_features(article: Article, view: TextView, design: str | None, *,
                  word_pairs: bool = WORD_PAIRS) -> dict[str, float]:
    """Words (title counted twice, keywords, abstract), with ``word_pairs`` adjacent word pairs
    too, MeSH, design: log counts. What the model learns from; :meth:`TopicModel.encode` gives
    the same numbers for the features a model knows."""
    words = [w for w in TOKEN.findall(view.title) if w not in STOP] * 2
    words += [w for k in view.keywords for w in TOKEN.findall(k) if w not in STOP]
    words += [w for w in view.abstract_words[0] if w not in STOP]
    counts = Counter(words)
    if word_pairs:
        counts.update(f"{a} {b}" for a, b in zip(words, words[1:]))
    features = {w: 1.0 + math.log(n) for w, n in counts.items()}
    for heading in article.mesh:
        features["mesh:" + heading["descriptor"].lower()] = 1.0
    if design:
        features["design:" + design] = 1.0
    return features


def rule_features(scores: dict[str, float], topics: list[str]) -> np.ndarray:
    return np.array([min(scores.get(t, 0.0), 20.0) / 10.0 * RULE_WEIGHT for t in topics])


class TopicModel:
    def __init__(self, data: dict):
        if data.get("format") != FORMAT:
            raise ValueError(f"topic model format {data.get('format')!r}, expected {FORMAT}")
        self.topics: list[str] = data["topics"]
        self.features: list[str] = data["features"]
        self.index = {f: i for i, f in enumerate(self.features)}
        # the word pairs it knows, by their two words: no other pair need be written out (a model
        # trained without word pairs has none, and encode then forms none)
        self.pair_index = {tuple(f.split(" ", 1)): i for i, f in enumerate(self.features)
                           if " " in f and not f.startswith(("mesh:", "design:"))}
        self.idf = np.array(data["idf"], dtype=np.float64)
        # Weights are stored per topic as [feature index, weight] pairs (near-zero ones left out);
        # held as features x topics, so that a record's features are one take of rows.
        self.by_feature = np.zeros((len(self.features), len(self.topics)))
        for t, pairs in enumerate(data["weights"]):
            for i, w in pairs:
                self.by_feature[i, t] = w
        self.rule_weights = np.array(data["rule_weights"], dtype=np.float64)  # topics x topics
        self.intercepts = np.array(data["intercepts"], dtype=np.float64)
        self.meta = data.get("meta", {})
        blob = json.dumps(data, sort_keys=True).encode()
        self.digest = hashlib.sha256(blob).hexdigest()[:8]

    @classmethod
    def load(cls, path: str | Path = MODEL_FILE) -> "TopicModel | None":
        path = Path(path)
        if not path.exists():
            return None
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def encode(self, article: Article, view: TextView, design: str | None) -> tuple[np.ndarray, np.ndarray]:
        """The record as the model sees it: the indices of the features it knows, in the order
        :func:`text_features` meets them, and their TF-IDF values (unit length). The same
        numbers as ``text_features`` then :meth:`vector`, without writing out any feature name."""
        stop = STOP.__contains__
        words = list(filterfalse(stop, TOKEN.findall(view.title))) * 2
        for k in view.keywords:
            words += filterfalse(stop, TOKEN.findall(k))
        words += filterfalse(stop, view.abstract_words[0])
        known = self.index.get
        counts = Counter(map(known, words))  # None counts the words the model does not know
        if self.pair_index:
            counts.update(map(self.pair_index.get, zip(words, words[1:])))
        counts.pop(None, None)
        extra = {}
        for heading in article.mesh:
            i = known("mesh:" + heading["descriptor"].lower())
            if i is not None:
                extra[i] = 1.0
        if design:
            i = known("design:" + design)
            if i is not None:
                extra[i] = 1.0
        n, m = len(counts), len(extra)
        if not n + m:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = np.fromiter(chain(counts, extra), dtype=np.int64, count=n + m)
        vals = np.fromiter(chain(map(math.log, counts.values()), extra.values()), dtype=np.float64, count=n + m)
        vals[:n] += 1.0
        vals *= self.idf[idx]
        norm = math.sqrt(float(vals @ vals)) or 1.0
        return idx, vals / norm

    def vector(self, features: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """Indices and TF-IDF values (unit length) of the features the model knows."""
        n = len(features)
        ids = np.fromiter(map(self.index.get, features, repeat(-1)), dtype=np.int64, count=n)
        known = ids >= 0
        if not known.any():
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = ids[known]
        vals = np.fromiter(features.values(), dtype=np.float64, count=n)[known] * self.idf[idx]
        norm = math.sqrt(float(vals @ vals)) or 1.0
        return idx, vals / norm

    def predict_many(self, vectors: list[tuple[np.ndarray, np.ndarray]], scores: list[dict[str, float]],
                     explain: float = 0.0) -> list[dict[str, tuple[float, list[str]]]]:
        """For each record (from :meth:`encode` or :meth:`vector`) and each learned topic: the
        probability it is a subject, and the words that weighed most (for the topics whose
        probability reaches ``explain``; the others get none). One product per chunk of
        records: a record at a time, numpy's overhead outweighs the work."""
        out: list[dict[str, tuple[float, list[str]]]] = []
        for at in range(0, len(vectors), CHUNK):
            out += self._predict_chunk(vectors[at:at + CHUNK], scores[at:at + CHUNK], explain)
        return out

    def _predict_chunk(self, vectors: list[tuple[np.ndarray, np.ndarray]], scores: list[dict[str, float]],
                       explain: float) -> list[dict[str, tuple[float, list[str]]]]:
        n, topics = len(vectors), self.topics
        lengths = np.fromiter((len(idx) for idx, _ in vectors), dtype=np.int64, count=n)
        logits = np.array([rule_features(s, topics) for s in scores]).reshape(n, len(topics)) @ self.rule_weights.T
        logits += self.intercepts
        rows = np.zeros((0, len(topics)))  # each present feature's weight for each topic, times its value
        if lengths.sum():
            idx_all = np.concatenate([idx for idx, _ in vectors])
            rows = self.by_feature[idx_all]
            rows *= np.concatenate([vals for _, vals in vectors])[:, None]
            present = lengths > 0
            starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))[present]
            logits[present] += np.add.reduceat(rows, starts, axis=0)
        probs = (1.0 / (1.0 + np.exp(-logits))).tolist()
        offsets = np.concatenate(([0], np.cumsum(lengths))).tolist()
        out = []
        for r, (idx, _) in enumerate(vectors):
            record = {}
            for t, topic in enumerate(topics):
                p = probs[r][t]
                words: list[str] = []
                if len(idx) and p >= explain:
                    contributions = rows[offsets[r]:offsets[r + 1], t]
                    top = np.argsort(-contributions, kind="stable")[:3]
                    words = [self.features[idx[i]] for i in top if contributions[i] > 0.05]
                record[topic] = (p, words)
            out.append(record)
        return out


# --------------------------------------------------------------------------- training


Example = tuple[int, dict[str, float], dict[str, float], set[str]]  # pmid, text features, rule scores, gold topics


def read_examples(xmls: list[Path], label_files: list[Path], *, word_pairs: bool = WORD_PAIRS
                  ) -> tuple[list[str], list[Example]]:
    """The built-in topics, and the labelled records of XML files (each with its labels CSV)
    as the model learns from them."""
    from .design import DesignTagger
    from .evaluate import read_labels
    from .parse_xml import iter_xml
    from .topics import Taxonomy, TopicTagger

    rules = TopicTagger(Taxonomy(environment=False), model=None)  # the built-in taxonomy and rules only
    topics = list(rules.taxonomy.topics)
    designs = DesignTagger()
    if len(xmls) != len(label_files):
        raise ValueError("give one labels file for each XML file")
    rows: list[Example] = []
    for xml_path, labels_path in zip(xmls, label_files):
        gold = read_labels(labels_path, set(topics)).topics
        if gold is None:
            raise ValueError(f"{labels_path}: no topics column to learn from")
        with open(xml_path, "rb") as handle:
            for article in iter_xml(handle, str(xml_path)):
                if not isinstance(article, Article) or article.pmid not in gold:
                    continue
                view = TextView.of(article)
                design = designs.tag(article, view).study_type
                scores = {t.topic: t.score for t in rules.scores(article, view, design)}
                rows.append((article.pmid, text_features(article, view, design, word_pairs=word_pairs), scores,
                             gold[article.pmid]))
    return topics, rows


def fit(topics: list[str], rows: list[Example], *, c: float = C) -> dict:
    """Fit one logistic regression per topic (needs scikit-learn); the JSON-ready model, less its meta."""
    from sklearn.linear_model import LogisticRegression  # development dependency only
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    df = Counter(f for _, feats, _, _ in rows for f in feats)
    n = len(rows)
    features = sorted(f for f, k in df.items() if k >= MIN_DF)
    index = {f: i for i, f in enumerate(features)}
    idf = np.array([math.log((1 + n) / (1 + df[f])) + 1 for f in features])
    X = np.zeros((n, len(features) + len(topics)))
    for r, (_, feats, scores, _) in enumerate(rows):
        for f, v in feats.items():
            if f in index:
                X[r, index[f]] = v * idf[index[f]]
        norm = np.linalg.norm(X[r, :len(features)]) or 1.0
        X[r, :len(features)] /= norm
        X[r, len(features):] = rule_features(scores, topics)
    weights, rule_weights, intercepts = [], [], []
    with threadpool_limits(1):  # BLAS threads fighting over a busy 2-CPU machine made fitting many times slower
        for topic in topics:
            y = np.array([topic in g for _, _, _, g in rows])
            model = LogisticRegression(C=c, class_weight="balanced", solver="lbfgs", max_iter=5000).fit(X, y)
            weights.append(model.coef_[0][:len(features)])
            rule_weights.append(model.coef_[0][len(features):])
            intercepts.append(model.intercept_[0])
    W = np.array(weights)
    W[np.abs(W) < PRUNE] = 0.0  # weights this small move no decision: left out (tested)
    keep = np.abs(W).max(axis=0) > 0
    W = W[:, keep]
    return {
        "format": FORMAT,
        "topics": topics,
        "features": [f for f, k in zip(features, keep) if k],
        "idf": [round(float(v), 4) for v in idf[keep]],
        "weights": [[[int(i), round(float(row[i]), 4)] for i in np.flatnonzero(row)] for row in W],
        "rule_weights": [[round(float(v), 5) for v in row] for row in rule_weights],
        "intercepts": [round(float(v), 5) for v in intercepts],
    }


def train(xml: Path | list[Path], labels: Path | list[Path], *, c: float = C, word_pairs: bool = WORD_PAIRS) -> dict:
    """Fit the model on labelled records (needs scikit-learn): one or more XML files, each with
    its labels CSV. Returns the JSON-ready model."""
    xmls = [xml] if isinstance(xml, Path) else list(xml)
    label_files = [labels] if isinstance(labels, Path) else list(labels)
    topics, rows = read_examples(xmls, label_files, word_pairs=word_pairs)
    data = fit(topics, rows, c=c)
    data["meta"] = {"trained_on": ", ".join(f"{x.name} with {lab.name}" for x, lab in zip(xmls, label_files)),
                    "records": len(rows), "C": c, "rule_weight": RULE_WEIGHT, "min_df": MIN_DF,
                    "word_pairs": word_pairs}
    return data


def cross_validate(topics: list[str], scored: list[Example], extra: list[Example], *, c: float = C,
                   thresholds: tuple[float, ...] = (THRESHOLD,), seed: int = 0, folds: int = 5) -> dict[float, "TopicScores"]:
    """K-fold cross-validation over ``scored``: each fold is predicted by a model fitted on the
    other folds plus all of ``extra`` (the way the shipped model's C and threshold were chosen).
    Returns, for each threshold, the topic scores (evaluate.TopicScores) of the pooled predictions."""
    from .evaluate import score_topics

    order = list(range(len(scored)))
    np.random.default_rng(seed).shuffle(order)
    probabilities: dict[int, dict[str, float]] = {}
    for k in range(folds):
        held = set(order[k::folds])
        model = TopicModel(fit(topics, [r for i, r in enumerate(scored) if i not in held] + extra, c=c))
        rows = [scored[i] for i in sorted(held)]
        predicted = model.predict_many([model.vector(feats) for _, feats, _, _ in rows],
                                       [scores for _, _, scores, _ in rows], explain=2.0)
        for (pmid, _, _, _), found in zip(rows, predicted):
            probabilities[pmid] = {t: p for t, (p, _) in found.items()}
    gold = {pmid: g for pmid, _, _, g in scored}
    return {t: score_topics(gold, {pmid: {c for c, p in ps.items() if p >= t} for pmid, ps in probabilities.items()},
                            topics) for t in thresholds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.topic_model",
                                     description="Train the topic model, or cross-validate its settings.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    data = argparse.ArgumentParser(add_help=False)  # what both commands read
    data.add_argument("--xml", type=Path, required=True, action="append",
                      help="labelled records (repeatable; for cv, the first is the one scored)")
    data.add_argument("--labels", type=Path, required=True, action="append",
                      help="their labels CSV, one for each --xml, in the same order")
    data.add_argument("--word-pairs", action=argparse.BooleanOptionalAction, default=WORD_PAIRS,
                      help="adjacent word pairs as features as well as words (default: %(default)s)")
    t = sub.add_parser("train", parents=[data], help="fit the model on labelled records and write it as JSON")
    t.add_argument("--out", type=Path, default=MODEL_FILE)
    t.add_argument("--c", type=float, default=C)
    v = sub.add_parser("cv", parents=[data],
                       help="cross-validate C, the threshold and the features: K folds over one labelled set, "
                            "other sets joining every fold's training part; prints topic micro- and macro-F1")
    v.add_argument("--c", type=float, action="append", help=f"C to try (repeatable; default {C:g})")
    v.add_argument("--threshold", type=float, action="append",
                   help=f"decision threshold to try (repeatable; default {THRESHOLD:g})")
    v.add_argument("--seed", type=int, action="append", help="fold shuffle seed (repeatable; default 0)")
    v.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    if len(args.xml) != len(args.labels):
        parser.error("give one --labels for each --xml")
    if args.cmd == "cv" and args.folds < 2:
        parser.error("--folds must be 2 or more")
    try:
        return _run(args)
    except ImportError as exc:
        print(f"error: training needs scikit-learn, in the dev extras: pip install -e '.[dev]' ({exc})", file=sys.stderr)
    except (EvidenceError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    return 1


def _run(args: argparse.Namespace) -> int:
    if args.cmd == "train":
        model = train(args.xml, args.labels, c=args.c, word_pairs=args.word_pairs)
        args.out.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
        print(f"wrote {args.out}: {len(model['features'])} features, {len(model['topics'])} topics, "
              f"{model['meta']['records']} training records")
        return 0
    topics, scored = read_examples(args.xml[:1], args.labels[:1], word_pairs=args.word_pairs)
    if len(scored) < args.folds:
        raise ValueError(f"{args.labels[0]}: {len(scored)} labelled records in {args.xml[0]}, fewer than --folds {args.folds}")
    extra = read_examples(args.xml[1:], args.labels[1:], word_pairs=args.word_pairs)[1]
    print(f"{args.folds}-fold cross-validation over {len(scored)} records of {args.xml[0].name}"
          f" (+{len(extra)} training records in every fold), {'words and word pairs' if args.word_pairs else 'words'}")
    print("C        threshold  seed  micro-F1  precision  recall  macro-F1")
    for c in args.c or [C]:
        for seed in args.seed or [0]:
            scores = cross_validate(topics, scored, extra, c=c, thresholds=tuple(args.threshold or [THRESHOLD]),
                                    seed=seed, folds=args.folds)
            for threshold, s in scores.items():
                print(f"{c:<8g} {threshold:<10g} {seed:<5d} {s.micro_f1:.3f}     {s.micro_precision:.3f}      "
                      f"{s.micro_recall:.3f}   {s.macro_f1:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
