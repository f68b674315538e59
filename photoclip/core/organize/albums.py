"""Auto-albums: one per tag, one per event (photos close in time), saved searches.

All are computed from the catalog when asked for, so they are always up to
date: a photo indexed or tagged a moment ago is in them the next time they are
listed. Events are runs of photos with no gap longer than ``gap_hours``,
named from the place and the tags most of their photos share and their dates
("Lisbon · Beach · 14–16 Jul 2024").
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence

from ..models import Album

DEFAULT_GAP_HOURS = 14.0  # see Settings.event_gap_hours
DOMINANT_SHARE = 0.4  # a tag or place names an event when at least this share of its photos have it
MAX_NAME_TAGS = 2


def tag_albums(counts: Sequence[tuple[str, int]], members: Mapping[str, list[int]],
               min_photos: int) -> list[Album]:
    """An album per tag with at least ``min_photos`` photos, biggest first."""
    return [Album(title(name), "tag", tuple(members[name]), key=name)
            for name, count in counts if count >= min_photos and name in members]


def split_events(times: Sequence[tuple[int, float]], gap_hours: float = DEFAULT_GAP_HOURS,
                 min_photos: int = 3) -> list[list[tuple[int, float]]]:
    """Runs of (id, time), sorted by time, with no gap over ``gap_hours``;
    runs shorter than ``min_photos`` are not events."""
    events: list[list[tuple[int, float]]] = []
    current: list[tuple[int, float]] = []
    for item in sorted(times, key=lambda x: (x[1], x[0])):
        if current and item[1] - current[-1][1] > gap_hours * 3600:
            events.append(current)
            current = []
        current.append(item)
    if current:
        events.append(current)
    return [e for e in events if len(e) >= min_photos]


def title(tag: str) -> str:
    """A tag as an album title: first letter up, the rest as typed ("USA", "iPhone")."""
    return tag[:1].upper() + tag[1:]


def event_albums(times: Sequence[tuple[int, float]], tags: Mapping[int, list[str]], *,
                 gap_hours: float = DEFAULT_GAP_HOURS, min_photos: int = 3,
                 places: Mapping[int, str] | None = None) -> list[Album]:
    """Event albums, newest first, named by their place, tags and dates
    ("Lisbon · Beach · 14–16 Jul 2024")."""
    albums = []
    for event in split_events(times, gap_hours, min_photos):
        ids = [pid for pid, _ in event]
        start, end = event[0][1], event[-1][1]
        place = dominant_place(ids, places or {})
        title = " · ".join([*place, *dominant_tags(ids, tags), date_range(start, end)])
        albums.append(Album(title, "event", tuple(ids), key=f"event-{ids[0]}",
                            start=start, end=end))
    return sorted(albums, key=lambda a: a.start or 0.0, reverse=True)


def dominant_place(ids: Sequence[int], places: Mapping[int, str]) -> list[str]:
    """The place at least 40% of the photos were taken in, if one is (a trip to two
    cities is named by its tags and dates only)."""
    counts = Counter(places[pid] for pid in ids if pid in places)
    need = max(1, DOMINANT_SHARE * len(ids))
    return [name for name, count in counts.most_common(1) if count >= need]


def dominant_tags(ids: Sequence[int], tags: Mapping[int, list[str]]) -> list[str]:
    """Up to two tags (names per photo in ``tags``) that at least 40% of the photos
    share, most common first."""
    counts = Counter(name for pid in ids for name in tags.get(pid, []))
    need = max(1, DOMINANT_SHARE * len(ids))
    return [title(name) for name, count in counts.most_common(MAX_NAME_TAGS) if count >= need]


def date_range(start: float, end: float) -> str:
    """'14 Jul 2024', '14–16 Jul 2024', '30 Jun – 2 Jul 2024' or
    '28 Dec 2023 – 2 Jan 2024' (local time, like the photos' own clocks)."""
    a, b = time.localtime(start), time.localtime(end)

    def day(t: time.struct_time) -> str:
        return f"{t.tm_mday} {time.strftime('%b', t)}"

    if (a.tm_year, a.tm_yday) == (b.tm_year, b.tm_yday):
        return f"{day(a)} {a.tm_year}"
    if (a.tm_year, a.tm_mon) == (b.tm_year, b.tm_mon):
        return f"{a.tm_mday}–{day(b)} {a.tm_year}"
    if a.tm_year == b.tm_year:
        return f"{day(a)} – {day(b)} {a.tm_year}"
    return f"{day(a)} {a.tm_year} – {day(b)} {b.tm_year}"
