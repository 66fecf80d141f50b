"""Staff console (issue 4): accounts and the audit log so far; the web app comes next."""
