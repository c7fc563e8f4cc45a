"""HTTP entry points: one Chalice Blueprint per area (`routes`), each route parsing input,
calling its area's service and shaping the answer, in a few lines.

Kept here (not in app.py) because Chalice packages only app.py and chalicelib/; app.py
registers the blueprints and so reads as the list of what the app serves.
"""
