//! TEST-ONLY key material and identities for the simulator, `budget-bot demo` and the tests.
//!
//! # NEVER USE THESE OUTSIDE TESTS, THE SIMULATOR OR THE DEMO
//!
//! The private keys below are committed to the repository and therefore public. They must never
//! be a default for a real configuration, never be accepted by a production code path and never
//! be sent to the real WeChat Pay API. The real brand key pair and WeChat Pay public key come from
//! the 品牌经营平台 and live only in the operator's config.

use std::path::Path;

use rsa::{PrivateKey, PublicKey};

use crate::wechatpay::keys::{parse_private_key, parse_public_key};
use crate::wechatpay::sign::BrandSigner;
use crate::wechatpay::verify::ResponseVerifier;

/// TEST ONLY. The brand API private key (PKCS#8) the test client signs requests with.
pub const BRAND_PRIVATE_KEY_PEM: &str = include_str!("../../testdata/keys/brand_apiclient_key.pem");
/// TEST ONLY. The SPKI public half of [`BRAND_PRIVATE_KEY_PEM`]; the simulator verifies with it.
pub const BRAND_PUBLIC_KEY_PEM: &str = include_str!("../../testdata/keys/brand_apiclient_pub.pem");
/// TEST ONLY. The simulated WeChat Pay platform private key the simulator signs responses with.
pub const PLATFORM_PRIVATE_KEY_PEM: &str =
    include_str!("../../testdata/keys/wechatpay_platform_key.pem");
/// TEST ONLY. The simulated WeChat Pay public key (`wxp_pub.pem`) the client verifies with.
pub const PLATFORM_PUBLIC_KEY_PEM: &str = include_str!("../../testdata/keys/wechatpay_pub.pem");
/// TEST ONLY. The simulated WeChat Pay public key id, sent as `Wechatpay-Serial` both ways.
pub const PUBLIC_KEY_ID: &str = "PUB_KEY_ID_0000000000000000000000000000TEST";
/// TEST ONLY. The simulated brand id.
pub const BRAND_ID: &str = "1234567890";
/// TEST ONLY. The simulated brand API certificate serial (`serial_no` in Authorization).
pub const CERT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";

/// Where the test keys claim to come from, in (never-expected) parse errors.
const SOURCE: &str = "<budget_bot::sim::test_keys>";

/// TEST ONLY. The brand private key, parsed.
pub fn brand_private_key() -> PrivateKey {
    parse_private_key(BRAND_PRIVATE_KEY_PEM, Path::new(SOURCE)).expect("test brand key parses")
}

/// TEST ONLY. The brand public key, parsed.
pub fn brand_public_key() -> PublicKey {
    parse_public_key(BRAND_PUBLIC_KEY_PEM, Path::new(SOURCE)).expect("test brand pub parses")
}

/// TEST ONLY. The simulated platform private key, parsed.
pub fn platform_private_key() -> PrivateKey {
    parse_private_key(PLATFORM_PRIVATE_KEY_PEM, Path::new(SOURCE))
        .expect("test platform key parses")
}

/// TEST ONLY. The simulated WeChat Pay public key, parsed.
pub fn platform_public_key() -> PublicKey {
    parse_public_key(PLATFORM_PUBLIC_KEY_PEM, Path::new(SOURCE)).expect("test platform pub parses")
}

/// TEST ONLY. A request signer matching the simulator's test configuration.
pub fn brand_signer() -> BrandSigner {
    BrandSigner::new(brand_private_key(), BRAND_ID.into(), CERT_SERIAL.into())
}

/// TEST ONLY. A response verifier matching the simulator's test configuration.
pub fn response_verifier() -> ResponseVerifier {
    ResponseVerifier::new(platform_public_key(), PUBLIC_KEY_ID.into())
}
