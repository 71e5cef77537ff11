"""Writers that turn a launch (or a list of rows) into files other tools read: CSV, JSON,
JSON Lines, JUnit XML, CTRF JSON, a Markdown summary and a single-file HTML report.

Pure: they take the plain objects of :mod:`caserun.export.model` (or dicts) and yield
text or bytes piece by piece; the services read the store and feed them page by page.
"""
