"""caserun: a test-results server that keeps every case run and explains its history."""

__version__ = "0.1.0"
