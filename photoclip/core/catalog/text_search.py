"""What a user types to find text in photos, made into FTS5 queries that cannot fail.

Words, ``prefix*`` and ``"quoted phrases"``, all of which must match. Every term goes to
FTS5 as a quoted string (its ``"`` doubled), so ``NEAR(``, ``-``, ``:``, ``AND`` or a
stray ``*`` are only text: FTS5's own syntax is never reachable from user input. A plain
term of three characters or more may also match inside a longer run of text (a code, a
number: "4711" in "INV-47110"), through the trigram index. Pure: no SQL runs here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUBSTRING_MIN = 3  # trigrams: a shorter term has none to look up
_TERMS = re.compile(r'"([^"]*)"(\*?)|([^\s"]+)')
_WORDY = re.compile(r"\w")  # a term with no letter or digit has no token to match


class TextQueryError(ValueError):
    """A text query that cannot be read (an unclosed quote): its message is the user's line."""


@dataclass(frozen=True)
class TextTerm:
    text: str
    kind: str  # "word", "prefix" or "phrase"

    def words_expression(self) -> str:
        """This term for the words index (unicode61): a quoted string, a prefix outside it."""
        return _quoted(self.text) + (" *" if self.kind == "prefix" else "")

    @property
    def substring_capable(self) -> bool:
        return self.kind == "word" and len(self.text) >= SUBSTRING_MIN


@dataclass(frozen=True)
class TextQuery:
    terms: tuple[TextTerm, ...]

    def words_expression(self) -> str:
        """Every term as a whole word, prefix or phrase ("" when there is none)."""
        return " AND ".join(t.words_expression() for t in self.terms)

    def substring_expression(self) -> str:
        """The plain terms long enough for trigrams, as substrings ("" when none is)."""
        return " AND ".join(_quoted(t.text) for t in self.terms if t.substring_capable)

    def rest_expression(self) -> str:
        """The terms that only the words index can match (prefixes, phrases, short words)."""
        return " AND ".join(t.words_expression() for t in self.terms if not t.substring_capable)


def parse_text_query(query: str) -> TextQuery:
    """The terms of ``query``; raises ``TextQueryError`` for an unclosed quote."""
    if query.count('"') % 2:
        raise TextQueryError(f"unclosed quote in the text query {query!r}: close it or remove it")
    terms = []
    for phrase, phrase_star, word in _TERMS.findall(query):
        if word:
            prefix = word.endswith("*")
            text = word.rstrip("*")
            kind = "prefix" if prefix else "word"
        else:
            text, kind = phrase.strip(), "prefix" if phrase_star else "phrase"
        if _WORDY.search(text):
            terms.append(TextTerm(text, kind))
    return TextQuery(tuple(dict.fromkeys(terms)))


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'
