"""What a request body must look like: defaulting, name syntax, typed field access and per-kind validation.

Defaulting (`defaults`) sits here beside validation because both read the same shapes (quantities,
containers) and a real server applies them together while decoding a body. Every validator returns
field causes and never raises; the registry turns them into a 422.
"""
