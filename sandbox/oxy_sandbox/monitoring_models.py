"""Request bodies of uptime checks, their alerts and alert policies (enums from DigitalOcean's spec).

DigitalOcean's monitoring and uptime services answer a body they refuse with 400 ``bad_request``
(``missing required field 'enabled'``), not 422: the app's error handler words it so for these paths.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, field_validator

from .models import Body

CheckType = Literal["ping", "http", "https"]
CheckRegion = Literal["us_east", "us_west", "eu_west", "se_asia"]
UptimeAlertType = Literal["latency", "down", "down_global", "ssl_expiry"]
Comparison = Literal["greater_than", "less_than"]
Period = Literal["2m", "3m", "5m", "10m", "15m", "30m", "1h"]

PolicyType = Literal[
    "v1/insights/droplet/load_1",
    "v1/insights/droplet/load_5",
    "v1/insights/droplet/load_15",
    "v1/insights/droplet/memory_utilization_percent",
    "v1/insights/droplet/disk_utilization_percent",
    "v1/insights/droplet/cpu",
    "v1/insights/droplet/disk_read",
    "v1/insights/droplet/disk_write",
    "v1/insights/droplet/public_outbound_bandwidth",
    "v1/insights/droplet/public_inbound_bandwidth",
    "v1/insights/droplet/private_outbound_bandwidth",
    "v1/insights/droplet/private_inbound_bandwidth",
    "v1/insights/lbaas/avg_cpu_utilization_percent",
    "v1/insights/lbaas/connection_utilization_percent",
    "v1/insights/lbaas/droplet_health",
    "v1/insights/lbaas/tls_connections_per_second_utilization_percent",
    "v1/insights/lbaas/increase_in_http_error_rate_percentage_5xx",
    "v1/insights/lbaas/increase_in_http_error_rate_percentage_4xx",
    "v1/insights/lbaas/increase_in_http_error_rate_count_5xx",
    "v1/insights/lbaas/increase_in_http_error_rate_count_4xx",
    "v1/insights/lbaas/high_http_request_response_time",
    "v1/insights/lbaas/high_http_request_response_time_50p",
    "v1/insights/lbaas/high_http_request_response_time_95p",
    "v1/insights/lbaas/high_http_request_response_time_99p",
    "v1/dbaas/alerts/load_15_alerts",
    "v1/dbaas/alerts/memory_utilization_alerts",
    "v1/dbaas/alerts/disk_utilization_alerts",
    "v1/dbaas/alerts/cpu_alerts",
    "v1/droplet/autoscale_alerts/current_instances",
    "v1/droplet/autoscale_alerts/target_instances",
    "v1/droplet/autoscale_alerts/current_cpu_utilization",
    "v1/droplet/autoscale_alerts/target_cpu_utilization",
    "v1/droplet/autoscale_alerts/current_memory_utilization",
    "v1/droplet/autoscale_alerts/target_memory_utilization",
    "v1/droplet/autoscale_alerts/scale_up",
    "v1/droplet/autoscale_alerts/scale_down",
]
Window = Literal["5m", "10m", "30m", "1h"]


# -- uptime checks ------------------------------------------------------------------
class CheckCreate(Body):
    name: str = Field(min_length=1, max_length=255)
    type: CheckType
    target: str = Field(min_length=1, max_length=2048)
    regions: list[CheckRegion]
    enabled: bool


class CheckUpdate(Body):
    """A PUT changes the fields it is sent (the spec requires none of them)."""

    name: str | None = Field(None, min_length=1, max_length=255)
    type: CheckType | None = None
    target: str | None = Field(None, min_length=1, max_length=2048)
    regions: list[CheckRegion] | None = None
    enabled: bool | None = None


class SlackTarget(Body):
    channel: str = Field(min_length=1)
    url: str = Field(min_length=1)


class Notifications(Body):
    email: list[str] | None = None
    slack: list[SlackTarget] | None = None


class UptimeAlertBody(Body):
    name: str = Field(min_length=1, max_length=255)
    type: UptimeAlertType
    threshold: int | None = Field(None, ge=0)
    comparison: Comparison | None = None
    notifications: Notifications
    period: Period


# -- alert policies -----------------------------------------------------------------
class PolicyAlerts(Body):
    email: list[str] | None = None
    slack: list[SlackTarget] | None = None


class PolicyBody(Body):
    type: PolicyType
    description: str = Field(min_length=1, max_length=255)
    compare: Literal["GreaterThan", "LessThan"]
    value: float
    window: Window
    entities: list[str] | None = None
    tags: list[str] | None = None
    alerts: PolicyAlerts
    enabled: bool

    @field_validator("type", mode="before")
    @classmethod
    def _known_type(cls, value: object) -> object:
        if isinstance(value, str) and value not in get_args(PolicyType):
            families = sorted({t.rsplit("/", 1)[0] + "/..." for t in get_args(PolicyType)})
            raise ValueError(f"{value!r} is not an alert policy type (DigitalOcean's: {', '.join(families)})")
        return value
