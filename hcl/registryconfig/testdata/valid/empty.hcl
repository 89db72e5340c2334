# Nothing: every default.
