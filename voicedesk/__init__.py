"""voicedesk: a desktop voice assistant for speech-to-speech realtime models."""

__version__ = "0.1.0"
