"""Print a pip constraints file pinning every dependency of pyproject.toml (runtime and test) to its floor.

The floors are promises: CI installs exactly these versions and runs the tests, so a floor that is too low
fails there, not on a user's machine."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
extras = project["optional-dependencies"]
requirements = project["dependencies"] + extras["test"]
for requirement in requirements:
    if requirement.startswith(project["name"] + "["):  # the project's own extra, e.g. ocop-stamp[postgresql]
        requirements.extend(extras[requirement.partition("[")[2].rstrip("]")])
        continue
    match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?>=([0-9][^,; ]*)", requirement)
    if match is None:
        sys.exit(f"no floor (>=) in {requirement!r}")
    print(f"{match[1]}=={match[2]}")
