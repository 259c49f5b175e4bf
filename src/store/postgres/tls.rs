//! The URL's `sslmode`, honoured as libpq does, over rustls (no OpenSSL in the binary).
//!
//! tokio-postgres itself knows only `disable`, `prefer` and `require`, and rejects the
//! `sslrootcert` key, so both are taken out of the URL before it is parsed ([`take`]): the
//! parser gets `require` for every mode that needs TLS, and the mode decides which
//! certificate check the connector makes ([`connector`]):
//!
//! | sslmode | TLS | certificate check |
//! |---|---|---|
//! | `disable` | never | - |
//! | `prefer` (default) | when the server offers it | none |
//! | `require` | always | none, unless `sslrootcert` is given (then as `verify-ca`) |
//! | `verify-ca` | always | chain against `sslrootcert`, else the system's roots |
//! | `verify-full` | always | chain, and the host name (or IP address) in the URL |

use std::path::PathBuf;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode` values (`allow` aside: it only matters to servers that demand TLS, and
/// `prefer` reaches those too).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, String> {
        match value {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" => Ok(Self::Require),
            "verify-ca" => Ok(Self::VerifyCa),
            "verify-full" => Ok(Self::VerifyFull),
            other => Err(format!(
                "sslmode={other} is not one this budget-bot knows: write disable, prefer, require, verify-ca or verify-full"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres is told: whether TLS is skipped, tried or demanded.
    pub fn for_driver(self) -> postgres::config::SslMode {
        match self {
            Self::Disable => postgres::config::SslMode::Disable,
            Self::Prefer => postgres::config::SslMode::Prefer,
            Self::Require | Self::VerifyCa | Self::VerifyFull => postgres::config::SslMode::Require,
        }
    }
}

/// Where the trusted roots come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Roots {
    /// `sslrootcert=PATH`: a PEM file of CA certificates.
    File(PathBuf),
    /// `sslrootcert=system`, or no `sslrootcert` with a verify mode: the system's trust store.
    System,
}

/// The TLS settings read from the URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub roots: Option<Roots>,
}

/// Takes `sslmode` and `sslrootcert` out of a URL (`postgres://…?sslmode=…`) or a libpq
/// `key=value` string; returns the rest, for tokio-postgres, and the settings.
pub fn take(url: &str) -> Result<(String, TlsSettings), String> {
    let (rest, found) = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        take_from_query(url)
    } else {
        take_from_pairs(url)
    };
    let mut mode = SslMode::Prefer;
    let mut roots = None;
    for (key, value) in found {
        if key == "sslmode" {
            mode = SslMode::parse(&value)?;
        } else if value == "system" {
            roots = Some(Roots::System);
        } else if !value.is_empty() {
            roots = Some(Roots::File(PathBuf::from(value)));
        }
    }
    Ok((rest, TlsSettings { mode, roots }))
}

const TAKEN: [&str; 2] = ["sslmode", "sslrootcert"];

fn take_from_query(url: &str) -> (String, Vec<(String, String)>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), Vec::new());
    };
    let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
    let mut kept = Vec::new();
    let mut found = Vec::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(key);
        if TAKEN.contains(&key.as_str()) {
            found.push((key, decode(value)));
        } else {
            kept.push(pair);
        }
    }
    if kept.is_empty() {
        (base.to_string(), found)
    } else {
        (format!("{base}?{}", kept.join("&")), found)
    }
}

/// `host=db sslmode='verify-full'`: values may be quoted ('…', with \' and \\ escapes) or
/// bare (with \ escapes), as libpq writes them.
fn take_from_pairs(text: &str) -> (String, Vec<(String, String)>) {
    let chars: Vec<char> = text.chars().collect();
    let mut kept = Vec::new();
    let mut found = Vec::new();
    let mut i = 0;
    let skip_space = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_space(&mut i);
        if i >= chars.len() {
            break;
        }
        let start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '=' {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        skip_space(&mut i);
        if i >= chars.len() || chars[i] != '=' {
            // Not a pair: left as it is, for the driver's parser to name.
            kept.push(chars[start..].iter().collect::<String>());
            break;
        }
        i += 1;
        skip_space(&mut i);
        let mut value = String::new();
        let quoted = i < chars.len() && chars[i] == '\'';
        if quoted {
            i += 1;
        }
        while i < chars.len() {
            let c = chars[i];
            if quoted && c == '\'' {
                i += 1;
                break;
            }
            if !quoted && c.is_whitespace() {
                break;
            }
            if c == '\\' && i + 1 < chars.len() {
                i += 1;
                value.push(chars[i]);
            } else {
                value.push(c);
            }
            i += 1;
        }
        if TAKEN.contains(&key.as_str()) {
            found.push((key, value));
        } else {
            kept.push(chars[start..i].iter().collect());
        }
    }
    (kept.join(" "), found)
}

/// The connector for `settings`. `Err` says why the roots cannot be loaded.
pub fn connector(settings: &TlsSettings) -> Result<MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match (settings.mode, &settings.roots) {
        (SslMode::Disable | SslMode::Prefer, _) | (SslMode::Require, None) => None,
        (SslMode::Require, Some(roots)) => Some(roots.clone()),
        (SslMode::VerifyCa | SslMode::VerifyFull, roots) => {
            Some(roots.clone().unwrap_or(Roots::System))
        }
    };
    let check = match roots {
        None => Check::Nothing,
        Some(roots) => {
            let chain = WebPkiServerVerifier::builder_with_provider(
                Arc::new(load_roots(&roots)?),
                provider.clone(),
            )
            .build()
            .map_err(|e| format!("cannot use the CA certificates: {e}"))?;
            if settings.mode == SslMode::VerifyFull {
                Check::ChainAndName(chain)
            } else {
                Check::Chain(chain)
            }
        }
    };
    let verifier = Arc::new(Verifier {
        check,
        provider: provider.clone(),
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn load_roots(roots: &Roots) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            let certificates = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    format!(
                        "cannot read the CA certificates in sslrootcert={} ({e}): name a PEM file of the CA that signed the server's certificate",
                        path.display()
                    )
                })?;
            let (added, _) = store.add_parsable_certificates(certificates);
            if added == 0 {
                return Err(format!(
                    "sslrootcert={} holds no CA certificate: name a PEM file of the CA that signed the server's certificate",
                    path.display()
                ));
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err("the sslmode checks the server's certificate, but this system has no trusted CA certificates: install them (ca-certificates) or name the CA's PEM file with sslrootcert=PATH".into());
            }
        }
    }
    Ok(store)
}

/// What is checked of the server's certificate.
#[derive(Debug)]
enum Check {
    /// `prefer`, and `require` without `sslrootcert`: encrypted, the certificate unchecked
    /// (as libpq does).
    Nothing,
    /// `verify-ca` (and `require` with `sslrootcert`): the chain must lead to a trusted root;
    /// the name in the certificate is not compared.
    Chain(Arc<WebPkiServerVerifier>),
    /// `verify-full`: the chain, and the host name.
    ChainAndName(Arc<WebPkiServerVerifier>),
}

/// The certificate check of [`Check`]; the handshake's signatures are verified in every mode.
#[derive(Debug)]
struct Verifier {
    check: Check,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let (Check::Chain(webpki) | Check::ChainAndName(webpki)) = &self.check else {
            return Ok(ServerCertVerified::assertion());
        };
        let verified =
            webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
        match (&self.check, verified) {
            // webpki checks the chain before the name, so a name error means the chain passed.
            (
                Check::Chain(_),
                Err(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )),
            ) => Ok(ServerCertVerified::assertion()),
            (_, verified) => verified,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(mode: SslMode, roots: Option<Roots>) -> TlsSettings {
        TlsSettings { mode, roots }
    }

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_a_url() {
        let (rest, found) = take(
            "postgres://u:p%3Fw@db.internal:5432/bb?connect_timeout=3&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://u:p%3Fw@db.internal:5432/bb?connect_timeout=3&application_name=x"
        );
        assert_eq!(
            found,
            settings(SslMode::VerifyFull, Some(Roots::File("/etc/ca.pem".into())))
        );
        let (rest, found) = take("postgresql://db/bb?sslmode=verify-ca").unwrap();
        assert_eq!(rest, "postgresql://db/bb");
        assert_eq!(found, settings(SslMode::VerifyCa, None));
        let (rest, found) = take("postgres://db/bb").unwrap();
        assert_eq!(rest, "postgres://db/bb");
        assert_eq!(found, settings(SslMode::Prefer, None));
    }

    #[test]
    fn sslmode_and_sslrootcert_are_taken_out_of_key_value_pairs() {
        let (rest, found) = take(
            "host=db user=bb password='it\\'s a secret' sslmode = verify-ca sslrootcert='/etc/my ca.pem' dbname=bb",
        )
        .unwrap();
        assert_eq!(found.mode, SslMode::VerifyCa);
        assert_eq!(found.roots, Some(Roots::File("/etc/my ca.pem".into())));
        assert!(!rest.contains("ssl"), "{rest}");
        assert!(
            rest.starts_with("host=db user=bb password='it\\'s a secret'"),
            "{rest}"
        );
        assert!(rest.ends_with("dbname=bb"), "{rest}");
        let (_, found) = take("host=db sslrootcert=system sslmode=require").unwrap();
        assert_eq!(found, settings(SslMode::Require, Some(Roots::System)));
    }

    #[test]
    fn an_unknown_sslmode_is_refused_with_the_modes_known() {
        let error = take("postgres://db/bb?sslmode=allow").unwrap_err();
        assert!(
            error.contains("sslmode=allow") && error.contains("verify-full"),
            "{error}"
        );
    }

    #[test]
    fn a_missing_or_empty_root_file_is_named() {
        let error = connector(&settings(
            SslMode::VerifyFull,
            Some(Roots::File("/nonexistent/ca.pem".into())),
        ))
        .err()
        .unwrap();
        assert!(error.contains("sslrootcert=/nonexistent/ca.pem"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let error = connector(&settings(SslMode::VerifyCa, Some(Roots::File(empty))))
            .err()
            .unwrap();
        assert!(error.contains("holds no CA certificate"), "{error}");
    }
}
