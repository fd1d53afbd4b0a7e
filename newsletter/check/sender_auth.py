"""Sender authentication, part of `newsletter check --online`: the DNS records that let Gmail,
Yahoo and Outlook trust mail from the sender's domain.

- **SPF**: one ``v=spf1`` TXT record on the From domain.
- **DKIM**: the provider's keys under the From domain, so that signatures align with it:
  the selectors the sending provider declares (SendGrid: ``s1``/``s2`` CNAMEs), plus any selector named in
  ``[check] dkim_selectors`` (a CNAME, or a TXT record holding ``p=``).
- **DMARC**: a ``v=DMARC1`` TXT record at ``_dmarc.DOMAIN`` (or at the organisational domain
  for a subdomain), its policy, and whether the DKIM keys found align with the From domain under
  its ``adkim`` mode.

Gmail's and Yahoo's bulk-sender rules (over 5,000 messages a day) require SPF, DKIM and DMARC:
for an audience over ``BULK`` a missing record is an error, below it a warning.

Settings (``[check]`` in newsletter.toml, owned and checked here):

- ``dns = "HOST:PORT"``: the resolver to ask (default: the system's resolver);
- ``dkim_selectors = ["google", "k1"]``: DKIM selectors to look for besides the provider's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from newsletter.check.checks import CheckContext, Finding
from newsletter.check.settings import CheckSettings
from newsletter.errors import InputError

BULK = 5000  # recipients: Gmail's and Yahoo's bulk-sender threshold (a day)
TIMEOUT = 3.0  # seconds per query
LIFETIME = 6.0  # seconds for a name, retries included
PLACE = "DNS"


@dataclass(frozen=True)
class Lookup:
    """One DNS question's answer: ``records`` (TXT strings or CNAME targets), ``missing`` when
    the name or the type does not exist, ``problem`` when the resolver did not answer."""

    records: tuple[str, ...] = ()
    missing: bool = False
    problem: str = ""


class Resolver:
    """dnspython behind a small interface: TXT and CNAME lookups that never raise."""

    def __init__(self, server: tuple[str, int] | None = None) -> None:
        import dns.resolver

        if server:
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = [server[0]]
            self._resolver.port = server[1]
        else:
            self._resolver = dns.resolver.Resolver()
        self._resolver.timeout = TIMEOUT
        self._resolver.lifetime = LIFETIME

    def lookup(self, name: str, kind: str) -> Lookup:
        import dns.exception
        import dns.resolver

        try:
            answer = self._resolver.resolve(name, kind, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return Lookup(missing=True)
        except dns.resolver.NoNameservers as error:
            return Lookup(problem=f"no server answered for {name} {kind} ({_first_line(error)})")
        except dns.exception.Timeout:
            return Lookup(problem=f"no answer for {name} {kind} within {LIFETIME:.0f} s")
        except dns.exception.DNSException as error:
            return Lookup(problem=f"{name} {kind}: {_first_line(error)}")
        if answer.rrset is None:
            return Lookup(missing=True)
        if kind == "TXT":
            return Lookup(tuple(b"".join(record.strings).decode("utf-8", "replace") for record in answer.rrset))
        return Lookup(tuple(str(record.target).rstrip(".") for record in answer.rrset))


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]


def resolver_address(ctx: CheckContext) -> tuple[str, int] | None:
    """``[check] dns`` as (host, port); an error at the key when it is not HOST:PORT."""
    value = ctx.workspace.table(CheckSettings).dns.strip()
    if not value:
        return None
    host, colon, port = value.rpartition(":") if value.count(":") == 1 or value.startswith("[") else ("", "", "")
    host = host.strip("[]")
    if not (colon and host and port.isdigit() and 0 < int(port) < 65536):
        line = ctx.workspace.settings_line("check", "dns")
        raise InputError(ctx.workspace.settings_path, f"[check] dns must be \"HOST:PORT\" (e.g. \"127.0.0.1:53\"), "
                         f"not {value!r}", line)
    return host, int(port)


def selectors(ctx: CheckContext, named: Sequence[str]) -> list[str]:
    """The sending provider's own DKIM selectors (``named``), then those [check] dkim_selectors adds."""
    configured = ctx.workspace.table(CheckSettings).dkim_selectors
    if not all(isinstance(name, str) and name.strip() and "." not in name.strip(". ") for name in configured):
        raise InputError(ctx.workspace.settings_path, "[check] dkim_selectors must be a list of selector names "
                         "(e.g. [\"s1\", \"google\"])", ctx.workspace.settings_line("check", "dkim_selectors"))
    return [*named, *(name.strip() for name in configured if name.strip() not in named)]


def organisational_domain(domain: str) -> str:
    """The registered domain, roughly (the last two labels; three under a two-letter
    second level such as co.uk): where DMARC looks when a subdomain has no record."""
    labels = domain.split(".")
    if len(labels) > 2 and len(labels[-1]) == 2 and labels[-2] in {"co", "com", "org", "net", "ac", "gov", "ltd"}:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def parse_tags(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        key, equals, value = part.partition("=")
        if equals:
            tags[key.strip().lower()] = value.strip()
    return tags


def sender_auth_check(provider_selectors: Sequence[str] = ()) -> Callable[[CheckContext], Iterator[Finding]]:
    """The check of SPF, DKIM and DMARC for mail sent by a provider signing with ``provider_selectors``."""
    return functools.partial(check_sender_auth, provider_selectors=tuple(provider_selectors))


def check_sender_auth(ctx: CheckContext, provider_selectors: Sequence[str] = ()) -> Iterator[Finding]:
    domain = ctx.campaign.domain.lower().rstrip(".")
    server = resolver_address(ctx)
    names = selectors(ctx, provider_selectors)
    resolver = Resolver(server)
    size = ctx.audience_size
    bulk = size is not None and size > BULK
    missing = "error" if bulk else "warning"
    why = (f"Gmail and Yahoo reject or junk bulk mail (this audience: {size:,} recipients, over {BULK:,}) "
           "from a domain without it" if bulk else
           "Gmail and Yahoo require it from bulk senders (over 5,000 a day) and trust mail more with it")
    first = resolver.lookup(domain, "TXT")
    if first.problem:  # a resolver that does not answer would time out on every other name too
        yield Finding("sender-auth-not-checked", "warning", f"SPF, DKIM and DMARC of {domain} not checked: "
                      f"{first.problem}{' (the resolver [check] dns names)' if server else ''}", PLACE)
        return
    yield from _spf(first, domain, missing, why)
    aligned = yield from _dkim(resolver, domain, names, missing, why)
    yield from _dmarc(resolver, domain, missing, why, aligned)


def _spf(found: Lookup, domain: str, missing: str, why: str) -> Iterator[Finding]:
    records = [r for r in found.records if r.lower().startswith("v=spf1")]
    if not records:
        yield Finding("no-spf", missing, f"{domain} has no SPF record (a TXT record \"v=spf1 include:... ~all\" "
                      f"naming the servers that send for it): {why}", PLACE)
    elif len(records) > 1:
        yield Finding("spf-multiple", missing, f"{domain} has {len(records)} SPF records; receivers treat that "
                      "as no SPF at all (permerror): merge them into one", PLACE)
    elif records[0].split()[-1] in {"+all", "all"}:
        yield Finding("spf-allows-all", "warning", f"{domain}'s SPF record ends in {records[0].split()[-1]}: "
                      "it lets any server send as you; end it with ~all or -all", PLACE)
    else:
        yield Finding("spf", "info", f"{domain} SPF: {records[0]}", PLACE)


def _dkim(resolver: Resolver, domain: str, names: list[str], missing: str, why: str):
    """Findings for the DKIM selectors; returns the selectors whose keys were found under ``domain``."""
    if not names:
        yield Finding("dkim-not-checked", "info", f"DKIM for {domain} not checked: name your provider's selector "
                      "in newsletter.toml: [check] dkim_selectors = [\"selector\"]", PLACE)
        return []
    found_keys: list[str] = []
    for name in names:
        host = f"{name}._domainkey.{domain}"
        cname = resolver.lookup(host, "CNAME")
        if cname.problem:
            yield Finding("dkim-lookup-failed", "warning", f"DKIM {host} not checked: {cname.problem}", PLACE)
            continue
        if cname.records:
            found_keys.append(name)
            yield Finding("dkim", "info", f"DKIM {host} -> {cname.records[0]}", PLACE)
            continue
        txt = resolver.lookup(host, "TXT")
        keys = [r for r in txt.records if "p=" in r.replace(" ", "")]
        if keys and parse_tags(keys[0]).get("p", "") == "":
            yield Finding("dkim-revoked", "warning", f"DKIM {host} has an empty key (p=): it is revoked", PLACE)
        elif keys:
            found_keys.append(name)
            yield Finding("dkim", "info", f"DKIM {host}: a key is published", PLACE)
        elif txt.problem:
            yield Finding("dkim-lookup-failed", "warning", f"DKIM {host} not checked: {txt.problem}", PLACE)
    if not found_keys:
        tried = ", ".join(f"{n}._domainkey.{domain}" for n in names)
        yield Finding("no-dkim", missing, f"no DKIM key for {domain} (looked up {tried}): set up your provider's "
                      f"domain authentication and publish its records: {why}", PLACE)
    return found_keys


def _dmarc(resolver: Resolver, domain: str, missing: str, why: str, aligned: list[str]) -> Iterator[Finding]:
    where = domain
    found = resolver.lookup(f"_dmarc.{domain}", "TXT")
    records = [r for r in found.records if r.replace(" ", "").lower().startswith("v=dmarc1")]
    org = organisational_domain(domain)
    if not records and not found.problem and org != domain:
        where = org
        found = resolver.lookup(f"_dmarc.{org}", "TXT")
        records = [r for r in found.records if r.replace(" ", "").lower().startswith("v=dmarc1")]
    if found.problem:
        yield Finding("dmarc-lookup-failed", "warning", f"DMARC of {domain} not checked: {found.problem}", PLACE)
        return
    if not records:
        yield Finding("no-dmarc", missing, f"{domain} has no DMARC record (a TXT record at _dmarc.{domain}, at "
                      f"least \"v=DMARC1; p=none; rua=mailto:dmarc@{domain}\"): {why}", PLACE)
        return
    if len(records) > 1:
        yield Finding("dmarc-multiple", missing, f"_dmarc.{where} has {len(records)} DMARC records; receivers "
                      "ignore them all: keep one", PLACE)
        return
    tags = parse_tags(records[0])
    policy = tags.get("p", "").lower()
    if policy not in {"none", "quarantine", "reject"}:
        yield Finding("dmarc-invalid", missing, f"_dmarc.{where}'s record has no valid policy (p=none, quarantine "
                      f"or reject): {records[0]}", PLACE)
        return
    strict = tags.get("adkim", "r").lower() == "s"  # the From domain's own keys align either way
    note = " (monitoring only: receivers are told to deliver mail that fails)" if policy == "none" else ""
    yield Finding("dmarc", "info", f"DMARC for {domain} at _dmarc.{where}: p={policy}{note}, "
                  f"DKIM alignment {'strict' if strict else 'relaxed'}", PLACE)
    if aligned:  # published under the From domain itself: aligned even under strict mode
        yield Finding("dmarc-aligned", "info", f"DKIM keys ({', '.join(aligned)}) are published under {domain}, "
                      "the From domain: signatures made with them align", PLACE)
    else:
        strict_spf = tags.get("aspf", "r").lower() == "s"
        yield Finding("dmarc-not-aligned", missing, f"no DKIM key under {domain}, so DMARC can pass only through "
                      "SPF on the bounce (Return-Path) domain" + (", which aspf=s (strict) fails whenever the "
                      "provider bounces to its own subdomain" if strict_spf else "") + ": publish your provider's "
                      "DKIM records for the From domain", PLACE)
