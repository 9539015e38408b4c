"""The runtime's profiles: which file, which profile talks, and the session's assistants built from them.

Profiles name their tools; the session's registry holds every tool any profile names (built-ins included
even when Settings leave them off) and each assistant offers only its own. A profile that names no tools
offers what Settings choose, and not the built-ins only other profiles asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from voicedesk.app.profiles import (
    Profile,
    ProfileError,
    ensure_profiles_file,
    load_profiles,
    profiles_path,
    save_profiles,
)
from voicedesk.config import AppSettings, config_dir
from voicedesk.session import events as se
from voicedesk.session.guardrails import GuardrailError
from voicedesk.session.handoffs import Assistant
from voicedesk.tools.builtins import default_registry

log = logging.getLogger(__name__)


class RuntimeProfiles:
    def __init__(
        self, path: Path | None, profiles: Sequence[Profile], current: str | None = None, problem: str | None = None
    ) -> None:
        self.path = path
        self.profiles = list(profiles)
        self.current = current or (self.profiles[0].name if self.profiles else None)
        """The profile talking now (a handoff or the picker changes it); None without profiles."""
        self.problem = problem
        """Why the file could not be used (then there are no profiles: the Settings make the assistant)."""
        self.told = False

    @classmethod
    def open(cls, path: Path, start: str | None = None, *, create: bool = False) -> RuntimeProfiles:
        """The profiles of ``path`` (created with one "Assistant" profile when ``create`` and missing);
        ``start`` talks first. ProfileError for a file that cannot be used or an unknown ``start``."""
        if create:
            ensure_profiles_file(path)
        profiles = load_profiles(path)
        names = [profile.name for profile in profiles]
        if start is not None and start not in names:
            raise ProfileError(f"no profile named {start!r} in {path} (the profiles are {', '.join(names)})")
        return cls(path, profiles, start)

    @property
    def names(self) -> list[str]:
        return [profile.name for profile in self.profiles]

    def follow(self, event: se.SessionEvent) -> None:
        """A handoff changed who talks."""
        if isinstance(event, se.Handoff) and event.to_agent in self.names:
            self.current = event.to_agent

    def with_named_builtins(self, builtins: Sequence[str]) -> list[str]:
        return list(dict.fromkeys([*builtins, *self.named_builtins()]))

    def named_builtins(self) -> list[str]:
        """Built-in tools some profile names: the session's registry must hold them."""
        builtins = set(default_registry().names())
        return [name for profile in self.profiles for name in profile.tools or () if name in builtins]

    def select(self, name: str) -> None:
        """The person picked ``name``: it talks from now on. KeyError for one that does not exist."""
        if name not in self.names:
            raise KeyError(name)
        self.current = name

    def built(self, settings: AppSettings, emit: Callable[[se.SessionEvent], None]) -> list[Assistant]:
        """``assistants``, or none (and one line) when a profile cannot be built any more."""
        try:
            return self.assistants(settings)
        except ProfileError as exc:
            emit(se.ErrorOccurred(f"Profiles: {exc}", "profiles", hint="Fix profiles.toml."))
            return []

    def assistants(self, settings: AppSettings) -> list[Assistant]:
        """The session's assistants over the Settings' model settings. A profile that cannot be built (its
        hook no longer imports, say) raises ProfileError."""
        hidden = frozenset(self.named_builtins()) - set(settings.tools)
        built = []
        for profile in self.profiles:
            try:
                guardrails = profile.guardrails.build()
                session = profile.settings(settings.session)
            except (GuardrailError, ValueError) as exc:
                line = profile.lines.get("")
                raise ProfileError(f"{self.path} line {line}: profile {profile.name!r}: {exc}") from None
            built.append(
                Assistant(
                    profile.name,
                    session,
                    tools=frozenset(profile.tools) if profile.tools is not None else None,
                    hidden_tools=hidden,
                    handoffs=profile.handoffs,
                    handoff_description=profile.handoff_description,
                    guardrails=guardrails,
                )
            )
        return built

    def unknown_tools(self, known: Iterable[str]) -> list[str]:
        """One line for each tool a profile names that no source has (built-in, tools folder, MCP)."""
        have = set(known)
        problems = []
        for profile in self.profiles:
            missing = [name for name in profile.tools or () if name not in have]
            if missing:
                where = f"{self.path} line {profile.lines.get('tools') or profile.lines.get('')}"
                problems.append(
                    f"{where}: profile {profile.name!r}: tools: no tool named {', '.join(map(repr, missing))} "
                    f"(the tools are {', '.join(sorted(have))})"
                )
        return problems

    def replace(self, profiles: Sequence[Profile]) -> list[Profile]:
        """Save edited profiles to the file and use them; the one talking stays if it still exists."""
        if self.path is None or self.problem is not None:  # never overwrite a file we could not read
            raise ProfileError(f"profiles.toml could not be read at start ({self.problem}): fix it by hand")
        saved = save_profiles(self.path, profiles)
        self.profiles = saved
        if self.current not in self.names:
            self.current = self.names[0]
        return saved


def open_profiles(path: Path | None, start: str | None) -> RuntimeProfiles:
    """The runtime's profiles (``path``, else the config dir's profiles.toml, created on first start); none,
    with the one line that says why, when they cannot be used (the session runs on the Settings alone)."""
    file = path or profiles_path(config_dir())
    try:
        return RuntimeProfiles.open(file, start, create=path is None)
    except (ProfileError, OSError) as exc:
        log.warning("%s", exc)
        return RuntimeProfiles(file, (), problem=str(exc))
