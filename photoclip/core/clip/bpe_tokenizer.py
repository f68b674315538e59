"""open_clip's CLIP tokenizer (``open_clip.tokenizer.SimpleTokenizer``) without torch.

The same byte-pair encoding, text cleaning (ftfy, HTML unescaping twice, whitespace,
lower case), pattern, start and end tokens and truncation, so the ids are open_clip's
exactly (``query_pack`` checks them against open_clip's tokenizer on probe texts
before it trusts them). The vocabulary is the file open_clip ships, found without
importing open_clip (whose import costs torch's ~5 s). ftfy and regex are open_clip's
own dependencies.

Imports ftfy and regex (~0.1 s) when first used; never torch.
"""

from __future__ import annotations

import hashlib
import html
import importlib.util
import itertools
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

VOCAB_FILE = "bpe_simple_vocab_16e6.txt.gz"
MERGES = 49152 - 256 - 2  # open_clip reads this many merges: 49408 ids with the specials
SPECIAL_TOKENS = ("<start_of_text>", "<end_of_text>")
DEFAULT_CONTEXT_LENGTH = 77
TOKENIZER_NAME = "open_clip-bpe-16e6"  # what a query pack records as its tokenizer


class VocabularyMissing(Exception):
    """open_clip's BPE vocabulary file is not where open_clip keeps it."""


def vocabulary_path() -> Path:
    """open_clip's own copy of the vocabulary, located without importing open_clip."""
    spec = importlib.util.find_spec("open_clip")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / VOCAB_FILE
        if path.is_file():
            return path
    raise VocabularyMissing(f"open_clip's {VOCAB_FILE} was not found (is open_clip installed?)")


def vocabulary_digest(path: Path | None = None) -> str:
    """Names the vocabulary a pack's ids were checked with (another open_clip may ship another)."""
    return hashlib.sha256((path or vocabulary_path()).read_bytes()).hexdigest()[:32]


@lru_cache(maxsize=1)
def _bytes_to_unicode() -> dict[int, str]:
    """open_clip's table: each byte as a printable character the BPE can work on."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
                 *range(ord("®"), ord("ÿ") + 1)]
    chars = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(printable, map(chr, chars), strict=True))


class BpeTokenizer:
    """Texts -> (n, context_length) int64 token ids, as open_clip's tokenizer gives them."""

    def __init__(self, context_length: int = DEFAULT_CONTEXT_LENGTH,
                 vocabulary: Path | None = None) -> None:
        import ftfy
        import regex

        self.context_length = context_length
        self._fix_text = ftfy.fix_text
        # Merges kept as their lines ("a b"): splitting 49k lines into tuples, as
        # open_clip does, took longer than the rest of the start together.
        merges = _merge_lines(vocabulary or vocabulary_path())
        self._byte_chars = _bytes_to_unicode()
        vocab = list(self._byte_chars.values())
        vocab += [v + "</w>" for v in vocab] + [m.replace(" ", "") for m in merges]
        self.encoder = dict(zip([*vocab, *SPECIAL_TOKENS], range(len(vocab) + 2), strict=True))
        self.vocab_size = len(self.encoder)
        self._ranks = dict(zip(merges, range(len(merges)), strict=True))
        self._cache: dict[str, str] = {t: t for t in SPECIAL_TOKENS}
        self.sot_token_id, self.eot_token_id = (self.encoder[t] for t in SPECIAL_TOKENS)
        self._pattern: Any = regex.compile(
            "|".join(SPECIAL_TOKENS) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE)

    def __call__(self, texts: list[str] | str) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else texts
        ids = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for row, text in enumerate(texts):
            tokens = [self.sot_token_id, *self.encode(text), self.eot_token_id]
            if len(tokens) > self.context_length:  # truncated, still ending in the end token
                tokens = tokens[: self.context_length]
                tokens[-1] = self.eot_token_id
            ids[row, : len(tokens)] = tokens
        return ids

    def encode(self, text: str) -> list[int]:
        """The ids of ``text``'s tokens, without the start and end tokens."""
        ids: list[int] = []
        for token in self._pattern.findall(self._clean(text)):
            chars = "".join(self._byte_chars[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[part] for part in self._bpe(chars).split(" "))
        return ids

    def _clean(self, text: str) -> str:
        """open_clip's "lower" cleaning: ftfy, HTML entities (twice), whitespace, case."""
        text = html.unescape(html.unescape(self._fix_text(text))).strip()
        return " ".join(text.split()).strip().lower()

    def _bpe(self, token: str) -> str:
        """``token``'s merged parts, space-separated (open_clip's algorithm, cached)."""
        if token in self._cache:
            return self._cache[token]
        word = (*token[:-1], token[-1] + "</w>")
        pairs = _pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda pair: self._ranks.get(" ".join(pair), MERGES))
            if " ".join(bigram) not in self._ranks:
                break
            word = _merged(word, bigram)
            if len(word) == 1:
                break
            pairs = _pairs(word)
        joined = " ".join(word)
        self._cache[token] = joined
        return joined


def _merge_lines(vocabulary: Path) -> list[str]:
    """The vocabulary's merges, best first, as "first second" lines (the first line is
    a header)."""
    text = zlib.decompress(vocabulary.read_bytes(), wbits=31).decode("utf-8")  # gzip
    return text.split("\n", MERGES + 1)[1 : MERGES + 1]


def _pairs(word: tuple[str, ...]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(word))


def _merged(word: tuple[str, ...], bigram: tuple[str, str]) -> tuple[str, ...]:
    """``word`` with every occurrence of ``bigram`` joined into one symbol."""
    first, second = bigram
    merged: list[str] = []
    i = 0
    while i < len(word):
        try:
            j = word.index(first, i)
        except ValueError:
            merged.extend(word[i:])
            break
        merged.extend(word[i:j])
        i = j
        if i < len(word) - 1 and word[i + 1] == second:
            merged.append(first + second)
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return tuple(merged)
