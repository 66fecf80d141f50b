"""Staff console: accounts and sessions, the web app (``app.py``), transcripts, the audit
log, retention and the handoff watchdog."""
