#!/bin/sh
# Applies POSTFIX_<param>=<value> variables to main.cf, enables submission (587) with STARTTLS,
# then runs the command (postfix in the foreground).
set -eu
env | while IFS='=' read -r key value; do
  case "$key" in POSTFIX_*) postconf -e "$(echo "${key#POSTFIX_}" | tr 'A-Z' 'a-z')=$value" ;; esac
done
postconf -M submission/inet="submission inet n - y - - smtpd"
postconf -P "submission/inet/syslog_name=postfix/submission" \
            "submission/inet/smtpd_tls_security_level=encrypt" \
            "submission/inet/smtpd_sasl_auth_enable=no"
postconf -e "maillog_file=/dev/stdout"
cp /etc/resolv.conf /etc/hosts /var/spool/postfix/etc/ 2>/dev/null || true
exec "$@"
