//! Verification of signed responses (spec §3): timestamp freshness, serial equality, and the
//! SHA256withRSA signature over `TIMESTAMP\nNONCE\nRAW_BODY\n` with the WeChat Pay public key.

use rsa::PublicKey;

use super::error::echo_id;
use super::sign::RsaVerifier;

/// Responses more than this far from local time, in either direction, are rejected.
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// The four response headers that carry the signature.
pub mod headers {
    pub const TIMESTAMP: &str = "wechatpay-timestamp";
    pub const NONCE: &str = "wechatpay-nonce";
    pub const SIGNATURE: &str = "wechatpay-signature";
    pub const SERIAL: &str = "wechatpay-serial";
    pub const SIGNATURE_TYPE: &str = "wechatpay-signature-type";
    pub const REQUEST_ID: &str = "request-id";
}

/// Why a response was not accepted as authentic. Header text in it is bounded (see
/// [`echo_id`]): it comes from whoever answered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("response header {0} is missing")]
    MissingHeader(&'static str),
    #[error("response timestamp {remote} is not a number")]
    BadTimestamp { remote: String },
    #[error("response timestamp {remote} is {skew}s away from local time {local} (limit {MAX_CLOCK_SKEW_SECS}s): check the clock (NTP)")]
    StaleTimestamp { remote: u64, local: u64, skew: u64 },
    #[error("response Wechatpay-Serial {remote} does not match the configured key id {local}")]
    SerialMismatch { local: String, remote: String },
    #[error("response signature does not verify with the WeChat Pay public key")]
    BadSignature,
}

/// The `TIMESTAMP\nNONCE\nBODY\n` message a response signature covers.
pub fn response_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    message.extend_from_slice(timestamp.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(nonce.as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body);
    message.push(b'\n');
    message
}

/// Verifies responses against the configured WeChat Pay public key and its id.
#[derive(Clone, Debug)]
pub struct ResponseVerifier {
    verifier: RsaVerifier,
    key_id: String,
}

/// The signature headers of one response, as received.
#[derive(Clone, Copy, Debug, Default)]
pub struct SignatureHeaders<'a> {
    pub timestamp: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub serial: Option<&'a str>,
}

impl ResponseVerifier {
    pub fn new(key: PublicKey, key_id: String) -> Self {
        Self {
            verifier: RsaVerifier::new(key),
            key_id,
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Checks, in the official utilities' order: freshness, serial, signature over the raw body.
    pub fn verify(
        &self,
        headers: SignatureHeaders<'_>,
        body: &[u8],
        now_unix: u64,
    ) -> Result<(), VerifyError> {
        let timestamp = headers
            .timestamp
            .ok_or(VerifyError::MissingHeader("Wechatpay-Timestamp"))?;
        let nonce = headers
            .nonce
            .ok_or(VerifyError::MissingHeader("Wechatpay-Nonce"))?;
        let signature = headers
            .signature
            .ok_or(VerifyError::MissingHeader("Wechatpay-Signature"))?;
        let serial = headers
            .serial
            .ok_or(VerifyError::MissingHeader("Wechatpay-Serial"))?;
        let remote: u64 = timestamp
            .trim()
            .parse()
            .map_err(|_| VerifyError::BadTimestamp {
                remote: echo_id(timestamp),
            })?;
        let skew = remote.abs_diff(now_unix);
        if skew >= MAX_CLOCK_SKEW_SECS {
            return Err(VerifyError::StaleTimestamp {
                remote,
                local: now_unix,
                skew,
            });
        }
        if serial != self.key_id {
            return Err(VerifyError::SerialMismatch {
                local: self.key_id.clone(),
                remote: echo_id(serial),
            });
        }
        let message = response_message(timestamp, nonce, body);
        if !self.verifier.verify_base64(&message, signature) {
            return Err(VerifyError::BadSignature);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechatpay::keys::{load_private_key, load_public_key};
    use crate::wechatpay::sign::RsaSigner;
    use std::path::Path;

    fn key_path(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/keys")
            .join(name)
    }

    fn verifier() -> ResponseVerifier {
        ResponseVerifier::new(
            load_public_key(&key_path("wechatpay_pub.pem")).unwrap(),
            "PUB_KEY_ID_TEST".into(),
        )
    }

    fn signed(body: &[u8], ts: &str) -> String {
        let signer =
            RsaSigner::new(load_private_key(&key_path("wechatpay_platform_key.pem")).unwrap());
        signer.sign_base64(&response_message(ts, "NONCE", body))
    }

    fn headers<'a>(ts: &'a str, sig: &'a str, serial: &'a str) -> SignatureHeaders<'a> {
        SignatureHeaders {
            timestamp: Some(ts),
            nonce: Some("NONCE"),
            signature: Some(sig),
            serial: Some(serial),
        }
    }

    /// The pinned signature from `testdata/verify_message.sig.b64` was made with openssl.
    #[test]
    fn accepts_openssl_signed_response() {
        let sig = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/verify_message.sig.b64"),
        )
        .unwrap();
        let body = br#"{"stock_id":"123","state":"SENDING"}"#;
        let h = SignatureHeaders {
            timestamp: Some("1700000000"),
            nonce: Some("ABCDEF0123456789ABCDEF0123456789"),
            signature: Some(sig.trim()),
            serial: Some("PUB_KEY_ID_TEST"),
        };
        assert_eq!(verifier().verify(h, body, 1_700_000_100), Ok(()));
    }

    #[test]
    fn rejects_tampered_body_wrong_serial_and_stale_timestamps() {
        let v = verifier();
        let body = b"{\"a\":1}";
        let sig = signed(body, "1700000000");
        assert_eq!(
            v.verify(
                headers("1700000000", &sig, "PUB_KEY_ID_TEST"),
                body,
                1_700_000_000
            ),
            Ok(())
        );
        assert_eq!(
            v.verify(
                headers("1700000000", &sig, "PUB_KEY_ID_TEST"),
                b"{\"a\":2}",
                1_700_000_000
            ),
            Err(VerifyError::BadSignature)
        );
        assert!(matches!(
            v.verify(
                headers("1700000000", &sig, "PUB_KEY_ID_OTHER"),
                body,
                1_700_000_000
            ),
            Err(VerifyError::SerialMismatch { .. })
        ));
        // 300 s either way is too far; 299 s is fine.
        assert!(matches!(
            v.verify(
                headers("1700000000", &sig, "PUB_KEY_ID_TEST"),
                body,
                1_700_000_300
            ),
            Err(VerifyError::StaleTimestamp { .. })
        ));
        assert!(matches!(
            v.verify(
                headers("1700000000", &sig, "PUB_KEY_ID_TEST"),
                body,
                1_699_999_700
            ),
            Err(VerifyError::StaleTimestamp { .. })
        ));
        assert_eq!(
            v.verify(
                headers("1700000000", &sig, "PUB_KEY_ID_TEST"),
                body,
                1_700_000_299
            ),
            Ok(())
        );
        assert!(matches!(
            v.verify(
                headers("soon", &sig, "PUB_KEY_ID_TEST"),
                body,
                1_700_000_000
            ),
            Err(VerifyError::BadTimestamp { .. })
        ));
        // Header text is echoed bounded: a 5,000-digit timestamp is not a 5,000-digit error.
        let long = "9".repeat(5_000);
        let error = v
            .verify(headers(&long, &sig, "PUB_KEY_ID_TEST"), body, 1_700_000_000)
            .unwrap_err();
        assert!(error.to_string().chars().count() < 200, "{error}");
        assert!(error.to_string().contains("[cut:"), "{error}");
        let missing = SignatureHeaders {
            signature: None,
            ..headers("1700000000", &sig, "PUB_KEY_ID_TEST")
        };
        assert_eq!(
            v.verify(missing, body, 1_700_000_000),
            Err(VerifyError::MissingHeader("Wechatpay-Signature"))
        );
    }
}
