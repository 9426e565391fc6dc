"""Authentication and authorisation: users, passwords, sessions, API tokens, CSRF, throttling."""
