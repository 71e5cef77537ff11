"""Built-in report formats, one module each, registered as ``caserun.formats`` entry points."""
