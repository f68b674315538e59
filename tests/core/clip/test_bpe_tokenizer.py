"""The torch-free tokenizer gives open_clip's token ids exactly."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest

from photoclip.core.clip.bpe_tokenizer import BpeTokenizer, vocabulary_path

open_clip = pytest.importorskip("open_clip")

FIXED = [
    "", " ", "dog", "DOG", "a photo of a dog", "café in Zürich", "naïve façade, São Paulo",
    "Ærøskøbing", "Đà Nẵng", "crème brûlée", "東京の夜景", "北京烤鸭", "서울 야경", "Москва зимой",
    "Αθήνα", "עברית", "العربية", "हिन्दी", "ไทย", "🙂", "dog 🐶 on a 🏖️ beach", "👨‍👩‍👧‍👦 family",
    "🇵🇹 flag", "it's", "I'LL WE'D you're they've I'm", "don't", "rock'n'roll", "e-mail",
    "Eiffel Tower at night!!!", "???", "...", "—–-", "“quotes” and ‘single’", "«guillemets»",
    "&amp;", "&amp;amp;", "&amp;amp;amp;", "<b> &amp;amp;lt;3 </b>", "&lt;b&gt;bold&lt;/b&gt;",
    "fish &amp; chips", "&#233;t&eacute;",
    "1984", "3.14159", "2023-06-15", "IMG_0042.JPG", "50% off", "$100", "#hashtag @user",
    "C++ and C#", "path/to/file.txt", "tab\tseparated\nnew line", "   padded   ", "mojibake cafÃ©",
    "ﬁne ligature ﬂ", "full-width ＡＢＣ１２３", "x" * 300, "ab" * 150,
    " ".join(["a long caption that goes on and on about a busy street market"] * 8),
    " ".join(str(i) for i in range(100)), "\u00a0non-breaking\u2003spaces", "zero\u200bwidth",
    "<start_of_text>", "<end_of_text> inside", "combining e\u0301 accent", "Ⅻ roman",
]


def _generated(count: int, seed: int = 5) -> list[str]:
    """Random mixes of words, scripts, emoji, digits and punctuation, short to over-long."""
    rng = random.Random(seed)
    pieces = ["dog", "Beach", "sunset", "Zürich", "école", "東京", "夜", "🙂", "🐈", "!", "?!",
              "'s", "'ll", "12", "3.5", "&amp;", "—", "…", "grandma's", "Christmas", "ÆØÅ",
              "наш", "日本語", "café", "🇯🇵", "\t", "  ", "-", "_", "(", ")", "\"", "x"]
    return [("" if rng.random() < 0.5 else " ").join(
        rng.choice(pieces) for _ in range(rng.randint(1, rng.choice((4, 12, 60)))))
        for _ in range(count)]


TEXTS = FIXED + _generated(200)


@pytest.fixture(scope="module")
def ours() -> BpeTokenizer:
    return BpeTokenizer()


def test_the_same_ids_as_open_clip_on_varied_texts(ours: BpeTokenizer) -> None:
    assert len(TEXTS) >= 260
    expected = open_clip.get_tokenizer("ViT-B-32")(TEXTS).numpy()
    got = ours(TEXTS)
    assert got.dtype == np.int64 and got.shape == (len(TEXTS), 77)
    differ = [TEXTS[i] for i in np.flatnonzero((got != expected).any(axis=1))]
    assert differ == []


def test_long_texts_are_cut_to_the_context_and_end_in_the_end_token(ours: BpeTokenizer) -> None:
    ids = ours(["x" * 300, "", "dog"])
    assert ids[0, 0] == ours.sot_token_id == 49406 and ids[0, -1] == ours.eot_token_id == 49407
    assert (ids[0] != 0).all()
    assert ids[1, :3].tolist() == [49406, 49407, 0] and not ids[1, 2:].any()
    assert ids[2, :3].tolist() == [49406, 1929, 49407]  # "dog</w>"


def test_a_shorter_context_truncates_as_open_clip_does() -> None:
    short = BpeTokenizer(context_length=16)
    texts = [t for t in TEXTS if len(t) > 20][:40]
    assert np.array_equal(short(texts), open_clip.tokenize(texts, context_length=16).numpy())


def test_it_finds_open_clips_vocabulary_without_importing_torch() -> None:
    probe = ("import sys\nfrom photoclip.core.clip.bpe_tokenizer import BpeTokenizer\n"
             "print(BpeTokenizer()(['a dog'])[0, :4].tolist(), 'torch' in sys.modules, "
             "'open_clip' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[49406,", "320,", "1929,", "49407]", "False", "False"]
    assert vocabulary_path().name == "bpe_simple_vocab_16e6.txt.gz"
