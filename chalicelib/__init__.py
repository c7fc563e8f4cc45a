"""ame-platform domain engines (pure) and their adapters."""
