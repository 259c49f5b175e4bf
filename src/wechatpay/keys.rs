//! Loading RSA key material from PEM files, with messages that say what to do when a file is wrong.

use std::path::{Path, PathBuf};

use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{PrivateKey, PublicKey};

/// Why a key file could not be used. Messages name the file and say how to fix it; they never
/// contain key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "key file {path} does not exist: put the PEM file there or fix the path in the config"
    )]
    Missing { path: PathBuf },
    #[error("key file {path} cannot be read ({reason}): check its permissions")]
    Unreadable { path: PathBuf, reason: String },
    #[error(
        "key file {path} is a PKCS#1 private key (BEGIN RSA PRIVATE KEY) but a PKCS#8 key is expected: \
         convert it with `openssl pkcs8 -topk8 -nocrypt -in {path} -out apiclient_key.pem`"
    )]
    Pkcs1Private { path: PathBuf },
    #[error(
        "key file {path} holds a public key where the brand API private key belongs: \
         private_key_path must point at apiclient_key.pem (BEGIN PRIVATE KEY)"
    )]
    PublicGivenForPrivate { path: PathBuf },
    #[error(
        "key file {path} holds a private key where the WeChat Pay public key belongs: \
         wechatpay_public_key_path must point at wxp_pub.pem (BEGIN PUBLIC KEY) from the brand platform"
    )]
    PrivateGivenForPublic { path: PathBuf },
    #[error(
        "key file {path} is a PKCS#1 public key (BEGIN RSA PUBLIC KEY) but an SPKI key is expected: \
         convert it with `openssl rsa -RSAPublicKey_in -in {path} -pubout -out wxp_pub.pem`"
    )]
    Pkcs1Public { path: PathBuf },
    #[error("key file {path} is not a valid {expected} PEM file: {reason}")]
    Invalid {
        path: PathBuf,
        expected: &'static str,
        reason: String,
    },
    #[error(
        "the WeChat Pay public key in {path} is the public half of your own brand private key: \
         wechatpay_public_key_path must hold the WeChat Pay public key (PUB_KEY_ID_...) downloaded \
         from the brand platform, not your own key"
    )]
    OwnKeyAsPlatformKey { path: PathBuf },
}

fn read_pem(path: &Path) -> Result<String, KeyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(KeyError::Missing {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(KeyError::Unreadable {
            path: path.to_path_buf(),
            reason: e.kind().to_string(),
        }),
    }
}

/// Reads a PKCS#8 PEM private key (`BEGIN PRIVATE KEY`).
pub fn load_private_key(path: &Path) -> Result<PrivateKey, KeyError> {
    let pem = read_pem(path)?;
    parse_private_key(&pem, path)
}

/// Parses a PKCS#8 PEM private key; `path` is only used in messages.
pub fn parse_private_key(pem: &str, path: &Path) -> Result<PrivateKey, KeyError> {
    let path = path.to_path_buf();
    if pem.contains("-----BEGIN RSA PRIVATE KEY-----") {
        return Err(KeyError::Pkcs1Private { path });
    }
    if pem.contains("-----BEGIN PUBLIC KEY-----") || pem.contains("-----BEGIN RSA PUBLIC KEY-----")
    {
        return Err(KeyError::PublicGivenForPrivate { path });
    }
    PrivateKey::from_pkcs8_pem(pem.trim()).map_err(|e| KeyError::Invalid {
        path,
        expected: "PKCS#8 private key (BEGIN PRIVATE KEY)",
        reason: e.to_string(),
    })
}

/// Reads an SPKI PEM public key (`BEGIN PUBLIC KEY`).
pub fn load_public_key(path: &Path) -> Result<PublicKey, KeyError> {
    let pem = read_pem(path)?;
    parse_public_key(&pem, path)
}

/// Parses an SPKI PEM public key; `path` is only used in messages.
pub fn parse_public_key(pem: &str, path: &Path) -> Result<PublicKey, KeyError> {
    let path = path.to_path_buf();
    if pem.contains("PRIVATE KEY-----") {
        return Err(KeyError::PrivateGivenForPublic { path });
    }
    if pem.contains("-----BEGIN RSA PUBLIC KEY-----") {
        return Err(KeyError::Pkcs1Public { path });
    }
    PublicKey::from_public_key_pem(pem.trim()).map_err(|e| KeyError::Invalid {
        path,
        expected: "SPKI public key (BEGIN PUBLIC KEY)",
        reason: e.to_string(),
    })
}

/// Refuses a configuration whose "WeChat Pay public key" is really the brand's own public key:
/// every response would then fail verification, which is hard to diagnose later.
pub fn check_not_own_key(
    private: &PrivateKey,
    platform: &PublicKey,
    platform_path: &Path,
) -> Result<(), KeyError> {
    if private.as_ref() == platform {
        return Err(KeyError::OwnKeyAsPlatformKey {
            path: platform_path.to_path_buf(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_path(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/keys")
            .join(name)
    }

    #[test]
    fn each_key_problem_has_its_own_message() {
        let err = load_private_key(&key_path("nope.pem")).unwrap_err();
        assert!(matches!(err, KeyError::Missing { .. }), "{err}");
        let err = load_private_key(&key_path("brand_apiclient_key_pkcs1.pem")).unwrap_err();
        assert!(matches!(err, KeyError::Pkcs1Private { .. }), "{err}");
        assert!(err.to_string().contains("openssl pkcs8 -topk8"));
        let err = load_private_key(&key_path("wechatpay_pub.pem")).unwrap_err();
        assert!(
            matches!(err, KeyError::PublicGivenForPrivate { .. }),
            "{err}"
        );
        let err = load_public_key(&key_path("brand_apiclient_key.pem")).unwrap_err();
        assert!(
            matches!(err, KeyError::PrivateGivenForPublic { .. }),
            "{err}"
        );
        let err = parse_private_key(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            Path::new("k.pem"),
        )
        .unwrap_err();
        assert!(matches!(err, KeyError::Invalid { .. }), "{err}");
    }

    #[test]
    fn own_public_key_is_not_accepted_as_the_platform_key() {
        let private = load_private_key(&key_path("brand_apiclient_key.pem")).unwrap();
        let own = load_public_key(&key_path("brand_apiclient_pub.pem")).unwrap();
        let platform = load_public_key(&key_path("wechatpay_pub.pem")).unwrap();
        assert!(matches!(
            check_not_own_key(&private, &own, Path::new("x.pem")),
            Err(KeyError::OwnKeyAsPlatformKey { .. })
        ));
        assert!(check_not_own_key(&private, &platform, Path::new("x.pem")).is_ok());
    }

    #[test]
    fn error_messages_never_contain_key_material() {
        let pem = std::fs::read_to_string(key_path("brand_apiclient_key.pem")).unwrap();
        let body_line = pem.lines().nth(1).unwrap();
        let err = load_public_key(&key_path("brand_apiclient_key.pem")).unwrap_err();
        assert!(!err.to_string().contains(body_line));
        assert!(!format!("{err:?}").contains(body_line));
    }
}
