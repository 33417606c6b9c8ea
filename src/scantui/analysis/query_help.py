"""The query syntax as the help screens and README show it: scanners, and candidates/groups (plain text: importing
it loads nothing). The TUI's query bars and the CLI's ``--query`` read the same text (:mod:`scantui.analysis.query`)."""

QUERY_HELP = """\
port:443  port:80,8000-8100     sources that probed these ports
tool:zmap                       dominant tool (zmap masscan mirai unicorn nmap other)
203.0.113.5  1.2.3.0/24         source address or block (also src:, ip:, cidr:)
as:14061  as:AS14061            AS number; as:digitalocean matches AS names (substring)
org:akamai  host:shodan  cc:US  organisation / hostname substring, country code
cat:research                    category (research commercial other unknown)
range:full                      range class (focused wide full)
sched:periodic                  schedule (periodic continuous sporadic acyclic)
pic:background                  picture (snapshot background)
list:mass_scanner  -list:benign  on a known-scanner list (scantui lists import), by name
sensor:tel-a  -sensor:hp-b      seen by that sensor (several sensors; an unknown name matches nothing)
day:2024-02-05..2024-02-09      probed on a day of the span (day:2024-02-06, day:..D, day:D..)
seen:>2024-02-10                active in the span, first..last seen (seen:<D, seen:A..B)
tag:benign  note:"web page"       a tag / text in the source's note (the labels file's sources:)
label:G01  review:new           member of a labelled group (id or title word); new: no note, tag or label
packets>=1000  ports>100  days>3  dsts<500  period=7  interval<2  cover>=50%
censys                          a bare word: substring of AS name, org or hostname
-tool:zmap  !cat:research       a leading - or ! negates a term
Repeating a key (or commas) ORs values; different keys AND.
"""

RECORD_QUERY_HELP = """\
port:8080  port:80,8000-8100    the scan's port (a group: any of its ports)
198.18.5.0/24  ip:192.0.2.7     a source / member address or block (also src:, cidr:)
as:14061  as:AS14061            the AS (of the scan, its key, or a group's ASes)
day:2024-02-06                  the scan's UTC day (a group: any of its days); day:A..B, day:..B
seen:>2024-02-10                active in the span (a group: its first..last day; seen:<D, seen:A..B)
timing:sequential               timing (parallel sequential mixed)
sensor:tel-a  -sensor:hp-b      covers that sensor's space (2+ sensors; a group: any scan; unknown: nothing)
review:new                      review state (new same labelled unsure rejected; reviewed, todo)
label:G01  label:mirai          the labelled group it matches: its id, or a word of its title
tag:benign  note:"web page"     a member's tag / text in a member's note (the labels file's sources:)
n>=5  score>50  (groups: scans>2 ips>10)
80.82.77  AS6939                a bare word: substring of the key, the group id or AS
-review:rejected                a leading - or ! negates a term
Repeating a key (or commas) ORs values; different keys AND.
"""
