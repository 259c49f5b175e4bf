//! Where requests go: the official primary and backup hosts, base URLs (which may carry a
//! proxy's path prefix) and the request-target a signature covers.

use reqwest::Url;

/// The official hosts (spec §4): the primary routes to the nearest access point, the backup to
/// another city.
pub const PRIMARY_BASE_URL: &str = "https://api.mch.weixin.qq.com";
pub const BACKUP_BASE_URL: &str = "https://api2.mch.weixin.qq.com";

/// The backup host in effect for `base_url` and the configured `backup_base_url`: the
/// configured one, none when it is `""`, and when it is absent the official backup for the
/// official primary and none for anything else (a proxy or a simulator has no known twin).
pub fn backup_base_url(base_url: &str, configured: Option<&str>) -> Option<String> {
    match configured {
        Some("") => None,
        Some(backup) => Some(backup.to_owned()),
        None => same_url(base_url, PRIMARY_BASE_URL).then(|| BACKUP_BASE_URL.to_owned()),
    }
}

fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The config's check of both hosts: on refusal, the key and what to do.
pub fn check(base_url: &str, backup: Option<&str>) -> Result<(), (&'static str, String)> {
    parse_base_url(base_url).map_err(|reason| ("base_url", format!("base_url {reason}")))?;
    let Some(backup) = backup.filter(|b| !b.is_empty()) else {
        return Ok(());
    };
    let refused = |reason: String| {
        (
            "backup_base_url",
            format!("backup_base_url {reason}; write \"\" for no backup host"),
        )
    };
    parse_base_url(backup).map_err(refused)?;
    if same_url(backup, base_url) {
        return Err(refused("is the same as base_url".into()));
    }
    Ok(())
}

/// Parses a base URL: `http(s)://host[:port][/path prefix]`, with no query or fragment (the API
/// path goes after it). The error says what is wrong without echoing the value, which may carry
/// a proxy's credentials.
pub fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| match text.is_ascii() {
        true => format!("is not a URL ({e}): write it as https://host[:port][/path]"),
        // The build reads host names in ASCII only (Cargo.toml, `idna_adapter`).
        false => format!(
            "is not a URL ({e}): write a host name that is not ASCII in its punycode form (xn--...)"
        ),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http:// or https:// URL with a host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment: the API path goes after it".into());
    }
    Ok(url)
}

/// The URL of `api_path` under `base`, and its request-target (path and query) exactly as it goes
/// on the wire, which is what the signature covers (spec §2.2): a base URL's path prefix
/// (`https://proxy.example/wxpay`) is part of both.
pub(crate) fn request_target(base: &Url, api_path: &str) -> (Url, String) {
    let (path, query) = match api_path.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (api_path, None),
    };
    let mut url = base.clone();
    url.set_path(&format!("{}{path}", base.path().trim_end_matches('/')));
    url.set_query(query);
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    (url, target)
}

/// Which host an attempt goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    Primary,
    Backup,
}

impl Host {
    /// A lowercase label for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Host::Primary => "primary",
            Host::Backup => "backup",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_name_that_is_not_ascii_is_asked_for_in_punycode() {
        let err = parse_base_url("https://代理.example/wxpay").unwrap_err();
        assert!(err.contains("punycode form (xn--...)"), "{err}");
        let url = parse_base_url("https://xn--6qqa088e.example/wxpay").unwrap();
        assert_eq!(url.host_str(), Some("xn--6qqa088e.example"));
        let err = parse_base_url("https//missing-colon").unwrap_err();
        assert!(err.contains("https://host[:port][/path]"), "{err}");
    }

    #[test]
    fn the_signed_target_is_the_path_and_query_sent_under_any_prefix() {
        let target = |base: &str, path: &str| {
            let (url, target) = request_target(&parse_base_url(base).unwrap(), path);
            (url.to_string(), target)
        };
        assert_eq!(
            target("https://api.mch.weixin.qq.com", "/brand/x"),
            (
                "https://api.mch.weixin.qq.com/brand/x".into(),
                "/brand/x".into()
            )
        );
        for base in ["https://p.example/wxpay", "https://p.example/wxpay/"] {
            assert_eq!(
                target(base, "/brand/x?page_size=5&state=SENDING"),
                (
                    "https://p.example/wxpay/brand/x?page_size=5&state=SENDING".into(),
                    "/wxpay/brand/x?page_size=5&state=SENDING".into()
                )
            );
        }
        assert!(parse_base_url("https://user:secret@p.example/?q")
            .unwrap_err()
            .contains("query"));
        assert!(!parse_base_url("user:secret")
            .unwrap_err()
            .contains("secret"));
    }
}
