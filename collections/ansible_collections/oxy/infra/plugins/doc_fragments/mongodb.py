# Copyright (c) oxy.infra engineers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - MongoDB connection string, C(mongodb://) or C(mongodb+srv://), with the user and password to connect as
        (percent-encoded), for example the C(MONGODB_URI) delivered to an app.
      - Its options (C(tls), C(authSource), C(replicaSet), ...) apply as written.
      - Never printed. Messages and results name the hosts but never the password nor the whole connection string;
        pymongo's own messages lose the credentials before they leave the module.
    type: str
    required: true
  tls_ca_file:
    description:
      - CA certificate (PEM) that verifies the server's certificate, for a private CA such as a DigitalOcean
        cluster's (its C(ca_certificate)); instead of the system's CAs.
      - Only used when the connection string turns TLS on (C(tls=true), implied by C(mongodb+srv://)).
    type: path
  timeout:
    description:
      - Seconds to find a usable server (connect, TLS, authentication) and for each answer.
      - A host that is not a trusted source of a managed cluster usually ends in this timeout.
    type: float
    default: 10.0
requirements:
  - pymongo >= 4.0
  - dnspython, for C(mongodb+srv://) connection strings
"""
