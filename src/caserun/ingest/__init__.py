"""Ingest: report parsers behind one registry. Parsers are pure: bytes in, TestResults out."""
