"""Known vulnerabilities in the installed Python packages, from PyPI's vulnerability data.

pip-audit's PyPI service asks ``/pypi/<name>/<version>/json``, which the registry proxy this project's CI
reaches answers with 404 for every package, so pip-audit skips them all and still reports success; OSV is
not reachable at all (docs/decisions.md). PyPI's project endpoint, ``/pypi/<name>/json``, is reachable and
carries the same vulnerability records (PyPI takes them from the OSV database) for the project's latest
release. So a package is audited when the installed version is PyPI's latest; one that is not cannot be
audited here and fails the check unless ``.ci/audit-exceptions.txt`` names it with a reason.

Exit status: 0 when every package was audited (or excepted) and none has a known vulnerability; 1 when a
vulnerability is found or a package could not be audited; 2 when PyPI cannot be reached.

    .venv/bin/python .ci/audit_dependencies.py [--pypi-url URL] [--exceptions FILE]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from importlib.metadata import distributions
from pathlib import Path

DEFAULT_EXCEPTIONS = Path(__file__).with_name("audit-exceptions.txt")
SELF = {"commons"}  #: this project, installed editable: not on PyPI


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Finding:
    name: str
    version: str
    latest: str = ""
    vulnerabilities: list[dict] = field(default_factory=list)
    error: str = ""

    @property
    def audited(self) -> bool:
        return not self.error and self.latest == self.version


def installed() -> dict[str, str]:
    """Every distribution in this environment, by canonical name, except Commons itself."""
    found = {canonical(dist.metadata["Name"]): dist.version for dist in distributions()}
    return {name: version for name, version in sorted(found.items()) if name not in SELF}


def query(pypi_url: str, name: str, version: str) -> Finding:
    try:
        with urllib.request.urlopen(f"{pypi_url}/pypi/{name}/json", timeout=30) as response:
            project = json.load(response)
    except urllib.error.HTTPError as error:
        return Finding(name, version, error=f"PyPI answered {error.code}")
    latest = project["info"]["version"]
    live = [v for v in project.get("vulnerabilities") or [] if v.get("withdrawn") is None]
    return Finding(name, version, latest, live if latest == version else [])


def read_exceptions(path: Path) -> dict[str, str]:
    """``name  reason`` per line; ``#`` starts a comment."""
    exceptions = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                name, _, reason = line.partition(" ")
                exceptions[canonical(name)] = reason.strip()
    return exceptions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pypi-url", default="https://pypi.org")
    parser.add_argument("--exceptions", type=Path, default=DEFAULT_EXCEPTIONS)
    args = parser.parse_args(argv)
    packages = installed()
    exceptions = read_exceptions(args.exceptions)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            findings = list(pool.map(lambda item: query(args.pypi_url.rstrip("/"), *item), packages.items()))
    except (urllib.error.URLError, OSError) as error:
        print(f"audit: PyPI cannot be reached at {args.pypi_url} ({error}); nothing was audited.", file=sys.stderr)
        return 2
    vulnerable = [f for f in findings if f.vulnerabilities]
    unaudited = [f for f in findings if not f.audited and f.name not in exceptions]
    excepted = [f for f in findings if not f.audited and f.name in exceptions]
    for finding in vulnerable:
        for vuln in finding.vulnerabilities:
            ids = ", ".join([vuln["id"], *vuln.get("aliases", [])])
            fixed = ", ".join(vuln.get("fixed_in") or []) or "no fixed release"
            print(f"VULNERABLE {finding.name} {finding.version}: {ids} (fixed in {fixed})")
    for finding in unaudited:
        why = finding.error or f"installed {finding.version}, PyPI's latest is {finding.latest}"
        print(f"NOT AUDITED {finding.name}: {why}")
    for finding in excepted:
        print(f"excepted {finding.name} {finding.version}: {exceptions[finding.name]}")
    audited = sum(f.audited for f in findings)
    print(
        f"audit: {audited} of {len(findings)} packages audited against PyPI's vulnerability data; "
        f"{sum(len(f.vulnerabilities) for f in vulnerable)} known vulnerabilities; "
        f"{len(unaudited)} not audited; {len(excepted)} excepted."
    )
    return 1 if vulnerable or unaudited else 0


if __name__ == "__main__":
    sys.exit(main())
