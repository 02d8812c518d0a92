"""The READMEs: the English and the Simplified Chinese one show the same commands, in the
same order, and every ``posrisk`` command they show exists; the example bots' extra pins
what constraints.txt pins."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import typer.main

from posrisk.cli import app

ROOT = Path(__file__).parents[1]
ENGLISH = ROOT / "README.md"
CHINESE = ROOT / "README.zh-CN.md"


def commands(readme: Path) -> list[str]:
    """Every command line shown in a code block: ``$ ...`` lines and ``./scripts/...``."""
    found = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", readme.read_text(), re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append(line[2:].strip())
            elif line.startswith("./scripts/"):
                found.append(line.strip())
    return found


def test_both_readmes_show_the_same_commands() -> None:
    english, chinese = commands(ENGLISH), commands(CHINESE)
    assert len(english) + sum(len(commands(doc)) for doc in ROOT.glob("docs/*.md")) > 20
    assert chinese == english
    assert "README.zh-CN.md" in ENGLISH.read_text() and "README.md" in CHINESE.read_text()


def test_every_posrisk_command_shown_exists() -> None:
    root = typer.main.get_command(app)
    for line in commands(ENGLISH):
        without_comment = re.sub(r"\s+#\s.*$", "", line)
        words = shlex.split(without_comment.replace("$(", "(").replace("$KEY", "KEY"))
        if "posrisk" not in words:
            continue
        name, *rest = words[words.index("posrisk") + 1 :]
        command = root.commands.get(name)  # type: ignore[attr-defined]
        assert command is not None, f"{line}: no command {name!r}"
        sub = getattr(command, "commands", None)
        if sub is not None:
            assert rest and rest[0] in sub, f"{line}: no command {name} {rest[:1]}"


def test_the_examples_extra_pins_what_constraints_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, _, version = line.partition("==")
        pins[normalise(name)] = version
    examples = project["optional-dependencies"]["examples"]
    named = {}
    for requirement in examples:
        name, _, version = requirement.partition("==")
        assert version, f"{requirement}: pin it as constraints.txt does"
        named[normalise(name)] = version
    # What the example bots import: ccxt, Binance's SDK and python-binance.
    assert {"ccxt", "binance-sdk-derivatives-trading-usds-futures", "python-binance"} <= set(named)
    for name, version in named.items():
        assert pins.get(name) == version, f"{name}=={version}, constraints.txt: {pins.get(name)}"


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip()).lower()
