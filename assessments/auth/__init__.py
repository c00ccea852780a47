"""Authentication and authorization: passwords, tokens, the caller, and who may do what."""
