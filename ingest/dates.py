"""Publication dates as PubMed writes them, read to a year and a best ISO date.

PubMed's ``PubDate`` holds Year/Month/Day, or Year with a Season, or a free-form
``MedlineDate`` ("1998 Dec-1999 Jan", "2019 Winter", "2000 Spring-Summer", "1977-1978",
"2015 Nov 1-15"). MEDLINE text's ``DP`` field uses the same forms. The best date is the
first day the range covers; seasons map to the first month of a calendar quarter (Winter
January, Spring April, Summer July, Fall/Autumn October), since journals number seasonal
issues within the year printed on them. The raw string is always kept beside it.
"""

from __future__ import annotations

import re

MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
SEASONS = {"winter": 1, "spring": 4, "summer": 7, "fall": 10, "autumn": 10}

_YEAR = re.compile(r"(1[89]\d\d|2[01]\d\d)")
_TOKEN = re.compile(r"[A-Za-z]+|\d+")


def month_number(text: str | None) -> int | None:
    """'Dec', 'December', '12', '3' or a season name -> 1..12; otherwise None."""
    if not text:
        return None
    text = text.strip()
    if text.isdigit():
        n = int(text)
        return n if 1 <= n <= 12 else None
    key = text[:3].lower()
    if key in MONTHS:
        return MONTHS[key]
    return SEASONS.get(text.lower())


def best_date(year: int | None, month: int | None = None, day: int | None = None) -> str | None:
    if year is None:
        return None
    month = month or 1
    day = day if day and 1 <= day <= 31 else 1
    if month == 2 and day > 28:
        day = 28
    elif month in (4, 6, 9, 11) and day > 30:
        day = 30
    return f"{year:04d}-{month:02d}-{day:02d}"


def parse_free_date(raw: str | None) -> tuple[int | None, str | None]:
    """A MedlineDate / DP string -> (year, best ISO date). Unreadable -> (None, None).

    >>> parse_free_date("1998 Dec-1999 Jan")
    (1998, '1998-12-01')
    >>> parse_free_date("2019 Winter")
    (2019, '2019-01-01')
    >>> parse_free_date("2015 Nov 1-15")
    (2015, '2015-11-01')
    """
    if not raw:
        return None, None
    match = _YEAR.search(raw)
    if not match:
        return None, None
    year = int(match.group(1))
    # Read month and day only from the tokens right after the first year.
    month = day = None
    for token in _TOKEN.findall(raw[match.end():]):
        if token.isdigit():
            if len(token) == 4:  # the next year of a range: stop
                break
            if month is None and 1 <= int(token) <= 12:
                month = int(token)
                continue
            if month is not None and day is None:
                day = int(token)
            break
        number = month_number(token)
        if number is None or month is not None:
            break
        month = number
    return year, best_date(year, month, day)
