"""AWS adapters (boto3 lives here and only here). Each takes an optional client and creates one lazily."""
