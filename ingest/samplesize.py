"""Sample size: how many human participants the abstract says the study included.

Only for designs with participants of their own (randomized and other trials, observational
studies, surveys, qualitative studies, case reports); reviews, laboratory and chemistry
papers and commentaries have none. The number is the one the study *included*: enrolled,
randomised, the respondents analysed, the cases identified; not the number screened, invited
or contacted, not the completers of a trial, not a subgroup. Case-control studies count cases
and controls. A case report of one patient is 1; "we describe three patients" is 3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .taxonomy import HUMAN_DESIGNS
from .textview import TextView

VERSION = "samplesize-2"  # 2: the phrase begins at a word

_UNITS = (
    r"participants?|patients?|respondents?|adults?|users?|people|persons?|individuals?|subjects?|"
    r"volunteers?|women|men|mothers?|infants?|neonates?|newborns?|babies|children|adolescents?|youths?|"
    r"students?|undergraduates?|veterans?|clinicians?|physicians?|doctors?|pharmacists?|nurses?|"
    r"providers?|practitioners?|prescribers?|professionals|members|consumers?|customers?|residents?|"
    r"farmers?|villagers?|workers?|labou?rers?|cases?|controls?|decedents?|deaths?|fatalities|exposures?|"
    r"reports?|calls?|enquiries|inquiries|admissions|encounters|pregnancies|dyads|pairs|clients?|"
    r"interviewees?|informants?|smokers?|drivers?|athletes?|inmates?|prisoners?|"
    r"tappers?|attendees?|visitors?|authors?|posters?|redditors?|accounts?|"
    r"men and women|males?|females?|boys?|girls?|couples?|households?|drinkers?|chewers?|vendors?|sellers?|"
    r"retailers?|shop owners?|owners?|managers?|stakeholders?|experts?|officials?|officers?|staff|employees?|"
    r"caregivers?|parents?|partners?|family members|non-?users|elders|leaders|spouses|siblings|brothers|sisters|"
    r"twins|friends|colleagues|fathers?|husbands?|wives|pharmacies|dispensers"
)
_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}
_SMALL_WORD = (r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|"
               r"six|seven|eight|nine))?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|"
               r"fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)")
_WORD_NUMBER = rf"(?:(?:(?:one|two|three|four|five|six|seven|eight|nine|a) hundred(?:(?: and)? {_SMALL_WORD})?)|{_SMALL_WORD})"
_NUMBER = rf"(?:\d{{1,3}}(?:[, ]\d{{3}})+|\d+|{_WORD_NUMBER})"
# "2,867 adult kratom users": a number, up to four describing words, a human unit.
_COUNT = re.compile(
    rf"(?<![\w.,-])(?P<n>{_NUMBER})(?P<mods>(?: (?!(?:and|or|of|to|per|in|at|with|from|by|for|who|which|that|were|"
    rf"was|had|have|than|after|before|during|over|under|on|did|the|a|an|as|mg|g|kg|ml|mcg|µg|ng|mmol|mg/kg|"
    rf"mg/day|g/day|times|fold|years?|months?|weeks?|days?|hours?|minutes?)\b)[\w'-]+){{0,4}}?) "
    rf"(?P<unit>{_UNITS})\b"
)
_N_EQUALS = re.compile(r"\b[nN] ?[=:] ?(?P<n>\d{1,3}(?:[, ]\d{3})+|\d+)(?![\d.%])")
_CASE_CONTROL = re.compile(
    rf"(?P<a>{_NUMBER}) (?:[\w'-]+ ){{0,3}}?(?:cases?|patients?|users?|participants?|infants?|neonates?|people|"
    rf"men|women|adults)(?:[^.;]{{0,90}}?)\b(?:and|with|versus|vs\.?|compared with) (?P<b>{_NUMBER}) "
    rf"(?:[\w'-]+ ){{0,3}}?(?:controls?|comparisons?|comparators?|non-?users|unexposed|matched|"
    rf"comparison (?:infants|participants|patients))"
)
# "37 kratom-exposed and 74 unexposed infants": two groups of the same people, summed.
_GROUP_WORD = r"(?:[\w]+-[\w-]+|male|female|current|former|daily|regular|exposed|unexposed|healthy|occasional|heavy|light)"
_PAIR_SAME_UNIT = re.compile(
    rf"(?P<a>{_NUMBER}) (?:{_GROUP_WORD} ){{0,2}}and (?P<b>{_NUMBER}) (?:[\w'-]+ ){{0,2}}?(?P<unit>{_UNITS})\b"
)
# "301 completed an anonymous questionnaire", "64 who used kratom daily ... were randomised".
_VERB_COUNT = re.compile(
    rf"(?<![\w.,-])(?P<n>{_NUMBER})(?: (?:of (?:them|these)|\([^)]*\)))?(?: (?:who|that|with|admitted|aged|"
    rf"meeting|reporting|from|attending|recruited|selected|living|using|referred|presenting) [^.;]{{0,160}}?"
    rf"| completed (?:it|them) and)? "
    rf"(?:(?:were|was) (?:randomi[sz]ed|randomly (?:assigned|allocated)|enrol+ed|included|recruited|interviewed|"
    rf"analy[sz]ed|surveyed|treated|studied|followed)|in total|did so|responded|took part|participated|"
    rf"received|underwent|met (?:the )?(?:inclusion|eligibility|study) criteria|answered|returned (?:the|a|an|usable|complete)|"
    rf"completed (?:the |an |a )?(?:[\w-]+ ){{0,3}}?(?:survey|questionnaire|interview|core items|items))\b"
)
_PAIR_COMPARED = re.compile(
    rf"(?P<a>{_NUMBER}) (?:[\w'-]+ ){{0,3}}?(?P<unit>{_UNITS})\b[^.;]{{0,80}}?\b(?:compared with|versus|vs\.?) "
    rf"(?P<b>{_NUMBER}) (?:[\w'-]+ ){{0,3}}?(?:{_UNITS})\b"
)
_CASES = re.compile(rf"(?:\bcases were (?P<a1>{_NUMBER})|(?P<a2>{_NUMBER}) (?:[\w'-]+ ){{0,2}}?cases\b)")
_CONTROLS = re.compile(rf"(?P<b>{_NUMBER}) (?:[\w'-]+ ){{0,2}}?(?:matched )?controls\b")
_SINGLE_PATIENT = re.compile(
    r"\b(?:a|an|one|this|our)\s+(?:[\w-]+\s+){0,3}?\d{1,3}[- ](?:year|month|week|day)s?[- ]old\b"
    r"|\b(?:a|an|one|this|our) (?:previously (?:healthy|well) |healthy |otherwise healthy |young |elderly |pregnant )?"
    r"(?:term|preterm|male|female|young|middle-aged|elderly)\b[^.;]{0,40}\b(?:man|woman|boy|girl|patient|"
    r"infant|neonate|newborn|male|female|adolescent|veteran|mother|person|individual)\b"
)
_INCLUDED = re.compile(
    r"\b(?:enrol+ed|included|recruited|randomi[sz]ed|randomly (?:assigned|allocated)|analy[sz]ed|studied|"
    r"surveyed|interviewed|identified|comprised|consisted of|total of|sample of|sample comprised|data (?:from|on)|"
    r"reports? (?:from|of)|responses? (?:from|of)|received from|we (?:describe|report|present)|participated|"
    r"took part|responded|completed (?:the |an |a )?(?:online |web-based |anonymous |full |core )?(?:survey|"
    r"questionnaire|interview|items|core items)|did so|returned|agreed|were eligible and|consented|"
    r"involving|there were|we found|yielded|retrieved|extracted|detected in|found in|present in|"
    r"interviews? with|focus groups? with|conversations with|surveyed|sample included)\b"
)
_EXCLUDED = re.compile(
    r"\b(?:invited|contacted|approached|screened|assessed for eligibility|eligible|excluded|declined|"
    r"lost to follow-up|withdrew|dropped out|planned|will be|target(?:ed|ing)?|aim(?:s|ed)? to|expected|"
    r"opened|started|accessed|visited|clicked|emailed|e-mailed|mailed|sent|approached|listed|registered|"
    r"population of|serving|catchment|approximately|about|nearly|almost|more than|over|under|fewer than|"
    r"per arm|per group|each|per cohort|in each|will|would|plan to|roughly|estimated|previous(?:ly)?|at least|"
    r"published|literature|prior reports?|reported in|described in|other)\b"
)
_SUBGROUP = re.compile(r"\b(?:of whom|of these|of them|among them|among these|including|whereas|while|"
                       r"of those|only|remaining|the other|another|a further|additional|subgroup|subset)\b")
# "Of 3,410 people who opened the survey, 2,867 completed it": the first number is the pool.
_POOL = re.compile(r"(?:^|[,;:(]\s*)(?:of|from)(?: the| all)?\s*$")
_SCREENING = re.compile(r"\b(?:screened|invited|opened|started|accessed|visited|clicked|approached|contacted|"
                        r"assessed|eligible|referred|who began|who entered|who consented)\b")
_COMPLETERS = re.compile(r"^\s*(?:\(\d[\d.]*%\)\s*)?(?:completed (?:the |all |both )?(?:[\w-]+ ){0,3}?(?:study|trial|"
                         r"follow-up|treatment|taper|course|programme|program|protocol|intervention|sessions?|"
                         r"period|weeks?|months?|days?|visits?|assessments?)|were lost|dropped|discontinued|withdrew|"
                         r"were excluded|were screened|were invited|were contacted|were assessed|"
                         r"did not|declined|refused)")
_TRAILING_BAD = re.compile(r"^\s*(?:per (?:arm|group|cohort)|in each|each|in (?:every )?(?:\d+|two|three|four|five|"
                           r"six|seven|eight|nine|ten)\b)")


@dataclass
class SampleSize:
    value: int
    phrase: str


def _to_int(text: str) -> int | None:
    text = text.lower().strip()
    digits = re.sub(r"[, ]", "", text)
    if digits.isdigit():
        return int(digits)
    total = 0
    for part in re.split(r"[- ]", text):
        if part in ("and", ""):
            continue
        if part == "hundred":
            total = max(total, 1) * 100
        elif part == "a":
            total += 1
        elif part in _WORDS:
            total += _WORDS[part]
        else:
            return None
    return total or None


def _is_year(text: str, before: str, mods: str = "") -> bool:
    """1998-2030 written as a bare number is a year, unless it directly counts people ("2019 respondents")."""
    if not re.fullmatch(r"(?:19[5-9]\d|20[0-3]\d)", text):
        return False
    return bool(mods.strip()) or bool(re.search(r"\b(?:in|during|since|from|between|of|by|and|to|the)\s*$", before))


# Where a count can start: a number in digits or words, not inside another number or word.
_NUMBER_START = re.compile(rf"(?<![\w.,-])(?:{_NUMBER})(?![\w])")


def _phrase(text: str, sentence_start: int, start: int, end: int) -> str:
    """The count with up to about 25 characters of its sentence before it, from a word's start."""
    begin = max(start - 25, sentence_start)
    while begin > sentence_start and (text[begin - 1].isalnum() or text[begin - 1] in "-'"):
        begin -= 1  # never begin inside a word
    return text[begin:end].strip()


class SampleSizeExtractor:
    version = VERSION

    def extract(self, view: TextView, design: str | None) -> SampleSize | None:
        if design not in HUMAN_DESIGNS or not view.abstract:
            return None
        text = view.abstract
        candidates: list[tuple[float, int, int, str]] = []  # (score, -position, value, phrase)

        def consider(value: int | None, start: int, end: int, bonus: float = 0.0) -> None:
            if not value or value > 5_000_000:
                return
            i = view.sentence_at(start)
            sentence_start = view.starts[i]
            before = text[max(sentence_start, start - 70):start]
            after = text[end:end + 60]
            # Samples are stated anywhere but the background (or a conclusion looking back at it).
            score = 1.5 + bonus - (0.5 if view.weights[i] < 0.6 else 0.0)
            clause = re.split(r"[,;:()]", before)[-1]  # the words before it in its own clause
            if _INCLUDED.search(clause[-45:]) or re.match(r"^\s*(?:\(\d[\d.]*%\)\s*)?(?:were|was|had|who)?\s*(?:enrol+ed|included|recruited|randomi[sz]ed|analy[sz]ed|interviewed|surveyed|identified|participated|took part|responded|completed (?:the |an |a )?(?:\w+ )?(?:survey|questionnaire|interview|core items)|did so|returned|met|agreed|provided)", after):
                score += 2.0
            planned = re.match(r"^\s*(?:[\w-]+ ){0,4}?(?:will|would|are to be|is to be|to be) ", after)
            if _EXCLUDED.search(clause[-45:]) or _COMPLETERS.match(after) or _TRAILING_BAD.match(after) or planned:
                score -= 3.0
            if _SUBGROUP.search(clause[-35:]):
                score -= 2.0
            if _POOL.search(before) and _SCREENING.search(text[end:end + 80].split(",")[0]):
                score -= 2.5
            if re.match(r"^\s*%", after):
                return
            if value == 1 and design != "case_report":
                score -= 2.0  # "at least one patient", "one respondent in five": not a sample
            candidates.append((score, -start, value, _phrase(text, sentence_start, start, end)))

        # Every pattern below begins with a number: try each only where a number starts.
        starts = [m.start() for m in _NUMBER_START.finditer(text)]

        def anchored(pattern: re.Pattern):
            for at in starts:
                m = pattern.match(text, at)
                if m:
                    yield m

        for m in anchored(_CASE_CONTROL):
            a, b = _to_int(m.group("a")), _to_int(m.group("b"))
            if a and b:
                consider(a + b, m.start(), m.end(), bonus=2.5)
        for m in anchored(_PAIR_SAME_UNIT):
            a, b = _to_int(m.group("a")), _to_int(m.group("b"))
            if a and b and not re.search(r"\b(?:between|from|aged|ages?)\s*$", text[max(0, m.start() - 12):m.start()]):
                consider(a + b, m.start(), m.end(), bonus=1.0)
        for m in anchored(_COUNT):
            raw = m.group("n")
            before = text[max(0, m.start() - 15):m.start()]
            if _is_year(raw, before, m.group("mods")) or re.search(r"[-/]\s*$", before):
                continue
            consider(_to_int(raw), m.start(), m.end())
        arms = {}
        for m in _N_EQUALS.finditer(text):
            arms.setdefault(view.sentence_at(m.start()), []).append(m)
        for matches in arms.values():
            for m in matches:  # two or more "n =" in one sentence are arm sizes, not the total
                consider(_to_int(m.group("n")), m.start(), m.end(), bonus=0.5 if len(matches) == 1 else -2.5)
        for m in anchored(_VERB_COUNT):
            if not _is_year(m.group("n"), text[max(0, m.start() - 15):m.start()], " in a clause"):
                consider(_to_int(m.group("n")), m.start(), m.end(), bonus=2.0)
        for m in anchored(_PAIR_COMPARED):
            a, b = _to_int(m.group("a")), _to_int(m.group("b"))
            if a and b:
                consider(a + b, m.start(), m.end(), bonus=1.5)
        if "case-control" in text or "case control" in text:
            cases = [_to_int(m.group("a1") or m.group("a2")) for m in _CASES.finditer(text)]
            controls = [(_to_int(m.group("b")), m) for m in _CONTROLS.finditer(text)]
            if cases and controls and cases[0] and controls[0][0]:
                m = controls[0][1]
                consider(cases[0] + controls[0][0], m.start(), m.end(), bonus=3.0)

        if design == "case_report":
            best = max(candidates, default=None)
            if best and best[0] >= 1.5 and best[2] <= 20:
                return SampleSize(best[2], best[3])
            single = _SINGLE_PATIENT.search(text)
            if single:
                return SampleSize(1, single.group(0))
            return None
        if not candidates:
            return None
        best = max(candidates)
        if best[0] < 1.5:
            return None
        return SampleSize(best[2], best[3])
