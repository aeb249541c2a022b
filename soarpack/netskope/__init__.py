"""Netskope behaviour shared by several actions and the ingest (not one action's code)."""
