"""Text normalisation and hashed n-gram ids.

Every n-gram becomes an integer id: CRC-32 of its UTF-8 bytes, masked to HASH_BITS bits. Word n-grams take
ids in [0, GROUP_SIZE) and character n-grams in [GROUP_SIZE, 2 * GROUP_SIZE), so the two feature groups
never share an id and can be weighted separately. CRC-32 (unlike hash()) is the same in every process,
which is what lets a saved model name its features by id.
"""

from __future__ import annotations

import re
import unicodedata
from itertools import repeat
from operator import and_, or_
from zlib import crc32

HASH_BITS = 21
GROUP_SIZE = 1 << HASH_BITS
N_IDS = 2 * GROUP_SIZE
HASH_FUNCTION = f"crc32-utf8/{HASH_BITS}"

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u00b4": "'"})
_WORD_RE = re.compile(r"[^\W\d_]+|\d+|[%€?+/]")
_DIGITS_RE = re.compile(r"\d+")
_MASK = GROUP_SIZE - 1
# Distinct words whose character n-gram ids are kept (~1 KiB each): 50k rows of feedback hold ~20k.
CHAR_CACHE_WORDS = 100_000


def normalize_text(text: str) -> str:
    """Lowercase, fold accents, unify apostrophes, collapse digit runs to '0'."""
    t = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES).lower())
    if not t.isascii():
        t = "".join(ch for ch in t if not unicodedata.combining(ch))
    return " ".join(_DIGITS_RE.sub("0", t).split())


def word_ngrams(norm: str, lo: int, hi: int) -> list[str]:
    """Word n-grams; n >= 2 also spans the <s> and </s> sentence boundaries."""
    toks = _WORD_RE.findall(norm)
    grams = list(toks) if lo <= 1 <= hi else []
    seq = ["<s>", *toks, "</s>"]
    for n in range(max(lo, 2), hi + 1):
        grams += map(" ".join, zip(*(seq[i:] for i in range(n))))
    return grams


def char_ngrams(norm: str, lo: int, hi: int) -> list[str]:
    """Character n-grams within words, each word padded with one space on both sides."""
    grams: list[str] = []
    for w in norm.split():
        padded = f" {w} "
        size = len(padded)
        for n in range(lo, min(hi, size) + 1):
            grams += [padded[i:i + n] for i in range(size - n + 1)]
    return grams


class HashedNgrams:
    def __init__(self, word_range=(1, 2), char_range=(2, 5)):
        self.word_range = tuple(word_range)
        self.char_range = tuple(char_range)
        # word -> the ids of its character n-grams. Words repeat across texts far more than they vary, and
        # cutting and hashing a word's n-grams is most of the featurisation's time; bounded, see _char_ids.
        self._char_cache: dict[str, tuple[int, ...]] = {}

    def _char_ids(self, word: str) -> tuple[int, ...]:
        got = self._char_cache.get(word)
        if got is None:
            grams = char_ngrams(word, *self.char_range)
            got = tuple(map(or_, map(and_, map(crc32, map(str.encode, grams)), repeat(_MASK)), repeat(GROUP_SIZE)))
            if len(self._char_cache) >= CHAR_CACHE_WORDS:
                self._char_cache.clear()
            self._char_cache[word] = got
        return got

    def ids(self, text: str) -> tuple[list[int], list[int]]:
        """(word n-gram ids, char n-gram ids), with repeats (one id per occurrence)."""
        norm = normalize_text(text)
        words = word_ngrams(norm, *self.word_range)
        word_ids = list(map(and_, map(crc32, map(str.encode, words)), repeat(_MASK)))
        char_ids: list[int] = []
        for word in norm.split():
            char_ids += self._char_ids(word)
        return word_ids, char_ids
