"""Label templates and the PDF renderer: a library with no Flask in it (see issue 4)."""
