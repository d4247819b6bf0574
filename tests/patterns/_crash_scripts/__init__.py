"""Programs the crash tests run as real processes (and SIGKILL): a writer and a worker.

Run from the repository root, e.g. ``python -m tests.patterns._crash_scripts.worker``;
each takes its settings from ``CW_*`` environment variables (see the modules).
"""
