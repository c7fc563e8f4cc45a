"""Operator commands, `python -m chalicelib.commands.<name>`: credit policy backtests and
publishing, dead-letter replay."""
