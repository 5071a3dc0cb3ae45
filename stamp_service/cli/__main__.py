"""`python -m stamp_service.cli`: the same as the ocop-stamp command."""

from . import main

main()
