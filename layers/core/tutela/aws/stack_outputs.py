"""A deployed stack's outputs (the CLI finds the review API's URL there)."""

from __future__ import annotations

from tutela.aws import clients


def stack_output(stack_name: str, key: str) -> str | None:
    stacks = clients.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    for out in stacks[0].get("Outputs", []) if stacks else []:
        if out.get("OutputKey") == key:
            return str(out.get("OutputValue"))
    return None
