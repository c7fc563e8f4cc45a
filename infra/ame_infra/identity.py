"""Who may call the API in one region: a Cognito user pool whose app clients are the areas' systems.

Machine-to-machine only: OAuth 2.0 client credentials, no users, no sign-up, no hosted login. The
resource server `ame-platform` defines the scopes; each consuming area (stack config
`ame-platform:areas`) gets one app client with a secret and only its scopes. The API verifies the
tokens itself (`chalicelib/api/gatekeeper.py`), so the same check runs locally and in Lambda; this
component only produces what that check needs: the issuers to trust and the area registry.

Each region has its own pool, so an area system holds one client per region and fails over its
token endpoint with the API. A token issued by the peer region's pool may still be presented for up
to an hour after a failover (or failback), so each stack also trusts the peer's issuer and clients
when told them (`peerTokenIssuer`, `peerAreaClientIds`: the other stack's outputs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from ame_infra.config import AreaClient
from ame_infra.contract import IDENTITY_VARIABLES, RESOURCE_SERVER, SCOPES, identity_environment

ACCESS_TOKEN_HOURS = 1


@dataclass(frozen=True)
class AreaIdentityArgs:
    region: str
    areas: tuple[AreaClient, ...]
    domain_prefix: str
    peer_token_issuer: str | None = None
    peer_area_client_ids: Mapping[str, str] = field(default_factory=dict)


def issuer_url(region: str, pool_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """Cognito's `iss` claim; its JWKS is at `<issuer>/.well-known/jwks.json`."""
    return pulumi.Output.concat("https://cognito-idp.", region, ".amazonaws.com/", pool_id)


class AreaIdentity(pulumi.ComponentResource):
    issuer: pulumi.Output[str]
    token_url: pulumi.Output[str]
    user_pool_id: pulumi.Output[str]
    client_ids: dict[str, pulumi.Output[str]]
    """Area id -> this region's app client id (never the secret)."""
    environment: dict[str, pulumi.Output[str]]
    """For the API function: `AME_TOKEN_ISSUERS` (this pool's issuer, then the peer's when known),
    `AME_AREA_CLIENTS` (client id -> area id, this pool's clients and the peer's), `AME_RESOURCE_SERVER`,
    `AME_TOKEN_URL` (this pool's token endpoint, for the published OpenAPI document)."""

    def __init__(self, name: str, args: AreaIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("ame:security:AreaIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pool = aws.cognito.UserPool(
            name,
            name=name,
            # Only administrators (this program) create principals; nobody signs up.
            admin_create_user_config={"allow_admin_create_user_only": True},
            # Deleting the pool would delete every area's credentials in this region, DR included.
            deletion_protection="ACTIVE",
            mfa_configuration="OFF",  # no users: client credentials only
            opts=child,
        )
        server = aws.cognito.ResourceServer(
            name,
            user_pool_id=pool.id,
            identifier=RESOURCE_SERVER,
            name=RESOURCE_SERVER,
            scopes=[{"scope_name": scope, "scope_description": text} for scope, text in SCOPES.items()],
            opts=child,
        )
        domain = aws.cognito.UserPoolDomain(name, domain=args.domain_prefix, user_pool_id=pool.id, opts=child)
        clients = {area.area_id: self._client(name, area, pool, server) for area in args.areas}

        self.user_pool_id = pool.id
        self.issuer = issuer_url(args.region, pool.id)
        self.token_url = pulumi.Output.concat(
            "https://", domain.domain, ".auth.", args.region, ".amazoncognito.com/oauth2/token"
        )
        self.client_ids = {area_id: client.id for area_id, client in clients.items()}
        peer_issuers = [args.peer_token_issuer] if args.peer_token_issuer else []
        peer_clients = {client_id: area_id for area_id, client_id in args.peer_area_client_ids.items()}
        area_ids = list(self.client_ids)
        environment = pulumi.Output.all(self.issuer, self.token_url, *self.client_ids.values()).apply(
            lambda values: identity_environment(
                [values[0], *peer_issuers],
                {**peer_clients, **dict(zip(values[2:], area_ids, strict=True))},
                values[1],
            )
        )
        self.environment = {name: _variable(environment, name) for name in IDENTITY_VARIABLES}
        self.register_outputs({"issuer": self.issuer, "token_url": self.token_url, "client_ids": self.client_ids})

    def _client(
        self, name: str, area: AreaClient, pool: aws.cognito.UserPool, server: aws.cognito.ResourceServer
    ) -> aws.cognito.UserPoolClient:
        return aws.cognito.UserPoolClient(
            f"{name}-{area.area_id.lower()}",
            name=f"ame-{area.area_id}",
            user_pool_id=pool.id,
            generate_secret=True,
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=["client_credentials"],
            # Through the server's identifier, so the client waits for the scopes it names to exist.
            allowed_oauth_scopes=server.identifier.apply(
                lambda identifier: [f"{identifier}/{scope}" for scope in area.scopes]
            ),
            supported_identity_providers=["COGNITO"],
            # No user sign-in flow at all (Cognito would otherwise enable SRP and custom auth).
            explicit_auth_flows=["ALLOW_REFRESH_TOKEN_AUTH"],
            access_token_validity=ACCESS_TOKEN_HOURS,
            token_validity_units={"access_token": "hours"},
            enable_token_revocation=True,
            prevent_user_existence_errors="ENABLED",
            opts=pulumi.ResourceOptions(parent=self),
        )


def _variable(environment: pulumi.Output[dict[str, str]], name: str) -> pulumi.Output[str]:
    return environment.apply(lambda variables: variables[name])
