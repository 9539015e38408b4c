"""The tools folder: public type-hinted functions become tools; a broken file is one line, the others load."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from voicedesk.tools.builtins import default_registry
from voicedesk.tools.registry import ToolRegistry
from voicedesk.tools.user_tools import load_user_tools


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


GOOD = """
    import dataclasses
    from math import sqrt  # imported, not a tool

    from _helpers import greeting


    @dataclasses.dataclass
    class Box:
        width: float
        height: float


    def greet(name: str, loud: bool = False) -> str:
        '''Greet someone by name.

        Args:
            name: Who to greet.
        '''
        text = greeting(name)
        return text.upper() if loud else text


    async def area(box: Box) -> float:
        '''The area of a box.'''
        return box.width * box.height


    def helper(x):
        return x


    def _private(x: int) -> int:
        return x
"""


async def test_public_hinted_functions_become_tools(tmp_path: Path) -> None:
    write(tmp_path, "_helpers.py", "def greeting(name: str) -> str:\n    return f'Hello, {name}!'\n")
    path = write(tmp_path, "good.py", GOOD)
    registry = ToolRegistry()
    loaded = load_user_tools(tmp_path, registry)
    assert loaded.problems == ()
    assert [(tool.name, tool.path) for tool in loaded.tools] == [("greet", path), ("area", path)]
    assert registry.names() == ["greet", "area"]
    greet = registry.get("greet")
    assert greet is not None
    assert greet.description == "Greet someone by name."
    assert greet.parameters["properties"]["name"] == {"type": "string", "description": "Who to greet."}
    assert (await registry.execute("greet", '{"name": "Ada", "loud": true}')).output == "HELLO, ADA!"
    result = await registry.execute("area", json.dumps({"box": {"width": 2, "height": 3.5}}))
    assert (result.ok, result.output) == (True, "7.0")


async def test_a_file_that_fails_to_import_is_one_line_and_the_others_load(tmp_path: Path) -> None:
    write(tmp_path, "a_raises.py", "raise RuntimeError('needs an API key\\nsecond line')\n")
    write(tmp_path, "b_syntax.py", "def broken(:\n")
    write(tmp_path, "c_exits.py", "import sys\nsys.exit(3)\n")
    write(tmp_path, "d_missing.py", "import no_such_module_here\n")
    write(tmp_path, "e_ok.py", "def ping() -> str:\n    return 'pong'\n")
    registry = default_registry()
    loaded = load_user_tools(tmp_path, registry)
    assert [tool.name for tool in loaded.tools] == ["ping"]
    assert list(loaded.problems) == [
        f"{tmp_path / 'a_raises.py'}: failed to import: RuntimeError: needs an API key",
        f"{tmp_path / 'b_syntax.py'}: failed to import: SyntaxError: invalid syntax (line 1)",
        f"{tmp_path / 'c_exits.py'}: failed to import: SystemExit: 3",
        f"{tmp_path / 'd_missing.py'}: failed to import: ModuleNotFoundError: No module named 'no_such_module_here'",
    ]
    assert (await registry.execute("ping", "")).output == "pong"


def test_functions_that_cannot_be_tools_are_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tools.py",
        """
        def calculator(expression: str) -> str:
            return expression

        def spread(*values: int) -> int:
            return sum(values)

        def half_hinted(a: int, b) -> int:
            return a
        """,
    )
    registry = default_registry()
    loaded = load_user_tools(tmp_path, registry)
    assert loaded.tools == ()
    assert list(loaded.problems) == [
        f"{path}: calculator() is not a tool: a tool named 'calculator' is already registered",
        f"{path}: spread() is not a tool: tool 'spread': *args and **kwargs cannot be described to the model",
        f"{path}: half_hinted() is not a tool: tool 'half_hinted': parameter 'b' has no type hint",
    ]


def test_missing_folder_is_nothing_unless_named(tmp_path: Path) -> None:
    assert load_user_tools(tmp_path / "tools", ToolRegistry()).problems == ()
    file = write(tmp_path, "x.py", "")
    assert load_user_tools(file, ToolRegistry()).problems == (f"{file}: not a folder of tools",)
