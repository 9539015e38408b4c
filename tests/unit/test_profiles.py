"""profiles.toml: reading (one line naming the line and the field for every mistake), writing, the first-start
file, and the assistants the session gets from it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from voicedesk.app.assistants import RuntimeProfiles, open_profiles
from voicedesk.app.profiles import (
    GuardrailSpec,
    Profile,
    ProfileError,
    dump_profiles,
    ensure_profiles_file,
    parse_profiles,
    profiles_path,
    resolve_hook,
)
from voicedesk.config import AppSettings, config_dir
from voicedesk.session.guardrails import GuardrailError
from voicedesk.session.handoffs import Assistant, Handoffs, handoff_tool_name

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "profiles.toml"


def test_the_example_file_reads_as_the_issue_describes_it() -> None:
    concierge, billing = parse_profiles(EXAMPLE.read_text())
    assert (concierge.name, concierge.voice, concierge.tools, concierge.handoffs) == (
        "Concierge", "marin", ("get_time",), ("Billing",),
    )  # fmt: skip
    assert billing.guardrails == GuardrailSpec(blocked_patterns=(r"\b(?:\d[ -]?){13,16}\b",), debounce_chars=100)
    assert billing.lines["guardrails"] == 20 and billing.lines[""] == 14


def test_what_is_written_reads_back_the_same() -> None:
    profiles = [
        Profile("Concierge", instructions='Say "hi".\nThen help.', voice="marin", tools=(), handoffs=("It's me",)),
        Profile(
            "It's me",
            speed=1.2,
            max_output_tokens="inf",
            tool_choice="auto",
            turn_detection={"type": "semantic_vad", "eagerness": "low", "create_response": False},
            guardrails=GuardrailSpec((r"\d{4}", "it's"), 5, 12.5, "json:dumps", 0.5),
        ),
    ]
    assert parse_profiles(dump_profiles(profiles)) == profiles


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[[profile]]\nname = "A"\nvoice = marin\n', "profiles.toml line 3: not valid TOML: Invalid value"),
        ("", "profiles.toml: no [[profile]] in it"),
        ('title = "x"\n[[profile]]\nname = "A"\n', "profiles.toml line 1: unknown table or key 'title'"),
        ("[[profile]]\ninstructions = 'hi'\n", "profiles.toml line 1: profile 1: name: give every profile a name"),
        ('[[profile]]\nname = "A"\n\n[[profile]]\nname = "A"\n', "line 5: profile 'A': name: another profile has"),
        ('[[profile]]\nname = "A"\n# the tools\n\ntools = "get_time"\n', "line 5: profile 'A': tools: must be a list"),
        ('[[profile]]\nname = "A"\nhandoffs = ["B"]\n', "line 3: profile 'A': handoffs: no profile named 'B'"),
        ('[[profile]]\nname = "A"\ncolour = "red"\n', "line 3: profile 'A': colour: unknown field"),
        ('[[profile]]\nname = "A"\nspeed = 3\n', "line 3: profile 'A': speed: the speech speed must be between"),
        ('[[profile]]\nname = "A"\nmax_output_tokens = 0\n', "line 3: profile 'A': max_output_tokens: max output"),
        ('[[profile]]\nname = "A"\nturn_detection = { type = "loud" }\n', "line 3: profile 'A': turn_detection:"),
        ('[[profile]]\nname = "A"\nturn_detection = { when = 1 }\n', "turn_detection: unknown field 'when'"),
        (
            '[[profile]]\nname = "A"\n\n[profile.guardrails]\nblocked_patterns = ["("]\n',
            "line 4: profile 'A': guardrails: blocked_patterns: '(' is not a regular expression",
        ),
        ('[[profile]]\nname = "A"\nguardrails = { debounce_chars = 0 }\n', "guardrails: debounce_chars must be"),
        ('[[profile]]\nname = "A"\nguardrails = { hook = "nosuchmodule:f" }\n', "hook: cannot import nosuchmodule"),
        ('[[profile]]\nname = "A"\nguardrails = { hook = "json" }\n', "guardrails: hook: 'json' is not module:"),
        ('[[profile]]\nname = "A"\nguardrails = { stop = true }\n', "guardrails: unknown field 'stop'"),
        (f'[[profile]]\nname = "{"x" * 60}"\n', "name: too long to hand off to"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_line_and_the_field(text: str, said: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profiles(text)
    message = str(caught.value)
    assert said in message and "\n" not in message


def test_the_first_start_writes_one_assistant_readable_by_its_owner_only() -> None:
    path = profiles_path(config_dir())
    profiles = open_profiles(None, None)
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in profiles.profiles] == ["Assistant"] and profiles.problem is None
    assert profiles.profiles[0] == Profile("Assistant")  # everything else from Settings
    path.write_text('[[profile]]\nname = "Mine"\n')
    ensure_profiles_file(path)  # never overwritten
    assert [p.name for p in open_profiles(None, None).profiles] == ["Mine"]


def test_an_unusable_file_leaves_the_settings_in_charge_and_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "profiles.toml"
    path.write_text("[[profile]]\nname = \n")
    profiles = open_profiles(path, None)
    assert profiles.profiles == [] and profiles.problem is not None and "line 2" in profiles.problem
    assert profiles.assistants(AppSettings()) == []
    with pytest.raises(ProfileError):
        profiles.replace([Profile("New")])
    assert path.read_text() == "[[profile]]\nname = \n"
    with pytest.raises(ProfileError, match="no profile named 'Sales'"):
        RuntimeProfiles.open(EXAMPLE, "Sales")


def test_assistants_offer_their_own_tools_over_the_settings() -> None:
    text = (
        '[[profile]]\nname = "Plain"\n\n[[profile]]\nname = "Billing"\ntools = ["calculator"]\n'
        'instructions = "Bill."\nturn_detection = { type = "none" }\n'
    )
    profiles = RuntimeProfiles(None, parse_profiles(text))
    settings = AppSettings(tools=["get_time"])
    settings.session = settings.session.__class__(instructions="Be kind.", voice="cedar")
    assert profiles.with_named_builtins(settings.tools) == ["get_time", "calculator"]
    plain, billing = profiles.assistants(settings)
    assert plain.settings.instructions == "Be kind." and plain.settings.voice == "cedar"
    assert plain.offers("get_time") and plain.offers("my_file_tool") and not plain.offers("calculator")
    assert billing.settings.instructions == "Bill." and billing.settings.turn_detection.type == "none"
    assert billing.offers("calculator") and not billing.offers("get_time")
    assert profiles.unknown_tools(["calculator", "get_time"]) == []
    assert "no tool named 'calculator'" in profiles.unknown_tools(["get_time"])[0]


def test_handoff_tools_are_named_and_described_as_in_the_agents_sdk() -> None:
    assert handoff_tool_name("Billing") == "transfer_to_billing"
    assert handoff_tool_name("Tech Support (EU)") == "transfer_to_tech_support__eu_"
    billing = Assistant("Billing", AppSettings().session, handoff_description="Payments.")
    assert billing.handoff_tool()["description"] == "Handoff to the Billing agent to handle the request. Payments."
    handoffs = Handoffs(emit=lambda e: None, voice_used=lambda: False, settings=lambda: billing.settings,
                        apply=lambda a, s: None, resend=lambda: None)  # fmt: skip
    concierge = Assistant("Concierge", billing.settings, tools=frozenset({"get_time"}), handoffs=("Billing",))
    handoffs.use([concierge, billing], None)
    tools = handoffs.tool_definitions([{"name": "get_time"}, {"name": "calculator"}])
    assert [t["name"] for t in tools] == ["get_time", "transfer_to_billing"]
    assert handoffs.target_of("transfer_to_billing") is billing and handoffs.target_of("transfer_to_x") is None


def test_hooks_resolve_by_module_and_function() -> None:
    import json

    assert resolve_hook("json:dumps") is json.dumps
    with pytest.raises(GuardrailError, match="json has no function nothing"):
        resolve_hook("json:nothing")
