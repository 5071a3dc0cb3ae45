"""Verification at scan time: verdicts, scan history and copy detection (no Flask here)."""
