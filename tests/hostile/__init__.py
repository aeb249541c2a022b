"""Hostile vendor answers and hostile configuration: a clear error or a correct parse."""
