"""Static catalogs: regions, droplet sizes, images and managed-database options."""

from __future__ import annotations

REGIONS = [
    ("nyc1", "New York 1"),
    ("nyc2", "New York 2"),
    ("nyc3", "New York 3"),
    ("sfo1", "San Francisco 1"),
    ("sfo2", "San Francisco 2"),
    ("sfo3", "San Francisco 3"),
    ("ams2", "Amsterdam 2"),
    ("ams3", "Amsterdam 3"),
    ("sgp1", "Singapore 1"),
    ("lon1", "London 1"),
    ("fra1", "Frankfurt 1"),
    ("tor1", "Toronto 1"),
    ("blr1", "Bangalore 1"),
    ("syd1", "Sydney 1"),
]
REGION_FEATURES = ["backups", "ipv6", "metadata", "install_agent", "storage", "image_transfer", "private_networking"]

# App Platform regions map to datacenter slugs; App Platform uses the short form.
# slug: (label, continent, datacenters, flag), as GET /v2/apps/regions shows them.
APP_REGIONS = {
    "ams": ("Amsterdam", "Europe", ["ams3"], "netherlands"),
    "nyc": ("New York", "North America", ["nyc1", "nyc3"], "usa"),
    "sfo": ("San Francisco", "North America", ["sfo3"], "usa"),
    "tor": ("Toronto", "North America", ["tor1"], "canada"),
    "fra": ("Frankfurt", "Europe", ["fra1"], "germany"),
    "lon": ("London", "Europe", ["lon1"], "uk"),
    "blr": ("Bangalore", "Asia", ["blr1"], "india"),
    "sgp": ("Singapore", "Asia", ["sgp1"], "singapore"),
    "syd": ("Sydney", "Australia", ["syd1"], "australia"),
    "atl": ("Atlanta", "North America", ["nyc3"], "usa"),
}

# App Platform instance sizes: slug, name, cpu type, vcpus, memory GiB, bandwidth GiB, USD/month, tier,
# then flags (single_instance_only, scalable, deprecation_intent). The legacy slugs (basic-xxs,
# professional-xs, ...) are still accepted and listed, marked for deprecation.
_APP_SIZE_ROWS = [
    ("apps-s-1vcpu-0.5gb", "Shared 1VCPU 0.5GB", "SHARED", 1, 0.5, 50, 5, "basic", (True, False, False)),
    ("apps-s-1vcpu-1gb-fixed", "Shared 1VCPU 1GB Fixed", "SHARED", 1, 1, 100, 10, "basic", (True, False, False)),
    ("apps-s-1vcpu-1gb", "Shared 1VCPU 1GB", "SHARED", 1, 1, 150, 12, "professional", (False, False, False)),
    ("apps-s-1vcpu-2gb", "Shared 1VCPU 2GB", "SHARED", 1, 2, 200, 25, "professional", (False, False, False)),
    ("apps-s-2vcpu-4gb", "Shared 2VCPU 4GB", "SHARED", 2, 4, 250, 50, "professional", (False, False, False)),
    ("apps-d-1vcpu-0.5gb", "Dedicated 1VCPU 0.5GB", "DEDICATED", 1, 0.5, 100, 29, "professional", (False, True, False)),
    ("apps-d-1vcpu-1gb", "Dedicated 1VCPU 1GB", "DEDICATED", 1, 1, 200, 34, "professional", (False, True, False)),
    ("apps-d-1vcpu-2gb", "Dedicated 1VCPU 2GB", "DEDICATED", 1, 2, 300, 39, "professional", (False, True, False)),
    ("apps-d-1vcpu-4gb", "Dedicated 1VCPU 4GB", "DEDICATED", 1, 4, 400, 49, "professional", (False, True, False)),
    ("apps-d-2vcpu-4gb", "Dedicated 2VCPU 4GB", "DEDICATED", 2, 4, 500, 78, "professional", (False, True, False)),
    ("apps-d-2vcpu-8gb", "Dedicated 2VCPU 8GB", "DEDICATED", 2, 8, 600, 98, "professional", (False, True, False)),
    ("apps-d-4vcpu-8gb", "Dedicated 4VCPU 8GB", "DEDICATED", 4, 8, 700, 156, "professional", (False, True, False)),
    ("apps-d-4vcpu-16gb", "Dedicated 4VCPU 16GB", "DEDICATED", 4, 16, 800, 196, "professional", (False, True, False)),
    ("basic-xxs", "Basic XXS", "SHARED", 1, 0.5, 40, 5, "basic", (True, False, True)),
    ("basic-xs", "Basic XS", "SHARED", 1, 1, 80, 10, "basic", (True, False, True)),
    ("basic-s", "Basic S", "SHARED", 1, 2, 120, 20, "basic", (True, False, True)),
    ("professional-xs", "Professional XS", "SHARED", 1, 1, 100, 12, "professional", (False, False, True)),
    ("professional-s", "Professional S", "SHARED", 1, 2, 200, 25, "professional", (False, False, True)),
    ("professional-m", "Professional M", "SHARED", 2, 4, 300, 50, "professional", (False, False, True)),
]


def _app_size(row: tuple) -> dict:
    slug, name, cpu_type, cpus, memory_gib, bandwidth, usd, tier, (single, scalable, deprecated) = row
    size = {
        "slug": slug,
        "name": name,
        "cpu_type": cpu_type,
        "cpus": str(cpus),
        "memory_bytes": str(int(memory_gib * 1024**3)),
        "bandwidth_allowance_gib": str(bandwidth),
        "usd_per_month": f"{usd:.2f}",
        "usd_per_second": f"{usd / (672 * 3600):.12f}",
        "tier_slug": tier,
    }
    for key, on in (("single_instance_only", single), ("scalable", scalable), ("deprecation_intent", deprecated)):
        if on:
            size[key] = True
    return size


APP_INSTANCE_SIZES = {row[0]: _app_size(row) for row in _APP_SIZE_ROWS}
# Static sites cost nothing for the first three of an account (then 3 USD a month each).
APP_FREE_STATIC_SITES = 3

# slug, memory MB, vcpus, disk GB, transfer TB, price_monthly, description
_SIZE_ROWS = [
    ("s-1vcpu-512mb-10gb", 512, 1, 10, 0.5, 4.0, "Basic"),
    ("s-1vcpu-1gb", 1024, 1, 25, 1.0, 6.0, "Basic"),
    ("s-1vcpu-1gb-amd", 1024, 1, 25, 1.0, 7.0, "Basic AMD"),
    ("s-1vcpu-1gb-intel", 1024, 1, 25, 1.0, 7.0, "Basic Intel"),
    ("s-1vcpu-2gb", 2048, 1, 50, 2.0, 12.0, "Basic"),
    ("s-1vcpu-2gb-amd", 2048, 1, 50, 2.0, 14.0, "Basic AMD"),
    ("s-1vcpu-2gb-intel", 2048, 1, 50, 2.0, 14.0, "Basic Intel"),
    ("s-2vcpu-2gb", 2048, 2, 60, 3.0, 18.0, "Basic"),
    ("s-2vcpu-2gb-amd", 2048, 2, 60, 3.0, 21.0, "Basic AMD"),
    ("s-2vcpu-4gb", 4096, 2, 80, 4.0, 24.0, "Basic"),
    ("s-2vcpu-4gb-amd", 4096, 2, 80, 4.0, 28.0, "Basic AMD"),
    ("s-2vcpu-4gb-intel", 4096, 2, 80, 4.0, 28.0, "Basic Intel"),
    ("s-4vcpu-8gb", 8192, 4, 160, 5.0, 48.0, "Basic"),
    ("s-4vcpu-8gb-amd", 8192, 4, 160, 5.0, 56.0, "Basic AMD"),
    ("s-4vcpu-8gb-intel", 8192, 4, 160, 5.0, 56.0, "Basic Intel"),
    ("s-8vcpu-16gb", 16384, 8, 320, 6.0, 96.0, "Basic"),
    ("s-8vcpu-16gb-amd", 16384, 8, 320, 6.0, 112.0, "Basic AMD"),
    ("c-2", 4096, 2, 25, 4.0, 42.0, "CPU-Optimized"),
    ("c-4", 8192, 4, 50, 5.0, 84.0, "CPU-Optimized"),
    ("g-2vcpu-8gb", 8192, 2, 25, 4.0, 63.0, "General Purpose"),
    ("g-4vcpu-16gb", 16384, 4, 50, 5.0, 126.0, "General Purpose"),
    ("m-2vcpu-16gb", 16384, 2, 50, 4.0, 84.0, "Memory-Optimized"),
    ("so-2vcpu-16gb", 16384, 2, 300, 4.0, 131.0, "Storage-Optimized"),
]

_IMAGE_ROWS = [
    # id, slug, name, distribution, min_disk_size
    (191457505, "ubuntu-24-04-x64", "24.04 (LTS) x64", "Ubuntu", 7),
    (129211873, "ubuntu-22-04-x64", "22.04 (LTS) x64", "Ubuntu", 7),
    (176940917, "debian-12-x64", "12 x64", "Debian", 7),
    (164990000, "rockylinux-9-x64", "9 x64", "Rocky Linux", 10),
    (183000000, "docker-20-04", "Docker on Ubuntu 22.04", "Ubuntu", 25),
]

DB_SIZES = [
    "db-s-1vcpu-1gb",
    "db-s-1vcpu-2gb",
    "db-s-2vcpu-4gb",
    "db-s-4vcpu-8gb",
    "db-s-6vcpu-16gb",
    "db-s-8vcpu-32gb",
    "db-s-16vcpu-64gb",
]

# engine -> versions (default first), allowed node counts, default port, and URI scheme
DB_ENGINES = {
    "mongodb": {"versions": ["8.0", "7.0", "6.0"], "nodes": [1, 3], "port": 27017},
    "valkey": {"versions": ["8"], "nodes": [1, 2, 3], "port": 25061},
    "pg": {"versions": ["17", "16", "15", "14", "13"], "nodes": [1, 2, 3], "port": 25060},
    "mysql": {"versions": ["8"], "nodes": [1, 2, 3], "port": 25060},
}
# Engines whose clusters have no users or logical databases through the API.
ENGINES_WITHOUT_USERS = {"valkey", "redis"}
DB_REGIONS = [slug for slug, _ in REGIONS if slug not in ("nyc2", "sfo1", "ams2")]


def region(slug: str, size_slugs: list[str] | None = None) -> dict:
    name = dict(REGIONS)[slug]
    return {
        "name": name,
        "slug": slug,
        "features": list(REGION_FEATURES),
        "available": True,
        "sizes": size_slugs if size_slugs is not None else [row[0] for row in _SIZE_ROWS],
    }


def regions() -> list[dict]:
    return [region(slug) for slug, _ in REGIONS]


def size(slug: str) -> dict:
    for row in _SIZE_ROWS:
        if row[0] == slug:
            s, mem, vcpus, disk, transfer, monthly, desc = row
            return {
                "slug": s,
                "memory": mem,
                "vcpus": vcpus,
                "disk": disk,
                "transfer": transfer,
                "price_monthly": monthly,
                "price_hourly": round(monthly / 672, 5),
                "regions": [r for r, _ in REGIONS],
                "available": True,
                "description": desc,
                "disk_info": [{"type": "local", "size": {"amount": disk, "unit": "gib"}}],
            }
    raise KeyError(slug)


def sizes() -> list[dict]:
    return [size(row[0]) for row in _SIZE_ROWS]


def size_slugs() -> set[str]:
    return {row[0] for row in _SIZE_ROWS}


def image(ref: str | int) -> dict | None:
    for iid, slug, name, distro, min_disk in _IMAGE_ROWS:
        if ref in (iid, slug) or str(ref) == str(iid):
            return {
                "id": iid,
                "name": name,
                "type": "base",
                "distribution": distro,
                "slug": slug,
                "public": True,
                "regions": [r for r, _ in REGIONS],
                "created_at": "2026-01-01T00:00:00Z",
                "min_disk_size": min_disk,
                "size_gigabytes": 2.36,
                "description": f"{distro} {name}",
                "tags": [],
                "status": "available",
                "error_message": "",
            }
    return None


def database_options() -> dict:
    options = {}
    availability = {}
    for engine, spec in DB_ENGINES.items():
        layouts = []
        for n in spec["nodes"]:
            slugs = DB_SIZES if n == 1 else DB_SIZES[1:]
            layouts.append({"num_nodes": n, "sizes": list(slugs)})
        options[engine] = {"regions": list(DB_REGIONS), "versions": list(spec["versions"]), "layouts": layouts}
        availability[engine] = [
            {"version": v, "end_of_life": None, "end_of_availability": None, "default": i == 0}
            for i, v in enumerate(spec["versions"])
        ]
    return {"options": options, "version_availability": availability}


def db_layout_ok(engine: str, num_nodes: int, size_slug: str) -> bool:
    return num_nodes in DB_ENGINES[engine]["nodes"] and size_slug in (DB_SIZES if num_nodes == 1 else DB_SIZES[1:])
