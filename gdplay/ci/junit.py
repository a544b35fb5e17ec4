"""JUnit XML for `gdplay check --junit FILE`: one test case per config run, as CI systems display it.

The layout is what pytest writes (junit_family xunit2, the Jenkins junit-10.xsd that GitHub,
GitLab and Jenkins read; tests/test_junit_xsd.py validates against it): a <testsuites> root
holding one <testsuite>; a <testcase> per run named as pytest names the plugin's item for the
same config (classname = the config's path with dots for slashes, `configs.regression.quadratic.yaml`,
name = the run's name; a file that does not load is one case named by its path), with the paths
relative to the working folder, so the names stay the same however the path was spelled and
test history in a CI dashboard carries over between the two routes; <failure> for missed
expectations (its message is the first miss, its text all of them), <error> for a broken config,
<skipped> for a run without an `expect:` block or on a device this machine lacks. The suite's
properties record what produced the numbers: gdplay, torch (and its CUDA build), the thread count
and whether deterministic algorithms were on. Built with xml.etree; returns text, writes nothing.
"""

from __future__ import annotations

import re
import socket
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

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
        "time": f"{elapsed:.3f}",
    }
    root = ET.Element("testsuites", attrs)  # the schema has no `skipped` here: only the suite counts them
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            **attrs,
            "skipped": str(counts[SKIPPED]),
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "hostname": _host(),
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in suite_properties([c.result for c in cases if c.result is not None]):
        ET.SubElement(properties, "property", {"name": name, "value": _clean(value)})
    for case, seconds in zip(cases, times, strict=True):
        classname, name = pytest_names(case.id)
        testcase = ET.SubElement(
            suite,
            "testcase",
            {"classname": _clean(classname), "name": _clean(name), "time": f"{seconds:.3f}"},
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


def pytest_names(nodeid: str) -> tuple[str, str]:
    """(classname, name) as pytest's junitxml derives them from a node id: the file part's slashes
    become dots, `::` separates the rest, and a `[...]` parameter stays whole on the name.
    'configs/x.yaml::run' -> ('configs.x.yaml', 'run'); 'configs/x.yaml' -> ('', 'configs.x.yaml')."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = names[0].replace("/", ".")
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def suite_properties(results: Sequence[Any]) -> list[tuple[str, str]]:
    """What produced the numbers, for the suite's <properties>: gdplay, torch and its build (CUDA
    version or none), the thread counts and the deterministic flag the runs had (each distinct
    value once, comma-separated, in case runs differed)."""
    import sys

    out = [("gdplay", __version__)]
    torch = sys.modules.get("torch")
    if torch is not None:
        out += [("torch", torch.__version__), ("torch_cuda", str(torch.version.cuda or "none"))]

    def distinct(values: Sequence[Any]) -> str:
        return ",".join(dict.fromkeys(str(v) for v in values))

    if results:
        out += [
            ("threads", distinct([r.threads for r in results])),
            ("deterministic", distinct([r.deterministic for r in results]).lower()),
            ("devices", distinct([r.device for r in results])),
        ]
    return out


def _context(case: Case) -> list[str]:
    r = case.result
    if r is None:
        return []
    return [
        f"status: {r.status} ({r.reason})",
        f"final point: {r.final_point!r}, f = {r.final_value!r}",
        f"device {r.device}, dtype {r.dtype}, seed {r.seed}, threads {r.threads}, deterministic {r.deterministic}, "
        f"torch {r.torch_version}, gdplay {r.gdplay_version}",
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
