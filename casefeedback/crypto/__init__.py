"""The only package that touches key material: key-encryption keys and data keys."""
