"""The mail relay stand-in, in this process on loopback: submission (587) as relay providers run it, and
"somebody else's mail server" on 25. Every message it accepts is kept with how it came."""

from __future__ import annotations

import smtplib
import ssl

import pytest
from oxy_sandbox.backends import relay
from oxy_sandbox.core import Sandbox
from oxy_sandbox.store import Store
from oxy_sandbox.tls import ensure_certs

from tests.fixtures.loopback import free_port

MESSAGE = "From: api@oxy.so\r\nTo: someone@example.net\r\nSubject: hello\r\n\r\nSent through the relay.\r\n"


@pytest.fixture
def served(tmp_path):
    tls_dir = tmp_path / "tls"
    ensure_certs(tls_dir)
    sb = Sandbox(Store(None))
    store = sb.store
    password = ["first-password"]
    service = relay.Relay(
        store, "127.0.0.1", tls_dir, lambda: password[0], submission_port=free_port(), mx_port=free_port()
    )
    service.start()
    service.test_password = password
    yield service, sb.mail
    service.stop()


def context(service) -> ssl.SSLContext:
    """What a client of the relay trusts: the sandbox's CA, and the name relay.HOSTNAME."""
    ctx = ssl.create_default_context(cafile=str(service.ca_file))
    return ctx


def submission(service) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", service.submission_port, timeout=10)
    client.ehlo("droplet.oxy.so")
    return client


def test_starttls_then_auth_is_accepted_and_the_message_kept(served):
    service, mail = served
    with submission(service) as client:
        assert not client.has_extn("auth")  # no AUTH offered before STARTTLS
        client.starttls(context=context(service))
        client.ehlo("droplet.oxy.so")
        assert set(client.esmtp_features["auth"].upper().split()) >= {"PLAIN", "LOGIN"}
        client.login(relay.USER, "first-password")
        refused = client.sendmail("api@oxy.so", ["someone@example.net", "other@example.org"], MESSAGE)
        assert refused == {}
    with submission(service) as client:  # AUTH LOGIN works too
        client.starttls(context=context(service))
        client.ehlo("droplet.oxy.so")
        client.user, client.password = relay.USER, "first-password"
        assert client.auth("LOGIN", client.auth_login)[0] == 235

    [kept] = mail.messages()
    assert kept["port"] == service.submission_port and kept["tls"] is True
    assert kept["auth_user"] == relay.USER and kept["helo"] == "droplet.oxy.so"
    assert kept["client_address"] == "127.0.0.1"
    assert kept["mail_from"] == "api@oxy.so"
    assert kept["rcpt_tos"] == ["someone@example.net", "other@example.org"]
    assert kept["data"].replace("\r\n", "\n") == MESSAGE.replace("\r\n", "\n")
    assert kept["id"] and kept["received_at"].endswith("Z")
    mail.forget()
    assert mail.messages() == []


def test_auth_before_starttls_is_refused(served):
    service, mail = served
    with submission(service) as client:
        code, _text = client.docmd("AUTH", "PLAIN AG94eS1yZWxheQBmaXJzdC1wYXNzd29yZA==")  # \0oxy-relay\0first-password
        assert code == 530  # STARTTLS first
        code, _text = client.docmd("MAIL", "FROM:<api@oxy.so>")
        assert code == 530
    assert mail.messages() == []


def test_mail_without_auth_is_refused(served):
    service, mail = served
    with submission(service) as client:
        client.starttls(context=context(service))
        client.ehlo("droplet.oxy.so")
        code, text = client.mail("api@oxy.so")
        assert code == 530 and b"Authentication required" in text
    assert mail.messages() == []


def test_a_wrong_password_or_user_is_refused_and_the_setting_is_read_at_each_auth(served):
    service, mail = served
    for user, password in ((relay.USER, "wrong"), ("someone", "first-password")):
        with submission(service) as client:
            client.starttls(context=context(service))
            client.ehlo("droplet.oxy.so")
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                client.login(user, password)
            assert refused.value.smtp_code == 535
            assert client.mail("api@oxy.so")[0] == 530
    service.test_password[0] = "second-password"  # PUT /_sandbox/config {"relay_password": ...}
    with submission(service) as client:
        client.starttls(context=context(service))
        client.ehlo("droplet.oxy.so")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(relay.USER, "first-password")
    with submission(service) as client:
        client.starttls(context=context(service))
        client.ehlo("droplet.oxy.so")
        assert client.login(relay.USER, "second-password")[0] == 235
    assert mail.messages() == []


def test_port_25_takes_any_mail_without_auth(served):
    service, mail = served
    with smtplib.SMTP("127.0.0.1", service.mx_port, timeout=10) as client:
        client.ehlo("mail.oxy.so")
        assert client.has_extn("starttls") and not client.has_extn("auth")
        assert client.sendmail("bounce@oxy.so", ["postmaster@example.net"], MESSAGE) == {}
    [kept] = mail.messages()
    assert kept["port"] == service.mx_port and kept["tls"] is False and kept["auth_user"] is None
    assert kept["rcpt_tos"] == ["postmaster@example.net"] and kept["helo"] == "mail.oxy.so"
