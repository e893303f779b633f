"""Literal hints for regular expressions: strings at least one of which every match contains.

A tagger with a hundred patterns can skip most of them on a given text by first checking, with
one Aho-Corasick pass over the text, whether any of a pattern's hints occurs; only then does the pattern
run, and only on the sentences where a hint stands. :func:`required_literals` reads the
pattern with Python's own regular-expression parser; where it cannot be sure (a pattern that
may match without any literal of two characters or more), it returns None and the pattern
always runs. The tests check that hinted and unhinted matching find the same things.
"""

from __future__ import annotations

from typing import Any

try:  # Python's parser for regular expressions (re._parser since 3.11)
    from re import _constants as C
    from re import _parser as P
except ImportError:  # pragma: no cover - other Pythons: no hints, every pattern runs
    P = C = None

MIN_LENGTH = 2
_ZERO_WIDTH = {"AT", "ASSERT", "ASSERT_NOT"}
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def _best(candidates: list[frozenset[str]]) -> frozenset[str] | None:
    """The most selective candidate: the one whose shortest string is longest, fewest alternatives."""
    usable = [c for c in candidates if c and min(len(x) for x in c) >= MIN_LENGTH]
    if not usable:
        return None
    return max(usable, key=lambda c: (min(len(x) for x in c), -len(c)))


def _sequence(items: Any) -> frozenset[str] | None:
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            run.append(chr(av))
            continue
        if name in _ZERO_WIDTH:
            continue  # consumes nothing: the literals on either side still touch
        flush()
        if name == "SUBPATTERN":
            found = _sequence(av[-1])
            if found:
                candidates.append(found)
        elif name == "BRANCH":
            options = [_sequence(alt) for alt in av[1]]
            if options and all(options):
                candidates.append(frozenset().union(*options))
        elif name in _REPEATS and av[0] >= 1:
            found = _sequence(av[2])
            if found:
                candidates.append(found)
        # anything else (a class of characters, any character, an optional part) breaks the run
    flush()
    return _best(candidates)


def required_literals(pattern: str) -> frozenset[str] | None:
    """Strings one of which any match of ``pattern`` must contain, or None when unsure."""
    if P is None:
        return None
    try:
        return _sequence(P.parse(pattern))
    except Exception:  # noqa: BLE001 - an unreadable pattern simply gets no hint
        return None


class HintScanner:
    """Finds where every hint of many patterns stands, in one pass over a text (Aho-Corasick)."""

    def __init__(self, hints: set[str]):
        import ahocorasick

        self.automaton = None
        if hints:
            self.automaton = ahocorasick.Automaton()
            for hint in sorted(hints):
                self.automaton.add_word(hint, (len(hint) - 1, hint))
            self.automaton.make_automaton()

    def positions(self, text: str, lo: int = 0, hi: int | None = None) -> dict[str, list[int]]:
        """Each hint found in text[lo:hi], with the offsets where it starts (overlaps included)."""
        found: dict[str, list[int]] = {}
        if self.automaton is None:
            return found
        for end, (back, hint) in self.automaton.iter(text, lo, len(text) if hi is None else hi):
            found.setdefault(hint, []).append(end - back)
        return found
