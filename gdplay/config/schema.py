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
when it drifts from the models (`make schema` fixes it). A project writes its own copy with
`gdplay schema --write gdplay.schema.json`; `gdplay init` and `gdplay lessons --export` point at it.
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


def printed_text() -> str:
    """What `gdplay schema` prints: the shipped file (tests/test_schema.py keeps it equal to
    schema_text(), and reading it spares building the pydantic models, 0.1 s); generated when
    an install lacks the file."""
    try:
        return shipped_text()
    except OSError:
        return schema_text()


PROJECT_SCHEMA = "gdplay.schema.json"  # what `gdplay schema --write gdplay.schema.json` puts in a project
SOURCE_ROOT = SCHEMA_PATH.parents[2]  # gdplay's own checkout (its configs point at the shipped file)


def schema_reference(folder: Path) -> str | None:
    """How a config in `folder` points at the config schema, as a path relative to the folder:
    the nearest `gdplay.schema.json` in the folder or one above it (what `gdplay schema --write
    gdplay.schema.json` put at the project's root, committed with the configs); in gdplay's own
    checkout, the shipped file. None otherwise: a path into site-packages or into someone's
    checkout would be wrong for everyone else once committed."""
    here = folder.resolve()
    for candidate in (here, *here.parents):
        if (candidate / PROJECT_SCHEMA).is_file():
            return _relative(candidate / PROJECT_SCHEMA, here)
    if (SOURCE_ROOT / "pyproject.toml").is_file() and here.is_relative_to(SOURCE_ROOT):
        return _relative(SCHEMA_PATH, here)
    return None


def _relative(target: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(target, folder)).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return target.as_uri()


def schema_line(folder: Path) -> str:
    """The first line of a config in `folder`, for editors that read yaml-language-server comments;
    where no schema file is found, a line that says how to make one."""
    reference = schema_reference(folder)
    if reference is None:
        return f"# Editor completion: run `gdplay schema --write {PROJECT_SCHEMA}` at your project's root.\n"
    return f"{SCHEMA_LINE}{reference}\n"


def _partial(block: Any) -> Any:
    """The same schema with every `required` list removed, recursively (a block may be partial)."""
    if isinstance(block, dict):
        return {k: _partial(v) for k, v in block.items() if k != "required"}
    if isinstance(block, list):
        return [_partial(v) for v in block]
    return block
