"""Identity, the application secret and the audit trail as both stacks declare them (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ame_infra.audit import PROCESSORS
from ame_infra.config import StackConfigError
from ame_infra.grants import VIA_S3
from ame_infra.mocked import MOCK_APP_SECRET, Inventory, run_stack
from chalicelib.api import gateway
from chalicelib.identity.model import Scope
from chalicelib.settings import PARTNER_URL_VARIABLES, IdentitySettings, Settings
from tests.infra.conftest import app_functions, policy_document

POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
AREAS = {
    "AREA-CREDIT": [scope.value for scope in Scope],
    "AREA-CONSORTIUM": ["orders.write", "orders.read"],
}
"""What Pulumi.prod.yaml and Pulumi.dr.yaml configure (`ame-platform:areas`)."""


def region_of(stack: Inventory) -> str:
    return "us-east-1" if stack.stack == "prod" else "us-west-2"


def api_environment(stack: Inventory) -> dict[str, str]:
    (api,) = [f for f in app_functions(stack) if f.inputs["handler"] == "app.app"]
    variables: dict[str, str] = api.inputs["environment"]["variables"]
    return variables


def statements(stack: Inventory, policy_name: str) -> list[dict[str, Any]]:
    return policy_document(stack.named(ROLE_POLICY, policy_name))


def grants(stack: Inventory, policy_name: str) -> dict[str, set[str]]:
    granted: dict[str, set[str]] = {}
    for statement in statements(stack, policy_name):
        for resource in statement["Resource"]:
            granted.setdefault(resource, set()).update(statement["Action"])
    return granted


# --- Cognito -------------------------------------------------------------------------------------


def test_each_stack_has_one_closed_user_pool_with_the_apps_scopes(stack: Inventory) -> None:
    (pool,) = stack.of_type(POOL)
    assert pool.region == region_of(stack)
    assert pool.inputs["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}
    assert pool.inputs["deletionProtection"] == "ACTIVE"
    (server,) = stack.of_type("aws:cognito/resourceServer:ResourceServer")
    assert server.inputs["identifier"] == "ame-platform"
    assert [s["scopeName"] for s in server.inputs["scopes"]] == [scope.value for scope in Scope]
    (domain,) = stack.of_type("aws:cognito/userPoolDomain:UserPoolDomain")
    assert domain.inputs["domain"] == f"example-bank-ame-{region_of(stack)}"


def test_one_machine_client_per_configured_area_with_only_its_scopes(stack: Inventory) -> None:
    clients = {c.inputs["name"]: c.inputs for c in stack.of_type(CLIENT)}
    assert set(clients) == {f"ame-{area}" for area in AREAS}
    for area, scopes in AREAS.items():
        client = clients[f"ame-{area}"]
        assert client["allowedOauthFlows"] == ["client_credentials"]
        assert client["allowedOauthFlowsUserPoolClient"] is True
        assert client["generateSecret"] is True
        assert client["allowedOauthScopes"] == [f"ame-platform/{scope}" for scope in scopes]
        assert (client["accessTokenValidity"], client["tokenValidityUnits"]) == (1, {"accessToken": "hours"})
        assert client["explicitAuthFlows"] == ["ALLOW_REFRESH_TOKEN_AUTH"]  # no user sign-in flow
        assert not client.get("callbackUrls") and not client.get("logoutUrls")


def test_the_api_trusts_its_own_pool_and_knows_each_client_by_its_area(stack: Inventory) -> None:
    region = region_of(stack)
    identity = IdentitySettings.from_env(api_environment(stack))
    (pool,) = stack.of_type(POOL)
    assert identity.issuers == (f"https://cognito-idp.{region}.amazonaws.com/{region}_MockedAmePlatform",)
    exported = stack.exports["area_client_ids"].value
    assert identity.area_clients == {client_id: area for area, client_id in exported.items()}
    assert set(exported) == set(AREAS) and len(set(exported.values())) == len(AREAS)
    assert identity.resource_server == "ame-platform"
    assert stack.exports["token_issuer"].value == identity.issuers[0]
    assert stack.exports["token_url"].value == (
        f"https://example-bank-ame-{region}.auth.{region}.amazoncognito.com/oauth2/token"
    )
    assert pool.name == "ame-platform"


def test_only_the_api_gets_the_identity_settings(stack: Inventory) -> None:
    for function in app_functions(stack):
        env = function.inputs["environment"]["variables"]
        has_identity = {"AME_TOKEN_ISSUERS", "AME_AREA_CLIENTS", "AME_RESOURCE_SERVER"} <= set(env)
        assert has_identity == (function.inputs["handler"] == "app.app"), function.name


PEER = {
    "ame-platform:peerTokenIssuer": "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_DrPool",
    "ame-platform:peerAreaClientIds": json.dumps({"AREA-CREDIT": "drcreditclient", "AREA-CONSORTIUM": "drconsclient"}),
}


def test_with_the_peers_outputs_the_api_also_trusts_the_peer_pool_and_clients(package_dir: Path) -> None:
    # GIVEN prod configured with the dr stack's `token_issuer` and `area_client_ids` outputs
    prod = run_stack("prod", package_dir, PEER)
    # THEN its API accepts tokens of both pools, each client for its own area
    identity = IdentitySettings.from_env(api_environment(prod))
    assert identity.issuers == (
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_MockedAmePlatform",
        "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_DrPool",
    )
    own = {client_id: area for area, client_id in prod.exports["area_client_ids"].value.items()}
    assert identity.area_clients == {**own, "drcreditclient": "AREA-CREDIT", "drconsclient": "AREA-CONSORTIUM"}


def test_a_peer_issuer_from_the_wrong_region_is_refused(package_dir: Path) -> None:
    wrong = {**PEER, "ame-platform:peerTokenIssuer": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X"}
    with pytest.raises(StackConfigError, match="us-west-2 user pool"):
        run_stack("prod", package_dir, wrong)


# --- the application secret ----------------------------------------------------------------------


def test_the_app_secret_is_a_securestring_under_the_stacks_key_and_a_secret_in_state(stack: Inventory) -> None:
    region = region_of(stack)
    parameter = stack.named("aws:ssm/parameter:Parameter", "ame-functions-app-secret")
    assert parameter.inputs["name"] == f"/ame-platform/{region}/app-secret"
    assert parameter.inputs["type"] == "SecureString"
    compute_key = stack.named("aws:kms/key:Key", f"ame-compute-{region}")
    assert parameter.inputs["keyId"] == f"arn:aws:kms:{region}:111111111111:key/{compute_key.name}-key-id"
    # Pulumi hands a secret to the engine wrapped (the 4dabf18193072939515e22adb298388d signature).
    value = parameter.inputs["value"]
    assert isinstance(value, dict) and value.get("value") == MOCK_APP_SECRET and len(value) == 2


def test_every_function_reads_the_app_secret_and_decrypts_only_that_parameter(stack: Inventory) -> None:
    region = region_of(stack)
    parameter = f"arn:aws:ssm:{region}:111111111111:parameter/ame-platform/{region}/app-secret"
    for function in app_functions(stack):
        env = function.inputs["environment"]["variables"]
        assert env["AME_APP_SECRET_PARAMETER"] == f"/ame-platform/{region}/app-secret"
        assert "AME_APP_SECRET" not in env  # the secret never sits in a function's configuration
        settings = Settings.from_env({**env, "AWS_REGION": region})
        assert settings.app_secret_parameter and not settings.app_secret
        policy = statements(stack, function.inputs["name"])
        assert grants(stack, function.inputs["name"])[parameter] == {"ssm:GetParameter"}
        conditioned = [s for s in policy if s.get("Condition") and s["Condition"] != VIA_S3]  # claim checks' own
        (decrypt,) = [s for s in conditioned if s["Action"] != ["cloudwatch:PutMetricData"]]
        assert decrypt["Action"] == ["kms:Decrypt"]
        assert decrypt["Condition"] == {"StringEquals": {"kms:EncryptionContext:PARAMETER_ARN": parameter}}


# --- the audit trail -----------------------------------------------------------------------------


def test_the_api_log_group_feeds_only_audit_lines_to_firehose(stack: Inventory) -> None:
    region = region_of(stack)
    (subscription,) = stack.of_type("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")
    assert subscription.inputs["logGroup"] == "/aws/lambda/ame-platform-api-handler"
    assert subscription.inputs["filterPattern"] == '{ $.kind = "audit" }'
    assert subscription.inputs["destinationArn"] == f"arn:aws:firehose:{region}:111111111111:deliverystream/ame-audit"
    # CloudWatch Logs may put records into this one stream, for this account's log groups only
    trust = json.loads(stack.named(ROLE, "ame-audit-logs").inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
    assert trust["Condition"] == {"StringLike": {"aws:SourceArn": f"arn:aws:logs:{region}:111111111111:*"}}
    assert grants(stack, "ame-audit-logs") == {
        subscription.inputs["destinationArn"]: {"firehose:PutRecord", "firehose:PutRecordBatch"}
    }


def audit_bucket(stack: Inventory) -> str:
    return f"example-bank-ame-audit-{region_of(stack)}"


def test_firehose_writes_json_lines_to_the_regions_audit_bucket_with_its_data_key(stack: Inventory) -> None:
    region = region_of(stack)
    (stream,) = stack.of_type(STREAM)
    s3 = stream.inputs["extendedS3Configuration"]
    assert stream.region == region and stream.inputs["destination"] == "extended_s3"
    assert s3["bucketArn"] == f"arn:aws:s3:::{audit_bucket(stack)}"
    assert s3["prefix"] == "audit/!{timestamp:yyyy/MM/dd}/"
    assert s3["errorOutputPrefix"].startswith("audit-errors/")
    assert s3["kmsKeyArn"].startswith(f"arn:aws:kms:{region}:111111111111:key/ame-data-{region}")
    assert s3["compressionFormat"] == "UNCOMPRESSED" and s3["fileExtension"] == ".jsonl"
    # Firehose opens CloudWatch's gzip envelopes itself: the objects hold the audit lines, one per line
    processing = s3["processingConfiguration"]
    assert processing["enabled"] is True
    assert [p["type"] for p in processing["processors"]] == [p["type"] for p in PROCESSORS]
    assert [p["type"] for p in processing["processors"]] == [
        "Decompression",
        "CloudWatchLogProcessing",
        "AppendDelimiterToRecord",
    ]
    assert processing["processors"][1]["parameters"] == [
        {"parameterName": "DataMessageExtraction", "parameterValue": "true"}
    ]
    sse = stream.inputs["serverSideEncryption"]
    assert (sse["enabled"], sse["keyType"]) == (True, "CUSTOMER_MANAGED_CMK")
    assert sse["keyArn"].startswith(f"arn:aws:kms:{region}:111111111111:key/ame-compute-{region}")
    assert stack.exports["audit_bucket"].value == audit_bucket(stack)
    assert stack.exports["audit_prefix"].value == "audit/"


def test_firehose_may_only_add_objects_under_its_prefixes_and_use_the_key_through_s3(stack: Inventory) -> None:
    region, bucket = region_of(stack), f"arn:aws:s3:::{audit_bucket(stack)}"
    granted = grants(stack, "ame-audit-firehose")
    prefixes = {f"{bucket}/audit/*", f"{bucket}/audit-errors/*"}
    assert all(granted[prefix] == {"s3:AbortMultipartUpload", "s3:PutObject"} for prefix in prefixes)
    assert not any(a in actions for actions in granted.values() for a in ("s3:DeleteObject", "s3:PutObjectRetention"))
    (kms,) = [s for s in statements(stack, "ame-audit-firehose") if s["Action"][0].startswith("kms:")]
    assert kms["Condition"]["StringEquals"] == {"kms:ViaService": f"s3.{region}.amazonaws.com"}
    assert bucket in kms["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"]
    trust = json.loads(stack.named(ROLE, "ame-audit-firehose").inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": "111111111111"}}


@pytest.mark.parametrize("region", ["us-east-1", "us-west-2"])
def test_each_stack_writes_to_its_own_bucket_locked_in_compliance_mode(
    region: str, prod: Inventory, dr: Inventory
) -> None:
    writer = prod if region == "us-east-1" else dr
    (stream,) = writer.of_type(STREAM)
    bucket = stream.inputs["extendedS3Configuration"]["bucketArn"].removeprefix("arn:aws:s3:::")
    lock = writer.named(LOCK, bucket)
    assert lock.region == region
    assert lock.inputs["objectLockEnabled"] == "Enabled"
    assert lock.inputs["rule"] == {"defaultRetention": {"mode": "COMPLIANCE", "days": 1825}}
    # ... encrypted by default with the same region's data key Firehose names
    encryption = writer.named(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", bucket
    )
    default = encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert default["kmsMasterKeyId"] == stream.inputs["extendedS3Configuration"]["kmsKeyArn"]
    # ... and kept readable at once for a data subject's report
    lifecycle = writer.named("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", bucket)
    assert [t["storageClass"] for t in lifecycle.inputs["rules"][0]["transitions"]] == ["STANDARD_IA", "GLACIER_IR"]


def test_only_the_audit_buckets_are_locked_and_replication_carries_their_retention(
    prod: Inventory, dr: Inventory
) -> None:
    assert {lock.name for lock in prod.of_type(LOCK)} == {"example-bank-ame-audit-us-east-1"}
    assert {lock.name for lock in dr.of_type(LOCK)} == {"example-bank-ame-audit-us-west-2"}
    granted = grants(prod, "ame-buckets-replication")
    assert granted["arn:aws:s3:::example-bank-ame-audit-us-east-1/*"] >= {
        "s3:GetObjectRetention",
        "s3:GetObjectLegalHold",
    }
    assert "s3:GetObjectRetention" not in granted["arn:aws:s3:::example-bank-ame-lake-raw-us-east-1/*"]


def test_a_late_or_lost_audit_record_pages_someone(stack: Inventory) -> None:
    alarms = {a.name: a.inputs for a in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    freshness, errors = alarms["ame-audit-freshness"], alarms["ame-audit-subscription-errors"]
    assert (freshness["metricName"], freshness["threshold"]) == ("DeliveryToS3.DataFreshness", 900)
    assert freshness["dimensions"] == {"DeliveryStreamName": "ame-audit"}
    assert errors["dimensions"]["FilterName"] == "ame-audit" and errors["threshold"] == 0
    topic = stack.exports["alert_topic_arn"].value
    assert freshness["alarmActions"] == errors["alarmActions"] == [topic]


def test_the_firehose_delivery_log_is_kept_and_encrypted(stack: Inventory) -> None:
    group = stack.named("aws:cloudwatch/logGroup:LogGroup", "ame-audit-delivery")
    assert group.inputs["name"] == "/aws/kinesisfirehose/ame-audit"
    assert group.inputs["kmsKeyId"].startswith(f"arn:aws:kms:{region_of(stack)}:")


# --- gateway responses ---------------------------------------------------------------------------

ANSWERS = {
    "MISSING_AUTHENTICATION_TOKEN": gateway.ROUTE_NOT_FOUND,
    "RESOURCE_NOT_FOUND": gateway.ROUTE_NOT_FOUND,
    "UNSUPPORTED_MEDIA_TYPE": gateway.UNSUPPORTED_MEDIA_TYPE,
    "THROTTLED": gateway.THROTTLED,
    "UNAUTHORIZED": gateway.UNAUTHENTICATED,
    "ACCESS_DENIED": gateway.FORBIDDEN,
}


def gateway_responses(stack: Inventory) -> dict[str, dict[str, Any]]:
    body = json.loads(stack.named("aws:apigateway/restApi:RestApi", "ame-platform").inputs["body"])
    responses: dict[str, dict[str, Any]] = body["x-amazon-apigateway-gateway-responses"]
    return responses


@pytest.mark.parametrize("kind", sorted(ANSWERS))
def test_api_gateways_own_answers_are_the_apps_constants(kind: str, stack: Inventory) -> None:
    response, answer = gateway_responses(stack)[kind], ANSWERS[kind]
    assert response["responseTemplates"] == {"application/json": answer.body_text()}
    assert response["statusCode"] == str(answer.status)
    assert response["responseParameters"]["gatewayresponse.header.Content-Type"] == "'application/json'"


def test_the_401_from_api_gateway_carries_the_apps_challenge(stack: Inventory) -> None:
    parameters = gateway_responses(stack)["UNAUTHORIZED"]["responseParameters"]
    assert parameters["gatewayresponse.header.WWW-Authenticate"] == f"'{gateway.WWW_AUTHENTICATE}'"


def test_default_answers_keep_their_status_and_say_nothing_of_api_gateways_internals(stack: Inventory) -> None:
    responses = gateway_responses(stack)
    for kind in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert "statusCode" not in responses[kind]
    for kind, response in responses.items():
        template = response["responseTemplates"]["application/json"]
        assert "$" not in template, kind  # fixed text: no $context.error.message, no VTL at all
        assert set(json.loads(template)) == {"error"} and set(json.loads(template)["error"]) == {"code", "message"}
    assert json.loads(responses["DEFAULT_5XX"]["responseTemplates"]["application/json"])["error"]["code"] == (
        "INTERNAL_ERROR"
    )


# --- stack outputs -------------------------------------------------------------------------------


def test_no_stack_output_is_or_holds_a_secret(stack: Inventory) -> None:
    assert stack.exports, "the mocks saw no outputs"
    dumped = json.dumps({name: output.value for name, output in stack.exports.items()})
    assert not [name for name, output in stack.exports.items() if output.secret]
    assert MOCK_APP_SECRET not in dumped
    assert "mocked-client-secret" not in dumped  # Cognito's client secrets stay in Cognito (and state)
    assert not [name for name in stack.exports if "secret" in name and name not in SAFE_SECRET_NAMES]


SAFE_SECRET_NAMES = {"app_secret_parameter", "app_secret_fingerprint"}


def test_both_stacks_print_the_same_app_secret_fingerprint_for_the_same_secret(prod: Inventory, dr: Inventory) -> None:
    fingerprint = prod.exports["app_secret_fingerprint"].value
    assert fingerprint == dr.exports["app_secret_fingerprint"].value
    assert len(fingerprint) == 16 and fingerprint not in MOCK_APP_SECRET


def test_the_audit_buckets_of_both_regions_are_outputs_for_the_report(stack: Inventory) -> None:
    assert stack.exports["audit_buckets"].value == {
        "us-east-1": "example-bank-ame-audit-us-east-1",
        "us-west-2": "example-bank-ame-audit-us-west-2",
    }


def test_functions_still_accept_their_environment(stack: Inventory) -> None:
    defaults = Settings.from_env(dict.fromkeys(PARTNER_URL_VARIABLES.values(), "https://x"))
    assert defaults.app_secret_parameter is None  # locally nothing names a parameter ...
    env = api_environment(stack)
    assert Settings.from_env({**env, "AWS_REGION": region_of(stack)}).app_secret_parameter  # ... in AWS it does
