"""The records officer's screens: legal holds on cases, set, reviewed and released (issue 16)."""
