"""Redaction: the last line of defence that keeps secret plaintext out of printed text."""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.secrets.value import MASK, Secret


def redact(text: str, secrets: Iterable[Secret]) -> str:
    """``text`` with every occurrence of any secret's plaintext replaced by ``(sensitive)``.

    Empty secrets are ignored. Longer plaintexts are replaced first, so a secret that contains
    another one is masked whole rather than leaving a partial tail behind.
    """
    plaintexts = sorted({s.reveal() for s in secrets if s.reveal()}, key=len, reverse=True)
    for plaintext in plaintexts:
        text = text.replace(plaintext, MASK)
    return text
