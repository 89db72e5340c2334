# An empty file is a valid configuration: every default applies and points
# go to stdout.
