"""The item bank: items, immutable versions, tags and concepts, and loading content/."""
