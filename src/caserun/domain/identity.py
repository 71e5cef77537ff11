"""Stable test identity: a versioned sha256 of the normalised suite, name and parameters.

The launch name is never part of it, so history spans launches. The parts are stored
beside the key with the scheme number, so a later scheme can re-key without losing
history. Scheme 1:

* separators ``/``, ``\\``, ``::``, `` > ``, `` › `` in a suite path become ``.``, a
  trailing ``.py`` on a module segment is dropped, whitespace is collapsed;
* a test name ending in ``[...]`` (pytest, parametrised JUnit) has that part split off
  as its parameters;
* parameters are whitespace-collapsed; ``None`` and ``""`` are the same.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

SCHEME = 1

_SEPARATORS = re.compile(r"\s*(?:::|/|\\|›|\s>\s)\s*")
_SPACES = re.compile(r"\s+")
_PY_SEGMENT = re.compile(r"\.py(?=\.|$)")


@dataclass(frozen=True, slots=True)
class Identity:
    suite: str
    name: str
    parameters: str
    key: str
    scheme: int = SCHEME

    @property
    def full_name(self) -> str:
        base = f"{self.suite}.{self.name}" if self.suite else self.name
        return f"{base}[{self.parameters}]" if self.parameters else base


def _collapse(text: str) -> str:
    # every whitespace character but the space is unprintable, so a printable text with
    # no double, leading or trailing space is already collapsed (most names: no regex)
    if text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " ":
        return text
    return _SPACES.sub(" ", text).strip()


@lru_cache(maxsize=4096)  # a report repeats its suites test after test
def normalise_suite(suite: str) -> str:
    collapsed = _collapse(suite)
    dotted = _SEPARATORS.sub(".", collapsed).strip(".")
    return _PY_SEGMENT.sub("", dotted)


def split_parameters(name: str) -> tuple[str, str]:
    """``test_add[1-2]`` → (``test_add``, ``1-2``); other names are returned unchanged."""
    name = _collapse(name)
    if name.endswith("]"):
        start = name.find("[")
        if start > 0:
            return name[:start].rstrip(), name[start + 1 : -1]
    return name, ""


def identify(suite: str, name: str, parameters: str | None = None) -> Identity:
    """The identity of a test from the parts a report gives."""
    norm_suite, bare, params = _parts(suite, name, parameters)
    return Identity(suite=norm_suite, name=bare, parameters=params, key=_digest(norm_suite, bare, params))


def explicit(key: str, suite: str, name: str, parameters: str | None = None) -> Identity:
    """An identity given by the report or the user (e.g. Allure's ``testCaseId``)."""
    norm_suite, bare, params = _parts(suite, name, parameters)
    return Identity(suite=norm_suite, name=bare, parameters=params, key=explicit_key(key))


def key_of(suite: str, name: str, parameters: str | None = None) -> str:
    """``identify(...).key`` alone: what an import needs for a test that already exists."""
    return _digest(*_parts(suite, name, parameters))


def explicit_key(key: str) -> str:
    """``explicit(key, ...).key`` alone."""
    return hashlib.sha256(f"explicit\x1f{key}".encode()).hexdigest()


def _parts(suite: str, name: str, parameters: str | None) -> tuple[str, str, str]:
    bare, embedded = split_parameters(name)
    return normalise_suite(suite), bare, _collapse(parameters) if parameters else embedded


def _digest(suite: str, name: str, parameters: str) -> str:
    return hashlib.sha256(f"{SCHEME}\x1f{suite}\x1f{name}\x1f{parameters}".encode()).hexdigest()
