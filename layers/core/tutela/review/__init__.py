"""Human review: queue order, append-only review records, appeals, reports, strikes (pure domain).

``policy`` loads the versioned policy file, ``rules`` holds every rule a reviewer action must pass,
``service`` runs an action against the ports it is given (``tutela.aws.review_*`` in Lambda).
"""
