"""Keep credentials out of everything parity stores or prints: a server's error body can echo the
request's headers (`Bearer sk-…`), and that text becomes an experiment's decision."""

from __future__ import annotations

import os
import re

REDACTED = "[redacted]"
_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}"),
    re.compile(r"(?i)\b((?:x-)?api[_-]?key|authorization|(?:access[_-]?)?token|secret|password)(\W{1,4})[^\s\"',;}]{4,}"),
    re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{8,}"),  # OpenAI, Anthropic (sk-ant-…) and similar key shapes
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{12,}\b"),  # AWS access key ids
    re.compile(r"\bAIza[A-Za-z0-9_-]{20,}"),  # Google API keys
    re.compile(r"\bgh[pousr]_[A-Za-z0-9]{16,}"),  # GitHub tokens
)
_SECRET_ENV = re.compile(r"(?:API_KEY|TOKEN|SECRET|PASSWORD)$")


def scrub(text: str) -> str:
    """`text` with every key-like string and every secret held in the environment replaced."""
    for name, value in os.environ.items():
        if _SECRET_ENV.search(name) and len(value) >= 8:
            text = text.replace(value, REDACTED)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    for pattern in _PATTERNS[2:]:
        text = pattern.sub(REDACTED, text)
    return text
