"""What is kept, for how long; erasure by destroying keys."""
