"""The audio engine on real devices: a microphone source and a speaker sink wired for echo control.

The session controller uses ``engine.source`` (AudioSource) and ``engine.sink`` (AudioSink); the
GUI polls ``levels()``/``history()`` on them. The sink's played audio, on the PortAudio clock, is
the echo canceller's reference for the source.
"""

from __future__ import annotations

from voicedesk.audio.base import BlockCallback, ProblemCallback
from voicedesk.audio.capture import DeviceSource
from voicedesk.audio.echo import EchoControl, EchoMode
from voicedesk.audio.playback import DeviceSink


class AudioEngine:
    def __init__(
        self,
        input_device: str | None = None,
        output_device: str | None = None,
        echo: EchoMode = "aec",
        block_ms: int = 20,
        on_problem: ProblemCallback | None = None,
        *,
        prebuffer_ms: int = 40,
        noise_suppression: bool = False,
    ) -> None:
        self.echo = EchoControl(echo, block=24 * block_ms, noise_suppression=noise_suppression)
        self.sink = DeviceSink(output_device, on_problem=on_problem, prebuffer_s=prebuffer_ms / 1000)
        self._reference()
        # Before each microphone block, bring the reference up to what the speaker has played.
        self.source = DeviceSource(
            input_device,
            block_ms=block_ms,
            echo=self.echo,
            before_block=self.sink.pump,
            on_problem=on_problem,
        )

    @property
    def echo_mode(self) -> EchoMode:
        return self.echo.mode

    def set_echo_mode(self, mode: EchoMode) -> None:
        self.echo.set_mode(mode)
        self._reference()

    def set_noise_suppression(self, on: bool) -> None:
        self.echo.set_noise_suppression(on)

    def _reference(self) -> None:
        # The speaker's read-back is resampled for the echo timeline only when echo control uses it.
        self.sink.timeline = self.echo.timeline if self.echo.mode != "off" else None

    async def switch_input(self, name: str | None) -> None:
        """Record from another input device (by name; None = system default) without stopping."""
        await self.source.switch(name)

    async def switch_output(self, name: str | None) -> None:
        """Play on another output device; queued audio and ``played_samples`` carry over."""
        await self.sink.switch(name)

    async def start(self, on_block: BlockCallback | None = None) -> None:
        """Convenience for tests and tools: start the sink, then the source if given a callback."""
        await self.sink.start()
        if on_block is not None:
            await self.source.start(on_block)

    async def stop(self) -> None:
        await self.source.stop()
        await self.sink.stop()
