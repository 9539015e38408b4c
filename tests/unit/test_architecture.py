"""The shape of the code that import-linter cannot see: who assembles a session."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "voicedesk"
ASSEMBLER = PACKAGE / "app"
ASSEMBLED = {"SessionController", "LocalRealtimeServer"}


def _constructions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
            if name in ASSEMBLED:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {name}(")
    return found


def test_only_the_app_layer_constructs_a_session_controller_or_a_local_server() -> None:
    outside = [hit for path in PACKAGE.rglob("*.py") if ASSEMBLER not in path.parents for hit in _constructions(path)]
    assert outside == []
    inside = [hit for path in ASSEMBLER.rglob("*.py") for hit in _constructions(path)]
    assert {hit.rpartition(" ")[2] for hit in inside} == {f"{name}(" for name in ASSEMBLED}, "the check sees them"


MAX_MODULE_LINES = 450


def test_no_module_is_longer_than_the_limit() -> None:
    lengths = {path: len(path.read_text(encoding="utf-8").splitlines()) for path in PACKAGE.rglob("*.py")}
    too_long = sorted(f"{path.relative_to(PACKAGE.parent)}: {n}" for path, n in lengths.items() if n > MAX_MODULE_LINES)
    assert too_long == [], f"split these by job (over {MAX_MODULE_LINES} lines)"


def test_starting_the_app_does_not_import_what_only_some_people_use() -> None:
    """The MCP SDK (pydantic, httpx, ...) takes most of a second to import: only when mcp.json names a server.
    The FLAC codec only when a recording is kept or played."""
    import subprocess
    import sys

    probe = (
        "import sys, voicedesk.cli, voicedesk.app, voicedesk.ui.main_window\n"
        "print(sorted(m for m in ('mcp', 'pydantic', 'httpx', 'soundfile') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"
