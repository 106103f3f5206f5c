//! The real transport of `api.fetch`: reqwest over rustls, guarded.
//!
//! - http and https only;
//! - every address is checked before it is connected to: an IP literal in the
//!   URL (whatever its spelling: the URL parser turns `2130706433`, `0x7f.1`
//!   or `0177.0.0.1` into `127.0.0.1`), every address a name resolves to (the
//!   resolver hands reqwest only the addresses it checked, so a second,
//!   different DNS answer cannot be connected to), and the same again on
//!   every redirect;
//! - refused: loopback, private, link-local (the cloud metadata address
//!   169.254.169.254 with it), unique-local, CGNAT, unspecified, multicast,
//!   broadcast, documentation and benchmark ranges, and IPv6 forms that embed
//!   such an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4), unless
//!   the operator allows a CIDR;
//! - the response body is read up to the limit and no further;
//! - an error never says what a name resolved to, nor whether it resolved
//!   at all: the Action learns that the host it named is out of reach, not
//!   the layout of the network behind it.

use crate::fetch::{FetchError, FetchRequest, FetchResponse, HttpFetch};
use futures::future::BoxFuture;
use ipnet::IpNet;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Most redirects followed.
const MAX_REDIRECTS: usize = 5;

/// Which addresses an Action may reach.
#[derive(Debug, Clone, Default)]
pub struct AddressPolicy {
    /// CIDRs the operator allows even though the deny list covers them.
    pub allowed: Vec<IpNet>,
}

impl AddressPolicy {
    /// Why `ip` is refused, or `None` when it may be reached.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allowed.iter().any(|net| net.contains(&ip)) {
            return None;
        }
        denied_range(ip)
    }
}

fn denied_range(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => denied_v4(v4),
        IpAddr::V6(v6) => denied_v6(v6),
    }
}

fn denied_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match () {
        _ if ip.is_unspecified() || a == 0 => "an unspecified or \"this network\" address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private address",
        _ if ip.is_link_local() => "a link-local address (cloud metadata lives here)",
        _ if a == 100 && (64..128).contains(&b) => "a shared (CGNAT) address",
        _ if a == 192 && b == 0 && c == 0 => "an IETF protocol address",
        _ if ip.is_documentation() => "a documentation address",
        _ if a == 198 && (b == 18 || b == 19) => "a benchmarking address",
        _ if ip.is_multicast() || a >= 240 => "a multicast, reserved or broadcast address",
        _ => return None,
    })
}

fn denied_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return denied_v4(v4).map(|_| "an IPv6 address embedding a denied IPv4 address");
    }
    let first = ip.segments()[0];
    Some(match () {
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        _ if first & 0xfe00 == 0xfc00 => {
            "a unique-local address (fd00:ec2::254, cloud metadata, is one)"
        }
        _ if first & 0xffc0 == 0xfe80 => "a link-local address",
        _ if first & 0xffc0 == 0xfec0 => "a site-local address",
        _ if first & 0xff00 == 0xff00 => "a multicast address",
        _ if first == 0x2001 && ip.segments()[1] == 0x0db8 => "a documentation address",
        _ => return None,
    })
}

/// The IPv4 address an IPv6 address stands for, in the forms that route to it.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated).
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        [0, 0, 0, 0, 0, 0, hi, _] if hi != 0 => Some(low),
        // NAT64 well-known prefix 64:ff9b::/96.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        // 6to4: 2002:AABB:CCDD::/48.
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

/// The guarded transport.
pub struct GuardedHttp {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
}

impl GuardedHttp {
    /// A transport that refuses what `policy` refuses.
    pub fn new(policy: AddressPolicy) -> Result<Self, reqwest::Error> {
        // One process-wide crypto provider; a second install is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let policy = Arc::new(policy);
        let redirect_policy = Arc::clone(&policy);
        let client = reqwest::Client::builder()
            .no_proxy()
            .dns_resolver(CheckedResolver {
                policy: Arc::clone(&policy),
            })
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
                }
                let refused = |reason| FetchError::Refused {
                    url: attempt.url().to_string(),
                    reason,
                };
                match check_url(attempt.url(), &redirect_policy) {
                    Ok(()) => attempt.follow(),
                    Err(reason) => {
                        let error = refused(reason);
                        attempt.error(error)
                    }
                }
            }))
            .user_agent("actions-runner")
            .build()?;
        Ok(Self { client, policy })
    }
}

/// Scheme and literal-address checks; names are checked by the resolver.
fn check_url(url: &reqwest::Url, policy: &AddressPolicy) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme {:?} is not allowed; use http or https",
            url.scheme()
        ));
    }
    match url.host() {
        Some(url::Host::Ipv4(ip)) => refuse_ip(IpAddr::V4(ip), policy),
        Some(url::Host::Ipv6(ip)) => refuse_ip(IpAddr::V6(ip), policy),
        Some(url::Host::Domain(_)) => Ok(()),
        None => Err("the URL has no host".into()),
    }
}

fn refuse_ip(ip: IpAddr, policy: &AddressPolicy) -> Result<(), String> {
    match policy.refusal(ip) {
        Some(why) => Err(format!("{ip} is {why}")),
        None => Ok(()),
    }
}

/// Resolves with the system resolver and keeps only allowed addresses.
struct CheckedResolver {
    policy: Arc<AddressPolicy>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // The same words whether the name does not resolve or resolves
            // only to refused addresses, and never the addresses: that would
            // map the internal network for the Action.
            let unreachable = || FetchError::Refused {
                url: host.clone(),
                reason: format!("{host} does not resolve to an address Actions may reach"),
            };
            let resolved: Vec<SocketAddr> = match tokio::net::lookup_host((host.as_str(), 0)).await
            {
                Ok(found) => found.collect(),
                Err(_) => return Err(unreachable().into()),
            };
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|addr| policy.refusal(addr.ip()).is_none())
                .collect();
            if allowed.is_empty() {
                return Err(unreachable().into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

impl HttpFetch for GuardedHttp {
    fn fetch(
        &self,
        request: FetchRequest,
        timeout: Duration,
        max_response_bytes: u64,
    ) -> BoxFuture<'static, Result<FetchResponse, FetchError>> {
        let client = self.client.clone();
        let policy = Arc::clone(&self.policy);
        Box::pin(async move {
            let url_text = request.url.clone();
            let refused = |reason: String| FetchError::Refused {
                url: url_text.clone(),
                reason,
            };
            let url = reqwest::Url::parse(&request.url)
                .map_err(|e| refused(format!("not a URL: {e}")))?;
            check_url(&url, &policy).map_err(refused)?;
            let method = reqwest::Method::from_bytes(request.method.as_bytes())
                .map_err(|_| refused(format!("{:?} is not an HTTP method", request.method)))?;
            let mut builder = client.request(method, url).timeout(timeout);
            for (name, value) in &request.headers {
                builder = builder.header(name, value);
            }
            if let Some(body) = request.body {
                builder = builder.body(body);
            }
            let mut response = builder
                .send()
                .await
                .map_err(|e| describe(&request.url, &e))?;
            let status = response.status().as_u16();
            let headers: BTreeMap<String, String> = response
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect();
            let mut body = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| describe(&request.url, &e))?
            {
                if (body.len() + chunk.len()) as u64 > max_response_bytes {
                    return Err(FetchError::ResponseTooLarge {
                        url: request.url,
                        limit: max_response_bytes,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(FetchResponse {
                status,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            })
        })
    }
}

/// reqwest's errors: the refusal our resolver or redirect policy gave, in
/// its own words, or the transport's failure.
fn describe(url: &str, error: &reqwest::Error) -> FetchError {
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if let Some(FetchError::Refused { reason, .. }) = inner.downcast_ref::<FetchError>() {
            return FetchError::Refused {
                url: url.to_owned(),
                reason: reason.clone(),
            };
        }
        reason = format!("{reason}: {inner}");
        source = inner.source();
    }
    FetchError::Failed {
        url: url.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> bool {
        AddressPolicy::default()
            .refusal(text.parse().expect("ip"))
            .is_some()
    }

    #[test]
    fn deny_list_covers_every_spelling_of_internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "fc00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "255.255.255.255",
            "224.0.0.1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "::ffff:93.184.216.34",
        ] {
            assert!(!refused(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn operators_can_allow_a_cidr() {
        let policy = AddressPolicy {
            allowed: vec!["127.0.0.0/8".parse().expect("cidr")],
        };
        assert!(policy.refusal("127.0.0.1".parse().expect("ip")).is_none());
        assert!(policy.refusal("10.0.0.1".parse().expect("ip")).is_some());
    }

    #[test]
    fn numeric_spellings_parse_to_the_address_they_mean() {
        for spelling in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::ffff:7f00:1]/",
        ] {
            let url = reqwest::Url::parse(spelling).expect("parses");
            assert!(
                check_url(&url, &AddressPolicy::default()).is_err(),
                "{spelling}"
            );
        }
        let ftp = reqwest::Url::parse("ftp://example.com/").expect("parses");
        assert!(check_url(&ftp, &AddressPolicy::default()).is_err());
    }
}
