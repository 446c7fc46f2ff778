"""A key the model echoes into a stream is scrubbed from the deltas, wherever it is cut."""

from __future__ import annotations

import random
import string

import pytest

from promptctl.providers.redact import MIN_FRAGMENT, Redactor
from promptctl.providers.stream_scrub import StreamScrubber

KEY = "sk-test-openai-0123456789abcdef"
OTHER = "AIzaFakeGeminiKey0123456789abcdef"
WORDS = ["the", "answer", "is", "ok", "key", "sk-", "0123", "abc", "\n", "Fake", "é", "🙂"]


def _pieces(rng: random.Random) -> list[str]:
    """Ordinary words, the keys, and pieces that start or end them (some long enough to be
    removed, some not), in random order."""
    out = []
    for _ in range(rng.randint(1, 30)):
        kind = rng.random()
        secret = rng.choice([KEY, OTHER])
        if kind < 0.15:
            out.append(secret)
        elif kind < 0.3:
            out.append(secret[: rng.randint(1, len(secret))])
        elif kind < 0.45:
            out.append(secret[-rng.randint(1, len(secret)) :])
        elif kind < 0.5:
            out.append(secret[rng.randint(0, 10) : rng.randint(11, len(secret))])
        else:
            out.append(rng.choice(WORDS) + rng.choice(" .,"))
    return out


def _cuts(text: str, rng: random.Random) -> list[str]:
    points = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(0, 12))))
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


@pytest.mark.parametrize("seed", range(4))
def test_joined_deltas_are_the_scrubbed_answer_and_no_prefix_shows_a_key(seed: int) -> None:
    rng = random.Random(seed)
    redactor = Redactor((OTHER, KEY))
    for _ in range(500):
        text = "".join(_pieces(rng))
        scrub = StreamScrubber(redactor)
        shown = ""
        for delta in _cuts(text, rng):
            shown += scrub.feed(delta)
            # what the application has shown so far is clean at every moment
            assert KEY not in shown and OTHER not in shown
            assert redactor.known(shown) == shown, (text, shown)
            # what is held back is bounded by the keys, not by the answer
            assert scrub.held() <= 2 * len(OTHER), (text, scrub.held())
        shown += scrub.flush()
        assert shown == redactor.known(text), text


def test_ordinary_text_is_held_back_by_a_character_or_two() -> None:
    redactor = Redactor((KEY,))
    scrub = StreamScrubber(redactor)
    words = "Paris is the capital of France, and its museums are open daily."
    held, shown = [], ""
    for word in words.split(" "):
        piece = scrub.feed(word + " ")
        shown += piece
        held.append(len(shown) - len(word) - 1 - sum(held))
    assert max(-h for h in held) <= 2, held
    assert shown + scrub.flush() == words + " "


def test_a_key_split_one_character_a_delta_never_shows_a_piece_of_it() -> None:
    redactor = Redactor((KEY,))
    scrub = StreamScrubber(redactor)
    shown = [scrub.feed(c) for c in f"my key is {KEY}!"] + [scrub.flush()]
    text = "".join(shown)
    assert text == "my key is [redacted]!"
    assert not any(KEY[:MIN_FRAGMENT] in "".join(shown[:i]) for i in range(len(shown)))


def test_without_secrets_nothing_is_held() -> None:
    scrub = StreamScrubber(Redactor(()))
    assert [scrub.feed(d) for d in ("a", "b", string.ascii_letters)] == [
        "a",
        "b",
        string.ascii_letters,
    ]
