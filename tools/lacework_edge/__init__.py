"""The Lacework Edge converter: the vendor document (seed 002) and ops.yaml in,
schemas/lacework_edge/operations.json out (`python -m tools.lacework_edge.convert`)."""
