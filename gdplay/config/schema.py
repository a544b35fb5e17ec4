"""The JSON Schema of the config format, generated from the pydantic models, for editors.

The models describe one run, fully resolved. A file says more and less than that:
`name` may be left out (it defaults to the file's stem), and a `runs:` list lets
each entry override the top-level keys, so neither the top level nor an entry has
to be complete on its own. The schema therefore takes the models' properties, drops
every `required` (a partial block), and asks for objective, optimizer (with name
and lr) and steps at the top level only when there is no `runs:` list. What JSON
Schema cannot say (one of expr, name or python; a run's merged keys complete) is
checked when the file is loaded.

The file is shipped as gdplay/config/config.schema.json; a test regenerates it and fails
when it drifts from the models (`gdplay schema --write` or `make schema` fixes it).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent / "config.schema.json"
SCHEMA_LINE = "# yaml-language-server: $schema="
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def config_schema() -> dict[str, Any]:
    """The schema of a config file, as a JSON-ready dict."""
    from gdplay.config.model import RunConfig

    model = RunConfig.model_json_schema()
    defs = {name: _partial(block) for name, block in model.get("$defs", {}).items()}
    properties = {key: _partial(value) for key, value in model["properties"].items()}
    entry = {
        "type": "object",
        "description": "One run: any top-level key, overriding the file's value for this run.",
        "properties": copy.deepcopy(properties),
        "additionalProperties": False,
    }
    properties["runs"] = {
        "type": "array",
        "minItems": 1,
        "description": "Several runs in one file; each entry overrides the top-level keys for its run. "
        "Naming another optimizer or objective in an entry replaces that whole block.",
        "items": {"$ref": "#/$defs/RunEntry"},
        "examples": [[{"name": "plain", "optimizer": {"momentum": 0.0}}, {"name": "heavy ball"}]],
    }
    return {
        "$schema": DRAFT,
        "title": "gdplay config",
        "description": "A gdplay run config (`gdplay run FILE`). " + (model.get("description") or ""),
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        # Without a runs list the file is one run, so it must be complete.
        "if": {"not": {"required": ["runs"]}},
        "then": {
            "required": ["objective", "optimizer", "steps"],
            "properties": {"optimizer": {"required": ["name", "lr"]}},
        },
        "$defs": {**defs, "RunEntry": entry},
    }


def schema_text() -> str:
    """The schema as the shipped file holds it (sorted keys, so a diff shows what changed)."""
    return json.dumps(config_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def shipped_text() -> str:
    return SCHEMA_PATH.read_text(encoding="utf-8")


def schema_reference(folder: Path) -> str:
    """How a config in `folder` points at the shipped schema: a relative path, as the repo's configs do."""
    try:
        return Path(os.path.relpath(SCHEMA_PATH, folder.resolve())).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return SCHEMA_PATH.as_uri()


def schema_line(folder: Path) -> str:
    """The first line of a config in `folder`, for editors that read yaml-language-server comments."""
    return f"{SCHEMA_LINE}{schema_reference(folder)}\n"


def _partial(block: Any) -> Any:
    """The same schema with every `required` list removed, recursively (a block may be partial)."""
    if isinstance(block, dict):
        return {k: _partial(v) for k, v in block.items() if k != "required"}
    if isinstance(block, list):
        return [_partial(v) for v in block]
    return block
