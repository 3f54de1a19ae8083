"""The api_stack role's mail settings, rendered by Ansible's own templating from the role's defaults and vars.

What postfix is told (the SMTP container's POSTFIX_*/SUBMISSION_* environment), what the API gets, and that no
password reaches anything but the files meant to hold it. molecule/api_stack runs them in postfix and OpenDKIM.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = Path(__file__).resolve().parents[2] / "collections/ansible_collections/oxy/infra/roles/api_stack"
RELAY = {"host": "smtp.relay.example", "port": 587, "username": "oxy-relay", "password": "relay-secret-1"}
SENDERS = [
    {"username": "api", "password": "api-secret-2", "addresses": ["noreply@oxy.so"]},
    {"username": "ops", "password": "ops-secret-3", "addresses": ["ops@oxy.so"]},
]


def render(expression: str, **overrides):
    """``expression`` with the role's defaults, its vars and ``overrides`` (a play's vars)."""
    loader = DataLoader()
    variables: dict = {}
    for path in (ROLE / "defaults/main.yml", ROLE / "vars/main.yml"):
        variables.update(loader.load_from_file(str(path), trusted_as_template=True))
    variables.update(overrides)
    return Templar(loader=loader, variables=variables).template(trust_as_template(expression))


def test_by_default_mail_is_delivered_directly_unsigned_and_relayed_for_nobody():
    env = render("{{ _api_stack_smtp_env }}")
    assert env["POSTFIX_relayhost"] == ""
    assert env["POSTFIX_smtp_sasl_auth_enable"] == "no" and env["POSTFIX_smtp_sasl_password_maps"] == ""
    assert env["POSTFIX_smtp_tls_security_level"] == "may"
    assert env["POSTFIX_smtpd_milters"] == env["POSTFIX_non_smtpd_milters"] == ""
    assert "SUBMISSION_smtpd_milters" not in env
    assert env["POSTFIX_milter_default_action"] == "tempfail"
    assert env["POSTFIX_mynetworks"] == "127.0.0.0/8 [::1]/128"
    assert env["POSTFIX_smtpd_relay_restrictions"] == "permit_sasl_authenticated, reject_unauth_destination"
    assert env["POSTFIX_smtpd_sasl_auth_enable"] == "no"  # no AUTH on 25
    assert env["POSTFIX_virtual_mailbox_domains"] == "oxy.so"
    assert env["POSTFIX_mydestination"] == "localhost"  # the domain is virtual: unknown users refused at RCPT


def test_submission_wants_starttls_then_auth_then_an_owned_sender():
    env = render("{{ _api_stack_smtp_env }}")
    assert env["SUBMISSION_smtpd_tls_security_level"] == "encrypt"
    assert env["SUBMISSION_smtpd_tls_auth_only"] == "yes"
    assert env["SUBMISSION_smtpd_sasl_auth_enable"] == "yes"
    assert env["SUBMISSION_smtpd_delay_reject"] == "no"  # refused at MAIL, not later
    assert (
        env["SUBMISSION_smtpd_sender_restrictions"] == "reject_sender_login_mismatch,permit_sasl_authenticated,reject"
    )
    assert env["SUBMISSION_smtpd_relay_restrictions"] == "permit_sasl_authenticated,reject"
    # master.cf values cannot hold spaces
    assert not [k for k, v in env.items() if k.startswith("SUBMISSION_") and " " in v]


def test_a_relay_is_used_with_verified_tls_and_sasl_and_its_password_stays_out_of_the_environment():
    env = render("{{ _api_stack_smtp_env }}", api_stack_smtp_relay=RELAY, api_stack_smtp_relay_ca_file="/ca.pem")
    assert env["POSTFIX_relayhost"] == "[smtp.relay.example]:587"
    assert env["POSTFIX_smtp_tls_security_level"] == "secure"
    assert env["POSTFIX_smtp_tls_CAfile"] == "/etc/postfix/oxy/relay_ca.pem"
    assert env["POSTFIX_smtp_sasl_auth_enable"] == "yes"
    assert env["POSTFIX_smtp_sasl_password_maps"] == "texthash:/etc/postfix/oxy/relay_password"
    assert "relay-secret-1" not in repr(env) and "oxy-relay" not in repr(env)
    system = render("{{ _api_stack_smtp_env }}", api_stack_smtp_relay=RELAY)
    assert system["POSTFIX_smtp_tls_CAfile"] == "/etc/ssl/certs/ca-certificates.crt"


def test_dkim_signs_submission_and_local_mail_never_what_arrives_on_25():
    env = render("{{ _api_stack_smtp_env }}", api_stack_dkim_selector="s1")
    assert env["SUBMISSION_smtpd_milters"] == env["POSTFIX_non_smtpd_milters"] == "inet:oxy-dkim:8891"
    assert env["POSTFIX_smtpd_milters"] == ""


def test_the_api_gets_its_senders_credentials_only_when_it_sends_mail():
    secret = {"MONGODB_URI": "mongodb://x"}
    assert (
        render("{{ _api_stack_api_secret_env }}", api_stack_api_secret_env=secret, api_stack_smtp_senders=SENDERS)
        == secret
    )
    env = render(
        "{{ _api_stack_api_secret_env }}",
        api_stack_api_secret_env=secret,
        api_stack_smtp_senders=SENDERS,
        api_stack_api_smtp_sender="api",
    )
    assert env == {
        "MONGODB_URI": "mongodb://x",
        "SMTP_HOST": "mail.oxy.so",
        "SMTP_PORT": "587",
        "SMTP_USER": "api",
        "SMTP_PASSWORD": "api-secret-2",
    }
    assert "ops-secret-3" not in repr(env)


def test_the_dkim_keys_entry_point_takes_the_main_ones_options():
    specs = yaml.safe_load((ROLE / "meta/argument_specs.yml").read_text())["argument_specs"]
    main, dkim = specs["main"]["options"], specs["dkim_keys"]["options"]
    assert sorted(dkim) == [
        "api_stack_dkim_key_bits",
        "api_stack_dkim_retired",
        "api_stack_dkim_selector",
        "api_stack_root",
    ]
    assert all(dkim[name] == main[name] for name in dkim)
    # The options that carry passwords are masked when the role validates its arguments.
    assert main["api_stack_smtp_relay"]["no_log"] and main["api_stack_smtp_senders"]["no_log"]
