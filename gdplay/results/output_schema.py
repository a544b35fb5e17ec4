"""The JSON Schemas of every command's `--json` document (schema v2), shipped as files.

    gdplay/results/schemas/common.json   the shared pieces: the document header, the environment,
                                         the run record (one definition: run_record_keys), final,
                                         provenance, history records, expect checks
    gdplay/results/schemas/COMMAND.json  one command's document; it refers to the shared pieces as
                                         "common.json#/$defs/NAME" (resolved next to the file, as
                                         any validator reading them from disk does)

`resolved(command)` inlines common.json's $defs into the command's own, so the document that
`gdplay schema --output COMMAND` prints validates on its own. `registry()` and `validator()` need
the optional jsonschema package (the dev extra); nothing else here imports anything heavy.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdplay.errors import UsageError
from gdplay.results.serialize import COMMANDS

if TYPE_CHECKING:
    import jsonschema
    import referencing

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
COMMON = "common.json"
_COMMON_REF = COMMON + "#"


def names() -> tuple[str, ...]:
    """The commands that print a `--json` document, each with a schema."""
    return COMMANDS


def check_name(command: str) -> str:
    """`command` when it has an output schema; else a UsageError naming the valid ones."""
    if command in COMMANDS:
        return command
    from gdplay.suggest import did_you_mean

    raise UsageError(f"no JSON output schema for {command!r} ({did_you_mean(command, COMMANDS)})")


def path(command: str) -> Path:
    """The shipped schema file of `command`'s document."""
    return SCHEMA_DIR / f"{check_name(command)}.json"


@cache
def _read(filename: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / filename).read_text(encoding="utf-8"))
    return data


def load(command: str) -> dict[str, Any]:
    """The schema of `command`'s document as shipped (its refs point into common.json)."""
    return copy.deepcopy(_read(path(command).name))


def common() -> dict[str, Any]:
    """The shared definitions (common.json) as shipped."""
    return copy.deepcopy(_read(COMMON))


def resolved(command: str) -> dict[str, Any]:
    """The schema of `command`'s document, self-contained: common.json's $defs copied into its
    own $defs and every "common.json#/..." ref turned into a local "#/...".

    The shared definitions come first; a command's own definition may not reuse a shared name.
    """
    schema = load(command)
    shared = common()["$defs"]
    own = schema.pop("$defs", {})
    clash = sorted(set(own) & set(shared))
    if clash:  # a shipped-file bug, caught by the tests
        raise ValueError(f"{command}.json defines {', '.join(clash)}, which common.json defines too")
    schema["$defs"] = {**shared, **own}
    local: dict[str, Any] = _localise(schema)
    return local


def _localise(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _localise(v) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith(_COMMON_REF):
            out["$ref"] = ref[len(COMMON) :]
        return out
    if isinstance(node, list):
        return [_localise(v) for v in node]
    return node


def schema_text(command: str) -> str:
    """The self-contained schema as `gdplay schema --output COMMAND` prints it."""
    return json.dumps(resolved(command), indent=2, ensure_ascii=False) + "\n"


def registry() -> referencing.Registry[Any]:
    """Every shipped schema file as a `referencing` registry keyed by its file name, so that
    "common.json#/$defs/run_record" resolves offline (needs jsonschema)."""
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    files = [COMMON, *(f"{c}.json" for c in COMMANDS)]
    return Registry().with_resources(
        (name, Resource.from_contents(_read(name), default_specification=DRAFT202012)) for name in files
    )


def validator(command: str, standalone: bool = False) -> jsonschema.Draft202012Validator:
    """A jsonschema validator of `command`'s document: the shipped file with its refs resolved
    through `registry()`, or (standalone=True) the self-contained `resolved(command)`."""
    import jsonschema

    if standalone:
        return jsonschema.Draft202012Validator(resolved(command))
    return jsonschema.Draft202012Validator(load(command), registry=registry())


def validate(document: dict[str, Any]) -> None:
    """Validate a `--json` document against its command's schema (jsonschema.ValidationError when
    it does not fit; UsageError when its command has no schema)."""
    command = document.get("command")
    validator(str(command)).validate(document)
