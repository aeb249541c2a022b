"""OPSWAT MetaAccess: logic the pack's MetaAccess actions share."""
