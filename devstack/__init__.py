"""Local runtime: stand-ins for AWS (moto server), the partners and the Lambda SQS trigger."""
