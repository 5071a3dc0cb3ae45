"""Inspectors' tools: decoding shelf photos, stamp histories, cases and inspection visits (no Flask here)."""
