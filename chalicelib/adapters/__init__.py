"""Adapters: the ports implemented over HTTP partners, DynamoDB (PynamoDB) and SQS."""
