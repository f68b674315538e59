"""Dates written in plain words ("beach in 2019", "last summer") turned into a date range.

A phrase is read as a date only when nothing else could be meant, so "summer dress",
"may flowers" or "march of the penguins" stay words for CLIP. Matching ignores case; a
phrase must stand as whole words (not inside "2019s", "tag:2019" or a quoted "...").

Understood (YEAR is four digits, 1800-2099; "in" may also be "from" or "during"):

- Years: "in 2019", "in the year 2019". A bare year is *not* a date ("1984 poster").
- Decades: "in the 1990s".
- Months with a year, spelt out or short: "July 2022", "in July 2022", "March 2020",
  "Mar 2020", "Sept. 2021", "May, 2020". Any month is a date when a year follows it.
- Months without a year: only behind "in", "last" or "this", and only spelt out
  ("in May", "last March", "this August"). "in May" is the latest May that has begun
  (this year's once May has started, else last year's); "last May" the latest May before
  the current month; "this May" this year's. A lone month word ("may", "march", "august
  rush") is never a date.
- Ranges: "from 2019 to 2021", "between March 2020 and June 2021", "from May 2020 until
  2022", "from 2019-2021": from the first period's start to the second one's end.
- Seasons, meteorological and for the northern hemisphere: spring is March-May, summer
  June-August, autumn (or fall) September-November, winter December-February.
  "summer 2021", "summer of 2021", "in the summer of 2021", "last summer", "this past
  summer", "this winter". "last SEASON" is the latest one that has ended; "this SEASON"
  the one under way, else this year's (winter: the one starting this December).
  "winter 2021" is not read (is it Jan-Feb 2021 or Dec 2021-Feb 2022?), nor "in summer"
  alone ("in summer dress").
- Relative days: "today", "yesterday", "this week", "last week" (weeks start on Monday),
  "this month", "last month", "this year", "last year", each optionally after "from".
  After "the" they are not dates: "the last year of school", "the last summer".
- Holidays with a year: "Christmas 2021", "at Christmas 2021", "Xmas 2021" (December
  24-26), "Christmas Eve 2021" (24th), "Christmas Day 2021" (25th); "last Christmas" and
  "this Christmas". "New Year 2020" (or "New Year's 2020") is the night 2020 began:
  31 Dec 2019 and 1 Jan 2020; "New Year's Eve 2019" (or "NYE 2019") the same night;
  "New Year's Day 2020" is 1 Jan 2020. "christmas tree" or "new year party" are not dates.

Dates are calendar days as the photo's clock showed them (``PhotoMeta.taken_local``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

Period = tuple[date, date]  # first day, and the day after the last one

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
          "october", "november", "december")
_SHORT = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
          "oct": 10, "nov": 11, "dec": 12}
_MONTH_NUMBER = {**{name: i for i, name in enumerate(MONTHS, 1)}, **_SHORT}
_SEASON_START = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}

# Whole words only: not after a letter, digit, apostrophe, colon, slash, hyphen or dot;
# not before one (a full stop ending the sentence is fine).
_L = r"(?<![\w'’:/.\-])"
_R = r"(?![\w'’/\-])(?![.:]\w)"
_IN = r"(?:(?:in|from|during)\s+)"
_YEAR = r"(1[89]\d\d|20\d\d)"
_FULL = "|".join(MONTHS)
_ANY_MONTH = "|".join(sorted(_MONTH_NUMBER, key=len, reverse=True))
_NOT_THE = r"(?<!the\s)"  # "the last year of school" is not last year


def _period(n: int) -> str:
    """A month with its year, or a year, as named groups m{n} / my{n} / y{n}."""
    return rf"(?:(?P<m{n}>{_ANY_MONTH})\.?,?\s+(?P<my{n}>1[89]\d\d|20\d\d)|(?P<y{n}>1[89]\d\d|20\d\d))"


def month_period(year: int, month: int) -> Period:
    start = date(year, month, 1)
    return start, date(year + month // 12, month % 12 + 1, 1)


def year_period(year: int) -> Period:
    return date(year, 1, 1), date(year + 1, 1, 1)


def season_period(season: str, year: int) -> Period:
    """The season beginning in ``year`` (winter 2023 runs from December 2023 into 2024)."""
    start = date(year, _SEASON_START[season], 1)
    return start, month_period(*_add_months(start, 2))[1]


def _add_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _last_season(season: str, today: date) -> Period:
    year = today.year
    while season_period(season, year)[1] > today:  # not over yet: the one before
        year -= 1
    return season_period(season, year)


def _this_season(season: str, today: date) -> Period:
    for year in (today.year - 1, today.year):
        start, end = season_period(season, year)
        if start <= today < end:
            return start, end
    return season_period(season, today.year)


def _named_month(month: int, relation: str, today: date) -> Period:
    if relation == "this":
        return month_period(today.year, month)
    if relation == "last":
        return month_period(today.year if month < today.month else today.year - 1, month)
    return month_period(today.year if month <= today.month else today.year - 1, month)  # "in May"


def _relative(unit: str, relation: str, today: date) -> Period:
    if unit == "week":
        monday = today - timedelta(days=today.weekday())
        start = monday if relation == "this" else monday - timedelta(days=7)
        return start, start + timedelta(days=7)
    if unit == "month":
        first = date(today.year, today.month, 1)
        return month_period(*_add_months(first, 0 if relation == "this" else -1))
    return year_period(today.year if relation == "this" else today.year - 1)


def _christmas(year: int, part: str | None = None) -> Period:
    if part == "eve":
        return date(year, 12, 24), date(year, 12, 25)
    if part == "day":
        return date(year, 12, 25), date(year, 12, 26)
    return date(year, 12, 24), date(year, 12, 27)


def _new_year(year: int, part: str | None) -> Period:
    """``year`` is the year that begins (New Year 2020) or, for the eve, the one ending."""
    if part == "day":
        return date(year, 1, 1), date(year, 1, 2)
    if part == "eve":
        year += 1
    return date(year - 1, 12, 31), date(year, 1, 2)


def _group_period(match: re.Match[str], n: int) -> Period:
    if match.group(f"y{n}"):
        return year_period(int(match.group(f"y{n}")))
    return month_period(int(match.group(f"my{n}")), _MONTH_NUMBER[match.group(f"m{n}").lower()])


def _range(match: re.Match[str], _today: date) -> Period:
    (a, b), (_c, d) = sorted([_group_period(match, 1), _group_period(match, 2)])
    return a, max(b, d)


def _lower(match: re.Match[str], name: str) -> str:
    return (match.group(name) or "").lower()


Resolver = Callable[[re.Match[str], date], Period]
_RULES: list[tuple[str, Resolver]] = [
    (rf"(?:from|between)\s+{_period(1)}(?:\s+(?:to|until|till|through|and)\s+|\s*[-–]\s*){_period(2)}",
     _range),
    (rf"{_IN}?(?P<m>{_ANY_MONTH})\.?,?\s+{_YEAR}",
     lambda m, _t: month_period(int(m.group(2)), _MONTH_NUMBER[_lower(m, "m")])),
    (rf"{_IN}(?:the\s+year\s+)?{_YEAR}", lambda m, _t: year_period(int(m.group(1)))),
    (rf"{_IN}the\s+(1[89]\d0|20\d0)['’]?s",
     lambda m, _t: (date(int(m.group(1)), 1, 1), date(int(m.group(1)) + 10, 1, 1))),
    (rf"(?:{_IN}(?:the\s+)?)?(?P<s>spring|summer|autumn|fall)\s+(?:of\s+)?{_YEAR}",
     lambda m, _t: season_period(_lower(m, "s"), int(m.group(2)))),
    (rf"{_IN}?{_NOT_THE}(?P<r>this\s+past|last|this|past)\s+(?P<s>spring|summer|autumn|fall|winter)",
     lambda m, t: (_this_season if _lower(m, "r") == "this" else _last_season)(_lower(m, "s"), t)),
    (rf"(?:{_NOT_THE}(?P<r>last|this)|in|from|during)\s+(?P<m>{_FULL})(?!,?\s+{_YEAR})",
     lambda m, t: _named_month(_MONTH_NUMBER[_lower(m, "m")], _lower(m, "r") or "in", t)),
    (rf"(?:from\s+)?{_NOT_THE}(?P<r>last|this)\s+(?P<u>week|month|year)",
     lambda m, t: _relative(_lower(m, "u"), _lower(m, "r"), t)),
    (r"(?:from\s+)?(?P<d>yesterday|today)",
     lambda m, t: (t - timedelta(days=1 if _lower(m, "d") == "yesterday" else 0),
                   t + timedelta(days=0 if _lower(m, "d") == "yesterday" else 1))),
    (rf"(?:(?:at|on|in|from|during)\s+)?(?:christmas|xmas)(?:\s+(?P<p>eve|day))?,?\s+{_YEAR}",
     lambda m, _t: _christmas(int(m.group(2)), m.group("p") and _lower(m, "p"))),
    (rf"(?:(?:at|on|from)\s+)?{_NOT_THE}(?P<r>last|this)\s+(?:christmas|xmas)",
     lambda m, t: _christmas(t.year if _lower(m, "r") == "this" or t >= date(t.year, 12, 27)
                             else t.year - 1)),
    (rf"(?:(?:at|on|from)\s+)?(?:new\s+year(?:['’]?s)?(?:\s+(?P<p>eve|day))?|(?P<nye>nye))\s+{_YEAR}",
     lambda m, _t: _new_year(int(m.group(3)), "eve" if m.group("nye") else m.group("p") and _lower(m, "p"))),
]
_PATTERNS = [(re.compile(_L + rule + _R, re.IGNORECASE), resolve) for rule, resolve in _RULES]


@dataclass(frozen=True)
class DatePhrase:
    start: int  # where the phrase is in the text searched
    end: int
    raw: str  # the words as written, "in July 2022"
    after: str  # "YYYY-MM-DD", the first day
    before: str  # "YYYY-MM-DD", the day after the last one

    @property
    def label(self) -> str:
        return period_label(self.after, self.before)


def find_date_phrases(text: str, today: date | None = None) -> list[DatePhrase]:
    """Every date phrase in ``text``, left to right, none overlapping (the longest wins)."""
    day = today or date.today()
    found: list[tuple[int, int, Period]] = []
    for pattern, resolve in _PATTERNS:
        found.extend((m.start(), m.end(), resolve(m, day)) for m in pattern.finditer(text))
    phrases: list[DatePhrase] = []
    for start, end, (first, after_last) in sorted(found, key=lambda f: (f[0], -f[1])):
        if phrases and start < phrases[-1].end:
            continue
        phrases.append(DatePhrase(start, end, text[start:end], first.isoformat(), after_last.isoformat()))
    return phrases


_SPEC = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def parse_period(spec: str) -> Period | None:
    """"2024" -> that year, "2024-07" -> that month, "2024-07-03" -> that day; None if not a date."""
    match = _SPEC.fullmatch(spec.strip())
    if not match:
        return None
    year, month, day = (int(g) if g else None for g in match.groups())
    try:
        if month is None:
            return year_period(year)  # type: ignore[arg-type]
        if day is None:
            return month_period(year, month)  # type: ignore[arg-type]
        first = date(year, month, day)  # type: ignore[arg-type]
        return first, first + timedelta(days=1)
    except (ValueError, OverflowError):  # month 13, 30 February, the day after 9999-12-31
        return None


def period_label(after: str, before: str) -> str:
    """The shortest way to write a range, in the form ``date:`` reads back: "2019", "2022-07",
    "2024-07-03", "2019..2021", "2023-06..2023-08" or "2021-12-24..2021-12-26" (last day included)."""
    first, last = date.fromisoformat(after), date.fromisoformat(before) - timedelta(days=1)
    end = last + timedelta(days=1)
    if (first.month, first.day, end.month, end.day) == (1, 1, 1, 1):
        return _span(str(first.year), str(last.year))
    if first.day == 1 and end.day == 1:
        return _span(first.isoformat()[:7], last.isoformat()[:7])
    return _span(first.isoformat(), last.isoformat())


def _span(first: str, last: str) -> str:
    return first if first == last else f"{first}..{last}"
