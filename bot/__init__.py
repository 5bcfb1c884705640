"""Rhythm: a Slack bot that runs a contact-centre team leader's operating rhythm."""

__version__ = "0.1.0"
