"""Strict parsing of LLM judge output, with only the repairs that cannot change a verdict.

Safe repairs: JSON syntax (a library repairs trailing commas, prose around one object, unclosed
brackets), a score written as a numeric string, a missing free-text note. Never safe: a missing or
out-of-range score, an unknown verdict, two different JSON objects. Those make the output invalid.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import json_repair

from parity.io import parse_json
from parity.task import RubricSpec

_REFUSAL = re.compile(
    r"\b(i can ?not|i can't|i cannot|i am unable|i'm unable|i won't|i will not|as an ai\b|i'm sorry|i am sorry)", re.IGNORECASE
)


@dataclass
class Parsed:
    value: dict[str, Any] | None
    reason: str | None = None  # "parse: …" or "refused: …" when value is None
    repaired: bool = False
    refused: bool = False  # the judge declined rather than failed to format


def load_object(text: str) -> Parsed:
    """One JSON object from the judge's text, repairing syntax only."""
    stripped = (text or "").strip()
    if not stripped:
        return Parsed(None, "parse: empty output")
    try:
        obj = parse_json(stripped)
        if isinstance(obj, dict):
            return Parsed(obj)
        return Parsed(None, f"parse: expected a JSON object, got {type(obj).__name__}")
    except json.JSONDecodeError:
        pass
    if "{" not in stripped:
        if _REFUSAL.search(stripped):
            return Parsed(None, f"refused: {stripped[:120]}", refused=True)
        return Parsed(None, "parse: no JSON object in the output")
    complete = [o for o in _complete_objects(stripped) if isinstance(o, dict) and o]
    if len(complete) > 1 and any(o != complete[0] for o in complete[1:]):
        return Parsed(None, "parse: several different JSON objects")
    if complete and not _broken_after(stripped, complete):
        return Parsed(complete[0], repaired=True)  # one object, with prose or a repeat around it
    try:
        obj = json_repair.loads(stripped)
    except Exception as exc:
        return Parsed(None, f"parse: unrepairable JSON ({type(exc).__name__})")
    if isinstance(obj, list):
        objects = [o for o in obj if isinstance(o, dict) and o]
        if len(objects) > 1 and any(o != objects[0] for o in objects[1:]):
            return Parsed(None, "parse: several different JSON objects")
        obj = objects[0] if objects else None
    if not isinstance(obj, dict) or not obj:
        return Parsed(None, "parse: no JSON object in the output")
    return Parsed(obj, repaired=True)


def _complete_objects(text: str) -> list[Any]:
    """The well-formed top-level JSON objects at the start of the JSON part of the text, in order.
    Scanning stops at the first brace that does not open a complete object: what follows is
    either broken (left to the repair library) or nested inside it."""
    decoder = json.JSONDecoder()
    found, start = [], 0
    while (brace := text.find("{", start)) != -1:
        try:
            obj, end = decoder.raw_decode(text, brace)
        except (ValueError, RecursionError):  # broken, nested too deeply, or an over-long integer
            break
        found.append(obj)
        start = end
    return found


def _broken_after(text: str, complete: list[Any]) -> bool:
    """True when a later, incomplete object follows the complete ones (a second verdict cut short)."""
    decoder, start = json.JSONDecoder(), 0
    for _ in complete:
        _, start = decoder.raw_decode(text, text.find("{", start))
    return "{" in text[start:]


def _score(value: Any, low: int, high: int) -> tuple[int | None, bool]:
    """(score, repaired) or (None, _) when the value is not a whole number in range."""
    repaired = False
    # ASCII blanks only: re's \s also matches separators like \x1f, which float() refuses.
    if isinstance(value, str) and re.fullmatch(r"[ \t\r\n]*-?[0-9]+(\.0+)?[ \t\r\n]*", value):
        value, repaired = float(value), True
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None, repaired
    if float(value) != int(value) or not low <= int(value) <= high:
        return None, repaired
    return int(value), repaired


def parse_rubric(text: str, rubric: RubricSpec) -> Parsed:
    loaded = load_object(text)
    if loaded.value is None:
        return loaded
    dims = loaded.value.get("dimensions")
    if not isinstance(dims, dict):
        return Parsed(None, "parse: missing 'dimensions' object")
    repaired = loaded.repaired
    out: dict[str, Any] = {"dimensions": {}, "overall_note": ""}
    for name in rubric.dimensions:
        entry = dims.get(name)
        if isinstance(entry, (int, float, str)) and not isinstance(entry, bool):
            entry, repaired = {"score": entry}, True  # a bare score for the dimension
        if not isinstance(entry, dict) or "score" not in entry:
            return Parsed(None, f"parse: no score for '{name}'")
        score, fixed = _score(entry["score"], rubric.scale_min, rubric.scale_max)
        if score is None:
            return Parsed(
                None, f"parse: score for '{name}' is {entry['score']!r}, not a whole number in {rubric.scale_min}–{rubric.scale_max}"
            )
        note = entry.get("note")
        if not isinstance(note, str):
            note, fixed = "", True
        out["dimensions"][name] = {"score": score, "note": note.strip()}
        repaired = repaired or fixed
    overall_note = loaded.value.get("overall_note")
    out["overall_note"] = overall_note.strip() if isinstance(overall_note, str) else ""
    return Parsed(out, repaired=repaired or not isinstance(overall_note, str))


_WINNERS = {"a": "A", "b": "B", "tie": "tie", "draw": "tie", "equal": "tie"}


def parse_pairwise(text: str) -> Parsed:
    loaded = load_object(text)
    if loaded.value is None:
        return loaded
    winner = loaded.value.get("winner")
    if not isinstance(winner, str) or winner.strip().lower() not in _WINNERS:
        return Parsed(None, f'parse: \'winner\' is {winner!r}, not "A", "B" or "tie"')
    reason = loaded.value.get("reason")
    repaired = loaded.repaired or not isinstance(reason, str) or winner != _WINNERS[winner.strip().lower()]
    return Parsed(
        {"winner": _WINNERS[winner.strip().lower()], "reason": reason.strip() if isinstance(reason, str) else ""}, repaired=repaired
    )
