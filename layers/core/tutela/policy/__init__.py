"""Versioned, reviewable policies (data files + pure code). No AWS here."""
