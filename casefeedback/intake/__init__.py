"""The service user's side: consent, questions, submission, receipt."""
