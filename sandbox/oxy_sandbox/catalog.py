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
APP_REGIONS = {
    "ams": ("Amsterdam", "europe", ["ams3"]),
    "nyc": ("New York", "north-america", ["nyc1", "nyc3"]),
    "sfo": ("San Francisco", "north-america", ["sfo3"]),
    "tor": ("Toronto", "north-america", ["tor1"]),
    "fra": ("Frankfurt", "europe", ["fra1"]),
    "lon": ("London", "europe", ["lon1"]),
    "blr": ("Bangalore", "asia", ["blr1"]),
    "sgp": ("Singapore", "asia", ["sgp1"]),
    "syd": ("Sydney", "australia", ["syd1"]),
    "atl": ("Atlanta", "north-america", ["nyc3"]),
}

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
