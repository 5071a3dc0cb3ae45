"""The docs follow the code: every command and option is in docs/cli.md, every setting is read somewhere and
documented in docs/configuration.md, and the generated parts are what cog makes of the code today."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
from flask import Flask

from stamp_service.cli import cli
from stamp_service.cli.reference import help_text, walk
from stamp_service.settings import DEFAULTS, SETTINGS

ROOT = Path(__file__).resolve().parent.parent
CLI_DOCS = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
CONFIG_DOCS = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
DECLARATION = {ROOT / "stamp_service" / "settings.py", ROOT / "stamp_service" / "settings_check.py"}
# A setting is read where the code looks it up by name: config["NAME"] or config.get("NAME"...).
READ = re.compile(r"""config(?:\[|\.get\()["']([A-Z][A-Z0-9_]*)["']""")


def _section(path: tuple[str, ...]) -> str:
    """The part of docs/cli.md under the command's own heading, up to the next heading."""
    heading = f"`ocop-stamp {' '.join(path)}`\n"
    found = re.search(rf"^#+ {re.escape(heading)}(.*?)(?=^#+ |\Z)", CLI_DOCS, re.M | re.S)
    assert found, f"ocop-stamp {' '.join(path)} has no section in docs/cli.md (run: cog -r docs/*.md)"
    return found[1]


@pytest.mark.parametrize("path", [path for path, _command in walk(cli)], ids=" ".join)
def test_every_command_and_option_is_in_the_cli_docs(path):
    command = cli
    for name in path:
        command = command.commands[name]
    section = _section(path)
    assert command.help and command.help.split("\n")[0][:40] in section.replace("\n  ", " ")
    assert help_text(path).splitlines()[0] in section  # the usage line: its arguments
    for param in command.params:
        for opt in param.opts if isinstance(param, click.Option) else ():
            assert re.search(rf"(?<![\w-]){re.escape(opt)}\b", section), f"{opt} of {' '.join(path)}"


def test_the_generated_docs_are_up_to_date():
    # The same check CI makes through this test: `cog --check` fails when a command's help, an option or a
    # setting changed without `cog -r docs/*.md`.
    done = subprocess.run([sys.executable, "-m", "cogapp", "--check", "docs/cli.md", "docs/configuration.md"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _code_reads() -> dict[str, set[str]]:
    """Each setting name the code looks up, with the files that do, outside the declaration."""
    reads: dict[str, set[str]] = {}
    for folder in ("stamp_service", "verify_web", "print_layouts"):
        for path in (ROOT / folder).rglob("*.py"):
            if path in DECLARATION:
                continue
            for name in READ.findall(path.read_text(encoding="utf-8")):
                reads.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return reads


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_every_setting_is_read_and_documented(setting):
    assert re.search(rf"^\| `{setting.name}` \| .+ \| .+ \|$", CONFIG_DOCS, re.M), \
        f"{setting.name} is not in docs/configuration.md's table (run: cog -r docs/*.md)"
    if setting.flask and setting.name not in _code_reads():
        assert setting.name in Flask.default_config, f"{setting.name} is read by neither our code nor Flask"
    else:
        assert setting.name in _code_reads(), f"{setting.name} is declared but nothing reads it"


def test_every_setting_the_code_reads_is_declared():
    declared = {s.name for s in SETTINGS}
    undeclared = {name: files for name, files in _code_reads().items() if name not in declared}
    assert not undeclared, f"read but not declared in stamp_service/settings.py (so not documented): {undeclared}"


def test_the_declaration_gives_the_defaults():
    from stamp_service.config import DEFAULTS as loaded

    assert loaded is DEFAULTS and DEFAULTS["DEFAULT_LANGUAGE"] == "vi" and "SECRET_KEY" not in DEFAULTS
    assert len({s.name for s in SETTINGS}) == len(SETTINGS)


def test_readme_says_how_to_regenerate_the_docs():
    assert "cog -r docs/*.md" in (ROOT / "README.md").read_text(encoding="utf-8")
