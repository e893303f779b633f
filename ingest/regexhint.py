r"""Literal hints for regular expressions: strings at least one of which every match contains.

A tagger with a hundred patterns can skip most of them on a given text by first checking, with
one Aho-Corasick pass over the text, whether any of a pattern's hints occurs; only then does the pattern
run, and only on the sentences where a hint stands. :func:`required_hints` reads the
pattern with Python's own regular-expression parser; where it cannot be sure (a pattern that
may match without any literal of two characters or more), it returns None and the pattern
always runs. A literal that the pattern puts right after ``\b`` must also start a word where
it stands, so "he" in ``\b(?:he|she)\b`` is not looked for inside "the". The tests check
that hinted and unhinted matching find the same things.
"""

from __future__ import annotations

from typing import Any, NamedTuple

try:  # Python's parser for regular expressions (re._parser since 3.11)
    from re import _constants as C
    from re import _parser as P
except ImportError:  # pragma: no cover - other Pythons: no hints, every pattern runs
    P = C = None

MIN_LENGTH = 2
_ZERO_WIDTH = {"AT", "ASSERT", "ASSERT_NOT"}
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


class Hint(NamedTuple):
    """A literal every match of some pattern contains; with ``word_start``, a match contains it
    where it starts a word (the character before it, if any, is not a word character)."""

    text: str
    word_start: bool = False


def _is_word(char: str) -> bool:
    r"""What ``\w`` matches in a str pattern: an alphanumeric character or the underscore."""
    return char.isalnum() or char == "_"


def _best(candidates: list[frozenset[Hint]]) -> frozenset[Hint] | None:
    """The most selective candidate: the one whose shortest string is longest, fewest alternatives."""
    usable = [c for c in candidates if c and min(len(h.text) for h in c) >= MIN_LENGTH]
    if not usable:
        return None
    return max(usable, key=lambda c: (min(len(h.text) for h in c), -len(c)))


def _sequence(items: Any, after_boundary: bool = False) -> frozenset[Hint] | None:
    r"""The best hint set for a parsed sequence; ``after_boundary``: it begins right after ``\b``."""
    candidates: list[frozenset[Hint]] = []
    run: list[str] = []
    boundary = after_boundary  # does the current position follow a \b (nothing consumed since)?
    run_at_boundary = False

    def flush() -> None:
        if run:
            text = "".join(run)
            # \b before a word character: the character before it is not one
            candidates.append(frozenset({Hint(text, run_at_boundary and _is_word(text[0]))}))
            run.clear()

    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            if not run:
                run_at_boundary = boundary
            run.append(chr(av))
            boundary = False
            continue
        if name in _ZERO_WIDTH:
            if name == "AT" and str(av) == "AT_BOUNDARY":
                boundary = True  # for what begins here (a literal here would go on the run instead)
            continue  # consumes nothing: the literals on either side still touch
        flush()
        if name == "SUBPATTERN":
            found = _sequence(av[-1], boundary)
            if found:
                candidates.append(found)
        elif name == "BRANCH":
            options = [_sequence(alt, boundary) for alt in av[1]]
            if options and all(options):
                candidates.append(frozenset().union(*options))
        elif name in _REPEATS and av[0] >= 1:
            found = _sequence(av[2], boundary)  # its first round begins here
            if found:
                candidates.append(found)
        # anything else (a class of characters, any character, an optional part) breaks the run
        boundary = False
    flush()
    return _best(candidates)


def required_hints(pattern: str) -> frozenset[Hint] | None:
    """Hints one of which any match of ``pattern`` must contain, or None when unsure."""
    if P is None:
        return None
    try:
        return _sequence(P.parse(pattern))
    except Exception:  # noqa: BLE001 - an unreadable pattern simply gets no hint
        return None


class HintScanner:
    """Finds where every hint of many patterns stands, in one pass over a text (Aho-Corasick).

    Hints are :class:`Hint` or plain strings (a string is a hint that may stand anywhere)."""

    def __init__(self, hints: set[Hint | str]):
        import ahocorasick

        self.automaton = None
        # per text: the hint found wherever the text stands, and the one found only at a word's start
        by_text: dict[str, list[Hint | str | None]] = {}
        for hint in hints:
            text, word_start = (hint, False) if isinstance(hint, str) else hint
            by_text.setdefault(text, [None, None])[word_start] = hint
        if by_text:
            self.automaton = ahocorasick.Automaton()
            for text in sorted(by_text):
                anywhere, at_word_start = by_text[text]
                self.automaton.add_word(text, (len(text) - 1, anywhere, at_word_start))
            self.automaton.make_automaton()

    def positions(self, text: str, lo: int = 0, hi: int | None = None) -> dict[Hint | str, list[int]]:
        """Each hint found in text[lo:hi], with the offsets where it starts (overlaps included)."""
        found: dict[Hint | str, list[int]] = {}
        if self.automaton is None:
            return found
        for end, (back, anywhere, at_word_start) in self.automaton.iter(text, lo, len(text) if hi is None else hi):
            start = end - back
            if anywhere is not None:
                found.setdefault(anywhere, []).append(start)
            if at_word_start is not None:
                before = text[start - 1] if start else " "
                if not (before.isalnum() or before == "_"):  # _is_word, written out: this loop is hot
                    found.setdefault(at_word_start, []).append(start)
        return found
