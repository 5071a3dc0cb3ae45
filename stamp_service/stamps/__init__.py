"""The stamp: signed CWT-style claims in a COSE_Sign1 message, carried as digits in a URL (docs/stamp-format.md)."""
