"""The OPSWAT MetaAccess simulator: OAuth token exchange and devices/status_changed
(`app.py`), serving a `MetaAccessState` account (`state.py`) of seeded devices (`data.py`)."""
