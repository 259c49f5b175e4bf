//! Request signing for the `WECHATPAY-BRAND-SHA256-RSA2048` scheme (spec §2) and the generic
//! SHA256withRSA (PKCS#1 v1.5) primitives that the simulator reuses.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::distr::{Alphanumeric, SampleString};
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{PrivateKey, PublicKey};
use sha2::Sha256;

/// The scheme token of the brand API's Authorization header.
pub const AUTH_SCHEME: &str = "WECHATPAY-BRAND-SHA256-RSA2048";

/// Length of the random nonce both official utilities use.
pub const NONCE_LEN: usize = 32;

/// SHA256withRSA signer producing standard base64 with padding. Never prints its key.
#[derive(Clone)]
pub struct RsaSigner {
    key: SigningKey<Sha256>,
}

impl std::fmt::Debug for RsaSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RsaSigner(<private key redacted>)")
    }
}

impl RsaSigner {
    pub fn new(key: PrivateKey) -> Self {
        Self {
            key: SigningKey::new(key),
        }
    }

    /// Signs `message` and returns the base64 (standard, padded) signature.
    pub fn sign_base64(&self, message: &[u8]) -> String {
        let signature: Signature = self.key.sign(message);
        STANDARD.encode(signature.to_bytes())
    }
}

/// SHA256withRSA verifier over a public key.
#[derive(Clone, Debug)]
pub struct RsaVerifier {
    key: VerifyingKey<Sha256>,
}

impl RsaVerifier {
    pub fn new(key: PublicKey) -> Self {
        Self {
            key: VerifyingKey::new(key),
        }
    }

    /// True when `signature_b64` is a valid signature of `message`. Bad base64 is simply invalid.
    pub fn verify_base64(&self, message: &[u8], signature_b64: &str) -> bool {
        let Ok(bytes) = STANDARD.decode(signature_b64.trim()) else {
            return false;
        };
        let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
            return false;
        };
        self.key.verify(message, &signature).is_ok()
    }
}

/// `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n`: the string a request signature covers.
pub fn request_message(
    method: &str,
    canonical_url: &str,
    timestamp: u64,
    nonce: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut message = Vec::with_capacity(canonical_url.len() + body.len() + 64);
    message.extend_from_slice(method.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(canonical_url.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(timestamp.to_string().as_bytes());
    message.push(b'\n');
    message.extend_from_slice(nonce.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// A fresh 32-character `[0-9A-Za-z]` nonce.
pub fn new_nonce() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), NONCE_LEN)
}

/// Signs brand API requests: the brand's private key plus the identity fields of the header.
#[derive(Clone, Debug)]
pub struct BrandSigner {
    signer: RsaSigner,
    brand_id: String,
    certificate_serial_no: String,
}

impl BrandSigner {
    pub fn new(key: PrivateKey, brand_id: String, certificate_serial_no: String) -> Self {
        Self {
            signer: RsaSigner::new(key),
            brand_id,
            certificate_serial_no,
        }
    }

    /// The full `Authorization` header value for one attempt of a request.
    pub fn authorization(
        &self,
        method: &str,
        canonical_url: &str,
        timestamp: u64,
        nonce: &str,
        body: &[u8],
    ) -> String {
        let message = request_message(method, canonical_url, timestamp, nonce, body);
        let signature = self.signer.sign_base64(&message);
        format!(
            "{AUTH_SCHEME} brand_id=\"{}\",nonce_str=\"{nonce}\",signature=\"{signature}\",timestamp=\"{timestamp}\",serial_no=\"{}\"",
            self.brand_id, self.certificate_serial_no
        )
    }
}

/// The fields of a parsed brand `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationFields {
    pub brand_id: String,
    pub nonce_str: String,
    pub signature: String,
    pub timestamp: String,
    pub serial_no: String,
}

/// Parses `WECHATPAY-BRAND-SHA256-RSA2048 k="v",k="v",...` strictly: the format errors the real
/// API answers with 400 (spaces between pairs, single quotes, a missing field) are errors here too.
pub fn parse_authorization(header: &str) -> Result<AuthorizationFields, String> {
    let rest = header
        .strip_prefix(AUTH_SCHEME)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| format!("Authorization must start with `{AUTH_SCHEME} `"))?;
    let mut fields = std::collections::HashMap::new();
    for pair in rest.split(',') {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("malformed pair `{pair}`"))?;
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| format!("value of `{key}` must be in double quotes"))?;
        if key.trim() != key || key.is_empty() {
            return Err(format!("unexpected whitespace around `{key}`"));
        }
        if fields.insert(key.to_string(), value.to_string()).is_some() {
            return Err(format!("field `{key}` appears twice"));
        }
    }
    let mut take = |name: &str| {
        fields
            .remove(name)
            .ok_or_else(|| format!("field `{name}` is missing"))
    };
    Ok(AuthorizationFields {
        brand_id: take("brand_id")?,
        nonce_str: take("nonce_str")?,
        signature: take("signature")?,
        timestamp: take("timestamp")?,
        serial_no: take("serial_no")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechatpay::keys::{load_private_key, load_public_key};
    use std::path::Path;

    fn testdata(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(name)
    }

    #[test]
    fn message_has_five_newline_terminated_lines() {
        let message = request_message("GET", "/brand/x?a=1", 1_700_000_000, "NONCE", b"");
        assert_eq!(message, b"GET\n/brand/x?a=1\n1700000000\nNONCE\n\n");
    }

    /// The expected value was computed independently:
    /// `openssl dgst -sha256 -sign testdata/keys/brand_apiclient_key.pem testdata/sign_message.txt | base64 -w0`.
    #[test]
    fn signature_matches_openssl() {
        let key = load_private_key(&testdata("keys/brand_apiclient_key.pem")).unwrap();
        let message = request_message(
            "GET",
            "/brand/marketing/product-coupon/product-coupons/200000001/stocks/123",
            1_700_000_000,
            "593BEC0C930BF1AFEB40B4A08C8FB242",
            b"",
        );
        assert_eq!(
            message,
            std::fs::read(testdata("sign_message.txt")).unwrap()
        );
        let expected = std::fs::read_to_string(testdata("sign_message.sig.b64")).unwrap();
        assert_eq!(RsaSigner::new(key).sign_base64(&message), expected.trim());
    }

    /// The signature was made by `openssl dgst -sha256 -sign testdata/keys/wechatpay_platform_key.pem`.
    #[test]
    fn verifies_openssl_signature_and_rejects_tampering() {
        let key = load_public_key(&testdata("keys/wechatpay_pub.pem")).unwrap();
        let verifier = RsaVerifier::new(key);
        let message = std::fs::read(testdata("verify_message.txt")).unwrap();
        let signature = std::fs::read_to_string(testdata("verify_message.sig.b64")).unwrap();
        assert!(verifier.verify_base64(&message, &signature));
        let mut tampered = message.clone();
        tampered[20] ^= 1;
        assert!(!verifier.verify_base64(&tampered, &signature));
        assert!(!verifier.verify_base64(&message, "WECHATPAY/SIGNTEST/abc"));
    }

    #[test]
    fn authorization_header_round_trips_and_verifies() {
        let key = load_private_key(&testdata("keys/brand_apiclient_key.pem")).unwrap();
        let public = load_public_key(&testdata("keys/brand_apiclient_pub.pem")).unwrap();
        let signer = BrandSigner::new(key, "1234".into(), "SERIAL1".into());
        let nonce = new_nonce();
        assert_eq!(nonce.len(), 32);
        assert!(nonce.bytes().all(|b| b.is_ascii_alphanumeric()));
        let header = signer.authorization("POST", "/brand/p", 1_700_000_000, &nonce, b"{}");
        assert!(!header.contains(", "));
        let fields = parse_authorization(&header).unwrap();
        assert_eq!(fields.brand_id, "1234");
        assert_eq!(fields.serial_no, "SERIAL1");
        assert_eq!(fields.timestamp, "1700000000");
        let message = request_message("POST", "/brand/p", 1_700_000_000, &nonce, b"{}");
        assert!(RsaVerifier::new(public).verify_base64(&message, &fields.signature));
    }

    #[test]
    fn parse_authorization_rejects_bad_formats() {
        assert!(parse_authorization("WECHATPAY2-SHA256-RSA2048 mchid=\"1\"").is_err());
        let spaced = format!("{AUTH_SCHEME} brand_id=\"1\", nonce_str=\"n\",signature=\"s\",timestamp=\"1\",serial_no=\"x\"");
        assert!(parse_authorization(&spaced).is_err());
        let single = format!("{AUTH_SCHEME} brand_id='1',nonce_str=\"n\",signature=\"s\",timestamp=\"1\",serial_no=\"x\"");
        assert!(parse_authorization(&single).is_err());
        let missing =
            format!("{AUTH_SCHEME} brand_id=\"1\",nonce_str=\"n\",signature=\"s\",timestamp=\"1\"");
        assert!(parse_authorization(&missing).is_err());
    }
}
