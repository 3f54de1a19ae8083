"""Request bodies, validated the way DigitalOcean validates them (patterns and enums from its spec)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

HOSTNAME = r"^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?$"
VPC_NAME = r"^[a-zA-Z0-9\-\.]+$"
FIREWALL_NAME = r"^[a-zA-Z0-9][a-zA-Z0-9\.-]+$"
TAG_NAME = r"^[a-zA-Z0-9_\-\:]+$"
DB_NAME = r"^[a-z][a-z0-9-]{1,61}[a-z0-9]$"
APP_NAME = r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$"
ENV_KEY = r"^[_A-Za-z][_A-Za-z0-9]*$"
DB_USER = r"^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,62}$"
PORTS = re.compile(r"^(0|all|\d{1,5}(-\d{1,5})?)$")

Tag = Annotated[str, Field(pattern=TAG_NAME, max_length=255)]


class Body(BaseModel):
    """A request body, or a part of one, read as DigitalOcean reads it.

    Unknown fields are ignored, and an optional field sent as JSON ``null`` counts as absent (its
    default applies; a PATCH leaves it unchanged), as DigitalOcean's Go decoder does: other clients
    (python-digitalocean, Terraform, doctl) send ``"tags": null`` or ``"description": null`` for
    what they were not given. A required field sent as ``null`` is still refused, by name.
    """

    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        optional = {name for name, f in fields.items() if not f.is_required()}
        optional |= {f.alias for name, f in fields.items() if f.alias and name in optional}
        return {k: v for k, v in data.items() if v is not None or k not in optional}


class Strict(Body):
    """A part of a body whose unknown fields DigitalOcean refuses (the App Platform spec)."""

    model_config = ConfigDict(extra="forbid")


def check_cidr(value: str, allow_v6: bool = True) -> str:
    try:
        net = ipaddress.ip_network(value, strict=False)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid IP address or CIDR") from exc
    if net.version == 6 and not allow_v6:
        raise ValueError(f"{value!r}: IPv6 is not supported here")
    return value


# -- VPCs ---------------------------------------------------------------------
class VpcCreate(Body):
    name: str = Field(pattern=VPC_NAME, max_length=255)
    region: str
    description: str = Field("", max_length=255)
    ip_range: str | None = None

    @field_validator("ip_range")
    @classmethod
    def _private_range(cls, value: str | None) -> str | None:
        if value is None:
            return value
        net = ipaddress.ip_network(check_cidr(value, allow_v6=False), strict=False)
        if not net.is_private or not 16 <= net.prefixlen <= 28:
            raise ValueError("must be an RFC1918 range between /16 and /28")
        return str(net)


class VpcUpdate(Body):
    name: str = Field(pattern=VPC_NAME, max_length=255)
    description: str | None = Field(None, max_length=255)
    default: bool | None = None


class VpcPatch(Body):
    name: str | None = Field(None, pattern=VPC_NAME, max_length=255)
    description: str | None = Field(None, max_length=255)
    default: bool | None = None


# -- Droplets -------------------------------------------------------------------
class BackupPolicy(Body):
    plan: Literal["daily", "weekly"] | None = None
    weekday: Literal["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"] | None = None
    hour: Literal[0, 4, 8, 12, 16, 20] | None = None


class DropletCreate(Body):
    name: str | None = Field(None, pattern=HOSTNAME)
    names: list[Annotated[str, Field(pattern=HOSTNAME)]] | None = Field(None, min_length=1, max_length=10)
    size: str
    image: str | int
    region: str | None = None
    ssh_keys: list[str | int] = Field(default_factory=list)
    backups: bool = False
    backup_policy: BackupPolicy | None = None
    ipv6: bool = False
    monitoring: bool = False
    tags: list[Tag] = Field(default_factory=list)
    user_data: str | None = Field(None, max_length=64 * 1024)
    volumes: list[str] = Field(default_factory=list)
    vpc_uuid: str | None = None
    with_droplet_agent: bool | None = None
    public_networking: bool = True

    @model_validator(mode="after")
    def _one_naming(self) -> DropletCreate:
        if (self.name is None) == (self.names is None):
            raise ValueError("exactly one of name or names is required")
        return self


class DropletAction(Body):
    type: Literal[
        "enable_backups",
        "disable_backups",
        "change_backup_policy",
        "reboot",
        "power_cycle",
        "shutdown",
        "power_off",
        "power_on",
        "restore",
        "password_reset",
        "resize",
        "rebuild",
        "rename",
        "change_kernel",
        "enable_ipv6",
        "snapshot",
    ]
    size: str | None = None
    disk: bool = False
    name: str | None = None
    image: str | int | None = None
    backup_policy: BackupPolicy | None = None


class ImageAction(Body):
    type: Literal["transfer", "convert"]
    region: str | None = None

    @model_validator(mode="after")
    def _region(self) -> ImageAction:
        if self.type == "transfer" and not self.region:
            raise ValueError("region is required for a transfer")
        return self


class ImageUpdate(Body):
    name: str | None = None
    description: str | None = Field(None, max_length=140)
    distribution: str | None = None


class BackupRestore(Body):
    database_name: str
    backup_created_at: str | None = None


# -- Firewalls ------------------------------------------------------------------
class Targets(Body):
    addresses: list[str] | None = None
    droplet_ids: list[int] | None = None
    load_balancer_uids: list[str] | None = None
    kubernetes_ids: list[str] | None = None
    tags: list[Tag] | None = None

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: list[str] | None) -> list[str] | None:
        return [check_cidr(a) for a in value] if value else value

    def empty(self) -> bool:
        return not any(getattr(self, f) for f in Targets.model_fields)


class _Rule(Body):
    protocol: Literal["tcp", "udp", "icmp"]
    ports: str = "0"

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: str) -> str:
        if not PORTS.match(value):
            raise ValueError(f"{value!r} is not a port, a range like 8000-9000, 0 or all")
        if value not in ("0", "all"):
            low, _, high = value.partition("-")
            if not 1 <= int(low) <= int(high or low) <= 65535:
                raise ValueError(f"{value!r} is outside 1-65535 or reversed")
        return value


class InboundRule(_Rule):
    sources: Targets

    @model_validator(mode="after")
    def _has_sources(self) -> InboundRule:
        if self.sources.empty():
            raise ValueError("an inbound rule needs at least one source")
        return self


class OutboundRule(_Rule):
    destinations: Targets

    @model_validator(mode="after")
    def _has_destinations(self) -> OutboundRule:
        if self.destinations.empty():
            raise ValueError("an outbound rule needs at least one destination")
        return self


class FirewallRules(Body):
    inbound_rules: list[InboundRule] | None = None
    outbound_rules: list[OutboundRule] | None = None

    @model_validator(mode="after")
    def _some_rule(self) -> FirewallRules:
        if not self.inbound_rules and not self.outbound_rules:
            raise ValueError("at least one inbound or outbound rule is required")
        return self


class Firewall(FirewallRules):
    name: str = Field(pattern=FIREWALL_NAME, max_length=255)
    droplet_ids: list[int] | None = None
    tags: list[Tag] | None = None


class FirewallUpdate(Firewall):
    @model_validator(mode="after")
    def _some_rule(self) -> FirewallUpdate:  # PUT may legitimately clear every rule
        return self


class FirewallDroplets(Body):
    droplet_ids: list[int] = Field(min_length=1)


class FirewallTags(Body):
    tags: list[Tag] = Field(min_length=1)


# -- Databases -------------------------------------------------------------------
class TrustedSource(Body):
    type: Literal["ip_addr", "droplet", "k8s", "tag", "app"]
    value: str = Field(min_length=1)
    description: str | None = None
    uuid: str | None = None

    @model_validator(mode="after")
    def _value(self) -> TrustedSource:
        if self.type == "ip_addr":
            check_cidr(self.value, allow_v6=False)
        elif self.type == "droplet" and not self.value.isdigit():
            raise ValueError(f"droplet value {self.value!r} must be a droplet id")
        elif self.type == "tag" and not re.match(TAG_NAME, self.value):
            raise ValueError(f"tag value {self.value!r} is not a valid tag name")
        return self


class DatabaseCreate(Body):
    name: str = Field(pattern=DB_NAME)
    engine: Literal["pg", "mysql", "redis", "valkey", "mongodb", "kafka", "opensearch"]
    version: str | None = None
    num_nodes: int = Field(ge=1)
    size: str
    region: str
    private_network_uuid: str | None = None
    tags: list[Tag] | None = None
    project_id: str | None = None
    rules: list[TrustedSource] | None = None
    storage_size_mib: int | None = Field(None, ge=0)
    backup_restore: BackupRestore | None = None


class DatabaseResize(Body):
    size: str
    num_nodes: int = Field(ge=1)
    storage_size_mib: int | None = Field(None, ge=0)


class DatabaseFirewall(Body):
    rules: list[TrustedSource] = Field(max_length=100)


class MongoUserSettings(Body):
    databases: list[str] = Field(min_length=1)
    role: Literal["readOnly", "readWrite", "dbAdmin"]


class UserSettings(Body):
    model_config = ConfigDict(extra="allow")
    mongo_user_settings: MongoUserSettings | None = None
    pg_allow_replication: bool | None = None


class UserCreate(Body):
    name: str = Field(pattern=DB_USER)
    mysql_settings: dict[str, Any] | None = None
    settings: UserSettings | None = None
    readonly: bool | None = None


class UserUpdate(Body):
    settings: UserSettings


class DbCreate(Body):
    name: str = Field(pattern=r"^[a-zA-Z0-9_][a-zA-Z0-9_-]{0,62}$")


EvictionPolicy = Literal[
    "noeviction", "allkeys_lru", "allkeys_random", "volatile_lru", "volatile_random", "volatile_ttl"
]


class EvictionPolicyBody(Body):
    eviction_policy: EvictionPolicy


class ConfigPatch(Body):
    config: dict[str, Any]


class MaintenanceWindow(Body):
    day: Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
    hour: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$")


class VersionUpgrade(Body):
    version: str


class SqlMode(Body):
    sql_mode: str


# -- Apps -------------------------------------------------------------------------
class EnvVar(Strict):
    key: str = Field(pattern=ENV_KEY)
    scope: Literal["UNSET", "RUN_TIME", "BUILD_TIME", "RUN_AND_BUILD_TIME"] = "RUN_AND_BUILD_TIME"
    type: Literal["GENERAL", "SECRET"] = "GENERAL"
    value: str | None = None


AlertRule = Literal[
    "UNSPECIFIED_RULE",
    "CPU_UTILIZATION",
    "MEM_UTILIZATION",
    "RESTART_COUNT",
    "DEPLOYMENT_FAILED",
    "DEPLOYMENT_LIVE",
    "DOMAIN_FAILED",
    "DOMAIN_LIVE",
    "AUTOSCALE_FAILED",
    "AUTOSCALE_SUCCEEDED",
    "FUNCTIONS_ACTIVATION_COUNT",
    "FUNCTIONS_AVERAGE_DURATION_MS",
    "FUNCTIONS_ERROR_RATE_PER_MINUTE",
    "FUNCTIONS_AVERAGE_WAIT_TIME_MS",
    "FUNCTIONS_ERROR_COUNT",
    "FUNCTIONS_GB_RATE_PER_SECOND",
    "REQUESTS_PER_SECOND",
    "REQUEST_DURATION_P95_MS",
]


class AlertSpec(Strict):
    rule: AlertRule = "UNSPECIFIED_RULE"
    disabled: bool | None = None
    operator: Literal["UNSPECIFIED_OPERATOR", "GREATER_THAN", "LESS_THAN"] | None = None
    value: float | None = None
    window: Literal["UNSPECIFIED_WINDOW", "FIVE_MINUTES", "TEN_MINUTES", "THIRTY_MINUTES", "ONE_HOUR"] | None = None


class Component(Body):
    model_config = ConfigDict(extra="allow")
    name: str = Field(pattern=APP_NAME)
    envs: list[EnvVar] | None = None
    alerts: list[AlertSpec] | None = None


class AppSpec(Body):
    model_config = ConfigDict(extra="allow")
    name: str = Field(pattern=APP_NAME)
    region: Literal["atl", "nyc", "sfo", "tor", "ams", "fra", "lon", "blr", "sgp", "syd"] | None = None
    services: list[Component] | None = None
    static_sites: list[Component] | None = None
    workers: list[Component] | None = None
    jobs: list[Component] | None = None
    functions: list[Component] | None = None
    envs: list[EnvVar] | None = None
    alerts: list[AlertSpec] | None = None


class AppCreate(Body):
    spec: AppSpec
    project_id: str | None = None


class AppUpdate(Body):
    spec: AppSpec
    update_all_source_versions: bool = False


class AppPropose(Body):
    spec: AppSpec
    app_id: str | None = None


class DeploymentCreate(Body):
    force_build: bool = False


class SlackWebhook(Body):
    url: str | None = None
    channel: str | None = None


class AlertDestinations(Body):
    emails: list[str] | None = None
    slack_webhooks: list[SlackWebhook] | None = None


class Rollback(Body):
    deployment_id: str = Field(min_length=1)
    skip_pin: bool = False


LogType = Literal["UNSPECIFIED", "BUILD", "DEPLOY", "RUN", "RUN_RESTARTED", "AUTOSCALE_EVENT"]


# -- Projects ----------------------------------------------------------------------
Environment = Literal["Development", "Staging", "Production"]


class ProjectCreate(Body):
    name: str = Field(min_length=1, max_length=175)
    purpose: str = Field(min_length=1, max_length=255)
    description: str = Field("", max_length=255)
    environment: Environment | None = None


class ProjectUpdate(Body):
    name: str = Field(min_length=1, max_length=175)
    description: str = Field(max_length=255)
    purpose: str = Field(max_length=255)
    environment: Environment
    is_default: bool


class ProjectPatch(Body):
    name: str | None = Field(None, min_length=1, max_length=175)
    description: str | None = Field(None, max_length=255)
    purpose: str | None = Field(None, max_length=255)
    environment: Environment | None = None
    is_default: bool | None = None


class ProjectResources(Body):
    resources: list[str] = Field(min_length=1)


# -- Container registry ------------------------------------------------------------
class RegistryCreate(Body):
    name: str = Field(pattern=r"^[a-z0-9-]{1,63}$", max_length=63)
    subscription_tier_slug: Literal["starter", "basic", "professional"]
    region: Literal["nyc3", "sfo3", "ams3", "sgp1", "fra1"] | None = None


class RegistrySubscription(Body):
    tier_slug: Literal["starter", "basic", "professional"]


# -- Domains, SSH keys, tags -------------------------------------------------------
class DomainCreate(Body):
    name: str = Field(pattern=r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$")
    ip_address: str | None = None


RecordType = Literal["A", "AAAA", "CAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT"]


class RecordBody(Body):
    type: RecordType
    name: str | None = None
    data: str | None = None
    priority: int | None = Field(None, ge=0, le=65535)
    port: int | None = Field(None, ge=0, le=65535)
    ttl: int | None = Field(None, ge=30)
    weight: int | None = Field(None, ge=0, le=65535)
    flags: int | None = Field(None, ge=0, le=255)
    tag: Literal["issue", "issuewild", "iodef"] | None = None


class RecordUpdate(RecordBody):
    # DigitalOcean's PUT and PATCH change what they are sent; a record keeps its type when none is.
    type: RecordType | None = None


class SshKeyCreate(Body):
    name: str = Field(min_length=1, max_length=255)
    public_key: str


class SshKeyUpdate(Body):
    name: str = Field(min_length=1, max_length=255)


class TagCreate(Body):
    name: str = Field(pattern=TAG_NAME, max_length=255)


class TagResource(Body):
    resource_id: str
    resource_type: Literal["droplet", "image", "volume", "volume_snapshot", "database"]


class TagResources(Body):
    resources: list[TagResource] = Field(min_length=1)
