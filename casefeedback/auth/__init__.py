"""Staff accounts, sign-in and server-side sessions."""
