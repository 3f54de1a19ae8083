"""Backends own the sandbox's state, rules, lifecycles and side effects (moto's ``models``).

One backend per resource family, instantiated once per ``Sandbox``: ``account`` (SSH keys, tags,
actions, the registry), ``networking`` (VPCs, firewalls), ``droplets``, ``databases``, ``apps``,
``projects``, ``domains``, ``monitoring`` (uptime checks, alert policies and their prober).
``machines``, ``netfilter``, ``registry`` and ``caching`` (Valkey clusters' servers) drive Docker,
iptables and the registry process for them. Routes never call Docker,
iptables or child processes themselves, and never change stored objects: they ask a backend.
"""
