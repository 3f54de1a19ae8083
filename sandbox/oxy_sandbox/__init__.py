"""A local, stateful stand-in for the DigitalOcean API v2.

It follows DigitalOcean's public OpenAPI spec (envelopes, status codes, error bodies,
pagination) closely enough that pydo and other DigitalOcean clients can be pointed at it.
The oxy.infra collection never imports this package; it only talks to it over HTTP(S).
"""
