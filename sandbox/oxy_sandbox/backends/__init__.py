"""Backends own the sandbox's state, rules, lifecycles and side effects (moto's ``models``).

One backend per resource family, instantiated once per ``Sandbox``: ``account`` (SSH keys, tags,
actions, the registry), ``networking`` (VPCs, firewalls), ``droplets``, ``databases``, ``apps``,
``projects``, ``domains``, ``monitoring`` (uptime checks, alert policies and their prober),
``mail`` (``relay.py``: the relay stand-in's kept messages).
``machines``, ``netfilter``, ``registry`` and ``caching`` (Valkey clusters' servers) drive Docker,
iptables and the registry process for them; ``nameserver`` (the DNS server) and ``relay`` (the mail
relay stand-in) serve on the public network next to the registry. Routes never call Docker,
iptables or child processes themselves, and never change stored objects: they ask a backend.
"""
