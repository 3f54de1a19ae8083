#!/bin/sh
# Replaces submission's SASL database with the users read from standard input, one "username password"
# a line (passwords never on a command line), for the realm given as the only argument. Run as postfix
# (docker exec --user postfix), whose database it is: 0600, in /var/lib/oxy-sasldb. Built aside and
# renamed into place, so an authentication never sees half of it.
set -eu
realm=$1
dir=/var/lib/oxy-sasldb
umask 077
staged=$(mktemp "$dir/.sasldb2-XXXXXX")
trap 'rm -f "$staged"' EXIT
rm -f "$staged"
while read -r user password; do
  [ -n "$user" ] || continue
  printf '%s' "$password" | saslpasswd2 -p -c -f "$staged" -u "$realm" "$user"
done
if [ -e "$staged" ]; then
  chmod 0600 "$staged"
  mv -f "$staged" "$dir/sasldb2"
else
  rm -f "$dir/sasldb2"  # no users: nobody authenticates
fi
trap - EXIT
