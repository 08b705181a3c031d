//! The links an answer carries: where the router is reachable from the client's side,
//! and ids as path segments.

use axum::http::header::HOST;
use axum::http::{HeaderMap, HeaderValue, Uri};

use crate::error::HttpError;

/// Where this router is reachable from the client's side: scheme, host and the prefix
/// it is nested under, so the links work behind `Router::nest`.
pub(super) struct Base(pub(super) String);

impl Base {
    pub(super) fn new(headers: &HeaderMap, original: &Uri, local: &Uri) -> Self {
        let path = original.path();
        let prefix = path.strip_suffix(local.path()).unwrap_or("");
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.bytes().all(is_authority_byte));
        // the first of a proxy chain's list, and only a scheme a link can have
        let scheme = match headers
            .get("x-forwarded-proto")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.split(',').next())
            .map(str::trim)
        {
            Some(s) if s.eq_ignore_ascii_case("https") => "https",
            _ => "http",
        };
        match host {
            Some(host) => Self(format!("{scheme}://{host}{prefix}")),
            None => Self(prefix.to_owned()),
        }
    }

    pub(super) fn instance(&self, id: &str) -> String {
        format!("{}/instances/{}", self.0, encode_segment(id))
    }
}

/// Whether `b` may appear in a URL's host and port.
fn is_authority_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:[]".contains(&b)
}

/// Percent-encodes what may not appear as is in one path segment.
fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@!$&'()*+,;=".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A link as a header value. Links are built from a checked host, the path prefix the
/// request came in on (visible ASCII, as the server parsed it) and percent-encoded ids.
pub(super) fn location(url: &str) -> Result<HeaderValue, HttpError> {
    HeaderValue::from_str(url)
        .map_err(|_| HttpError::internal(format!("`{url}` cannot be a Location header")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(host: Option<&str>, proto: Option<&str>, original: &str, local: &str) -> String {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(HOST, HeaderValue::from_str(host).unwrap());
        }
        if let Some(proto) = proto {
            headers.insert("x-forwarded-proto", HeaderValue::from_str(proto).unwrap());
        }
        let (original, local): (Uri, Uri) = (original.parse().unwrap(), local.parse().unwrap());
        Base::new(&headers, &original, &local).0
    }

    #[test]
    fn links_keep_the_prefix_and_a_checked_host_and_scheme() {
        let at = |host, proto| base(host, proto, "/api/instances/x", "/instances/x");
        assert_eq!(at(Some("svc:8080"), None), "http://svc:8080/api");
        assert_eq!(at(Some("svc"), Some("https, http")), "https://svc/api");
        assert_eq!(at(Some("svc"), Some("javascript")), "http://svc/api");
        assert_eq!(
            at(Some("evil.com/x?"), None),
            "/api",
            "not a host: relative links"
        );
        assert_eq!(at(None, None), "/api");
    }

    #[test]
    fn ids_are_one_path_segment() {
        assert_eq!(encode_segment("order 7/a?b"), "order%207%2Fa%3Fb");
        assert_eq!(encode_segment("p:0"), "p:0");
    }
}
