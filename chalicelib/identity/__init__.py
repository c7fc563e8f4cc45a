"""Who is calling: OAuth 2.0 client-credentials tokens of the bank's area systems, verified in-app."""
