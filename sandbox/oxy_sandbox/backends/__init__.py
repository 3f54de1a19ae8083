"""Backends own side effects outside the API's state: machines, networks, firewall rules, the registry.

Routes never call Docker, iptables or child processes themselves; they ask a backend.
"""
