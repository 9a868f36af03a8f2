"""Encrypted, verifiable backups that never bring erased data back, and the running lock."""
