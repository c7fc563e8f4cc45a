"""Queue and schedule entry points (SQS batches, EventBridge rules), apart from the HTTP ones."""
