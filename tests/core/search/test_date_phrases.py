from __future__ import annotations

from datetime import date

import pytest

from photoclip.core.search.date_phrases import find_date_phrases, parse_period, period_label

TODAY = date(2024, 7, 10)  # a Wednesday, in summer


@pytest.mark.parametrize(("text", "raw", "after", "before"), [
    ("beach in 2019", "in 2019", "2019-01-01", "2020-01-01"),
    ("photos from 2019", "from 2019", "2019-01-01", "2020-01-01"),
    ("during 2019", "during 2019", "2019-01-01", "2020-01-01"),
    ("in the year 1999", "in the year 1999", "1999-01-01", "2000-01-01"),
    ("cars in the 1990s", "in the 1990s", "1990-01-01", "2000-01-01"),
    ("July 2022", "July 2022", "2022-07-01", "2022-08-01"),
    ("lake in July 2022", "in July 2022", "2022-07-01", "2022-08-01"),
    ("March 2020 lockdown", "March 2020", "2020-03-01", "2020-04-01"),
    ("May 2020", "May 2020", "2020-05-01", "2020-06-01"),
    ("dec 2021 snow", "dec 2021", "2021-12-01", "2022-01-01"),
    ("Sept. 2021", "Sept. 2021", "2021-09-01", "2021-10-01"),
    ("August, 2018", "August, 2018", "2018-08-01", "2018-09-01"),
    ("February 2024", "February 2024", "2024-02-01", "2024-03-01"),
    ("flowers in May", "in May", "2024-05-01", "2024-06-01"),  # this year's May has begun
    ("in august", "in august", "2023-08-01", "2023-09-01"),  # this year's has not: last year's
    ("in July", "in July", "2024-07-01", "2024-08-01"),  # under way
    ("last July", "last July", "2023-07-01", "2023-08-01"),
    ("last March", "last March", "2024-03-01", "2024-04-01"),
    ("this December", "this December", "2024-12-01", "2025-01-01"),
    ("last May 2020", "May 2020", "2020-05-01", "2020-06-01"),  # the year decides, "last" stays words
    ("from 2019 to 2021", "from 2019 to 2021", "2019-01-01", "2022-01-01"),
    ("between March 2020 and June 2021", "between March 2020 and June 2021", "2020-03-01", "2021-07-01"),
    ("from 2019-2021", "from 2019-2021", "2019-01-01", "2022-01-01"),
    ("summer 2021", "summer 2021", "2021-06-01", "2021-09-01"),
    ("in the summer of 2021", "in the summer of 2021", "2021-06-01", "2021-09-01"),
    ("spring 2020 blossom", "spring 2020", "2020-03-01", "2020-06-01"),
    ("fall 2019", "fall 2019", "2019-09-01", "2019-12-01"),
    ("last summer", "last summer", "2023-06-01", "2023-09-01"),  # this one is not over
    ("this summer", "this summer", "2024-06-01", "2024-09-01"),
    ("this past summer", "this past summer", "2023-06-01", "2023-09-01"),
    ("last spring", "last spring", "2024-03-01", "2024-06-01"),
    ("last winter", "last winter", "2023-12-01", "2024-03-01"),
    ("this winter", "this winter", "2024-12-01", "2025-03-01"),
    ("last autumn", "last autumn", "2023-09-01", "2023-12-01"),
    ("last year", "last year", "2023-01-01", "2024-01-01"),
    ("this year", "this year", "2024-01-01", "2025-01-01"),
    ("last month", "last month", "2024-06-01", "2024-07-01"),
    ("this month", "this month", "2024-07-01", "2024-08-01"),
    ("last week", "last week", "2024-07-01", "2024-07-08"),
    ("this week", "this week", "2024-07-08", "2024-07-15"),
    ("yesterday", "yesterday", "2024-07-09", "2024-07-10"),
    ("from today", "from today", "2024-07-10", "2024-07-11"),
    ("at Christmas 2021", "at Christmas 2021", "2021-12-24", "2021-12-27"),
    ("christmas 2021", "christmas 2021", "2021-12-24", "2021-12-27"),
    ("xmas 2020 dinner", "xmas 2020", "2020-12-24", "2020-12-27"),
    ("Christmas Eve 2021", "Christmas Eve 2021", "2021-12-24", "2021-12-25"),
    ("Christmas Day 2021", "Christmas Day 2021", "2021-12-25", "2021-12-26"),
    ("last christmas", "last christmas", "2023-12-24", "2023-12-27"),
    ("new year 2020", "new year 2020", "2019-12-31", "2020-01-02"),
    ("New Year's 2020", "New Year's 2020", "2019-12-31", "2020-01-02"),
    ("new year's eve 2019", "new year's eve 2019", "2019-12-31", "2020-01-02"),
    ("NYE 2019", "NYE 2019", "2019-12-31", "2020-01-02"),
    ("New Year's Day 2020", "New Year's Day 2020", "2020-01-01", "2020-01-02"),
    ("IN 2019.", "IN 2019", "2019-01-01", "2020-01-01"),  # case, and a full stop after it
])
def test_date_phrases(text: str, raw: str, after: str, before: str) -> None:
    (phrase,) = find_date_phrases(text, TODAY)
    assert (phrase.raw, phrase.after, phrase.before) == (raw, after, before)
    assert text[phrase.start:phrase.end] == raw


@pytest.mark.parametrize("text", [
    "summer dress", "in summer dress", "may flowers", "it may rain", "march of the penguins",
    "the march", "1984 poster", "2019", "august rush", "christmas tree", "christmas", "spring onion",
    "winter coat", "winter 2021", "fall leaves", "new year party", "the last year of school",
    "the last summer", "in 2019s style", "in 3000", "room 2019", "back in 19", "in 2019-05",
    "tag:2019", "note:in 2019", "yesterdays", "today's paper", "last years", "pi in 2019x",
    "may 20", "in mayfair", "lastsummer",
])
def test_not_dates(text: str) -> None:
    assert find_date_phrases(text, TODAY) == []


@pytest.mark.parametrize(("today", "text", "after", "before"), [
    (date(2024, 1, 15), "last winter", "2022-12-01", "2023-03-01"),  # the one under way is not over
    (date(2024, 1, 15), "this winter", "2023-12-01", "2024-03-01"),  # the one under way
    (date(2024, 3, 1), "last winter", "2023-12-01", "2024-03-01"),  # over since today
    (date(2024, 1, 15), "last summer", "2023-06-01", "2023-09-01"),
    (date(2024, 10, 2), "last summer", "2024-06-01", "2024-09-01"),
    (date(2024, 1, 15), "last month", "2023-12-01", "2024-01-01"),
    (date(2024, 1, 15), "in December", "2023-12-01", "2024-01-01"),
    (date(2024, 1, 15), "last January", "2023-01-01", "2023-02-01"),
    (date(2024, 12, 26), "last christmas", "2023-12-24", "2023-12-27"),  # not over yet
    (date(2024, 12, 27), "last christmas", "2024-12-24", "2024-12-27"),
    (date(2024, 7, 7), "this week", "2024-07-01", "2024-07-08"),  # a Sunday: weeks start on Monday
])
def test_relative_phrases_follow_today(today: date, text: str, after: str, before: str) -> None:
    (phrase,) = find_date_phrases(text, today)
    assert (phrase.after, phrase.before) == (after, before)


def test_several_phrases_and_their_places() -> None:
    text = "beach in 2019 and snow last winter"
    first, second = find_date_phrases(text, TODAY)
    assert (first.start, first.end, first.raw) == (6, 13, "in 2019")
    assert (second.raw, second.after) == ("last winter", "2023-12-01")


def test_the_longest_phrase_wins() -> None:
    assert [p.raw for p in find_date_phrases("in July 2022", TODAY)] == ["in July 2022"]
    assert [p.raw for p in find_date_phrases("from 2019 to 2021", TODAY)] == ["from 2019 to 2021"]


@pytest.mark.parametrize(("spec", "period"), [
    ("2024", (date(2024, 1, 1), date(2025, 1, 1))),
    ("2024-07", (date(2024, 7, 1), date(2024, 8, 1))),
    ("2024-12", (date(2024, 12, 1), date(2025, 1, 1))),
    ("2024-02-29", (date(2024, 2, 29), date(2024, 3, 1))),
    (" 2024-7-3 ", (date(2024, 7, 3), date(2024, 7, 4))),
])
def test_parse_period(spec: str, period: tuple[date, date]) -> None:
    assert parse_period(spec) == period


@pytest.mark.parametrize("spec", ["2023-13", "2023-02-30", "2023-00", "abc", "24", "2024/07", "9999", ""])
def test_parse_period_refuses(spec: str) -> None:
    assert parse_period(spec) is None


@pytest.mark.parametrize(("after", "before", "label"), [
    ("2019-01-01", "2020-01-01", "2019"),
    ("2019-01-01", "2022-01-01", "2019..2021"),
    ("2022-07-01", "2022-08-01", "2022-07"),
    ("2023-06-01", "2023-09-01", "2023-06..2023-08"),
    ("2024-07-03", "2024-07-04", "2024-07-03"),
    ("2021-12-24", "2021-12-27", "2021-12-24..2021-12-26"),
])
def test_period_label(after: str, before: str, label: str) -> None:
    assert period_label(after, before) == label
