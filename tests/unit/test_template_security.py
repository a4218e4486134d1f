"""The template's security and retention promises, read from template.yaml itself.

moto does not enforce bucket, queue or table policies, so these tests evaluate the policy statements that
carry each promise (quarantine readable only by reviewers, published writable only by Act, per-writer staging
prefixes, append-only decisions, the alarmed DLQ, retention, encryption): deleting or loosening a statement
breaks a test. Intrinsics are resolved to concrete strings after the template's conditions are evaluated for
the parameters under test; SAM-generated resources (function roles, the upload rule) come from the real SAM
transform.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tutela_dev.emulator.cfn_yaml import load_template
from tutela_dev.emulator.stack import _Conditions

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
REGION = "us-east-1"
FUNCTIONS = [
    "ScanMediaFunction",
    "ScrubGeotagsFunction",
    "ClassifyCommentsFunction",
    "RecordDecisionFunction",
    "ActFunction",
    "ReviewApiFunction",
    "ClassifyPostFunction",
    "PostContextFunction",
    "RemodPlanFunction",
    "RemoderateFunction",
]
# Re-evaluations (a post's text declares a child) and re-moderations withdraw and quarantine as Act does; they
# never publish. The review API quarantines reviewers' blocks and serves them blurred previews.
ACTORS = {"ActFunctionRole", "PostContextFunctionRole", "ReviewApiFunctionRole", "RemoderateFunctionRole"}
BUCKETS = ["UploadBucket", "StagingBucket", "PublishedBucket", "QuarantineBucket"]
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/Admin"
_SUB = re.compile(r"\$\{([A-Za-z0-9_:.]+)\}")


# ---------------------------------------------------------------- resolving the template
def arn(logical: str) -> str:
    """The stand-in ARN of a resource (roles get a role ARN so principal conditions read naturally)."""
    if logical.endswith("Role"):
        return f"arn:aws:iam::{ACCOUNT}:role/{logical}"
    return f"arn:aws:test:{REGION}:{ACCOUNT}:{logical}"


def _parameters(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    values = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
    return {**values, **overrides}


class Resolved:
    """The template with conditions applied and every Ref/GetAtt/Sub/If replaced by a concrete string."""

    def __init__(self, template: dict[str, Any], **overrides: str) -> None:
        self.params = _parameters(template, overrides)
        cond = _Conditions(template.get("Conditions", {}), self.params)
        self.conditions = cond
        resources = {
            k: v
            for k, v in template["Resources"].items()
            if "Condition" not in v or cond.truth(v["Condition"])
        }
        self.resources: dict[str, Any] = self._value(cond.apply(resources))

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"}
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::StackName":
            return "tutela-test"
        if name in self.params:
            return self.params[name]
        return f"ref:{name}"

    def _getatt(self, logical: str, attr: str) -> str:
        return arn(logical) if attr == "Arn" else f"{logical}.{attr}"

    def _sub(self, text: str) -> str:
        def one(m: re.Match[str]) -> str:
            name = m.group(1)
            if "." in name and not name.startswith("AWS::"):
                logical, attr = name.split(".", 1)
                return self._getatt(logical, attr)
            return self._ref(name)

        return _SUB.sub(one, text)

    def _value(self, node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Ref"}:
                return self._ref(node["Ref"])
            if set(node) == {"Fn::GetAtt"}:
                return self._getatt(*node["Fn::GetAtt"])
            if set(node) == {"Fn::Sub"}:
                return self._sub(node["Fn::Sub"])
            return {k: self._value(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._value(v) for v in node]
        return node

    def props(self, logical: str) -> dict[str, Any]:
        return dict(self.resources[logical].get("Properties", {}))


def sam_transform(template: dict[str, Any], **overrides: str) -> dict[str, Any]:
    """The CloudFormation the SAM transform generates (roles, rules), with conditions applied."""
    import copy
    import os
    from unittest import mock

    from samtranslator.translator.transform import transform

    from tutela_dev.emulator.stack import _null_policy_loader

    params = {
        **_parameters(template, overrides),
        "AWS::Region": REGION,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
    }
    template = copy.deepcopy(template)
    for r in template["Resources"].values():  # local paths are for `sam build`; the transform wants S3
        for uri in ("CodeUri", "ContentUri", "DefinitionUri"):
            if uri in r.get("Properties", {}):
                r["Properties"][uri] = "s3://code/artifact.zip"
    with mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": REGION}):  # the transform asks boto3
        return dict(transform(template, params, _null_policy_loader()))


# ---------------------------------------------------------------- evaluating policies
def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _matches(patterns: Any, value: str) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in _as_list(patterns))


def _condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool:
    for op, tests in condition.items():
        for key, expected in tests.items():
            if key not in context:
                raise AssertionError(f"test context lacks {key} (condition {op})")
            actual, wanted = context[key], [str(e) for e in _as_list(expected)]
            if op in ("ArnEquals", "StringEquals"):
                ok = actual in wanted
            elif op in ("ArnNotEquals", "StringNotEquals"):
                ok = actual not in wanted
            elif op in ("ArnLike", "StringLike"):
                ok = _matches(wanted, actual)
            elif op in ("ArnNotLike", "StringNotLike"):
                ok = not _matches(wanted, actual)
            elif op == "Bool":
                ok = actual.lower() in [w.lower() for w in wanted]
            else:
                raise AssertionError(f"the test evaluator does not know condition operator {op}")
            if not ok:
                return False
    return True


def _applies(
    stmt: dict[str, Any], principal: str, action: str, resource: str, context: dict[str, str]
) -> bool:
    who = stmt.get("Principal", "*")
    if who != "*" and not (isinstance(who, dict) and who.get("AWS") in ("*", principal)):
        return False
    if "Action" in stmt and not _matches(stmt["Action"], action):
        return False
    if "NotAction" in stmt and _matches(stmt["NotAction"], action):
        return False
    if "Resource" in stmt and not _matches(stmt["Resource"], resource):
        return False
    if "NotResource" in stmt and _matches(stmt["NotResource"], resource):
        return False
    return _condition_holds(stmt.get("Condition", {}), context)


def denied(policy: dict[str, Any], principal: str, action: str, resource: str, *, tls: bool = True) -> bool:
    """Does an explicit Deny in this resource policy refuse the request?"""
    context = {"aws:PrincipalArn": principal, "aws:SecureTransport": "true" if tls else "false"}
    return any(
        s["Effect"] == "Deny" and _applies(s, principal, action, resource, context)
        for s in _as_list(policy["Statement"])
    )


def role_statements(cfn: dict[str, Any], role: str) -> Iterator[dict[str, Any]]:
    for policy in cfn["Resources"][role]["Properties"].get("Policies", []):
        yield from _as_list(policy["PolicyDocument"]["Statement"])


def role_allows(cfn: dict[str, Any], role: str, action: str, resource: str) -> bool:
    """Does the role's inline policy allow it? (Resources compared on their stand-in form.)"""
    resolver = _CfnStrings()
    for stmt in role_statements(cfn, role):
        if stmt.get("Effect") != "Allow" or not _matches(stmt.get("Action", []), action):
            continue
        if _matches([resolver.text(r) for r in _as_list(stmt.get("Resource", []))], resource):
            return True
    return False


class _CfnStrings:
    """Render the transform's Fn::Sub/GetAtt/Join resources into the same stand-in strings."""

    def text(self, node: Any) -> str:
        if isinstance(node, str):
            return node
        if "Fn::GetAtt" in node:
            logical, attr = node["Fn::GetAtt"]
            return arn(logical) if attr == "Arn" else f"{logical}.{attr}"
        if "Fn::Sub" in node:
            body = node["Fn::Sub"]
            if isinstance(body, list):
                body, names = body
                for k, v in names.items():
                    body = body.replace("${" + k + "}", self.text(v))
            return _SUB.sub(lambda m: arn(m.group(1).split(".")[0]) if "." in m.group(1) else "*", body)
        if "Fn::Join" in node:
            sep, parts = node["Fn::Join"]
            return str(sep).join(self.text(p) for p in parts)
        if "Ref" in node:
            return f"ref:{node['Ref']}"
        raise AssertionError(f"cannot render {node!r}")


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def res(raw: dict[str, Any]) -> Resolved:
    return Resolved(raw)


@pytest.fixture(scope="module")
def cfn(raw: dict[str, Any]) -> dict[str, Any]:
    out = sam_transform(raw)
    params = _parameters(raw, {})
    out["Resources"] = _Conditions(out.get("Conditions", {}), params).apply(out["Resources"])
    return out


def bucket_policy(res: Resolved, bucket: str) -> dict[str, Any]:
    policies = [
        r["Properties"]["PolicyDocument"]
        for r in res.resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == f"ref:{bucket}"
    ]
    assert len(policies) == 1, f"{bucket} must have exactly one bucket policy"
    return policies[0]


OTHER_PRINCIPALS = [ADMIN, f"arn:aws:iam::{ACCOUNT}:root"] + [arn(f"{f}Role") for f in FUNCTIONS]


# ---------------------------------------------------------------- quarantine
def test_quarantined_content_is_readable_only_by_reviewers(res: Resolved) -> None:
    policy = bucket_policy(res, "QuarantineBucket")
    obj = arn("QuarantineBucket") + "/media/p/x.jpg@v1"
    for action in ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectAttributes"):
        assert not denied(policy, arn("ReviewerRole"), action, obj)
        for principal in OTHER_PRINCIPALS:
            if principal in {arn(a) for a in ACTORS}:
                continue  # verifies its own copy (HeadObject); asserted separately below
            assert denied(policy, principal, action, obj), (principal, action)


def test_only_reviewers_act_and_the_review_api_can_read_quarantine(res: Resolved) -> None:
    """Act verifies its copies; the review API renders blurred previews for authenticated reviewers."""
    policy = bucket_policy(res, "QuarantineBucket")
    stmt = next(s for s in policy["Statement"] if s.get("Sid") == "OnlyReviewersRead")
    exempt = set(_as_list(stmt["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]))
    assert exempt == {arn("ReviewerRole")} | {arn(a) for a in ACTORS}


def test_only_act_and_review_write_or_delete_quarantine(res: Resolved) -> None:
    policy = bucket_policy(res, "QuarantineBucket")
    obj = arn("QuarantineBucket") + "/media/p/x.jpg@v1"
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"):
        for actor in ACTORS:
            assert not denied(policy, arn(actor), action, obj)
        for principal in [*OTHER_PRINCIPALS, arn("ReviewerRole")]:
            if principal not in {arn(a) for a in ACTORS}:
                assert denied(policy, principal, action, obj), (principal, action)


@pytest.mark.parametrize("mode", ["GOVERNANCE", "COMPLIANCE"])
def test_quarantine_object_lock_is_optional_and_retains_for_the_quarantine_period(
    raw: dict[str, Any], mode: str
) -> None:
    assert "ObjectLockEnabled" not in Resolved(raw).props("QuarantineBucket")
    props = Resolved(raw, QuarantineObjectLock=mode, QuarantineRetentionDays="365").props("QuarantineBucket")
    assert props["ObjectLockEnabled"] is True
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}  # Object Lock requires it
    retention = props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
    assert retention == {"Mode": mode, "Days": "365"}


# ---------------------------------------------------------------- published and staging
def test_published_bucket_is_writable_only_by_act_and_review(res: Resolved) -> None:
    policy = bucket_policy(res, "PublishedBucket")
    obj = arn("PublishedBucket") + "/media/p/x.jpg"
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectTagging"):
        for actor in ACTORS:
            assert not denied(policy, arn(actor), action, obj)
        for principal in OTHER_PRINCIPALS:
            if principal not in {arn(a) for a in ACTORS}:
                assert denied(policy, principal, action, obj), (principal, action)


def test_each_staging_writer_owns_its_prefix(res: Resolved) -> None:
    policy = bucket_policy(res, "StagingBucket")
    scrubbed = arn("StagingBucket") + "/scrubbed/v1/media/p/x.jpg"
    results = arn("StagingBucket") + "/comment-results/v1/comments/p/b.jsonl"
    elsewhere = arn("StagingBucket") + "/anything/else"
    scrub, classify = arn("ScrubGeotagsFunctionRole"), arn("ClassifyCommentsFunctionRole")
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert not denied(policy, scrub, action, scrubbed)
        assert not denied(policy, classify, action, results)
        assert denied(policy, scrub, action, results)
        assert denied(policy, classify, action, scrubbed)
        for principal in (ADMIN, arn("ActFunctionRole"), arn("RecordDecisionFunctionRole")):
            assert denied(policy, principal, action, scrubbed)
            assert denied(policy, principal, action, results)
    post = arn("ClassifyPostFunctionRole")
    posts = arn("StagingBucket") + "/post-results/v1/posts/p.json"
    assert not denied(policy, post, "s3:PutObject", posts)
    for principal in (scrub, classify, ADMIN, arn("ActFunctionRole")):
        assert denied(policy, principal, "s3:PutObject", posts)
    assert denied(policy, post, "s3:PutObject", scrubbed) and denied(policy, post, "s3:PutObject", results)
    for principal in (scrub, classify, post, ADMIN):
        assert denied(policy, principal, "s3:PutObject", elsewhere)


def test_the_review_function_owns_the_reviewed_staging_prefix(res: Resolved, cfn: dict[str, Any]) -> None:
    policy = bucket_policy(res, "StagingBucket")
    reviewed = arn("StagingBucket") + "/reviewed/v1/media/p/x.jpg"
    scrubbed = arn("StagingBucket") + "/scrubbed/v1/media/p/x.jpg"
    review = arn("ReviewApiFunctionRole")
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert not denied(policy, review, action, reviewed)
        assert denied(policy, review, action, scrubbed)
        for principal in (ADMIN, arn("ActFunctionRole"), arn("ScrubGeotagsFunctionRole")):
            assert denied(policy, principal, action, reviewed)
    assert role_allows(cfn, "ReviewApiFunctionRole", "s3:PutObject", reviewed)
    assert not role_allows(cfn, "ReviewApiFunctionRole", "s3:PutObject", scrubbed)


def test_staging_prefixes_are_the_ones_the_handlers_write() -> None:
    import importlib.util

    from tutela.objects import ObjectRef

    ref = ObjectRef("up", "media/p/x.jpg", "v1")
    keys = {}
    for name, func in (
        ("scrub_geotags", "staging_key"),
        ("classify_comments", "results_key"),
        ("classify_post", "staged_key"),
    ):
        spec = importlib.util.spec_from_file_location(f"_t_{name}", ROOT / "functions" / name / "app.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        keys[name] = getattr(module, func)(ref)
    assert keys["scrub_geotags"].startswith("scrubbed/")
    assert keys["classify_comments"].startswith("comment-results/")
    assert keys["classify_post"].startswith("post-results/")


def test_every_bucket_refuses_plain_http(res: Resolved) -> None:
    for bucket in [*BUCKETS, "AccessLogsBucket"]:
        policy = bucket_policy(res, bucket)
        assert denied(policy, arn("ReviewerRole"), "s3:GetObject", arn(bucket) + "/k", tls=False), bucket


# ---------------------------------------------------------------- roles (from the SAM transform)
def test_no_function_role_can_change_bucket_configuration_or_lifecycle(cfn: dict[str, Any]) -> None:
    config = r"Put(Bucket|Lifecycle|Replication|Encryption|Accelerate|Analytics|Inventory).*"
    other = r"DeleteBucket.*|PutObjectLockConfiguration|BypassGovernanceRetention"
    forbidden = re.compile(rf"^s3:(\*|{config}|{other})$", re.I)
    functions = [k for k, r in cfn["Resources"].items() if r["Type"] == "AWS::Lambda::Function"]
    assert set(FUNCTIONS) <= set(functions)
    for fn in functions:  # every function, including ones added later
        for stmt in role_statements(cfn, f"{fn}Role"):
            for action in _as_list(stmt.get("Action", [])):
                assert not forbidden.match(action), f"{fn}: {action}"
                assert action != "*", fn


def test_act_role_publishes_and_quarantines_but_not_lifecycle(cfn: dict[str, Any]) -> None:
    role = "ActFunctionRole"
    assert role_allows(cfn, role, "s3:PutObject", arn("PublishedBucket") + "/media/p/x.jpg")
    assert role_allows(cfn, role, "s3:PutObject", arn("QuarantineBucket") + "/media/p/x.jpg@v")
    # A final original is retired with a delete marker (DeleteObject), never tagged or rewritten.
    assert role_allows(cfn, role, "s3:DeleteObject", arn("UploadBucket") + "/media/p/x.jpg")
    assert not role_allows(cfn, role, "s3:PutObjectTagging", arn("UploadBucket") + "/media/p/x.jpg")
    assert not role_allows(cfn, role, "s3:PutObjectVersionTagging", arn("UploadBucket") + "/media/p/x.jpg")
    assert not role_allows(cfn, role, "s3:PutLifecycleConfiguration", arn("UploadBucket"))
    assert not role_allows(cfn, role, "s3:PutObject", arn("UploadBucket") + "/media/p/x.jpg")


def test_staging_writers_are_scoped_to_their_prefix_in_iam_too(cfn: dict[str, Any]) -> None:
    scrubbed = arn("StagingBucket") + "/scrubbed/v/k"
    results = arn("StagingBucket") + "/comment-results/v/k"
    assert role_allows(cfn, "ScrubGeotagsFunctionRole", "s3:PutObject", scrubbed)
    assert not role_allows(cfn, "ScrubGeotagsFunctionRole", "s3:PutObject", results)
    assert role_allows(cfn, "ClassifyCommentsFunctionRole", "s3:PutObject", results)
    assert not role_allows(cfn, "ClassifyCommentsFunctionRole", "s3:PutObject", scrubbed)


def test_decision_history_is_append_only(res: Resolved, cfn: dict[str, Any]) -> None:
    policy = res.props("DecisionsTable")["ResourcePolicy"]["PolicyDocument"]
    for principal in [*OTHER_PRINCIPALS, arn("ReviewerRole")]:
        for action in ("dynamodb:DeleteItem", "dynamodb:UpdateItem", "dynamodb:PartiQLDelete"):
            assert denied(policy, principal, action, arn("DecisionsTable")), (principal, action)
        assert not denied(policy, principal, "dynamodb:PutItem", arn("DecisionsTable"))
    writers = set()
    functions = [k[: -len("Role")] for k, r in cfn["Resources"].items() if k.endswith("FunctionRole")]
    assert set(FUNCTIONS) <= set(functions)
    for fn in functions:  # every function, including ones added later
        for action in ("dynamodb:DeleteItem", "dynamodb:UpdateItem"):
            assert not role_allows(cfn, f"{fn}Role", action, arn("DecisionsTable")), (fn, action)
        if role_allows(cfn, f"{fn}Role", "dynamodb:PutItem", arn("DecisionsTable")):
            writers.add(fn)
    # PostContext appends re-evaluated decisions and raises a post's flags; ClassifyComments may only register
    # a batch in its post's partition (post# keys: never a decision item).
    # The review API appends reviewers' actions (new items in a transaction, never an overwrite).
    assert writers == {
        "RecordDecisionFunction",
        "ActFunction",
        "PostContextFunction",
        "ClassifyCommentsFunction",
        "ReviewApiFunction",
        "RemoderateFunction",  # appends re-moderations (conditional puts, like PostContext)
    }
    [membership] = [
        stmt
        for stmt in role_statements(cfn, "ClassifyCommentsFunctionRole")
        if "dynamodb:PutItem" in _as_list(stmt.get("Action", []))
    ]
    assert membership["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["post#*"]}}


# ---------------------------------------------------------------- dead letters and alarms
def test_rules_dead_letter_into_the_alarmed_queue(cfn: dict[str, Any], res: Resolved) -> None:
    rules = {k: r for k, r in cfn["Resources"].items() if r["Type"] == "AWS::Events::Rule"}
    names = [
        "LongModerationStateMachineUploadCreated",
        "ModerationStateMachineUploadCreated",
        "RemoderationStateMachineBankSnapshotWritten",
        "ReviewApiFunctionHeldForReview",
        "UnfinishedExecutionsRule",
    ]
    assert sorted(rules) == names
    for name, rule in rules.items():
        (target,) = rule["Properties"]["Targets"]
        if name == "UnfinishedExecutionsRule":  # its target is the queue itself
            assert target["Arn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
            continue
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    queues = [k for k, r in cfn["Resources"].items() if r["Type"] == "AWS::SQS::Queue"]
    assert queues == ["DeadLetterQueue"], "SAM must not create a second, unalarmed queue"
    alarm = res.props("DeadLetterAlarm")
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "DeadLetterQueue.QueueName"}]
    # EventBridge may send to the queue only for these rules.
    statements = res.props("DeadLetterQueuePolicy")["PolicyDocument"]["Statement"]
    stmt = next(s for s in statements if s["Effect"] == "Allow")
    assert sorted(_as_list(stmt["Condition"]["ArnEquals"]["aws:SourceArn"])) == sorted(arn(n) for n in names)


def test_executions_that_ran_no_catch_reach_the_dead_letter_queue(cfn: dict[str, Any]) -> None:
    """A STANDARD execution that timed out or was aborted never ran its DeadLetter state: without this rule
    its upload had no decision (or a decision never carried out) and nothing to redrive."""
    import json

    from moto.events.models import EventPattern

    props = cfn["Resources"]["UnfinishedExecutionsRule"]["Properties"]
    pattern = json.loads(json.dumps(props["EventPattern"]))
    machines = pattern["detail"].pop("stateMachineArn")
    assert machines == [{"Ref": "ModerationStateMachine"}, {"Ref": "LongModerationStateMachine"}]
    matcher = EventPattern.load(json.dumps(pattern))

    def status(s: str) -> dict[str, Any]:
        return {"source": "aws.states", "detail-type": "Step Functions Execution Status Change",
                "detail": {"status": s}}  # fmt: skip

    matched = [
        s
        for s in ("RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")
        if matcher.matches_event(status(s))
    ]
    assert matched == ["TIMED_OUT", "ABORTED"]  # a FAILED one went through the DeadLetter state
    assert props["Targets"] == [{"Id": "DeadLetters", "Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}]


def test_every_upload_goes_to_exactly_one_state_machine(cfn: dict[str, Any]) -> None:
    """Objects under 64 MiB (what ScrubGeotags scrubs in /tmp) go to the StateMachineType machine, the rest
    and any event without a size to the STANDARD one: no upload matches neither rule, none matches both."""
    import json

    from moto.events.models import EventPattern

    rules = {
        k: r
        for k, r in cfn["Resources"].items()
        if r["Type"] == "AWS::Events::Rule"
        and "EventBusName" not in r["Properties"]
        and r["Properties"]["EventPattern"]["source"] == ["aws.s3"]
    }
    patterns = {k: r["Properties"]["EventPattern"] for k, r in rules.items()}
    splice = next(
        v
        for k, v in cfn["Resources"]["ScrubGeotagsFunction"]["Properties"]["Environment"]["Variables"].items()
        if k == "SPLICE_MIN_BYTES"
    )
    limit = int(splice)

    def matching(obj: dict[str, Any]) -> list[str]:
        event = {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "detail": {"bucket": {"name": "uploads"}, "object": obj},
        }
        out = []
        for name, pattern in patterns.items():
            pattern = json.loads(json.dumps(pattern).replace('{"Ref": "UploadBucket"}', '"uploads"'))
            if EventPattern.load(json.dumps(pattern)).matches_event(event):
                out.append(name)
        return out

    small, large = ["ModerationStateMachineUploadCreated"], ["LongModerationStateMachineUploadCreated"]
    assert matching({"key": "a", "size": 0}) == small
    assert matching({"key": "a", "size": limit - 1}) == small
    assert matching({"key": "a", "size": limit}) == large
    assert matching({"key": "a", "size": 5 * 1024**3}) == large
    assert matching({"key": "a"}) == large
    long_machine = cfn["Resources"]["LongModerationStateMachine"]["Properties"]
    assert long_machine["StateMachineType"] == "STANDARD"


def test_async_invocations_that_fail_land_in_the_alarmed_queue(res: Resolved) -> None:
    # The review function is invoked asynchronously by its EventBridge rule: failures must not be dropped.
    dlq = res.props("ReviewApiFunction")["DeadLetterQueue"]
    assert dlq == {"Type": "SQS", "TargetArn": arn("DeadLetterQueue")}


def test_every_alarm_notifies_the_topic(res: Resolved, raw: dict[str, Any]) -> None:
    alarms = [k for k, r in res.resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert {"DeadLetterAlarm", "ExecutionsFailedAlarm", "UploadEventsLostAlarm"} <= set(alarms)
    for name in alarms:
        assert res.props(name)["AlarmActions"] == ["ref:AlarmTopic"], name
    assert "AlarmEmailSubscription" not in res.resources  # optional
    sub = Resolved(raw, AlarmEmail="oncall@example.org").props("AlarmEmailSubscription")
    assert sub == {"TopicArn": "ref:AlarmTopic", "Protocol": "email", "Endpoint": "oncall@example.org"}


# ---------------------------------------------------------------- retention and logs
def test_every_function_and_the_state_machine_log_with_retention(res: Resolved, raw: dict[str, Any]) -> None:
    groups = {
        r["Properties"]["LogGroupName"]: r["Properties"]
        for r in res.resources.values()
        if r["Type"] == "AWS::Logs::LogGroup"
    }
    functions = [k for k, r in res.resources.items() if r["Type"] == "AWS::Serverless::Function"]
    assert set(FUNCTIONS) <= set(functions)
    for fn in functions:  # every function, including ones added later
        assert groups[f"/aws/lambda/ref:{fn}"]["RetentionInDays"] == res.params["LogRetentionDays"], fn
    for machine in ("ModerationStateMachine", "LongModerationStateMachine", "RemoderationStateMachine"):
        logging = res.props(machine)["Logging"]
        assert logging["IncludeExecutionData"] is False  # the state must never reach the logs
        (dest,) = logging["Destinations"]
        logical = dest["CloudWatchLogsLogGroup"]["LogGroupArn"].rsplit(":", 1)[-1]
        assert res.props(logical)["RetentionInDays"] == res.params["LogRetentionDays"]
    assert Resolved(raw, LogRetentionDays="14").props("ActLogGroup")["RetentionInDays"] == "14"


def test_decided_originals_expire_and_zero_keeps_them(raw: dict[str, Any]) -> None:
    """Act retires a final original (a delete marker); the noncurrent-version rule expires it after
    OriginalRetentionDays. With 0, Act retires nothing (and overwritten versions keep their 30 days)."""
    assert raw["Parameters"]["OriginalRetentionDays"]["Default"] == 30
    res = Resolved(raw)
    rules = {r["Id"]: r for r in res.props("UploadBucket")["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-old-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == "30"
    assert "Filter" not in rules["expire-old-versions"] and "Prefix" not in rules["expire-old-versions"]
    assert not any("ExpirationInDays" in r for r in rules.values())  # nothing current expires by age
    assert res.props("ActFunction")["Environment"]["Variables"]["RETIRE_ORIGINALS"] == "true"
    week = Resolved(raw, OriginalRetentionDays="7")
    rules = {r["Id"]: r for r in week.props("UploadBucket")["LifecycleConfiguration"]["Rules"]}
    rule = rules["expire-old-versions"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == "7"
    kept = Resolved(raw, OriginalRetentionDays="0")
    assert kept.props("ActFunction")["Environment"]["Variables"]["RETIRE_ORIGINALS"] == "false"


def test_quarantine_and_unpublished_copies_expire(res: Resolved) -> None:
    q = {r["Id"]: r for r in res.props("QuarantineBucket")["LifecycleConfiguration"]["Rules"]}
    assert q["expire-quarantine"]["ExpirationInDays"] == res.params["QuarantineRetentionDays"]
    p = {r["Id"]: r for r in res.props("PublishedBucket")["LifecycleConfiguration"]["Rules"]}
    assert p["expire-unpublished-versions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 1


def test_buckets_log_access_to_the_access_log_bucket(res: Resolved) -> None:
    for bucket in BUCKETS:
        assert res.props(bucket)["LoggingConfiguration"]["DestinationBucketName"] == "ref:AccessLogsBucket"
    rules = res.props("AccessLogsBucket")["LifecycleConfiguration"]["Rules"]
    assert rules[0]["ExpirationInDays"] == res.params["LogRetentionDays"]


# ---------------------------------------------------------------- encryption
def _encryption(res: Resolved, bucket: str) -> dict[str, Any]:
    (rule,) = res.props(bucket)["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    return dict(rule["ServerSideEncryptionByDefault"])


def test_customer_managed_key_covers_every_store(raw: dict[str, Any]) -> None:
    res = Resolved(raw, KmsEncryption="true")
    key = arn("EncryptionKey")
    for bucket in BUCKETS:
        assert _encryption(res, bucket) == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}, bucket
    assert res.props("DecisionsTable")["SSESpecification"]["KMSMasterKeyId"] == key
    assert res.props("DeadLetterQueue")["KmsMasterKeyId"] == key
    assert res.props("DecisionsBus")["KmsKeyIdentifier"] == key
    assert res.props("AlarmTopic")["KmsMasterKeyId"] == "ref:EncryptionKey"
    for name, r in res.resources.items():
        if r["Type"] == "AWS::Logs::LogGroup":
            assert r["Properties"]["KmsKeyId"] == key, name


def test_without_the_key_everything_is_still_encrypted(raw: dict[str, Any]) -> None:
    res = Resolved(raw, KmsEncryption="false")
    assert "EncryptionKey" not in res.resources
    for bucket in BUCKETS:
        assert _encryption(res, bucket) == {"SSEAlgorithm": "AES256"}, bucket
    assert res.props("DecisionsTable")["SSESpecification"] == {"SSEEnabled": True}
    assert res.props("DeadLetterQueue")["SqsManagedSseEnabled"] is True


def test_key_policy_is_least_privilege(raw: dict[str, Any]) -> None:
    policy = Resolved(raw, KmsEncryption="true").props("EncryptionKey")["KeyPolicy"]
    use = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:ReEncrypt*"}
    for stmt in policy["Statement"]:
        assert stmt["Effect"] == "Allow"
        assert stmt["Principal"] != "*" and stmt["Principal"].get("AWS") != "*"
        actions = set(_as_list(stmt["Action"]))
        assert "kms:*" not in actions
        if use & actions:  # nobody uses the key except through a service, for this account
            assert stmt.get("Condition"), stmt["Sid"]


def test_prod_turns_the_key_on_and_keeps_decisions_longer() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    overrides = config["prod"]["deploy"]["parameters"]["parameter_overrides"]
    prod = dict(kv.split("=", 1) for kv in overrides.split())
    assert prod["KmsEncryption"] == "true"
    assert int(prod["LogRetentionDays"]) >= 365


def test_redrive_operators_get_exactly_what_tutela_redrive_calls(raw: dict[str, Any]) -> None:
    res = Resolved(raw, KmsEncryption="true")
    statements = res.props("RedriveOperatorPolicy")["PolicyDocument"]["Statement"]
    granted = {
        (a, str(r)) for s in statements for a in _as_list(s["Action"]) for r in _as_list(s["Resource"])
    }
    queue, machine = arn("DeadLetterQueue"), "ref:ModerationStateMachine"
    assert granted == {
        ("sqs:ReceiveMessage", queue),
        ("sqs:DeleteMessage", queue),
        ("sqs:ChangeMessageVisibility", queue),
        ("sqs:GetQueueAttributes", queue),
        ("states:StartExecution", machine),
        ("lambda:InvokeFunction", arn("RecordDecisionFunction")),
        ("lambda:InvokeFunction", arn("ActFunction")),
        ("lambda:InvokeFunction", arn("ReviewApiFunction")),
        ("cloudformation:DescribeStacks", "ref:AWS::StackId"),
        ("cloudformation:DescribeStackResource", "ref:AWS::StackId"),
        ("kms:Decrypt", arn("EncryptionKey")),
    }


# ---------------------------------------------------------------- re-moderation
def test_remoderation_planning_is_read_only(cfn: dict[str, Any]) -> None:
    role = "RemodPlanFunctionRole"
    for action in ("dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem"):
        assert not role_allows(cfn, role, action, arn("DecisionsTable")), action
    for bucket in ("UploadBucket", "PublishedBucket", "QuarantineBucket", "BankBucket"):
        for action in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"):
            assert not role_allows(cfn, role, action, arn(bucket) + "/media/p/x.jpg"), (bucket, action)
    assert not role_allows(cfn, role, "s3:GetObjectVersion", arn("UploadBucket") + "/media/p/x.jpg")
    assert role_allows(cfn, role, "dynamodb:Query", arn("DecisionsTable") + "/index/HashIndex")
    # a published copy's HEAD names the upload version it was made from; no older versions, no quarantine
    for key in ("/media/p/x.jpg", "/comments/p/b.jsonl"):
        assert role_allows(cfn, role, "s3:GetObject", arn("PublishedBucket") + key)
    assert not role_allows(cfn, role, "s3:GetObjectVersion", arn("PublishedBucket") + "/media/p/x.jpg")
    assert not role_allows(cfn, role, "s3:GetObject", arn("PublishedBucket") + "/posts/p.json")
    assert not role_allows(cfn, role, "s3:GetObject", arn("QuarantineBucket") + "/media/p/x.jpg")


def test_the_scanner_reads_published_media_copies_only(cfn: dict[str, Any]) -> None:
    role = "ScanMediaFunctionRole"  # a backfill scans an allowed upload's copy: its original is retired
    assert role_allows(cfn, role, "s3:GetObjectVersion", arn("PublishedBucket") + "/media/p/x.jpg")
    assert not role_allows(cfn, role, "s3:GetObject", arn("PublishedBucket") + "/comments/p/b.jsonl")
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"):
        assert not role_allows(cfn, role, action, arn("PublishedBucket") + "/media/p/x.jpg"), action
    assert not role_allows(cfn, role, "s3:GetObject", arn("QuarantineBucket") + "/media/p/x.jpg")


def test_remoderate_withdraws_and_quarantines_but_never_publishes_or_touches_banks(
    cfn: dict[str, Any],
) -> None:
    role = "RemoderateFunctionRole"
    assert role_allows(cfn, role, "s3:DeleteObjectVersion", arn("PublishedBucket") + "/media/p/x.jpg")
    assert role_allows(cfn, role, "s3:PutObject", arn("QuarantineBucket") + "/media/p/x.jpg@v#remod")
    assert not role_allows(cfn, role, "s3:GetObject", arn("StagingBucket") + "/scrubbed/v/media/p/x.jpg")
    assert not role_allows(cfn, role, "s3:PutObject", arn("BankBucket") + "/banks/index.json")
    assert not role_allows(cfn, role, "s3:PutObject", arn("UploadBucket") + "/media/p/x.jpg")


def test_remoderation_machine_runs_only_its_own_children_and_functions(cfn: dict[str, Any]) -> None:
    resolver = _CfnStrings()
    granted = {
        (a, resolver.text(r))
        for stmt in role_statements(cfn, "RemoderationStateMachineRole")
        for a in _as_list(stmt["Action"])
        for r in _as_list(stmt["Resource"])
    }
    assert {r for a, r in granted if a == "states:StartExecution"} == {
        "arn:*:states:*:*:stateMachine:tutela-remoderation-*"  # its own Distributed Map children only
    }
    invoked = {r for a, r in granted if a == "lambda:InvokeFunction"}
    assert invoked and all(any(f in r for f in ("RemodPlan", "Remoderate", "ScanMedia")) for r in invoked)
    assert {r for a, r in granted if a == "s3:PutObject"} == {arn("StagingBucket") + "/remoderation-runs/*"}
    # the ItemReader: the originals still current, then the allowed uploads' published copies
    assert {r for a, r in granted if a == "s3:ListBucket"} == {arn("UploadBucket"), arn("PublishedBucket")}
    assert not {r for a, r in granted if a in ("s3:GetObject", "s3:GetObjectVersion") and "Published" in r}


def test_a_reviewers_block_writes_the_banks_only_when_configured(raw: dict[str, Any]) -> None:
    on, off = Resolved(raw), Resolved(raw, ReviewBlockAddsToBank="false")
    assert on.props("ReviewApiFunction")["Environment"]["Variables"]["REMOVED_BANK"] == "platform_removed"
    assert off.props("ReviewApiFunction")["Environment"]["Variables"]["REMOVED_BANK"] == ""

    def bank_writes(r: Resolved) -> list[Any]:
        return [
            s
            for p in r.props("ReviewApiFunction")["Policies"]
            if isinstance(p, dict) and "Statement" in p
            for s in p["Statement"]
            if "s3:PutObject" in _as_list(s["Action"]) and "BankBucket" in str(s["Resource"])
        ]

    assert len(bank_writes(on)) == 1 and bank_writes(off) == []
