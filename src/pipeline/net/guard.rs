/*!
Which addresses an `http(s)://` fetch may connect to: the guard against server-side request
forgery.

A video URL comes from an input list or from any client of `reelframe serve`, so it may point
at a cloud metadata service (`169.254.169.254`) or another internal address, directly, through a
DNS name, or through a redirect. Every address a fetch actually connects to is classified
([`classify`]) and checked against the [`PrivateAddresses`] policy:

- link-local (`169.254.0.0/16`, the metadata services, `fe80::/10`), unspecified (`0.0.0.0/8`,
  `::`), multicast and broadcast addresses are always refused;
- private addresses (loopback `127.0.0.0/8` and `::1`, RFC 1918, CGNAT `100.64.0.0/10`, unique
  local `fc00::/7`) are allowed or refused by the policy;
- an IPv6 address that embeds an IPv4 one (`::ffff:a.b.c.d`, `::a.b.c.d`, NAT64 `64:ff9b::/96`,
  6to4 `2002::/16`) is judged by the IPv4 address inside.

Names are checked where they are resolved ([`GuardedResolver`], reqwest's resolver for every
connection, so a name that changes its answer between two lookups gains nothing); reqwest does
not resolve IP-literal hosts, so [`check_url`] checks those, on the first URL and on every
redirect hop. The `url` crate has already normalised the other spellings of an IPv4 host
(`2852039166`, `0251.0376.0251.0376`, `0xa9fea9fe`, a trailing dot) to dotted quads.
*/

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether private addresses (loopback, RFC 1918, CGNAT, unique local) may be fetched from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrivateAddresses {
    /// Allowed (the default of `extract`, and of `serve` on a loopback address).
    #[default]
    Allow,
    /// Refused, like the addresses that are always refused.
    Deny,
}

/// What kind of address an IP is, as far as fetching from it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// A public address: always allowed.
    Public,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// Carrier-grade NAT, `100.64.0.0/10`.
    SharedNat,
    /// IPv6 unique local `fc00::/7` (and the deprecated site-local `fec0::/10`).
    UniqueLocal,
    /// `169.254.0.0/16` (cloud metadata services answer at `169.254.169.254`), `fe80::/10`.
    LinkLocal,
    /// `0.0.0.0/8` ("this host"; Linux connects `0.0.0.0` to itself), `::`.
    Unspecified,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `255.255.255.255`.
    Broadcast,
}

impl AddressClass {
    /// The class as words for a message: `link-local`, `loopback`, …
    pub fn name(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private (RFC 1918)",
            AddressClass::SharedNat => "carrier-grade NAT",
            AddressClass::UniqueLocal => "unique local",
            AddressClass::LinkLocal => "link-local",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Multicast => "multicast",
            AddressClass::Broadcast => "broadcast",
        }
    }

    /// Never fetched from, whatever the policy.
    pub fn always_refused(self) -> bool {
        matches!(
            self,
            AddressClass::LinkLocal
                | AddressClass::Unspecified
                | AddressClass::Multicast
                | AddressClass::Broadcast
        )
    }

    /// Fetched from only under [`PrivateAddresses::Allow`].
    pub fn is_private(self) -> bool {
        matches!(
            self,
            AddressClass::Loopback
                | AddressClass::Private
                | AddressClass::SharedNat
                | AddressClass::UniqueLocal
        )
    }
}

/// The class of `ip`; an IPv6 address that embeds an IPv4 one has the IPv4 address's class.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, ..] = ip.octets();
    match (a, b) {
        _ if ip.is_broadcast() => AddressClass::Broadcast,
        (0, _) => AddressClass::Unspecified,
        (127, _) => AddressClass::Loopback,
        (10, _) | (192, 168) => AddressClass::Private,
        (172, 16..=31) => AddressClass::Private,
        (100, 64..=127) => AddressClass::SharedNat,
        (169, 254) => AddressClass::LinkLocal,
        (224..=239, _) => AddressClass::Multicast,
        _ => AddressClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let first = ip.segments()[0];
    match ip {
        _ if ip.is_unspecified() => AddressClass::Unspecified,
        _ if ip.is_loopback() => AddressClass::Loopback,
        _ if first & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
        _ if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 => AddressClass::UniqueLocal,
        _ if first & 0xff00 == 0xff00 => AddressClass::Multicast,
        _ => AddressClass::Public,
    }
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated
/// (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, not `::` or `::1`), NAT64 (`64:ff9b::/96`)
/// or 6to4 (`2002:AABB:CCDD::/48`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] => Some(low),
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 || lo > 1 => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// A fetch refused because of the address it would connect to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AddressRefused {
    /// The URL's host as written (a name, or the address itself).
    pub host: String,
    /// The address refused.
    pub ip: IpAddr,
    /// Its class.
    pub class: AddressClass,
}

impl std::fmt::Display for AddressRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        if host.parse::<IpAddr>().ok() == Some(self.ip) {
            write!(f, "{}", self.ip)?;
        } else {
            write!(f, "{host} resolves to {}", self.ip)?;
        }
        let class = self.class.name();
        let a = if class.starts_with('u') { "an" } else { "a" };
        if self.class.always_refused() {
            let metadata = if self.class == AddressClass::LinkLocal {
                ", where cloud metadata services answer"
            } else {
                ""
            };
            write!(
                f,
                ", {a} {class} address{metadata}: reelframe never fetches from one (no flag allows it)"
            )
        } else {
            write!(f, ", {a} {class} address, refused by --private-urls deny: give --private-urls allow to fetch from private addresses")
        }
    }
}

impl PrivateAddresses {
    /// Whether a fetch of `host` may connect to `ip`.
    pub fn check(self, host: &str, ip: IpAddr) -> Result<(), AddressRefused> {
        let class = classify(ip);
        let refused =
            class.always_refused() || (class.is_private() && self == PrivateAddresses::Deny);
        if refused {
            return Err(AddressRefused {
                host: host.to_string(),
                ip,
                class,
            });
        }
        Ok(())
    }
}

/// Checks a URL whose host is an IP literal (reqwest connects to those without resolving them);
/// a name passes here and is checked by [`GuardedResolver`] when it is resolved.
pub fn check_url(url: &reqwest::Url, policy: PrivateAddresses) -> Result<(), AddressRefused> {
    // the url crate writes an IP host in its canonical form (IPv6 in brackets); a name never
    // parses as an address
    let host = url.host_str().unwrap_or_default();
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(ip) => policy.check(host, ip),
        Err(_) => Ok(()),
    }
}

/// The first [`AddressRefused`] in an error's chain of sources (a resolver's or a redirect
/// policy's error, wrapped by reqwest and hyper).
pub fn refusal_in<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a AddressRefused> {
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(refused) = err.downcast_ref::<AddressRefused>() {
            return Some(refused);
        }
        next = err.source();
    }
    None
}

/// reqwest's resolver for every connection: the system resolver (`getaddrinfo`, through
/// tokio), keeping only the addresses the policy allows. A name all of whose addresses are
/// refused fails with [`AddressRefused`], so no connection is attempted.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    /// Whether private addresses are kept.
    pub policy: PrivateAddresses,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .filter(|addr| match policy.check(&host, addr.ip()) {
                    Ok(()) => true,
                    Err(err) => {
                        refused.get_or_insert(err);
                        false
                    }
                })
                .collect();
            match refused {
                Some(err) if allowed.is_empty() => Err(Box::new(err) as _),
                _ => Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressClass::*;

    #[test]
    fn classifies_every_class_in_v4_v6_and_embedded_forms() {
        let table: &[(&str, AddressClass)] = &[
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("172.15.255.255", Public),
            ("172.32.0.0", Public),
            ("100.63.255.255", Public),
            ("100.128.0.0", Public),
            ("169.253.255.255", Public),
            ("2606:4700::1111", Public),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("::1", Loopback),
            ("10.0.0.1", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedNat),
            ("100.127.255.255", SharedNat),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fec0::1", UniqueLocal),
            ("169.254.169.254", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("::", Unspecified),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("ff02::1", Multicast),
            ("255.255.255.255", Broadcast),
            // IPv6 forms that carry an IPv4 address are judged by it
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:8.8.8.8", Public),
            ("::ffff:0:169.254.169.254", LinkLocal),
            ("::169.254.169.254", LinkLocal),
            ("::127.0.0.1", Loopback),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("64:ff9b::808:808", Public),
            ("2002:a9fe:a9fe::1", LinkLocal),
            ("2002:c0a8:0101::1", Private),
            ("2002:808:808::1", Public),
        ];
        for (text, class) in table {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(classify(ip), *class, "{text}");
        }
    }

    #[test]
    fn the_policy_refuses_private_addresses_only_when_told() {
        for text in ["127.0.0.1", "::1", "10.0.0.1", "100.64.0.1", "fd00::1"] {
            let ip: IpAddr = text.parse().unwrap();
            assert!(PrivateAddresses::Allow.check("h", ip).is_ok(), "{text}");
            let err = PrivateAddresses::Deny.check("h", ip).unwrap_err();
            assert!(err.to_string().contains("--private-urls allow"), "{err}");
        }
        for text in [
            "169.254.169.254",
            "fe80::1",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "ff02::1",
        ] {
            let ip: IpAddr = text.parse().unwrap();
            for policy in [PrivateAddresses::Allow, PrivateAddresses::Deny] {
                let err = policy.check(text, ip).unwrap_err();
                assert!(err.to_string().contains("no flag allows it"), "{err}");
            }
        }
        for text in ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            let ip: IpAddr = text.parse().unwrap();
            assert!(PrivateAddresses::Deny.check("h", ip).is_ok(), "{text}");
        }
    }

    #[test]
    fn messages_name_the_host_the_address_and_its_class() {
        let ip: IpAddr = "169.254.169.254".parse().unwrap();
        let literal = PrivateAddresses::Allow
            .check("169.254.169.254", ip)
            .unwrap_err();
        assert_eq!(
            literal.to_string(),
            "169.254.169.254, a link-local address, where cloud metadata services answer: \
             reelframe never fetches from one (no flag allows it)"
        );
        let named = PrivateAddresses::Deny
            .check("localhost", "127.0.0.1".parse().unwrap())
            .unwrap_err();
        assert_eq!(
            named.to_string(),
            "localhost resolves to 127.0.0.1, a loopback address, refused by --private-urls deny: \
             give --private-urls allow to fetch from private addresses"
        );
        let unspecified = PrivateAddresses::Allow
            .check("0.0.0.0", "0.0.0.0".parse().unwrap())
            .unwrap_err();
        assert!(
            unspecified
                .to_string()
                .starts_with("0.0.0.0, an unspecified address: "),
            "{unspecified}"
        );
        let bracketed = PrivateAddresses::Allow
            .check("[::ffff:a9fe:a9fe]", "::ffff:a9fe:a9fe".parse().unwrap())
            .unwrap_err();
        assert!(
            bracketed
                .to_string()
                .starts_with("::ffff:169.254.169.254, a link-local"),
            "{bracketed}"
        );
    }

    #[test]
    fn ip_literal_hosts_in_every_spelling_the_url_crate_accepts_are_checked() {
        let allow = PrivateAddresses::Allow;
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://2852039166/",          // decimal
            "http://0251.0376.0251.0376/", // octal
            "http://0xa9fea9fe/",          // hexadecimal
            "http://169.254.43518/",       // a.b.c with a 16-bit tail
            "http://169.254.169.254./",    // trailing dot
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:a9fe:a9fe]/",
            "https://[fe80::1]:8443/x.mp4",
            "http://0.0.0.0:8080/",
            "http://0/",
        ] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert!(check_url(&parsed, allow).is_err(), "{url} -> {parsed}");
        }
        let decimal = reqwest::Url::parse("http://2852039166/").unwrap();
        assert_eq!(decimal.host_str(), Some("169.254.169.254"));
        for url in [
            "http://127.0.0.1:9/x.mp4",
            "http://localhost/x.mp4",
            "http://[::1]/",
        ] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert!(check_url(&parsed, allow).is_ok(), "{url}");
        }
        let deny = PrivateAddresses::Deny;
        for url in [
            "http://127.0.0.1:9/x.mp4",
            "http://[::1]/",
            "http://017700000001/",
        ] {
            let parsed = reqwest::Url::parse(url).unwrap();
            assert!(check_url(&parsed, deny).is_err(), "{url}");
        }
        // names are left to the resolver
        let name = reqwest::Url::parse("http://localhost/x.mp4").unwrap();
        assert!(check_url(&name, deny).is_ok());
    }

    #[test]
    fn the_resolver_drops_refused_addresses_and_fails_when_none_is_left() {
        use reqwest::dns::Resolve;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let resolve = |policy, name: &str| {
            let resolver = GuardedResolver { policy };
            runtime.block_on(resolver.resolve(name.parse().unwrap()))
        };
        let allowed: Vec<SocketAddr> = resolve(PrivateAddresses::Allow, "localhost")
            .unwrap()
            .collect();
        assert!(!allowed.is_empty());
        assert!(allowed.iter().all(|a| a.ip().is_loopback()), "{allowed:?}");
        let err = match resolve(PrivateAddresses::Deny, "localhost") {
            Ok(addrs) => panic!("resolved {:?}", addrs.collect::<Vec<_>>()),
            Err(err) => err,
        };
        let refused = refusal_in(err.as_ref()).expect("an AddressRefused");
        assert_eq!(refused.host, "localhost");
        assert_eq!(refused.class, Loopback);
    }
}
