"""The audio options of the command line reach the settings: one run's choice over the saved one."""

from __future__ import annotations

from voicedesk.cli import build_parser, settings_from_args
from voicedesk.config import AppSettings


def test_noise_suppression_flag_overrides_the_saved_setting_both_ways() -> None:
    parser = build_parser()
    saved_on = AppSettings(noise_suppression=True)
    args = parser.parse_args(["ask", "--out-dir", "/tmp/x", "--text", "hi", "--no-noise-suppression"])
    assert settings_from_args(args, saved_on).noise_suppression is False
    args = parser.parse_args(
        ["ask", "--out-dir", "/tmp/x", "--text", "hi", "--noise-suppression", "--echo", "half-duplex"]
    )
    chosen = settings_from_args(args, AppSettings())
    assert chosen.noise_suppression is True and chosen.echo == "half-duplex"
    args = parser.parse_args(["ask", "--out-dir", "/tmp/x", "--text", "hi"])
    assert settings_from_args(args, saved_on).noise_suppression is True  # not given: the saved one


def test_noise_suppression_round_trips_through_the_settings_file() -> None:
    settings = AppSettings(noise_suppression=True)
    assert AppSettings.from_json(settings.to_json()).noise_suppression is True
    assert AppSettings.from_json({}).noise_suppression is False
