"""The REST API in one region: Chalice's routes, a regional custom domain, WAF, access logs without PII."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from ame_infra import iam
from ame_infra.chalice_package import ChalicePackage
from ame_infra.contract import (
    FORBIDDEN,
    INTERNAL_ERROR,
    PAYLOAD_TOO_LARGE,
    REJECTED,
    REQUEST_BLOCKED,
    ROUTE_NOT_FOUND,
    THROTTLED,
    UNAUTHENTICATED,
    UNSUPPORTED_MEDIA_TYPE,
    WWW_AUTHENTICATE,
    GatewayAnswer,
)

STAGE = "api"
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "time": "$context.requestTimeEpoch",
        "method": "$context.httpMethod",
        # The route template (/v1/customers/{cpf}), never $context.path: paths carry CPFs.
        "route": "$context.resourcePath",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "integrationLatencyMs": "$context.integrationLatency",
        "wafStatus": "$context.waf.status",
        "sourceIp": "$context.identity.sourceIp",
    }
)
"""`$context.resourcePath` is the template; `$context.path` would write `/v1/customers/<cpf>` to the log."""


JSON_CONTENT_TYPE = {"gatewayresponse.header.Content-Type": "'application/json'"}


def _gateway_response(
    answer: GatewayAnswer, keep_status: bool = False, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """API Gateway's own answers in the app's shape, a fixed text: no `$context.error.*` internals.

    `keep_status` is for DEFAULT_4XX/5XX, which cover several statuses and keep each one."""
    text = answer.body_text()
    if "$" in text or "#" in text:
        raise ValueError(f"{answer.code}: a response template is VTL; its fixed text may not use $ or #")
    parameters = {**JSON_CONTENT_TYPE, **{f"gatewayresponse.header.{k}": f"'{v}'" for k, v in (headers or {}).items()}}
    response: dict[str, Any] = {"responseParameters": parameters, "responseTemplates": {"application/json": text}}
    if not keep_status:
        response["statusCode"] = str(answer.status)
    return response


GATEWAY_RESPONSES = {
    "DEFAULT_4XX": _gateway_response(REJECTED, keep_status=True),
    "DEFAULT_5XX": _gateway_response(INTERNAL_ERROR, keep_status=True),
    # API Gateway's answer to a path or method no route serves is 403 "Missing Authentication Token".
    "MISSING_AUTHENTICATION_TOKEN": _gateway_response(ROUTE_NOT_FOUND),
    "RESOURCE_NOT_FOUND": _gateway_response(ROUTE_NOT_FOUND),
    "UNSUPPORTED_MEDIA_TYPE": _gateway_response(UNSUPPORTED_MEDIA_TYPE),
    "REQUEST_TOO_LARGE": _gateway_response(PAYLOAD_TOO_LARGE),
    "THROTTLED": _gateway_response(THROTTLED),
    "QUOTA_EXCEEDED": _gateway_response(THROTTLED),
    # No API Gateway authorizer today (the app verifies tokens, docs/deployment.md); should one be
    # added, its refusals already answer as the app's do.
    "UNAUTHORIZED": _gateway_response(UNAUTHENTICATED, headers={"WWW-Authenticate": WWW_AUTHENTICATE}),
    "ACCESS_DENIED": _gateway_response(FORBIDDEN),
    "WAF_FILTERED": _gateway_response(REQUEST_BLOCKED),
}
"""Declared in the OpenAPI body (`x-amazon-apigateway-gateway-responses`), not as `aws.apigateway.Response`
resources: the body is imported in `overwrite` mode, which resets anything the body does not hold."""
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
)


@dataclass(frozen=True)
class RegionalApiArgs:
    package: ChalicePackage
    api_function: aws.lambda_.Function
    region: str
    domain_name: str
    certificate_arn: str
    key_arn: pulumi.Input[str]
    log_retention_days: int
    waf_requests_per_5_minutes: int


class RegionalApi(pulumi.ComponentResource):
    rest_api_id: pulumi.Output[str]
    invoke_host: pulumi.Output[str]
    regional_domain_name: pulumi.Output[str]
    regional_zone_id: pulumi.Output[str]
    name: str

    def __init__(self, name: str, args: RegionalApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:compute:RegionalApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.name = name
        body = args.api_function.invoke_arn.apply(
            lambda arn: json.dumps(args.package.swagger_for(arn, GATEWAY_RESPONSES), sort_keys=True)
        )
        rest_api = aws.apigateway.RestApi(
            name,
            name=name,
            body=body,
            endpoint_configuration={"types": "REGIONAL"},
            opts=child,
        )
        aws.lambda_.Permission(
            name,
            action="lambda:InvokeFunction",
            function=args.api_function.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(rest_api.execution_arn, "/*"),
            opts=child,
        )
        deployment = aws.apigateway.Deployment(
            name,
            rest_api=rest_api.id,
            triggers={"body": body.apply(lambda text: hashlib.sha256(text.encode()).hexdigest())},
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=False),
        )
        account = self._logging_account(name)
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access",
            name=f"/aws/apigateway/{name}/access",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.key_arn,
            opts=child,
        )
        # API Gateway creates the execution log group on first use, without retention or a key: here
        # first, it keeps the ERROR-level logs `log_retention_days` under the compute key.
        execution_logs = aws.cloudwatch.LogGroup(
            f"{name}-execution",
            name=execution_log_group(rest_api.id, STAGE),
            retention_in_days=args.log_retention_days,
            kms_key_id=args.key_arn,
            opts=child,
        )
        stage = aws.apigateway.Stage(
            name,
            rest_api=rest_api.id,
            deployment=deployment.id,
            stage_name=STAGE,
            access_log_settings={"destination_arn": access_logs.arn, "format": ACCESS_LOG_FORMAT},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[account, execution_logs]),
        )
        aws.apigateway.MethodSettings(
            name,
            rest_api=rest_api.id,
            stage_name=stage.stage_name,
            method_path="*/*",
            settings={
                "metrics_enabled": True,
                "logging_level": "ERROR",
                # Full request/response logging would copy CPFs, names and amounts into CloudWatch.
                "data_trace_enabled": False,
                "throttling_rate_limit": 200,
                "throttling_burst_limit": 400,
            },
            opts=child,
        )
        domain = aws.apigateway.DomainName(
            name,
            domain_name=args.domain_name,
            regional_certificate_arn=args.certificate_arn,
            endpoint_configuration={"types": "REGIONAL"},
            security_policy="TLS_1_2",
            opts=child,
        )
        aws.apigateway.BasePathMapping(
            name, rest_api=rest_api.id, stage_name=stage.stage_name, domain_name=domain.domain_name, opts=child
        )
        self._firewall(name, args, stage)
        self.rest_api_id = rest_api.id
        self.invoke_host = pulumi.Output.concat(rest_api.id, ".execute-api.", args.region, ".amazonaws.com")
        self.regional_domain_name = domain.regional_domain_name
        self.regional_zone_id = domain.regional_zone_id
        self.register_outputs({"rest_api_id": rest_api.id, "invoke_host": self.invoke_host})

    def _logging_account(self, name: str) -> aws.apigateway.Account:
        """API Gateway writes logs with one role per account and region; without it the stage cannot log."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-cloudwatch", assume_role_policy=iam.assume_role("apigateway.amazonaws.com"), opts=child
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-cloudwatch",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
            opts=child,
        )
        return aws.apigateway.Account(
            name, cloudwatch_role_arn=role.arn, opts=pulumi.ResourceOptions(parent=self, depends_on=[attachment])
        )

    def _firewall(self, name: str, args: RegionalApiArgs, stage: aws.apigateway.Stage) -> None:
        child = pulumi.ResourceOptions(parent=self)
        rules: list[Any] = [
            {
                "name": "rate-limit-per-ip",
                "priority": 0,
                "action": {"block": {}},
                "statement": {
                    "rate_based_statement": {"limit": args.waf_requests_per_5_minutes, "aggregate_key_type": "IP"}
                },
                "visibility_config": _visibility("rate-limit-per-ip"),
            }
        ]
        for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1):
            rules.append(
                {
                    "name": group,
                    "priority": priority,
                    "override_action": {"none": {}},
                    "statement": {"managed_rule_group_statement": {"vendor_name": "AWS", "name": group}},
                    "visibility_config": _visibility(group),
                }
            )
        acl = aws.wafv2.WebAcl(
            name,
            name=name,
            scope="REGIONAL",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=rules,
            visibility_config=_visibility(name),
            opts=child,
        )
        aws.wafv2.WebAclAssociation(name, resource_arn=stage.arn, web_acl_arn=acl.arn, opts=child)
        waf_logs = aws.cloudwatch.LogGroup(
            f"{name}-waf",
            name=f"aws-waf-logs-{name}",  # WAF only delivers to groups named aws-waf-logs-*
            retention_in_days=args.log_retention_days,
            kms_key_id=args.key_arn,
            opts=child,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            name,
            resource_arn=acl.arn,
            log_destination_configs=[waf_logs.arn],
            # Paths carry CPFs; the authorization header carries credentials.
            redacted_fields=[{"uri_path": {}}, {"single_header": {"name": "authorization"}}],
            opts=child,
        )


def execution_log_group(rest_api_id: pulumi.Input[str], stage: str) -> pulumi.Output[str]:
    """The group API Gateway writes a stage's execution logs to (its name is fixed by the service)."""
    return pulumi.Output.concat("API-Gateway-Execution-Logs_", rest_api_id, "/", stage)


def _visibility(metric: str) -> aws.wafv2.WebAclVisibilityConfigArgs:
    # Sampled requests would show full URIs, CPFs included, in the console.
    return aws.wafv2.WebAclVisibilityConfigArgs(
        cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=False
    )
