"""The Netskope simulator: REST v1 (clients, alerts, report), the v2 data-export and Client
Status iterators and the `/_sandbox/` admin endpoints, all on one app (`v1.py`), serving
a `NetskopeTenant` (`tenant.py`)."""
