"""The wire: framing on the socket and the HETS proprietary error text (no I/O here)."""
