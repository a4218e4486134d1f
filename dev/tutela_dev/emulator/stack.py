"""Deploy the real ``template.yaml`` into in-process moto and run our handlers for its Lambdas.

SAM transform (aws-sam-translator) -> moto CloudFormation -> buckets, table, bus, queue, roles, functions.
Two things moto does not do, so this module does them from the stack's own resources:

- moto's CloudFormation ignores ``DefinitionSubstitutions`` and creates a state machine that does not
  execute; we resolve the substitutions (Ref -> physical id, GetAtt Arn -> the function's ARN) and create
  the executable state machine through the Step Functions API with the template's own role.
- moto runs Lambda code in Docker; ``LambdaFunction._invoke_lambda`` is replaced by an in-process call of
  the handler at the function's ``CodeUri``/``Handler`` with the function's template environment.
"""

from __future__ import annotations

import copy
import gc
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from tutela.aws import clients
from tutela_dev.emulator.cfn import Conditions, join, null_policy_loader, tiny_zip
from tutela_dev.emulator.cfn_yaml import load_template
from tutela_dev.emulator.chaos import Chaos
from tutela_dev.emulator.meter import CountingSink, Meter
from tutela_dev.emulator.runtime import (
    _REGISTRY,
    ACCOUNT,
    REGION,
    EmulatorError,
    FakeContext,
    Function,
    _route_logs,
    import_handler_module,
    invoke_in_process,
    load_handler,
)

# Kept importable from here (tests and tools used these names before the split).
_Conditions, _null_policy_loader = Conditions, null_policy_loader
__all__ = ["ACCOUNT", "REGION", "EmulatedStack", "EmulatorError", "FakeContext", "load_handler"]

CODE_BUCKET = "tutela-local-code"
STACK_NAME = "tutela-local"
EMULATOR_PARAMETERS = {"Stage": "dev", "VisionBackend": "local"}
_SUB = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


class EmulatedStack:
    """``with EmulatedStack(root) as stack:`` deploys the template; ``stack.outputs`` names the resources."""

    def __init__(
        self,
        root: Path,
        *,
        parameters: dict[str, str] | None = None,
        log: Any = None,
        retry_scale: float = 1.0,
        chaos: Chaos | None = None,
        meter: Meter | None = None,
        stubs: dict[str, Any] | None = None,
    ) -> None:
        """``retry_scale`` shortens the ASL's Retry intervals (moto really sleeps them); tests use ~0.01.
        ``chaos`` injects faults into every handler invocation (see ``tutela_dev.emulator.chaos``); ``meter``
        counts what the handlers do (see ``tutela_dev.emulator.meter``). ``stubs`` gives the handlers a client
        per service that moto does not emulate (e.g. a botocore-Stubber ``bedrock-runtime``)."""
        self.root = root.resolve()
        self.retry_scale = retry_scale
        self.chaos = chaos
        self.meter = meter
        self._uninstall_chaos: Any = None
        self._uninstall_meter: Any = None
        self._session: Any = None
        self._ended_patch: Any = None
        self._parse_patch: Any = None
        self._listing_patch: Any = None
        self._lambda_client_patch: Any = None
        self._copy_patches: list[Any] = []
        self._clients: dict[str, Any] = {}
        self._rules: list[tuple[Any, list[str]]] | None = None
        self._sleep_patch: Any = None
        self.parameters = {**EMULATOR_PARAMETERS, **(parameters or {})}
        self.stubs = dict(stubs or {})
        if self.parameters.get("CommentsLLM") and "bedrock-runtime" not in self.stubs:
            raise EmulatorError(
                "CommentsLLM needs Amazon Bedrock (Converse), which the emulated stack lacks (moto has no "
                "Converse): leave it empty here, or pass a stubbed bedrock-runtime client (tests)"
            )
        self.log = log
        self.outputs: dict[str, str] = {}
        self.resources: dict[str, str] = {}
        self.state_machine_arn = ""  # the executable copy of ModerationStateMachine
        self.cfn_state_machine_arn = ""  # the template's, which its rule targets
        self.executable: dict[str, str] = {}  # template state machine ARN -> our executable copy
        self.machine_types: dict[str, str] = {}  # executable ARN -> STANDARD | EXPRESS
        self.defaults: dict[str, str] = {}  # the template's parameter defaults
        self.bus_lambda_rules: list[tuple[str, list[str]]] = []  # (pattern, Lambda ARNs) to play
        self._mock: Any = None
        self._patch: Any = None
        self._saved_env: dict[str, str] = {}

    # -------------------------------------------------------------- lifecycle
    def __enter__(self) -> EmulatedStack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        from unittest import mock

        from moto import mock_aws
        from moto.awslambda.models import LambdaFunction

        self._saved_env = dict(os.environ)
        # moto logs every caught state failure with its whole parse tree; failures are in decisions.
        for name in ("moto", "moto.stepfunctions"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        # Never let a developer's real credentials or endpoint near the in-process stack.
        for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
            os.environ.pop(var, None)
        os.environ.update(
            {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}
        )
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._mock.start()
        self._patch = mock.patch.object(LambdaFunction, "_invoke_lambda", invoke_in_process)
        self._patch.start()
        self._ended_patch = _ENDED.patch()
        self._ended_patch.start()
        self._parse_patch = _parse_once()
        self._parse_patch.start()
        self._listing_patch = _empty_listing()
        self._listing_patch.start()
        self._lambda_client_patch = _one_lambda_client()
        self._lambda_client_patch.start()
        self._copy_patches = _json_copies() + _parsed_paths()
        for patch in self._copy_patches:
            patch.start()
        if self.retry_scale != 1.0:
            from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl

            self._sleep_patch = mock.patch.object(retrier_decl, "time", _ScaledTime(self.retry_scale))
            self._sleep_patch.start()
        _REGISTRY.log = CountingSink(self.log) if self.log is not None else None
        _REGISTRY.modules.clear()  # a new deployment: every function starts cold, with new clients
        clients.reset()
        for service, stub in self.stubs.items():
            clients.override(service, stub)
        if self.chaos is not None:
            self._uninstall_chaos = self.chaos.install()
            _REGISTRY.chaos = self.chaos
        if self.meter is not None:
            self._uninstall_meter = self.meter.install()
            _REGISTRY.meter = self.meter
        try:
            self._deploy()
        except Exception:
            self.stop()
            raise
        # One process holds moto, every function and the run's data: ~600k objects, so each full garbage
        # collection took 0.3-0.8 s, several times per run, landing inside whichever handler (or moto call)
        # was running (a Lambda's own heap is a fraction of that). What exists now (moto, the deployment)
        # lives as long as the stack: move it out of the collector's reach until stop().
        gc.collect()
        gc.freeze()

    def stop(self) -> None:
        if self._sleep_patch is not None:
            self._sleep_patch.stop()
            self._sleep_patch = None
        if self._patch is not None:
            self._patch.stop()
            self._patch = None
        if self._ended_patch is not None:
            self._ended_patch.stop()
            self._ended_patch = None
        if self._parse_patch is not None:
            self._parse_patch.stop()
            self._parse_patch = None
        if self._listing_patch is not None:
            self._listing_patch.stop()
            self._listing_patch = None
        if self._lambda_client_patch is not None:
            self._lambda_client_patch.stop()
            self._lambda_client_patch = None
        for patch in self._copy_patches:
            patch.stop()
        self._copy_patches = []
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        gc.unfreeze()  # what start() and the functions' INIT froze is collectable again
        _REGISTRY.functions.clear()
        _REGISTRY.log = None
        _REGISTRY.chaos = None
        if self._uninstall_chaos is not None:
            self._uninstall_chaos()
            self._uninstall_chaos = None
        _REGISTRY.meter = None
        if self._uninstall_meter is not None:
            self._uninstall_meter()
            self._uninstall_meter = None
        self._session = None
        self._clients.clear()
        self._rules = None
        _route_logs(sys.stdout)
        os.environ.clear()
        os.environ.update(self._saved_env)
        clients.reset()  # they point at this (now stopped) moto
        for service in self.stubs:
            clients.override(service, None)

    @property
    def session(self) -> Any:
        """The runner's and the tests' own boto3 session: their calls never pass through the hooks that
        chaos and the meter put on the default session, which is the handlers'."""
        if self._session is None:
            import boto3

            self._session = boto3.session.Session(region_name=REGION)
        return self._session

    def client(self, service: str) -> Any:
        """One client per service for the stack's life (a botocore client is thread-safe; making one costs
        ~10 ms, which the runner used to pay several times per upload)."""
        client = self._clients.get(service)
        if client is None:
            client = self._clients[service] = self.session.client(service)
        return client

    def resource(self, service: str) -> Any:
        return self.session.resource(service)

    # -------------------------------------------------------------- deployment
    def _deploy(self) -> None:
        template_path = self.root / "template.yaml"
        if not template_path.is_file():
            raise EmulatorError(f"no template.yaml in {self.root}")
        template = load_template(template_path)
        self.defaults = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
        if self.meter is not None:
            self.meter.configure(template)
        functions = self._rewrite_code_paths(template)
        cfn_template = self._transform(template)
        cfn = self.client("cloudformation")
        cfn.create_stack(
            StackName=STACK_NAME,
            TemplateBody=json.dumps(cfn_template),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in self.parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        stack = cfn.describe_stacks(StackName=STACK_NAME)["Stacks"][0]
        if stack["StackStatus"] != "CREATE_COMPLETE":
            raise EmulatorError(
                f"stack creation ended in {stack['StackStatus']}: {stack.get('StackStatusReason')}"
            )
        self.outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        summaries = cfn.list_stack_resources(StackName=STACK_NAME)["StackResourceSummaries"]
        self.resources = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries}
        for logical, fn in functions.items():
            _REGISTRY.functions[self.resources[logical]] = fn
        self._apply_bucket_versioning(template)
        self._create_state_machine(cfn_template)
        self._detach_bus_lambda_targets()

    def _detach_bus_lambda_targets(self) -> None:
        """moto's PutEvents raises on a Lambda target of a custom bus's rule; keep those rules' patterns and
        targets in ``bus_lambda_rules`` for a caller to play
        (``tutela_dev.emulator.review_api.ReviewRules``)."""
        events = self.client("events")
        for bus in events.list_event_buses()["EventBuses"]:
            if bus["Name"] == "default":
                continue
            for rule in events.list_rules(EventBusName=bus["Name"])["Rules"]:
                targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus["Name"])["Targets"]
                lambdas = [t for t in targets if ":lambda:" in t["Arn"]]
                if lambdas and rule.get("EventPattern"):
                    self.bus_lambda_rules.append((rule["EventPattern"], [t["Arn"] for t in lambdas]))
                    events.remove_targets(
                        Rule=rule["Name"], EventBusName=bus["Name"], Ids=[t["Id"] for t in lambdas]
                    )

    def _apply_bucket_versioning(self, template: dict[str, Any]) -> None:
        """moto's CloudFormation drops VersioningConfiguration; version ids are what decisions key on."""
        s3 = self.client("s3")
        for logical, res in template["Resources"].items():
            status = res.get("Properties", {}).get("VersioningConfiguration", {}).get("Status")
            if res["Type"] == "AWS::S3::Bucket" and status:
                s3.put_bucket_versioning(
                    Bucket=self.resources[logical], VersioningConfiguration={"Status": status}
                )

    def _rewrite_code_paths(self, template: dict[str, Any]) -> dict[str, Function]:
        """Point CodeUri/ContentUri at a stub zip in moto S3; inline the ASL file as ``Definition``."""
        s3 = self.client("s3")
        s3.create_bucket(Bucket=CODE_BUCKET)
        stub = tiny_zip()
        globals_fn = template.get("Globals", {}).get("Function", {})
        functions: dict[str, Function] = {}
        for logical, res in template["Resources"].items():
            props = res.get("Properties", {})
            if res["Type"] == "AWS::Serverless::Function":
                code_dir = self.root / props["CodeUri"]
                functions[logical] = Function(
                    logical,
                    code_dir,
                    props["Handler"],
                    int(props.get("Timeout", globals_fn.get("Timeout", 3))),
                    int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
                )
                props["CodeUri"] = {"Bucket": CODE_BUCKET, "Key": f"{logical}.zip"}
                s3.put_object(Bucket=CODE_BUCKET, Key=f"{logical}.zip", Body=stub)
            elif res["Type"] == "AWS::Serverless::LayerVersion":
                props["ContentUri"] = {"Bucket": CODE_BUCKET, "Key": f"{logical}.zip"}
                s3.put_object(Bucket=CODE_BUCKET, Key=f"{logical}.zip", Body=stub)
            elif res["Type"] == "AWS::Serverless::StateMachine" and "DefinitionUri" in props:
                props["Definition"] = json.loads((self.root / props.pop("DefinitionUri")).read_text())
        return functions

    def _transform(self, template: dict[str, Any]) -> dict[str, Any]:
        from samtranslator.translator.transform import transform

        params = {
            **self.parameters,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
        }
        out = transform(template, params, null_policy_loader())
        # moto's IAM chokes on Fn::If/AWS::NoValue inside policy lists: evaluate conditions first.
        values = {
            **{k: str(v.get("Default", "")) for k, v in out.get("Parameters", {}).items()},
            **self.parameters,
        }
        conditions = Conditions(out.get("Conditions", {}), values)
        out["Resources"] = conditions.apply(out["Resources"])
        return out

    def _param(self, value: Any) -> str:
        if isinstance(value, dict) and "Ref" in value:
            return {**self.defaults, **self.parameters}[value["Ref"]]
        return str(value)

    def _resolve(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and "Ref" in value:
            return self.resources[value["Ref"]]
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical, attr = value["Fn::GetAtt"]
            physical = self.resources[logical]
            if attr == "Arn" and physical:
                fn = self.client("lambda").get_function(FunctionName=physical)
                return str(fn["Configuration"]["FunctionArn"])
        raise EmulatorError(f"cannot resolve substitution {value!r}")

    def _create_state_machine(self, cfn_template: dict[str, Any]) -> None:
        """One executable copy per state machine in the template (the rules target the template's)."""
        machines = {
            k: r
            for k, r in cfn_template["Resources"].items()
            if r["Type"] == "AWS::StepFunctions::StateMachine"
        }
        if not machines:
            raise EmulatorError("no state machine in the template")
        sfn = self.client("stepfunctions")
        for logical, res in machines.items():
            props = res["Properties"]
            definition = props.get("Definition")
            if definition is None:  # SAM renders Definition as DefinitionString (Fn::Join of JSON pieces)
                definition = join(props["DefinitionString"])
            text = definition if isinstance(definition, str) else json.dumps(definition)
            subs = {k: self._resolve(v) for k, v in props.get("DefinitionSubstitutions", {}).items()}
            missing = sorted(set(_SUB.findall(text)) - set(subs))
            if missing:
                raise EmulatorError(f"state machine definition uses unknown substitutions: {missing}")
            text = _SUB.sub(lambda m, values=subs: values[m.group(1)], text)  # type: ignore[misc]
            role_name = self.resources[props["RoleArn"]["Fn::GetAtt"][0]]
            role_arn = self.client("iam").get_role(RoleName=role_name)["Role"]["Arn"]
            machine_type = self._param(props.get("StateMachineType", "STANDARD"))
            created = sfn.create_state_machine(
                name=f"{STACK_NAME}-{logical}", definition=text, roleArn=role_arn, type=machine_type
            )
            self.executable[self.resources[logical]] = created["stateMachineArn"]
            self.machine_types[created["stateMachineArn"]] = machine_type
            if logical == "ModerationStateMachine" or not self.state_machine_arn:
                self.state_machine_arn = created["stateMachineArn"]
                self.cfn_state_machine_arn = self.resources[logical]

    def handler_module(self, logical_id: str) -> ModuleType:
        """The imported module of a function's handler (tests patch its collaborators here), imported with
        the function's own environment (the deployed function's variables), like its INIT."""
        name = self.resources[logical_id]
        config = self.client("lambda").get_function_configuration(FunctionName=name)
        return import_handler_module(name, config.get("Environment", {}).get("Variables"))

    # -------------------------------------------------------------- running
    def deliver(self, event: dict[str, Any]) -> list[str]:
        """Play the template's EventBridge rules: start the state machine for each rule the event matches."""
        started = []
        for pattern, machines in self._default_bus_rules():
            if not pattern.matches_event(event):
                continue
            for machine in machines:
                run = self.client("stepfunctions").start_execution(
                    stateMachineArn=machine, name=str(uuid.uuid4()), input=json.dumps(event)
                )
                started.append(run["executionArn"])
        return started

    def _default_bus_rules(self) -> list[tuple[Any, list[str]]]:
        """The default bus's rules (the template's: nothing adds any after the deployment) as moto's own
        matcher (TestEventPattern is not mocked) and the executable state machines they target; read once,
        not with three API calls per delivery."""
        if self._rules is None:
            from moto.events.models import EventPattern

            events, rules = self.client("events"), []
            for rule in events.list_rules()["Rules"]:
                if not rule.get("EventPattern"):
                    continue
                targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
                machines = [self.executable[t["Arn"]] for t in targets if t["Arn"] in self.executable]
                rules.append((EventPattern.load(rule["EventPattern"]), machines))
            self._rules = rules
        return self._rules

    def wait(self, execution_arn: str, *, timeout_s: float = 600) -> dict[str, Any]:
        """The execution's description once it has ended: woken by moto's own end-of-execution hook
        (``_ENDED``), not by polling."""
        if not _ENDED.event(execution_arn).wait(timeout_s):
            raise EmulatorError(f"execution still running after {timeout_s:.0f}s: {execution_arn}")
        _ENDED.forget(execution_arn)
        return dict(self.client("stepfunctions").describe_execution(executionArn=execution_arn))


class _Ended:
    """Execution ARN -> an Event set when moto's interpreter reports the execution ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, threading.Event] = {}

    def event(self, arn: str) -> threading.Event:
        with self._lock:
            return self._events.setdefault(arn, threading.Event())

    def forget(self, arn: str) -> None:
        with self._lock:
            self._events.pop(arn, None)

    def patch(self) -> Any:
        """Wrap moto's ``terminated`` (called once per execution, after its status is final)."""
        from unittest import mock

        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

        original = BaseExecutionWorkerCommunication.terminated
        ended = self

        def terminated(comm: Any) -> None:
            try:
                original(comm)
            finally:
                ended.event(str(comm.execution.exec_arn)).set()

        return mock.patch.object(BaseExecutionWorkerCommunication, "terminated", terminated)


_ENDED = _Ended()


def _parse_once() -> Any:
    """moto parses the ASL (antlr) at the start of every execution (~0.3-1 s of a local run's object);
    the program it builds is immutable (each execution's state lives in its own Environment, which is how
    Map iterations and Parallel branches already share one), so parse each definition once."""
    from unittest import mock

    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    programs: dict[str, Any] = {}
    lock = threading.Lock()

    def entrypoint(worker: Any) -> Any:
        definition = worker._evaluation_details.state_machine_details.definition
        with lock:
            if definition not in programs:
                programs[definition] = AmazonStateLanguageParser.parse(definition)[0]
            return programs[definition]

    return mock.patch.object(ExecutionWorker, "_get_evaluation_entrypoint", entrypoint)


def _one_lambda_client() -> Any:
    """moto's Step Functions makes a new boto3 Lambda client for every Task it runs (~10 ms each, five per
    photo); its settings never change, so make one per region for the stack's life (made on first use,
    i.e. after the meter's and chaos's hooks are on the default session, as before)."""
    from unittest import mock

    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    original = lambda_eval_utils.boto_client_for
    made: dict[tuple[str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        with lock:
            if (region, service) not in made:
                made[region, service] = original(region=region, service=service, state_credentials=None)
            return made[region, service]

    return mock.patch.object(lambda_eval_utils, "boto_client_for", boto_client_for)


def json_copy(value: Any) -> Any:
    """``copy.deepcopy`` for JSON data (dicts, lists, str, int, float, bool, None), several times faster;
    anything else goes to ``copy.deepcopy``. Unlike deepcopy it does not keep two references to one
    object shared in the copy, which JSON values never rely on."""
    kind = type(value)
    if kind is dict:
        return {k: json_copy(v) for k, v in value.items()}
    if kind is list:
        return [json_copy(v) for v in value]
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


class _JsonCopyModule:
    """Stands in for the ``copy`` module inside moto's ASL interpreter."""

    deepcopy = staticmethod(json_copy)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _json_copies() -> list[Any]:
    """moto's ASL interpreter deep-copies the whole state for every JSONPath it evaluates ("copy on write"
    is a TODO there): ~0.1 s of a 20-comment batch's execution, whose state carries the batch's results.
    The state is JSON (it is what Step Functions passes between states), so copy it as JSON."""
    from unittest import mock

    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.component.common.string import string_expression
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.asl.eval import environment, states

    shim = _JsonCopyModule()
    modules = (states, string_expression, result_path, execute_state, environment)
    return [mock.patch.object(module, "copy", shim) for module in modules]


def _parsed_paths() -> list[Any]:
    """moto evaluates every JSONPath by building a new jsonpath_ng (yacc) parser for it (~1-2 ms, ~20 per
    upload); the parsed paths are immutable, so parse each path string once."""
    from functools import lru_cache
    from unittest import mock

    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    return [
        mock.patch.object(json_path, "parse", lru_cache(maxsize=1024)(json_path.parse)),
        mock.patch.object(result_path, "parse", lru_cache(maxsize=1024)(result_path.parse)),
    ]


def _empty_listing() -> Any:
    """moto's ItemReader fails a Distributed Map over an empty s3:listObjectsV2 (it reads ``Contents``,
    which S3 leaves out when nothing matches); Step Functions runs it with no items. A backfill's upload
    listing is often empty: decided originals are retired."""
    from unittest import mock

    from moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval import resource_eval_s3

    cls = resource_eval_s3.ResourceEvalS3

    def list_objects_v2(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        s3 = cls._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
        )
        env.stack.append(s3.list_objects_v2(**env.stack.pop()).get("Contents", []))

    return mock.patch.object(cls, "_handle_list_objects_v2", staticmethod(list_objects_v2))


class _ScaledTime:
    """Stands in for the ``time`` module inside moto's ASL retrier: same clock, shorter waits."""

    def __init__(self, scale: float) -> None:
        self.scale = scale

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds * self.scale))

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)
