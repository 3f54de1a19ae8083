"""The sandbox's control API for mail: the relay stand-in's messages and password, DigitalOcean's block of
outbound port 25, and where the DNS server and the relay are (`GET /_sandbox/machines`).

These run against the session's sandbox with or without machines: the DNS server and the relay run only
with machines (on addresses of the public network); without them the addresses are null and the relay
keeps nothing, but the settings and the messages' endpoints answer the same way.
"""

from __future__ import annotations

import smtplib
import ssl
from pathlib import Path

import pytest
import requests

MAIL_KEYS = {"dns_address", "relay_address", "relay_host", "relay_ca_file", "smtp_outbound_blocked"}


def test_machines_name_the_dns_server_the_relay_and_the_smtp_block(sandbox):
    info = sandbox.control("GET", "machines")
    assert set(info) >= MAIL_KEYS
    assert info["smtp_outbound_blocked"] is True  # as for a new DigitalOcean account
    if info["relay_address"]:
        assert info["relay_host"] == "smtp.relay.oxy-sandbox.test"
        assert info["relay_ca_file"].endswith("/tls/ca.pem")
        assert Path(info["relay_ca_file"]).read_text().startswith("-----BEGIN CERTIFICATE-----")
        assert info["dns_address"] and info["dns_address"] != info["relay_address"]
    else:
        assert info["relay_host"] is None and info["relay_ca_file"] is None
    assert sandbox.dns_address == info["dns_address"]

    lifted = sandbox.configure(smtp_outbound_blocked=False)
    assert lifted["smtp_outbound_blocked"] is False
    assert sandbox.control("GET", "machines")["smtp_outbound_blocked"] is False


def test_the_relay_password_is_a_setting_and_a_secret(sandbox):
    assert sandbox.control("GET", "config")["relay_password"] == "sandbox-relay-password"
    assert sandbox.control("GET", "secrets")["relay"] == ["sandbox-relay-password"]
    sandbox.configure(relay_password="rotated-relay-password")
    assert sandbox.control("GET", "secrets")["relay"] == ["rotated-relay-password"]


@pytest.mark.parametrize(
    ("setting", "value"), [("relay_password", ""), ("smtp_outbound_blocked", "sometimes"), ("relay_passwd", "x")]
)
def test_bad_mail_settings_are_refused_naming_them(sandbox, setting, value):
    resp = requests.put(f"{sandbox.url}/_sandbox/config", json={setting: value}, verify=sandbox.ca, timeout=30)
    assert resp.status_code == 422
    assert setting in resp.json()["message"]
    assert sandbox.control("GET", "config")["relay_password"] == "sandbox-relay-password"


def test_the_kept_messages_are_listed_and_emptied(sandbox):
    assert sandbox.mail_messages() == []
    info = sandbox.control("GET", "machines")
    if info["relay_address"]:  # with machines: a message submitted from this machine, as a client of the relay
        sandbox.configure(relay_password="contract-relay-password")
        context = ssl.create_default_context(cafile=info["relay_ca_file"])
        with smtplib.SMTP(info["relay_address"], 587, timeout=10) as client:
            client.ehlo("operator.oxy.so")
            client.starttls(context=context)  # the certificate names the relay's address too
            client.ehlo("operator.oxy.so")
            client.login("oxy-relay", "contract-relay-password")
            client.sendmail("ops@oxy.so", ["someone@example.net"], "Subject: contract\r\n\r\nhello\r\n")
        [kept] = sandbox.mail_messages()
        assert {k: kept[k] for k in ("port", "tls", "auth_user", "mail_from", "rcpt_tos", "helo")} == {
            "port": 587,
            "tls": True,
            "auth_user": "oxy-relay",
            "mail_from": "ops@oxy.so",
            "rcpt_tos": ["someone@example.net"],
            "helo": "operator.oxy.so",
        }
        assert "Subject: contract\r\n" in kept["data"]
    assert sandbox.control("DELETE", "mail/messages") == {"messages": []}
    assert sandbox.mail_messages() == []
