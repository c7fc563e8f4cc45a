"""The daily data lake: DynamoDB exports -> raw/ -> processed/ -> curated/, with quality, lineage and monitoring.

Everything after extraction (lake.extract) reads and writes only files (README, Data lake).
"""
