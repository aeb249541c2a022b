"""Lacework Edge pieces the engine and the response actions share (auth, enum codes, spec binding)."""
