#!/bin/sh
# `postfix start-fg` (the default): applies POSTFIX_<param>=<value> variables to main.cf and
# SUBMISSION_<param>=<value> to the submission service (587) in master.cf (names as postfix spells
# them, e.g. smtp_tls_CAfile; master.cf values without spaces), then runs postfix.
# Submission runs unchrooted: it authenticates against the SASL database in /var/lib/oxy-sasldb, which so
# stays out of the queue directory, the whole world of the chrooted smtpd that faces strangers on 25.
# `opendkim`: signs with the key of DKIM_SELECTOR (DKIM_DOMAIN, keys mounted in /etc/opendkim/keys).
set -eu
if [ "${1:-}" = opendkim ]; then
  : "${DKIM_DOMAIN:?}" "${DKIM_SELECTOR:?}"
  conf=/run/opendkim/opendkim.conf
  mkdir -p /run/opendkim
  # Postfix hands it submission's and locally generated mail only (never what arrives on 25), so every
  # client postfix names is one to sign for; it signs only mail From the domain.
  cat > "$conf" <<CONF
Syslog no
LogWhy yes
Mode s
Domain $DKIM_DOMAIN
Selector $DKIM_SELECTOR
KeyFile /etc/opendkim/keys/$DKIM_SELECTOR.pem
RequireSafeKeys yes
Canonicalization relaxed/simple
SignatureAlgorithm rsa-sha256
OversignHeaders From
InternalHosts 0.0.0.0/0,::/0
Socket inet:8891
UMask 077
CONF
  exec opendkim -f -l -x "$conf"
fi
env | while IFS='=' read -r key value; do
  case "$key" in
    POSTFIX_*) postconf -e "${key#POSTFIX_}=$value" ;;
  esac
done
postconf -M submission/inet="submission inet n - n - - smtpd"
postconf -P "submission/inet/syslog_name=postfix/submission"
env | while IFS='=' read -r key value; do
  case "$key" in
    SUBMISSION_*) postconf -P "submission/inet/${key#SUBMISSION_}=$value" ;;
  esac
done
postconf -e "maillog_file=/dev/stdout"
cp /etc/resolv.conf /etc/hosts /etc/nsswitch.conf /var/spool/postfix/etc/ 2>/dev/null || true
exec "$@"
