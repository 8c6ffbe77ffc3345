"""Config checks around the JSON schema that jsonschema alone does not make.

- Values from ``--config key='{"a": "1000"}'`` (Snakemake parses nested values as strings) and
  YAML's ``1e-4`` (a string in YAML 1.1) are turned into the type the schema asks for.
- An integer key given as ``280.0`` is refused (jsonschema counts it as an integer, Python code
  would then get a float).
- NaN and infinities are refused wherever they appear (they fail no schema comparison).
- Bonus variant names must be unique (a duplicate would silently replace a run).
Every message names the key, dotted (``tweets.max_length``).
"""

from __future__ import annotations

import math
import re

from assignment5.errors import InputError

_INT = re.compile(r"[+-]?\d+")
_NULL = {"null", "~", "none", ""}


class ConfigError(InputError, ValueError):
    pass


def _resolve(schema: dict, root: dict) -> dict:
    while "$ref" in schema:
        ref = schema["$ref"]
        node = root
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _types(schema: dict) -> list[str]:
    t = schema.get("type", [])
    return t if isinstance(t, list) else [t]


def _properties(schema: dict, root: dict) -> dict:
    props = dict(schema.get("properties", {}))
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        for key, sub in _resolve(branch, root).get("properties", {}).items():
            props.setdefault(key, sub)
    return props


def _coerce_scalar(value: str, types: list[str]):
    text = value.strip()
    if "integer" in types and _INT.fullmatch(text):
        return int(text)
    if "number" in types:
        try:
            return float(text) if not _INT.fullmatch(text) else int(text)
        except ValueError:
            pass
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    return value


def _string_fits(value: str, schema: dict, types: list[str]) -> bool:
    """A string stays a string where the schema takes one and its pattern accepts it ("1e-3"
    for a key that is a number or the word "study" becomes a number)."""
    return "string" in types and re.fullmatch(schema.get("pattern", ".*"), value) is not None


def coerce(value, schema: dict, root: dict):
    """The value with strings turned into the schema's number, boolean or null types."""
    schema = _resolve(schema, root)
    types = _types(schema)
    if isinstance(value, str) and "null" in types and value.strip().lower() in _NULL:
        return None
    if isinstance(value, str) and types and not _string_fits(value, schema, types) and "enum" not in schema:
        return _coerce_scalar(value, types)
    if isinstance(value, str) and "enum" in schema and value not in schema["enum"]:
        for option in schema["enum"]:
            if option is not None and not isinstance(option, str) and str(option) == value.strip():
                return option
    if isinstance(value, dict):
        props = _properties(schema, root)
        return {k: coerce(v, props[k], root) if k in props else v for k, v in value.items()}
    if isinstance(value, list) and "items" in schema:
        return [coerce(v, schema["items"], root) for v in value]
    return value


def strict_integers(value, schema: dict, root: dict, key: str = "") -> None:
    """Refuse 280.0 where the schema says integer."""
    schema = _resolve(schema, root)
    types = _types(schema)
    if isinstance(value, float) and "integer" in types and "number" not in types:
        raise ConfigError(f"config key {key}: must be a whole number written without a decimal "
                          f"point, found {value!r}")
    if isinstance(value, dict):
        props = _properties(schema, root)
        for k, v in value.items():
            if k in props:
                strict_integers(v, props[k], root, f"{key}.{k}" if key else k)
    elif isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            strict_integers(v, schema["items"], root, f"{key}[{i}]")


def dotted(path) -> str:
    """A key path as the messages write it: galaxy.bonus.variants[1].name."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def validate(config: dict, schema: dict) -> None:
    """The JSON schema, as one line naming the key (Snakemake's validate prints the schema)."""
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if error is not None:
        raise ConfigError(f"config key {dotted(error.absolute_path) or '(top level)'}: {error.message}")


def finite_numbers(value, key: str = "") -> None:
    """Refuse NaN and infinities anywhere ("nan", .inf): every bound in the schema lets them by."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"config key {key}: must be a finite number, found {value!r}")
    if isinstance(value, dict):
        for k, v in value.items():
            finite_numbers(v, f"{key}.{k}" if key else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            finite_numbers(v, f"{key}[{i}]")


def unique_bonus_names(config: dict) -> None:
    names = [v["name"] for v in config["galaxy"]["bonus"]["variants"]]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"config key galaxy.bonus.variants: names must be unique, "
                          f"{duplicates} appear more than once")
