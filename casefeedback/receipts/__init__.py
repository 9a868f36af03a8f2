"""The person's own receipt: with their receipt code they view, download, add to, or withdraw what they gave."""
