"""Who is who in the sample data: autonomous systems, announced scanning organizations.

The announced scanners follow public knowledge of their networks and reverse-DNS
names (Censys, Shodan, Shadowserver, driftnet, RWTH Aachen, University of
Michigan, Palo Alto Networks Cortex Xpanse, Stretchoid, BinaryEdge); the exact
host numbers are made up. Every other source is synthetic: its address is drawn
inside a real prefix of its AS so that enrichment by AS looks plausible.
"""

from __future__ import annotations

#: ASN -> (AS name, country)
ASNS: dict[int, tuple[str, str]] = {
    398324: ("CENSYS-ARIN-01", "US"),
    10439: ("CARINET", "US"),
    6939: ("HURRICANE", "US"),
    211298: ("INTERNET-MEASUREMENT", "GB"),
    680: ("DFN", "DE"),
    36375: ("UMICH-AS-5", "US"),
    396982: ("GOOGLE-CLOUD-PLATFORM", "US"),
    14061: ("DIGITALOCEAN-ASN", "US"),
    63949: ("AKAMAI-LINODE-AP", "US"),
    16276: ("OVH", "FR"),
    4134: ("CHINANET-BACKBONE", "CN"),
    4837: ("CHINA169-BACKBONE", "CN"),
    9009: ("M247", "RO"),
    51167: ("CONTABO", "DE"),
    24940: ("HETZNER-AS", "DE"),
    45090: ("TENCENT-NET-AP", "CN"),
    37963: ("CNNIC-ALIBABA-CN-NET-AP", "CN"),
    135377: ("UCLOUD-HK-AS-AP", "HK"),
    202425: ("INT-NETWORK", "SC"),
    3462: ("HINET", "TW"),
    4766: ("KIXS-AS-KR", "KR"),
    9829: ("BSNL-NIB", "IN"),
    28573: ("CLARO S.A.", "BR"),
    8452: ("TE-AS", "EG"),
    7922: ("COMCAST-7922", "US"),
    14618: ("AMAZON-AES", "US"),
    20473: ("AS-CHOOPA", "US"),
    49505: ("SELECTEL", "RU"),
    12876: ("ONLINE S.A.S.", "FR"),
    206728: ("MEDIALAND-AS", "RU"),
    40021: ("CONTABO-US", "US"),
    9370: ("SAKURA-B", "JP"),
}

#: Prefixes (/16) where unidentified sources of an AS are drawn from, with the draw weight.
NOISE_PREFIXES: dict[int, tuple[list[str], float]] = {
    14061: (["167.99.0.0", "159.89.0.0", "134.209.0.0", "138.68.0.0"], 3.0),
    16276: (["51.75.0.0", "145.239.0.0", "54.36.0.0"], 1.5),
    63949: (["172.104.0.0", "139.162.0.0", "45.79.0.0"], 1.5),
    4134: (["222.186.0.0", "61.177.0.0", "218.92.0.0", "180.101.0.0"], 4.0),
    4837: (["123.160.0.0", "221.213.0.0"], 2.0),
    24940: (["88.198.0.0", "116.202.0.0"], 1.0),
    51167: (["161.97.0.0", "207.180.0.0"], 1.0),
    45090: (["43.130.0.0", "43.135.0.0"], 1.5),
    37963: (["47.92.0.0", "47.96.0.0"], 1.5),
    3462: (["1.34.0.0", "114.32.0.0"], 1.0),
    4766: (["211.36.0.0", "121.128.0.0"], 1.0),
    9829: (["117.200.0.0", "59.88.0.0"], 1.0),
    28573: (["177.32.0.0", "187.64.0.0"], 1.0),
    8452: (["41.32.0.0", "156.192.0.0"], 1.0),
    7922: (["73.0.0.0", "24.0.0.0"], 1.0),
    14618: (["3.80.0.0", "54.160.0.0"], 1.0),
}

#: ASNs Mirai bots are drawn from (residential and mobile networks).
MIRAI_ASNS = (4134, 4837, 3462, 4766, 9829, 28573, 8452, 7922)

SHODAN_NAMES = ("census1", "census2", "census3", "census4", "census5", "census6", "census7",
                "census8", "census9", "census10", "census11", "census12")

#: Announced organizations: name, category, ASN, host addresses, hostname pattern ({i} = host number).
ORGS: dict[str, dict] = {
    "censys": {"org": "Censys", "category": "commercial", "asn": 398324,
               "hosts": [f"162.142.125.{i}" for i in range(10, 18)] + [f"167.94.138.{i}" for i in range(120, 128)],
               "hostname": "scanner-{i:02d}.ch1.censys-scanner.com", "country": "US"},
    "shodan": {"org": "Shodan", "category": "commercial", "asn": 10439,
               "hosts": [f"71.6.146.{i}" for i in (185, 186)] + [f"71.6.165.{i}" for i in (200, 202)]
               + [f"66.240.205.{i}" for i in (34, 35)] + [f"71.6.135.{i}" for i in (131, 134)]
               + [f"66.240.192.{i}" for i in (138, 139)],
               "hostname": "{name}.census.shodan.io", "country": "US"},
    "shadowserver": {"org": "The Shadowserver Foundation", "category": "commercial", "asn": 6939,
                     "hosts": [f"184.105.139.{i}" for i in range(66, 72)] + [f"184.105.247.{i}" for i in range(194, 200)],
                     "hostname": "scan-{i:02d}.shadowserver.org", "country": "US"},
    "driftnet": {"org": "driftnet.io", "category": "commercial", "asn": 211298,
                 "hosts": [f"87.236.176.{i}" for i in range(10, 18)],
                 "hostname": "scan-{i:02d}.internet-measurement.com", "country": "GB"},
    "rwth": {"org": "RWTH Aachen University", "category": "research", "asn": 680,
             "hosts": ["137.226.113.44", "137.226.113.45"],
             "hostname": "researchscan{i}.comsys.rwth-aachen.de", "country": "DE"},
    "umich": {"org": "University of Michigan", "category": "research", "asn": 36375,
              "hosts": ["141.212.122.16", "141.212.122.32", "141.212.122.48"],
              "hostname": "researchscan{i}.eecs.umich.edu", "country": "US"},
    "paloalto": {"org": "Palo Alto Networks", "category": "commercial", "asn": 396982,
                 "hosts": [f"35.203.210.{i}" for i in (11, 27, 43, 59, 75)] + [f"35.203.211.{i}" for i in (8, 40, 72, 104, 136)],
                 "hostname": "{rev}.bc.googleusercontent.com", "country": "US"},
    "stretchoid": {"org": "Stretchoid", "category": "commercial", "asn": 14061,
                   "hosts": [f"192.241.{b}.{i}" for b, i in ((207, 12), (213, 34), (220, 56), (225, 78), (231, 90), (236, 102))],
                   "hostname": "zg-0915b-{i}.stretchoid.com", "country": "US"},
    "binaryedge": {"org": "BinaryEdge", "category": "commercial", "asn": 63949,
                   "hosts": ["45.33.80.243", "45.33.85.171", "45.56.111.20", "45.79.181.104"],
                   "hostname": "{city}.binaryedge.ninja", "country": "US"},
}
BINARYEDGE_CITIES = ("lisbon", "porto", "zurich", "geneva")


def hostname_for(key: str, i: int, ip: str) -> str:
    """The reverse-DNS name of host number ``i`` (address ``ip``) of organization ``key``."""
    pattern = ORGS[key]["hostname"]
    rev = ".".join(reversed(ip.split(".")))
    name = SHODAN_NAMES[i % len(SHODAN_NAMES)]
    city = BINARYEDGE_CITIES[i % len(BINARYEDGE_CITIES)]
    return pattern.format(i=i + 1 if key not in ("rwth", "umich") else i, rev=rev, name=name, city=city)
