"""HTTP toolkit shared by every connection."""
