"""The administrator's screens: staff accounts, teams and case assignments — never content.

Separation of duties: administrators hold no relation to any case, so the
access decision never lets them open an answer or an outcome; these screens
show names, roles, teams and counts only (not even case references).
"""
