"""The Lacework Edge simulator: every operation of the pack's operations.json (`spec.py`),
served by `app.py` over a `LaceworkEdgeTenant`'s seeded records (`store.py`, `data.py`)."""
