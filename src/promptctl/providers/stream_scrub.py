"""Known secrets removed from an answer that arrives in pieces (a stream's text deltas).

A key the model echoes can be split across deltas ("sk-te" + "st-0123..."), so each delta
cannot be scrubbed alone. `StreamScrubber.feed` holds back the end of what it has seen
while that end could still become part of something `Redactor.known` removes (a whole
key, or a piece of one that starts or ends it), and returns the rest, scrubbed. Joined,
what it returns equals `Redactor.known` of the whole answer: the deltas an application
shows say what the final `ChatResponse.text` says.

What is held back is the longest end of the text that occurs inside a key: for ordinary
text one or two characters, shown with the next delta (or at the end of the answer).
"""

from __future__ import annotations

from promptctl.providers.redact import Redactor

__all__ = ["StreamScrubber"]


class StreamScrubber:
    """`feed(delta)` for each delta, then `flush()` once the answer is complete."""

    __slots__ = ("_known", "_pending", "_secrets")

    def __init__(self, redactor: Redactor) -> None:
        self._known = redactor.known
        self._secrets = redactor.secrets
        self._pending = ""

    def feed(self, delta: str) -> str:
        """What of the text so far can be shown now, scrubbed of the known secrets."""
        text = self._pending + delta
        cut = len(text) - _end_inside_a_secret(text, self._secrets)
        known = self._known
        # A removal reaching from the part shown into the part held back moves the cut to
        # where it starts (the whole removal is then decided with the next delta). Future
        # text cannot start a removal before the cut: its characters up to the end of
        # `text` would be a longer end of `text` inside a key.
        whole = known(text)
        if whole == text:  # nothing removed from the whole: nothing from either part
            self._pending = text[cut:]
            return text[:cut]
        while cut > 0 and known(text[:cut]) + known(text[cut:]) != whole:
            cut -= 1
        self._pending = text[cut:]
        return known(text[:cut])

    def held(self) -> int:
        """How many characters are held back now (bounded by twice the longest key)."""
        return len(self._pending)

    def flush(self) -> str:
        """The rest held back, scrubbed: the answer is complete."""
        text, self._pending = self._pending, ""
        return self._known(text)


def _end_inside_a_secret(text: str, secrets: tuple[str, ...]) -> int:
    """The length of the longest end of `text` that occurs inside one of `secrets`. (If an
    end does not, no longer end does: it holds the shorter one.)"""
    longest = 0
    for secret in secrets:
        n = longest + 1
        while n <= len(text) and n <= len(secret) and text[-n:] in secret:
            longest = n
            n += 1
    return longest
