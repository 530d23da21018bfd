"""A host whose router sends the help desk's apps to a second database, "helpdesk"."""
