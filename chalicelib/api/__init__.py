"""Glue between Chalice and the use cases: parse input, call the service, shape the answer.

Kept here (not in app.py) because Chalice packages only app.py and chalicelib/; app.py
stays a list of one-line routes.
"""
