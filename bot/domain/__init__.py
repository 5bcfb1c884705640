"""Functional core: pure, synchronous contact-centre logic. No I/O imports (a test enforces it)."""
