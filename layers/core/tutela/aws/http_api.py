"""Powertools' API Gateway resolver without the rest of its event handler package and the event classes it
does not use (``tutela.aws.imports``): ReviewApi's routes use only the HTTP API resolver and ``Response``."""

from __future__ import annotations

from tutela.aws.imports import defer_package_init

defer_package_init("aws_lambda_powertools.event_handler")
defer_package_init("aws_lambda_powertools.utilities.data_classes")

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayHttpResolver, Response  # noqa: E402

__all__ = ["APIGatewayHttpResolver", "Response"]
