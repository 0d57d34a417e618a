"""Incoming email (SPEC §10, issue 9): read into plain data (parsing), matched to a third party
and logged on its timeline."""
