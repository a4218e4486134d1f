"""Tutela: moderation domain library (pure; AWS adapters live in ``tutela.aws``)."""

__version__ = "0.1.0"
