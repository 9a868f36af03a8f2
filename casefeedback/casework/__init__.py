"""The caseworker's side: cases, invitations, reading feedback as far as policy allows."""
