"""JUnit XML for `gdplay check --junit FILE`: one test case per config run, as CI systems display it.

The layout follows what pytest writes (GitHub, GitLab and Jenkins all read it): a
<testsuites> root holding one <testsuite>; a <testcase> per run with classname = the
config's path in dots and name = the run's name; <failure> for missed expectations (its
message is the first miss, its text all of them), <error> for a broken config, <skipped>
for a run without an `expect:` block. Built with xml.etree; returns text, writes nothing.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import PurePosixPath

from gdplay import __version__
from gdplay.ci.suite import ERROR, FAILED, INTERRUPTED, SKIPPED, Case, tally

# Characters XML 1.0 cannot hold at all (a config may contain them; the file must still parse).
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def junit_xml(cases: Sequence[Case], suite_name: str = "gdplay check", total_time: float | None = None) -> str:
    counts = tally(cases)
    times = [_time(c) for c in cases]
    elapsed = sum(times) if total_time is None else total_time
    attrs = {
        "name": suite_name,
        "tests": str(len(cases)),
        "failures": str(counts[FAILED]),
        "errors": str(counts[ERROR] + counts[INTERRUPTED]),
        "skipped": str(counts[SKIPPED]),
        "time": f"{elapsed:.3f}",
    }
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(
        root,
        "testsuite",
        {**attrs, "timestamp": datetime.now(UTC).isoformat(timespec="seconds"), "hostname": _host()},
    )
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", {"name": "gdplay", "value": __version__})
    torch_version = next((c.result.torch_version for c in cases if c.result is not None), None)
    if torch_version:
        ET.SubElement(properties, "property", {"name": "torch", "value": torch_version})
    for case, seconds in zip(cases, times, strict=True):
        path = PurePosixPath(case.config)
        classname = ".".join(p for p in path.with_suffix("").parts if p not in ("/", ".", ".."))
        testcase = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": _clean(classname),
                "name": _clean(case.run if case.run is not None else path.name),
                "file": _clean(case.config),
                "time": f"{seconds:.3f}",
            },
        )
        if case.outcome == FAILED:
            lines = case.explain()
            first = lines[0].split(": ", 1)[-1] if lines else "expectation not met"
            failure = ET.SubElement(testcase, "failure", {"message": _clean(first), "type": "ExpectationNotMet"})
            failure.text = _clean("\n".join(lines + _context(case)))
        elif case.outcome in (ERROR, INTERRUPTED):
            kind = "ConfigError" if case.outcome == ERROR else "Interrupted"
            error = ET.SubElement(testcase, "error", {"message": _clean(case.message), "type": kind})
            error.text = _clean(case.message)
        elif case.outcome == SKIPPED:
            ET.SubElement(testcase, "skipped", {"message": _clean(case.message), "type": "pytest.skip"})
        if case.result is not None:
            out = ET.SubElement(testcase, "system-out")
            out.text = _clean("\n".join(_context(case)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _context(case: Case) -> list[str]:
    r = case.result
    if r is None:
        return []
    return [
        f"status: {r.status} ({r.reason})",
        f"final point: {r.final_point!r}, f = {r.final_value!r}",
        f"device {r.device}, dtype {r.dtype}, seed {r.seed}, torch {r.torch_version}, gdplay {r.gdplay_version}",
    ]


def _time(case: Case) -> float:
    return float(case.result.wall_time_s) if case.result is not None else 0.0


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\N{REPLACEMENT CHARACTER}", text)


def _host() -> str:
    try:
        return socket.gethostname()
    except OSError:
        return "localhost"
