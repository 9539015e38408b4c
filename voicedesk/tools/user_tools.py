"""The person's own tools: every public, type-hinted function in the ``*.py`` files of a folder.

Each file is imported as a module of its own (the folder is importable meanwhile, so a file may import a
helper next to it) and its functions go through ``ToolRegistry.register``, the same path as the built-ins:
schema from the type hints, description from the docstring. A file that fails to import, or a function that
cannot be described, becomes one line in ``problems``; everything else still loads.

A function counts as meant to be a tool when it is public (no leading underscore), defined in that file
(not imported into it) and carries at least one annotation; plain helpers without any are left alone.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicedesk.tools.registry import ToolRegistry

TOOLS_FOLDER_NAME = "tools"
"""The folder's name in the config directory."""

_MODULE_PREFIX = "voicedesk_user_tools"


@dataclass(frozen=True, slots=True)
class UserTool:
    name: str
    path: Path


@dataclass(frozen=True, slots=True)
class UserTools:
    tools: tuple[UserTool, ...] = ()
    problems: tuple[str, ...] = ()


def load_user_tools(folder: Path, registry: ToolRegistry, *, missing_ok: bool = True) -> UserTools:
    """Register the folder's tools in ``registry``; never raises for what is in the folder."""
    if not folder.is_dir():
        if missing_ok and not folder.exists():
            return UserTools()
        return UserTools(problems=(f"{folder}: not a folder of tools",))
    try:
        files = sorted(path for path in folder.glob("*.py") if not path.name.startswith(("_", ".")))
    except OSError as exc:
        return UserTools(problems=(f"{folder}: cannot be read ({exc.strerror or exc})",))
    tools: list[UserTool] = []
    problems: list[str] = []
    sys.path.insert(0, str(folder))
    try:
        for path in files:
            module = _import(path, problems)
            if module is not None:
                tools.extend(_register_functions(module, path, registry, problems))
    finally:
        sys.path.remove(str(folder))
    return UserTools(tools=tuple(tools), problems=tuple(problems))


def _import(path: Path, problems: list[str]) -> types.ModuleType | None:
    name = f"{_MODULE_PREFIX}.{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        problems.append(f"{path}: cannot be imported as Python")
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look a module up here while it runs
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        problems.append(f"{path}: failed to import: SyntaxError: {exc.msg} (line {exc.lineno})")
        return None
    except (Exception, SystemExit) as exc:
        sys.modules.pop(name, None)
        problems.append(f"{path}: failed to import: {_exception_text(exc)}")
        return None
    return module


def _register_functions(
    module: types.ModuleType, path: Path, registry: ToolRegistry, problems: list[str]
) -> list[UserTool]:
    registered: list[UserTool] = []
    for attribute, value in vars(module).items():
        if attribute.startswith("_") or not _is_own_function(value, module):
            continue
        if not _has_annotations(value):
            continue
        try:
            tool = registry.register(value)
        except (TypeError, ValueError) as exc:
            problems.append(f"{path}: {attribute}() is not a tool: {exc}")
            continue
        registered.append(UserTool(tool.name, path))
    return registered


def _is_own_function(value: Any, module: types.ModuleType) -> bool:
    return inspect.isfunction(value) and value.__module__ == module.__name__


def _has_annotations(func: Any) -> bool:
    return bool(getattr(func, "__annotations__", None))


def _exception_text(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
