"""Time as users write it: timestamps, ``since``/``until`` bounds, and time in questions.

Why one small module: memories arrive with times in every shape ("2023-05-08",
"1:56 pm on 8 May, 2023", "May 2023", an epoch number), and questions name times the
same loose way ("in June", "last week", "before 2022"). Everything that compares times
(the store's event times, fact validity, search windows) needs them as one sortable form:
naive UTC ISO strings (``2023-05-08T13:56:00``), which compare correctly as text in SQL
and Cypher alike.

A written time names a *period* as much as an instant: "May 2023" is the whole month. So
parsing returns the period (start inclusive, end exclusive); a timestamp's event time is
its start, a ``since`` bound its start, an ``until`` or ``as_of`` bound its end. Text that
names no date (a bare "13:56", "yesterday" as a timestamp) is not guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from graphmem.errors import InputError

_DEFAULT_A = datetime(2000, 1, 1, 0, 0, 0)
_DEFAULT_B = datetime(2004, 12, 28, 23, 59, 59)  # differs in every field from _DEFAULT_A


@dataclass(frozen=True)
class Window:
    """A half-open period ``[start, end)``; either side may be open (None)."""

    start: datetime | None = None
    end: datetime | None = None
    label: str = ""

    def contains(self, t: datetime) -> bool:
        return (self.start is None or t >= self.start) and (self.end is None or t < self.end)

    def iso(self) -> tuple[str | None, str | None]:
        return (iso(self.start) if self.start else None, iso(self.end) if self.end else None)


def iso(t: datetime) -> str:
    """The one stored form: naive UTC, seconds precision."""
    return t.isoformat(timespec="seconds")


def from_iso(text: str) -> datetime:
    """A stored time as naive UTC (older stores may hold offset-aware ones)."""
    return _naive_utc(datetime.fromisoformat(text))


def _naive_utc(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(tzinfo=None) if t.tzinfo else t


def _add_months(t: datetime, n: int) -> datetime:
    m = t.month - 1 + n
    return t.replace(year=t.year + m // 12, month=m % 12 + 1, day=1)


def period(value: Any) -> Window | None:
    """The period a written time names, or None if it names no date."""
    if isinstance(value, datetime):
        t = _naive_utc(value)
        return Window(t, t + timedelta(seconds=1))
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 1e8:  # not an epoch time: too small to be one after 1973
            return None
        t = datetime.fromtimestamp(float(value), UTC).replace(tzinfo=None)
        return Window(t, t + timedelta(seconds=1))
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        t = _naive_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
        if len(text) <= 10:  # a date
            return Window(t, t + timedelta(days=1))
        return Window(t, t + timedelta(seconds=1))
    except ValueError:
        pass
    if re.fullmatch(r"\d{4}-\d{2}", text):
        start = datetime(int(text[:4]), int(text[5:]), 1)
        return Window(start, _add_months(start, 1))
    from dateutil import parser

    try:
        a = parser.parse(text, fuzzy=True, default=_DEFAULT_A)
        b = parser.parse(text, fuzzy=True, default=_DEFAULT_B)
    except (ValueError, OverflowError, parser.ParserError):
        return None
    a, b = _naive_utc(a), _naive_utc(b)
    if a.year != b.year:  # no year given: not a date we can place
        return None
    if a.month != b.month:
        return Window(datetime(a.year, 1, 1), datetime(a.year + 1, 1, 1))
    if a.day != b.day:
        start = datetime(a.year, a.month, 1)
        return Window(start, _add_months(start, 1))
    if a.hour != b.hour:
        start = datetime(a.year, a.month, a.day)
        return Window(start, start + timedelta(days=1))
    return Window(a.replace(second=a.second if a.second == b.second else 0),
                  a + timedelta(minutes=1))


def event_time(timestamp: Any, fallback: str | None) -> str | None:
    """When something happened: the start of the period its timestamp names, else
    ``fallback`` (a memory added without a time happened when it was added; a document
    without a date has no event time, and time windows use its ingestion time)."""
    p = period(timestamp)
    if p is None or p.start is None:
        p = period(fallback)  # ingestion stamps are offset-aware: store them naive UTC
    return iso(p.start) if p is not None and p.start is not None else None


def bound(value: Any, name: str, end: bool) -> str | None:
    """A user's ``since`` (start of the period) or ``until``/``as_of`` (its end) bound.

    ``now`` is accepted; anything else that names no date is refused, never ignored."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lower() == "now":
        return iso(datetime.now(UTC).replace(tzinfo=None))
    p = period(value)
    if p is None:
        raise InputError(f"{name}={value!r} is not a time graphmem understands; give a date "
                         "such as 2023-05-08, 'May 2023', '8 May 2023 13:56' or an ISO time")
    return iso(p.end if end else p.start)  # type: ignore[arg-type]


# --- time in text ---------------------------------------------------------------------

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
_MON = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|" \
       r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
_WEEKDAY = r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?"
_NUM = r"(?:\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|few|several|couple of)"
_UNIT = r"(?:days?|weeks?|weekends?|months?|years?)"
_RELATIVE = re.compile(
    rf"\b(?:yesterday|today|tonight|tomorrow|"
    rf"(?:last|next|this|past|coming|previous)\s+(?:{_WEEKDAY}|week(?:end)?|month|year|night|"
    rf"morning|evening|summer|winter|spring|fall|autumn|time)|"
    rf"{_NUM}\s+{_UNIT}\s+(?:ago|back|earlier|before|later)|"
    rf"(?:in|on|during|since|from|until|by|before|after|of|early|late|mid)[\s-]+{_MON}\b|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+{_MON}\b|{_MON}\s+\d{{1,2}}(?:st|nd|rd|th)?\b|"
    rf"(?:19|20)\d\d|on\s+{_WEEKDAY})\b", re.I)
_ASKS_WHEN = re.compile(
    r"^\s*(?:when\b|what\s+(?:date|day|time|year|month|week)\b|which\s+(?:date|day|year|"
    r"month|week)\b|how\s+long\b|since\s+when\b|in\s+what\s+(?:year|month)\b)|"
    r"\b(?:when|what\s+date|how\s+long\s+ago)\b[^?]*\?\s*$", re.I)


def mentions_time(text: str) -> bool:
    """Does the text place something in time ("yesterday", "last week", "in May 2023")?

    Such a memory is what answers a "when" question: its event time plus the relative
    expression give the date."""
    return _RELATIVE.search(text) is not None


def asks_when(question: str) -> bool:
    """Is the question about a time ("When did...", "How long...", "What year...")?"""
    return _ASKS_WHEN.search(question) is not None


_MONTH_NUM = {m[:3]: i + 1 for i, m in enumerate(MONTHS)}
_WORD_NUM = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
             "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a few": 3, "few": 3,
             "several": 3, "couple of": 2}
_Q_DATE = re.compile(
    rf"\b(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>{_MON})|(?P<m2>{_MON})\s+"
    rf"(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\b)(?:,?\s+(?P<y1>(?:19|20)\d\d))?\b|"
    rf"\b(?P<pre>in|on|during|of|early|late|mid|since|before|after|until|by)[\s-]+"
    rf"(?P<m3>{_MON})(?:,?\s+(?P<y2>(?:19|20)\d\d))?\b|"
    rf"\b(?P<m4>{_MON})\s+(?P<y3>(?:19|20)\d\d)\b|"
    rf"\b(?P<iso>\d{{4}}-\d{{2}}(?:-\d{{2}})?)\b|"
    rf"\b(?P<y4>(?:19|20)\d\d)\b", re.I)
_Q_REL = re.compile(
    rf"\b(?:(?P<day>yesterday|today|tonight)|(?P<which>last|this|past|previous)\s+"
    rf"(?P<unit>week(?:end)?|month|year)|(?P<n>{_NUM})\s+(?P<unit2>{_UNIT})\s+ago)\b", re.I)
_Q_DIRECTION = re.compile(r"\b(before|after|since|until|by|prior to)\s+$", re.I)


def _month_window(month: int, year: int | None, anchor: datetime) -> Window:
    if year is None:  # "in June": the last June up to the anchor
        year = anchor.year if month <= anchor.month else anchor.year - 1
    start = datetime(year, month, 1)
    return Window(start, _add_months(start, 1))


def _direction(question: str, at: int, w: Window) -> Window:
    """"before May 2023" keeps what ended before it; "after"/"since" what came after."""
    m = _Q_DIRECTION.search(question[:at])
    if not m:
        return w
    word = m.group(1).lower()
    if word in ("before", "prior to"):
        return Window(None, w.start, w.label)
    if word in ("until", "by"):
        return Window(None, w.end, w.label)
    if word == "after":
        return Window(w.end, None, w.label)
    return Window(w.start, None, w.label)  # since


def question_window(question: str, anchor: datetime) -> Window | None:
    """The period a question names, resolved against ``anchor`` (the memory's latest
    event time, or ``as_of``): "in May 2023", "on 8 May", "last week", "3 days ago",
    "before 2022". None if it names none."""
    m = _Q_DATE.search(question)
    if m:
        g = m.groupdict()
        label = m.group(0).strip()
        if g["iso"]:
            w = period(g["iso"])
        elif g["y4"]:
            y = int(g["y4"])
            w = Window(datetime(y, 1, 1), datetime(y + 1, 1, 1))
        else:
            mon = g["m1"] or g["m2"] or g["m3"] or g["m4"]
            month = _MONTH_NUM[mon.lower()[:3]]
            year_s = g["y1"] or g["y2"] or g["y3"]
            day_s = g["d1"] or g["d2"]
            w = _month_window(month, int(year_s) if year_s else None, anchor)
            if day_s and w.start is not None:
                try:
                    start = w.start.replace(day=int(day_s))
                    w = Window(start, start + timedelta(days=1))
                except ValueError:
                    pass
            if g["pre"]:
                w = _direction(question, m.start("m3"), w)
        if w is not None:
            w = Window(w.start, w.end, label)
            return _direction(question, m.start(), w) if not g["pre"] else w
    m = _Q_REL.search(question)
    if not m:
        return None
    day = anchor.replace(hour=0, minute=0, second=0, microsecond=0)
    label = m.group(0)
    if m.group("day"):
        offset = {"yesterday": -1}.get(m.group("day").lower(), 0)
        start = day + timedelta(days=offset)
        return Window(start, start + timedelta(days=1), label)
    if m.group("unit"):
        unit = m.group("unit").lower()
        this = m.group("which").lower() == "this"
        if unit.startswith("week"):
            start = day - timedelta(days=day.weekday()) - (timedelta(0) if this
                                                            else timedelta(days=7))
            return Window(start, start + timedelta(days=7), label)
        if unit == "month":
            start = _add_months(day.replace(day=1), 0 if this else -1)
            return Window(start, _add_months(start, 1), label)
        start = datetime(day.year - (0 if this else 1), 1, 1)
        return Window(start, datetime(start.year + 1, 1, 1), label)
    n_s = m.group("n").lower()
    n = int(n_s) if n_s.isdigit() else _WORD_NUM.get(n_s, 1)
    unit = m.group("unit2").lower().rstrip("s")
    days = {"day": 1, "week": 7, "weekend": 7, "month": 30, "year": 365}[unit] * n
    center = day - timedelta(days=days)
    slack = timedelta(days=max(1, days // 4))
    return Window(center - slack, center + slack + timedelta(days=1), label)
