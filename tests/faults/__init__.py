"""Fault tests: a private PostgreSQL, a TCP fault proxy, test certificates, a soak."""
