"""Every CLI command and every environment setting is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

from app import create_app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_cli_command_is_in_the_readme(tmp_path: Path) -> None:
    app = create_app(
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SKIP_SCHEMA_CHECK": True}
    )
    commands = set(app.cli.commands)
    assert {"init-db", "create-user", "seed-demo"} <= commands
    for name in commands:
        assert f"`{name}" in README, f"flask command {name!r} is not documented in README.md"


def test_every_environment_variable_is_in_the_readme() -> None:
    sources = [*sorted((ROOT / "app").rglob("*.py")), ROOT / "Makefile"]
    names: set[str] = set()
    for path in sources:
        for line in path.read_text().splitlines():
            if "environ" in line:  # os.environ.get("X"), environ["X"], read(environ, "X")
                names |= set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', line))
    names |= {"PORT"}
    assert "DATABASE_URL" in names and "SECRET_KEY" in names
    for name in names:
        assert f"`{name}`" in README, f"setting {name} is not documented in README.md"


def test_quickstart_is_the_two_commands() -> None:
    quickstart = README.split("## Quickstart", 1)[1].split("##", 1)[0]
    commands = re.findall(r"^make \w+", quickstart, flags=re.M)
    assert commands == ["make run", "make test"]
