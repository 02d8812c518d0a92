"""The READMEs and docs/: every English page has a Simplified Chinese twin showing the same
commands in the same order, every ``posrisk`` command they show exists (with its options),
they speak only of what a reader can open, and the example bots' extra pins what
constraints.txt pins."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import shlex
import tomllib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import typer.core
import typer.main

import posrisk.client
import posrisk.engine
import posrisk.testing
from posrisk.cli import app

ROOT = Path(__file__).parents[1]
ENGLISH = ROOT / "README.md"
CHINESE = ROOT / "README.zh-CN.md"
DOCS = sorted(p for p in (ROOT / "docs").glob("*.md") if not p.name.endswith(".zh-CN.md"))
EVERY_PAGE = [
    *ROOT.glob("README*.md"),
    *(ROOT / "docs").glob("*.md"),
    *(ROOT / "examples").rglob("README*.md"),
]
# What a reader of the repository cannot open: the project's private spec and design notes,
# and the tracker's issues.
UNREADABLE = re.compile(r"\bSPEC\b|§\s*\d|\bthe issue\b|\bissue \d|DESIGN\.md|STYLE\.md", re.I)


def twin(page: Path) -> Path:
    return page.with_name(page.stem + ".zh-CN.md")


def commands(page: Path) -> list[str]:
    """Every command line shown in a code block: ``$ ...`` lines and ``./scripts/...``."""
    found = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", page.read_text(), re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                found.append(line[2:].strip())
            elif line.startswith("./scripts/"):
                found.append(line.strip())
    return found


def posrisk_commands(page: Path) -> list[str]:
    """The commands above, and inline code that is a ``posrisk`` command line (outside code
    blocks and HTML comments, which a reader does not see)."""
    prose = re.sub(r"```.*?```|<!--.*?-->", "", page.read_text(), flags=re.S)
    return commands(page) + re.findall(r"`(posrisk [a-z][^`]*)`", prose)


def test_both_readmes_show_the_same_commands() -> None:
    english, chinese = commands(ENGLISH), commands(CHINESE)
    assert len(english) >= 8
    assert chinese == english
    assert "README.zh-CN.md" in ENGLISH.read_text() and "README.md" in CHINESE.read_text()


def test_the_reference_lives_in_docs_and_the_readme_stays_a_front_door() -> None:
    assert len(DOCS) >= 4
    assert len(ENGLISH.read_text()) < 20_000
    assert sum(len(commands(page)) for page in DOCS) >= 15


def test_every_doc_has_a_chinese_twin_showing_the_same_commands() -> None:
    for page in DOCS:
        assert twin(page).exists(), f"{page.name} has no {twin(page).name}"
        assert commands(twin(page)) == commands(page), f"{twin(page).name} != {page.name}"
        # Each page is linked from its README and links to its twin, both ways.
        assert f"docs/{page.name}" in ENGLISH.read_text(), f"README.md misses {page.name}"
        assert f"docs/{twin(page).name}" in CHINESE.read_text(), f"README.zh-CN.md: {page.name}"
        assert twin(page).name in page.read_text() and page.name in twin(page).read_text()
    for page in (ROOT / "docs").glob("*.zh-CN.md"):
        assert page.with_name(page.name.replace(".zh-CN", "")).exists(), page.name


def test_every_posrisk_command_shown_exists_with_its_options() -> None:
    root = group(typer.main.get_command(app))
    shown = [(page, line) for page in EVERY_PAGE for line in posrisk_commands(page)]
    assert len(shown) > 30
    for page, line in shown:
        where = f"{page.relative_to(ROOT)}: {line}"
        without_comment = re.sub(r"\s+#\s.*$", "", line)
        words = shlex.split(without_comment.replace("$(", "(").replace("$", ""))
        if "posrisk" not in words:
            continue
        name, *rest = words[words.index("posrisk") + 1 :]
        command = root.get(name)
        assert command is not None, f"{where}: no command {name!r}"
        sub = getattr(command, "commands", None)
        if sub is not None:
            assert rest and rest[0] in sub, f"{where}: no command {name} {rest[:1]}"
            command = sub[rest[0]]
        known = options(command)
        for word in rest:
            if word.startswith("--"):
                assert word.split("=")[0] in known, f"{where}: no option {word}"


def test_the_serve_table_lists_every_option_of_posrisk_serve() -> None:
    serve = options(group(typer.main.get_command(app))["serve"]) - {"--help"}
    text = (ROOT / "docs" / "interface.md").read_text()
    table = text.split("## `posrisk serve`", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"--[a-z][a-z-]*", "\n".join(re.findall(r"^\| ([^|]*)", table, re.M))))
    assert listed - serve == set(), "documented options posrisk serve does not have"
    assert serve - listed == set(), "options of posrisk serve the table does not list"


def test_the_docs_speak_only_of_what_a_reader_can_open() -> None:
    for page in EVERY_PAGE:
        for number, line in enumerate(page.read_text().splitlines(), 1):
            assert not UNREADABLE.search(line), f"{page.relative_to(ROOT)}:{number}: {line}"


def test_help_and_public_docstrings_speak_only_of_what_a_reader_can_open() -> None:
    root = typer.main.get_command(app)
    for where, text in [*help_texts(root, "posrisk"), *public_docstrings()]:
        assert not UNREADABLE.search(text), f"{where}: {text}"


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


def group(command: Any) -> dict[str, Any]:
    commands: dict[str, Any] = command.commands
    return commands


def options(command: Any) -> set[str]:
    return {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)} | {"--help"}


def help_texts(command: Any, path: str) -> Iterator[tuple[str, str]]:
    for text in (command.help, command.short_help, command.epilog):
        if text:
            yield path, text
    for param in command.params:
        if isinstance(param, typer.core.TyperOption | typer.core.TyperArgument) and param.help:
            yield f"{path} {param.name}", param.help
    for name, sub in getattr(command, "commands", {}).items():
        yield from help_texts(sub, f"{path} {name}")


def public_docstrings() -> Iterator[tuple[str, str]]:
    """The docstrings of the public API: posrisk.client and posrisk.testing (every module),
    posrisk.engine's own, and of every name their ``__all__`` export, methods included."""
    modules: list[ModuleType] = [posrisk.engine]
    for package in (posrisk.client, posrisk.testing):
        modules.append(package)
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            modules.append(importlib.import_module(info.name))
    for module in modules:
        yield module.__name__, module.__doc__ or ""
        for name in getattr(module, "__all__", []):
            value: Any = getattr(module, name)
            yield f"{module.__name__}.{name}", inspect.getdoc(value) or ""
            if inspect.isclass(value):
                for attribute, member in vars(value).items():
                    if not attribute.startswith("_") or attribute == "__init__":
                        yield f"{module.__name__}.{name}.{attribute}", inspect.getdoc(member) or ""
